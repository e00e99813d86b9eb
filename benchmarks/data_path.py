"""Epoch time over a folder of real images through four data paths, in one run.

Data: the bundled MNIST sample (3,600 training + 400 validation + 1,000 test digits) written as PNG files, one folder
per class. An epoch reads every training image once in a fresh random order, in batches of 64, and the consumer does a
trivial reduction (the data path alone is timed, not a model). Paths:
  (a) torchvision `ImageFolder` + `DataLoader` (num_workers=0, per-sample PIL decoding and ToTensor + Normalize);
  (b) `from_image_folder`: decoded once into memory, read by `TensorLoader`;
  (c) the memmap store: `to_memmap` once, `open_memmap`, read by the same `TensorLoader` (uint8 pages, decoded per batch);
  (d) `open_image_folder`: lazy decoding behind an LRU cache holding a quarter of the images.
One-time costs (decode, convert, open) are reported apart from the epoch times. Epochs are interleaved across paths
(the order rotates each repeat), `--repeats` times; medians and the ratio of (a) over each path are printed as one JSON object.

    python benchmarks/data_path.py [--repeats 5] [--json benchmarks/results/data_path_cpu.json]
"""
from __future__ import annotations
import argparse, statistics, tempfile, time
from pathlib import Path

import torch

from _common import emit, machine_info
from lepton_nb.core import set_threads
from lepton_nb.data import load_dataset
from lepton_nb.sources import from_image_folder, write_image_folder
from lepton_nb.store import open_image_folder, open_memmap, to_memmap

BS = 64


def write_pngs(root: Path) -> int:
    data = load_dataset('mnist_sample', valid_pct=0)
    pixels = ((data.x_train * data.std + data.mean) * 255).round().to(torch.uint8)
    write_image_folder(root, pixels.numpy(), data.y_train.numpy(), data.classes)
    return len(pixels)


def torchvision_loader(root: Path, mean: float, std: float):
    from torchvision import datasets, transforms
    tf = transforms.Compose([transforms.Grayscale(), transforms.ToTensor(), transforms.Normalize((mean,), (std,))])
    return torch.utils.data.DataLoader(datasets.ImageFolder(str(root), transform=tf), batch_size=BS, shuffle=True, num_workers=0)


def epoch_seconds(batches) -> float:
    start, total = time.perf_counter(), 0.0
    for xb, _ in batches: total += float(xb.sum())
    return time.perf_counter() - start


def timed(make):
    start = time.perf_counter()
    value = make()
    return value, time.perf_counter() - start


def main(repeats: int, json_path: str | None):
    set_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / 'digits'
        n = write_pngs(root)
        eager, decode_s = timed(lambda: from_image_folder(root, valid_pct=0, test_pct=0))
        store_dir, convert_s = timed(lambda: to_memmap(eager, Path(tmp) / 'store'))
        stored, open_s = timed(lambda: open_memmap(store_dir))
        lazy, lazy_open_s = timed(lambda: open_image_folder(root, cache_bytes=n // 4 * 784, valid_pct=0, test_pct=0))
        paths = {'a_torchvision_imagefolder': lambda: torchvision_loader(root, float(eager.mean), float(eager.std)),
                 'b_in_memory': lambda: eager.loader('train', bs=BS), 'c_memmap_store': lambda: stored.loader('train', bs=BS),
                 'd_lru_lazy': lambda: lazy.loader('train', bs=BS)}
        times = {k: [] for k in paths}
        names = list(paths)
        for r in range(repeats):
            for name in names[r % 4:] + names[:r % 4]: times[name].append(epoch_seconds(paths[name]()))  # order rotates
        median = {k: statistics.median(v) for k, v in times.items()}
        base = median['a_torchvision_imagefolder']
        emit({'benchmark': 'data_path', 'machine': machine_info(), 'images': n, 'batch_size': BS, 'repeats': repeats,
              'epoch_seconds_median': median, 'epoch_seconds_all': times,
              'speedup_vs_a': {k: base / v for k, v in median.items()},
              'samples_per_second': {k: n / v for k, v in median.items()},
              'one_time_seconds': {'b_decode_folder': decode_s, 'c_convert_to_memmap': convert_s, 'c_open_memmap': open_s,
                                   'd_scan_and_stats': lazy_open_s},
              'lru_cache': lazy.x_train.cache.stats, 'goal_c_at_least_5x_a': base / median['c_memmap_store'] >= 5},
             json_path)


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--json', default=None)
    args = parser.parse_args()
    main(args.repeats, args.json)

"""Loop overhead and loader speed, measured side by side in one run.

(a) a hand-written PyTorch loop over in-memory tensors, (b) `Learner.fit` with its default callbacks
(recorder, progress, validation metrics), and (b'') the same with PerfMonitor + AnomalyDetector + Dashboard - same MLP (784-100-100-10), data (8,000 MNIST-shaped
images), batch 256, AdamW + one-cycle, 8 epochs, validation accuracy after every epoch in both;
(c) torchvision's classic pipeline (`datasets.MNIST` -> PIL -> ToTensor/Normalize per sample ->
DataLoader, batch 64) vs our `TensorLoader`, data only, one epoch.
Variants are interleaved (A B A B ...), repeated; each ratio is the median over repeats of the ratio of the
two runs made back to back (medians of the raw times are kept too). One JSON object is printed.

    python benchmarks/loop_overhead.py [--repeats 3] [--epochs 8] [--json out.json]
"""
from __future__ import annotations
import argparse, math, statistics, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from _common import emit, machine_info
from lepton_nb.core import set_seed
from lepton_nb.data import ASSETS, DataBundle, write_mnist_idx
from lepton_nb.learner import Learner
from lepton_nb.progress import ProgressCallback
from lepton_nb.monitor import AnomalyDetector, Dashboard, PerfMonitor, ResourceMonitor
from lepton_nb.models import LeptonNN

N, BS, LR, LR_MAX, PCT_START = 8000, 256, 1e-3, 3e-3, 0.25


def mnist_shaped(n: int = N) -> tuple[torch.Tensor, torch.Tensor]:
    "n real MNIST digits (the bundled sample, repeated to n): uint8 (n, 28, 28) and labels."
    with np.load(ASSETS / 'mnist_sample.npz') as f:
        x = np.concatenate([f['x_train'], f['x_test']]); y = np.concatenate([f['y_train'], f['y_test']])
    reps = math.ceil(n / len(x))
    return torch.from_numpy(np.tile(x, (reps, 1, 1))[:n]), torch.from_numpy(np.tile(y, reps)[:n]).long()


def handwritten(data: DataBundle, epochs: int, hidden=(100, 100)) -> float:
    "The loop a practitioner writes by hand: same model, optimizer, schedule, validation. Returns final valid accuracy."
    set_seed(0)
    model = LeptonNN(n_hidden=hidden)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    x, y, xv, yv = data.x_train, data.y_train, data.x_valid, data.y_valid
    steps = epochs * math.ceil(len(x) / BS)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR_MAX, total_steps=steps, pct_start=PCT_START)
    acc = 0.0
    for epoch in range(epochs):
        model.train()
        loss_sum = torch.zeros(())
        perm = torch.randperm(len(x))
        for i in range(0, len(x), BS):
            idx = perm[i:i + BS]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
            if sched.last_epoch < steps - 1: sched.step()
            loss_sum.add_(loss.detach(), alpha=len(yb))
        model.eval()
        correct, vloss = 0, 0.0
        with torch.no_grad():
            for i in range(0, len(xv), 2 * BS):
                out = model(xv[i:i + 2 * BS])
                vloss += float(F.cross_entropy(out, yv[i:i + 2 * BS], reduction='sum'))
                correct += int((out.argmax(1) == yv[i:i + 2 * BS]).sum())
        train_loss, acc = float(loss_sum) / len(x), correct / len(xv)
        print(f'epoch {epoch + 1} - train_loss: {train_loss:.4g} - valid_loss: {vloss / len(xv):.4g} - accuracy: {acc:.4g}', file=sys.stderr)
    return acc


def learner(data: DataBundle, epochs: int, mode: str, hidden=(100, 100), monitored: bool = False) -> float:
    "Learner.fit_one_cycle with the default callbacks (+ monitoring); progress in `mode` to stderr. Returns final valid accuracy."
    set_seed(0)
    extra = [PerfMonitor(), AnomalyDetector(), Dashboard(), ResourceMonitor()] if monitored else []
    learn = Learner(LeptonNN(n_hidden=hidden), data, opt='adamw', lr=LR, bs=BS, metrics=['accuracy'], progress=False,
                    cbs=[ProgressCallback(mode=mode, file=sys.stderr)] + extra)
    learn.fit_one_cycle(epochs, lr_max=LR_MAX, pct_start=PCT_START)
    return learn.history['accuracy'][-1]


def classic_loader_epoch(folder: str, workers: int = 0) -> int:
    "One epoch of torchvision's per-sample MNIST pipeline (PIL -> ToTensor -> Normalize), batch 64."
    import torchvision
    from torchvision import transforms
    ds = torchvision.datasets.MNIST(folder, train=True, download=False, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]))
    n = 0
    for xb, yb in torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True, num_workers=workers): n += len(yb)
    return n


def our_loader_epoch(data: DataBundle) -> int:
    n = 0
    for xb, yb in data.loader('train', bs=64): n += len(yb)
    return n


def timed(fn, *args) -> float:
    start = time.perf_counter(); fn(*args); return time.perf_counter() - start


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=9)
    parser.add_argument('--epochs', type=int, default=8)
    parser.add_argument('--json', type=Path, default=None, help='also write the result here')
    args = parser.parse_args(argv)

    x, y = mnist_shaped()
    t0 = time.perf_counter()
    data = DataBundle.from_tensors(x, y, valid_pct=0.1, name='mnist-shaped 8k')
    bundle_seconds = time.perf_counter() - t0

    loop_variants = {'handwritten': lambda: handwritten(data, args.epochs),
                     'learner_lines': lambda: learner(data, args.epochs, 'lines'),
                     'learner_tqdm': lambda: learner(data, args.epochs, 'terminal'),
                     # + PerfMonitor, AnomalyDetector (a loss read per step) and the live Dashboard (PNG redraws)
                     'learner_monitored': lambda: learner(data, args.epochs, 'lines', monitored=True),
                     # a tiny model (784-8-10) leaves almost only the loop's own per-step cost
                     'tiny_handwritten': lambda: handwritten(data, args.epochs, hidden=(8,)),
                     'tiny_learner_lines': lambda: learner(data, args.epochs, 'lines', hidden=(8,))}
    for fn in loop_variants.values(): fn()  # warm-up: lazy imports, allocator, first-call costs
    times = {k: [] for k in loop_variants}
    accuracy = {}
    names = list(loop_variants)
    for r in range(args.repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:  # rotate the order each repeat
            start = time.perf_counter(); accuracy[name] = loop_variants[name](); times[name].append(time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as tmp:
        write_mnist_idx(Path(tmp) / 'MNIST' / 'raw', x[:7200], y[:7200], x[7200:], y[7200:])
        loader_variants = {'classic_dataloader': lambda: classic_loader_epoch(tmp),
                           'classic_dataloader_2workers': lambda: classic_loader_epoch(tmp, 2),
                           'tensor_loader': lambda: our_loader_epoch(data)}
        for fn in loader_variants.values(): fn()
        for r in range(args.repeats):
            for name, fn in loader_variants.items(): times.setdefault(name, []).append(timed(fn))

    med = {k: statistics.median(v) for k, v in times.items()}
    steps = args.epochs * math.ceil(len(data.x_train) / BS)
    def paired(variant: str, base: str = 'handwritten') -> float:
        "Median over repeats of variant/base, each pair measured back to back (measured in the same round: cancels the host's slow drifts)."
        return statistics.median(v / b for v, b in zip(times[variant], times[base]))
    result = {
        'benchmark': 'loop_overhead',
        'overhead_ratio': paired('learner_lines'),
        'overhead_ratio_tqdm': paired('learner_tqdm'),
        'overhead_ratio_monitored': paired('learner_monitored'),
        'loader_speedup': paired('classic_dataloader', 'tensor_loader'),
        'loader_speedup_vs_2workers': paired('classic_dataloader_2workers', 'tensor_loader'),
        'ratio_of_medians': {'overhead_ratio': med['learner_lines'] / med['handwritten'],
                             'overhead_ratio_tqdm': med['learner_tqdm'] / med['handwritten'],
                             'overhead_ratio_monitored': med['learner_monitored'] / med['handwritten'],
                             'loader_speedup': med['classic_dataloader'] / med['tensor_loader']},
        'targets': {'overhead_ratio': '<= 1.10', 'overhead_ratio_monitored': '<= 1.25', 'loader_speedup': '>= 5'},
        'median_seconds': med, 'all_seconds': times,
        'final_valid_accuracy': accuracy,
        'per_step_ms': {k: 1000 * med[k] / steps for k in loop_variants},
        'framework_overhead_us_per_step': 1e6 * (med['tiny_learner_lines'] - med['tiny_handwritten']) / steps,
        'tensor_bundle_build_seconds_once': bundle_seconds,
        'config': {'samples': N, 'train': len(data.x_train), 'valid': len(data.x_valid), 'batch_size': BS,
                   'epochs': args.epochs, 'repeats': args.repeats, 'model': '784-100-100-10 ReLU',
                   'optimizer': f'AdamW lr {LR} wd 0.01 + OneCycleLR max {LR_MAX}', 'loader_batch_size': 64},
        'machine': machine_info(),
    }
    return emit(result, args.json)


if __name__ == '__main__':
    main()

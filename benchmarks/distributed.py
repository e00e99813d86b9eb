"""Data-parallel training on this machine: samples/s of `Learner.fit` in 1 process vs 2 processes, the same global batch.

Configurations (each in fresh worker processes started by `lepton_nb.distributed.launch`; interleaved over --repeats
rounds; medians reported):
  1 process x C threads   (C = the machine's cores: the single-process baseline that uses the whole machine)
  1 process x 1 thread
  2 processes x C/2 threads each (gloo; each process takes half of every batch and DDP all-reduces the gradients)
Models: the wide MLP (784-1024-1024-10) and the CNN (channels 32, 64, batch norm), global batch 256, on the bundled MNIST
sample tiled to --n images (8,192). Epoch seconds come from History (the first epoch is warm-up and is left out).
Per step the all-reduce moves every gradient: 4 bytes x parameters; a ring all-reduce sends 2(W-1)/W of that per process.
Its time alone is measured inside the 2-process run (median of 20 all-reduces of that size). Amdahl's law read from the
speed-up S of W processes over one process with one thread each: parallel fraction f = (1 - 1/S) / (1 - 1/W).

    python benchmarks/distributed.py [--repeats 3] [--epochs 3] [--n 8192] [--json out.json]
"""
from __future__ import annotations
import argparse, math, os, statistics, time

import numpy as np
import torch
import torch.distributed as dist

from _common import emit, machine_info
from lepton_nb.core import set_seed
from lepton_nb.data import ASSETS, DataBundle
from lepton_nb.distributed import launch
from lepton_nb.learner import Learner
from lepton_nb.models import CNN, MLP

GLOBAL_BS = 256
MODELS = {'wide_mlp': lambda: MLP((784, 1024, 1024, 10)), 'cnn': lambda: CNN(channels=(32, 64))}


def digits(n: int) -> DataBundle:
    "n real MNIST digits (the bundled sample, tiled), as images (n, 1, 28, 28); no validation split (training speed only)."
    with np.load(ASSETS / 'mnist_sample.npz') as f: x, y = f['x_train'], f['y_train']
    reps = math.ceil(n / len(x))
    x, y = torch.from_numpy(np.tile(x, (reps, 1, 1))[:n]).unsqueeze(1), torch.from_numpy(np.tile(y, reps)[:n]).long()
    return DataBundle.from_tensors(x, y, valid_pct=0)


def train(model: str, threads: int, epochs: int, n: int) -> dict:
    "One worker: fit, and (with several processes) time an all-reduce of the gradients' size alone."
    torch.set_num_threads(threads)
    set_seed(0)
    world = int(os.environ.get('WORLD_SIZE', 1))
    learn = Learner(MODELS[model](), digits(n), bs=GLOBAL_BS // world, progress=False)
    learn.fit(epochs)
    params = sum(p.numel() for p in learn.model.parameters())
    out = {'epoch_seconds': statistics.median(learn.history['seconds'][1:]), 'params': params, 'world_size': learn.world_size}
    if learn.world_size > 1:
        grads, times = torch.zeros(params), []
        for _ in range(20):
            start = time.perf_counter()
            dist.all_reduce(grads)
            times.append(time.perf_counter() - start)
        out['allreduce_ms'] = 1000 * statistics.median(times)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--n', type=int, default=8192)
    parser.add_argument('--json', default=None)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    configs = {f'1p x {cores}t': (1, cores), '1p x 1t': (1, 1), f'2p x {max(1, cores // 2)}t': (2, max(1, cores // 2))}
    runs = {m: {c: [] for c in configs} for m in MODELS}
    for _ in range(args.repeats):
        for model in MODELS:
            for name, (procs, threads) in configs.items():
                runs[model][name].append(launch(train, nprocs=procs, args=(model, threads, args.epochs, args.n), threads=threads,
                                                show=False))
    result = {'benchmark': 'distributed', 'machine': machine_info(), 'global_batch': GLOBAL_BS, 'n_train': args.n,
              'epochs': args.epochs, 'repeats': args.repeats, 'backend': 'gloo', 'models': {}}
    for model, by_config in runs.items():
        seconds = {c: statistics.median(r['epoch_seconds'] for r in rs) for c, rs in by_config.items()}
        two, one_thread, baseline = list(configs)[2], '1p x 1t', list(configs)[0]
        params = by_config[baseline][0]['params']
        speedup_vs_1t = seconds[one_thread] / seconds[two]
        result['models'][model] = {
            'params': params, 'allreduce_bytes_per_step': 4 * params,
            'ring_bytes_sent_per_process_per_step': int(4 * params * 2 * (2 - 1) / 2),
            'allreduce_ms_alone': statistics.median(r['allreduce_ms'] for r in by_config[two]),
            'steps_per_epoch': math.ceil(args.n / GLOBAL_BS),
            'samples_per_s': {c: args.n / s for c, s in seconds.items()},
            'epoch_seconds_median': seconds,
            'speedup_2p_vs_1p_all_cores': seconds[baseline] / seconds[two],
            'speedup_2p_vs_1p_1t': speedup_vs_1t,
            'amdahl_parallel_fraction': (1 - 1 / speedup_vs_1t) / (1 - 1 / 2),
        }
    emit(result, args.json)


if __name__ == '__main__':
    main()

"""bf16 autocast vs fp32 on the CPU: epoch time and accuracy after a fixed budget, in one run.

Models: a wide MLP (784-1024-1024-10) and a small CNN (CNN(channels=(32, 64))), trained on the bundled
MNIST sample (3,600 train / 400 valid / 1,000 test) with AdamW (lr 1e-3 MLP, 3e-3 CNN), batch 128, for a fixed number of epochs.
Variants are interleaved fp32, bf16, fp32, bf16, ... with the same seed; epoch time is the median over
all epochs after the first (warm-up) of all repeats. Prints one JSON object.

    python benchmarks/precision.py [--epochs 3] [--repeats 3] [--json out.json]
"""
from __future__ import annotations
import argparse, statistics
from pathlib import Path

import torch

from _common import emit, machine_info
from lepton_nb.core import set_seed
from lepton_nb.data import load_dataset
from lepton_nb.learner import Learner
from lepton_nb.models import CNN, MLP
from lepton_nb.hardware import matmul_peak

MODELS = {'mlp': lambda: MLP((784, 1024, 1024, 10)), 'cnn': lambda: CNN(channels=(32, 64))}
LR = {'mlp': 1e-3, 'cnn': 3e-3}  # the CNN (batch norm, global pooling) learns faster with a larger step


def run(kind: str, precision: str, data, epochs: int) -> dict:
    set_seed(0)
    learn = Learner(MODELS[kind](), data, opt='adamw', lr=LR[kind], bs=128, precision=precision, progress=False)
    learn.fit(epochs)
    return {'epoch_seconds': learn.history['seconds'][1:] or learn.history['seconds'],
            'test_accuracy': learn.evaluate('test')['accuracy']}


def profile_step(kind: str, precision: str, data, steps: int = 5) -> list[dict]:
    "Top operators by self CPU time over a few training steps (why a speed-up falls short)."
    from torch.profiler import ProfilerActivity, profile
    set_seed(0)
    learn = Learner(MODELS[kind](), data, bs=128, precision=precision, progress=False)
    learn.fit(1)  # warm-up
    xb, yb = next(iter(data.loader('train', bs=128)))
    learn.training = True; learn.model.train()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps): learn._one_batch(xb, yb)
    learn.training = False
    rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:8]
    return [{'op': e.key, 'self_ms_per_step': e.self_cpu_time_total / 1000 / steps} for e in rows]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=4)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--profile', action='store_true', help='add the top operators of fp32 and bf16 steps')
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args(argv)
    data = load_dataset('mnist_sample')
    results = {k: {'fp32': {'epoch_seconds': [], 'test_accuracy': []}, 'bf16': {'epoch_seconds': [], 'test_accuracy': []}} for k in MODELS}
    for r in range(args.repeats):
        for kind in MODELS:
            for precision in (('fp32', 'bf16') if r % 2 == 0 else ('bf16', 'fp32')):
                out = run(kind, precision, data, args.epochs)
                results[kind][precision]['epoch_seconds'] += out['epoch_seconds']
                results[kind][precision]['test_accuracy'].append(out['test_accuracy'])
    summary = {}
    for kind, res in results.items():
        t32, t16 = (statistics.median(res[p]['epoch_seconds']) for p in ('fp32', 'bf16'))
        a32, a16 = (statistics.median(res[p]['test_accuracy']) for p in ('fp32', 'bf16'))
        summary[f'bf16_speedup_{kind}'] = t32 / t16
        summary[f'acc_delta_{kind}'] = 100 * (a16 - a32)  # points, bf16 minus fp32
        summary[f'{kind}_epoch_seconds'] = {'fp32': t32, 'bf16': t16}
        summary[f'{kind}_test_accuracy'] = {'fp32': a32, 'bf16': a16}
    result = {'benchmark': 'precision', **summary, 'targets': {'bf16_speedup': '>= 1.4', 'acc_delta': 'within 0.5 points'},
              'matmul_peak_gflops': {'fp32': matmul_peak(torch.float32), 'bf16': matmul_peak(torch.bfloat16)},
              'raw': results,
              'config': {'epochs': args.epochs, 'repeats': args.repeats, 'batch_size': 128, 'optimizer': f'AdamW lr {LR}',
                         'data': 'mnist_sample 3600/400/1000'},
              'machine': machine_info()}
    if args.profile:
        result['profile'] = {f'{k}_{p}': profile_step(k, p, data) for k in MODELS for p in ('fp32', 'bf16')}
    return emit(result, args.json)


if __name__ == '__main__':
    main()

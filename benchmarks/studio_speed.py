"""Training from the TrainingStudio (background thread, live SVG curves, Stop checks) vs `Learner.fit` with
the same StudioConfig on the main thread, interleaved in one run. Prints one JSON object with `studio_ratio`
(target <= 1.15). A worker forced to 2 intra-op threads is not measured here: once two OS threads run OpenMP
teams on 2 cores, both run ~3x slower, which would slow the baseline too (see RESULTS.md).

    python benchmarks/studio_speed.py [--repeats 5] [--epochs 5] [--json out.json]
"""
from __future__ import annotations
import argparse, statistics, time
from pathlib import Path

from _common import emit, machine_info
from lepton_nb.core import set_seed
from lepton_nb.data import load_dataset
from lepton_nb.widgets import StudioConfig, TrainingStudio


def plain_fit(config: StudioConfig, data) -> float:
    set_seed(config.seed)
    learn = config.build_learner(data)
    start = time.perf_counter(); config.fit(learn)
    return time.perf_counter() - start


def studio_fit(studio: TrainingStudio) -> float:
    studio.train_button.click(); studio.runner.join()
    return studio.runner.fit_seconds


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--epochs', type=int, default=5)
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args(argv)
    data = load_dataset('mnist_sample')
    config = StudioConfig(width=128, depth=2, bs=64, epochs=args.epochs, schedule='one_cycle', lr=3e-3)
    studio = TrainingStudio(data, config)  # its worker trains with its default thread count (one core left to the kernel)
    variants = {'learner_fit': lambda: plain_fit(config, data), 'studio': lambda: studio_fit(studio)}
    for fn in variants.values(): fn()  # warm-up
    times = {k: [] for k in variants}
    names = list(variants)
    for r in range(args.repeats):
        for name in names[r % len(names):] + names[:r % len(names)]: times[name].append(variants[name]())
    def ratio(name): return statistics.median(s / p for s, p in zip(times[name], times['learner_fit']))
    return emit({'benchmark': 'studio_speed', 'studio_ratio': ratio('studio'), 'target': '<= 1.15',
                 'worker_threads': studio.runner.threads,
                 'median_seconds': {k: statistics.median(v) for k, v in times.items()}, 'all_seconds': times,
                 'config': config.to_dict(), 'data': 'mnist_sample (3600 train)', 'machine': machine_info()}, args.json)


if __name__ == '__main__':
    main()

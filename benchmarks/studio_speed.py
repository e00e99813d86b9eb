"""Training from the TrainingStudio vs `Learner.fit` with the same StudioConfig on the main thread, interleaved
in one run. Prints one JSON object with `studio_ratio` (target <= 1.15).

The studio is measured the way a notebook runs it: the click arrives inside an asyncio event loop (as in a
Jupyter kernel), so the run is an event-loop task that iterates `Learner.fit_steps` and yields to the loop
every 50 ms. `studio_thread_ratio` is the fallback used where no loop runs (tests, scripts): a background
thread with one intra-op thread (see RESULTS.md for why not two).

    python benchmarks/studio_speed.py [--repeats 7] [--epochs 5] [--json out.json]
"""
from __future__ import annotations
import argparse, asyncio, statistics, time
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


async def studio_fit(studio: TrainingStudio) -> float:
    studio.train_button.click()
    if studio.runner.task is not None and not studio.runner.task.done(): await studio.runner.task
    studio.runner.join()
    return studio.runner.fit_seconds


async def run(args) -> dict:
    data = load_dataset('mnist_sample')
    config = StudioConfig(width=128, depth=2, bs=64, epochs=args.epochs, schedule='one_cycle', lr=3e-3)
    in_loop, in_thread = TrainingStudio(data, config), TrainingStudio(data, config)
    in_thread.runner.mode = 'thread'
    variants = {'learner_fit': lambda: asyncio.sleep(0, plain_fit(config, data)),
                'studio': lambda: studio_fit(in_loop), 'studio_thread': lambda: studio_fit(in_thread)}
    for fn in variants.values(): await fn()  # warm-up
    times = {k: [] for k in variants}
    names = list(variants)
    for r in range(args.repeats):
        for name in names[r % len(names):] + names[:r % len(names)]: times[name].append(await variants[name]())
    def ratio(name): return statistics.median(s / p for s, p in zip(times[name], times['learner_fit']))
    assert in_loop.runner.thread is None and in_thread.runner.task is None  # each measured the path it should
    return {'benchmark': 'studio_speed', 'studio_ratio': ratio('studio'), 'target': '<= 1.15',
            'studio_thread_ratio': ratio('studio_thread'), 'thread_mode_threads': in_thread.runner.threads,
            'median_seconds': {k: statistics.median(v) for k, v in times.items()}, 'all_seconds': times,
            'config': config.to_dict(), 'data': 'mnist_sample (3600 train)', 'machine': machine_info()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--epochs', type=int, default=5)
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args(argv)
    return emit(asyncio.run(run(args)), args.json)


if __name__ == '__main__':
    main()

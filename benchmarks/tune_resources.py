"""learn.tune_resources() on the MNIST sample: from deliberately bad settings (1 thread, batch 16) and from good ones
(all cores, batch 256), each tuned, then re-measured against its starting settings in fresh interleaved rounds.

    python benchmarks/tune_resources.py [--repeats 5] [--json out.json]
"""
from __future__ import annotations
import argparse, os, statistics, time

from _common import emit, machine_info
from lepton_nb.bench import _with_settings, benchmark_training, interleave
from lepton_nb.core import set_seed, set_threads
from lepton_nb.data import load_dataset
from lepton_nb.hardware import hardware_report
from lepton_nb.learner import Learner
from lepton_nb.models import LeptonNN


def scenario(data, threads: int, bs: int, repeats: int) -> dict:
    "Tune from (threads, bs); then time the start settings against the chosen ones, interleaved, with fresh rounds."
    set_seed(0)
    set_threads(threads)
    learn = Learner(LeptonNN(), data, bs=bs, lr=1e-3, progress=False)
    learn.fit(1)  # a trained learner, as a user would have it
    start = time.perf_counter()
    plan = learn.tune_resources(apply=False)
    tuning_seconds = time.perf_counter() - start
    def rate(settings):
        with _with_settings(learn, settings, bs, 1e-3, 'sqrt'): return benchmark_training(learn, steps=12, warmup=3)['samples_per_s']
    runs = interleave({'start': lambda: rate(plan.before), 'tuned': lambda: rate(plan.choices)}, repeats=repeats, warmup=1)
    ratios = [t / s for s, t in zip(runs['start'], runs['tuned'])]
    return {'start': plan.before, 'chosen': plan.choices, 'speedup_in_tuning': plan.speedup,
            'remeasured_speedup': statistics.median(ratios), 'remeasured_ratios': ratios,
            'samples_per_s': {k: statistics.median(v) for k, v in runs.items()}, 'accuracy_one_epoch': plan.accuracy,
            'notes': plan.notes, 'tuning_seconds': tuning_seconds, 'rows': plan.rows}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--json', default=None)
    args = parser.parse_args(argv)
    data, cores = load_dataset('mnist_sample'), os.cpu_count() or 1
    result = {'benchmark': 'tune_resources', 'model': 'LeptonNN 784-100-100-10, AdamW lr 1e-3, MNIST sample (3,600 train)',
              'bad_defaults': scenario(data, threads=1, bs=16, repeats=args.repeats),
              'good_defaults': scenario(data, threads=cores, bs=256, repeats=args.repeats),
              'targets': {'bad_defaults.remeasured_speedup': '>= 1.2', 'good_defaults.remeasured_speedup': '>= 1 within noise'},
              'machine': machine_info(), 'hardware': hardware_report(peaks=True).to_dict()}
    return emit(result, args.json)


if __name__ == '__main__':
    main()

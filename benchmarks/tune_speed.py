"""Trials per minute of `tune` on the MNIST-sample MLP, and Optuna's overhead over training the same
configurations by hand, in one run.

Every trial trains MLP(784-128-10) for 3 epochs (AdamW, batch 128, the learning rate drawn log-uniformly
from [1e-4, 3e-2]; no pruning, so every trial does the same work) on the bundled MNIST sample
(3,600 train / 400 valid). Variants, interleaved and repeated:
  (a) hand loop: the same learning rates as (b), each trained with `Learner.fit` and scored on validation;
  (b) `tune(..., method='bayes')`, study in memory;
  (c) the same with the study in a SQLite file (a fresh file each round; heartbeat thread on).
Reported: trials/minute per variant (median over rounds) and the per-round ratios (b)/(a), (c)/(a) of
wall time. Prints one JSON object.

    python benchmarks/tune_speed.py [--trials 12] [--repeats 3] [--json out.json]
"""
from __future__ import annotations
import argparse, statistics, tempfile, time
from pathlib import Path

from _common import emit, machine_info
from lepton_nb.core import set_seed
from lepton_nb.data import load_dataset
from lepton_nb.learner import Learner
from lepton_nb.models import MLP
from lepton_nb.tune import tune

SPACE = {'lr': ('log', 1e-4, 3e-2)}
EPOCHS = 3


def learner(params, data):
    return Learner(MLP((784, 128, 10)), data, lr=params['lr'], bs=128, progress=False)


def hand_loop(data, lrs) -> float:
    "Train one learner per learning rate by hand; return the best validation accuracy."
    best = 0.0
    for i, lr in enumerate(lrs):
        set_seed(i)
        learn = learner({'lr': lr}, data)
        learn.fit(EPOCHS)
        best = max(best, learn.valid_results['accuracy'])
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--trials', type=int, default=12); parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    data = load_dataset('mnist_sample')
    lrs = tune(learner, SPACE, data=data, n_trials=args.trials, epochs=1, pruner='none').table()['lr'].tolist()  # also warms up
    seconds = {'hand_loop': [], 'tune_memory': [], 'tune_sqlite': []}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {'hand_loop': lambda r: hand_loop(data, lrs),
                'tune_memory': lambda r: tune(learner, SPACE, data=data, n_trials=args.trials, epochs=EPOCHS, pruner='none').best_value,
                'tune_sqlite': lambda r: tune(learner, SPACE, data=data, n_trials=args.trials, epochs=EPOCHS, pruner='none',
                                              storage=f'{tmp}/round{r}.db').best_value}
        names = list(runs)
        for r in range(args.repeats):
            for name in names[r % 3:] + names[:r % 3]:  # rotate the order each round
                start = time.perf_counter(); runs[name](r); seconds[name].append(time.perf_counter() - start)
    per_min = {k: 60 * args.trials / statistics.median(v) for k, v in seconds.items()}
    ratio = lambda k: statistics.median(a / b for a, b in zip(seconds[k], seconds['hand_loop']))
    emit({'benchmark': 'tune_speed', 'machine': machine_info(), 'trials': args.trials, 'epochs_per_trial': EPOCHS,
          'trials_per_minute': per_min, 'overhead_ratio_memory': ratio('tune_memory'), 'overhead_ratio_sqlite': ratio('tune_sqlite'),
          'seconds': seconds}, args.json)


if __name__ == '__main__':
    main()

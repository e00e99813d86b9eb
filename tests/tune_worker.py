"""One `tune` worker for tests/test_tune_storage.py: a study in a shared SQLite file, optionally killed mid-trial.

    python tune_worker.py STORAGE N_TRIALS OUT.json [--kill-on-call K] [--ready DIR --peers P] [--heartbeat S] [--work S]

STORAGE is a SQLite file or a SQLAlchemy URL (tests/test_tune_postgres.py: a PostgreSQL server).
"""
import argparse
import json
import os
import signal
import time
from pathlib import Path

from lepton_nb.tune import tune


def wait_for_peers(folder: Path, peers: int, timeout: float = 120.0):
    "Start together with the other workers (a file barrier), so that their trials really interleave."
    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + timeout
    while len(list(folder.iterdir())) < peers:
        if time.monotonic() > deadline: raise TimeoutError(f'only {len(list(folder.iterdir()))} of {peers} workers started')
        time.sleep(0.01)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('storage'); parser.add_argument('n_trials', type=int); parser.add_argument('out')
    parser.add_argument('--kill-on-call', type=int, default=0); parser.add_argument('--ready', default=None)
    parser.add_argument('--peers', type=int, default=1)
    parser.add_argument('--heartbeat', type=int, default=1)  # 0: tune's default
    parser.add_argument('--work', type=float, default=0.0)  # seconds each trial takes, like a short training run
    args = parser.parse_args()
    calls = []

    def objective(params):
        calls.append(params['x'])
        if len(calls) == args.kill_on_call:  # die mid-trial, like an OOM kill, after the trial has run a while
            end = time.monotonic() + 0.5  # (Optuna only fails trials that recorded a heartbeat: the first is at trial start)
            while time.monotonic() < end: sum(i * i for i in range(10_000))
            os.kill(os.getpid(), signal.SIGKILL)
        Path(args.out).write_text(json.dumps(calls))  # what this worker evaluated, kept as it goes
        sum(i * i for i in range(20_000))  # a little real work, so that the two workers' trials interleave
        time.sleep(args.work)
        return (params['x'] - 0.3) ** 2

    if args.ready: wait_for_peers(Path(args.ready), args.peers)
    tune(objective, {'x': ('float', 0.0, 1.0)}, method='random', n_trials=args.n_trials, storage=args.storage,
         study_name='shared', direction='minimize',
         **({'heartbeat': args.heartbeat} if args.heartbeat else {}))  # the default seed: each worker still draws its own points


if __name__ == '__main__':
    main()

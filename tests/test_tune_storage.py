"""A tuning study stored in SQLite survives its process being killed mid-trial (finished trials kept, the
interrupted trial failed by its heartbeat and retried with the same parameters), and two worker processes
share one study without losing or duplicating a trial."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna

WORKER = Path(__file__).with_name('tune_worker.py')
COMPLETE, RUNNING, FAIL = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.FAIL


def worker(db: Path, n_trials: int, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), str(db), str(n_trials), str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> int:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode in (0, -signal.SIGKILL), err[-3000:]
    return proc.returncode


def load(db: Path) -> optuna.Study:
    return optuna.load_study(study_name='shared', storage=f'sqlite:///{db}')


def test_study_resumes_after_the_process_is_killed(tmp_path):
    db = tmp_path / 'study.db'
    assert finish(worker(db, 6, tmp_path / 'a.json', '--kill-on-call', '3')) == -signal.SIGKILL
    killed_at = time.monotonic()
    before = load(db).trials
    assert [t.state for t in before] == [COMPLETE, COMPLETE, RUNNING]  # died inside its third trial
    # The dead trial's heartbeat (1 s) stopped; it counts as stale after the grace period (2 heartbeats).
    time.sleep(max(0.0, 2.5 - (time.monotonic() - killed_at)))
    assert finish(worker(db, 6, tmp_path / 'b.json')) == 0
    after = load(db).trials
    assert [(t.params, t.value) for t in after[:2]] == [(t.params, t.value) for t in before[:2]]  # finished trials kept
    assert after[2].state == FAIL  # the interrupted trial, declared dead
    retried = [t for t in after[3:] if t.params == before[2].params]
    assert len(retried) == 1 and retried[0].state == COMPLETE  # re-run once with the same parameters
    assert sum(t.state == COMPLETE for t in after) == 6 and not any(t.state == RUNNING for t in after)


def test_with_the_default_heartbeat_a_dead_workers_trial_is_retried_within_seconds(tmp_path):
    db = tmp_path / 'study.db'
    assert finish(worker(db, 3, tmp_path / 'a.json', '--kill-on-call', '2', '--heartbeat', '0')) == -signal.SIGKILL
    killed_at = time.monotonic()
    time.sleep(max(0.0, 11.0 - (time.monotonic() - killed_at)))  # past the default grace period (2 x 5 s)
    assert finish(worker(db, 3, tmp_path / 'b.json', '--heartbeat', '0')) == 0
    states = [t.state for t in load(db).trials]
    assert states[1] == FAIL and RUNNING not in states and states.count(COMPLETE) == 3, states


def test_two_workers_share_one_study_without_losing_trials(tmp_path):
    db, ready, n_trials = tmp_path / 'study.db', tmp_path / 'ready', 30
    outs = [tmp_path / 'w0.json', tmp_path / 'w1.json']
    procs = [worker(db, n_trials, out, '--ready', str(ready), '--peers', '2') for out in outs]
    assert [finish(p) for p in procs] == [0, 0]
    done = [json.loads(out.read_text()) for out in outs]
    assert all(done), 'both workers ran trials'
    trials = load(db).trials
    assert all(t.state == COMPLETE for t in trials), [t.state for t in trials]
    assert [t.number for t in trials] == list(range(len(trials)))
    assert sorted(t.params['x'] for t in trials) == sorted(done[0] + done[1])  # every trial run is stored, once
    assert len({t.params['x'] for t in trials}) == len(trials)  # same default seed, yet no worker replays the other's points
    assert n_trials <= len(trials) <= n_trials + 1  # a worker may start one trial while the other finishes the last

"""Two `tune` workers share one study on a real PostgreSQL server (started here on loopback, with its own data directory);
one is SIGKILLed mid-trial: no trial is lost, the dead worker's trial is failed by its heartbeat and retried, the study completes."""
import json
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from postgres_server import postgres_server, why_unavailable  # noqa: E402

WORKER = Path(__file__).with_name('tune_worker.py')
COMPLETE, RUNNING, FAIL = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.FAIL
pytestmark = pytest.mark.skipif(why_unavailable() is not None, reason=f'no PostgreSQL server here: {why_unavailable()}')


@pytest.fixture(scope='module')
def url():
    with postgres_server() as url: yield url


def worker(url: str, n_trials: int, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), url, str(n_trials), str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_workers_on_postgres_lose_no_trial_when_one_is_killed_mid_trial(tmp_path, url):
    n_trials, ready = 12, tmp_path / 'ready'
    shared = ['--ready', str(ready), '--peers', '2', '--work', '0.4', '--heartbeat', '1']
    procs = [worker(url, n_trials, tmp_path / 'killed.json', '--kill-on-call', '3', *shared),
             worker(url, n_trials, tmp_path / 'survivor.json', *shared)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [-signal.SIGKILL, 0], outs[1][1][-3000:]
    trials = optuna.load_study(study_name='shared', storage=url).trials
    states = [t.state for t in trials]
    assert RUNNING not in states, states
    dead = [t for t in trials if t.state == FAIL]
    assert len(dead) == 1 and 'fail_reason' not in dead[0].user_attrs, states  # failed by the heartbeat, not by its value
    retried = [t for t in trials if t.params == dead[0].params and t.state == COMPLETE]
    assert len(retried) == 1 and retried[0].number > dead[0].number  # run again, once, by the survivor
    complete = [t for t in trials if t.state == COMPLETE]
    assert n_trials <= len(complete) <= n_trials + 1  # the study completed (a worker may start one while the other ends the last)
    evaluated = json.loads((tmp_path / 'killed.json').read_text()) + json.loads((tmp_path / 'survivor.json').read_text())
    assert sorted(t.params['x'] for t in complete) == sorted(evaluated)  # every trial a worker finished is stored: none lost

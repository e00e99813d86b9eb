"""A run killed with SIGKILL mid-epoch resumes from its last checkpoint and ends with the same weights as an
uninterrupted run; a checkpoint half-written when the process died is never loaded."""
import signal
import subprocess
import sys
from pathlib import Path

import torch

from lepton_nb.checkpoint import safe_load

WORKER = Path(__file__).with_name('resume_worker.py')


def run(mode: str, folder: Path) -> int:
    return subprocess.run([sys.executable, str(WORKER), mode, str(folder)], capture_output=True, text=True, timeout=300).returncode


def final(folder: Path, mode: str) -> dict:
    return torch.load(folder / f'final-{mode}.pt', weights_only=True)


def assert_same_run(a: dict, b: dict):
    for (name, wa), wb in zip(a['weights'].items(), b['weights'].values()): assert torch.equal(wa, wb), name
    assert a['train_loss'] == b['train_loss']


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path):
    full_dir, cut_dir = tmp_path / 'full', tmp_path / 'cut'
    assert run('full', full_dir) == 0
    assert run('kill', cut_dir) == -signal.SIGKILL
    position = safe_load(cut_dir / 'last.pt')['position']
    assert position == {'epoch': 1, 'iter': 5, 'epoch_done': False, 'n_epoch': 3}  # mid-epoch, before the kill at batch 8
    assert run('resume', cut_dir) == 0
    assert_same_run(final(full_dir, 'full'), final(cut_dir, 'resume'))


def test_half_written_checkpoint_is_never_loaded(tmp_path):
    full_dir, cut_dir = tmp_path / 'full', tmp_path / 'cut'
    assert run('full', full_dir) == 0
    assert run('kill_in_write', cut_dir) == -signal.SIGKILL  # died while writing the checkpoint of batch 10
    leftovers = [p for p in cut_dir.iterdir() if p.name not in ('last.pt', 'best.pt')]
    assert leftovers and all(p.name.endswith('.tmp') for p in leftovers), leftovers  # the torn write stayed a temp file
    assert safe_load(cut_dir / 'last.pt')['position']['iter'] == 5  # last.pt is still the previous, complete checkpoint
    assert run('resume', cut_dir) == 0
    assert_same_run(final(full_dir, 'full'), final(cut_dir, 'resume'))

"""Checkpoints are atomic (a crash mid-write keeps the old file) and never unpickle code."""
import os
import pickle

import pytest
import torch

from lepton_nb.data import DataBundle
from lepton_nb.checkpoint import UnsafeCheckpoint, safe_load
from lepton_nb.learner import Learner
from lepton_nb.models import MLP


@pytest.fixture()
def learn():
    g = torch.Generator().manual_seed(0)
    data = DataBundle.from_tensors(torch.randn(64, 4, generator=g), torch.randint(0, 2, (64,), generator=g))
    return Learner(MLP((4, 8, 2)), data, bs=16, progress=False)


def test_crash_mid_write_keeps_previous_checkpoint(learn, tmp_path, monkeypatch):
    path = learn.save(tmp_path / 'best.pt')
    good = path.read_bytes()
    real_save = torch.save
    def crash(obj, f, *a, **k):
        real_save(obj, f, *a, **k)
        f.flush(); f.truncate(100)  # half-written
        raise KeyboardInterrupt('killed mid-write')
    monkeypatch.setattr(torch, 'save', crash)
    learn.fit(1)
    with pytest.raises(KeyboardInterrupt): learn.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ['best.pt'], 'temporary file left behind'
    assert safe_load(path)['history'] == {'records': []}


def test_code_carrying_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / 'code-ran'
    class Payload:
        def __reduce__(self): return (os.system, (f'touch {marker}',))
    evil = tmp_path / 'evil.pt'
    torch.save({'model': Payload()}, evil)  # a real torch checkpoint with a malicious object inside
    with pytest.raises(UnsafeCheckpoint, match='Refused to load'): safe_load(evil)
    with pytest.raises(pickle.UnpicklingError): Learner.load(evil, MLP((4, 8, 2)), None)
    assert not marker.exists()


def test_round_trip_restores_weights_optimizer_and_history(learn, tmp_path):
    learn.fit(2)
    path = learn.save(tmp_path / 'ckpt.pt')
    other = Learner.load(path, MLP((4, 8, 2)), learn.data, progress=False)
    for a, b in zip(learn.model.state_dict().values(), other.model.state_dict().values()): assert torch.equal(a, b)
    assert other.history.to_dict() == learn.history.to_dict()
    s1, s2 = learn.opt.state_dict()['state'], other.opt.state_dict()['state']
    assert all(torch.equal(s1[k]['exp_avg'], s2[k]['exp_avg']) for k in s1)
    assert other.lr == learn.lr and other.bs == learn.bs


def test_missing_file_names_path(tmp_path):
    with pytest.raises(ValueError, match='is not a file'): safe_load(tmp_path / 'nope.pt')

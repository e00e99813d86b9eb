"""Silent failures that crossed modules, each written as the reproduction that used to fail: NumPy's float64 data and
pandas-style float labels, regression with one output, batch norm and a last batch of one sample, an abandoned
`fit_steps` iterator, and temporary files left by a save killed with SIGKILL."""
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from lepton_nb.callbacks import Checkpoint
from lepton_nb.checkpoint import atomic_save
from lepton_nb.data import DataBundle
from lepton_nb.events import Callback
from lepton_nb.learner import Learner
from lepton_nb.models import MLP


def blobs(n=120, seed=0):
    "Three well-separated classes in 4-D, as NumPy's defaults give them: float64 inputs, float labels."
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    return rng.normal(size=(n, 4)) * 0.3 + np.eye(3, 4)[y] * 3, y.astype(float)


def test_numpy_float64_data_and_float_labels_train_as_classification():
    x, y = blobs()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        data = DataBundle.from_tensors(x, y)
    messages = ' '.join(str(w.message) for w in caught)
    assert 'float64' in messages and 'whole numbers' in messages  # said once each, at the bundle
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.long and data.n_classes == 3
    torch.manual_seed(0)
    learn = Learner(MLP((4, 16, 3)), data, bs=16, lr=1e-2, progress=False)
    learn.fit(5)
    assert learn.history[-1]['accuracy'] > 0.9


def test_regression_with_one_output_trains_and_reports_mae():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.1).astype(np.float32)  # (N,) targets, (N, 1) outputs
    data = DataBundle.from_tensors(x, y, normalize=False)
    assert data.classes == []
    torch.manual_seed(0)
    learn = Learner(nn.Linear(3, 1), data, loss='mse', lr=0.05, bs=20, progress=False)
    assert [m.name for m in learn.metrics] == ['mae']  # not an accuracy that crashes or reads 0
    learn.fit(20)
    baseline = float(((data.y_valid - data.y_train.mean()) ** 2).mean())  # predicting the mean
    assert learn.history[-1]['valid_loss'] < 0.01 * baseline, (learn.history[-1], baseline)


def test_batchnorm_with_a_last_batch_of_one_sample_trains_every_epoch():
    x, y = blobs(n=73, seed=1)
    data = DataBundle.from_tensors(x.astype(np.float32), y.astype(np.int64), valid_pct=0.0)  # 73 = 2 * 36 + 1
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))

    class Sizes(Callback):
        def before_fit(self, learn): self.sizes = []
        def after_batch(self, learn):
            if learn.training: self.sizes.append(len(learn.yb))
    sizes = Sizes()
    with pytest.warns(UserWarning, match='last batch of 1 sample'):
        Learner(model, data, bs=36, progress=False).fit(2, cbs=[sizes])
    assert sizes.sizes == [36, 36, 36, 36]  # the one-sample batch is dropped, said once; no crash mid-epoch


def test_an_abandoned_fit_steps_iterator_does_not_run_in_a_later_fit():
    x, y = blobs()
    data = DataBundle.from_tensors(x.astype(np.float32), y.astype(np.int64))
    learn = Learner(MLP((4, 8, 3)), data, bs=16, progress=False)

    class Counts(Callback):
        def before_fit(self, learn): self.batches, self.ended = 0, False
        def after_batch(self, learn): self.batches += learn.training
        def after_fit(self, learn): self.ended = True
    left = Counts()
    steps = learn.fit_steps(3, cbs=[left])
    next(steps)  # started, then abandoned (a widget closed, a cell interrupted)
    with pytest.warns(UserWarning, match='continues from the current'):
        learn.fit(1)
    assert left.ended and left.batches == 1  # closed at the next fit: its after_fit ran, and it saw none of the new batches
    assert left not in learn.cbs


KILLED_SAVER = '''
import sys, torch
from lepton_nb.checkpoint import atomic_save
big = {'w': torch.randn(4_000_000)}
print('ready', flush=True)
while True: atomic_save(big, sys.argv[1])
'''


def test_temporary_files_of_a_save_killed_with_sigkill_are_removed_by_the_next_save(tmp_path):
    target = tmp_path / 'last.pt'
    for _ in range(10):  # a kill lands inside a write most of the time; retry until one left its temporary file
        saver = subprocess.Popen([sys.executable, '-c', KILLED_SAVER, str(target)], stdout=subprocess.PIPE, text=True)
        assert saver.stdout.readline().strip() == 'ready'
        time.sleep(0.3 + 0.2 * np.random.rand())
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        if list(tmp_path.glob('.last.pt.*.tmp')): break
    orphans = list(tmp_path.glob('.last.pt.*.tmp'))
    assert orphans, 'no kill landed inside a write in 10 tries'
    atomic_save({'w': torch.zeros(1)}, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['last.pt']
    assert Checkpoint(tmp_path).last == target


def test_process_scaling_workers_talk_over_loopback_only():
    import functools
    import ipaddress
    import threading

    import psutil

    from lepton_nb.bench import process_scaling
    x, y = blobs(n=512)
    data = DataBundle.from_tensors(x.astype(np.float32), y.astype(np.int64), valid_pct=0.0)
    seen, done = set(), threading.Event()

    def watch():  # the workers' sockets, sampled while they train
        me = psutil.Process()
        while not done.is_set():
            for child in me.children(recursive=True):
                try: seen.update(c.laddr.ip for c in child.net_connections(kind='inet') if c.laddr)
                except psutil.Error: pass
            time.sleep(0.05)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try: process_scaling(functools.partial(MLP, (4, 256, 256, 3)), data, processes=(2,), bs=64, steps=60, warmup=5)
    finally:
        done.set()
        watcher.join()
    assert seen, 'no worker socket was seen'
    assert all(ipaddress.ip_address(ip).is_loopback for ip in seen), seen

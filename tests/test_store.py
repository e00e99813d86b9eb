"""The memmap store trains a dataset larger than its memory budget with bounded resident memory and the same weights as
in-memory training; a store refuses corrupt files by name and a failed conversion leaves nothing on disk."""
import json
import subprocess
import sys

import pytest
import torch

from lepton_nb.data import DataBundle, load_dataset
from lepton_nb.store import StoreError, open_memmap, to_memmap

MiB = 2 ** 20
WORKER = r'''
import json, sys, threading, time
import numpy as np, psutil, torch
from lepton_nb.core import set_seed, set_threads
from lepton_nb.data import DataBundle
from lepton_nb.learner import Learner
from lepton_nb.models import MLP
from lepton_nb.store import open_memmap
folder, budget = sys.argv[1], None if sys.argv[2] == 'none' else int(sys.argv[2])
set_threads(1)
proc, peak, running = psutil.Process(), [0], [True]
def sample():
    while running[0]:
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.002)
def train(data):
    set_seed(0)
    learn = Learner(MLP((512, 16, 4)), data, lr=1e-3, bs=2048, progress=False)
    learn.fit(1)
    return learn.model.state_dict()
train(DataBundle(torch.randn(4096, 512), torch.randint(0, 4, (4096,)), classes=list('abcd')))  # torch's one-time allocations
mapped = open_memmap(folder, memory_budget=budget)
before = proc.memory_info().rss
thread = threading.Thread(target=sample); thread.start()
from_disk = train(mapped)
running[0] = False; thread.join()
same = None
if budget is not None:  # the same training on the same numbers held in memory
    x, y = torch.from_numpy(np.load(folder + '/x_train.npy')), torch.from_numpy(np.load(folder + '/y_train.npy'))
    in_memory = train(DataBundle(x, y, classes=mapped.classes))
    same = all(torch.equal(in_memory[k], from_disk[k]) for k in in_memory)
print(json.dumps({'before': before, 'peak': peak[0], 'releases': mapped.x_train.releases, 'same_weights': same}))
'''


@pytest.fixture(scope='module')
def big_store(tmp_path_factory):
    "A 320 MiB float32 training split (163,840 rows x 512 features) on disk."
    g = torch.Generator().manual_seed(0)
    n = 320 * MiB // (512 * 4)
    x = torch.randn(n, 512, generator=g)
    y = (x[:, :2].sum(1) > 0).long() + 2 * (x[:, 2] > 0).long()
    folder = to_memmap(DataBundle(x, y, classes=['a', 'b', 'c', 'd']), tmp_path_factory.mktemp('store') / 'big', dtype='float32')
    return folder, n * 512 * 4


def _run(folder, budget):
    out = subprocess.run([sys.executable, '-c', WORKER, str(folder), str(budget)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_training_larger_than_the_budget_keeps_rss_bounded_and_weights_equal(big_store):
    folder, size = big_store
    budget, margin = 32 * MiB, 64 * MiB  # margin: a batch, its decoded copy, activations, allocator slack
    bounded = _run(folder, budget)
    grown = bounded['peak'] - bounded['before']
    assert grown < budget + margin, f'RSS grew by {grown / MiB:.0f} MiB over a {size / MiB:.0f} MiB dataset with a {budget / MiB:.0f} MiB budget'
    assert bounded['releases'] >= size // budget - 1
    assert bounded['same_weights'], 'memmap training differs from in-memory training on the same batches'
    unbounded = _run(folder, 'none')  # the control: without a budget the mapped pages stay resident
    assert unbounded['peak'] - unbounded['before'] > 0.8 * size, unbounded


def test_store_round_trip_of_every_split_and_dtype(tmp_path):
    data = load_dataset('mnist_sample')
    for dtype, exact in (('uint8', True), ('float32', True), ('float16', False)):
        mapped = open_memmap(to_memmap(data, tmp_path / dtype, dtype=dtype), verify='sha256')
        for split in ('train', 'valid', 'test'):
            x, y = data.split(split)
            got, labels = mapped.split(split)
            assert torch.equal(labels, y)
            if exact: assert torch.equal(got[:], x), (dtype, split)
            else: torch.testing.assert_close(got[:], x, atol=1e-2, rtol=1e-3)


@pytest.mark.parametrize('damage,message', [
    (lambda p: (p / 'manifest.json').unlink(), 'manifest.json is missing'),
    (lambda p: (p / 'manifest.json').write_text('{"format": "lepton_nb.memmap"'), 'not valid JSON'),
    (lambda p: (p / 'manifest.json').write_text(json.dumps({'format': 'other'})), 'not a lepton_nb memmap manifest'),
    (lambda p: (p / 'y_valid.npy').unlink(), 'y_valid.npy is missing'),
    (lambda p: open(p / 'x_train.npy', 'r+b').truncate(4096), 'x_train.npy has 4096 bytes'),
])
def test_damaged_store_is_refused_by_name(tmp_path, damage, message):
    folder = to_memmap(load_dataset('mnist_sample'), tmp_path / 's')
    damage(folder)
    with pytest.raises(StoreError, match=message): open_memmap(folder)


def test_failed_conversion_leaves_nothing(tmp_path):
    noisy = DataBundle(torch.randn(20, 3), torch.zeros(20, dtype=torch.long), classes=['a'])
    with pytest.raises(ValueError, match="dtype='uint8'"): to_memmap(noisy, tmp_path / 'n', dtype='uint8')
    assert list(tmp_path.iterdir()) == []

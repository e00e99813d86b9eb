"""The Keras-style facade against a hand-written PyTorch loop on the same network, in one run.

Model: the Keras MNIST convnet of tests/keras_scripts (Conv2D 32 - MaxPool - Conv2D 64 - MaxPool - Flatten -
Dropout - Dense 10 softmax) on the bundled MNIST sample (4,000 images, channels last), batch 128, Adam 1e-3,
2 epochs, validation on the last 10% after each epoch in both. (a) a hand loop over in-memory tensors calling
the facade's own PyTorch module (`model.net`), (b) `model.fit(...)` with verbose=0. Interleaved, repeated; the
ratio is the median of per-round ratios. Prints one JSON object.

    python benchmarks/keras_overhead.py [--repeats 5] [--json out.json]
"""
from __future__ import annotations
import argparse, statistics, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from _common import emit, machine_info
from lepton_nb import keras
from lepton_nb.core import set_seed
from lepton_nb.data import load_dataset
from lepton_nb.keras import layers

EPOCHS, BS = 2, 128


def convnet():
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Conv2D(32, (3, 3), activation='relu'), layers.MaxPooling2D((2, 2)),
                              layers.Conv2D(64, (3, 3), activation='relu'), layers.MaxPooling2D((2, 2)), layers.Flatten(),
                              layers.Dropout(0.5), layers.Dense(10, activation='softmax')])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model


def hand_loop(x: np.ndarray, y: np.ndarray) -> float:
    "What a PyTorch user writes for the same training: returns seconds."
    set_seed(0)
    net = convnet().net
    xt, yt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y).long()
    split = int(len(xt) * 0.9)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    start = time.perf_counter()
    for _ in range(EPOCHS):
        net.train()
        for idx in torch.randperm(split).split(BS):
            loss = F.cross_entropy(net(xt[idx]), yt[idx])
            opt.zero_grad(); loss.backward(); opt.step()
        net.eval()
        with torch.no_grad():
            out = torch.cat([net(xb) for xb in xt[split:].split(2 * BS)])
            _ = (F.cross_entropy(out, yt[split:]).item(), (out.argmax(1) == yt[split:]).float().mean().item())
    return time.perf_counter() - start


def facade(x: np.ndarray, y: np.ndarray) -> float:
    set_seed(0)
    model = convnet()
    start = time.perf_counter()
    model.fit(x, y, batch_size=BS, epochs=EPOCHS, validation_split=0.1, verbose=0)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=5); parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    data = load_dataset('mnist_sample', valid_pct=0)
    x = (data.x_train * data.std + data.mean).permute(0, 2, 3, 1).numpy()  # pixels in [0, 1], channels last
    y = data.y_train.numpy()
    hand_loop(x[:512], y[:512]); facade(x[:512], y[:512])  # warm-up
    seconds = {'hand_loop': [], 'keras_fit': []}
    runs = {'hand_loop': hand_loop, 'keras_fit': facade}
    for r in range(args.repeats):
        for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
            seconds[name].append(runs[name](x, y))
    emit({'benchmark': 'keras_overhead', 'machine': machine_info(), 'epochs': EPOCHS, 'batch_size': BS,
          'median_seconds': {k: statistics.median(v) for k, v in seconds.items()},
          'overhead_ratio': statistics.median(k / h for k, h in zip(seconds['keras_fit'], seconds['hand_loop'])),
          'seconds': seconds}, args.json)


if __name__ == '__main__':
    main()

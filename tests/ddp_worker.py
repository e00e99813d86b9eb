"""Training script for tests/test_distributed.py: run alone, or as it is under torchrun (2 processes, or 2 loopback nodes).

    [torchrun ...] ddp_worker.py OUT --bs B [--epochs 3] [--dropout P] [--opt adamw] [--ckpt DIR] [--kill-at E,I] [--resume PATH]

Rank 0 writes the final weights, History and validation results to OUT (torch.save of tensors, lists and numbers).
"""
import argparse
import os
import signal

import torch

from lepton_nb.callbacks import Checkpoint
from lepton_nb.core import set_seed
from lepton_nb.data import DataBundle
from lepton_nb.events import Callback
from lepton_nb.learner import Learner
from lepton_nb.models import MLP


class KillLastRank(Callback):
    "SIGKILL the last process (one worker of the run dies, as by the OOM killer) after `at` = (epoch, batches done)."
    order = 100
    def __init__(self, at): self.at = at
    def after_batch(self, learn):
        if learn.training and learn.rank == learn.world_size - 1 and (learn.epoch, learn.iter) == self.at:
            os.kill(os.getpid(), signal.SIGKILL)


def data() -> DataBundle:
    "304 samples: 203 for training (global batches of 16 leave 11, split 6 + 5) and 101 for validation (51 + 50)."
    g = torch.Generator().manual_seed(1)
    x = torch.randn(304, 4, generator=g)
    return DataBundle.from_tensors(x, (x[:, 0] > 0).long() + (x[:, 1] > 0).long(), valid_pct=101 / 304)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('out')
    parser.add_argument('--bs', type=int, required=True)
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--dropout', type=float, default=0.0)
    parser.add_argument('--opt', default='adamw')
    parser.add_argument('--ckpt', default=None)
    parser.add_argument('--kill-at', default=None)
    parser.add_argument('--resume', default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    set_seed(999 if args.resume else 0)  # a resumed run takes everything from the file
    learn = Learner(MLP((4, 32, 3), dropout=args.dropout), data(), bs=args.bs, lr=0.01, opt=args.opt,
                    metrics=['accuracy', 'f1'], progress='lines')
    cbs = [Checkpoint(args.ckpt, every=5, monitor=None)] if args.ckpt else []
    if args.kill_at: cbs.append(KillLastRank(tuple(int(v) for v in args.kill_at.split(','))))
    learn.fit(args.epochs, cbs=cbs, resume=args.resume)
    valid = learn.validate()
    if learn.rank == 0:
        torch.save({'weights': learn.model.state_dict(), 'history': learn.history.to_dict(), 'valid': valid,
                    'world_size': learn.world_size}, args.out)


if __name__ == '__main__':
    main()

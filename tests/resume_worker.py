"""Worker for test_resume_sigkill.py: train (optionally dying by SIGKILL), or resume, then save final weights.

    python resume_worker.py full|kill|kill_in_write|resume FOLDER
"""
import os
import signal
import sys
from pathlib import Path

import torch

from lepton_nb.callbacks import Checkpoint
from lepton_nb.core import set_seed
from lepton_nb.data import DataBundle
from lepton_nb.events import Callback
from lepton_nb.learner import Learner
from lepton_nb.models import MLP

KILL_AT = (1, 8)  # (epoch, batches done): after the checkpoint written at batch 5 of epoch 1


class Kill(Callback):
    order = 100
    def after_batch(self, learn):
        if learn.training and (learn.epoch, learn.iter) == KILL_AT: os.kill(os.getpid(), signal.SIGKILL)


def die_inside_next_write():
    "Make the next torch.save write half a file, then SIGKILL the process (a crash mid-write)."
    real_save = torch.save
    def half_save(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        f.flush(); f.truncate(f.tell() // 2); os.fsync(f.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    torch.save = half_save


class DieInWrite(Callback):
    order = 40  # runs before Checkpoint (order 50), which then writes batch 10's checkpoint and dies halfway
    def after_batch(self, learn):
        if learn.training and (learn.epoch, learn.iter) == (1, 10): die_inside_next_write()


def main(mode: str, folder: Path):
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(600, 10, generator=g)
    data = DataBundle.from_tensors(x, (x[:, 0] > 0).long() + (x[:, 1] > 0).long(), valid_pct=0.2)
    set_seed(0 if mode != 'resume' else 999)  # a resumed run must take everything from the file
    learn = Learner(MLP((10, 32, 32, 3), dropout=0.25), data, bs=16, progress=False)
    cbs = [Checkpoint(folder, every=5)]
    if mode == 'kill': cbs.append(Kill())
    if mode == 'kill_in_write': cbs.append(DieInWrite())
    learn.fit_one_cycle(3, lr_max=0.01, cbs=cbs, resume=folder / 'last.pt' if mode == 'resume' else None)
    torch.save({'weights': learn.model.state_dict(), 'train_loss': learn.history['train_loss']}, folder / f'final-{mode}.pt')


if __name__ == '__main__':
    main(sys.argv[1], Path(sys.argv[2]))

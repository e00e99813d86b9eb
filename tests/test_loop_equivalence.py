"""The Learner does the same math as a hand-written PyTorch loop: same seed, bit-identical weights."""
import math

import torch
import torch.nn.functional as F

from lepton_nb.core import set_seed
from lepton_nb.data import DataBundle
from lepton_nb.learner import Learner
from lepton_nb.models import MLP


def test_learner_matches_handwritten_loop_exactly():
    g = torch.Generator().manual_seed(0)
    data = DataBundle.from_tensors(torch.randn(300, 6, generator=g), torch.randint(0, 3, (300,), generator=g), valid_pct=0.1)
    epochs, bs, lr_max = 3, 32, 0.01

    set_seed(1)
    learn = Learner(MLP((6, 16, 3)), data, opt='adamw', lr=1e-3, bs=bs, progress=False)
    learn.fit_one_cycle(epochs, lr_max=lr_max)

    set_seed(1)
    model = MLP((6, 16, 3))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    x, y = data.x_train, data.y_train
    steps = epochs * math.ceil(len(x) / bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr_max, total_steps=steps, pct_start=0.25)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), bs):
            idx = perm[i:i + bs]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)
            if sched.last_epoch < steps - 1: sched.step()

    for (name, a), b in zip(learn.model.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    assert len(learn.history) == epochs and 'accuracy' in learn.history.keys()

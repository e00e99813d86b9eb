"""validate / get_preds run through the training loop's batch step and give, bit for bit, what a hand-written evaluation
loop gives (fp32, CPU), for classification, binary and regression losses, on a split name, raw tensors and a loader."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lepton_nb.core import set_seed
from lepton_nb.data import DataBundle
from lepton_nb.learner import Learner


def _bundle(kind: str) -> DataBundle:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(260, 6, generator=g)
    y = {'multiclass': (x[:, 0] > 0).long() + (x[:, 1] > 0).long(), 'binary': (x[:, 0] + x[:, 2] > 0).long(),
         'regression': x @ torch.linspace(-1, 1, 6)}[kind]
    return DataBundle.from_tensors(x, y, valid_pct=0.25, classes=None if kind != 'multiclass' else ['a', 'b', 'c'])


CASES = {  # kind: (loss name, outputs, the hand-written loss, activation)
    'multiclass': ('cross_entropy', 3, lambda o, y: F.cross_entropy(o, y), lambda o: o.softmax(1)),
    'binary': ('bce', 1, lambda o, y: F.binary_cross_entropy_with_logits(o.squeeze(1), y.float()), lambda o: o.squeeze(1).sigmoid()),
    'regression': ('mse', 1, lambda o, y: F.mse_loss(o, y.reshape(o.shape)), lambda o: o),
}


def _hand_eval(model, x, y, bs, loss_fn):
    "The evaluation loop a PyTorch user writes: eval mode, no gradients, batch-size-weighted mean loss."
    model.eval()
    outs, total, count = [], torch.zeros(()), 0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            out = model(x[i:i + bs])
            total.add_(loss_fn(out, y[i:i + bs]).float(), alpha=len(out)); count += len(out)
            outs.append(out.float())
    model.train()
    return float(total) / count, torch.cat(outs)


@pytest.mark.parametrize('kind', sorted(CASES))
def test_validate_and_get_preds_equal_a_handwritten_eval_loop(kind):
    data = _bundle(kind)
    loss, n_out, hand_loss, activation = CASES[kind]
    set_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, n_out))
    learn = Learner(model, data, loss=loss, metrics=[], bs=32, progress=False)
    learn.fit(2)
    x, y = data.split('valid')
    ref_loss, ref_out = _hand_eval(learn.model, x, y, 64, hand_loss)
    assert learn.model.training  # the learner left the model as it found it

    for source in ('valid', (x, y), data.loader('valid', bs=64, shuffle=False)):
        res = learn.validate(source, bs=64, preprocess=False)
        assert res['loss'] == ref_loss, (kind, type(source).__name__, res['loss'], ref_loss)
    preds = learn.get_preds('valid', bs=64, activation=False, with_loss=True)
    assert torch.equal(preds.outputs, ref_out) and torch.equal(preds.targets, y)
    assert torch.equal(learn.get_preds(x, bs=64, preprocess=False).outputs, activation(ref_out))  # raw tensors, no targets
    assert learn.get_preds(x, bs=64, preprocess=False).targets is None
    torch.testing.assert_close(preds.losses.mean(), torch.tensor(ref_loss), rtol=1e-6, atol=1e-7)
    pred = learn.predict(x, bs=64, preprocess=False)
    if kind == 'multiclass': assert torch.equal(pred.labels, ref_out.argmax(1))
    elif kind == 'binary': assert torch.equal(pred.labels, (ref_out.squeeze(1).sigmoid() >= 0.5).long())
    else: assert torch.equal(pred.labels, ref_out) and pred.probs is None

"""Exports of the four classifier families pass their parity gates in every format, and broken exports are caught, not shipped."""
import os

import pytest
import torch
from torch import nn

from lepton_nb.data import DataBundle, load_dataset
from lepton_nb.infer import EXPORT_FORMATS, ParityError, Predictor, load_pt2
from lepton_nb.learner import Learner
from lepton_nb.models import CNN, MLP
from lepton_nb.sequence import LSTMClassifier, TransformerClassifier, make_sequence_task

pytest.importorskip('onnxruntime', reason="the onnx extra is missing: pip install 'lepton_nb[onnx]'")


def _images() -> DataBundle:
    data = load_dataset('mnist_sample')
    return DataBundle(data.x_train[:512], data.y_train[:512], data.x_valid[:64], data.y_valid[:64], classes=data.classes,
                      mean=data.mean, std=data.std, name='mnist_small')


MODELS = {'mlp': lambda: (MLP((784, 32, 10), batchnorm=True, dropout=0.2), _images()),
          'cnn': lambda: (CNN((8, 16), n_classes=10), _images()),
          'lstm': lambda: (LSTMClassifier(30, embed_dim=16, hidden=16), make_sequence_task(400, seed=1)),
          'transformer': lambda: (TransformerClassifier(30, d_model=16, heads=2, layers=1, ff=32), make_sequence_task(400, seed=1))}


@pytest.fixture(scope='module', params=list(MODELS))
def predictor(request):
    torch.manual_seed(0)
    model, data = MODELS[request.param]()
    learn = Learner(model, data, bs=64, progress=False, metrics=[])
    learn.fit(1)  # trained weights, and batch-norm statistics that differ from their initial values
    return Predictor.from_learner(learn, check_size=64)


@pytest.mark.parametrize('fmt', EXPORT_FORMATS)
def test_export_passes_its_gate_and_the_file_runs(predictor, fmt, tmp_path):
    path = tmp_path / f'model.{fmt}'
    report = predictor.export(fmt, path)
    assert report.passed and path.exists() and report.batch_sizes == [1, 3, len(predictor.check[0])] and report.max_abs_diff <= 1e-4
    assert (report.opset == 18) == (fmt == 'onnx')
    x = predictor.check[0][:7]
    with torch.inference_mode():
        if fmt == 'pt2': got = load_pt2(path)(x)
        elif fmt == 'torchscript': got = torch.jit.load(str(path))(x)
        else:
            import onnxruntime as ort
            got = torch.from_numpy(ort.InferenceSession(str(path)).run(None, {'x': x.numpy()})[0])
    torch.testing.assert_close(got, predictor.outputs(x), atol=1e-4, rtol=1e-4)


class BranchesOnData(nn.Module):
    "Negates its output when the batch mean is below `cut`: a Python branch a trace freezes."
    def __init__(self, cut: float):
        super().__init__()
        self.net, self.cut = nn.Linear(784, 10), cut

    def forward(self, x):
        out = self.net(x.flatten(1))
        return out if x.mean() > self.cut else -out


class AssumesBatchSize(nn.Module):
    "Reshapes with the traced batch size: right for 2 samples, wrong (or failing) for any other count."
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(784, 10)

    def forward(self, x):
        return self.net(x.reshape(2, -1)).reshape(x.shape[0], -1) if x.shape[0] == 2 else self.net(x.flatten(1)) * 0


@pytest.mark.parametrize('broken', ['branches_on_data', 'assumes_batch_size'])
@pytest.mark.parametrize('fmt', EXPORT_FORMATS)
def test_broken_exports_are_caught_and_not_written(fmt, broken, tmp_path):
    good = Predictor.from_learner(Learner(MLP((784, 10)), _images(), progress=False), check_size=64)
    means = good.check[0].mean((1, 2, 3))
    model = BranchesOnData(float(means.median())) if broken == 'branches_on_data' else AssumesBatchSize()
    bad = Predictor(model, good.pre, good.rule, check=good.check)
    with pytest.raises(ParityError) as err:
        bad.export(fmt, tmp_path / 'model')
    assert not (tmp_path / 'model').exists() and os.listdir(tmp_path) == []
    assert 'Fix:' in str(err.value)


def test_the_gate_names_the_worst_element(tmp_path):
    good = Predictor.from_learner(Learner(MLP((784, 10)), _images(), progress=False), check_size=16)
    with pytest.raises(ParityError, match=r'differs from PyTorch at sample \d+, output \d+: .* atol 0 \+ rtol 0'):
        good.export('onnx', tmp_path / 'm.onnx', atol=0, rtol=0)

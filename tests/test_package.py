"""A model package loads in a fresh process without the code that defined the model, unpickles nothing, and refuses any damaged,
tampered, incomplete, unknown or newer file by name."""
import json
import pickle
import shutil
import subprocess
import sys

import pytest
import torch
from torch import nn

from lepton_nb.data import DataBundle, load_dataset
from lepton_nb.evaluate import DecisionRule
from lepton_nb.infer import MANIFEST, MANIFEST_HASH, PROGRAM, WEIGHTS, PackageError, Predictor, sha256_file
from lepton_nb.learner import Learner
from lepton_nb.models import CNN
from lepton_nb.sequence import TransformerClassifier, make_sequence_task


class NotebookModel(nn.Module):
    "Stands for a class defined in a notebook: the fresh process below has never seen this module."
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Tanh(), nn.Linear(16, 10))

    def forward(self, x):
        return self.body(x) - self.body(x).mean(1, keepdim=True)


def _small_mnist() -> DataBundle:
    data = load_dataset('mnist_sample')
    return DataBundle(data.x_train[:256], data.y_train[:256], data.x_valid[:64], data.y_valid[:64], classes=data.classes,
                      mean=data.mean, std=data.std, name='mnist_small')


def _trained(model, data) -> Predictor:
    torch.manual_seed(0)
    learn = Learner(model, data, bs=64, progress=False, metrics=[])
    learn.fit(1)
    return Predictor.from_learner(learn, rule=DecisionRule(data.classes, abstain_below=0.3), check_size=32)


def _keras_cnn() -> Predictor:
    from lepton_nb import keras
    from lepton_nb.keras import layers
    data = _small_mnist()
    def keras_layout(x): return (x * data.std + data.mean).permute(0, 2, 3, 1).numpy()  # channels last, in [0, 1]
    torch.manual_seed(0)
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Conv2D(4, 3, activation='relu'), layers.Flatten(),
                              layers.Dense(10, activation='softmax')])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')
    model.fit(keras_layout(data.x_train), data.y_train.numpy(), epochs=1, verbose=0)
    return Predictor.from_keras(model, keras_layout(data.x_valid), data.y_valid.numpy(), classes=data.classes,
                                rule=DecisionRule(data.classes, abstain_below=0.3))


KINDS = {'cnn': lambda: _trained(CNN((4, 8)), _small_mnist()), 'keras_cnn': _keras_cnn,
         'notebook_model': lambda: _trained(NotebookModel(), _small_mnist()),
         'transformer': lambda: _trained(TransformerClassifier(30, d_model=16, heads=2, layers=1, ff=16), make_sequence_task(300))}


@pytest.fixture(scope='module', params=list(KINDS))
def package(request, tmp_path_factory):
    predictor = KINDS[request.param]()
    return request.param, predictor, predictor.save(tmp_path_factory.mktemp(request.param) / 'pkg')


def _raw_inputs(predictor: Predictor) -> torch.Tensor:
    if predictor.pre.dtype == 'int64': return make_sequence_task(40, seed=5).x_train[:6]
    if predictor.pre.channels_last: return torch.rand(6, 28, 28, 1, generator=torch.Generator().manual_seed(1))
    return torch.randint(0, 256, (6, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))


def test_the_package_loads_in_a_fresh_process_without_the_model_code(package, tmp_path):
    kind, predictor, path = package
    x = _raw_inputs(predictor)
    torch.save(x, tmp_path / 'x.pt')
    code = ("import json, sys, torch; from lepton_nb.infer import Predictor; "
            f"p = Predictor.load({str(path)!r}).predict(torch.load({str(tmp_path / 'x.pt')!r})); "
            "print(json.dumps(p.to_dict())); print(sorted(m for m in sys.modules if m.startswith('test')), file=sys.stderr)")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1] == '[]'  # nothing of this test module was imported there
    got, expected = json.loads(out.stdout), predictor.predict(x).to_dict()
    assert got['labels'] == expected['labels'] and got['classes'] == expected['classes'] and got['abstained'] == expected['abstained']
    torch.testing.assert_close(torch.tensor(got['probs']), torch.tensor(expected['probs']), rtol=0, atol=1e-6)
    has_program = (path / PROGRAM).exists()
    assert has_program == (kind == 'notebook_model')  # lepton_nb's own models travel as data, others as a torch.export program


def test_loading_unpickles_nothing(package, monkeypatch):
    _, predictor, path = package
    def refuse(*args, **kwargs): raise AssertionError('something was unpickled')
    monkeypatch.setattr(pickle, 'load', refuse)
    monkeypatch.setattr(pickle, 'loads', refuse)
    monkeypatch.setattr(pickle, 'Unpickler', refuse)
    monkeypatch.setattr(torch, 'load', refuse)
    loaded = Predictor.load(path)
    x = _raw_inputs(predictor)
    torch.testing.assert_close(loaded.predict(x).probs, predictor.predict(x).probs, rtol=0, atol=1e-6)


def _copy(path, tmp_path):
    dst = tmp_path / 'copy'
    shutil.copytree(path, dst)
    return dst


@pytest.mark.parametrize('where', ['first', 'middle', 'last'])
def test_one_flipped_byte_in_any_file_is_refused_by_name(package, tmp_path, where):
    _, _, path = package
    for f in sorted(path.iterdir()):
        dst = _copy(path, tmp_path / f.name)
        data = bytearray((dst / f.name).read_bytes())
        i = {'first': 0, 'middle': len(data) // 2, 'last': len(data) - 1}[where]
        data[i] ^= 0x01
        (dst / f.name).write_bytes(bytes(data))
        with pytest.raises(PackageError, match=f.name.replace('.', r'\.')) as err:
            Predictor.load(dst)
        assert 'Fix:' in str(err.value)


def test_missing_unknown_truncated_and_newer_files_are_refused(package, tmp_path):
    _, _, path = package
    dst = _copy(path, tmp_path / 'unknown')
    (dst / 'extra.bin').write_bytes(b'\x80\x04evil')
    with pytest.raises(PackageError, match='extra.bin.*unknown'): Predictor.load(dst)
    dst = _copy(path, tmp_path / 'missing')
    (dst / WEIGHTS).unlink()
    with pytest.raises(PackageError, match=f'{WEIGHTS} is missing'): Predictor.load(dst)
    dst = _copy(path, tmp_path / 'truncated')
    (dst / WEIGHTS).write_bytes((path / WEIGHTS).read_bytes()[:100])
    with pytest.raises(PackageError, match='truncated'): Predictor.load(dst)
    dst = _copy(path, tmp_path / 'newer')  # a consistent package from a future format: hashes fine, version unknown
    manifest = json.loads((dst / MANIFEST).read_text())
    manifest['format_version'] = 99
    (dst / MANIFEST).write_text(json.dumps(manifest))
    (dst / MANIFEST_HASH).write_text(f'{sha256_file(dst / MANIFEST)}  {MANIFEST}\n')
    with pytest.raises(PackageError, match='format version 99.*upgrade lepton_nb'): Predictor.load(dst)
    with pytest.raises(PackageError, match='does not exist'): Predictor.load(tmp_path / 'nowhere')


def test_the_manifest_describes_the_package(package):
    kind, predictor, path = package
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest['format'] == 'lepton_nb.package' and manifest['format_version'] == 1
    assert set(manifest['files']) == {f.name for f in path.iterdir()} - {MANIFEST, MANIFEST_HASH}
    assert all(sha256_file(path / name) == info['sha256'] for name, info in manifest['files'].items())
    assert manifest['classes'] == predictor.rule.classes and manifest['rule']['abstain_below'] == 0.3
    assert set(manifest['versions']) == {'lepton_nb', 'torch', 'python'}
    assert kind == 'keras_cnn' or 'train_loss' in manifest['metrics']
    assert manifest['architecture']['kind'] == {'notebook_model': 'torch.export', 'keras_cnn': 'keras'}.get(kind, 'lepton_nb')
    assert subprocess.run(['sha256sum', '-c', MANIFEST_HASH], cwd=path, capture_output=True).returncode == 0

"""Each kind of bad input gets a LeptonError naming the argument, the value and the fix, before any state changes."""
import copy
from contextlib import contextmanager

import pytest
import torch

from lepton_nb.core import DatasetNotFound, InvalidArgument, InvalidType, LeptonError, UnknownName
from lepton_nb.data import DataBundle, TensorLoader, load_dataset
from lepton_nb.learner import Learner
from lepton_nb.models import LeptonNN, build_model

G = torch.Generator().manual_seed(0)
X, Y = torch.rand(40, 1, 28, 28, generator=G), torch.randint(0, 10, (40,), generator=G)


@pytest.fixture(scope='module')
def data():
    return DataBundle.from_tensors(X, Y, X[:10], Y[:10], valid_pct=0.2)


@contextmanager
def raises(exc, *fragments):
    "Expect a LeptonError of type `exc` whose message holds every fragment and says how to fix it."
    with pytest.raises(exc) as info: yield
    msg = str(info.value)
    assert isinstance(info.value, LeptonError), type(info.value)
    for f in fragments + ('Fix',): assert f in msg, f'{f!r} not in {msg!r}'


def test_mismatched_lengths():
    with raises(InvalidArgument, 'len(x_train), len(y_train)', '(40, 30)'): DataBundle.from_tensors(X, Y[:30])


def test_wrong_dims_of_inputs_and_labels():
    with raises(InvalidArgument, 'x_train.shape', '(40,)'): DataBundle.from_tensors(torch.rand(40), Y)
    with raises(InvalidArgument, 'y_train.shape', '(40, 10)'): DataBundle.from_tensors(X, torch.rand(40, 10).long())


def test_labels_outside_range():
    with raises(InvalidArgument, 'y_train', '[-1,'): DataBundle.from_tensors(X, torch.cat([Y[:-1], torch.tensor([-1])]))
    with raises(InvalidArgument, 'y_train', 'outside [0, 3)'): DataBundle.from_tensors(X, Y, classes=['a', 'b', 'c'])


def test_empty_splits():
    with raises(InvalidArgument, 'x_train', 'empty'): DataBundle.from_tensors(X[:0], Y[:0])
    with raises(InvalidArgument, 'x_test', 'empty'): DataBundle.from_tensors(X, Y, X[:0], Y[:0])
    with raises(InvalidArgument, 'valid_pct=0.99', 'no training samples'): DataBundle.from_tensors(X[:2], Y[:2], valid_pct=0.99)
    with raises(InvalidArgument, "split='valid'"): DataBundle.from_tensors(X, Y, valid_pct=0).split('valid')


def test_nan_and_inf_inputs():
    bad = X.clone(); bad[3, 0, 5, 5] = float('nan'); bad[4, 0, 1, 1] = float('inf')
    with raises(InvalidArgument, 'x_train', '2 NaN/Inf'): DataBundle.from_tensors(bad, Y)
    with raises(InvalidArgument, 'x_test', 'NaN/Inf'): DataBundle.from_tensors(X, Y, bad, Y)


@pytest.mark.parametrize('lr', [0, -1e-3, float('nan')])
def test_learning_rate_not_positive(data, lr):
    with raises(InvalidArgument, 'lr='): Learner(LeptonNN(), data, lr=lr, progress=False)


@pytest.mark.parametrize('bs', [0, -4, 2.5])
def test_batch_size_below_one(data, bs):
    with raises(InvalidArgument, f'bs={bs}'): Learner(LeptonNN(), data, bs=bs, progress=False)
    with raises(InvalidArgument, f'bs={bs}'): TensorLoader(X, Y, bs=bs)


def test_negative_epochs_change_nothing(data):
    learn = Learner(LeptonNN(), data, progress=False)
    weights = copy.deepcopy(learn.model.state_dict())
    with raises(InvalidArgument, 'epochs=-1'): learn.fit(-1)
    with raises(InvalidArgument, 'epochs=-2'): learn.fit_one_cycle(-2)
    assert len(learn.history) == 0 and all(torch.equal(weights[k], v) for k, v in learn.model.state_dict().items())


def test_unknown_dataset_lists_valid_names():
    with raises(UnknownName, "name='imagenet'", "'mnist'", "'mnist_sample'", "'moons'"): load_dataset('imagenet')


def test_unknown_model_lists_valid_names():
    with raises(UnknownName, "kind='resnet'", "'lepton'", "'mlp'", "'cnn'"): build_model('resnet')


def test_unknown_optimizer_loss_metric_list_valid_names(data):
    with raises(UnknownName, "opt='rmsprop'", "'adamw'", "'sgd'"): Learner(LeptonNN(), data, opt='rmsprop', progress=False)
    with raises(UnknownName, "loss='hinge'", "'cross_entropy'", "'mse'"): Learner(LeptonNN(), data, loss='hinge', progress=False)
    with raises(UnknownName, "metrics='auc'", "'accuracy'", "'f1'"): Learner(LeptonNN(), data, metrics=['auc'], progress=False)


def test_wrong_types():
    with raises(InvalidType, 'x_train has type str'): DataBundle.from_tensors('pixels', Y)
    with raises(InvalidType, 'model has type str'): Learner('mlp', DataBundle.from_tensors(X, Y))
    with raises(InvalidType, 'data has type tuple'): Learner(LeptonNN(), (X, Y))


def test_missing_torchvision_files_name_folder_switch_and_offline_sets(tmp_path):
    # the exact switch in the message is checked in nbs/01_data.ipynb; here: folder, the download hint, the offline sets
    with raises(DatasetNotFound, str(tmp_path / 'MNIST' / 'raw'), 'allow the download with', 'mnist_sample'):
        load_dataset('mnist', root=tmp_path, download=False)


def test_errors_are_also_builtin_exceptions():
    with pytest.raises(ValueError): DataBundle.from_tensors(X, Y[:3])
    with pytest.raises(TypeError): DataBundle.from_tensors(object(), Y)
    with pytest.raises(FileNotFoundError): load_dataset('fashion_mnist', root='/nonexistent', download=False)

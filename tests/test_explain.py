"""Every attribution method of lepton_nb.explain against Captum (the library that does it in production), on an MLP and a
CNN classifier, random inputs and several targets; Integrated Gradients' completeness error with the default steps."""
import pytest
import torch

from lepton_nb.core import set_seed
from lepton_nb.explain import completeness_error, explain
from lepton_nb.models import CNN, MLP

captum = pytest.importorskip('captum', reason="Captum is missing, so nothing to compare against: pip install 'lepton_nb[dev]' (or captum)")
from captum.attr import (InputXGradient, IntegratedGradients, LayerAttribution, LayerGradCam, NoiseTunnel,  # noqa: E402
                         Occlusion, Saliency)

TOL = dict(atol=1e-5, rtol=1e-4)


def models():
    set_seed(0)
    mlp = MLP((20, 32, 32, 5)).eval()
    cnn = CNN(channels=(8, 16), n_classes=5).eval()
    cnn_inputs = torch.randn(4, 1, 28, 28)
    for m in cnn.modules():  # trained-looking batch-norm statistics, so eval mode is not the identity
        if isinstance(m, torch.nn.BatchNorm2d): m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2.0)
    return [('mlp', mlp, torch.randn(4, 20)), ('cnn', cnn, cnn_inputs)]


CASES = [(name, model, x, target) for name, model, x in models() for target in ([0, 1, 2, 3], 4, None)]
IDS = [f'{c[0]}-target{c[3]}' for c in CASES]


def captum_target(model, x, target):
    if target is None: return model(x).argmax(1)
    return torch.as_tensor(target).expand(len(x)) if isinstance(target, int) else torch.tensor(target)


@pytest.mark.parametrize('name,model,x,target', CASES, ids=IDS)
def test_gradient_methods_equal_captum(name, model, x, target):
    t = captum_target(model, x, target)
    torch.testing.assert_close(explain(model, x, 'saliency', target), Saliency(model).attribute(x, target=t), **TOL)
    torch.testing.assert_close(explain(model, x, 'input_x_gradient', target), InputXGradient(model).attribute(x, target=t), **TOL)


@pytest.mark.parametrize('name,model,x,target', CASES, ids=IDS)
@pytest.mark.parametrize('rule', ['gausslegendre', 'riemann_trapezoid', 'riemann_middle'])
def test_integrated_gradients_equal_captum(name, model, x, target, rule):
    t = captum_target(model, x, target)
    ours = explain(model, x, 'integrated_gradients', target, steps=32, rule=rule, batch_size=40)
    theirs = IntegratedGradients(model).attribute(x, target=t, n_steps=32, method=rule)
    if rule == 'riemann_trapezoid':  # Captum weights its n nodes (spaced 1/(n-1)) by 1/n, halved at the ends: they sum to
        ours = ours * 31 / 32        # (n-1)/n. Ours is the textbook rule (weights 1/(n-1), sum 1): Captum's = ours x (n-1)/n
    torch.testing.assert_close(ours, theirs, **TOL)


@pytest.mark.parametrize('name,model,x,target', CASES, ids=IDS)
def test_smoothgrad_equals_captum_noise_tunnel_with_the_same_noise(name, model, x, target):
    t = captum_target(model, x, target)
    torch.manual_seed(7)
    ours = explain(model, x, 'smoothgrad', target, samples=6, stdev=0.3)
    torch.manual_seed(7)
    theirs = NoiseTunnel(Saliency(model)).attribute(x, nt_type='smoothgrad', nt_samples=6, stdevs=0.3, target=t)
    torch.testing.assert_close(ours, theirs, **TOL)


@pytest.mark.parametrize('target', [[0, 1, 2, 3], 4, None])
@pytest.mark.parametrize('layer', [0, 1])
def test_gradcam_equals_captum_layer_gradcam_upsampled(target, layer):
    _, cnn, x = models()[1]
    convs = [m for m in cnn.modules() if isinstance(m, torch.nn.Conv2d)]
    t = captum_target(cnn, x, target)
    theirs = LayerGradCam(cnn, convs[layer]).attribute(x, target=t, relu_attributions=True)
    theirs = LayerAttribution.interpolate(theirs, x.shape[-2:], interpolate_mode='bilinear')
    torch.testing.assert_close(explain(cnn, x, 'gradcam', target, layer=convs[layer]), theirs, **TOL)


@pytest.mark.parametrize('name,model,x,target', CASES, ids=IDS)
def test_occlusion_equals_captum(name, model, x, target):
    t = captum_target(model, x, target)
    window, stride = ((3,), 2) if name == 'mlp' else ((1, 6, 6), (1, 4, 4))
    ours = explain(model, x, 'occlusion', target, window=window, stride=stride)
    theirs = Occlusion(model).attribute(x, sliding_window_shapes=window, strides=stride, baselines=0, target=t)
    torch.testing.assert_close(ours, theirs, **TOL)


@pytest.fixture(scope='module')
def trained():
    "An MLP and a CNN trained briefly on the bundled MNIST sample, and 8 validation digits with their labels."
    from lepton_nb.data import load_dataset
    from lepton_nb.learner import Learner
    data = load_dataset('mnist_sample')
    out = {}
    for name, model in [('mlp', MLP((784, 64, 10))), ('cnn', CNN(channels=(8, 16)))]:
        set_seed(0)
        learn = Learner(model, data, bs=64, progress=False)
        learn.fit(1)
        out[name] = learn.model.eval()
    return out, data.x_valid[:8], data.y_valid[:8]


@pytest.mark.parametrize('name', ['mlp', 'cnn'])
@pytest.mark.parametrize('which', ['label', 'predicted'])
def test_integrated_gradients_completeness_below_one_percent_with_default_steps(trained, name, which):
    models_, x, y = trained
    target = y if which == 'label' else None
    ig = explain(models_[name], x, 'integrated_gradients', target)  # 50 Gauss-Legendre nodes
    errors = completeness_error(models_[name], x, ig, target)
    print(f'{name}, {which} class: completeness error median {errors.median():.2e}, max {errors.max():.2e}')
    assert errors.max() < 0.01, errors

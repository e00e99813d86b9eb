"""Our metrics equal scikit-learn's on generated inputs, including zero division, absent classes and single-class data."""
import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
import torch
from hypothesis import given, settings, strategies as st

from lepton_nb import metrics as lm

labels_st = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(st.lists(st.integers(0, 4), min_size=n, max_size=n), st.lists(st.integers(0, 4), min_size=n, max_size=n)))
zero_division_st = st.sampled_from([0, 1, np.nan])


def same(ours, ref):
    np.testing.assert_allclose(np.asarray(ours, dtype=float), np.asarray(ref, dtype=float), rtol=1e-12, atol=1e-12, equal_nan=True)


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return fn(*args, **kwargs)


@settings(max_examples=150, deadline=None)
@given(labels_st, st.sampled_from(['micro', 'macro', 'weighted', None]), zero_division_st)
def test_precision_recall_f1_equal_sklearn(pair, average, zero_division):
    yt, yp = pair
    for ours, ref in ((lm.precision, skm.precision_score), (lm.recall, skm.recall_score), (lm.f1_score, skm.f1_score)):
        same(ours(yt, yp, average=average, zero_division=zero_division),
             quiet(ref, yt, yp, average=average, zero_division=zero_division))


@settings(max_examples=100, deadline=None)
@given(labels_st, st.lists(st.integers(0, 6), min_size=1, max_size=4, unique=True), st.sampled_from(['micro', 'macro', 'weighted', None]), zero_division_st)
def test_scores_with_explicit_labels_equal_sklearn(pair, labels, average, zero_division):
    yt, yp = pair
    for ours, ref in ((lm.precision, skm.precision_score), (lm.recall, skm.recall_score), (lm.f1_score, skm.f1_score)):
        same(ours(yt, yp, average=average, labels=labels, zero_division=zero_division),
             quiet(ref, yt, yp, average=average, labels=labels, zero_division=zero_division))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(st.lists(st.integers(0, 1), min_size=n, max_size=n),
                                                      st.lists(st.integers(0, 1), min_size=n, max_size=n))), zero_division_st)
def test_binary_average_equal_sklearn(pair, zero_division):
    yt, yp = pair
    for ours, ref in ((lm.precision, skm.precision_score), (lm.recall, skm.recall_score), (lm.f1_score, skm.f1_score)):
        same(ours(yt, yp, average='binary', zero_division=zero_division), quiet(ref, yt, yp, average='binary', zero_division=zero_division))


@settings(max_examples=100, deadline=None)
@given(labels_st, st.sampled_from([None, 'true', 'pred', 'all']))
def test_confusion_matrix_and_accuracy_equal_sklearn(pair, normalize):
    yt, yp = pair
    same(lm.confusion_matrix(yt, yp, normalize=normalize), quiet(skm.confusion_matrix, yt, yp, normalize=normalize))
    same(lm.accuracy(yt, yp), skm.accuracy_score(yt, yp))


@settings(max_examples=60, deadline=None)
@given(labels_st, zero_division_st)
def test_classification_report_dict_equal_sklearn(pair, zero_division):
    yt, yp = pair
    ours = lm.classification_report(yt, yp, output_dict=True, zero_division=zero_division)
    ref = quiet(skm.classification_report, yt, yp, output_dict=True, zero_division=zero_division)
    assert ours.keys() == ref.keys()
    for key, row in ref.items():
        if isinstance(row, dict):
            for m in row: same(ours[key][m], row[m])
        else: same(ours[key], row)


def test_single_class_and_never_predicted_class():
    same(lm.f1_score([2, 2, 2], [2, 2, 2]), skm.f1_score([2, 2, 2], [2, 2, 2], average='macro'))
    yt, yp = [0, 1, 2, 2], [0, 0, 2, 2]  # class 1 never predicted
    for zd in (0, 1):
        same(lm.precision(yt, yp, average=None, zero_division=zd), quiet(skm.precision_score, yt, yp, average=None, zero_division=zd))


def test_inputs_as_tensors_arrays_lists_and_scores():
    g = torch.Generator().manual_seed(0)
    scores, y = torch.randn(50, 3, generator=g), torch.randint(0, 3, (50,), generator=g)
    ref = skm.f1_score(y.numpy(), scores.argmax(1).numpy(), average='weighted')
    for yt, yp in ((y, scores), (y.numpy(), scores.numpy()), (y.tolist(), scores.tolist()), (y, scores.softmax(1))):
        same(lm.f1_score(yt, yp, average='weighted'), ref)


@pytest.mark.parametrize('name', ['accuracy', 'f1', 'precision_micro', 'recall_weighted', 'f1_macro'])
def test_batch_accumulators_equal_whole_data_functions(name):
    g = torch.Generator().manual_seed(3)
    scores, y = torch.randn(300, 6, generator=g), torch.randint(0, 6, (300,), generator=g)
    metric = lm.get_metric(name); metric.reset()
    for i in range(0, 300, 64): metric.update(scores[i:i + 64], y[i:i + 64])
    score, _, average = name.partition('_')
    fn = {'accuracy': lm.accuracy, 'f1': lm.f1_score, 'precision': lm.precision, 'recall': lm.recall}[score]
    kwargs = {} if score == 'accuracy' else {'average': average or 'macro', 'labels': range(6)}
    same(metric.compute(), fn(y, scores, **kwargs))


# --- evaluate: curves and areas (lepton_nb.evaluate) ---
from sklearn.calibration import calibration_curve as sk_calibration_curve  # noqa: E402

from lepton_nb import evaluate as ev  # noqa: E402

binary_scored_st = st.integers(2, 60).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 1), min_size=n, max_size=n),
    st.lists(st.integers(0, 10).map(lambda v: v / 10), min_size=n, max_size=n)))  # coarse scores: many ties


@settings(max_examples=150, deadline=None)
@given(binary_scored_st)
def test_roc_auc_average_precision_and_roc_curve_equal_sklearn(pair):
    yt, scores = pair
    # with one class the AUC is undefined: both warn and give nan, and the curves' undefined rates are nan
    same(quiet(ev.roc_auc_score, yt, scores), quiet(skm.roc_auc_score, yt, scores))
    same(quiet(ev.average_precision_score, yt, scores), quiet(skm.average_precision_score, yt, scores))
    for drop in (True, False):
        for ours, ref in zip(quiet(ev.roc_curve, yt, scores, drop_intermediate=drop), quiet(skm.roc_curve, yt, scores, drop_intermediate=drop)): same(ours, ref)


@settings(max_examples=80, deadline=None)
@given(st.integers(8, 60), st.integers(3, 5), st.integers(0, 2**31 - 1), st.sampled_from(['macro', 'weighted']))
def test_one_vs_rest_auc_equals_sklearn(n, k, seed, average):
    rng = np.random.default_rng(seed)
    yt = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])  # every class present, as scikit-learn requires
    probs = rng.dirichlet(np.ones(k), size=n)
    same(ev.roc_auc_score(yt, probs, average=average), skm.roc_auc_score(yt, probs, multi_class='ovr', average=average))
    same(ev.average_precision_score(yt, probs, average=None), skm.average_precision_score(np.eye(k)[yt], probs, average=None))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.lists(st.integers(0, 1), min_size=n, max_size=n),
                                                      st.lists(st.integers(0, 20).map(lambda v: v / 20), min_size=n, max_size=n))),
       st.integers(1, 12))
def test_calibration_curve_equals_sklearn(pair, n_bins):
    yt, probs = pair  # probabilities on a 0.05 lattice: many fall exactly on bin edges
    for ours, ref in zip(ev.calibration_curve(yt, probs, n_bins=n_bins), sk_calibration_curve(yt, probs, n_bins=n_bins)): same(ours, ref)

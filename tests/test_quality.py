"""The quality report finds exactly the problems injected into real data (several seeds and sizes, tables and images),
cleaning makes the report pass, the change log undoes it, and bad input is refused before anything changes."""
import re

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.impute import SimpleImputer

from lepton_nb.data import load_dataset
from lepton_nb.quality import QualityGate, DataQualityError, clean, inject_problems, quality_report

TABLES = {'wine': load_wine(as_frame=True).frame, 'breast_cancer': load_breast_cancer(as_frame=True).frame}
COUNTED = ('missing', 'duplicates', 'conflicting_labels', 'leaked')


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('table,size,amounts', [('wine', 178, (3, 2, 1, 2, 4)), ('breast_cancer', 300, (11, 7, 5, 9, 3)),
                                                ('breast_cancer', 569, (25, 30, 12, 20, 10))])
def test_report_finds_exactly_the_injected_counts(table, size, amounts, seed):
    base = TABLES[table].sample(size, random_state=seed) if size < len(TABLES[table]) else TABLES[table]
    missing, duplicates, conflicting, leaked, outliers = amounts
    dirty, splits, truth = inject_problems(base, 'target', missing, duplicates, conflicting, leaked, outliers, seed=seed)
    report = quality_report(dirty, target='target', splits=splits)
    assert {k: report.summary[k] for k in COUNTED} == {k: truth[k] for k in COUNTED}
    assert report.summary['outliers'] >= outliers
    leaked_rows = dirty.loc[report.rows['leaked']]
    assert set(report.rows['leaked']) <= set(splits['test'].tolist()), 'the leaked rows are test rows'
    copies = dirty.iloc[len(dirty) - leaked:]  # inject_problems appends the leaked copies last
    assert sorted(map(tuple, leaked_rows.fillna(-1).to_numpy())) == sorted(map(tuple, copies.fillna(-1).to_numpy()))
    cleaned, log = clean(dirty, ['impute_median', 'dedupe', 'drop_conflicting', 'drop_leaked', 'clip_outliers'], 'target', splits)
    after = quality_report(cleaned, target='target', splits=log.splits)
    assert after.passed, after.failures
    pd.testing.assert_frame_equal(log.revert(cleaned, target='target'), dirty)


@pytest.mark.parametrize('how', ['mean', 'median', 'most_frequent'])
def test_imputation_equals_simple_imputer_fitted_on_train(how):
    dirty, splits, _ = inject_problems(TABLES['breast_cancer'], 'target', missing=60, seed=3)
    filled, log = clean(dirty, [f'impute_{how}'], target='target', splits=splits)
    cols = [c for c in dirty.columns if c != 'target']
    ref = SimpleImputer(strategy=how).fit(dirty.iloc[splits['train']][cols]).transform(dirty[cols])
    np.testing.assert_allclose(filled[cols].to_numpy(), ref, rtol=1e-12)
    assert len(log.steps[0]['cells_changed']) == 60


def _mnist_bundle_with_dirt(seed, n_dup, n_conf, n_leak):
    data = load_dataset('mnist_sample', valid_pct=0.2, seed=seed)
    g = torch.Generator().manual_seed(seed)
    src = torch.randperm(len(data.x_train), generator=g)[:n_dup + n_conf]
    flipped = (data.y_train[src[n_dup:]] + 1) % 10
    leak = torch.randperm(len(data.x_valid), generator=g)[:n_leak]
    data.x_train = torch.cat([data.x_train, data.x_train[src], data.x_valid[leak]])
    data.y_train = torch.cat([data.y_train, data.y_train[src[:n_dup]], flipped, data.y_valid[leak]])
    return data


@pytest.mark.parametrize('seed,n_dup,n_conf,n_leak', [(0, 5, 3, 7), (1, 0, 0, 12), (2, 20, 1, 0)])
def test_report_counts_injected_image_problems(seed, n_dup, n_conf, n_leak):
    base = quality_report(load_dataset('mnist_sample', valid_pct=0.2, seed=seed)).summary
    assert (base['duplicates'], base['conflicting_labels'], base['leaked']) == (0, 0, 0), 'the MNIST sample itself is clean'
    report = quality_report(_mnist_bundle_with_dirt(seed, n_dup, n_conf, n_leak))
    assert report.kind == 'images'
    assert (report.summary['duplicates'], report.summary['conflicting_labels'], report.summary['leaked']) == (n_dup, 2 * n_conf, n_leak)


def test_cleaning_a_bundle_keeps_held_out_splits_and_reverts_exactly():
    dirty = _mnist_bundle_with_dirt(0, 5, 3, 7)
    cleaned, log = clean(dirty, ['dedupe', 'drop_conflicting', 'drop_leaked'])
    assert quality_report(cleaned).passed
    torch.testing.assert_close(cleaned.x_valid, dirty.x_valid, rtol=0, atol=0)
    assert len(cleaned.x_train) == len(dirty.x_train) - 5 - 6 - 7
    back = log.revert(cleaned)
    torch.testing.assert_close(back.x_train, dirty.x_train, rtol=0, atol=0)
    assert torch.equal(back.y_train, dirty.y_train)


def test_gate_on_sources_refuses_before_returning():
    dirty, splits, _ = inject_problems(TABLES['wine'], 'target', duplicates=3, seed=0)
    from lepton_nb.sources import from_csv
    with pytest.raises(DataQualityError, match='failed its quality gate') as err:
        from_csv(dirty, target='target', gate=QualityGate())
    found = re.findall(r'(duplicates|leaked) = (\d+)', str(err.value))
    assert sum(int(n) for _, n in found) == 3, str(err.value)  # each copy is a duplicate in its split, or a leak when the split put it in test
    assert from_csv(dirty, target='target', gate=QualityGate(max_duplicates=3, max_leaked=3, max_outlier_fraction=1)).n_classes == 3
    data = _mnist_bundle_with_dirt(0, 0, 0, 4)
    with pytest.raises(DataQualityError, match='leaked = 4 > 0'): QualityGate().enforce(data)
    from lepton_nb.data import check_split
    with pytest.raises(DataQualityError, match='duplicates = 1'): check_split('train', torch.ones(3, 2), torch.tensor([0, 0, 1]), 2,
                                                                              gate=QualityGate())

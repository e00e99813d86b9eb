"""Every generated module imports and defines every name its __all__ promises (a notebook edit that moves an
export into a test cell leaves the name in the notebook but not in the package)."""
import importlib
import pkgutil

import pytest

import lepton_nb

MODULES = sorted(m.name.removeprefix('lepton_nb.') for m in pkgutil.walk_packages(lepton_nb.__path__, 'lepton_nb.') if not m.name.rsplit('.', 1)[-1].startswith('_'))


def test_every_notebook_module_is_found():
    assert {'core', 'data', 'models', 'sequence', 'keras', 'keras.layers', 'keras.models', 'keras.training', 'keras.callbacks', 'keras.datasets',
            'hardware', 'metrics', 'display', 'checkpoint', 'events', 'progress', 'learner', 'evaluate', 'tune', 'bench', 'widgets', 'infer', 'serve', 'sources', 'quality', 'store', 'features', 'distributed', 'explain'} <= set(MODULES)


@pytest.mark.parametrize('name', MODULES)
def test_module_defines_its_public_names(name):
    module = importlib.import_module(f'lepton_nb.{name}')
    missing = [n for n in getattr(module, '__all__', []) if not hasattr(module, n)]
    assert not missing, f'lepton_nb.{name} lacks {missing}'
    assert module.__all__, f'lepton_nb.{name} exports nothing'


PUBLIC_API = {  # the contract in DESIGN.md's "Public API", plus the names the tutorials teach
    'data': ['DataBundle', 'load_dataset', 'from_csv', 'from_image_folder', 'split_indices'],
    'quality': ['quality_report', 'QualityGate', 'QualityReport', 'clean', 'ChangeLog', 'DataQualityError', 'plot_quality'],
    'features': ['mutual_information', 'permutation_importance', 'FeatureGate', 'L1Penalty', 'select_features', 'plot_feature_selection'],
    'store': ['to_memmap', 'open_memmap', 'MappedArray', 'LRUCache', 'open_image_folder', 'StoreError'],
    'explain': ['explain', 'saliency', 'input_x_gradient', 'smoothgrad', 'integrated_gradients', 'gradcam', 'occlusion', 'completeness_error', 'overlay', 'plot_attributions', 'class_mean_attribution', 'top_loss_attributions'],
    'distributed': ['launch', 'LaunchError', 'DataParallel', 'ShardedLoader', 'join_group', 'Group', 'shard_bounds', 'all_sum'],
    'sources': ['from_csv', 'from_image_folder', 'split_indices', 'TabularEncoder', 'write_image_folder'], 'models': ['LeptonNN', 'MLP', 'CNN', 'build_model', 'summary', 'receptive_field'],
    'learner': ['Learner'], 'hardware': ['hardware_report', 'supports', 'choose_precision', 'matmul_peak'], 'metrics': ['accuracy', 'precision', 'recall', 'f1_score', 'confusion_matrix', 'classification_report'],
    'evaluate': ['cross_validate', 'roc_auc_score', 'choose_threshold', 'evaluation_card', 'DecisionRule'], 'tune': ['tune'],
    'infer': ['Predictor', 'Prediction', 'Preprocessing', 'PackageError', 'ParityError'], 'serve': ['serve', 'create_app'],
    'bench': ['benchmark_training', 'benchmark_inference', 'compare_accelerations', 'fastest_by_batch'], 'widgets': ['TrainingStudio', 'Playground'],
    'sequence': ['LSTMClassifier', 'TransformerClassifier', 'attention', 'lstm_scratch'],
    'keras': ['Sequential', 'layers', 'Input', 'models', 'datasets', 'utils', 'optimizers', 'callbacks', 'load_image_dataset'],
}


@pytest.mark.parametrize('name', sorted(PUBLIC_API))
def test_public_api_names_exist(name):
    module = importlib.import_module(f'lepton_nb.{name}')
    assert [n for n in PUBLIC_API[name] if not hasattr(module, n)] == []

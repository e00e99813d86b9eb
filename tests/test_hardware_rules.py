"""The machine-dependent rules (precision='auto', the emulated-bf16 warning, labels and targets in benchmarks, per-batch
advice), checked for machines we do not run on by faking what the hardware report says — never by timing."""
import warnings

import pytest
import torch
from hypothesis import given, strategies as st

from lepton_nb import bench, hardware
from lepton_nb.data import DataBundle
from lepton_nb.hardware import choose_precision, hardware_report, supports, use_report
from lepton_nb.learner import Learner
from lepton_nb.models import MLP

G = torch.Generator().manual_seed(0)
X, Y = torch.rand(64, 4, generator=G), torch.arange(64) % 3


def avx2_only():
    "The CPU of the issue: AVX2, no AVX-512, no native bf16, no VNNI."
    return hardware_report().with_features(avx512=False, avx512_bf16=False, amx=False, vnni=False)


def gpu(name, cc, bf16):
    return {'kind': 'cuda', 'index': 0, 'name': name, 'compute_capability': cc, 'bf16_native': bf16, 'fp16_tensor_cores': True, 'tf32': bf16}


@pytest.fixture(scope='module')
def data():
    return DataBundle.from_tensors(X, Y, valid_pct=0.25)


def test_auto_is_fp32_on_an_avx2_cpu_and_bf16_warns_once_with_the_fix(data):
    with use_report(avx2_only()):
        learn = Learner(MLP((4, 8, 3)), data, precision='auto', progress=False)
        assert learn.precision == 'fp32' and 'emulated' in learn.precision_reason and learn.config()['precision'] == 'fp32'
        hardware._WARNED.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            for _ in range(3): Learner(MLP((4, 8, 3)), data, precision='bf16', progress=False)
        said = [str(w.message) for w in caught if 'emulated' in str(w.message)]
        assert len(said) == 1 and "precision='fp32'" in said[0] and "precision='auto'" in said[0]


@pytest.mark.parametrize('features, expected', [({'avx512': True, 'avx512_bf16': True}, 'bf16'), ({'amx': True}, 'bf16'),
                                                ({'vnni': True}, 'fp32'), ({}, 'fp32')])
def test_auto_on_cpus(data, features, expected):
    with use_report(avx2_only().with_features(**features)):
        assert Learner(MLP((4, 8, 3)), data, precision='auto', progress=False).precision == expected
        assert supports('bf16') == (expected == 'bf16')


def test_auto_on_gpus():
    import dataclasses
    for card, expected in ((gpu('Tesla T4', '7.5', False), 'fp16'), (gpu('A100', '8.0', True), 'bf16'), (gpu('H200', '9.0', True), 'bf16')):
        report = dataclasses.replace(avx2_only(), accelerators=[card])
        choice, reason = choose_precision('cuda:0', report)
        assert choice == expected and card['name'] in reason


def test_inference_comparison_labels_bf16_emulated_only_where_it_is():
    x, y = torch.rand(16, 4, generator=G), torch.arange(16) % 3
    def labels():
        out = bench.compare_inference(MLP((4, 8, 3)), x, y, variants=('fp32', 'bf16'), batch_sizes=(1,), repeats=1, warmup=0)
        return out['bf16']['emulated'], out['fp32']['emulated']
    with use_report(avx2_only()): assert labels() == (True, False)
    with use_report(avx2_only().with_features(amx=True)): assert labels() == (False, False)


def test_suite_targets_say_where_they_apply_and_notes_explain_the_numbers():
    values = {'bf16_train_speedup': 0.039, 'int8_acc_drop': 0.1}
    assert bench._target(values, 'bf16_train_speedup', '>=', 1.4, 'native bf16', applies=False)['status'] == 'n/a on this machine'
    assert bench._target(values, 'bf16_train_speedup', '>=', 1.4)['status'] == 'fail'
    assert bench._target(values, 'int8_acc_drop', '<=', 0.5)['status'] == 'pass'
    note = bench._bf16_note(0.039, False, avx2_only())
    assert 'emulated' in note and '26x slower' in note and 'fp32' in note
    assert 'native' in bench._bf16_note(1.7, True, hardware_report())
    int8 = bench._int8_note({1: 1.77, 8: 2.46, 64: 1.30}, native=False)  # the AVX2 measurements
    assert 'least at batch 64' in int8 and 'no VNNI' in int8 and 'near their peak' in int8


latency = st.floats(0.01, 100.0)


@given(st.dictionaries(st.sampled_from(['int8', 'bf16', 'onnx', 'channels_last']),
                       st.tuples(st.floats(0.8, 1.0), latency, latency), max_size=4),
       st.tuples(st.floats(0.8, 1.0), latency, latency))
def test_fastest_by_batch_is_never_slower_than_fp32_nor_less_accurate_than_allowed(others, fp32):
    inference = {name: {'accuracy': acc, 'latency_ms': {1: b1, 64: b64}} for name, (acc, b1, b64) in {'fp32': fp32, **others}.items()}
    for bs, name in bench.fastest_by_batch(inference, max_acc_drop=0.5).items():
        assert inference[name]['latency_ms'][bs] <= inference['fp32']['latency_ms'][bs]
        assert 100 * (inference['fp32']['accuracy'] - inference[name]['accuracy']) <= 0.5


AVX2_ENV = {'ATEN_CPU_CAPABILITY': 'avx2', 'ONEDNN_MAX_CPU_ISA': 'AVX2', 'MKL_ENABLE_INSTRUCTIONS': 'AVX2'}

PROBE = '''
import json, warnings
import torch
from lepton_nb.data import DataBundle
from lepton_nb.hardware import hardware_report, supports
from lepton_nb.learner import Learner
from lepton_nb.models import MLP
data = DataBundle.from_tensors(torch.rand(32, 4), torch.arange(32) % 2)
auto = Learner(MLP((4, 8, 2)), data, precision='auto', progress=False)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    for _ in range(2): Learner(MLP((4, 8, 2)), data, precision='bf16', progress=False)
print(json.dumps({'capability': hardware_report().cpu_capability, 'bf16': supports('bf16'), 'auto': auto.precision,
                  'reason': auto.precision_reason, 'warnings': [str(w.message) for w in caught]}))
'''


def test_a_process_limited_to_avx2_behaves_like_an_avx2_only_cpu():
    "Not faked: PyTorch and oneDNN are told to stop at AVX2 (as on the AVX2-only EPYC of the issue), in a fresh process."
    import json, os, subprocess, sys
    out = subprocess.run([sys.executable, '-c', PROBE], capture_output=True, text=True, env={**os.environ, **AVX2_ENV}, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen['capability'] == 'AVX2' and seen['bf16'] is False and seen['auto'] == 'fp32' and 'emulated' in seen['reason']
    assert len([w for w in seen['warnings'] if 'emulated' in w]) == 1

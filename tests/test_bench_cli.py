"""`python -m lepton_nb.bench` runs offline and writes JSON with the target keys and a PNG report."""
import json
import subprocess
import sys


def test_bench_cli_quick_writes_json_and_png(tmp_path):
    out, png = tmp_path / 'bench.json', tmp_path / 'report.png'
    proc = subprocess.run([sys.executable, '-m', 'lepton_nb.bench', '--task', 'mlp', '--quick', '--json', str(out), '--png', str(png)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    for key in ('int8_latency_speedup', 'int8_acc_drop', 'bf16_train_speedup', 'time_to_accuracy_speedup', 'gemm_peak_share'):
        assert key in result, key
    assert result['int8_latency_speedup'] == min(result['raw']['inference']['int8']['speedup'].values())
    assert result['raw']['data_path']['torchvision_samples_per_s'] > 0 and 'host_to_device' in result['raw']['data_path']
    from lepton_nb.bench import onnx_runtime_available
    if onnx_runtime_available():  # the dev extra installs it: ONNX Runtime joins the inference comparison
        assert result['onnx_latency_speedup'] == min(result['raw']['inference']['onnx']['speedup'].values())
    assert png.read_bytes().startswith(b'\x89PNG')
    assert json.loads(proc.stdout) == result  # the same JSON on stdout


def test_onnx_without_the_extra_names_the_fix(monkeypatch):
    "Asking for ONNX Runtime when it is not installed raises MissingDependency before any work starts."
    import pytest, torch
    from lepton_nb.bench import compare_inference
    from lepton_nb.core import MissingDependency
    from lepton_nb.models import MLP
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)  # import now fails as if the package were absent
    x, y = torch.randn(8, 784), torch.randint(0, 10, (8,))
    with pytest.raises(MissingDependency, match=r"pip install 'lepton_nb\[onnx\]'"):
        compare_inference(MLP((784, 10)), x, y, variants=('fp32', 'onnx'))

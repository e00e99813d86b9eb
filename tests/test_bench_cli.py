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
    assert png.read_bytes().startswith(b'\x89PNG')
    assert json.loads(proc.stdout) == result  # the same JSON on stdout

"""benchmarks/gpu_check.py: its dry run (every section that can run on the CPU, at toy sizes) passes here, and without
CUDA a real run refuses with the fix instead of timing the CPU."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).parents[1] / 'benchmarks' / 'gpu_check.py'


def run(*args, tmp_path):
    env = {**os.environ, 'PYTHONPATH': str(SCRIPT.parents[1]), 'OMP_NUM_THREADS': '1'}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)


def test_dry_run_runs_every_cpu_section_and_skips_the_cuda_ones(tmp_path):
    out = tmp_path / 'gpu.json'
    proc = run('--dry-run', '--json', str(out), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result['dry_run'] and result['failed_sections'] == []
    assert result['device']['hardware']['peaks_gflops']['cpu/float32'] > 0 and result['device']['auto_precision']['choice'] in ('bf16', 'fp32')
    assert 'needs a CUDA device' in result['data_path']['skipped']
    assert 'needs a CUDA device' in result['precision']['fp16']
    assert set(result['precision']) >= {'fp32', 'bf16'} and result['precision']['fp32']['speedup_vs_fp32'] == 1.0
    assert result['get_preds']['outputs_device'] == 'cpu' and result['get_preds']['max_abs_diff_vs_model'] < 1e-3
    assert result['compile']['backend'] == 'eager' and result['compile']['speedup'] > 0
    assert result['loop_overhead']['final_accuracy']['learner'] == pytest.approx(result['loop_overhead']['final_accuracy']['handwritten'],
                                                                                 abs=0.02)


@pytest.mark.skipif(torch.cuda.is_available(), reason='a CUDA device is present: the real run would start')
def test_real_run_without_cuda_refuses_with_the_fix(tmp_path):
    proc = run(tmp_path=tmp_path)
    assert proc.returncode == 2 and 'no CUDA device' in proc.stderr and '--dry-run' in proc.stderr

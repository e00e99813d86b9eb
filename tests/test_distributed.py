"""Data-parallel training on torch.distributed: 2 processes under torchrun, 2 loopback "nodes" and `launch` from a real
Jupyter kernel all end with the weights of one process with the whole batch; a killed run resumes exactly; workers stop."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient

HERE = Path(__file__).parent
WORKER = HERE / 'ddp_worker.py'
TORCHRUN = [sys.executable, '-m', 'torch.distributed.run']
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(HERE.parent)}


def run(cmd: list, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout)


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def result(path: Path) -> dict: return torch.load(path, weights_only=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def single(tmp_path_factory) -> dict:
    "One process, batch 16: the run every distributed run must reproduce."
    folder = tmp_path_factory.mktemp('single')
    ok(run([sys.executable, str(WORKER), 'one.pt', '--bs', '16'], folder))
    return result(folder / 'one.pt')


def assert_same_run(two: dict, one: dict):
    assert two['world_size'] == 2 and one['world_size'] == 1
    for k, v in one['weights'].items(): torch.testing.assert_close(two['weights'][k], v, atol=1e-5, rtol=0)
    # metrics are counts added over the processes' parts (51 + 50 validation samples): exactly equal
    assert {k: v for k, v in two['valid'].items() if k != 'loss'} == {k: v for k, v in one['valid'].items() if k != 'loss'}
    assert two['valid']['loss'] == pytest.approx(one['valid']['loss'], rel=1e-6)
    assert two['history']['train_loss'] == pytest.approx(one['history']['train_loss'], rel=1e-5)
    assert two['history']['accuracy'] == one['history']['accuracy']


def test_two_processes_under_torchrun_equal_one_process_with_the_whole_batch(tmp_path, single):
    out = ok(run([*TORCHRUN, '--standalone', '--nproc-per-node', '2', str(WORKER), 'two.pt', '--bs', '8'], tmp_path))
    assert_same_run(result(tmp_path / 'two.pt'), single)
    assert out.stdout.count('epoch 3 -') == 1, 'progress is printed by rank 0 only'


def test_two_loopback_nodes_with_c10d_rendezvous_equal_one_process(tmp_path, single):
    endpoint = f'127.0.0.1:{free_port()}'
    agents = [subprocess.Popen([*TORCHRUN, '--nnodes', '2', '--nproc-per-node', '1', '--rdzv-backend', 'c10d', '--rdzv-endpoint',
                                endpoint, '--rdzv-id', 'loopback', str(WORKER), 'nodes.pt', '--bs', '8'], cwd=tmp_path, env=ENV,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    logs = [a.communicate(timeout=240)[0] for a in agents]
    assert [a.returncode for a in agents] == [0, 0], '\n'.join(log[-2000:] for log in logs)
    assert_same_run(result(tmp_path / 'nodes.pt'), single)


def test_a_run_killed_mid_epoch_resumes_exactly_with_the_same_world_size(tmp_path):
    two = [*TORCHRUN, '--standalone', '--nproc-per-node', '2', str(WORKER)]
    common = ['--bs', '8', '--dropout', '0.25']  # dropout: each process's own random stream must come back too
    ok(run([*two, 'full.pt', *common, '--ckpt', 'a'], tmp_path))
    killed = run([*two, 'killed.pt', *common, '--ckpt', 'b', '--kill-at', '1,8'], tmp_path)
    assert killed.returncode != 0 and not (tmp_path / 'killed.pt').exists()  # rank 1 died in epoch 2; torchrun ended rank 0
    saved = torch.load(tmp_path / 'b' / 'last.pt', weights_only=True)
    assert saved['position']['epoch'] == 1 and saved['position']['iter'] == 5 and saved['config']['world_size'] == 2
    ok(run([*two, 'resumed.pt', *common, '--ckpt', 'b', '--resume', 'b/last.pt'], tmp_path))
    full, resumed = result(tmp_path / 'full.pt'), result(tmp_path / 'resumed.pt')
    for k, v in full['weights'].items(): assert torch.equal(resumed['weights'][k], v), k
    assert resumed['history']['train_loss'] == full['history']['train_loss']  # the interrupted epoch's loss, summed exactly
    alone = run([sys.executable, str(WORKER), 'alone.pt', *common, '--resume', 'b/last.pt'], tmp_path)
    assert alone.returncode != 0 and 'saved by a run on 2 process(es) and this run has 1' in alone.stderr
    assert 'refused' in alone.stderr and 'resume with 2 process(es)' in alone.stderr


NOTEBOOK = [
    f"import sys\nsys.path.insert(0, {str(HERE)!r})\nimport torch\nfrom torch import nn\n"
    "import lepton_nb.distributed as distributed\nfrom lepton_nb.distributed import LaunchError, launch\n"
    "from lepton_nb.core import set_seed\nfrom lepton_nb.learner import Learner\nfrom lepton_nb.progress import LivePlot\nfrom ddp_worker import data",
    # a model class and a training function that exist only in this notebook
    "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.body = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 3))\n"
    "    def forward(self, x): return self.body(x)\n\n"
    "def train(bs):\n    torch.set_num_threads(1)\n    set_seed(0)\n"
    "    learn = Learner(Net(), data(), bs=bs, lr=0.01, metrics=['accuracy', 'f1'], progress='lines')\n"
    "    learn.fit(3, cbs=[LivePlot(min_interval=0)])\n"
    "    return {'weights': learn.model.state_dict(), 'valid': learn.validate(), 'world_size': learn.world_size,\n"
    "            'history': learn.history.to_dict()}",
    "two = launch(train, nprocs=2, args=(8,), threads=1)\none = train(16)\n"
    "for k, v in one['weights'].items(): torch.testing.assert_close(two['weights'][k], v, atol=1e-5, rtol=0)\n"
    "assert two['world_size'] == 2 and one['world_size'] == 1\n"
    "assert two['valid']['accuracy'] == one['valid']['accuracy'] and two['valid']['f1'] == one['valid']['f1']\n"
    "print('EQUIVALENT', two['valid'])",
    # CUDA initialised in the kernel, faked on a CPU machine
    "distributed.cuda_initialized = lambda: True\n"
    "distributed._cuda_init_site = '  File \"<cell>\", line 1\\n    net = Net().cuda()\\n'\n"
    "try:\n    launch(train, nprocs=2, args=(8,))\n    raise AssertionError('launch started with CUDA initialised')\n"
    "except LaunchError as err:\n    assert 'CUDA is already initialised' in str(err) and 'net = Net().cuda()' in str(err), err\n"
    "    assert 'restart the kernel' in str(err)\n    print('REFUSED')",
]


def test_launch_from_a_real_jupyter_kernel_trains_a_notebook_defined_model_like_one_process(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in NOTEBOOK])
    NotebookClient(nb, timeout=300, kernel_name='python3', resources={'metadata': {'path': str(tmp_path)}}).execute()
    text = [''.join(o.get('text', '') for o in cell.outputs) for cell in nb.cells]
    assert 'EQUIVALENT' in text[2] and 'REFUSED' in text[3]
    assert text[2].count('[rank 0] epoch 3 -') == 1, text[2][-2000:]  # streamed back, with its rank
    assert '[rank 1]' not in text[2], 'progress is printed by rank 0 only'
    images = [o for o in nb.cells[2].outputs if 'image/png' in o.get('data', {})]
    assert len(images) >= 2, 'rank 0 live plot streamed back into the notebook, and the in-kernel run\'s own plot'


LONG_RUN = """import os, sys, time
from lepton_nb.distributed import launch
def work(folder):
    open(os.path.join(folder, f'{os.getpid()}.pid'), 'w').close()
    print('started', flush=True)
    time.sleep(300)
if __name__ == '__main__':
    launch(work, nprocs=2, args=(sys.argv[1],))
"""


def test_interrupting_launch_stops_and_reaps_every_worker(tmp_path):
    script = tmp_path / 'long_run.py'
    script.write_text(LONG_RUN)
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob('*.pid'))) < 2:
        assert time.monotonic() < deadline and parent.poll() is None, parent.communicate()
        time.sleep(0.1)
    pids = [int(p.stem) for p in tmp_path.glob('*.pid')]
    parent.send_signal(signal.SIGINT)  # what Jupyter's "interrupt kernel" sends
    _, err = parent.communicate(timeout=60)
    assert 'KeyboardInterrupt' in err
    for pid in pids:
        with pytest.raises(ProcessLookupError): os.kill(pid, 0)  # gone, and reaped (a zombie would still answer)

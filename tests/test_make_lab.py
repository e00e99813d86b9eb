"""`make lab PORT=N` starts JupyterLab (as root too) and answers GET /api on port N."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def test_make_lab_serves_api_on_requested_port(tmp_path):
    port = free_port()
    env = {**os.environ, **{v: str(tmp_path / v.lower()) for v in
                            ('JUPYTER_CONFIG_DIR', 'JUPYTER_DATA_DIR', 'JUPYTER_RUNTIME_DIR', 'IPYTHONDIR', 'MPLCONFIGDIR')}}
    log = open(tmp_path / 'lab.log', 'w')
    proc = subprocess.Popen(['make', 'lab', f'PORT={port}'], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline, answer = time.time() + 90, None
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}/api', timeout=2) as r: answer = json.loads(r.read())
                break
            except OSError: time.sleep(0.5)
        output = (tmp_path / 'lab.log').read_text()
        assert answer is not None and 'version' in answer, output[-3000:]
        assert f'http://127.0.0.1:{port}/lab' in output
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL)
        log.close()

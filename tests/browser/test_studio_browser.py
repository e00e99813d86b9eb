"""The widget tutorial in a real browser: JupyterLab + Debian's Chromium driven by Playwright.

Runs all cells, moves a slider (the kernel answers: the parameter count changes), clicks Train, waits
for the live curves and the metrics, trains again to see the runs compared, stops a long run with Stop,
and keeps screenshots in test-artifacts/browser/. Then serves the
same notebook with Voila and checks that the studio renders there too.
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / 'nbs' / 'tutorials' / '02_training_studio.ipynb'
ARTIFACTS = ROOT / 'test-artifacts' / 'browser'
CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason='Chromium is not installed (make test installs it with apt as root)')
playwright = pytest.importorskip('playwright.sync_api')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
    "A temporary notebook folder and Jupyter config, so nothing is written into the repository or the home directory."
    tmp = tmp_path_factory.mktemp('browser')
    shutil.copy(NOTEBOOK, tmp / 'studio.ipynb')
    env = {**os.environ, 'MPLBACKEND': 'Agg', **{v: str(tmp / '.jupyter' / v.lower()) for v in
           ('JUPYTER_CONFIG_DIR', 'JUPYTER_DATA_DIR', 'JUPYTER_RUNTIME_DIR', 'IPYTHONDIR', 'MPLCONFIGDIR')}}
    settings = Path(sys.prefix) / 'share' / 'jupyter' / 'lab' / 'settings'
    settings.mkdir(parents=True, exist_ok=True)
    (settings / 'overrides.json').write_text(json.dumps({
        '@jupyterlab/apputils-extension:notification': {'fetchNews': 'false', 'checkForUpdates': False, 'doNotDisturbMode': True},
        '@jupyterlab/docmanager-extension:plugin': {'autosave': False}}))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return tmp, env


def serve(cmd: list[str], env: dict, cwd: Path, url: str, log: Path) -> subprocess.Popen:
    "Start a server and wait until `url` answers."
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=open(log, 'w'), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2); return proc
        except urllib.error.HTTPError: return proc  # it answers (e.g. 403 for an API Voila does not expose): it is up
        except OSError: time.sleep(0.3)
    stop(proc)
    raise AssertionError(f'server did not start: {log.read_text()[-2000:]}')


def svg_of(img) -> str:
    "The SVG text of an <img> whose src is a data: URI (JupyterLab renders image/svg+xml that way)."
    src = img.get_attribute('src') or ''
    header, _, payload = src.partition(',')
    return base64.b64decode(payload).decode() if header.endswith(';base64') else urllib.parse.unquote(payload)


def changed(page, read, before, timeout: float = 30) -> bool:
    "Poll `read(page)` until it differs from `before` (the kernel answered and the front end redrew)."
    deadline = time.time() + timeout
    while time.time() < deadline:
        if read(page) != before: return True
        time.sleep(0.2)
    return False


def images(page) -> list[str]:
    return page.eval_on_selector_all('.widget-output img', 'els => els.map(e => e.src)')


def stop(proc: subprocess.Popen):
    os.killpg(proc.pid, signal.SIGTERM)
    try: proc.wait(timeout=20)
    except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL)


def test_studio_trains_from_the_browser(workdir):
    tmp, env = workdir
    port, token = free_port(), 'lepton-test-token'
    lab = serve([str(BIN / 'jupyter'), 'lab', '--allow-root', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
                 '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={tmp}'],
                env, tmp, f'http://127.0.0.1:{port}/api/status?token={token}', tmp / 'lab.log')
    expect = playwright.expect
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={'width': 1400, 'height': 1000})
            page.goto(f'http://127.0.0.1:{port}/doc/tree/studio.ipynb?reset&token={token}')
            expect(page.get_by_role('button', name=re.compile(r'\| Idle'))).to_be_visible(timeout=60_000)
            page.locator('.lm-MenuBar-itemLabel', has_text=re.compile('^Run$')).click()
            page.locator('.lm-Menu-itemLabel', has_text=re.compile('^Run All Cells$')).click()
            train = page.get_by_role('button', name='Train')
            expect(train).to_be_visible(timeout=90_000)
            info = page.locator('.widget-html', has_text='parameters').first
            expect(info).to_contain_text('55,050', timeout=60_000)  # 784-64-64-10 MLP
            page.screenshot(path=str(ARTIFACTS / '1-studio-ready.png'))

            depth = page.locator('.widget-slider', has_text='depth').first.locator('.noUi-handle')
            depth.focus(); depth.press('ArrowRight')  # depth 2 -> 3: one more 64-unit layer
            expect(info).to_contain_text('59,210', timeout=30_000)

            curves = page.locator('.widget-output img[src^="data:image/svg+xml"]').first  # the live curves
            train.click()
            expect(page.locator('.widget-html', has_text=re.compile('Done')).first).to_be_visible(timeout=120_000)
            expect(curves).to_be_visible(timeout=10_000)
            assert '<polyline' in svg_of(curves)
            expect(page.locator('.widget-html', has_text='accuracy').first).to_be_visible()
            expect(page.locator('.widget-output img[src^="data:image/png"]').first).to_be_visible()  # confusion matrix
            first_run = svg_of(curves)
            curves.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / '2-studio-trained.png'), full_page=True)

            lr = page.locator('.widget-slider', has_text='learning rate').first.locator('.noUi-handle')  # the studio's (first) one
            lr.focus(); lr.press('ArrowLeft')
            train.click()
            expect(page.locator('.widget-html', has_text=re.compile('Training')).first).to_be_visible(timeout=30_000)
            expect(page.locator('.widget-html', has_text=re.compile('Done')).first).to_be_visible(timeout=120_000)
            deadline = time.time() + 30
            while 'run 1' not in svg_of(curves) and time.time() < deadline: time.sleep(0.2)
            assert 'run 1' in svg_of(curves) and svg_of(curves) != first_run  # the first run is overlaid for comparison
            curves.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / '3-studio-second-run.png'), full_page=True)

            for name in ('width', 'epochs'):  # a long run: widest layers, most epochs
                handle = page.locator('.widget-slider', has_text=name).first.locator('.noUi-handle')
                handle.focus(); handle.press('End')
            expect(page.locator('.widget-slider', has_text='epochs').first).to_contain_text('30')
            train.click()
            expect(page.locator('.widget-html', has_text=re.compile('Training')).first).to_be_visible(timeout=30_000)
            page.get_by_role('button', name='Stop').click()  # handled between batches by the kernel's event loop
            expect(page.locator('.widget-html', has_text='(stopped)').first).to_be_visible(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / '3b-studio-stopped.png'), full_page=True)

            # the other widgets: each control reaches the kernel and redraws its picture
            before = images(page)
            page.get_by_role('button', name='Step').click()  # Playground: one epoch
            assert changed(page, images, before), 'the playground did not redraw after Step'
            before = images(page)
            schedule_param = page.locator('.widget-slider', has_text='parameter').first.locator('.noUi-handle')
            schedule_param.focus(); schedule_param.press('ArrowRight')  # ScheduleExplorer
            assert changed(page, images, before), 'the schedule explorer did not redraw'
            before = images(page)
            page.locator('.widget-dropdown', has_text='activation').last.locator('select').select_option('tanh')  # ActivationExplorer
            assert changed(page, images, before), 'the activation explorer did not redraw'
            tuner_text = lambda pg: pg.locator('.widget-html', has_text='precision').last.inner_text()
            before = tuner_text(page)
            threshold = page.locator('.widget-slider', has_text='threshold').first.locator('.noUi-handle')
            threshold.focus(); threshold.press('End')  # ThresholdTuner: tau = 1, nothing predicted positive
            assert changed(page, tuner_text, before), 'the threshold tuner did not update'
            assert 'recall 0.000' in tuner_text(page)
            page.get_by_role('button', name='Best F1').scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / '3c-other-widgets.png'), full_page=True)
            browser.close()
    finally:
        stop(lab)


def test_voila_renders_the_studio(workdir):
    tmp, env = workdir
    port = free_port()
    voila = serve([str(BIN / 'voila'), 'studio.ipynb', '--no-browser', f'--port={port}', '--Voila.ip=127.0.0.1'],
                  env, tmp, f'http://127.0.0.1:{port}/api/kernels', tmp / 'voila.log')
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={'width': 1400, 'height': 1000})
            page.goto(f'http://127.0.0.1:{port}/', timeout=120_000)
            playwright.expect(page.get_by_role('button', name='Train')).to_be_visible(timeout=120_000)
            playwright.expect(page.locator('.widget-html', has_text='parameters').first).to_contain_text('55,050', timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / '4-voila-dashboard.png'), full_page=True)
            browser.close()
    finally:
        stop(voila)


DASHBOARD_CELLS = [
    'from lepton_nb.data import load_dataset\nfrom lepton_nb.learner import Learner\nfrom lepton_nb.models import MLP\n'
    'from lepton_nb.monitor import Dashboard, ResourceMonitor',
    "dash = Dashboard(every=5, min_interval=0.2)\n"
    "learn = Learner(MLP((784, 512, 512, 10)), load_dataset('mnist_sample'), bs=64, progress=False, cbs=[dash, ResourceMonitor()])\n"
    "learn.fit(4)",
    "print('readings', len(dash.usage), {k: round(v, 1) for k, v in learn.history[-1].items() if k.startswith(('cpu_', 'rss'))})",
]


def test_dashboard_shows_cpu_and_memory_in_jupyterlab(workdir):
    "The live Dashboard in a JupyterLab notebook: its SVG holds the CPU-use and memory panels with their series."
    tmp, env = workdir
    cells = [{'cell_type': 'code', 'execution_count': None, 'id': f'c{i}', 'metadata': {}, 'outputs': [], 'source': src}
             for i, src in enumerate(DASHBOARD_CELLS)]
    (tmp / 'dashboard.ipynb').write_text(json.dumps({'cells': cells, 'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'python3',
                                                                                               'language': 'python'}},
                                                     'nbformat': 4, 'nbformat_minor': 5}))
    port, token = free_port(), 'lepton-test-token'
    lab = serve([str(BIN / 'jupyter'), 'lab', '--allow-root', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
                 '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={tmp}'],
                env, tmp, f'http://127.0.0.1:{port}/api/status?token={token}', tmp / 'lab-dashboard.log')
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={'width': 1500, 'height': 900})
            page.goto(f'http://127.0.0.1:{port}/doc/tree/dashboard.ipynb?reset&token={token}')
            playwright.expect(page.get_by_role('button', name=re.compile(r'\| Idle'))).to_be_visible(timeout=60_000)
            page.locator('.lm-MenuBar-itemLabel', has_text=re.compile('^Run$')).click()
            page.locator('.lm-Menu-itemLabel', has_text=re.compile('^Run All Cells$')).click()
            printed = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]', has_text='cpu_process_pct')
            playwright.expect(printed).to_be_visible(timeout=120_000)
            dashboard = page.locator('.jp-OutputArea-output img[src^="data:image/svg+xml"]').first
            playwright.expect(dashboard).to_be_visible(timeout=10_000)
            svg = svg_of(dashboard)
            readings = int(re.search(r'readings (\d+)', printed.inner_text()).group(1))
            assert readings >= 3, f'the dashboard redrew {readings} times: too few to draw a line'
            assert 'CPU / GPU use %' in svg and '>process<' in svg and '>machine<' in svg and '>RSS<' in svg and 'memory MiB' in svg
            assert svg.count('<polyline') >= 8  # loss x2, metrics, lr, throughput, CPU x2, RSS
            dashboard.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / '5-dashboard-resources.png'))
            browser.close()
    finally:
        stop(lab)

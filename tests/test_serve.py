"""The HTTP service over loopback: three calls from a learner to an endpoint that answers like get_preds, access control,
4xx (never 500) for malformed requests, and the command line with several workers."""
import base64
import io
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import torch

pytest.importorskip('fastapi', reason="the serve extra is missing: pip install 'lepton_nb[serve]'")
import httpx  # noqa: E402
from PIL import Image  # noqa: E402

from lepton_nb.data import DataBundle, load_dataset  # noqa: E402
from lepton_nb.evaluate import DecisionRule  # noqa: E402
from lepton_nb.infer import Predictor  # noqa: E402
from lepton_nb.learner import Learner  # noqa: E402
from lepton_nb.models import CNN  # noqa: E402
from lepton_nb.serve import serve  # noqa: E402

TOKEN = 'test-token-0123456789'
AUTH = {'Authorization': f'Bearer {TOKEN}'}


@pytest.fixture(scope='module')
def learn():
    torch.manual_seed(0)
    data = load_dataset('mnist_sample')
    small = DataBundle(data.x_train[:512], data.y_train[:512], data.x_valid[:64], data.y_valid[:64], classes=data.classes,
                       mean=data.mean, std=data.std, name='mnist_small')
    learn = Learner(CNN((8, 16)), small, bs=64, progress=False, metrics=['accuracy'])
    learn.fit(1)
    return learn


@pytest.fixture(scope='module')
def service(learn, tmp_path_factory):
    "The three calls: from_learner, save, serve (from the package folder, as a deployment would)."
    package = Predictor.from_learner(learn, rule=DecisionRule(learn.data.classes, abstain_below=0.2)).save(
        tmp_path_factory.mktemp('serve') / 'pkg')
    with serve(package, token=TOKEN, max_samples=64, max_body_bytes=2**20) as handle:
        yield handle
    assert not handle.running


RAW = torch.randint(0, 256, (7, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))


def _png(img: torch.Tensor) -> str:
    buf = io.BytesIO()
    Image.fromarray(img.numpy()).save(buf, format='PNG')
    return base64.b64encode(buf.getvalue()).decode()


def test_the_endpoint_answers_like_get_preds(service, learn):
    r = httpx.post(f'{service.url}/predict', json={'inputs': RAW.tolist()}, headers=AUTH)
    assert r.status_code == 200, r.text
    body, ref = r.json(), learn.get_preds(RAW, with_decoded=True)
    torch.testing.assert_close(torch.tensor(body['probs']), ref.outputs, rtol=0, atol=1e-6)
    confident = ref.outputs.max(1).values >= 0.2
    assert body['abstained'] == (~confident).tolist()
    assert body['labels'] == torch.where(confident, ref.decoded, -1).tolist()
    assert body['classes'] == [learn.data.classes[i] if i >= 0 else None for i in body['labels']]
    one = httpx.post(f'{service.url}/predict', json={'inputs': RAW[0].tolist()}, headers=AUTH).json()  # one sample, no batch axis
    assert one['labels'] == body['labels'][:1]
    images = httpx.post(f'{service.url}/predict', json={'images': [_png(x) for x in RAW]}, headers=AUTH).json()
    assert images['labels'] == body['labels']


ENDPOINTS = [('GET', '/metadata'), ('GET', '/openapi.json'), ('GET', '/docs'), ('POST', '/predict')]


@pytest.mark.parametrize('method, path', ENDPOINTS)
def test_every_endpoint_but_health_needs_the_token(service, method, path):
    body = {'json': {'inputs': RAW[:1].tolist()}} if method == 'POST' else {}
    for headers in ({}, {'Authorization': 'Bearer wrong'}, {'Authorization': TOKEN}, {'Authorization': f'Basic {TOKEN}'}):
        r = httpx.request(method, f'{service.url}{path}', headers=headers, **body)
        assert r.status_code == 401 and r.headers['www-authenticate'] == 'Bearer', (headers, r.status_code)
    assert httpx.request(method, f'{service.url}{path}', headers=AUTH, **body).status_code == 200
    assert httpx.get(f'{service.url}/health').json() == {'status': 'ok'}


def test_the_listening_socket_disables_nagle(service):
    "Without TCP_NODELAY a kept-alive client waits ~40 ms per request for a delayed ACK (measured: 44 ms vs 1.5 ms for /health)."
    listening = service.server.servers[0].sockets[0]
    assert listening.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_metadata_is_the_manifest(service):
    meta = httpx.get(f'{service.url}/metadata', headers=AUTH).json()
    assert meta['format'] == 'lepton_nb.package' and meta['architecture']['class'] == 'CNN' and meta['rule']['abstain_below'] == 0.2


@pytest.mark.parametrize('host', ['0.0.0.0', '::', '192.0.2.1'])
def test_a_network_bind_without_a_token_is_refused(learn, host, monkeypatch):
    monkeypatch.delenv('LEPTON_SERVE_TOKEN', raising=False)
    with pytest.raises(ValueError, match=f'host={host!r}.*no token'):
        serve(Predictor.from_learner(learn), host=host)


def _json(body) -> dict: return {'content': json.dumps(body).encode(), 'headers': {**AUTH, 'Content-Type': 'application/json'}}


PIXELS = RAW[0].tolist()
MALFORMED = {  # name: (request kwargs, expected status, a word the message must contain)
    'text content type': ({'content': b'{"inputs": [1]}', 'headers': {**AUTH, 'Content-Type': 'text/plain'}}, 415, 'Content-Type'),
    'form encoded': ({'data': {'inputs': '1'}, 'headers': AUTH}, 415, 'application/json'),
    'no content type': ({'content': b'{"inputs": [1]}', 'headers': AUTH}, 415, 'Content-Type'),
    'not json': ({'content': b'{"inputs": [1,', 'headers': {**AUTH, 'Content-Type': 'application/json'}}, 400, 'JSON'),
    'json list': (_json([PIXELS]), 422, '"inputs" or "images"'),
    'no field': (_json({}), 422, '"inputs" or "images"'),
    'both fields': (_json({'inputs': [PIXELS], 'images': []}), 422, 'exactly one'),
    'unknown field': (_json({'inputs': [PIXELS], 'extra': 1}), 422, 'extra'),
    'string inputs': (_json({'inputs': 'hello'}), 422, '"inputs"'),
    'boolean inputs': (_json({'inputs': [[[True] * 28] * 28]}), 422, '"inputs"'),
    'ragged inputs': (_json({'inputs': [[1, 2], [3]]}), 422, 'rectangular'),
    'empty inputs': (_json({'inputs': []}), 422, 'empty'),
    'wrong shape': (_json({'inputs': [[1.0] * 27] * 28}), 422, 'inputs.shape'),
    'nan': (_json({'inputs': [[float('nan')] + [0.5] * 27] * 28}), 422, 'NaN'),  # json.dumps writes the NaN literal
    'infinity': ({'content': ('{"inputs": [' + ', '.join(['Infinity'] * 784) + ']}').encode(),
                  'headers': {**AUTH, 'Content-Type': 'application/json'}}, 422, 'inputs'),
    'pixel out of range': (_json({'inputs': [[300] * 28] * 28}), 422, '0..255'),
    'too many samples': (_json({'inputs': [[[0] * 28] * 28] * 65}), 413, 'at most 64'),
    'huge body': ({'content': b'{"inputs": [' + b'0, ' * 400_000 + b'0]}', 'headers': {**AUTH, 'Content-Type': 'application/json'}},
                  413, 'bytes'),
    'images not a list': (_json({'images': 'abc'}), 422, '"images"'),
    'bad base64': (_json({'images': ['%%%not base64%%%']}), 422, 'base64'),
    'not an image': (_json({'images': [base64.b64encode(b'just some bytes').decode()]}), 422, 'image'),
    'nested objects': (_json({'inputs': [{'a': 1}]}), 422, '"inputs"'),
}


@pytest.mark.parametrize('name', list(MALFORMED))
def test_malformed_requests_get_a_clear_4xx_and_the_server_stays_up(service, name):
    kwargs, status, word = MALFORMED[name]
    r = httpx.post(f'{service.url}/predict', **kwargs)
    assert r.status_code == status, (r.status_code, r.text)
    assert word.lower() in r.json()['detail'].lower(), r.json()['detail']
    good = httpx.post(f'{service.url}/predict', json={'inputs': RAW[:2].tolist()}, headers=AUTH)
    assert good.status_code == 200 and len(good.json()['labels']) == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_the_command_line_serves_with_workers_and_logs_each_request(learn, tmp_path):
    package = Predictor.from_learner(learn).save(tmp_path / 'pkg')
    port = _free_port()
    env = {**os.environ, 'LEPTON_SERVE_TOKEN': TOKEN}
    proc = subprocess.Popen([sys.executable, '-m', 'lepton_nb.serve', str(package), '--port', str(port), '--workers', '2'],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f'http://127.0.0.1:{port}/health').status_code == 200: break
            except httpx.TransportError: pass
            assert proc.poll() is None and time.monotonic() < deadline, 'the service did not start'
            time.sleep(0.2)
        answers = [httpx.post(f'http://127.0.0.1:{port}/predict', json={'inputs': RAW.tolist()}, headers=AUTH) for _ in range(6)]
        assert all(a.status_code == 200 for a in answers)
        assert httpx.post(f'http://127.0.0.1:{port}/predict', json={'inputs': RAW.tolist()}).status_code == 401
    finally:
        proc.terminate()
        out = proc.communicate(timeout=60)[0]
    access = [line for line in out.splitlines() if 'POST /predict' in line]
    assert len(access) == 7 and sum(' 200 ' in line for line in access) == 6 and all('batch=' in line for line in access), out
    assert not any('[[' in line for line in access)  # never the payload


def test_the_command_line_refuses_a_network_bind_without_a_token(learn, tmp_path):
    package = Predictor.from_learner(learn).save(tmp_path / 'pkg')
    env = {k: v for k, v in os.environ.items() if k != 'LEPTON_SERVE_TOKEN'}
    out = subprocess.run([sys.executable, '-m', 'lepton_nb.serve', str(package), '--host', '0.0.0.0'], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and 'no token' in out.stderr

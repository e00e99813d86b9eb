"""Load on the HTTP service against in-process `Predictor.predict`, in one run.

Model: the design's 784-100-100-10 MLP (LeptonNN) trained 1 epoch on the bundled MNIST sample, packaged with
`Predictor.save` and served by `python -m lepton_nb.serve PKG` (a separate process, 1 uvicorn worker unless --workers,
a bearer token set, access lines logged) on loopback. The client (httpx, asyncio) sends `--requests` requests of one
raw 28x28 image each ({"inputs": ...}) at each concurrency level (1, 8, 32), then stops: requests/s, p50/p95/p99 latency
and errors (anything but 200 counts). Baseline in the same run: `Predictor.predict` on one image in this process
(samples/s); the ratio is the service's requests/s over it. A last level sends batches of 32 images at concurrency 8.
Prints one JSON object.

    python benchmarks/serve_load.py [--requests 2000] [--workers 1] [--json out.json]
"""
from __future__ import annotations
import argparse, asyncio, os, socket, subprocess, sys, tempfile, time
from pathlib import Path

import httpx
import torch

from _common import emit, machine_info
from lepton_nb.core import set_seed
from lepton_nb.data import load_dataset
from lepton_nb.infer import Predictor
from lepton_nb.learner import Learner
from lepton_nb.models import LeptonNN
from lepton_nb.bench import percentiles

TOKEN = 'benchmark-token'


def packaged_mlp(folder: Path) -> tuple[Predictor, Path]:
    set_seed(0)
    learn = Learner(LeptonNN(), load_dataset('mnist_sample'), progress=False)
    learn.fit(1)
    predictor = Predictor.from_learner(learn)
    return predictor, predictor.save(folder / 'mlp')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_service(package: Path, port: int, workers: int, log) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, '-m', 'lepton_nb.serve', str(package), '--port', str(port), '--workers', str(workers)],
                            env={**os.environ, 'LEPTON_SERVE_TOKEN': TOKEN}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f'http://127.0.0.1:{port}/health').status_code == 200: return proc
        except httpx.TransportError: time.sleep(0.2)
    proc.kill()
    raise RuntimeError('the service did not start')


async def load(url: str, bodies: list[dict], concurrency: int) -> dict:
    "Send every body with at most `concurrency` in flight; latency per request, errors, requests/s."
    latencies, errors, queue = [], 0, iter(bodies)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60, headers={'Authorization': f'Bearer {TOKEN}'}) as client:
        async def worker():
            nonlocal errors
            for body in queue:
                start = time.perf_counter()
                try: ok = (await client.post(url, json=body)).status_code == 200
                except httpx.HTTPError: ok = False
                latencies.append(1000 * (time.perf_counter() - start))
                errors += not ok
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    p = percentiles(latencies, (50, 95, 99))
    return {'concurrency': concurrency, 'requests': len(bodies), 'errors': errors, 'requests_per_s': len(bodies) / wall,
            'p50_ms': p['p50'], 'p95_ms': p['p95'], 'p99_ms': p['p99']}


def in_process(predictor: Predictor, images: torch.Tensor, n: int) -> float:
    "Predictor.predict on one raw image at a time: samples/s."
    for img in images[:20]: predictor.predict(img)  # warm-up
    start = time.perf_counter()
    for i in range(n): predictor.predict(images[i % len(images)])
    return n / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--requests', type=int, default=2000, help='requests per concurrency level')
    parser.add_argument('--workers', type=int, default=1, help='uvicorn worker processes')
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)  # the client's process: the service owns the cores it needs
    images = torch.randint(0, 256, (256, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    bodies = [{'inputs': images[i % len(images)].tolist()} for i in range(args.requests)]
    batches = [{'inputs': images[(32 * i) % 224:(32 * i) % 224 + 32].tolist()} for i in range(max(1, args.requests // 8))]
    with tempfile.TemporaryDirectory() as tmp:
        predictor, package = packaged_mlp(Path(tmp))
        port, log_path = free_port(), Path(tmp) / 'service.log'
        with open(log_path, 'w') as log:
            proc = start_service(package, port, args.workers, log)
            try:
                url = f'http://127.0.0.1:{port}/predict'
                asyncio.run(load(url, bodies[:100], 4))  # warm-up
                levels = [asyncio.run(load(url, bodies, c)) for c in (1, 8, 32)]
                batched = asyncio.run(load(url, batches, 8))
            finally:
                proc.terminate()
                proc.wait(60)
        access_lines = sum(' /predict ' in line for line in log_path.read_text().splitlines())
    baseline = in_process(predictor, images, min(args.requests, 2000))
    for level in levels: level['ratio_to_in_process'] = level['requests_per_s'] / baseline
    batched['samples_per_s'] = batched['requests_per_s'] * 32
    emit({'benchmark': 'serve_load', 'machine': machine_info(), 'model': 'LeptonNN 784-100-100-10', 'workers': args.workers,
          'in_process_samples_per_s': baseline, 'levels': levels, 'batched_32': batched,
          'total_errors': sum(level['errors'] for level in levels) + batched['errors'], 'access_log_lines': access_lines},
         args.json)


if __name__ == '__main__':
    main()

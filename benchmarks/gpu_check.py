"""GPU check: the CUDA paths no CPU run exercises, measured on one CUDA device in a few minutes; one JSON object.

Sections (each timed against a baseline in the same run, each independent: one that fails is reported and the rest go on):
  device         the hardware report (CPU, GPUs, measured matmul peaks per dtype), the precision 'auto' picks
  precision      Learner training in fp32, bf16 (autocast) and fp16 (autocast + GradScaler) on a ResNet-ish CNN:
                 samples/s, loss after a short run, the GradScaler's scale, CUDA memory statistics
  channels_last  bf16 with and without channels-last memory order
  compile        torch.compile (inductor) of the model vs eager: compile seconds and steady-state speed-up
  data_path      pinned vs pageable host->device copies; an epoch with the data on the host vs on the GPU
  get_preds      Learner.get_preds on the GPU equals the model's own outputs; outputs come back on the CPU
  loop_overhead  Learner.fit vs a hand-written loop on the same GPU (same MLP, data, optimizer), interleaved
  cifar          a CIFAR-10-sized run (50,000 synthetic 3x32x32 images, 10 classes): one epoch, bf16 + channels-last
  resources      ResourceMonitor and the Dashboard's CPU/GPU panels (GPU utilisation through NVML where it answers)
  tune_resources Learner.tune_resources from fp32, batch 128, data on the host: what it picks on a GPU

    python benchmarks/gpu_check.py [--dry-run] [--json out.json]

`--dry-run` (what `make test` runs, on a machine without CUDA) runs every section that can run on the CPU at toy
sizes, so the script itself is tested, and skips the CUDA-only ones with the reason; it exits non-zero if any section
that ran failed.
"""
from __future__ import annotations
import argparse, json, math, statistics, sys, time, traceback, warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from _common import emit, machine_info
from lepton_nb.bench import ChannelsLast, _pinned_copy, benchmark_training, interleave
from lepton_nb.core import eval_mode, set_seed
from lepton_nb.data import DataBundle
from lepton_nb.hardware import choose_precision, hardware_report
from lepton_nb.learner import Learner
from lepton_nb.models import MLP
from lepton_nb.monitor import Dashboard, ResourceMonitor

# Sizes: full (a CUDA device) and toy (--dry-run on the CPU). Units: samples, steps, epochs.
FULL = dict(n_images=50_000, n_small=8_000, bs=512, steps=30, warmup=5, repeats=3, loop_epochs=3, width=64)
TOY = dict(n_images=600, n_small=600, bs=64, steps=3, warmup=1, repeats=1, loop_epochs=1, width=8)


class Residual(nn.Module):
    "x + conv-bn-relu(conv-bn-relu(x)): the ResNet block, same channels in and out."
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(channels, channels), *conv_bn(channels, channels))
    def forward(self, x): return x + self.body(x)


def conv_bn(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def resnetish(width: int = 64, n_classes: int = 10) -> nn.Module:
    "A small ResNet for 3x32x32 inputs (the shape of CIFAR-10): stem, three stages with pooling and a residual block each."
    w = width
    return nn.Sequential(*conv_bn(3, w),
                         *conv_bn(w, 2 * w), nn.MaxPool2d(2), Residual(2 * w),  # (B, 2w, 16, 16)
                         *conv_bn(2 * w, 4 * w), nn.MaxPool2d(2),  # (B, 4w, 8, 8)
                         *conv_bn(4 * w, 8 * w), nn.MaxPool2d(2), Residual(8 * w),  # (B, 8w, 4, 4)
                         nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8 * w, n_classes))


def synthetic_images(n: int, shape=(3, 32, 32), n_classes: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    "n learnable images: a smooth random template per class, shifted by 0 or 4 px each way, under noise. (n, *shape), (n,)."
    g = torch.Generator().manual_seed(seed)
    templates = F.interpolate(torch.randn(n_classes, shape[0], 8, 8, generator=g), size=shape[1:], mode='bilinear')
    y = torch.randint(0, n_classes, (n,), generator=g)
    shift = torch.randint(0, 9, (n,), generator=g)  # one of the 9 offsets (dy, dx) in {-4, 0, 4}^2
    x = templates[y]
    for s in range(9):
        x[shift == s] = torch.roll(x[shift == s], (4 * (s // 3 - 1), 4 * (s % 3 - 1)), dims=(2, 3))
    return x + 0.8 * torch.randn(x.shape, generator=g), y


def _learn(model_fn, data, cfg, **kw) -> Learner:
    set_seed(0)
    return Learner(model_fn(), data, bs=cfg['bs'], progress=False, lr=2e-3, **kw)


def _training_speed(variants: dict, data, cfg, model_fn) -> dict:
    "Samples/s of each variant (name -> Learner kwargs), interleaved; medians."
    runs = interleave({v: (lambda kw=kw: benchmark_training(_learn(model_fn, data, cfg, **kw), steps=cfg['steps'], warmup=cfg['warmup']))
                       for v, kw in variants.items()}, repeats=cfg['repeats'], warmup=0)
    return {v: {'samples_per_s': statistics.median(r['samples_per_s'] for r in rs),
                'peak_memory_mib': max(r['peak_memory_mib'] for r in rs)} for v, rs in runs.items()}


def section_device(device: torch.device, cfg) -> dict:
    "What the machine is (lepton_nb.hardware, with measured matmul peaks) and the precision 'auto' picks on this device."
    report = hardware_report(peaks=True)
    out = {'torch': torch.__version__, 'cuda_runtime': torch.version.cuda, 'device': str(device), 'hardware': report.to_dict(),
           'auto_precision': dict(zip(('choice', 'reason'), choose_precision(device)))}
    if device.type == 'cuda':
        p = torch.cuda.get_device_properties(device)
        out.update(name=p.name, compute_capability=f'{p.major}.{p.minor}', memory_gib=p.total_memory / 2**30,
                   multiprocessors=p.multi_processor_count, bf16_supported=torch.cuda.is_bf16_supported(),
                   tf32_matmul=torch.backends.cuda.matmul.allow_tf32, cudnn=torch.backends.cudnn.version())
    return out


def section_precision(device, cfg, data) -> dict:
    "fp32 vs bf16 vs fp16 + GradScaler through the Learner: speed, loss after a short fit, scaler state, memory."
    names = ['fp32', 'bf16'] + (['fp16'] if device.type == 'cuda' else [])
    model_fn = lambda: resnetish(cfg['width'])
    speed = _training_speed({p: {'precision': p} for p in names}, data, cfg, model_fn)
    out = {}
    for p in names:
        learn = _learn(model_fn, data, cfg, precision=p)
        if device.type == 'cuda': torch.cuda.reset_peak_memory_stats(device)
        learn.fit(1)
        rec = learn.history[-1]
        out[p] = {**speed[p], 'speedup_vs_fp32': speed[p]['samples_per_s'] / speed['fp32']['samples_per_s'],
                  'train_loss': rec['train_loss'], 'valid_accuracy': rec['accuracy']}
        if learn.amp.scaler is not None: out[p]['grad_scaler'] = {'scale': learn.amp.scaler.get_scale(), 'state_keys': sorted(learn.amp.state_dict())}
        if device.type == 'cuda':
            out[p]['cuda_memory'] = {'max_allocated_mib': torch.cuda.max_memory_allocated(device) / 2**20,
                                     'reserved_mib': torch.cuda.memory_reserved(device) / 2**20,
                                     'num_alloc_retries': torch.cuda.memory_stats(device).get('num_alloc_retries', 0)}
        assert math.isfinite(rec['train_loss']), f'{p}: training loss is {rec["train_loss"]}'
    if 'fp16' not in out: out['fp16'] = 'skipped: fp16 + GradScaler needs a CUDA device'
    return out


def section_channels_last(device, cfg, data) -> dict:
    model_fn = lambda: resnetish(cfg['width'])
    speed = _training_speed({'bf16': {'precision': 'bf16'}, 'bf16+channels_last': {'precision': 'bf16', 'cbs': [ChannelsLast()]}},
                            data, cfg, model_fn)
    return {**speed, 'speedup': speed['bf16+channels_last']['samples_per_s'] / speed['bf16']['samples_per_s']}


def section_compile(device, cfg, data) -> dict:
    "Inductor compile of the model vs eager: the first epoch holds the compile; steady state compared interleaved."
    model_fn = lambda: resnetish(cfg['width'])
    precision = 'bf16' if device.type == 'cuda' else 'fp32'
    backend = True if device.type == 'cuda' else 'eager'  # the dry run checks the plumbing, not inductor's minutes on 2 cores
    torch._dynamo.utils.counters.clear()
    learn = _learn(model_fn, data, cfg, precision=precision, compile=backend)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        start = time.perf_counter()
        learn.prepare()
        compile_s = time.perf_counter() - start
    fell_back = any('torch.compile failed' in str(w.message) for w in caught)
    if fell_back: return {'error': 'torch.compile fell back to eager: ' + '; '.join(str(w.message) for w in caught)}
    speed = _training_speed({'eager': {'precision': precision}, 'compiled': {'precision': precision, 'compile': backend}}, data, cfg,
                            model_fn)
    return {'precision': precision, 'backend': 'inductor' if backend is True else backend, 'first_compile_seconds': compile_s, **speed,
            'speedup': speed['compiled']['samples_per_s'] / speed['eager']['samples_per_s'],
            'dynamo_stats': dict(torch._dynamo.utils.counters['stats'])}


def section_data_path(device, cfg, data) -> dict:
    if device.type != 'cuda': return {'skipped': 'needs a CUDA device: pinned vs pageable copies, GPU-resident data'}
    copies = {bs: _pinned_copy(data.x_train, bs, device, repeats=10) for bs in (64, cfg['bs'], 4 * cfg['bs'])}
    on_gpu = DataBundle.from_tensors(data.x_train.to(device), data.y_train.to(device), valid_pct=0.0, normalize=False, name='on gpu')
    on_host = DataBundle.from_tensors(data.x_train, data.y_train, valid_pct=0.0, normalize=False, name='on host')
    model_fn = lambda: resnetish(cfg['width'])
    speed = {'host': _training_speed({'bf16': {'precision': 'bf16'}}, on_host, cfg, model_fn)['bf16'],
             'gpu': _training_speed({'bf16': {'precision': 'bf16'}}, on_gpu, cfg, model_fn)['bf16']}
    return {'copy_ms_by_batch': copies, 'training_data_on': speed,
            'gpu_resident_speedup': speed['gpu']['samples_per_s'] / speed['host']['samples_per_s']}


def section_get_preds(device, cfg, data) -> dict:
    learn = _learn(lambda: resnetish(cfg['width']), data, cfg, precision='fp32')
    learn.fit(1)
    start = time.perf_counter()
    preds = learn.get_preds('valid', activation=False, with_loss=True, with_decoded=True)
    seconds = time.perf_counter() - start
    with eval_mode(learn.model), torch.no_grad():  # a hand-written pass over the same batches, as the reference
        ref = torch.cat([learn.model(xb.to(device)) for xb in data.x_valid.split(2 * cfg['bs'])]).float().cpu()
    err = float((preds.outputs - ref).abs().max())
    assert preds.outputs.device.type == 'cpu' and preds.losses.shape == (len(data.x_valid),)
    assert err < 1e-3, f'get_preds differs from the model by {err}'
    return {'samples': len(preds.outputs), 'seconds': seconds, 'max_abs_diff_vs_model': err, 'outputs_device': str(preds.outputs.device),
            'accuracy': float((preds.decoded == preds.targets).float().mean())}


def handwritten_mlp(data: DataBundle, device, epochs: int, bs: int) -> float:
    "The loop a practitioner writes by hand on the GPU: data on the device, AdamW, validation accuracy each epoch."
    set_seed(0)
    model = MLP((784, 512, 512, 10)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    x, y, xv, yv = (t.to(device) for t in (data.x_train, data.y_train, data.x_valid, data.y_valid))
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), device=device)
        for i in range(0, len(x), bs):
            idx = perm[i:i + bs]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        model.eval()
        with torch.no_grad(): acc = float((torch.cat([model(xb) for xb in xv.split(2 * bs)]).argmax(1) == yv).float().mean())
    return acc


def learner_mlp(data: DataBundle, device, epochs: int, bs: int) -> float:
    set_seed(0)
    learn = Learner(MLP((784, 512, 512, 10)), data, bs=bs, lr=1e-3, progress=False, device=device)
    learn.fit(epochs)
    return learn.history['accuracy'][-1]


def section_loop_overhead(device, cfg, _data) -> dict:
    x, y = synthetic_images(cfg['n_small'], shape=(1, 28, 28), seed=1)
    on_device = DataBundle.from_tensors(x.flatten(1).to(device), y.to(device), valid_pct=0.1, name='mnist-shaped synthetic')
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == 'cuda' else (lambda: None)
    def timed(fn):
        def once():
            sync()
            start = time.perf_counter()
            once.accuracy = fn(on_device, device, cfg['loop_epochs'], 256)
            sync()
            return time.perf_counter() - start
        return once
    fns = {'handwritten': timed(handwritten_mlp), 'learner': timed(learner_mlp)}
    times = interleave(fns, repeats=max(3, cfg['repeats']), warmup=1)
    ratios = [b / a for a, b in zip(times['handwritten'], times['learner'])]
    return {'overhead_ratio': statistics.median(ratios), 'ratios': ratios, 'median_seconds': {k: statistics.median(v) for k, v in times.items()},
            'final_accuracy': {k: fn.accuracy for k, fn in fns.items()}, 'epochs': cfg['loop_epochs'], 'batch_size': 256,
            'target': '<= 1.10'}


def section_cifar(device, cfg, data) -> dict:
    "One epoch on all the CIFAR-sized images, bf16 + channels-last; samples/s of the whole epoch, validation included."
    kw = {'precision': 'bf16', 'cbs': [ChannelsLast()]}
    learn = _learn(lambda: resnetish(cfg['width']), data, cfg, **kw)
    learn.fit(1)  # warm-up epoch: cuDNN autotuning and allocator growth
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == 'cuda' else (lambda: None)
    sync()
    start = time.perf_counter()
    learn.fit(2)
    sync()
    seconds = (time.perf_counter() - start) / 2
    return {'train_images': len(data.x_train), 'epoch_seconds': seconds, 'samples_per_s': len(data.x_train) / seconds,
            'valid_accuracy_after_3_epochs': learn.history['accuracy'][-1], 'model_parameters': sum(p.numel() for p in learn.model.parameters()),
            'config': {'batch_size': cfg['bs'], 'width': cfg['width'], 'precision': 'bf16', 'channels_last': True}}


def section_resources(device, cfg, data) -> dict:
    "ResourceMonitor and the Dashboard's resource panels on this device: GPU utilisation and memory where NVML answers."
    dash, res = Dashboard(every=5, min_interval=0.0), ResourceMonitor(interval=0.05)
    learn = _learn(lambda: resnetish(cfg['width']), data, cfg, precision='bf16', cbs=[dash, res])
    learn.fit(1)
    rec = learn.history[-1]
    keys = [k for k in rec if k.startswith(('cpu_', 'gpu_', 'rss_'))]
    assert {'cpu_process_pct', 'rss_peak_mib'} <= set(keys) and 'CPU / GPU use %' in dash.svg
    if device.type == 'cuda': assert 'gpu_mem_peak_mib' in rec, 'no GPU memory reading'
    return {'record': {k: rec[k] for k in keys}, 'nvml': res.sampler.gpu is not None, 'dashboard_readings': len(dash.usage),
            'gpu_in_dashboard': '>GPU<' in dash.svg}


def section_tune_resources(device, cfg, data) -> dict:
    "Learner.tune_resources from the CIFAR-sized defaults a user would start with (fp32, batch 128, data on the host)."
    learn = _learn(lambda: resnetish(cfg['width']), data, {**cfg, 'bs': 128 if device.type == 'cuda' else 16}, precision='fp32')
    start = time.perf_counter()
    plan = learn.tune_resources(threads=[torch.get_num_threads()], steps=cfg['steps'] // 3 or 1, repeats=max(1, cfg['repeats'] - 1), apply=False)
    return {'before': plan.before, 'chosen': plan.choices, 'speedup': plan.speedup, 'accuracy': plan.accuracy, 'notes': plan.notes,
            'rows': plan.rows, 'seconds': time.perf_counter() - start}


SECTIONS = {'precision': section_precision, 'channels_last': section_channels_last, 'data_path': section_data_path,
            'get_preds': section_get_preds, 'loop_overhead': section_loop_overhead, 'cifar': section_cifar,
            'resources': section_resources, 'tune_resources': section_tune_resources,
            'compile': section_compile}  # compile last: the slowest to start, and a time-out there loses nothing else


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dry-run', action='store_true', help='toy sizes; CUDA-only sections skipped (for machines without CUDA)')
    parser.add_argument('--json', type=Path, default=None, help='also write the result here')
    parser.add_argument('--only', nargs='*', default=None, help=f'run only these sections: {" ".join(SECTIONS)}')
    args = parser.parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        print('gpu_check: no CUDA device here. Fix: run it on a machine with one, or pass --dry-run to check the script on the CPU.',
              file=sys.stderr)
        return 2
    device = torch.device('cuda' if torch.cuda.is_available() and not args.dry_run else 'cpu')
    cfg = TOY if args.dry_run else FULL
    if args.dry_run: torch.set_num_threads(1)  # make test runs two jobs per 2 cores
    if device.type == 'cuda': torch.backends.cudnn.benchmark = True
    started = time.perf_counter()
    result = {'benchmark': 'gpu_check', 'dry_run': args.dry_run, 'machine': machine_info(), 'config': cfg,
              'device': section_device(device, cfg)}
    x, y = synthetic_images(cfg['n_images'])
    data = DataBundle.from_tensors(x, y, valid_pct=0.1, name='cifar-sized synthetic')
    failed = []
    for name, fn in SECTIONS.items():
        if args.only is not None and name not in args.only: continue
        start = time.perf_counter()
        try: result[name] = fn(device, cfg, data)
        except Exception as err:
            result[name] = {'error': f'{type(err).__name__}: {err}', 'traceback': traceback.format_exc(limit=6)}
        if 'error' in result[name]: failed.append(name)
        result[name + '_seconds'] = time.perf_counter() - start
        print(f'gpu_check: {name} done in {result[name + "_seconds"]:.1f} s', file=sys.stderr, flush=True)
        if args.json: args.json.write_text(json.dumps(result, indent=2, default=str) + '\n')  # what is done survives a time-out
    result['failed_sections'], result['total_seconds'] = failed, time.perf_counter() - started
    emit(result, args.json)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

"""Compiled training steps on the CPU against the hand-written eager loop, same model, data, optimizer and order.

For the small MLP (LeptonNN 784-100-100-10: overhead-bound), the wide MLP (784-1024-1024-10) and the CNN, at batch 256:
  eager          the hand-written loop: forward, cross-entropy, backward, AdamW step (PyTorch's default for-loop AdamW)
  eager_fused    the same with AdamW(fused=True) (one kernel per step for the whole update)
  step_compiled  torch.compile (inductor) of the whole step function: forward, backward and the optimizer step
  model_compiled torch.compile of the model only (what Learner(compile=True) does), optimizer eager
Reported per variant: first-call (compile) seconds, steady ms/step (median of interleaved rounds), speed-up over eager,
graphs compiled and recompiles (the last, smaller batch of an epoch makes dynamo compile again), and the validation
accuracy after the same epochs from the same initial weights.

    python benchmarks/compiled_step.py [--models small wide cnn] [--epochs 2] [--repeats 3] [--json out.json]
"""
from __future__ import annotations
import argparse, statistics, time

import torch
import torch.nn.functional as F

from _common import emit, machine_info
from lepton_nb.bench import interleave
from lepton_nb.core import eval_mode
from lepton_nb.data import load_dataset
from lepton_nb.hardware import hardware_report
from lepton_nb.models import CNN, MLP, LeptonNN

BS = 256
MODELS = {'small': LeptonNN, 'wide': lambda: MLP((784, 1024, 1024, 10)), 'cnn': CNN}


def step(model, opt, xb, yb):
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.detach()


def variant(name: str, make_model):
    "(step function, model, optimizer) for one variant, from the same initial weights."
    torch.manual_seed(0)
    model = make_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01, fused=True if name == 'eager_fused' else None)
    if name == 'step_compiled': return torch.compile(step), model, opt
    if name == 'model_compiled':
        forward = torch.compile(model)
        return (lambda m, o, xb, yb: step(forward, o, xb, yb)), model, opt
    return step, model, opt


def measure(make_model, data, epochs: int, repeats: int, steps: int = 30) -> dict:
    x, y, xv, yv = data.x_train, data.y_train, data.x_valid, data.y_valid
    names = ('eager', 'eager_fused', 'step_compiled', 'model_compiled')
    runs, out = {n: variant(n, make_model) for n in names}, {}
    for name, (fn, model, opt) in runs.items():
        torch._dynamo.reset()
        torch._dynamo.utils.counters.clear()
        start = time.perf_counter()
        fn(model, opt, x[:BS], y[:BS])  # the first call compiles
        out[name] = {'first_call_s': time.perf_counter() - start}
        runs[name] = (fn, model, opt, dict(torch._dynamo.utils.counters['stats']))
    def timed(name):
        fn, model, opt, _ = runs[name]
        def once():
            start = time.perf_counter()
            for i in range(steps):
                first = (i * BS) % (len(x) - BS)
                fn(model, opt, x[first:first + BS], y[first:first + BS])
            return 1000 * (time.perf_counter() - start) / steps
        return once
    ms = interleave({n: timed(n) for n in names}, repeats=repeats, warmup=1)
    for name in names:
        out[name]['ms_per_step'] = statistics.median(ms[name])
        out[name]['speedup_vs_eager'] = statistics.median(e / v for e, v in zip(ms['eager'], ms[name]))
    for name in names:  # accuracy: fresh weights, the same epochs in the same order, the last batch ragged
        torch._dynamo.utils.counters.clear()
        fn, model, opt = variant(name, make_model)
        for _ in range(epochs):
            order = torch.randperm(len(x), generator=torch.Generator().manual_seed(1))
            for first in range(0, len(x), BS):
                idx = order[first:first + BS]
                fn(model, opt, x[idx], y[idx])
        with eval_mode(model), torch.no_grad(): out[name]['valid_accuracy'] = float((model(xv).argmax(1) == yv).float().mean())
        out[name]['graphs_during_training'] = dict(torch._dynamo.utils.counters['stats'])
        out[name]['recompiles'] = sum(torch._dynamo.utils.counters['recompiles'].values())
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--models', nargs='*', default=list(MODELS), choices=list(MODELS))
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--json', default=None)
    args = parser.parse_args(argv)
    data = load_dataset('mnist_sample')
    result = {'benchmark': 'compiled_step', 'batch_size': BS, 'epochs_for_accuracy': args.epochs,
              'models': {m: measure(MODELS[m], data, args.epochs, args.repeats) for m in args.models},
              'target': 'step_compiled speedup_vs_eager >= 1.2 on the small MLP with the same accuracy',
              'machine': machine_info(), 'hardware': hardware_report().to_dict()}
    return emit(result, args.json)


if __name__ == '__main__':
    main()

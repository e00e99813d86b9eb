"""The redesign's promises, checked where a user meets them: one inference path (no module runs its own eval-mode loop),
a Learner that is whole on import, a Keras facade that is a package, and callbacks that cannot fail silently."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lepton_nb

LIB = Path(lepton_nb.__file__).parent


def test_no_module_switches_a_model_to_eval_mode_by_hand():
    "Only core.eval_mode calls .eval() for a pass; bench's owned inference copies say so (# eval-ok)."
    pattern = re.compile(r'\.eval\(\)|\.train\(was_training\)|was_training')
    found = []
    for path in sorted(LIB.rglob('*.py')):
        if path.name in ('core.py', '_modidx.py'): continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and '# eval-ok:' not in line: found.append(f'{path.relative_to(LIB)}:{n}: {line.strip()}')
    assert not found, 'use core.eval_mode instead:\n' + '\n'.join(found)
    allowed = [p.name for p in LIB.rglob('*.py') if '# eval-ok:' in p.read_text()]
    assert allowed == ['bench.py'], allowed  # only the benchmark's raw baselines


def _python(code: str) -> str:
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True, timeout=300).stdout.strip()


def test_learner_is_whole_after_importing_only_the_learner():
    out = _python('from lepton_nb.learner import Learner\n'
                  'from lepton_nb.data import DataBundle\nfrom lepton_nb.models import MLP\nimport torch\n'
                  'data = DataBundle.from_tensors(torch.randn(200, 4), torch.randint(0, 2, (200,)))\n'
                  'learn = Learner(MLP((4, 8, 2)), data, bs=32, progress=False)\n'
                  'r = learn.lr_find(num_it=20, repeats=1)\n'
                  'learn.fit_one_cycle(1, 1e-2)\n'
                  'print(type(r).__name__, len(learn.history), type(learn.find_batch_size(candidates=[8, 16], steps=1)).__name__)')
    assert out == 'LRFindResult 1 BatchSizeResult', out


def test_keras_layers_is_a_module():
    out = _python('from lepton_nb.keras.layers import Dense\nfrom lepton_nb.keras.callbacks import EarlyStopping, ModelCheckpoint\n'
                  'from lepton_nb.keras import optimizers\nprint(Dense.__module__, type(optimizers.Adam(learning_rate=1e-3)).__name__)')
    assert out == 'lepton_nb.keras.layers Adam'


def test_a_misspelled_callback_method_is_refused_and_errors_name_their_callback():
    from lepton_nb.data import DataBundle
    from lepton_nb.events import Callback
    from lepton_nb.learner import Learner
    from lepton_nb.models import MLP
    with pytest.raises(ValueError, match=r"after_epcoh.*rename it to 'after_epoch'"):
        class Typo(Callback):
            def after_epcoh(self, learn): pass

    class Fails(Callback):
        def after_batch(self, learn):
            if learn.training: raise RuntimeError('boom')
    learn = Learner(MLP((4, 8, 2)), DataBundle.from_tensors(torch.randn(64, 4), torch.randint(0, 2, (64,))), progress=False)
    with pytest.raises(RuntimeError, match='boom') as info:
        learn.fit(1, cbs=[Fails()])
    assert 'in callback Fails.after_batch' in info.value.__notes__
    assert not any(isinstance(cb, Fails) for cb in learn.cbs)  # the fit's callbacks are removed even so

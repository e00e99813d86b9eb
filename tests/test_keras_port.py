"""A Keras Sequential convnet script runs on lepton_nb.keras with only its import lines changed."""
import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name('keras_scripts') / 'mnist_convnet.py'
LEPTON_IMPORTS = ['from lepton_nb import keras', 'from lepton_nb.keras import layers']
KERAS_IMPORTS = ['import keras', 'from keras import layers']


def test_script_differs_from_keras_only_in_its_imports():
    code = [l for l in SCRIPT.read_text().splitlines() if l.strip() and not l.lstrip().startswith('#')]
    assert [l for l in code if 'lepton_nb' in l] == LEPTON_IMPORTS  # nothing else names lepton_nb
    as_keras = [KERAS_IMPORTS[LEPTON_IMPORTS.index(l)] if l in LEPTON_IMPORTS else l for l in code]
    assert 'import keras' in as_keras and not any('lepton' in l for l in as_keras)


def test_keras_convnet_script_trains_offline():
    env = {**os.environ, 'LEPTON_SAMPLE_DATA': '1', 'MPLBACKEND': 'Agg'}
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert 'x_train shape: (4000, 28, 28, 1)' in out and 'Total params: 34,826' in out  # Keras reports 34,826 for this model
    assert out.count('Epoch ') == 15 and re.search(r'\d+/\d+ - \d+s - .*loss: [\d.]+ - accuracy: [\d.]+ - val_loss: [\d.]+ - val_accuracy: [\d.]+', out)
    accuracy = float(re.search(r'Test accuracy: ([\d.]+)', out).group(1))
    assert accuracy > 0.95, out[-2000:]  # the bundled 4,000 training digits; full MNIST gives ~99% in Keras

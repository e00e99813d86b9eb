"""Shared by the benchmark scripts: what machine ran them, and how results are written."""
import json
import os
import platform
from pathlib import Path

import torch


def machine_info() -> dict:
    "Platform, CPU count, torch version and thread count: recorded with every result."
    return {'platform': platform.platform(), 'processor': platform.processor() or platform.machine(),
            'cpu_count': os.cpu_count(), 'torch': torch.__version__, 'torch_threads': torch.get_num_threads(),
            'python': platform.python_version()}


def emit(result: dict, path: Path | None = None) -> dict:
    "Print `result` as one JSON object (and write it to `path` if given)."
    text = json.dumps(result, indent=2)
    print(text)
    if path: Path(path).write_text(text + '\n')
    return result

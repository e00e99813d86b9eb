"""Fail when a notebook's markdown holds control characters (a LaTeX `\\frac` or `\\theta` written through a string
escape becomes a form feed or a tab): every such cell is listed with its notebook and cell number."""
import json
import re
import sys
from pathlib import Path

CONTROL = re.compile(r'[\x00-\x09\x0b-\x1f\x7f]')  # everything below space except the newline


def problems(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob('*.ipynb')):
        if '.ipynb_checkpoints' in path.parts: continue
        for i, cell in enumerate(json.loads(path.read_text(encoding='utf-8'))['cells']):
            text = ''.join(cell['source'])
            if cell['cell_type'] == 'markdown' and (m := CONTROL.search(text)):
                found.append(f'{path}: cell {i} holds control character {m.group()!r} near {text[max(m.start() - 20, 0):m.start() + 20]!r}')
    return found


if __name__ == '__main__':
    bad = problems(Path(sys.argv[1] if len(sys.argv) > 1 else 'nbs'))
    print('\n'.join(bad) or 'notebooks: no control characters in markdown')
    sys.exit(1 if bad else 0)

"""Write README.md from nbs/index.ipynb without quarto: markdown cells as they are, code cells as
fenced Python (nbdev directives removed, `#| hide` cells left out)."""
from pathlib import Path
import json

ROOT = Path(__file__).resolve().parents[1]

def cell_markdown(cell: dict) -> str | None:
    source = ''.join(cell['source'])
    if cell['cell_type'] == 'markdown': return source
    lines = source.splitlines()
    directives = [l for l in lines if l.startswith('#|')]
    if any(d.replace(' ', '') in ('#|hide', '#|export', '#|exporti') for d in directives): return None
    code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
    return f'```python\n{code}\n```' if code else None

def main():
    nb = json.loads((ROOT / 'nbs' / 'index.ipynb').read_text(encoding='utf-8'))
    parts = [m for m in map(cell_markdown, nb['cells']) if m]
    header = '<!-- Generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file. -->\n\n'
    (ROOT / 'README.md').write_text(header + '\n\n'.join(parts) + '\n', encoding='utf-8')

if __name__ == '__main__': main()

"""Fail when a public function or method of the package with three or more parameters (self/cls aside) has a
parameter without a docments comment (`name: type = default,  # what it is`), which `show_doc` renders as a table."""
import ast
import io
import sys
import tokenize
from pathlib import Path


def comment_lines(src: str) -> set[int]:
    return {t.start[0] for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type == tokenize.COMMENT}


def undocumented(fn, comments: set[int]) -> list[str]:
    args = [a for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs if a.arg not in ('self', 'cls')]
    if len(args) < 3: return []
    return [a.arg for a in args if a.lineno not in comments]


def problems(lib: Path) -> list[str]:
    found = []
    for path in sorted(lib.rglob('*.py')):
        if path.name.startswith('_'): continue
        src = path.read_text(encoding='utf-8')
        comments = comment_lines(src)
        for node in ast.parse(src).body:
            fns = [(node, '')] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
            if isinstance(node, ast.ClassDef) and not node.name.startswith('_'):
                fns = [(m, node.name + '.') for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
            for fn, owner in fns:
                if fn.name.startswith('_') and fn.name != '__init__': continue
                if missing := undocumented(fn, comments): found.append(f'{path}:{fn.lineno} {owner}{fn.name}: no docment for {missing}')
    return found


if __name__ == '__main__':
    bad = problems(Path(sys.argv[1] if len(sys.argv) > 1 else 'lepton_nb'))
    print('\n'.join(bad) or 'docments: every public signature with 3+ parameters documents them')
    sys.exit(1 if bad else 0)

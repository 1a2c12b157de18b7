#!/usr/bin/env python
"""Execute notebooks in place and save their outputs, so the docs (and README) show real, executed examples.

  python tools/run_nbs.py                 # every notebook under nbs/
  python tools/run_nbs.py nbs/01_core.ipynb nbs/index.ipynb

Each notebook runs in its own folder and its own interpreter, as nbdev_test runs it, against the offline Stripe unless STRIPE_SECRET_KEY is
set. Cells flagged with a tst_flags word (`#| notest`, `#| live`) are skipped here as in nbdev_test. Run
`nbdev_clean` afterwards (this script does) so only outputs, not execution metadata, change.
"""
import os, sys, subprocess
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell

ROOT = Path(__file__).resolve().parents[1]

def _skip(cell, flags=('notest', 'live')):
    src = cell.source if isinstance(cell.source, str) else ''.join(cell.source)
    dirs = [l for l in src.splitlines() if l.strip().startswith('#|')]
    return any(f in d for d in dirs for f in flags) or any('eval: false' in d for d in dirs)

def run(path):
    nb = read_nb(path)
    cwd = os.getcwd(); os.chdir(path.parent)
    try:
        sh = CaptureShell(path)
        sh.run_all(nb, exc_stop=True, preproc=_skip)
    finally: os.chdir(cwd)
    write_nb(nb, path)

def main(paths):
    nbs = [Path(p).resolve() for p in paths] or sorted(p for p in (ROOT/'nbs').rglob('*.ipynb')
           if not any(part.startswith(('_', '.')) for part in p.relative_to(ROOT/'nbs').parts))
    for p in nbs:  # each in a fresh interpreter, as nbdev_test runs them: one notebook's `@patch` must not leak into the next
        print('running', p.relative_to(ROOT), flush=True)
        subprocess.run([sys.executable, __file__, '--one', str(p)], check=True)
    subprocess.run(['nbdev_clean'], cwd=ROOT, check=True)

if __name__ == '__main__':
    if sys.argv[1:2] == ['--one']: run(Path(sys.argv[2]))
    else: main(sys.argv[1:])

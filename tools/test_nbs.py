#!/usr/bin/env python
"""Run every notebook's tests as `nbdev_test` does, but each notebook in a fresh interpreter.

  python tools/test_nbs.py [--n_workers 2] [glob ...]

`nbdev_test` reuses its worker processes, so a notebook runs after others in the same interpreter and sees what
they patched, registered or left running (servers, delivery threads). In Jupyter each notebook has its own kernel;
this runs them the same way: nbdev's own `test_nb` (same flags, same working folder), one process per notebook.
"""
import argparse, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from nbdev.config import get_config
from nbdev.doclinks import nbglob
from nbdev.test import test_nb, _keep_file

def _one(f):
    cfg = get_config()
    os.chdir(cfg.nbs_path)
    t = time.perf_counter()
    ok, _ = test_nb(f, skip_flags=cfg.tst_flags.split(), basepath=cfg.config_path)
    return ok, time.perf_counter() - t

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('paths', nargs='*')
    p.add_argument('--n_workers', type=int, default=2)
    a = p.parse_args(argv)
    files = [f.absolute() for pat in (a.paths or [None]) for f in sorted(nbglob(pat, as_path=True)) if _keep_file(f, '.notest')]
    with ProcessPoolExecutor(a.n_workers, max_tasks_per_child=1) as ex: results = list(ex.map(_one, files))
    failed = [f for f, (ok, _) in zip(files, results) if not ok]
    slow = sorted(zip(files, results), key=lambda o: -o[1][1])[:3]
    print(f"{len(files) - len(failed)} of {len(files)} notebooks passed; slowest: " + ', '.join(f'{f.name} {r[1]:.0f} s' for f, r in slow))
    if failed: sys.exit('Tests failed in: ' + ', '.join(str(f.relative_to(get_config().config_path)) for f in failed))

if __name__ == '__main__': main()

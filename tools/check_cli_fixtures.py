#!/usr/bin/env python
"""Run a folder of fixture files in the Stripe CLI's format (say, a checkout of stripe/stripe-cli's
pkg/fixtures/triggers) against a fresh offline Stripe each, and say which produce the event their file is named after.

  python tools/check_cli_fixtures.py path/to/stripe-cli/pkg/fixtures/triggers [--api-version 2024-06-20] [--json]

`--api-version` gives each offline account that default version (the CLI's v1 requests name none).

Nothing is copied into this project: the files are read where they are. The summary line is what
nbs/offline/55_fixtures.ipynb quotes."""
import json, sys
from pathlib import Path
import faststripe.offline  # every part
from faststripe.offline import OfflineStripe, run_fixture

def check(folder, version=None):
    res = {}
    for p in sorted(Path(folder).glob('*.json')):
        ev = p.stem.removeprefix('v1.')
        try:
            st = OfflineStripe()
            st.account_version = version
            run = run_fixture(str(p), st, out=None)
            res[p.stem] = 'ok' if ev in run.types() else f"ran; no {ev} event (got {', '.join(run.types()[-4:]) or 'none'})"
        except Exception as e: res[p.stem] = f'{type(e).__name__}: {e}'.splitlines()[0][:200]
    return res

if __name__ == '__main__':
    if len(sys.argv) < 2: sys.exit(__doc__)
    a = sys.argv
    res = check(a[1], a[a.index('--api-version') + 1] if '--api-version' in a else None)
    if '--json' in sys.argv: print(json.dumps(res, indent=1))
    else:
        for k,v in res.items():
            if v != 'ok': print(f'{k}: {v}')
    print(f"{sum(v == 'ok' for v in res.values())} of {len(res)} fixture files produce their event offline")

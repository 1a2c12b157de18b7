"""Every example of the user's guides (One-time Payments, Subscriptions), run as written against the offline Stripe on
loopback: `python ../shared/acceptance/guide_examples.py --base-url URL --stateful`."""
import os, subprocess, sys
from pathlib import Path
import pytest

from conftest import REPO, shared_file

def test_guide_examples(offline_url):
    SCRIPT = shared_file('acceptance', 'guide_examples.py')
    env = {k: v for k, v in os.environ.items() if not k.startswith('STRIPE_')}
    env['PYTHONPATH'] = os.pathsep.join([str(REPO), env.get('PYTHONPATH', '')]).rstrip(os.pathsep)
    r = subprocess.run([sys.executable, str(SCRIPT), '--base-url', offline_url, '--stateful'], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
    print(r.stdout, r.stderr)
    assert r.returncode == 0, r.stdout + r.stderr
    assert '9 passed, 0 failed' in r.stdout, r.stdout

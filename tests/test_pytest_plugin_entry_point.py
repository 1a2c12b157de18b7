"""The pytest plugin is found with no configuration: the package built from this checkout declares the `pytest11`
entry point, and pytest run with that package on its path (and no `-p`, no conftest) offers the fixtures."""
import subprocess, sys, zipfile
from pathlib import Path
from conftest import REPO

def test_wheel_declares_the_plugin_and_pytest_loads_it(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w', str(tmp_path/'dist'), str(REPO)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    (whl,) = (tmp_path/'dist').glob('faststripe-*.whl')
    with zipfile.ZipFile(whl) as z:
        eps = next(z.read(n).decode() for n in z.namelist() if n.endswith('.dist-info/entry_points.txt'))
        assert 'faststripe/offline/triggers.json' in z.namelist()     # the bundled trigger fixtures are package data
        z.extractall(tmp_path/'site')
    assert '[pytest11]\nfaststripe.offline.pytest_plugin = faststripe.offline.pytest_plugin' in eps, eps
    (tmp_path/'t'/'test_uses_plugin.py').parent.mkdir()
    (tmp_path/'t'/'test_uses_plugin.py').write_text(
        'def test_it(stripe_api, stripe_server):\n'
        '    assert stripe_api.customers.create(email="a@b.co").email == "a@b.co"\n'
        '    assert stripe_server.stripe_client().v1.customers.list().data == []\n')
    env = {'PYTHONPATH': str(tmp_path/'site'), 'PATH': '/usr/bin:/bin', 'HOME': str(tmp_path)}
    r = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', str(tmp_path/'t')], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path/'t', env=env)
    assert r.returncode == 0 and '1 passed' in r.stdout, r.stdout + r.stderr

"""The pytest plugin is found with no configuration: the package built from this checkout declares the `pytest11`
entry point, and pytest run with that package on its path (and no `-p`, no conftest) offers the fixtures."""
import subprocess, sys, zipfile
from pathlib import Path
from conftest import REPO

def copy_of_checkout(dest):
    "The checkout's tracked files, copied, so building the wheel leaves no build/ folder in the checkout"
    import shutil
    files = subprocess.run(['git', '-C', str(REPO), 'ls-files', '-z'], capture_output=True, text=True, check=True).stdout.split('\0')
    for f in filter(None, files):
        if (REPO/f).is_file(): (dest/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(REPO/f, dest/f)
    return dest

def test_wheel_declares_the_plugin_and_pytest_loads_it(tmp_path):
    src = copy_of_checkout(tmp_path/'src')
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w', str(tmp_path/'dist'), str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    (whl,) = (tmp_path/'dist').glob('faststripe-*.whl')
    with zipfile.ZipFile(whl) as z:
        eps = next(z.read(n).decode() for n in z.namelist() if n.endswith('.dist-info/entry_points.txt'))
        assert 'faststripe/offline/triggers.json' in z.namelist()     # the bundled trigger fixtures are package data
        z.extractall(tmp_path/'site')
    assert '[pytest11]\nfaststripe.pytest_plugin = faststripe.pytest_plugin' in eps, eps
    (tmp_path/'t'/'test_uses_plugin.py').parent.mkdir()
    (tmp_path/'t'/'test_uses_plugin.py').write_text(
        'def test_it(stripe_api, stripe_server):\n'
        '    assert stripe_api.customers.create(email="a@b.co").email == "a@b.co"\n'
        '    assert stripe_server.stripe_client().v1.customers.list().data == []\n')
    env = {'PYTHONPATH': str(tmp_path/'site'), 'PATH': '/usr/bin:/bin', 'HOME': str(tmp_path)}
    r = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', str(tmp_path/'t')], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path/'t', env=env)
    assert r.returncode == 0 and '1 passed' in r.stdout, r.stdout + r.stderr

def test_a_shared_external_server_is_reset_between_tests(tmp_path):
    "With FASTSTRIPE_OFFLINE_URL, `stripe_server` uses that server (another process) and empties it before each test"
    import os, httpx
    from conftest import free_port, wait_until_up
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get('PYTHONPATH')])))
    port = free_port()
    server = subprocess.Popen([sys.executable, '-m', 'faststripe.offline', '--port', str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env)
    url = f'http://127.0.0.1:{port}'
    try:
        wait_until_up(url + '/v1/customers', server)
        (tmp_path/'test_shared.py').write_text(
            'def test_one(stripe_server):\n'
            '    assert stripe_server.engine is None\n'
            '    stripe_server.stripe_client().v1.customers.create({"email": "one@x.co"})\n'
            'def test_two(stripe_server):\n'
            '    assert stripe_server.stripe_client().v1.customers.list().data == []\n'
            '    stripe_server.stripe_client().v1.customers.create({"email": "two@x.co"})\n')
        r = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'faststripe.pytest_plugin', '-p', 'no:cacheprovider', str(tmp_path)],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env | {'FASTSTRIPE_OFFLINE_URL': url})
        assert r.returncode == 0 and '2 passed' in r.stdout, r.stdout + r.stderr
        left = httpx.get(url + '/v1/customers', auth=('sk_test_x', '')).json()['data']
        assert [c['email'] for c in left] == ['two@x.co']   # the last test's data stays for a look afterwards
    finally:
        server.terminate(); server.wait(20)

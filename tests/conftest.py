"""Shared fixtures: servers the end-to-end suites need, all on 127.0.0.1 and stopped at the end of the session."""
import os, socket, subprocess, sys, time, shutil
from pathlib import Path
import httpx, pytest
from faststripe.pytest_plugin import *  # the plugin's fixtures (its pytest11 entry point loads them once faststripe is installed)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('FASTSTRIPE_SHARED') or REPO.parent/'shared')  # Stripe's spec and the user's guides
SPEC3 = SHARED/'stripe-openapi'/'spec3.json'

def shared_file(*parts):
    "A file of the project's shared folder (beside the checkout, or $FASTSTRIPE_SHARED); fails clearly when missing"
    p = SHARED.joinpath(*parts)
    if not p.exists(): pytest.fail(f'{p} not found: the shared folder sits beside the checkout, or set FASTSTRIPE_SHARED')
    return p

def offline_engine(**kw):
    "A new OfflineStripe (`kw`: its options) served on loopback with its `url` set, shut down after; `yield from` it in a fixture"
    from faststripe.offline import OfflineStripe, serve
    st = OfflineStripe(**kw)
    srv = serve(stripe=st)
    st.url = srv.url.rstrip('/')
    try: yield st
    finally: srv.shutdown()

def official_client(url, key):
    "The official `stripe` package's client, sending to `url`"
    import stripe
    return stripe.StripeClient(key, base_addresses={'api': url})

def event_types(client, oid):
    "The types of the events about `oid`, oldest first, through the official client (objects without an id, as a balance, pass)"
    evs = client.v1.events.list(params={'limit': 100}).data
    return [e.type for e in evs[::-1] if e.data.object.to_dict().get('id') == oid]

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def wait_until_up(url, proc=None, timeout=30):
    "Poll `url` until it answers (any HTTP status), or fail if `proc` died or `timeout` passed"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f'server for {url} exited with code {proc.returncode}')
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError: time.sleep(0.05)  # polling interval, not synchronisation
    raise TimeoutError(f'{url} did not come up within {timeout}s')

def _start_localstripe():
    exe = shutil.which('localstripe')
    if exe is None: raise RuntimeError('localstripe is not installed: pip install localstripe (.ci/run does this)')
    port = free_port()
    proc = subprocess.Popen([exe, '--from-scratch', '--port', str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f'http://127.0.0.1:{port}'
    wait_until_up(url + '/v1/customers', proc)
    return url, proc

@pytest.fixture(scope='session')
def localstripe_url():
    "Base URL of a running localstripe: the one .ci/run started (LOCALSTRIPE_URL), else one started here"
    if os.environ.get('LOCALSTRIPE_URL'):
        yield os.environ['LOCALSTRIPE_URL'].rstrip('/')
        return
    url, proc = _start_localstripe()
    yield url
    proc.terminate()
    try: proc.wait(10)
    except subprocess.TimeoutExpired: proc.kill()

@pytest.fixture(scope='session')
def offline_url():
    "Base URL of faststripe's offline Stripe served on loopback for the session"
    from faststripe.offline import serve
    srv = serve(port=0, host='127.0.0.1')
    yield srv.url.rstrip('/')
    srv.shutdown()

@pytest.fixture
def ls_key(): return 'sk_test_' + 'faststripe0000000000000000'

"""A mirror sync killed with SIGKILL at random points, then resumed, equals a fresh full sync: nothing missing, nothing
twice, and the resumed sync does not list again what was committed (issue 16). The server runs on 127.0.0.1."""
import json, os, random, signal, sqlite3, subprocess, sys, time
from pathlib import Path
import pytest
from faststripe.core import StripeApi
from faststripe.offline import OfflineStripe, offline_api
from faststripe.mirror import Mirror, mismatches
from limitserver import LimitServer, offline_handler

REPO = Path(__file__).resolve().parents[1]
T0 = int(time.time()) - 4000 * 1800 - 60  # the last object now: the server's Date agrees with its events

@pytest.fixture(scope='module')
def account():
    st = OfflineStripe(seed=3, clock=T0)
    api = offline_api(st)
    for i in range(4000):
        st.clock = T0 + i * 1800
        api.customers.create(email=f'c{i}@example.com', metadata={'i': str(i)})
        if i % 40 == 0: api.products.create(name=f'p{i}')
    with LimitServer(offline_handler(st), rps=25, latency=0.01) as srv:
        yield st, srv

def rows(db):
    "Committed rows of the customers table, read as another process would (WAL)"
    try:
        with sqlite3.connect(db, timeout=1) as con: return con.execute('select count(*) from _customers').fetchone()[0]
    except sqlite3.OperationalError: return 0  # not created yet

def windows_left(db):
    with sqlite3.connect(db) as con:
        r = con.execute("select state from _sync where resource='customers'").fetchone()
    return len(json.loads(r[0]).get('windows', [])) if r else None

def run_and_kill(db, url, at_rows, timeout=60):
    env = {**os.environ, 'STRIPE_SECRET_KEY': 'sk_test_crash', 'PYTHONPATH': str(REPO)}
    code = f"from faststripe.mirror import mirror_main; mirror_main(['sync', {db!r}, '--resources', 'customers,products', '--base-url', {url!r}, '--workers', '3', '--rps', '25'])"
    p = subprocess.Popen([sys.executable, '-c', code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while p.poll() is None and rows(db) < at_rows:
        if time.monotonic() > deadline: p.kill(); raise TimeoutError('the sync did not reach %d rows' % at_rows)
        time.sleep(0.005)  # polling a file, not waiting for an outcome
    killed = p.poll() is None
    if killed: os.kill(p.pid, signal.SIGKILL)
    p.wait()
    return killed, p.stderr.read().decode()

@pytest.mark.parametrize('seed', [11, 12])
def test_sigkill_at_random_points_then_resume_equals_fresh_sync(account, tmp_path, seed):
    st, srv = account
    db = str(tmp_path / 'm.db')
    rng = random.Random(seed)
    kills = 0
    for at in sorted(rng.sample(range(50, 3900), 3)):
        killed, err = run_and_kill(db, srv.url, at)
        assert killed or not err, err
        if killed and windows_left(db): kills += 1
    assert kills >= 1, 'no kill landed during the listing'
    api = StripeApi('sk_test_crash', base_url=srv.url)
    resumed = Mirror(api, db, resources=['customers', 'products'])
    s = resumed.sync()
    fresh = Mirror(api, ':memory:', resources=['customers', 'products'])
    f = fresh.sync()
    assert not s['fallback'] and not f['fallback'], (s, f)
    assert s['requests'] < f['requests'], (s, f)  # what was committed is not listed again
    assert mismatches(resumed, offline_api(st)) == {}
    for t in ('_customers', '_products'):
        a = resumed.con.execute(f'select id, json from {t} order by id').fetchall()
        b = fresh.con.execute(f'select id, json from {t} order by id').fetchall()
        assert a == b
    assert resumed.con.execute('select count(*), count(distinct id) from _customers').fetchone() == (4000, 4000)

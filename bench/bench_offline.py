"""The offline Stripe as a test backend, against stripe-mock (Stripe's official Go mock) and localstripe, in one run.

    python bench/bench_offline.py                 # the full run (about 1-2 minutes on 2 cores)
    python bench/bench_offline.py --quick         # fewer rounds
    python bench/bench_offline.py --help          # rounds, repeats, backends, --profile, --json

The workload is what a test suite does with the official `stripe` package (16.x): for customers, products, prices
and payment intents, a round of create, retrieve, update (metadata) and list (10 a page); 16 requests per round.
The same rounds run against each backend, `--repeats` times `--rounds` rounds after `--warmup` rounds, the backends
taking turns; times are the best of the repeats, CPU figures their median; ratios are to stripe-mock measured in the
same run. Backends:

- stripe-mock over loopback (`$STRIPE_MOCK`, `stripe-mock` on PATH, or /tmp/stripe-mock/stripe-mock: build it with
  bench/build_stripe_mock.sh); skipped with a note when there is none;
- the offline Stripe over loopback: the `faststripe_offline` command (`python -m faststripe.offline`);
- localstripe over loopback (`localstripe`, from PyPI; it has no prices, so its ratio is over the other three);
- in-process, no socket: the official package with an httpx client on faststripe's `OfflineTransport`, and
  faststripe's own client from `offline_api()`.

Every server runs in its own process on 127.0.0.1 (ephemeral port), started here and stopped at the end (and, if
this process dies, by the kernel: PR_SET_PDEATHSIG). See bench/README.md.
"""
import argparse, ctypes, json, os, platform, signal, socket, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KEY = 'sk_test_bench0000'  # stripe-mock takes sk_test_ and letters or digits
GROUPS = ('customers', 'products', 'prices', 'payment_intents')
LIST_LIMIT = 1  # stripe-mock answers any list with one fixture object: so every backend is asked for one (--list-limit)
TARGETS = {'offline server': 1.0, 'in-process, faststripe': 0.25}  # issue 14: ratios to stripe-mock's time

# ---------------------------------------------------------------------------------------------------------------
# Servers
def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def _die_with_parent():
    "In the child: the kernel sends SIGTERM when the benchmark process dies"
    try: ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError: pass

def find_stripe_mock():
    "Path of a stripe-mock binary, or None"
    for p in (os.environ.get('STRIPE_MOCK'), shutil_which('stripe-mock'), '/tmp/stripe-mock/stripe-mock'):
        if p and os.access(p, os.X_OK): return p

def shutil_which(name):
    import shutil
    return shutil.which(name)

def server_cmd(kind, port):
    "The command line of backend `kind` on 127.0.0.1:`port`"
    if kind == 'stripe-mock': return [find_stripe_mock(), '-http-addr', f'127.0.0.1:{port}']
    if kind == 'offline': return [sys.executable, '-m', 'faststripe.offline', '--port', str(port)]
    if kind == 'localstripe': return [shutil_which('localstripe') or 'localstripe', '--from-scratch', '--port', str(port)]
    raise ValueError(kind)

class Server:
    "A backend server in its own process; `.url`, `.cpu()` (its CPU seconds so far), `.stop()`"
    def __init__(self, kind, timeout=90):
        self.kind, port = kind, free_port()
        self.url = f'http://127.0.0.1:{port}'
        self.log = tempfile.TemporaryFile()
        env = {**os.environ, 'PYTHONPATH': str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', '')}
        self.p = subprocess.Popen(server_cmd(kind, port), stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                  env=env, cwd='/tmp', preexec_fn=_die_with_parent)
        self.wait_up(timeout)
    def wait_up(self, timeout):
        "Poll until the server answers an HTTP request (or fail with its log)"
        import httpx
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.p.poll() is not None: break
            try:
                httpx.get(self.url + '/v1/customers', headers={'Authorization': f'Bearer {KEY}'}, timeout=2)
                return
            except httpx.TransportError: time.sleep(0.05)  # polling for the port to open, not synchronising work
        self.stop()
        self.log.seek(0)
        raise RuntimeError(f'{self.kind} did not start: {self.log.read()[-2000:].decode(errors="replace")}')
    def cpu(self):
        "CPU seconds (user + system) the server process has used so far"
        with open(f'/proc/{self.p.pid}/stat') as f: fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try: self.p.wait(10)
            except subprocess.TimeoutExpired: self.p.kill(); self.p.wait()

# ---------------------------------------------------------------------------------------------------------------
# Clients: the official package (over loopback or in-process) and faststripe's own
def stripe_client(url=None, stripe=None):
    "The official package's client: over loopback to `url`, or in-process on the offline Stripe `stripe`"
    import stripe as sp
    if url: return sp.StripeClient(KEY, base_addresses={'api': url}, max_network_retries=0)
    import httpx
    from faststripe.offline import OfflineTransport
    hc = sp.HTTPXClient(allow_sync_methods=True)
    hc._client = httpx.Client(transport=OfflineTransport(stripe))  # the package's own httpx client, minus the socket
    return sp.StripeClient(KEY, base_addresses={'api': 'http://offline.invalid'}, http_client=hc, max_network_retries=0)

class StripeRounds:
    "The workload with the official package: `round(group, i)` runs create, retrieve, update and list of `group`"
    def __init__(self, c):
        self.c, self.v1, self.product, self.customer = c, getattr(c, 'v1', None), None, None
    def setup(self):
        self.product = self.v1.products.create(params={'name': 'Bench plan'}).id
        self.customer = self.v1.customers.create(params={'email': 'bench@example.com'}).id
    def round(self, g, i):
        svc = getattr(self.v1, g)
        o = svc.create(params=self.params(g, i))
        svc.retrieve(o.id)
        svc.update(o.id, params={'metadata': {'round': str(i)}})
        svc.list(params={'limit': LIST_LIMIT})
    def params(self, g, i):
        if g == 'customers': return {'email': f'user{i}@example.com', 'name': f'User {i}', 'metadata': {'plan': 'pro'}}
        if g == 'products': return {'name': f'Product {i}', 'description': 'benchmark product'}
        if g == 'prices': return {'product': self.product, 'unit_amount': 500 + i, 'currency': 'usd', 'recurring': {'interval': 'month'}}
        return {'amount': 1000 + i, 'currency': 'usd', 'customer': self.customer, 'metadata': {'order': str(i)}}

class FastRounds(StripeRounds):
    "The same workload with faststripe's client"
    def setup(self):
        self.product = self.c.products.create(name='Bench plan').id
        self.customer = self.c.customers.create(email='bench@example.com').id
    def round(self, g, i):
        ops = getattr(self.c, g)
        o = ops.create(**self.params(g, i))
        ops.retrieve(o.id)
        ops.update(o.id, metadata={'round': str(i)})
        ops.list(limit=LIST_LIMIT)

# ---------------------------------------------------------------------------------------------------------------
# Measurement
def time_groups(rounds, groups, n):
    "{group: wall seconds for `n` rounds}, plus client CPU seconds over all of them"
    res, c0 = {}, time.process_time()
    for g in groups:
        w0 = time.perf_counter()
        for i in range(n): rounds.round(g, i)
        res[g] = time.perf_counter() - w0
    return res, time.process_time() - c0

def supported(kind):
    return tuple(g for g in GROUPS if not (kind == 'localstripe' and g == 'prices'))  # localstripe has no prices

BACKENDS = ('stripe-mock', 'offline server', 'localstripe', 'in-process, stripe package', 'in-process, faststripe')

def make_backends(names):
    "{name: (rounds, server or None)}; names that cannot be set up map to a note"
    out, notes = {}, {}
    for name in names:
        try:
            if name == 'stripe-mock' and not find_stripe_mock():
                notes[name] = 'no stripe-mock binary (set $STRIPE_MOCK, or build one: bash bench/build_stripe_mock.sh SRC)'
                continue
            if name in ('stripe-mock', 'offline server', 'localstripe'):
                srv = Server(name.split()[0])
                out[name] = (StripeRounds(stripe_client(srv.url)), srv)
            elif name == 'in-process, stripe package':
                from faststripe.offline import OfflineStripe
                out[name] = (StripeRounds(stripe_client(stripe=OfflineStripe())), None)
            else:
                from faststripe.offline import offline_api
                out[name] = (FastRounds(offline_api()), None)
            out[name][0].setup()
        except Exception as e:
            notes[name] = f'not run: {type(e).__name__}: {str(e)[:300]}'
            if name in out and (srv := out.pop(name)[1]): srv.stop()
    return out, notes

def run(args):
    names = [b for b in BACKENDS if b not in args.skip]
    backends, notes = make_backends(names)
    for name, (rounds, _) in backends.items(): time_groups(rounds, supported(name.split()[0]), args.warmup)  # warm-up
    res = {n: {'groups': {g: [] for g in GROUPS}, 'cpu': [], 'server_cpu': []} for n in backends}
    for rep in range(args.repeats):  # backends interleaved, so a noisy moment hits all of them
        for name, (rounds, srv) in backends.items():
            groups = supported(name.split()[0])
            s0 = srv.cpu() if srv else 0
            t, cpu = time_groups(rounds, groups, args.rounds)
            for g,v in t.items(): res[name]['groups'][g].append(v)
            res[name]['cpu'].append(cpu)
            res[name]['server_cpu'].append(srv.cpu() - s0 if srv else 0)
    for _, srv in backends.values():
        if srv: srv.stop()
    return summarise(res, args), notes

def summarise(res, args):
    """{name: {group: best seconds per round, cpu and server_cpu: median seconds per request}}

    The time of a group is the best of the repeats (as `timeit` reports): the machine is shared, and a repeat that
    another job preempted says nothing about the backend. CPU times are medians: they do not suffer from waiting."""
    out = {}
    for name, r in res.items():
        groups = {g: min(v) / args.rounds for g,v in r['groups'].items() if v}
        nreq = 4 * args.rounds * len(groups)
        out[name] = dict(groups=groups, cpu=statistics.median(r['cpu']) / nreq, server_cpu=statistics.median(r['server_cpu']) / nreq)
    return out

def ratio(res, name, base='stripe-mock'):
    "Time of `name` over `base`'s, on the groups `name` runs"
    if base not in res or name not in res: return None
    gs = res[name]['groups']
    return sum(gs.values()) / sum(res[base]['groups'][g] for g in gs)

def cpu_ratio(res, name, base='stripe-mock'):
    "CPU per request (client and server together) of `name` over `base`'s"
    if base not in res or name not in res: return None
    tot = lambda r: r['cpu'] + r['server_cpu']
    return tot(res[name]) / tot(res[base])

def report(res, notes, args):
    import stripe
    print(f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"stripe {stripe.VERSION}; best of {args.repeats} repeats of {args.rounds} rounds, after {args.warmup} warm-up rounds; "
          f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f'one round = create, retrieve, update, list (limit={LIST_LIMIT}) of customers, products, prices and payment intents (16 requests)\n')
    hdr = (f"{'backend':<27}" + ''.join(f'{g:>16}' for g in GROUPS) + f"{'per request':>12}{'client CPU':>11}{'server CPU':>11}"
           f"{'time ratio':>11}{'CPU ratio':>10}{'target':>9}  result (time/CPU)")
    print(hdr + '\n' + '-' * len(hdr))
    for name, r in res.items():
        gs = r['groups']
        per_req = sum(gs.values()) / (4 * len(gs))
        cells = ''.join(f"{gs[g]*1e3:>13.2f} ms" if g in gs else f"{'—':>16}" for g in GROUPS)
        rt, ct, tgt = ratio(res, name), cpu_ratio(res, name), TARGETS.get(name)
        ok = '' if tgt is None or rt is None else '/'.join('PASS' if x <= tgt else 'MISS' for x in (rt, ct))
        srv = f'{r["server_cpu"]*1e6:>8.0f} µs' if 'in-process' not in name else f"{'—':>11}"
        fmt = lambda x: f'{x:.2f}x' if x is not None else '—'
        print(f'{name:<27}{cells}{per_req*1e6:>9.0f} µs{r["cpu"]*1e6:>8.0f} µs{srv}{fmt(rt):>11}{fmt(ct):>10}'
              f"{(f'≤ {tgt}x' if tgt else ''):>9}  {ok}")
    for n, note in notes.items(): print(f'note: {n}: {note}')
    print("note: group columns are wall time per round (best of the repeats); 'time ratio' is that over stripe-mock's, "
          "on the groups both run (localstripe has no prices); 'CPU ratio' compares CPU per request, client and server "
          "together (in-process rows: all of it is the client's): requests are sequential, so on an idle machine the time is "
          "about that CPU, and unlike the time it is not inflated by waiting for a core on a busy one.")

def profile(args, client):
    "cProfile of the offline Stripe's request path, in-process through `client` ('stripe': the official package; 'faststripe')"
    import cProfile, pstats
    from faststripe.offline import OfflineStripe, offline_api
    rounds = StripeRounds(stripe_client(stripe=OfflineStripe())) if client == 'stripe' else FastRounds(offline_api())
    rounds.setup()
    time_groups(rounds, GROUPS, args.warmup)
    with cProfile.Profile() as p: time_groups(rounds, GROUPS, args.rounds)
    pstats.Stats(p).sort_stats('cumulative').print_stats(45)
    pstats.Stats(p).sort_stats('tottime').print_stats(30)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--rounds', type=int, default=20, help='rounds per repeat (16 requests each)')
    p.add_argument('--repeats', type=int, default=15, help='repeats; times are the best of them, CPU figures the median')
    p.add_argument('--warmup', type=int, default=20, help='warm-up rounds per backend')
    p.add_argument('--list-limit', type=int, default=LIST_LIMIT, help="the lists' `limit` (stripe-mock always answers one object)")
    p.add_argument('--quick', action='store_true', help='10 rounds x 5 repeats')
    p.add_argument('--skip', action='append', default=[], choices=BACKENDS, help='leave a backend out (repeatable)')
    p.add_argument('--profile', choices=['stripe', 'faststripe'], help="profile the in-process request path instead (cProfile), through that client")
    p.add_argument('--json', metavar='FILE', help='also write the figures as JSON')
    args = p.parse_args(argv)
    globals()['LIST_LIMIT'] = args.list_limit
    if args.quick: args.rounds, args.repeats, args.warmup = 10, 5, 10
    if args.profile: return profile(args, args.profile)
    res, notes = run(args)
    report(res, notes, args)
    if args.json: Path(args.json).write_text(json.dumps({'results': res, 'notes': notes, 'time_ratios': {n: ratio(res, n) for n in res},
                                                         'cpu_ratios': {n: cpu_ratio(res, n) for n in res}}, indent=1))

if __name__ == '__main__': main()

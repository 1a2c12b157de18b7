#!/usr/bin/env python
"""Benchmark of `faststripe.mirror` (issue 16), everything on 127.0.0.1, servers in their own processes:

  python bench/bench_mirror.py                 # all three parts, about 4 minutes on 2 cores
  python bench/bench_mirror.py --part throughput --objects 50000
  python bench/bench_mirror.py --json out.json

1. **throughput**: a first sync through a loopback server that enforces 25 requests/s per endpoint (any sliding
   second; one more is a 429) and adds 50 ms of latency to every answer, against the naive sequential
   `pages(api.customers.list)` in the same run. Reported as objects/s and as a share of the possible
   (25 requests/s × 100 objects = 2,500 objects/s).
2. **refresh**: an account of 5,000 customers on the offline Stripe (in-process), mirrored; then 1,000 changes
   (updates, creates, deletes) and a second sync: its requests (event pages plus re-fetches) against the requests a
   full listing of the account takes.
3. **memory**: 1,000,000 customers (the offline Stripe's customer shape, served by a synthetic list server that
   computes pages instead of storing them) synced into a SQLite file by a child process, with no rate limit; its
   peak RSS (`VmHWM`) and time.
"""
from __future__ import annotations
import argparse, json, os, platform, subprocess, sys, tempfile, threading, time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / 'tests')]

T0 = 1_700_000_000

def customer_template():
    "A customer as the offline Stripe renders one (every field), for realistic page sizes"
    from faststripe.offline import offline_api
    return offline_api().customers.create(email='x@example.com', name='Someone', metadata={'plan': 'pro'}).to_dict()

def customers(n, tpl, spread=3600):
    return [{**tpl, 'id': f'cus_{i:010d}', 'created': T0 + i * spread, 'email': f'c{i}@example.com'} for i in range(n)]

# ---- servers (child processes) ----

def _serve_until_stdin_closes(srv):
    srv.start() if hasattr(srv, 'start') else threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(srv.url, flush=True)
    sys.stdin.read()  # the parent closed our stdin (or died): stop

def serve_limited(n, rps, latency):
    from faststripe.reporting import ListStub
    from limitserver import LimitServer
    stub = ListStub({'customers': customers(n, customer_template())})
    empty = {'object': 'list', 'data': [], 'has_more': False, 'url': '/v1/events'}
    def h(method, path, pairs, body=b'', headers=None):
        return (200, empty) if path == '/v1/events' else stub.handle(method, path, dict(pairs))
    _serve_until_stdin_closes(LimitServer(h, rps=rps, latency=latency))

def serve_synthetic(n):
    "GET /v1/customers over `n` customers created one a second from T0, computed per page (nothing stored)"
    import re
    from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
    from urllib.parse import urlsplit, parse_qsl
    tpl = customer_template()
    head = json.dumps({k: v for k, v in tpl.items() if k not in ('id', 'created', 'email')})[1:-1]
    def obj(i): return f'{{"id":"cus_{i:010d}","created":{T0 + i},"email":"c{i}@example.com",{head}}}'
    class H(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        disable_nagle_algorithm = True
        def do_GET(self):
            u = urlsplit(self.path); q = dict(parse_qsl(u.query))
            if u.path == '/v1/events': body = b'{"object":"list","data":[],"has_more":false,"url":"/v1/events"}'
            else:
                lo, hi = 0, n - 1
                if 'created[gte]' in q: lo = max(lo, int(q['created[gte]']) - T0)
                if 'created[lte]' in q: hi = min(hi, int(q['created[lte]']) - T0)
                if 'starting_after' in q: hi = min(hi, int(q['starting_after'][4:]) - 1)
                limit = int(q.get('limit', 10))
                bottom = max(lo, hi - limit + 1)
                data = ','.join(obj(i) for i in range(hi, bottom - 1, -1)) if hi >= lo else ''
                body = f'{{"object":"list","url":"/v1/customers","has_more":{"true" if bottom > lo and hi >= lo else "false"},"data":[{data}]}}'.encode()
            self.send_response(200)
            self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(body)))
            self.end_headers(); self.wfile.write(body)
        def log_message(self, *a): pass
    class S(ThreadingHTTPServer): daemon_threads = True
    srv = S(('127.0.0.1', 0), H)
    srv.url = f'http://127.0.0.1:{srv.server_port}'
    _serve_until_stdin_closes(srv)

class Child:
    "A server in a child process: `with Child('--serve-limited', ...) as url:`"
    def __init__(self, *args): self.args = args
    def __enter__(self):
        self.p = subprocess.Popen([sys.executable, __file__, *map(str, self.args)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self.p.stdout.readline().strip()
    def __exit__(self, *a):
        self.p.stdin.close(); self.p.wait(timeout=30)

# ---- the parts ----

def vmhwm_mib():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM'): return int(line.split()[1]) / 1024

def part_throughput(n, rps=25, latency=0.05):
    from faststripe.core import StripeApi, pages
    from faststripe.mirror import Mirror
    possible = rps * 100
    out = {'objects': n, 'limit_rps': rps, 'latency_s': latency, 'possible_per_s': possible}
    with Child('--serve-limited', n, rps, latency) as url:
        api = StripeApi('sk_test_bench', base_url=url)
        t = time.perf_counter(); got = pages(api.customers.list); naive = time.perf_counter() - t
        assert len(got) == n
        del got
    with Child('--serve-limited', n, rps, latency) as url:  # a fresh server: its rate window starts empty
        m = Mirror(StripeApi('sk_test_bench', base_url=url), ':memory:', resources=['customers'], workers=8, rps=rps, endpoint_rps=rps, progress=False)
        t = time.perf_counter(); s = m.sync(); mirror = time.perf_counter() - t
        assert m.con.execute('select count(*) from customers').fetchone()[0] == n
    out.update(naive_s=round(naive, 2), naive_per_s=round(n / naive), mirror_s=round(mirror, 2), mirror_per_s=round(n / mirror),
               mirror_requests=s['requests'], mirror_429=s['rate_limited'], share_of_possible=round(n / mirror / possible, 3),
               speedup_vs_naive=round(naive / mirror, 2))
    return out

def part_refresh(n=5000, changes=1000, seed=0):
    import random
    from faststripe.offline import OfflineStripe, offline_api
    from faststripe.mirror import Mirror, mismatches
    st = OfflineStripe(seed=seed, clock=T0)
    api = offline_api(st)
    ids = []
    for i in range(n):
        st.clock = T0 + i * 60
        ids.append(api.customers.create(email=f'c{i}@example.com').id)
    m = Mirror(api, ':memory:', resources=['customers', 'events'], progress=False)
    first = m.sync()
    rng, done = random.Random(seed), {'updated': 0, 'created': 0, 'deleted': 0}
    for k in range(changes):
        st.clock = T0 + n * 60 + k
        r = rng.random()
        if r < 0.6: api.customers.update(rng.choice(ids), name=f'n{k}'); done['updated'] += 1
        elif r < 0.8: ids.append(api.customers.create(email=f'new{k}@example.com').id); done['created'] += 1
        else:
            c = ids.pop(rng.randrange(len(ids))); api.customers.delete(c); done['deleted'] += 1
    s = m.sync()
    assert mismatches(m, api) == {}
    full = Mirror(api, ':memory:', resources=['customers'], progress=False).sync()
    return {'customers': n, 'changes': changes, **done, 'first_sync_requests': first['requests'],
            'refresh_requests': s['requests'], 'refresh_events': s['events'], 'refetched': s.get('refetched', 0),
            'full_listing_requests': full['requests'] - 1}  # less its one request for the events cursor

def part_memory(n=1_000_000):
    with Child('--serve-synthetic', n) as url, tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, 'm.db')
        r = subprocess.run([sys.executable, __file__, '--memory-child', url, str(n), db], capture_output=True, text=True, timeout=3600)
        if r.returncode: raise RuntimeError(r.stderr[-2000:])
        out = json.loads(r.stdout.strip().splitlines()[-1])
        out['db_mib'] = round(sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)) / 2**20)
    return out

def memory_child(url, n, db):
    from faststripe.core import StripeApi
    from faststripe.mirror import Mirror
    base = vmhwm_mib()
    m = Mirror(StripeApi('sk_test_bench', base_url=url), db, resources=['customers'], workers=4, rps=1e6, endpoint_rps=1e6, progress=False)
    t = time.perf_counter(); s = m.sync(); el = time.perf_counter() - t
    rows = m.con.execute('select count(*) from customers').fetchone()[0]
    assert rows == n, rows
    print(json.dumps({'objects': n, 'seconds': round(el, 1), 'objects_per_s': round(n / el), 'requests': s['requests'],
                      'peak_rss_mib': round(vmhwm_mib()), 'rss_after_import_mib': round(base)}))

def machine():
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--part', choices=['throughput', 'refresh', 'memory', 'all'], default='all')
    p.add_argument('--objects', type=int, default=50_000, help='objects for the throughput part')
    p.add_argument('--memory-objects', type=int, default=1_000_000)
    p.add_argument('--json', help='also write the results to this file')
    a = p.parse_args(argv)
    res = {'date': time.strftime('%Y-%m-%d'), 'machine': machine()}
    if a.part in ('throughput', 'all'):
        r = res['throughput'] = part_throughput(a.objects)
        print(f"first sync, {r['objects']:,} customers, {r['limit_rps']} req/s per endpoint, {r['latency_s']*1000:.0f} ms latency: "
              f"mirror {r['mirror_per_s']:,}/s ({r['share_of_possible']:.0%} of the possible {r['possible_per_s']:,}/s, "
              f"{r['mirror_requests']} requests, {r['mirror_429']} answered 429), naive pages() {r['naive_per_s']:,}/s: "
              f"{r['speedup_vs_naive']}x", flush=True)
    if a.part in ('refresh', 'all'):
        r = res['refresh'] = part_refresh()
        print(f"refresh after {r['changes']:,} changes to {r['customers']:,} customers ({r['updated']} updated, {r['created']} created, "
              f"{r['deleted']} deleted): {r['refresh_requests']} requests ({r['refresh_events']:,} events, {r['refetched']} re-fetched) "
              f"against {r['full_listing_requests']} for a full listing", flush=True)
    if a.part in ('memory', 'all'):
        r = res['memory'] = part_memory(a.memory_objects)
        print(f"{r['objects']:,} customers into SQLite: peak RSS {r['peak_rss_mib']} MiB (after imports {r['rss_after_import_mib']} MiB), "
              f"{r['seconds']} s ({r['objects_per_s']:,}/s, {r['requests']:,} requests), file {r['db_mib']:,} MiB", flush=True)
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1))
    return res

if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--serve-limited': serve_limited(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == '--serve-synthetic': serve_synthetic(int(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == '--memory-child': memory_child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else: main()

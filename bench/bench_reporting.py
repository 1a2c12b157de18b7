"""Benchmark of faststripe.reporting's parallel export (issue 7): a benchmark, not a test.

A loopback HTTP server (127.0.0.1, ephemeral port, its own process) serves 20,000 customers at `GET /v1/customers`
the way Stripe lists them, and waits 50 ms before answering each request. The same `created` range is exported with
1 worker and with 8 workers (`pages_to_df(..., workers=n)`), and the speed-up printed (target: at least 5x).

    python bench/bench_reporting.py            # the export benchmark (about 15 s)
    python bench/bench_reporting.py --memory   # also: peak memory of a 100,000-object export vs its DataFrame

`main()` returns the results as a dict, for the overall benchmark to call.
"""
import argparse, json, multiprocessing as mp, random, socket, sys, time, tracemalloc
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlsplit, parse_qsl

START = 1767225600  # 2026-01-01 UTC
SPAN = 30 * 86400

def make_customers(n, seed=0):
    "`n` customers shaped like Stripe's, created over 30 days (several share a second, some on window boundaries)"
    rng = random.Random(seed)
    res = []
    for i in range(n):
        res.append({'id': f'cus_{i:08d}', 'object': 'customer', 'created': START + rng.randrange(SPAN),
                    'email': f'user{i}@example.com', 'name': f'User {i}', 'livemode': False, 'delinquent': False,
                    'balance': 0, 'currency': 'usd' if i % 2 else None, 'tax_exempt': 'none', 'description': None,
                    'phone': None, 'invoice_prefix': f'INV{i % 1000:04d}', 'next_invoice_sequence': 1,
                    'address': {'city': 'Paris', 'country': 'FR', 'line1': '1 rue de Rivoli', 'line2': None,
                                'postal_code': '75001', 'state': None} if i % 3 else None,
                    'invoice_settings': {'custom_fields': None, 'default_payment_method': None, 'footer': None,
                                         'rendering_options': None},
                    'metadata': {'plan': rng.choice(['free', 'pro', 'team'])} if i % 4 == 0 else {},
                    'preferred_locales': [], 'shipping': None, 'discount': None, 'default_source': None,
                    'test_clock': None})
    return res

def _serve(n, latency, conn):
    "Child process: serve `n` customers on 127.0.0.1 with `latency` seconds per request; send the port on `conn`"
    from faststripe.reporting import ListStub
    stub = ListStub({'customers': make_customers(n)})
    class H(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        def setup(self):  # answer at once: no Nagle delay between the headers and the body
            super().setup()
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        def do_GET(self):
            time.sleep(latency)
            u = urlsplit(self.path)
            st, body = stub.handle('GET', u.path, dict(parse_qsl(u.query)))
            data = json.dumps(body).encode()
            self.send_response(st)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        def log_message(self, *a): pass
    srv = ThreadingHTTPServer(('127.0.0.1', 0), H)
    srv.daemon_threads = True
    conn.send(srv.server_address[1])
    srv.serve_forever()

def export(url, workers, created, **kw):
    from faststripe.core import StripeApi
    from faststripe.reporting import pages_to_df
    with StripeApi('sk_test_bench', base_url=url, max_retries=0) as api:
        t = time.perf_counter()
        df = pages_to_df(api.customers.list, created=created, workers=workers, progress=False, **kw)
        return df, time.perf_counter() - t

def bench_export(n=20_000, latency=0.05, workers=8, timeout=120):
    "Seconds to export `n` objects with 1 worker and with `workers`, against a server with `latency` per request"
    ctx = mp.get_context('spawn')
    a, b = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(n, latency, b), daemon=True)
    proc.start()
    try:
        if not a.poll(timeout): raise TimeoutError('benchmark server did not start')
        url = f'http://127.0.0.1:{a.recv()}'
        created = {'gte': START, 'lt': START + SPAN}
        df1, t1 = export(url, 1, created)
        dfn, tn = export(url, workers, created)
        assert len(df1) == len(dfn) == n, (len(df1), len(dfn))
        assert df1['id'].tolist() == dfn['id'].tolist(), 'parallel export differs from the sequential one'
        return dict(objects=n, latency_ms=latency * 1000, seconds_1=round(t1, 2), workers=workers,
                    seconds_n=round(tn, 2), speedup=round(t1 / tn, 2))
    finally:
        proc.terminate(); proc.join(5)

def bench_memory(n=100_000, workers=4):
    "Peak memory (tracemalloc) of exporting `n` objects with `pages_to_df`, next to the DataFrame's own size"
    from faststripe.core import StripeApi
    from faststripe.reporting import ListStub, pages_to_df
    stub = ListStub({'customers': make_customers(n)})
    api = StripeApi('sk_test_bench', transport=stub.transport())
    page = json.dumps(stub.page('customers', {'limit': '100'})).encode()
    pages_to_df(api.customers.list, created={'gte': START, 'lt': START + 1})  # load the spec and plan first
    tracemalloc.start()
    df = pages_to_df(api.customers.list, created={'gte': START, 'lt': START + SPAN}, workers=workers, progress=False)
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = int(df.memory_usage(deep=True).sum())
    return dict(objects=len(df), workers=workers, df_mb=round(size / 2**20, 1), peak_mb=round(peak / 2**20, 1),
                held_after_mb=round(cur / 2**20, 1), raw_page_kb=round(len(page) / 1024))

def main(argv=None):
    "Run the export benchmark (and the memory one with `--memory`); print and return the results"
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--objects', type=int, default=20_000)
    p.add_argument('--latency', type=float, default=0.05)
    p.add_argument('--workers', type=int, default=8)
    p.add_argument('--memory', action='store_true')
    args = p.parse_args(argv if argv is not None else [])
    res = {'export': bench_export(args.objects, args.latency, args.workers)}
    e = res['export']
    print(f"reporting export: {e['objects']:,} objects, {e['latency_ms']:.0f} ms/request: 1 worker {e['seconds_1']} s, "
          f"{e['workers']} workers {e['seconds_n']} s, speed-up {e['speedup']}x (target >= 5x)")
    if args.memory:
        m = res['memory'] = bench_memory()
        print(f"reporting memory: {m['objects']:,} objects, DataFrame {m['df_mb']} MB, peak while exporting "
              f"{m['peak_mb']} MB (one raw page is about {m['raw_page_kb']} KB)")
        print(f"reporting memory: peak / DataFrame = {m['peak_mb'] / m['df_mb']:.2f} (the column values are Python objects "
              f"until the DataFrame is built; with pyarrow strings the DataFrame is the smaller of the two)")
    return res

if __name__ == '__main__': main(sys.argv[1:])

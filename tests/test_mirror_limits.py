"""The mirror's first sync within Stripe's rate limits: a 429 storm slows it without failing it, and it never sends
an endpoint more than its limit in any second (issue 16). Servers on 127.0.0.1 only."""
import time
from faststripe.core import StripeApi
from faststripe.reporting import ListStub
from faststripe.mirror import Mirror
from limitserver import LimitServer, endpoint_of

T0 = 1_700_000_000

def customers(n, spread=86400 * 200):
    return [{'id': f'cus_{i:08d}', 'object': 'customer', 'created': T0 + i * spread // n, 'email': f'c{i}@example.com', 'metadata': {}}
            for i in range(n)]

def stub_handler(stub):
    events = {'object': 'list', 'data': [], 'has_more': False, 'url': '/v1/events'}
    def h(method, path, pairs, body=b'', headers=None):
        if path == '/v1/events': return 200, events
        return stub.handle(method, path, dict(pairs))
    return h

def test_endpoint_shapes():
    assert endpoint_of('/v1/customers/cus_12345678') == '/v1/customers/{}'
    assert endpoint_of('/v1/checkout/sessions/cs_test_a1b2c3d4e5') == '/v1/checkout/sessions/{}'
    assert endpoint_of('/v1/customers') == '/v1/customers'

def test_429_storm_slows_the_sync_without_failing_it():
    objs = customers(3000)
    with LimitServer(stub_handler(ListStub({'customers': objs})), rps=25, latency=0.02) as srv:
        api = StripeApi('sk_test_limits', base_url=srv.url)
        m = Mirror(api, ':memory:', resources=['customers'], workers=8, rps=25, endpoint_rps=25)
        srv.storm(40)  # the first 40 requests are refused, whatever the rate
        s = m.sync()
        assert s['rate_limited'] >= 40, s
        assert len(m.df('customers')) == 3000
        assert sorted(m.df('customers').id) == sorted(o['id'] for o in objs)
        assert m.budget.rps <= m.budget.ceiling
        assert srv.max_in_window('/v1/customers') <= 25, srv.max_in_window('/v1/customers')

def test_never_over_the_endpoint_limit_and_in_parallel():
    "8 workers against 25 requests/s with 50 ms latency: no 429 at all, requests overlapping (bench_mirror.py measures the rate)"
    objs = customers(4000)
    with LimitServer(stub_handler(ListStub({'customers': objs})), rps=25, latency=0.05) as srv:
        m = Mirror(StripeApi('sk_test_limits', base_url=srv.url), ':memory:', resources=['customers'], workers=8, rps=25, endpoint_rps=25)
        t = time.perf_counter()
        s = m.sync()
        el = time.perf_counter() - t
        assert s['rate_limited'] == 0, s
        assert srv.max_in_window('/v1/customers') <= 25
        assert len(m.df('customers')) == 4000
        assert srv.max_active >= 2, srv.max_active
        assert s['requests'] <= 40 + 12, s  # 40 full pages, and the partial pages of a few windows

"""End-to-end reliability tests of faststripe's client (issue 5), against the fault-injecting server in faultserver.py.

Everything runs on 127.0.0.1. Each test starts its own `FaultServer` (port 0) through the `fault_server` fixture,
which stops it (waking stalled handlers and joining every thread) at teardown. Timing is measured, never waited
for: the only sleeps are the server's simulated latency and the client's own backoff.
"""
import asyncio, itertools, logging, os, time, traceback
from collections import Counter
import httpx, pytest
from faststripe.core import (StripeApi, AsyncStripeApi, StripeError, APIError, APIConnectionError, RateLimitError,
                             CardError, StripePermissionError,
                             InvalidRequestError, AuthenticationError, IdempotencyError, LiveModeError, pages, paged)
from faultserver import Fault, FaultServer, retryable, late_kinds, default_menu

KEY = 'sk_test_' + 'Fs51reliab1l1tyK3y' * 3   # made up; long enough that any fragment of it is recognisable
SECRET = KEY[len('sk_test_'):]                  # the part that must never be shown
OK = Fault()

_clients = []

@pytest.fixture
def fault_server():
    "Start FaultServers on demand (`fault_server(**kw)`); at teardown, close the sync clients made and stop them all"
    servers = []
    def make(**kw):
        srv = FaultServer(**kw).start()
        servers.append(srv)
        return srv
    yield make
    while _clients: _clients.pop().close()
    for s in servers: s.stop()

def client(srv, cls=StripeApi, **kw):
    "A client with small backoff numbers, so a test with many retries stays fast"
    kw = dict(dict(timeout=1.0, retry_delay=0.002, max_retry_delay=0.01), **kw)
    api = cls(KEY, srv.url, **kw)
    if cls is StripeApi: _clients.append(api)
    return api

def timed(f, *args, **kw):
    t0 = time.monotonic()
    try: res = f(*args, **kw)
    except StripeError as e: res = e
    return res, time.monotonic() - t0

async def atimed(coro):
    t0 = time.monotonic()
    try: res = await coro
    except StripeError as e: res = e
    return res, time.monotonic() - t0

def expected_error(f):
    "The StripeError class a final fault `f` should surface as"
    if f.kind not in ('error', 'error_late'): return APIConnectionError
    # by status, as the official stripe package maps them (the body's `type` only marks idempotency errors)
    return {400: InvalidRequestError, 401: AuthenticationError, 402: CardError, 403: StripePermissionError,
            404: InvalidRequestError, 429: RateLimitError}.get(f.status, APIError)

# ---------------------------------------------------------------------------------------------------------------
# 1,000 creates through a server where about a third of attempts fail

N, TIMEOUT, DELAY, MAX_DELAY, RETRIES = 1000, 0.25, 0.002, 0.02, 2
MAX_RETRY_AFTER = max(float(f.retry_after or 0) for f, _ in default_menu())

class Wire:
    """What the client put on the wire, seen from inside its httpx transport: for each create, keyed by the call's
    metadata[i], the Idempotency-Key, attempt id and outcome (status, or exception name) of every attempt. The
    transport tags each attempt with an `X-Attempt` header, so the server's record of it can be found. Under load an
    attempt can fail before the server's handler sees it (a connect timeout while 50 connections open at once), or
    time out on the client while the server is answering; so the client's own count is the one the bounds use."""
    def __init__(self): self.calls, self.ids = {}, itertools.count()
    def tag(self, request):
        request.headers['X-Attempt'] = str(next(self.ids))
    def record(self, request, outcome):
        tag = dict(httpx.QueryParams(request.content.decode())).get('metadata[i]')
        self.calls.setdefault(tag, []).append((request.headers.get('idempotency-key'), request.headers['x-attempt'], outcome))
    def transport(self, is_async=False):
        wire, base = self, (httpx.AsyncHTTPTransport if is_async else httpx.HTTPTransport)
        class T(base):
            def handle_request(self, request):
                wire.tag(request)
                try:
                    r = super().handle_request(request)
                    r.read()  # a response cut short fails here, where it is counted
                except Exception as e: wire.record(request, type(e).__name__); raise
                wire.record(request, r.status_code)
                return r
            async def handle_async_request(self, request):
                wire.tag(request)
                try:
                    r = await super().handle_async_request(request)
                    await r.aread()
                except Exception as e: wire.record(request, type(e).__name__); raise
                wire.record(request, r.status_code)
                return r
        return T()

def check_run(srv, wire, results, *, slack, all_kinds=True):
    """Check the invariants of issue 5 over a run: `results[i] = (obj or StripeError, elapsed)` for the call whose
    body carried metadata[i]=i"""
    by_tag, by_key = srv.by_tag(), srv.objects_by_key()
    posts = [a for a in srv.attempts if a.method == 'POST']
    # the schedule did what it says: about a third of attempts failed, in every way the menu offers
    failed = [a for a in posts if a.fault.kind not in ('ok', 'slow')]
    assert 0.25 <= len(failed) / len(posts) <= 0.42, (len(failed), len(posts))
    if all_kinds: assert {str(f) for f, _ in default_menu()} <= {str(a.fault) for a in failed}
    # every attempt carried an idempotency key; all attempts of one call the same key; no two calls share one
    assert all(a.key for a in posts)
    keys = {}
    for i in results:
        sent = wire.calls[str(i)]
        assert len({k for k, _, _ in sent}) == 1, f'call {i} changed its Idempotency-Key between attempts'
        keys[i] = sent[0][0]
        assert {a.key for a in by_tag.get(str(i), [])} <= {keys[i]}
    assert len(set(keys.values())) == len(results) and None not in keys.values()
    # no object created twice: at most one object per key, none without a key
    assert all(len(v) == 1 for v in by_key.values()), [k for k, v in by_key.items() if len(v) > 1]
    assert None not in by_key
    assert len(srv.objects) == len(by_key) == len({o['_tag'] for o in srv.objects})
    n_ok = n_err = unseen = 0
    worst = -1e9  # how close the slowest call came to its bound (before slack)
    for i, (res, elapsed) in results.items():
        atts, objs, sent = by_tag.get(str(i), []), by_key.get(keys[i], []), wire.calls[str(i)]
        n = len(sent)
        assert 1 <= n <= RETRIES + 1 and len(atts) <= n
        # pair each attempt the client made with the server's record of it (none: it failed on the way there)
        rec = {a.headers.get('x-attempt'): a for a in atts}
        pairs = [(o, rec.get(aid)) for _, aid, o in sent]
        for o, a in pairs:
            if isinstance(o, int): assert a is not None and a.status == o, (i, sent, [str(a.fault) for a in atts])
        unseen += sum(a is None for _, a in pairs)
        # retried only after connection errors (which include a server too slow for the timeout) or retryable answers
        assert all(retryable(a.fault) for o, a in pairs[:-1] if isinstance(o, int)), f'call {i} was retried after a final answer'
        final_o, final_a = pairs[-1]
        final_answer = isinstance(final_o, int)
        if isinstance(res, StripeError):
            n_err += 1
            last = final_a.fault if final_answer else Fault('drop')
            assert type(res) is expected_error(last), (i, res, last)
            assert res.attempts == n, (i, res.attempts, sent)
            assert n == RETRIES + 1 or not retryable(last)
            if res.attempts > 1: assert f'after {res.attempts} attempts' in str(res)
            # an error may follow a create the client never heard of (late faults), but never two creates
            assert len(objs) <= 1
            if objs: assert any(a.fault.kind in late_kinds for a in atts)
        else:
            n_ok += 1
            assert type(res).__name__ == 'Customer'
            assert len(objs) == 1 and res.id == objs[0]['id'] and res.metadata == {'i': str(i)}
            assert final_o == 200 and final_a.fault.kind in ('ok', 'slow')
        # no call takes longer than timeout x attempts + the backoff it may have waited (+ slack)
        backoff = (n - 1) * max(MAX_DELAY, MAX_RETRY_AFTER)
        worst = max(worst, elapsed - TIMEOUT * n - backoff)
        assert elapsed <= TIMEOUT * n + backoff + slack, (i, elapsed, sent, [str(a.fault) for a in atts])
    assert n_ok + n_err == len(results)
    assert n_ok > 0.9 * len(results) and n_err > 0  # both outcomes are exercised
    # attempts that never reached the handler are connect timeouts of the 0.25 s budget while 50 connections open at
    # once: a few in a hundred on a loaded 2-core machine; more would mean the run tests the machine, not the client
    assert unseen <= 0.05 * len(posts), (unseen, len(posts))
    return n_ok, n_err, worst

def test_thousand_creates_sync(fault_server):
    srv = fault_server(seed=1, fail=1/3, slow=0.05, slow_delay=0.02, menu=default_menu(stall=TIMEOUT + 0.4))
    t0, wire = time.monotonic(), Wire()
    with client(srv, timeout=TIMEOUT, max_retries=RETRIES, retry_delay=DELAY, max_retry_delay=MAX_DELAY,
                transport=wire.transport()) as api:
        results = {i: timed(api.customers.create, email=f'c{i}@example.com', metadata={'i': i}) for i in range(N)}
    n_ok, n_err, worst = check_run(srv, wire, results, slack=0.25)
    assert time.monotonic() - t0 < 60
    print(f'sync: {n_ok} created, {n_err} errors, {len(srv.attempts)} attempts in {time.monotonic() - t0:.1f}s; worst call {worst:+.3f}s vs its bound')

def test_creates_through_a_faulty_proxy_in_front_of_the_offline_stripe(fault_server):
    """The same guarantees with faststripe's offline Stripe doing the work (its own idempotency records, real
    customer objects) behind the fault-injecting proxy; its own list of customers is the independent count"""
    from faststripe.offline import serve
    off = serve(port=0, host='127.0.0.1')
    try:
        srv = fault_server(seed=5, fail=1/3, slow=0.05, upstream=off.url, menu=default_menu(stall=TIMEOUT + 0.4))
        n, wire = 300, Wire()
        with client(srv, timeout=TIMEOUT, max_retries=RETRIES, retry_delay=DELAY, max_retry_delay=MAX_DELAY,
                    transport=wire.transport()) as api:
            results = {i: timed(api.customers.create, email=f'c{i}@example.com', metadata={'i': i}) for i in range(n)}
        n_ok, n_err, worst = check_run(srv, wire, results, slack=0.5, all_kinds=False)
        with StripeApi(KEY, off.url) as direct: there = pages(direct.customers.list)
        tags = Counter(c.metadata['i'] for c in there)
        assert max(tags.values()) == 1 and len(there) == len(srv.objects)  # nothing created twice, all accounted for
        for i, (res, _) in results.items():
            if not isinstance(res, StripeError): assert tags[str(i)] == 1 and res.id in {c.id for c in there}
    finally: off.shutdown()

async def loop_lag(into, every=0.02):
    "Record in `into['lag']` the longest the event loop was late to wake a sleeper"
    while True:
        t = time.monotonic()
        await asyncio.sleep(every)
        into['lag'] = max(into['lag'], time.monotonic() - t - every)

def test_thousand_creates_async_50_in_flight(fault_server):
    srv = fault_server(seed=2, fail=1/3, slow=0.05, slow_delay=0.02, menu=default_menu(stall=TIMEOUT + 0.4))
    t0, wire, lagc = time.monotonic(), Wire(), Counter()
    async def run():
        sem, active = asyncio.Semaphore(50), Counter()
        async with client(srv, AsyncStripeApi, timeout=TIMEOUT, max_retries=RETRIES, retry_delay=DELAY,
                          max_retry_delay=MAX_DELAY, transport=wire.transport(is_async=True)) as api:
            async def one(i):
                async with sem:
                    active['now'] += 1
                    active['peak'] = max(active['peak'], active['now'])
                    try: return i, await atimed(api.customers.create(email=f'c{i}@example.com', metadata={'i': i}))
                    finally: active['now'] -= 1
            lag = asyncio.create_task(loop_lag(lagc))
            res = dict(await asyncio.gather(*(one(i) for i in range(N))))
            lag.cancel()
            return res, active['peak']
    results, peak = asyncio.run(run())
    # 50 coroutines and this server's threads share one process: a call waits for its turn on the event loop too.
    # The bound allows for the worst scheduling delay seen (tiny on an idle machine, large on an overloaded one) at
    # each of the few awaits of each attempt.
    n_ok, n_err, worst = check_run(srv, wire, results, slack=1.0 + 4 * (RETRIES + 1) * lagc['lag'])
    # the calls really were concurrent: 50 in flight in the client, and many connections open at once at the server
    assert peak == 50 and srv.peak_conns >= 20, (peak, srv.peak_conns, srv.peak_in_flight)
    assert time.monotonic() - t0 < 60
    print(f'async: {n_ok} created, {n_err} errors, peak {srv.peak_conns} connections, {srv.peak_in_flight} handled at once, {time.monotonic() - t0:.1f}s, loop lag up to {lagc["lag"]:.3f}s; worst call {worst:+.3f}s vs its bound')

# ---------------------------------------------------------------------------------------------------------------
# What is retried, and what is not

def _one(srv, *faults, api=None, **kw):
    "Script `faults`, make one create, and return (result, elapsed, attempts of that call)"
    srv.script(*faults)
    api = api or client(srv)
    res, elapsed = timed(api.customers.create, email='a@example.com', metadata={'i': 'one'}, **kw)
    atts = srv.by_tag().get('one', [])
    srv.attempts.clear()
    return res, elapsed, atts

@pytest.mark.parametrize('fault', [Fault('error', 503, should_retry='false'), Fault('error', 429, should_retry='false'),
                                   Fault('error', 500, should_retry='false', retry_after='0')])
def test_should_retry_false_is_never_retried(fault_server, fault):
    srv = fault_server()
    res, _, atts = _one(srv, fault, OK, OK)
    assert isinstance(res, StripeError) and res.http_status == fault.status and res.attempts == 1
    assert len(atts) == 1 and srv.objects == []

@pytest.mark.parametrize('status', [400, 401, 402, 403, 404])
def test_other_4xx_never_retried(fault_server, status):
    srv = fault_server()
    res, _, atts = _one(srv, Fault('error', status), OK)
    assert isinstance(res, StripeError) and res.http_status == status and len(atts) == 1 and 'attempts' not in str(res)
    assert srv.objects == []

@pytest.mark.parametrize('fault', [Fault('error', 409), Fault('error', 429), Fault('error', 500), Fault('error', 502),
                                   Fault('error', 503), Fault('error', 400, should_retry='true'), Fault('drop'),
                                   Fault('reset'), Fault('drop_late'), Fault('partial_late'), Fault('error_late', 502),
                                   Fault('stall', delay=2), Fault('stall_late', delay=2)])
def test_retried_once_then_created_once(fault_server, fault):
    srv = fault_server()
    res, elapsed, atts = _one(srv, fault, OK, api=client(srv, timeout=0.3))
    assert type(res).__name__ == 'Customer', res
    assert [str(a.fault) for a in atts] == [str(fault), 'ok'] and len({a.key for a in atts}) == 1
    assert len(srv.objects) == 1 and srv.objects[0]['id'] == res.id
    assert atts[1].replayed == (fault.kind in late_kinds)  # the retry got the stored answer, not a second object
    assert elapsed < 0.3 * 2 + 0.5

def test_dropped_mid_upload_then_created_once(fault_server):
    "The server resets the connection while a 600 kB body is still being sent"
    srv = fault_server()
    srv.script(Fault('drop_early'), OK)
    res = client(srv).customers.create(email='a@example.com', description='x' * 600_000, metadata={'i': 'big'})
    assert [str(a.fault) for a in srv.attempts] == ['drop_early', 'ok'] and len({a.key for a in srv.attempts}) == 1
    assert len(srv.objects) == 1 and res.id == srv.objects[0]['id']

def test_exhausted_retries_say_how_many(fault_server):
    srv = fault_server()
    res, _, atts = _one(srv, *[Fault('error', 503)] * 5, api=client(srv, max_retries=3))
    assert isinstance(res, APIError) and res.attempts == 4 == len(atts) and '(after 4 attempts)' in str(res)
    res, _, atts = _one(srv, *[Fault('drop')] * 3)
    assert isinstance(res, APIConnectionError) and '(after 3 attempts)' in str(res) and len(atts) == 3

def test_hung_server_never_hangs_the_caller(fault_server):
    srv = fault_server(plan=lambda key, n, body: Fault('stall', delay=30))
    api = client(srv, timeout=0.2, max_retries=2)
    res, elapsed, atts = _one(srv, api=api)
    assert isinstance(res, APIConnectionError) and 'timed out' in str(res) and '(after 3 attempts)' in str(res)
    assert len(atts) == 3 and srv.objects == []
    assert 0.6 <= elapsed <= 0.6 + 2 * 0.01 + 0.4

def test_slow_answer_within_timeout_is_not_retried(fault_server):
    srv = fault_server()
    res, elapsed, atts = _one(srv, Fault('slow', delay=0.3), api=client(srv, timeout=1.0))
    assert type(res).__name__ == 'Customer' and len(atts) == 1 and 0.3 <= elapsed < 1.0

# ---------------------------------------------------------------------------------------------------------------
# Retry-After

@pytest.mark.parametrize('status', [429, 503])
def test_retry_after_is_honoured(fault_server, status):
    "With backoff capped at 10 ms, the wait between the attempts comes from Retry-After alone"
    srv = fault_server()
    api = client(srv, retry_delay=0.001, max_retry_delay=0.01)
    res, elapsed, atts = _one(srv, Fault('error', status, retry_after='0.3'), OK, api=api)
    assert type(res).__name__ == 'Customer'
    gap = atts[1].start - atts[0].end
    assert 0.28 <= gap <= 0.3 + 0.25, gap
    # the same failure without Retry-After is retried after the (tiny) backoff only
    res, elapsed, atts = _one(srv, Fault('error', status), OK, api=api)
    assert atts[1].start - atts[0].end < 0.15

def test_backoff_is_exponential_capped_and_jittered(fault_server):
    """retry_delay=0.1, max_retry_delay=0.15: the waits before retries 1, 2, 3 are 0.1, 0.2 -> 0.15, 0.4 -> 0.15,
    each times a random factor in [0.5, 1], as measured between the server's answer and the next attempt"""
    srv = fault_server(plan=lambda key, n, body: Fault('error', 503))
    api = client(srv, retry_delay=0.1, max_retry_delay=0.15, max_retries=3)
    for _ in range(3):
        res, elapsed, atts = _one(srv, api=api)
        assert isinstance(res, APIError) and res.attempts == 4 == len(atts)
        gaps = [b.start - a.end for a, b in zip(atts, atts[1:])]
        for gap, full in zip(gaps, [0.1, 0.15, 0.15]):
            assert 0.5 * full - 0.005 <= gap <= full + 0.05, gaps

def test_no_wait_after_the_last_attempt(fault_server):
    "A Retry-After on the final answer is not waited for: the error comes at once"
    srv = fault_server()
    res, elapsed, atts = _one(srv, Fault('error', 429, retry_after='5'), max_retries=0)
    assert isinstance(res, RateLimitError) and len(atts) == 1 and elapsed < 1

def test_retry_after_is_not_a_reason_to_retry(fault_server):
    srv = fault_server()
    res, elapsed, atts = _one(srv, Fault('error', 400, retry_after='5'), OK)
    assert isinstance(res, InvalidRequestError) and len(atts) == 1 and elapsed < 1

def test_retry_after_unparseable_is_ignored(fault_server):
    srv = fault_server()
    res, elapsed, atts = _one(srv, Fault('error', 503, retry_after='Wed, 21 Oct 2099 07:28:00 GMT'), OK,
                              api=client(srv, retry_delay=0.001, max_retry_delay=0.01))
    assert type(res).__name__ == 'Customer' and atts[1].start - atts[0].end < 0.15

# ---------------------------------------------------------------------------------------------------------------
# Idempotency keys and per-call options on the wire

def test_caller_key_is_sent_and_replays(fault_server):
    srv = fault_server()
    api = client(srv)
    a = api.customers.create(email='a@example.com', idempotency_key='order-42')
    b = api.customers.create(email='a@example.com', idempotency_key='order-42')
    assert a.id == b.id and len(srv.objects) == 1
    assert [x.key for x in srv.attempts] == ['order-42', 'order-42']
    assert b.last_response.headers.get('idempotent-replayed') == 'true'
    # same key, other parameters: Stripe's 400 idempotency_error, not retried, nothing created
    with pytest.raises(IdempotencyError, match='same parameters'):
        api.customers.create(email='other@example.com', idempotency_key='order-42')
    assert len(srv.objects) == 1

def test_generated_keys_are_uuid4_and_fresh_per_call(fault_server):
    import uuid
    srv = fault_server()
    api = client(srv)
    for _ in range(3): api.customers.create(email='a@example.com')
    keys = [a.key for a in srv.attempts]
    assert len(set(keys)) == 3 and all(uuid.UUID(k).version == 4 for k in keys)
    api.customers.retrieve(srv.objects[0]['id'])
    assert srv.attempts[-1].method == 'GET' and srv.attempts[-1].key is None

def _wire_styles(api):
    "The same create through each way faststripe offers to call it"
    return {'resource': api.customers.create, 'path': api.customers.post, 'by_path': api['/v1/customers', 'POST'],
            'raw': lambda **kw: api('/v1/customers', 'POST', data={'email': kw.pop('email')}, **kw)}

@pytest.mark.parametrize('style', ['resource', 'path', 'by_path', 'raw'])
def test_per_call_options_reach_the_wire(fault_server, style):
    srv = fault_server()
    api = client(srv, headers={'X-Client-Wide': 'yes'})
    f = _wire_styles(api)[style]
    srv.script(Fault('error', 503), OK)
    f(email='a@example.com', idempotency_key=f'k-{style}', stripe_account='acct_123', stripe_version='2020-08-27',
      headers={'X-Trace': 'abc'})
    assert len(srv.attempts) == 2
    for a in srv.attempts:
        h = a.headers
        assert (a.key, h['stripe-account'], h['stripe-version'], h['x-trace'], h['x-client-wide']) == \
               (f'k-{style}', 'acct_123', '2020-08-27', 'abc', 'yes')
        assert h['authorization'] == f'Bearer {KEY}'
    # without options: the client's defaults
    srv.attempts.clear()
    f(email='a@example.com')
    h = srv.attempts[0].headers
    assert 'stripe-account' not in h and 'x-trace' not in h and h['stripe-version'] == api.stripe_version

@pytest.mark.parametrize('style', ['resource', 'raw'])
def test_per_call_max_retries(fault_server, style):
    srv = fault_server(plan=lambda key, n, body: Fault('error', 503))
    f = _wire_styles(client(srv, max_retries=5))[style]
    for n in (0, 1, 3):
        srv.attempts.clear()
        with pytest.raises(APIError) as ei: f(email='a@example.com', max_retries=n)
        assert len(srv.attempts) == n + 1 == ei.value.attempts

@pytest.mark.parametrize('timeout', [0.2, httpx.Timeout(0.2)])
def test_per_call_timeout(fault_server, timeout):
    "The client waits 30 s by default; the call's own timeout wins"
    srv = fault_server(plan=lambda key, n, body: Fault('stall', delay=30))
    api = client(srv, timeout=30)
    res, elapsed, atts = _one(srv, api=api, timeout=timeout, max_retries=1)
    assert isinstance(res, APIConnectionError) and 'timed out' in str(res) and len(atts) == 2
    assert 0.4 <= elapsed < 0.4 + 0.02 + 0.4

def test_per_call_options_on_get(fault_server):
    srv = fault_server()
    api = client(srv)
    cus = api.customers.create(email='a@example.com')
    got = api.customers.retrieve(cus.id, stripe_account='acct_9', stripe_version='2020-08-27', headers={'X-Trace': 't'})
    assert got.id == cus.id
    h = srv.attempts[-1].headers
    assert (h['stripe-account'], h['stripe-version'], h['x-trace']) == ('acct_9', '2020-08-27', 't')

def test_async_twin_retries_options_and_errors(fault_server):
    srv = fault_server()
    async def run():
        async with client(srv, AsyncStripeApi, timeout=0.3) as api:
            srv.script(Fault('drop_late'), Fault('error', 429, retry_after='0.2'), OK)
            t0 = time.monotonic()
            a = await api.customers.create(email='a@example.com', metadata={'i': 'a'}, idempotency_key='ak-1',
                                           stripe_account='acct_1', stripe_version='2020-08-27', headers={'X-Trace': 'z'},
                                           max_retries=3)
            took = time.monotonic() - t0
            srv.script(Fault('error', 503, should_retry='false'))
            with pytest.raises(APIError) as ei: await api.customers.create(email='b@example.com', metadata={'i': 'b'})
            srv.script(Fault('stall', delay=30), Fault('stall', delay=30))
            res, elapsed = await atimed(api.customers.create(email='c@example.com', metadata={'i': 'c'}, timeout=0.2, max_retries=1))
            return a, took, ei.value, res, elapsed
    a, took, err, res, elapsed = asyncio.run(run())
    atts = srv.by_tag()
    assert [str(x.fault) for x in atts['a']] == ['drop_late', 'error:429:ra=0.2', 'ok'] and took >= 0.2
    assert {(x.key, x.headers['stripe-account'], x.headers['stripe-version'], x.headers['x-trace']) for x in atts['a']} == \
           {('ak-1', 'acct_1', '2020-08-27', 'z')}
    assert atts['a'][-1].replayed and a.id == srv.objects[0]['id'] and len(srv.objects) == 1
    assert err.attempts == 1 and len(atts['b']) == 1
    assert isinstance(res, APIConnectionError) and '(after 2 attempts)' in str(res) and elapsed < 0.4 + 0.5

# ---------------------------------------------------------------------------------------------------------------
# The key never shows: logs (every level), reprs, exceptions, tracebacks

def _texts_of(*things):
    "Everything a person (or an error reporter) may be shown about each thing"
    out = []
    for t in things:
        out += [str(t), repr(t)]
        if isinstance(t, BaseException):
            out.append(''.join(traceback.format_exception(t)))
            out += [repr(a) for a in t.args]
        last = getattr(t, 'last_response', None)
        if last is not None: out.append(repr(last))
    return out

def _assert_no_key(texts, key=KEY):
    secret = key.split('_', 2)[2]
    for t in texts:
        assert secret not in t and secret[:12] not in t, f'key leaked in: {t[:300]}'

@pytest.mark.parametrize('level', [logging.DEBUG, logging.INFO])
def test_key_never_in_logs_reprs_or_errors(fault_server, caplog, level):
    srv = fault_server(api_key=KEY, echo_key=True)
    caplog.set_level(level)                        # every logger, httpx and httpcore included
    caplog.set_level(level, logger='faststripe')
    api = client(srv, timeout=0.3)
    shown = [api, api.customers, api.customers.create]
    # a plain create, one that passes the key as a parameter value, and one retried after an echoing 500
    shown.append(api.customers.create(email='a@example.com', metadata={'note': f'oops {KEY}'}))
    srv.script(Fault('error', 500), OK)
    shown.append(api.customers.create(email='b@example.com'))
    # errors: echoed in the message of a 503 (after retries), of a 400, of a 429; connection errors; timeouts
    srv.script(*[Fault('error', 503)] * 3)
    with pytest.raises(APIError) as e1: api.customers.create(email='c@example.com')
    srv.script(Fault('error', 400))
    with pytest.raises(InvalidRequestError) as e2: api.customers.create(email='c@example.com')
    srv.script(Fault('error', 429, should_retry='false'))
    with pytest.raises(RateLimitError) as e3: api.customers.create(email='c@example.com')
    srv.script(Fault('drop'), Fault('reset'), Fault('partial_late'))
    with pytest.raises(APIConnectionError) as e4: api.customers.create(email='d@example.com')
    srv.script(Fault('stall', delay=5))
    with pytest.raises(APIConnectionError) as e5: api.customers.create(email='e@example.com', max_retries=0)
    # a wrong key, echoed by the server's 401
    wrong = 'sk_test_' + 'Wr0ngK3yWr0ngK3y' * 3
    with pytest.raises(AuthenticationError) as e6, StripeApi(wrong, srv.url) as wrong_api:
        wrong_api.customers.create(email='f@example.com')
    errs = [e.value for e in (e1, e2, e3, e4, e5, e6)]
    assert all(SECRET not in e.message for e in errs[:3]) and 'sk_test_***' in errs[0].message  # it was echoed
    assert 'Invalid API Key provided: sk_test_***' in str(errs[5])
    texts = _texts_of(*shown, *errs) + [caplog.text] + [r.getMessage() for r in caplog.records]
    _assert_no_key(texts)
    _assert_no_key(texts, wrong)
    # and the logs did say what happened
    assert 'POST /v1/customers -> 500' in caplog.text and 'attempt 2' in caplog.text and 'ReadTimeout' in caplog.text
    if level == logging.DEBUG: assert 'params:' in caplog.text and 'email=a@example.com' in caplog.text
    else: assert 'email=' not in caplog.text  # no bodies at INFO
    api.close()

def test_key_never_in_async_logs_or_errors(fault_server, caplog):
    srv = fault_server(api_key=KEY, echo_key=True)
    caplog.set_level(logging.DEBUG)
    async def run():
        async with client(srv, AsyncStripeApi, timeout=0.3) as api:
            srv.script(Fault('error', 503), OK)
            ok = await api.customers.create(email='a@example.com')
            srv.script(*[Fault('error', 503)] * 3)
            res, _ = await atimed(api.customers.create(email='b@example.com'))
            return api, ok, res
    api, ok, err = asyncio.run(run())
    assert isinstance(err, APIError) and err.attempts == 3
    _assert_no_key(_texts_of(api, ok, err) + [caplog.text])

# ---------------------------------------------------------------------------------------------------------------
# Live keys

@pytest.mark.parametrize('key', ['sk_live_' + 'N0tR34lL1v3K3y' * 3, 'rk_live_' + 'N0tR34lL1v3K3y' * 3])
def test_live_key_is_flagged_and_can_be_refused(key):
    api = StripeApi(key, 'http://127.0.0.1:9', live_ok=False)
    assert 'LIVE' in repr(api) and key[8:] not in repr(api) and api.is_live and api.mode == 'live'
    with pytest.raises(LiveModeError, match='live key') as ei: api.check_live('create test customers')
    _assert_no_key(_texts_of(ei.value), key)
    StripeApi(key, 'http://127.0.0.1:9').check_live()                  # live_ok defaults to True
    test = StripeApi(KEY, 'http://127.0.0.1:9', live_ok=False)
    assert 'TEST' in repr(test) and 'LIVE' not in repr(test) and not test.is_live
    test.check_live()
    assert 'LIVE' in repr(AsyncStripeApi(key, 'http://127.0.0.1:9'))

def test_idempotency_key_only_on_post_and_v2_delete(fault_server):
    "The server answers 404 to these paths, but records what each request carried"
    srv = fault_server()
    api = client(srv)
    for verb, path in [('POST', '/v1/products'), ('DELETE', '/v2/core/event_destinations/ed_1'), ('GET', '/v1/products'),
                       ('DELETE', '/v1/products/prod_1'), ('GET', '/v2/core/event_destinations')]:
        with pytest.raises(InvalidRequestError): api(path, verb)
    test = {(a.method, a.path): a.key for a in srv.attempts}
    assert test[('POST', '/v1/products')] and test[('DELETE', '/v2/core/event_destinations/ed_1')]
    assert test[('GET', '/v1/products')] is test[('DELETE', '/v1/products/prod_1')] is test[('GET', '/v2/core/event_destinations')] is None

def test_thousand_creates_from_ten_threads_share_one_client(fault_server):
    "A sync client shared by threads: the same guarantees, one connection pool"
    from concurrent.futures import ThreadPoolExecutor
    srv = fault_server(seed=3, fail=1/3, slow=0.05, slow_delay=0.02, menu=default_menu(stall=TIMEOUT + 0.4))
    wire = Wire()
    with client(srv, timeout=TIMEOUT, max_retries=RETRIES, retry_delay=DELAY, max_retry_delay=MAX_DELAY,
                transport=wire.transport()) as api:
        with ThreadPoolExecutor(10) as ex:
            futs = {i: ex.submit(timed, api.customers.create, email=f'c{i}@example.com', metadata={'i': i}) for i in range(N)}
            results = {i: f.result() for i, f in futs.items()}
    # threads contend for the GIL with the server's threads: allow a little more scheduling slack than one thread
    check_run(srv, wire, results, slack=1.0)
    assert srv.peak_conns >= 5

def test_cancelled_call_leaves_the_async_client_usable(fault_server):
    "asyncio.wait_for cancelling a stalled call: the next calls on the same client work"
    srv = fault_server()
    async def run():
        async with client(srv, AsyncStripeApi, timeout=5) as api:
            srv.script(*[Fault('stall', delay=5)] * 3)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(api.customers.create(email='a@example.com', metadata={'i': 'x'}), 0.2)
            srv.script()
            srv._script.clear()
            return [await api.customers.create(email=f'{i}@example.com') for i in range(3)]
    t0 = time.monotonic()
    made = asyncio.run(run())
    assert len({c.id for c in made}) == 3 and time.monotonic() - t0 < 2

def test_pages_through_faults_sync_and_async(fault_server):
    "Listing 250 customers a page at a time while a third of the page requests fail: every customer once, in order"
    srv = fault_server(seed=4, menu=default_menu(stall=0.6))
    api = client(srv, timeout=0.25)
    made = [api.customers.create(email=f'c{i}@example.com').id for i in range(250)]
    srv.fail = 1/3
    kw = dict(timeout=0.25, max_retries=8)
    got = pages(api.customers.list, limit=100, **kw)
    assert [c.id for c in got] == made
    async def arun():
        async with client(srv, AsyncStripeApi, **kw) as aapi:
            every = await pages(aapi.customers.list, limit=50)
            n = len([p async for p in paged(aapi.customers.list, limit=100)])
            return every, n
    every, n = asyncio.run(arun())
    assert [c.id for c in every] == made and n == 3
    gets = [a for a in srv.attempts if a.method == 'GET']
    assert sum(a.fault.kind not in ('ok', 'slow') for a in gets) >= 3  # the pages really were fought for
    assert len(srv.objects) == 250

HELPER_CALLS = [('customer', ('a@example.com',)), ('product', ('Pro plan',)), ('price', ('prod_1', 500)),
                ('one_time_payment', ('Pro plan', 500, 'https://example.com/ok', 'https://example.com/no')),
                ('subscription', ('Pro plan', 500, 'https://example.com/ok', 'https://example.com/no')),
                ('payment_link', ('Pro plan', 500))]

@pytest.mark.parametrize('name,args', HELPER_CALLS, ids=[n for n, _ in HELPER_CALLS])
def test_helpers_refuse_a_live_key_before_sending_anything(fault_server, name, args):
    srv = fault_server()
    live = 'sk_live_' + 'N0tR34lL1v3K3y' * 3
    with StripeApi(live, srv.url, live_ok=False) as api:
        with pytest.raises(LiveModeError) as ei: getattr(api, name)(*args)
    async def arun():
        async with AsyncStripeApi(live, srv.url, live_ok=False) as aapi:
            with pytest.raises(LiveModeError): await getattr(aapi, name)(*args)
    asyncio.run(arun())
    assert srv.attempts == []
    _assert_no_key(_texts_of(ei.value), live)

# ---------------------------------------------------------------------------------------------------------------
# Gaps found in core while writing this suite. Those without a `@core_gap` mark were fixed in core (43a56c9) and
# stay as regression tests. Tests marked `@core_gap` (named test_gap_*) state behaviour issue 5 asks for that core
# does not have yet: they are strict expected failures, so the suite stays usable until core is fixed; a fix makes
# such a test pass, which strict xfail reports as a failure: then delete its `@core_gap`. FASTSTRIPE_GAPS=fail runs
# them as plain (red) tests.

core_gap = (lambda f: f) if os.environ.get('FASTSTRIPE_GAPS') == 'fail' else \
    pytest.mark.xfail(strict=True, reason='gap in faststripe.core reported on issue 5')

def test_slow_drip_answer_is_bounded_by_the_timeout(fault_server):
    """A server that sends its answer one byte every 20 ms never trips httpx's per-read timeout, so the call took as
    long as the server liked (~2 s here), not timeout x attempts + backoff"""
    srv = fault_server()
    res, elapsed, atts = _one(srv, Fault('trickle', delay=0.02), api=client(srv, timeout=0.3), max_retries=0)
    assert elapsed <= 0.3 + 0.3, f'call took {elapsed:.2f}s with a 0.3 s timeout and no retries'
    assert isinstance(res, APIConnectionError) and 'timed out' in str(res)

@pytest.mark.parametrize('kind', ['trickle', 'trickle_head'])
def test_slow_drip_answer_is_bounded_async(fault_server, kind):
    "Async, a dripping body or dripping headers: each attempt is cut at the limit and retried"
    srv = fault_server()
    srv.script(Fault(kind, delay=0.02), Fault(kind, delay=0.02))
    async def run():
        async with client(srv, AsyncStripeApi, timeout=0.3) as api:
            return await atimed(api.customers.create(email='a@example.com', max_retries=1))
    res, elapsed = asyncio.run(run())
    assert isinstance(res, APIConnectionError) and '(after 2 attempts)' in str(res)
    assert elapsed <= 2 * 0.3 + 0.01 + 0.4, elapsed


def test_gap_slow_drip_headers_are_bounded_by_the_timeout(fault_server):
    """The same, but the status line and headers drip (one byte every 20 ms, ~2.5 s in all). This was a gap: the
    whole-attempt limit was only checked between body chunks, after the headers had arrived. Fixed by the deadline
    on every socket operation of faststripe's own transport."""
    srv = fault_server()
    res, elapsed, atts = _one(srv, Fault('trickle_head', delay=0.02), api=client(srv, timeout=0.3), max_retries=0)
    assert elapsed <= 0.3 + 0.3, f'call took {elapsed:.2f}s with a 0.3 s timeout and no retries'
    assert isinstance(res, APIConnectionError) and 'timed out' in str(res), res

def test_default_transport_carries_the_deadline(fault_server):
    "The clients' own transports have the deadline backend; a transport the caller passes is used as it is"
    srv = fault_server()
    from faststripe.core import _DeadlineBackend, _AsyncDeadlineBackend
    assert isinstance(client(srv)._http()._transport._pool._network_backend, _DeadlineBackend)
    async def backend():
        async with client(srv, AsyncStripeApi) as api: return api._http()._transport._pool._network_backend
    assert isinstance(asyncio.run(backend()), _AsyncDeadlineBackend)
    mine = httpx.HTTPTransport()
    assert client(srv, transport=mine)._http()._transport is mine and not isinstance(mine._pool._network_backend, _DeadlineBackend)

def test_gap_undecodable_body_is_a_stripe_error(fault_server):
    """A proxy that answers `Content-Encoding: gzip` with a body that is not gzip: httpx raises `httpx.DecodingError`,
    which is not a `TransportError`, so it escapes as a raw httpx exception instead of a StripeError (and is not
    retried, though the retry would get the stored answer)"""
    srv = fault_server()
    res, elapsed, atts = _one(srv, Fault('bad_gzip'), OK)
    assert type(res).__name__ == 'Customer' and len(srv.objects) == 1 and atts[-1].replayed

def test_key_after_a_newline_in_a_non_json_body_is_redacted(fault_server):
    "An HTML error page that repeats the key on its own line: repr() of the body turned '\\n' into 'n', hiding the \\b"
    srv = fault_server(api_key=KEY, echo_key=True)
    res, _, _ = _one(srv, Fault('error', 502, html=True, should_retry='false'))
    assert isinstance(res, APIError)
    _assert_no_key(_texts_of(res))

@pytest.mark.parametrize('field', ['param', 'code', 'decline_code'])
def test_key_echoed_in_error_fields_is_redacted(fault_server, field):
    "A server that repeats the key in an error field that str(e) shows"
    srv = fault_server(api_key=KEY, echo_key=True)
    res, _, _ = _one(srv, Fault('error', 400, echo_in=field))
    assert isinstance(res, InvalidRequestError)
    _assert_no_key(_texts_of(res, res.json_body, res.headers))

@pytest.mark.parametrize('field', ['doc_url', 'request-id'])
def test_gap_key_echoed_in_doc_url_or_request_id_is_redacted(fault_server, caplog, field):
    """str(e) also shows `doc_url` and `request_id`, which are not redacted; the INFO log line shows the request id
    as sent by the server"""
    caplog.set_level(logging.INFO, logger='faststripe')
    srv = fault_server(api_key=KEY, echo_key=True)
    res, _, _ = _one(srv, Fault('error', 400, echo_in=field))
    assert isinstance(res, InvalidRequestError)
    _assert_no_key(_texts_of(res) + [caplog.text])

def test_negative_max_retries_is_refused(fault_server):
    "max_retries=-1 made zero attempts: nothing was sent and the call returned None instead of an object or an error"
    srv = fault_server()
    api = client(srv)
    try: res = api.customers.create(email='a@example.com', max_retries=-1)
    except (ValueError, TypeError): return
    assert res is not None and len(srv.attempts) == 1

def test_async_client_survives_a_new_event_loop(fault_server):
    "One AsyncStripeApi used from two asyncio.run() calls: the pooled AsyncClient was tied to the first, closed loop"
    srv = fault_server()
    api = client(srv, AsyncStripeApi)
    assert asyncio.run(api.customers.create(email='a@example.com')).id
    async def second():
        async with api: return await api.customers.create(email='b@example.com')
    assert asyncio.run(second()).id

def test_gap_key_with_a_trailing_newline_never_leaks(fault_server):
    """A key read from a file or `echo` into the environment often ends in a newline. httpx refuses the header with
    LocalProtocolError("Illegal header value b'Bearer sk_test_...\\n'"): core counts that as a connection failure,
    retries it twice, and chains it (`raise ... from err`) so the traceback prints the whole key"""
    srv = fault_server()
    api = StripeApi(KEY + '\n', srv.url, retry_delay=0.001)
    _clients.append(api)
    res, _ = timed(api.customers.create, email='a@example.com')
    if isinstance(res, StripeError): assert res.attempts == 1  # a local error: retrying cannot help
    _assert_no_key(_texts_of(res, api))

@pytest.mark.parametrize('level', [logging.DEBUG, logging.INFO])
def test_gap_client_secret_never_in_logs(fault_server, caplog, level):
    """`payment_intents.retrieve(id, client_secret=...)` sends the client secret in the query string. faststripe's
    own lines mask it, but with logging on at INFO for everything (`logging.basicConfig(level=logging.INFO)`), httpx
    logs `HTTP Request: GET http://.../v1/payment_intents/pi_1?client_secret=pi_1_secret_... "HTTP/1.1 ..."`"""
    caplog.set_level(level)
    srv = fault_server()
    secret = 'pi_1_secret_' + 'Cl13ntS3cr3t' * 2
    with pytest.raises(InvalidRequestError):  # the fault server knows no payment intents
        client(srv).payment_intents.retrieve('pi_1', client_secret=secret)
    assert srv.attempts[0].path == '/v1/payment_intents/pi_1'
    assert 'GET /v1/payment_intents/pi_1 -> 404' in caplog.text
    assert 'Cl13ntS3cr3t' not in caplog.text, [r.getMessage() for r in caplog.records if 'Cl13ntS3cr3t' in r.getMessage()]

def test_gap_no_read_timeout_means_no_limit_on_the_answer(fault_server):
    """`httpx.Timeout(None, connect=0.2)` asks for no read limit, but `attempt_limit` makes it 0.2 s for the whole
    attempt (connect + read, with read None counted as 0), so an answer that takes 0.5 s to arrive is cut off and
    retried until the retries run out"""
    srv = fault_server()
    srv.script(*[Fault('trickle', delay=0.005)] * 3)
    res, elapsed, atts = _one(srv, api=client(srv, timeout=httpx.Timeout(None, connect=0.2)))
    assert type(res).__name__ == 'Customer', res

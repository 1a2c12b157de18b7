"""Webhooks end to end: localstripe (a fake Stripe on 127.0.0.1) signs and POSTs events to receivers that use faststripe.

localstripe registers endpoints with `POST /_config/webhooks/<name>` (`url`, `secret`, optional `events`) and signs each
delivery `t=<event.created>,v1=<HMAC-SHA256>` about a second after the change. It has no way to remove an endpoint, so
each test points its endpoints at a fresh receiver and disables them at teardown (an empty `events` list).
Deliveries are awaited with queues and timeouts, never sleeps."""
import asyncio, queue, secrets, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import httpx, pytest
from faststripe.core import StripeApi
from faststripe.webhooks import Webhooks, SQLiteEventStore, WebhookError, generate_signature_header

TIMEOUT = 20  # seconds to wait for a delivery (localstripe waits ~1 s before sending)

def wait_for(q, pred, timeout=TIMEOUT, what='delivery'):
    "Take items from `q` until one satisfies `pred`; fail after `timeout` seconds"
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0: raise AssertionError(f'no matching {what} within {timeout}s')
        try: item = q.get(timeout=left)
        except queue.Empty: raise AssertionError(f'no matching {what} within {timeout}s') from None
        if pred(item): return item

def register(ls_url, url, secret, events=None):
    "Point a new localstripe webhook endpoint at `url`; returns a function that disables it"
    name = f'faststripe-test-{uuid.uuid4().hex[:12]}'
    cfg = {'url': url, 'secret': secret, **({'events': events} if events is not None else {})}
    httpx.post(f'{ls_url}/_config/webhooks/{name}', json=cfg, timeout=10).raise_for_status()
    return lambda: httpx.post(f'{ls_url}/_config/webhooks/{name}', json={'url': url, 'secret': secret, 'events': []},
                              timeout=10).raise_for_status()

class Receiver:
    "A stdlib HTTP server on 127.0.0.1 that hands every POST to `hooks.handle_request` and reports each delivery"
    def __init__(self, hooks, secret):
        self.deliveries = queue.Queue()
        rcv = self
        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                evt, res = None, None
                try:
                    evt = hooks.parse(body, self.headers, secret)
                    res = hooks.handle(evt)
                    status, text = res.http_status, res.status
                except WebhookError as e: status, text = 400, e.reason
                except Exception as e: status, text = 500, repr(e)
                self.send_response(status); self.end_headers(); self.wfile.write(text.encode())
                rcv.deliveries.put(dict(path=self.path, status=status, text=text, event=evt, body=body,
                                        headers=dict(self.headers)))
            def log_message(self, *a): pass
        self.srv = ThreadingHTTPServer(('127.0.0.1', 0), H)
        self.url = f'http://127.0.0.1:{self.srv.server_port}'
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()
    def close(self): self.srv.shutdown(); self.srv.server_close(); self.thread.join(10)

@pytest.fixture
def api(localstripe_url, ls_key):
    with StripeApi(ls_key, base_url=localstripe_url) as api: yield api

@pytest.fixture
def setup(localstripe_url):
    "A registry with handlers, a receiver using it, and a localstripe endpoint with a fresh secret pointing at it"
    secret = 'whsec_test_' + secrets.token_hex(12)
    hooks, calls = Webhooks(), queue.Queue()
    @hooks.on('customer.created')
    def created(evt): calls.put(('created', evt))
    @hooks.on('customer.*')
    def any_customer(evt): calls.put(('customer.*', evt))
    @hooks.on('invoice')
    def invoices(evt): calls.put(('invoice', evt))
    rcv = Receiver(hooks, secret)
    disable = register(localstripe_url, rcv.url + '/hook', secret)
    yield dict(secret=secret, hooks=hooks, calls=calls, rcv=rcv, register=lambda *a, **k: register(localstripe_url, *a, **k))
    disable(); rcv.close()

def drain(q):
    out = []
    while True:
        try: out.append(q.get_nowait())
        except queue.Empty: return out

def test_customer_created_verified_parsed_handled_once(api, setup):
    rcv, calls, hooks = setup['rcv'], setup['calls'], setup['hooks']
    cus = api.customers.create(email='webhook@example.com', name='Hook Test', metadata={'src': 'e2e'})
    mine = lambda d: d['event'] is not None and d['event'].data.object.get('id') == cus.id
    d = wait_for(rcv.deliveries, lambda d: mine(d) and d['event'].type == 'customer.created')
    assert (d['status'], d['text']) == (200, 'processed')
    evt = d['event']
    assert type(evt).__name__ == 'Event' and evt.id.startswith('evt_')
    assert type(evt.data.object).__name__ == 'Customer'
    assert (evt.data.object.email, evt.data.object.metadata.src) == ('webhook@example.com', 'e2e')
    assert evt.id in hooks.store
    # the handlers that match ran, each once; the invoice handler did not
    got = [(k, e.id) for k, e in drain(calls) if e.data.object.get('id') == cus.id]
    assert got == [('created', evt.id), ('customer.*', evt.id)]
    # Stripe redelivers the very same request: verified again, handlers not run again
    with httpx.Client() as c:
        r = c.post(rcv.url + '/hook', content=d['body'], headers={'Stripe-Signature': d['headers']['Stripe-Signature'],
                                                                 'Content-Type': 'application/json'})
    assert (r.status_code, r.text) == (200, 'duplicate')
    assert [e.id for _, e in drain(calls) if e.data.object.get('id') == cus.id] == []

def test_signature_from_localstripe_matches_faststripe(api, setup):
    "localstripe's header is exactly what faststripe's `generate_signature_header` makes for the same body and time"
    rcv = setup['rcv']
    cus = api.customers.create(email='sig@example.com')
    d = wait_for(rcv.deliveries, lambda d: d['event'] is not None and d['event'].data.object.get('id') == cus.id)
    hdr = d['headers']['Stripe-Signature']
    t = int(hdr.split(',')[0][2:])
    assert t == d['event'].created
    assert generate_signature_header(d['body'], setup['secret'], t) == hdr

def test_wrong_secret_refused_right_one_handled_once(api, setup):
    "A second endpoint with another secret delivers the same events to the same URL: refused, handlers run once"
    rcv, calls = setup['rcv'], setup['calls']
    disable = setup['register'](rcv.url + '/hook?from=wrong-secret', 'whsec_test_' + secrets.token_hex(12))
    try:
        cus = api.customers.create(email='wrong@example.com')
        both = [wait_for(rcv.deliveries, lambda d: cus.id.encode() in d['body']) for _ in range(2)]
    finally: disable()
    [bad], [ok] = [[d for d in both if d['path'].endswith('wrong-secret') == w] for w in (True, False)]
    assert (ok['status'], ok['text']) == (200, 'processed')
    assert (bad['status'], bad['text']) == (400, 'signature')
    got = [k for k, e in drain(calls) if e.data.object.get('id') == cus.id]
    assert got == ['created', 'customer.*']

def test_update_and_delete_route_by_pattern(api, setup):
    rcv, calls = setup['rcv'], setup['calls']
    cus = api.customers.create(email='route@example.com')
    api.customers.update(cus.id, name='Renamed')
    api.customers.delete(cus.id)
    types = set()
    while types != {'customer.created', 'customer.updated', 'customer.deleted'}:
        d = wait_for(rcv.deliveries, lambda d: d['event'] is not None and d['event'].data.object.get('id') == cus.id)
        assert d['status'] == 200
        types.add(d['event'].type)
    got = sorted((k, e.type) for k, e in drain(calls) if e.data.object.get('id') == cus.id)
    assert got == [('created', 'customer.created'), ('customer.*', 'customer.created'),
                   ('customer.*', 'customer.deleted'), ('customer.*', 'customer.updated')]

def test_async_receiver_with_sqlite_store(api, localstripe_url, tmp_path):
    "An aiohttp receiver calling `handle_request_async`, async handlers, and the durable SQLite store"
    from aiohttp import web
    secret = 'whsec_test_' + secrets.token_hex(12)
    hooks, calls, deliveries = Webhooks(store=SQLiteEventStore(tmp_path/'events.db'), secret=secret), queue.Queue(), queue.Queue()
    @hooks.on('customer.created')
    async def created(evt):
        await asyncio.sleep(0)
        calls.put(evt)

    async def receive(request):
        body = await request.read()
        try: res = await hooks.handle_request_async(body, request.headers); status, text = res.http_status, res.status
        except WebhookError as e: status, text = 400, e.reason
        deliveries.put((status, text, body, dict(request.headers)))
        return web.Response(status=status, text=text)

    loop, started = asyncio.new_event_loop(), threading.Event()
    state = {}
    async def start():
        app = web.Application(); app.router.add_post('/hook', receive)
        runner = web.AppRunner(app); await runner.setup()
        site = web.TCPSite(runner, '127.0.0.1', 0); await site.start()
        state['runner'], state['port'] = runner, site._server.sockets[0].getsockname()[1]
        started.set()
    t = threading.Thread(target=lambda: (asyncio.set_event_loop(loop), loop.run_until_complete(start()), loop.run_forever()),
                         daemon=True)
    t.start()
    assert started.wait(10)
    url = f'http://127.0.0.1:{state["port"]}/hook'
    disable = register(localstripe_url, url, secret, events=['customer.created'])
    try:
        cus = api.customers.create(email='async@example.com')
        status, text, body, headers = wait_for(deliveries, lambda d: cus.id.encode() in d[2])
        assert (status, text) == (200, 'processed')
        evt = wait_for(calls, lambda e: e.data.object.id == cus.id, what='handler call')
        assert evt.type == 'customer.created'
        r = httpx.post(url, content=body, headers={'Stripe-Signature': headers['Stripe-Signature']}, timeout=10)
        assert (r.status_code, r.text) == (200, 'duplicate')
    finally:
        disable()
        asyncio.run_coroutine_threadsafe(state['runner'].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop); t.join(10)
    # durable: a new store on the same file (a restarted process) still knows the event
    hooks.store.close()
    with SQLiteEventStore(tmp_path/'events.db') as st: assert evt.id in st
    assert [e.id for e in drain(calls)] == []

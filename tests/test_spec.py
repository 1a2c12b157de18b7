"""The snapshot builder and the run-time spec loader, against Stripe's full spec served on 127.0.0.1."""
import http.server, json, os, shutil, subprocess, sys, threading, warnings
from pathlib import Path
import pytest
from faststripe import spec as fs
from faststripe.core import StripeApi
from conftest import SPEC3, shared_file

@pytest.fixture(scope='module')
def spec3_bytes(): return shared_file('stripe-openapi', 'spec3.json').read_bytes()

def test_committed_snapshot_is_current_and_deterministic(spec3_bytes):
    spec = fs.parse_spec(spec3_bytes, str(SPEC3))
    a, b = fs.dump_snapshot(fs.build_snapshot(spec)), fs.dump_snapshot(fs.build_snapshot(json.loads(spec3_bytes)))
    assert a == b
    assert a == fs.snapshot_path.read_bytes(), 'faststripe/stripe_spec.json.gz is stale: run faststripe_update'
    assert len(a) < len(spec3_bytes) / 10

def test_snapshot_covers_every_operation(spec3_bytes):
    spec = json.loads(spec3_bytes)
    ops = {(p, v.upper()) for p, d in spec['paths'].items() for v in d if v in ('get', 'post', 'delete')}
    assert set(fs.bundled_spec().by_path) == ops
    assert any(p.startswith('/v2/') for p, _ in ops)

def test_update_command_writes_same_snapshot(tmp_path):
    dest = tmp_path/'snap.json.gz'
    exe = shutil.which('faststripe_update')
    assert exe, 'faststripe_update console script not installed (pip install -e .)'
    r = subprocess.run([exe, str(SPEC3), '--dest', str(dest), '--no-version'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert '619 operations' in r.stdout
    assert dest.read_bytes() == fs.snapshot_path.read_bytes()

def test_import_does_not_parse_the_spec():
    code = 'import faststripe.core, faststripe.spec as s; s=s.bundled_spec.cache_info().currsize; print(s)'
    assert subprocess.run([sys.executable, '-c', code], capture_output=True, text=True).stdout.strip() == '0'

class SpecServer:
    "Serves a spec on 127.0.0.1 with an ETag; `body` and `etag` can be changed between requests"
    def __init__(self, body, etag='"v1"'):
        self.body, self.etag, self.hits = body, etag, []
        outer = self
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits.append(self.headers.get('If-None-Match'))
                if self.headers.get('If-None-Match') == outer.etag:
                    self.send_response(304); self.end_headers(); return
                self.send_response(200); self.send_header('ETag', outer.etag)
                self.send_header('Content-Length', str(len(outer.body))); self.end_headers(); self.wfile.write(outer.body)
            def log_message(self, *a): pass
        self.srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
        self.url = f'http://127.0.0.1:{self.srv.server_port}/latest/openapi.spec3.json'
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
    def stop(self): self.srv.shutdown(); self.srv.server_close()

@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv('FASTSTRIPE_CACHE_DIR', str(tmp_path))
    return tmp_path

def test_latest_spec_downloads_caches_and_revalidates(spec3_bytes, cache):
    srv = SpecServer(spec3_bytes)
    try:
        s1 = fs.latest_spec(srv.url)
        assert (s1.source, len(s1.ops), s1.version) == (srv.url, 619, '2026-05-27.dahlia')
        s2 = fs.latest_spec(srv.url)
        assert s2.source == f'cache of {srv.url}' and len(s2.ops) == 619
        assert srv.hits == [None, '"v1"']
    finally: srv.stop()
    with pytest.warns(UserWarning, match='could not download'):
        s3 = fs.latest_spec(srv.url, timeout=2)
    assert s3.source == f'cache of {srv.url}'

def test_offline_without_cache_falls_back_to_bundled(cache):
    srv = SpecServer(b'{}'); srv.stop()
    with pytest.warns(UserWarning, match='using the bundled spec') as w:
        s = fs.latest_spec(srv.url, timeout=2)
    assert s is fs.bundled_spec()
    assert w[0].filename == __file__, w[0].filename  # the warning points at the caller's line, not into faststripe

@pytest.mark.parametrize('body,msg', [(b'<html>nope', 'not JSON'), (b'{"swagger": "2.0"}', 'not an OpenAPI document'),
                                      (b'{"openapi": "3.0.0", "info": {"version": "x"}}', "has no 'paths'")])
def test_bad_specs_name_the_source(body, msg, cache):
    srv = SpecServer(body)
    try:
        with pytest.warns(UserWarning, match=msg) as w: fs.latest_spec(srv.url)
        assert srv.url in str(w[0].message)
        with pytest.raises(fs.SpecError, match=msg): fs.fetch_spec(srv.url)
    finally: srv.stop()
    assert list(cache.iterdir()) == []

def test_cache_never_half_written(spec3_bytes, cache, monkeypatch):
    srv = SpecServer(spec3_bytes)
    try:
        fs.latest_spec(srv.url)
        before = {p.name: p.read_bytes() for p in cache.iterdir()}
        srv.etag = '"v2"'
        real_write = os.fdopen
        def broken_fdopen(fd, mode='r', *a, **k):
            f = real_write(fd, mode, *a, **k)
            if 'w' in mode:
                f.write(b'partial')
                raise OSError('disk full')
            return f
        monkeypatch.setattr(fs.os, 'fdopen', broken_fdopen)
        with pytest.warns(UserWarning, match='could not cache'): s = fs.latest_spec(srv.url)
        assert len(s.ops) == 619  # the new spec is still used, just not cached
        monkeypatch.undo()
        after = {p.name: p.read_bytes() for p in cache.iterdir()}
        assert after == before  # no temp files left, old cache intact
    finally: srv.stop()

def test_client_with_latest_spec(spec3_bytes, cache, monkeypatch):
    srv = SpecServer(spec3_bytes)
    try:
        monkeypatch.setenv('FASTSTRIPE_SPEC', srv.url)
        api = StripeApi('sk_test_x')
        assert api.spec.source == srv.url and api.customers.create.op['path'] == '/v1/customers'
        assert StripeApi('sk_test_x', spec='bundled').spec is fs.bundled_spec()
    finally: srv.stop()

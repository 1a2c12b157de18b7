"""faststripe and the official `stripe` package (16.1) side by side, each through a capturing transport answered by the
same fake Stripe: the same host, method, path, query, headers that matter and body (multipart parts included), and
the same reading of the answer, for what issue 13 names — the official SDK's nested names, per-operation hosts and
`base_addresses`, file uploads, binary answers, meter event sessions, v2 details (decimals, `Stripe-Context`,
`next_page_url`, error types, legacy `rate_limit`, `X-Stripe-Client-User-Agent`), thin event notifications (both
ways, against the offline Stripe on loopback) and Connect OAuth.

Where the official package is wrong (it sends `bytes` as a text field holding their repr), the test says so and
checks that faststripe does the right thing."""
import decimal, inspect, io, json, re, sys, threading, http.server
from urllib.parse import urlsplit, parse_qsl
import httpx, pytest
import stripe
from stripe._stripe_service import StripeService
from faststripe.core import StripeApi, StripeBinary, RateLimitError, InvalidRequestError, TemporarySessionExpiredError, MeterEventStream
from faststripe.spec import bundled_spec

KEY = 'sk_test_parity_0000000000000000'

# ---- the two capturing transports, one fake Stripe -------------------------------------------------------------------

class Sent:
    "One captured request, normalised: method, origin, path, query pairs, lower-cased headers, raw body"
    def __init__(self, method, url, headers, body):
        u = urlsplit(str(url))
        self.method, self.origin, self.path = method.upper(), f'{u.scheme}://{u.netloc}', u.path
        self.query = sorted(parse_qsl(u.query, keep_blank_values=True))
        self.headers = {k.lower(): v for k,v in dict(headers).items()}
        self.body = body if isinstance(body, bytes) else (body or '').encode()
    @property
    def form(self): return sorted(parse_qsl(self.body.decode(), keep_blank_values=True))
    @property
    def json(self): return json.loads(self.body)
    @property
    def parts(self):
        "Multipart parts as {name: (filename or None, content type or None, bytes)}"
        ct = self.headers['content-type']
        boundary = ct.split('boundary=', 1)[1].strip('"')
        res = {}
        for part in self.body.split(b'--' + boundary.encode())[1:]:
            if part.startswith(b'--'): break
            head, _, data = part.lstrip(b'\r\n').partition(b'\r\n\r\n')
            hd = {k.strip().lower(): v.strip() for k,_,v in (l.partition(':') for l in head.decode().split('\r\n'))}
            disp = dict(re.findall(r'(\w+)="([^"]*)"', hd['content-disposition']))
            res[disp['name']] = (disp.get('filename'), hd.get('content-type'), data[:-2] if data.endswith(b'\r\n') else data)
        return res

class Fake:
    "Answers both clients: `routes` maps (method, path regex) to (status, headers, body bytes or JSON)"
    def __init__(self, routes=None): self.routes, self.sent = dict(routes or {}), []
    def answer(self, method, url, headers, body):
        s = Sent(method, url, headers, body)
        self.sent.append(s)
        for (m, rx), res in self.routes.items():
            if m == s.method and re.fullmatch(rx, s.path):
                status, hdrs, out = res(s) if callable(res) else res
                if not isinstance(out, bytes): out, hdrs = json.dumps(out).encode(), {'content-type': 'application/json', **hdrs}
                return status, {'request-id': 'req_parity', **hdrs}, out
        return 404, {'content-type': 'application/json'}, json.dumps({'error': {'type': 'invalid_request_error', 'message': f'no route {s.method} {s.path}'}}).encode()

class Capture(stripe.HTTPClient):
    "The official package's HTTP client, answered by a `Fake`"
    name = 'capture'
    def __init__(self, fake): super().__init__(); self.fake = fake
    def request(self, method, url, headers, post_data=None):
        status, hdrs, body = self.fake.answer(method, url, headers, post_data)
        return body.decode('utf-8', 'replace') if 'json' in hdrs.get('content-type', '') else body, status, hdrs
    def request_stream(self, method, url, headers, post_data=None):
        status, hdrs, body = self.fake.answer(method, url, headers, post_data)
        return io.BytesIO(body), status, hdrs
    def close(self): pass

def clients(routes=None, **kw):
    "(fake, official StripeClient, faststripe StripeApi) answered by one fake Stripe"
    fake = Fake(routes)
    def handler(request): st, h, b = fake.answer(request.method, request.url, request.headers, request.read()); return httpx.Response(st, headers=h, content=b)
    off_kw = {k: v for k,v in kw.items() if k in ('base_addresses', 'stripe_context', 'client_id')}
    official = stripe.StripeClient(KEY, http_client=Capture(fake), max_network_retries=0, stripe_version=bundled_spec().version, **off_kw)  # 16.1 pins a newer version
    fs_kw = {k: v for k,v in kw.items() if k in ('base_addresses', 'stripe_context')}
    return fake, official, StripeApi(KEY, kw.get('base_url', 'https://api.stripe.com'), transport=httpx.MockTransport(handler), max_retries=0, **fs_kw)

MATTERS = ('authorization', 'stripe-version', 'stripe-context', 'stripe-account', 'content-type', 'stripe-request-trigger')

def same_request(a, b, body='form'):
    assert (a.method, a.origin, a.path, a.query) == (b.method, b.origin, b.path, b.query)
    for h in MATTERS:
        if h == 'content-type' and body == 'multipart': continue  # the boundaries differ (random)
        if h == 'stripe-version' and a.path.startswith('/v2/'): continue  # the official pins its own v2 preview
        assert a.headers.get(h) == b.headers.get(h), (h, a.headers.get(h), b.headers.get(h))
    if body == 'form': assert a.form == b.form
    elif body == 'json': assert a.json == b.json

# ---- the official SDK's nested names --------------------------------------------------------------------------------

_req_re = re.compile(r'self\._request(?:_stream)?\(\s*"(\w+)",\s*"([^"]+)"', re.S)

def official_names():
    "{(VERB, path with {} for each parameter): [dotted names]} of every method of the official StripeClient"
    out = {}
    def walk(svc, prefix):
        mod = sys.modules[type(svc).__module__]
        for n in dict.fromkeys([*getattr(mod, '_subservices', {}), *getattr(type(svc), '__annotations__', {})]):
            try: s = getattr(svc, n)
            except AttributeError: continue
            if isinstance(s, StripeService): walk(s, prefix + [n])
        for n, f in inspect.getmembers(type(svc), inspect.isfunction):
            if n.startswith('_') or n.endswith('_async'): continue
            if m := _req_re.search(inspect.getsource(f)):
                out.setdefault((m.group(1).upper(), re.sub(r'\{\w+\}', '{}', m.group(2))), []).append('.'.join(prefix + [n]))
    c = stripe.StripeClient(KEY)
    walk(c.v1, ['v1']); walk(c.v2, ['v2'])
    return out

def test_nested_names_match_official():
    off, api = official_names(), StripeApi(KEY)
    both = 0
    for o in bundled_spec().ops:
        names = off.get((o['verb'].upper(), re.sub(r'\{\w+\}', '{}', o['path'])))
        if not names: continue
        both += 1
        plain = [n.removeprefix('v1.') for n in names]
        assert o['sn'] in plain, (o['verb'], o['path'], o['sn'], plain)
        for n in names:  # every official spelling of it that faststripe has resolves to the operation (v1.x as x)
            if n.removeprefix('v1.') != o['sn']: continue
            target = api
            for part in n.split('.'): target = getattr(target, part)
            assert target.op['path'] == o['path'] and target.op['verb'] == o['verb']
    assert both >= 560, both  # of 619: the rest are deprecated operations the official client no longer offers (customers.cards, …)

def test_tab_completion_is_short():
    api = StripeApi(KEY)
    top = [k for k in dir(api) if not k.startswith('_') and k not in dir(StripeApi) and k not in vars(api)]
    c = stripe.StripeClient(KEY)
    theirs = set(sys.modules[type(c.v1).__module__]._subservices) | {'v1', 'v2'}
    deprecated = {o['sn'].split('.')[0] for o in bundled_spec().ops} - theirs  # groups of operations the official client dropped
    assert deprecated <= {'external_accounts', 'link_account_sessions', 'linked_accounts'}, deprecated
    assert set(top) <= theirs | deprecated, set(top) - theirs  # the official services, none of the other styles' names
    assert len(top) < 130 and 'checkout_sessions' not in top and 'v2_core' not in top

# ---- hosts, base_addresses ---------------------------------------------------------------------------------------------

PDF = b'%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n'
FILE = {'id': 'file_1', 'object': 'file', 'purpose': 'dispute_evidence', 'size': len(PDF), 'type': 'pdf', 'filename': 'evidence.pdf'}

def test_files_create_multipart(tmp_path):
    fake, off, api = clients({('POST', '/v1/files'): (200, {}, FILE)})
    p = tmp_path/'evidence.pdf'; p.write_bytes(PDF)
    with open(p, 'rb') as f: a = off.v1.files.create({'file': f, 'purpose': 'dispute_evidence', 'file_link_data': {'create': True}})
    with open(p, 'rb') as f: b = api.files.create(file=f, purpose='dispute_evidence', file_link_data={'create': True})
    sa, sb = fake.sent
    same_request(sa, sb, 'multipart')
    assert sa.origin == 'https://files.stripe.com' and sa.headers['content-type'].startswith('multipart/form-data; boundary=')
    pa, pb = sa.parts, sb.parts
    assert set(pa) == set(pb) == {'file', 'purpose', 'file_link_data[create]'}
    assert pa['purpose'][2] == pb['purpose'][2] == b'dispute_evidence' and pa['file_link_data[create]'][2] == pb['file_link_data[create]'][2] == b'true'
    assert pa['file'][0].endswith('evidence.pdf') and pb['file'][0] == 'evidence.pdf' and pa['file'][2] == pb['file'][2] == PDF
    assert (pa['file'][1], pb['file'][1]) == ('application/octet-stream', 'application/pdf')  # faststripe names the type
    assert a.id == b.id == 'file_1' and b.size == len(PDF)

def test_files_create_bytes_official_sends_repr():
    "The official package sends `bytes` as a text field holding their repr — a broken file; faststripe sends a file part"
    fake, off, api = clients({('POST', '/v1/files'): (200, {}, FILE)})
    off.v1.files.create({'file': PDF, 'purpose': 'dispute_evidence'})
    api.files.create(file=PDF, purpose='dispute_evidence')
    pa, pb = fake.sent[0].parts, fake.sent[1].parts
    assert pa['file'] == (None, None, repr(PDF).encode())  # the official's: no filename, the text "b'%PDF-…'"
    assert pb['file'] == ('blob', 'application/pdf', PDF)

def test_quote_pdf_bytes_and_errors(tmp_path):
    fake, off, api = clients({('GET', '/v1/quotes/qt_1/pdf'): (200, {'content-type': 'application/pdf'}, PDF),
                              ('GET', '/v1/quotes/qt_json/pdf'): (200, {}, {'object': 'quote'})})
    a = off.v1.quotes.pdf('qt_1')
    b = api.quotes.pdf('qt_1')
    same_request(*fake.sent)
    assert fake.sent[0].origin == 'https://files.stripe.com'
    assert a.io.read() == bytes(b) == PDF and isinstance(b, StripeBinary) and b.content_type == 'application/pdf'
    assert api.quotes.pdf.download(tmp_path/'q.pdf', 'qt_1').read_bytes() == PDF
    with pytest.raises(stripe.InvalidRequestError): off.v1.quotes.pdf('qt_missing')
    with pytest.raises(InvalidRequestError, match='no route GET /v1/quotes/qt_missing/pdf'): api.quotes.pdf('qt_missing')
    with pytest.raises(Exception, match='expected application/pdf but Stripe answered HTTP 200 with application/json'): api.quotes.pdf('qt_json')

def test_custom_base_and_base_addresses():
    routes = {('POST', '/v1/files'): (200, {}, FILE), ('GET', r'/v1/customers/\w+'): (200, {}, {'id': 'cus_1', 'object': 'customer'})}
    ba = {'api': 'http://127.0.0.1:12111', 'files': 'http://127.0.0.1:12112'}
    fake, off, api = clients(routes, base_addresses=ba)
    off.v1.files.create({'file': io.BytesIO(PDF), 'purpose': 'dispute_evidence'}); api.files.create(file=io.BytesIO(PDF), purpose='dispute_evidence')
    off.v1.customers.retrieve('cus_1'); api.customers.retrieve('cus_1')
    assert [s.origin for s in fake.sent] == ['http://127.0.0.1:12112'] * 2 + ['http://127.0.0.1:12111'] * 2
    fake, _, local = clients(routes, base_url='http://127.0.0.1:12111')
    local.files.create(file=PDF, purpose='dispute_evidence')
    assert fake.sent[0].origin == 'http://127.0.0.1:12111'  # a fake Stripe on one port serves every host

def test_meter_event_stream_session():
    sess = {'id': 'mes_1', 'object': 'v2.billing.meter_event_session', 'authentication_token': 'mest_tok_1', 'expires_at': '2099-01-01T00:00:00.000Z'}
    routes = {('POST', '/v2/billing/meter_event_session'): (200, {}, sess), ('POST', '/v2/billing/meter_event_stream'): (202, {}, {})}
    fake, off, api = clients(routes)
    events = [{'event_name': 'api_calls', 'identifier': 'e1', 'payload': {'stripe_customer_id': 'cus_1', 'value': '3'}}]
    s = off.v2.billing.meter_event_session.create()
    off.v2.billing.meter_event_stream.create({'events': events}, {'api_key': s.authentication_token})
    MeterEventStream(api).send(events)
    a_sess, a_stream, b_sess, b_stream = fake.sent
    same_request(a_sess, b_sess, 'json') if a_sess.body else None
    same_request(a_stream, b_stream, 'json')
    assert a_stream.origin == 'https://meter-events.stripe.com' and b_stream.headers['authorization'] == 'Bearer mest_tok_1'

# ---- v2 details -----------------------------------------------------------------------------------------------------

ACCT = {'id': 'acct_1', 'object': 'v2.core.account'}

def test_v2_decimal_strings():
    fake, off, api = clients({('POST', '/v2/core/accounts'): (200, {}, ACCT)})
    params = lambda v: {'identity': {'individual': {'relationship': {'percent_ownership': v}}}}
    off.v2.core.accounts.create(params('25.5'))
    for v in ('25.5', 25.5, decimal.Decimal('25.50')): api.v2.core.accounts.create(**params(v))
    a, *bs = fake.sent
    for b in bs: same_request(a, b, 'json')
    assert a.json['identity']['individual']['relationship']['percent_ownership'] == '25.5'

def test_stripe_context_everywhere():
    fake, off, api = clients({('GET', r'/v2/core/accounts/\w+'): (200, {}, ACCT)}, stripe_context='acct_ctx')
    off.v2.core.accounts.retrieve('acct_1'); api.v2.core.accounts.retrieve('acct_1')
    off.v2.core.accounts.retrieve('acct_1', options={'stripe_context': 'acct_call'}); api.v2.core.accounts.retrieve('acct_1', stripe_context='acct_call')
    api.with_options(stripe_context='acct_call').v2.core.accounts.retrieve('acct_1')
    assert [s.headers.get('stripe-context') for s in fake.sent] == ['acct_ctx', 'acct_ctx', 'acct_call', 'acct_call', 'acct_call']
    same_request(fake.sent[0], fake.sent[1], None)

def test_v2_pagination_follows_next_page_url():
    def page(s):
        n = int(dict(s.query).get('page', 'tok0')[3:])
        return 200, {}, {'data': [{'id': f'evt_{n}', 'object': 'v2.core.event'}], 'next_page_url': f'/v2/core/events?page=tok{n+1}' if n < 2 else None, 'previous_page_url': None}
    fake, off, api = clients({('GET', '/v2/core/events'): page})
    a = [e.id for e in off.v2.core.events.list({'object_id': 'acct_9'}).auto_paging_iter()]
    n = len(fake.sent)
    from faststripe.core import pages
    b = pages(api.v2.core.events.list, object_id='acct_9').attrgot('id')
    assert a == b == ['evt_0', 'evt_1', 'evt_2']
    theirs, ours = fake.sent[:n], fake.sent[n:]
    assert [(s.path, s.query) for s in theirs[1:]] == [(s.path, s.query) for s in ours[1:]] == [('/v2/core/events', [('page', 'tok1')]), ('/v2/core/events', [('page', 'tok2')])]

def test_v2_errors_and_legacy_rate_limit():
    expired = {'error': {'type': 'temporary_session_expired', 'code': 'billing_meter_event_session_expired', 'message': 'expired'}}
    fake, off, api = clients({('POST', '/v2/billing/meter_event_stream'): (401, {}, expired),
                              ('GET', r'/v1/customers/\w+'): (400, {}, {'error': {'type': 'invalid_request_error', 'code': 'rate_limit', 'message': 'slow down'}})})
    with pytest.raises(stripe.TemporarySessionExpiredError): off.v2.billing.meter_event_stream.create({'events': []})
    with pytest.raises(TemporarySessionExpiredError): api.v2.billing.meter_event_stream.create(events=[])
    with pytest.raises(stripe.RateLimitError): off.v1.customers.retrieve('cus_1')
    with pytest.raises(RateLimitError, match='slow down'): api.customers.retrieve('cus_1')

def test_client_user_agent():
    fake, off, api = clients({('GET', r'/v1/customers/\w+'): (200, {}, {'id': 'cus_1', 'object': 'customer'})})
    off.v1.customers.retrieve('cus_1'); api.customers.retrieve('cus_1')
    a, b = (json.loads(s.headers['x-stripe-client-user-agent']) for s in fake.sent)
    assert {'bindings_version', 'lang', 'lang_version', 'httplib'} <= set(a) & set(b)
    assert (a['lang'], b['lang'], b['publisher'], b['lang_version']) == ('python', 'python', 'faststripe', a['lang_version'])

# ---- thin event notifications, both ways, on loopback ----------------------------------------------------------------

def test_thin_notifications_both_ways():
    from faststripe.offline import serve
    from faststripe.webhooks import generate_signature_header
    got = []
    class App(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            got.append((self.rfile.read(int(self.headers['Content-Length'])), self.headers['Stripe-Signature']))
            self.send_response(200); self.end_headers()
        def log_message(self, *a): pass
    app = http.server.ThreadingHTTPServer(('127.0.0.1', 0), App)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    with serve() as srv:
        api = StripeApi(KEY, srv.url, max_retries=0)
        ed = api.v2.core.event_destinations.create(name='parity', type='webhook_endpoint', event_payload='thin', enabled_events=['v1.customer.created'],
                                                   webhook_endpoint={'url': f'http://127.0.0.1:{app.server_port}/'}, include=['webhook_endpoint.signing_secret'])
        secret = ed.webhook_endpoint.signing_secret
        cus = api.customers.create(email='ann@example.com')
        assert srv.stripe.wait_deliveries(lambda log: any(r['ok'] for r in log), 10)
        body, sig = got[0]
        # ours parse there: the official client verifies, types and fetches against the offline Stripe
        official = stripe.StripeClient(KEY, base_addresses={'api': srv.url}, max_network_retries=0)
        theirs = official.parse_event_notification(body, sig, secret)
        assert type(theirs).__name__ == 'V1CustomerCreatedEventNotification' and theirs.related_object.id == cus.id
        assert theirs.fetch_related_object().email == 'ann@example.com' and theirs.fetch_event().id == theirs.id
        mine = api.parse_event_notification(body, sig, secret)
        assert type(mine).__name__ == type(theirs).__name__ and (mine.id, mine.related_object.url) == (theirs.id, theirs.related_object.url)
        assert mine.fetch_event().id == mine.id and mine.fetch_related_object().id == cus.id
        with pytest.raises(stripe.SignatureVerificationError): official.parse_event_notification(body, sig, 'whsec_wrong')
        from faststripe.webhooks import SignatureVerificationError
        with pytest.raises(SignatureVerificationError): api.parse_event_notification(body, sig, 'whsec_wrong')
    app.shutdown()
    # theirs parse here: a notification as the official package's tests build one, with the same requests to fetch
    note = json.dumps({'id': 'evt_test_9', 'object': 'v2.core.event', 'type': 'v1.customer.created', 'created': '2026-01-01T00:00:00.000Z',
                       'livemode': False, 'context': 'acct_ctx', 'related_object': {'id': 'cus_9', 'type': 'customer', 'url': '/v1/customers/cus_9'}})
    sig = stripe.WebhookSignature._compute_signature(f'1767225600.{note}', 'whsec_test_x')
    header = f't=1767225600,v1={sig}'
    routes = {('GET', r'/v2/core/events/\w+'): (200, {}, json.loads(note) | {'data': None}), ('GET', r'/v1/customers/\w+'): (200, {}, {'id': 'cus_9', 'object': 'customer'})}
    fake, off, api = clients(routes)
    a = off.parse_event_notification(note, header, 'whsec_test_x', tolerance=10**10)
    from faststripe.notifications import parse_event_notification
    b = parse_event_notification(note, header, 'whsec_test_x', tolerance=None, api=api)
    a.fetch_event(); b.fetch_event(); a.fetch_related_object(); b.fetch_related_object()
    ea, eb, ra, rb = fake.sent
    same_request(ea, eb, None); same_request(ra, rb, None)
    assert eb.headers['stripe-context'] == 'acct_ctx' and eb.headers['stripe-request-trigger'] == 'event=evt_test_9'

# ---- Connect OAuth ----------------------------------------------------------------------------------------------------

TOKEN = {'access_token': 'sk_test_connected', 'livemode': False, 'refresh_token': 'rt_1', 'scope': 'read_write',
         'stripe_publishable_key': 'pk_test_1', 'stripe_user_id': 'acct_1', 'token_type': 'bearer'}

def test_oauth():
    def token(s):
        if dict(s.form).get('code') == 'ac_bad': return 400, {}, {'error': 'invalid_grant', 'error_description': 'Authorization code does not exist: ac_bad'}
        return 200, {}, TOKEN
    fake, off, api = clients({('POST', '/oauth/token'): token, ('POST', '/oauth/deauthorize'): (200, {}, {'stripe_user_id': 'acct_1'})}, client_id='ca_1')
    params = {'scope': 'read_write', 'state': 's', 'redirect_uri': 'https://example.com/cb', 'stripe_user': {'email': 'a@b.co'}}
    ua, ub = off.oauth.authorize_url(dict(params)), api.oauth.authorize_url(client_id='ca_1', **params)
    assert urlsplit(ua)[:3] == urlsplit(ub)[:3] and sorted(parse_qsl(urlsplit(ua).query)) == sorted(parse_qsl(urlsplit(ub).query))
    ea, eb = off.oauth.authorize_url({}, {'express': True}), api.oauth.authorize_url(True, 'ca_1')
    assert urlsplit(ea).path == urlsplit(eb).path == '/express/oauth/authorize'
    a, b = off.oauth.token({'grant_type': 'authorization_code', 'code': 'ac_1'}), api.oauth.token(code='ac_1')
    same_request(*fake.sent[-2:])
    assert fake.sent[-1].origin == 'https://connect.stripe.com' and a.stripe_user_id == b.stripe_user_id == 'acct_1'
    off.oauth.deauthorize({'stripe_user_id': 'acct_1'}); api.oauth.deauthorize('acct_1', client_id='ca_1')
    same_request(*fake.sent[-2:])
    import stripe.oauth_error as oe
    from faststripe.oauth import InvalidGrantError
    with pytest.raises(oe.InvalidGrantError): off.oauth.token({'grant_type': 'authorization_code', 'code': 'ac_bad'})
    with pytest.raises(InvalidGrantError, match='Authorization code does not exist'): api.oauth.token(code='ac_bad')

"""Issuing on the offline Stripe served on loopback, driven by the official `stripe` package: a purchase decided by a
real-time authorization webhook that is an HTTP app of its own (checking signatures with `stripe.Webhook`), deciding
by its answer or, the legacy way, by calling `approve`/`decline` through the server while the offline Stripe waits.
The offline Stripe must serve those calls during the wait (a server thread per request, the engine's lock released
while it waits), or the decision would only come from the timeout."""
import json, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
import pytest
import stripe
from faststripe.offline import OfflineStripe, serve

KEY = 'sk_test_issuing_0000000000000000'

class App:
    "A real-time authorization webhook: `decide(client, authorization) -> JSON answer or None` (None: answer 200 with no body)"
    def __init__(self, decide):
        self.decide, self.secret, self.events, self.errors = decide, None, [], []
        app = self
        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                try:
                    ev = stripe.Webhook.construct_event(body, self.headers['Stripe-Signature'], app.secret)
                    app.events.append(ev)
                    out = app.decide(ev.data.object)
                except Exception as e:
                    app.errors.append(f'{type(e).__name__}: {e}'); self.send_response(500); self.end_headers(); return
                data = json.dumps(out).encode() if out is not None else b''
                try:
                    self.send_response(200)
                    self.send_header('Stripe-Version', stripe.api_version)
                    self.send_header('Content-Type', 'application/json')
                    self.send_header('Content-Length', str(len(data))); self.end_headers(); self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError): pass   # too late: the offline Stripe stopped waiting
            def log_message(self, *a): pass
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), H)
        self.url = f'http://127.0.0.1:{self.server.server_port}/issuing'
        threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
    def close(self): self.server.shutdown(); self.server.server_close()

@pytest.fixture
def offline():
    st = OfflineStripe()
    st.issuing_webhook_timeout = 5   # long enough that a decision made by the timeout would show in the test's time
    with serve(stripe=st) as srv: yield st, stripe.StripeClient(KEY, base_addresses={'api': srv.url})

def card_for(client):
    holder = client.v1.issuing.cardholders.create(params={'name': 'Jenny Rosen', 'billing': {'address': {'line1': '1 Main St',
        'city': 'San Francisco', 'state': 'CA', 'postal_code': '94111', 'country': 'US'}}, 'individual': {'first_name': 'Jenny',
        'last_name': 'Rosen', 'card_issuing': {'user_terms_acceptance': {'date': 1767225600, 'ip': '127.0.0.1'}}}})
    assert isinstance(holder, stripe.issuing.Cardholder) and holder.requirements.past_due == []
    card = client.v1.issuing.cards.create(params={'cardholder': holder.id, 'currency': 'usd', 'type': 'virtual', 'status': 'active'})
    assert isinstance(card, stripe.issuing.Card) and card.cardholder.id == holder.id and len(card.last4) == 4
    return card

def endpoint(client, app):
    we = client.v1.webhook_endpoints.create(params={'url': app.url, 'enabled_events': ['issuing_authorization.request']})
    app.secret = we.secret

def test_decided_by_the_answer(offline):
    st, client = offline
    app = App(lambda a: {'approved': a.pending_request.amount <= 5000, 'metadata': {'app': 'yes'}})
    try:
        endpoint(client, app)
        card = card_for(client)
        ok = client.v1.test_helpers.issuing.authorizations.create(params={'card': card.id, 'amount': 4200})
        no = client.v1.test_helpers.issuing.authorizations.create(params={'card': card.id, 'amount': 9900})
        assert isinstance(ok, stripe.issuing.Authorization)
        assert (ok.approved, ok.status, ok.request_history[-1].reason, ok.metadata['app']) == (True, 'pending', 'webhook_approved', 'yes')
        assert (no.approved, no.status, no.request_history[-1].reason) == (False, 'closed', 'webhook_declined')
        assert [e.type for e in app.events] == ['issuing_authorization.request'] * 2 and not app.errors
        captured = client.v1.test_helpers.issuing.authorizations.capture(ok.id)
        assert captured.status == 'closed' and captured.transactions[0].amount == -4200
        txs = client.v1.issuing.transactions.list(params={'card': card.id})
        assert [t.amount for t in txs.data] == [-4200]
    finally: app.close()

def test_decided_by_a_legacy_call_during_the_wait(offline):
    st, client = offline
    def approve_then_answer(a):
        seen = client.v1.issuing.authorizations.retrieve(a.id)   # through the server, while it waits for this answer
        assert seen.pending_request.amount == 700
        client.v1.issuing.authorizations.approve(a.id, params={'metadata': {'legacy': 'yes'}})
        return None
    app = App(approve_then_answer)
    try:
        endpoint(client, app)
        card = card_for(client)
        t = time.monotonic()
        auth = client.v1.test_helpers.issuing.authorizations.create(params={'card': card.id, 'amount': 700})
        took = time.monotonic() - t
        assert not app.errors, app.errors
        assert (auth.approved, auth.request_history[-1].reason, auth.metadata['legacy']) == (True, 'webhook_approved', 'yes')
        assert took < 4, f'decided by the timeout ({took:.1f} s), not by the approve call'
        with pytest.raises(stripe.InvalidRequestError) as e: client.v1.issuing.authorizations.decline(auth.id)
        assert 'not awaiting a decision' in str(e.value)
    finally: app.close()

def test_no_answer_in_time(offline):
    st, client = offline
    st.issuing_webhook_timeout = 0.3
    gate = threading.Event()
    app = App(lambda a: (gate.wait(5), {'approved': True})[1])
    try:
        endpoint(client, app)
        card = card_for(client)
        auth = client.v1.test_helpers.issuing.authorizations.create(params={'card': card.id, 'amount': 100})
        gate.set()
        assert (auth.approved, auth.request_history[-1].reason) == (False, 'webhook_timeout')
        log = st.delivery_log(type='issuing_authorization.request')
        assert [(d['error'], d['synchronous']) for d in log] == [('timeout', True)]
    finally: app.close()

"""API versions end to end: the official `stripe` package pinned to an older API version (`stripe.api_version`, or
`stripe_version` per request) against the offline Stripe on loopback, and a webhook endpoint created with an older
`api_version` receiving its events in that version's shape."""
import json, threading, http.server, logging
import httpx, pytest
import stripe

KEY = 'sk_test_versions_0000000000000000'
OLD = '2022-08-01'

@pytest.fixture
def server():
    from faststripe.offline import serve
    srv = serve(port=0)
    yield srv
    srv.shutdown()

@pytest.fixture
def old_client(server):
    return stripe.StripeClient(KEY, base_addresses={'api': server.url}, stripe_version=OLD)

def _paid_subscription(client, **opts):
    prod = client.v1.products.create(params={'name': 'Versions Pro'}, options=opts)
    price = client.v1.prices.create(params={'product': prod.id, 'unit_amount': 1900, 'currency': 'usd',
                                            'recurring': {'interval': 'month'}}, options=opts)
    cus = client.v1.customers.create(params={'email': 'old@example.com', 'invoice_settings': {'default_payment_method': 'pm_card_visa'}},
                                     options=opts)
    sub = client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': price.id}], 'expand': ['latest_invoice']},
                                         options=opts)
    return price, cus, sub

def test_pinned_client_sees_old_invoice_and_subscription(old_client):
    "The 2022-08-01 sample-app code path: `invoice.payment_intent` of a paid subscription invoice, `current_period_end`"
    price, cus, sub = _paid_subscription(old_client)
    inv = sub.latest_invoice
    assert inv.status == 'paid' and inv.paid is True and inv.subscription == sub.id
    assert isinstance(inv.payment_intent, str) and inv.payment_intent.startswith('pi_')
    pi = old_client.v1.payment_intents.retrieve(inv.payment_intent)
    assert pi.status == 'succeeded' and pi.invoice == inv.id and inv.charge == pi.latest_charge
    assert [c.id for c in pi.charges.data] == [pi.latest_charge]
    again = old_client.v1.subscriptions.retrieve(sub.id)
    assert again.current_period_end > again.current_period_start > 0
    line = old_client.v1.invoices.retrieve(inv.id).lines.data[0]
    assert line.type == 'subscription' and line.price.id == price.id and line.plan.interval == 'month'

def test_global_api_version_and_per_request_version(server):
    "`stripe.api_version` (the global style) and `stripe_version=` on one request pick the shape; the default is current"
    saved = stripe.api_key, stripe.api_base, stripe.api_version
    stripe.api_key, stripe.api_base, stripe.api_version = KEY, server.url, OLD
    try:
        price, cus, sub = _paid_subscription(stripe.StripeClient(KEY, base_addresses={'api': server.url}, stripe_version=OLD))
        inv = stripe.Invoice.retrieve(sub.latest_invoice.id)
        assert inv.payment_intent.startswith('pi_')
        current = stripe.Invoice.retrieve(sub.latest_invoice.id, stripe_version=server.stripe.spec.version)
        assert 'payment_intent' not in current and current.status == 'paid'
    finally: stripe.api_key, stripe.api_base, stripe.api_version = saved

def test_parameters_both_directions(server, old_client):
    "`coupon=` works at 2022-08-01 and is Stripe's 400 at the current version; old invoice item parameters work"
    cur = stripe.StripeClient(KEY, base_addresses={'api': server.url}, stripe_version=server.stripe.spec.version)
    price, cus, sub = _paid_subscription(old_client)
    co = old_client.v1.coupons.create(params={'percent_off': 20, 'duration': 'forever'})
    disc = old_client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': price.id}], 'coupon': co.id})
    assert len(disc.discounts) == 1
    with pytest.raises(stripe.InvalidRequestError) as e:
        cur.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': price.id}], 'coupon': co.id})
    assert e.value.http_status == 400 and e.value.param == 'coupon' and e.value.code == 'parameter_unknown'
    ii = old_client.v1.invoice_items.create(params={'customer': cus.id, 'price': price.id})
    assert ii.price.id == price.id and ii.unit_amount == 1900
    assert cur.v1.invoice_items.retrieve(ii.id).pricing.price_details.price == price.id
    promo = old_client.v1.promotion_codes.create(params={'coupon': co.id, 'code': 'OLD20'})
    assert promo.coupon.id == co.id and promo.coupon.percent_off == 20

def test_unknown_and_unrenderable_versions(server, caplog):
    "An unknown version is a 400 and creates nothing; newer/older ones are answered with a note (header and log line)"
    base = {'Authorization': f'Bearer {KEY}'}
    with httpx.Client(base_url=server.url) as h:
        n = len(server.stripe.objs)
        r = h.post('/v1/customers', data={'email': 'x@example.com'}, headers=base | {'Stripe-Version': '2022-08-02'})
        assert r.status_code == 400 and r.json()['error']['message'].startswith('Invalid Stripe API version: 2022-08-02')
        assert len(server.stripe.objs) == n
        with caplog.at_level(logging.WARNING, logger='faststripe.offline'):
            r = h.get('/v1/customers', headers=base | {'Stripe-Version': '2030-01-01.zinnia'})
            r2 = h.get('/v1/customers', headers=base | {'Stripe-Version': '2019-12-03'})
        assert r.status_code == 200 and '2030-01-01.zinnia is newer' in r.headers['offline-stripe-note']
        assert r.headers['stripe-version'] == server.stripe.spec.version
        assert r2.status_code == 200 and r2.headers['stripe-version'] == '2022-08-01' and 'older' in r2.headers['offline-stripe-note']
        assert any('2030-01-01.zinnia' in m for m in caplog.messages) and any('2019-12-03' in m for m in caplog.messages)
        ok = h.get('/v1/customers', headers=base | {'Stripe-Version': OLD})
        assert ok.status_code == 200 and 'offline-stripe-note' not in ok.headers and ok.headers['stripe-version'] == OLD

class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        self.server.got.append((self.path, self.headers['Stripe-Signature'], body))
        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
    def log_message(self, *a): pass

def test_webhook_endpoint_on_old_version_receives_payment_intent(server):
    "A 2022-08-01 endpoint gets invoice.payment_succeeded with `payment_intent`, signed; a current one the current shape"
    rcv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Receiver)
    rcv.got = []
    threading.Thread(target=rcv.serve_forever, daemon=True).start()
    try:
        cur = stripe.StripeClient(KEY, base_addresses={'api': server.url})
        url = f'http://127.0.0.1:{rcv.server_port}'
        old_we = cur.v1.webhook_endpoints.create(params={'url': url + '/old', 'enabled_events': ['invoice.payment_succeeded'], 'api_version': OLD})
        new_we = cur.v1.webhook_endpoints.create(params={'url': url + '/new', 'enabled_events': ['invoice.payment_succeeded']})
        assert old_we.api_version == OLD
        price, cus, sub = _paid_subscription(cur)
        assert server.stripe.flush_webhooks()
        by_path = {p: (sig, body) for p, sig, body in rcv.got}
        old_sig, old_body = by_path['/old']
        ev = stripe.Webhook.construct_event(old_body, old_sig, old_we.secret)
        assert ev.type == 'invoice.payment_succeeded' and ev.api_version == OLD
        assert ev.data.object.payment_intent.startswith('pi_') and ev.data.object.subscription == sub.id
        new_ev = json.loads(by_path['/new'][1])
        assert new_ev['api_version'] == server.stripe.spec.version and 'payment_intent' not in new_ev['data']['object']
        stripe.Webhook.construct_event(by_path['/new'][1], by_path['/new'][0], new_we.secret)
    finally:
        rcv.shutdown(); rcv.server_close()

def test_2022_sample_app_default_incomplete_flow(old_client):
    "Stripe's 2022 subscription sample: default_incomplete, `expand=['latest_invoice.payment_intent']`, confirm its client secret"
    prod = old_client.v1.products.create(params={'name': 'Sample'})
    price = old_client.v1.prices.create(params={'product': prod.id, 'unit_amount': 900, 'currency': 'usd', 'recurring': {'interval': 'month'}})
    cus = old_client.v1.customers.create(params={'email': 'sample@example.com'})
    sub = old_client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': price.id}],
        'payment_behavior': 'default_incomplete', 'expand': ['latest_invoice.payment_intent']})
    pi = sub.latest_invoice.payment_intent
    assert sub.status == 'incomplete' and isinstance(pi, stripe.PaymentIntent) and pi.client_secret.startswith(pi.id)
    assert pi.invoice == sub.latest_invoice.id
    done = old_client.v1.payment_intents.confirm(pi.id, params={'payment_method': 'pm_card_visa'})
    assert done.status == 'succeeded'
    again = old_client.v1.subscriptions.retrieve(sub.id, params={'expand': ['latest_invoice']})
    assert again.status == 'active' and again.latest_invoice.paid is True and again.latest_invoice.payment_intent == pi.id

"""The example shop's tests, written as a user of faststripe would write them: with the pytest plugin's fixtures
(`stripe_server`, `stripe_events`, `stripe_api`, `offline_stripe`) and no configuration. The shop must ship each paid
order once, whatever the deliveries do: duplicates, a burst of redeliveries, out-of-order events, a failed first
attempt that Stripe retries."""
import httpx, pytest
from example_shop.shop import Shop

@pytest.fixture
def shop(stripe_server):
    client = stripe_server.stripe_client()
    product = client.v1.products.create({'name': 'Tea'})
    price = client.v1.prices.create({'product': product.id, 'unit_amount': 500, 'currency': 'usd'})
    s = Shop(client, price.id)
    endpoint = client.v1.webhook_endpoints.create({'url': s.url + '/webhook', 'enabled_events': ['checkout.session.completed']})
    s.webhook_secret = endpoint.secret   # shown once, at creation, as on Stripe
    yield s
    s.close()

def pay(stripe_server, session):
    "The customer pays on the Checkout page (the page's own API, as the Stripe CLI's fixtures call it)"
    h = stripe_server.http
    pm = h.post('/v1/payment_methods', data={'type': 'card', 'card[token]': 'tok_visa'}).json()
    r = h.post(f'/v1/payment_pages/{session}/confirm', data={'payment_method': pm['id']})
    assert r.status_code == 200 and r.json()['status'] == 'complete', r.text

def buy(shop, quantity=1): return httpx.post(shop.url + '/buy', json={'quantity': quantity}).json()

def delivered(stripe_server, n):
    "Wait until `n` deliveries of checkout.session.completed were answered 2xx"
    ok = lambda log: sum(d['ok'] and d['type'] == 'checkout.session.completed' for d in log) >= n
    assert stripe_server.engine.wait_deliveries(ok, timeout=20), stripe_server.engine.delivery_log()
    assert stripe_server.engine.settle_webhooks()

def test_a_paid_order_ships_once(stripe_server, shop):
    order = buy(shop, 2)
    assert order['checkout_url'].startswith(stripe_server.url + '/c/pay/cs_test_')   # a page a person can pay on
    assert shop.shipped == []
    pay(stripe_server, order['session'])
    delivered(stripe_server, 1)
    assert shop.shipped == [order['order']] and shop.orders[order['order']]['status'] == 'shipped'

def test_unpaid_orders_do_not_ship(stripe_server, shop):
    buy(shop)
    assert stripe_server.engine.settle_webhooks()
    assert shop.shipped == [] and stripe_server.engine.delivery_log() == []

def test_duplicate_deliveries_ship_once(stripe_server, shop):
    stripe_server.engine.configure_webhooks(chaos='duplicate=1')
    orders = [buy(shop) for _ in range(3)]
    for o in orders: pay(stripe_server, o['session'])
    delivered(stripe_server, 6)   # each event twice
    assert sorted(shop.shipped) == sorted(o['order'] for o in orders)

def test_a_burst_of_redeliveries_ships_nothing_more(stripe_server, shop):
    orders = [buy(shop) for _ in range(2)]
    for o in orders: pay(stripe_server, o['session'])
    delivered(stripe_server, 2)
    assert stripe_server.engine.redeliver() == 2
    delivered(stripe_server, 4)
    assert shop.shipped == [o['order'] for o in orders]

def test_out_of_order_deliveries(stripe_server, shop):
    stripe_server.engine.configure_webhooks(chaos='reorder=1,seed=2')
    stripe_server.engine.outbox.hold = 30   # a held-back event waits for the next one (not for a timeout) however slow the machine
    orders = [buy(shop) for _ in range(4)]
    for o in orders: pay(stripe_server, o['session'])
    delivered(stripe_server, 4)
    assert sorted(shop.shipped) == sorted(o['order'] for o in orders)
    assert shop.shipped != [o['order'] for o in orders]   # they did arrive out of order

def test_a_failed_delivery_is_retried_and_ships_once(stripe_server, shop):
    stripe_server.engine.configure_webhooks(retries=[0.05])   # one retry, soon
    real, calls = shop.webhook, []
    def down_once(body, sig):                                  # the shop is down for the first delivery
        calls.append(1)
        return (503, {'error': 'down'}) if len(calls) == 1 else real(body, sig)
    shop.webhook = down_once
    order = buy(shop)
    pay(stripe_server, order['session'])
    delivered(stripe_server, 1)
    log = stripe_server.engine.delivery_log(type='checkout.session.completed')
    assert [(d['attempt'], d['status']) for d in log] == [(1, 503), (2, 200)]
    assert shop.shipped == [order['order']]

def test_snapshot_restore_between_scenarios(stripe_server, shop):
    snap = stripe_server.snapshot()             # the catalogue and the webhook endpoint
    order = buy(shop)
    pay(stripe_server, order['session'])
    delivered(stripe_server, 1)
    stripe_server.restore(snap)
    client = stripe_server.stripe_client()
    assert client.v1.checkout.sessions.list().data == []
    assert [p.name for p in client.v1.products.list().data] == ['Tea']

def test_the_receiver_fixture_sees_the_same_verified_events(stripe_server, stripe_events, shop):
    order = buy(shop)
    pay(stripe_server, order['session'])
    (ev,) = stripe_events.wait_for('checkout.session.completed')
    assert ev['data']['object']['client_reference_id'] == order['order'] and stripe_events.rejected == []

def test_in_process_fixtures(stripe_api, offline_stripe, stripe_events):
    product = stripe_api.products.create(name='Tea')
    price = stripe_api.prices.create(product=product.id, unit_amount=500, currency='usd')
    s = stripe_api.checkout.sessions.create(mode='payment', success_url='https://shop.example/thanks', line_items=[{'price': price.id, 'quantity': 1}])
    offline_stripe.complete_checkout(s.id)
    (ev,) = stripe_events.wait_for('checkout.session.completed')
    assert ev['data']['object']['id'] == s.id and ev['data']['object']['payment_status'] == 'paid'

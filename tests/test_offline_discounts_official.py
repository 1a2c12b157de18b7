"""Discounts on the offline Stripe driven by the official `stripe` package over loopback: a coupon on one subscription
item, a subscription's amount off, and the discount's shape at the current and at an older API version."""
import pytest, stripe
from conftest import offline_engine, official_client

KEY = 'sk_test_official_discounts_000000'

@pytest.fixture
def offline(): yield from offline_engine()

@pytest.fixture
def client(offline): return official_client(offline.url, KEY)

def _setup(client):
    pro = client.v1.prices.create(params={'product_data': {'name': 'Pro'}, 'unit_amount': 3000, 'currency': 'usd', 'recurring': {'interval': 'month'}})
    seats = client.v1.prices.create(params={'product_data': {'name': 'Seats'}, 'unit_amount': 1000, 'currency': 'usd', 'recurring': {'interval': 'month'}})
    cus = client.v1.customers.create(params={'payment_method': 'pm_card_visa', 'invoice_settings': {'default_payment_method': 'pm_card_visa'}})
    return pro, seats, cus

def test_item_and_subscription_discounts(client):
    "20% on the first item of two, then $5.00 off the subscription, split over what is left of its lines"
    pro, seats, cus = _setup(client)
    off20 = client.v1.coupons.create(params={'percent_off': 20, 'duration': 'forever'})
    five = client.v1.coupons.create(params={'amount_off': 500, 'currency': 'usd', 'duration': 'once'})
    assert off20.valid and off20.times_redeemed == 0
    sub = client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': pro.id, 'discounts': [{'coupon': off20.id}]},
        {'price': seats.id, 'quantity': 2}], 'discounts': [{'coupon': five.id}], 'expand': ['latest_invoice.discounts', 'items.data.discounts']})
    inv = sub.latest_invoice
    assert [(l.amount, [d.amount for d in l.discount_amounts]) for l in inv.lines.data] == [(3000, [600, 273]), (2000, [227])]
    assert (inv.subtotal, inv.total, inv.amount_paid, inv.status) == (4400, 3900, 3900, 'paid')
    item_d = sub['items'].data[0].discounts[0]
    assert (item_d.object, item_d.source.type, item_d.source.coupon, item_d.subscription_item) == ('discount', 'coupon', off20.id, sub['items'].data[0].id)
    assert inv.discounts[0].source.coupon == five.id and sub.discounts == []  # the `once` discount, used up by the first invoice
    assert client.v1.subscriptions.retrieve(sub.id).discounts == []
    assert client.v1.coupons.retrieve(off20.id).times_redeemed == 1

def test_bad_coupon_refused(client):
    pro, _, cus = _setup(client)
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': pro.id, 'discounts': [{'coupon': 'co_nope'}]}]})
    assert e.value.param == 'items[0][discounts][0][coupon]' and "No such coupon: 'co_nope'" in str(e.value)

def test_older_version_sees_coupon_on_discount(offline):
    "Before 2025-09-30.clover a discount embeds its `coupon`; before 2025-03-31.basil a subscription has its singular `discount`"
    client = official_client(offline.url, KEY)
    pro, _, cus = _setup(client)
    off = client.v1.coupons.create(params={'percent_off': 10, 'duration': 'forever'})
    sub = client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': pro.id}], 'discounts': [{'coupon': off.id}]})
    old = stripe.StripeClient(KEY, base_addresses={'api': offline.url}, stripe_version='2024-06-20')
    s = old.v1.subscriptions.retrieve(sub.id)
    assert s.discount.coupon.id == off.id and 'source' not in s.discount
    inv = old.v1.invoices.retrieve(s.latest_invoice)
    assert inv.total == 2700

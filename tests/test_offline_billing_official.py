"""Billing flows of the offline Stripe driven by the official `stripe` package over loopback, as Stripe's sample apps run
them: a `default_incomplete` subscription paid through its first invoice's `confirmation_secret`."""
import pytest, stripe
from conftest import offline_engine, official_client

KEY = 'sk_test_official_billing_00000000'

@pytest.fixture
def offline(): yield from offline_engine()  # the engine, its loopback url as `.url`

@pytest.fixture
def client(offline): return official_client(offline.url, KEY)

def test_default_incomplete_paid_through_confirmation_secret(client, offline):
    "The subscriptions quickstart: create `default_incomplete`, confirm the PaymentIntent behind `confirmation_secret`, active"
    price = client.v1.prices.create(params={'product_data': {'name': 'Sample Pro'}, 'unit_amount': 1500, 'currency': 'usd',
                                            'recurring': {'interval': 'month'}})
    cus = client.v1.customers.create(params={'email': 'sample@example.com'})
    sub = client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': price.id}],
        'payment_behavior': 'default_incomplete', 'payment_settings': {'save_default_payment_method': 'on_subscription'},
        'expand': ['latest_invoice.confirmation_secret']})
    assert sub.status == 'incomplete' and sub.latest_invoice.status == 'open'
    secret = sub.latest_invoice.confirmation_secret
    assert secret.type == 'payment_intent' and '_secret_' in secret.client_secret
    pi_id = secret.client_secret.split('_secret_')[0]
    pi = client.v1.payment_intents.retrieve(pi_id)
    assert (pi.amount, pi.currency, pi.customer, pi.client_secret) == (1500, 'usd', cus.id, secret.client_secret)
    pi = client.v1.payment_intents.confirm(pi_id, params={'payment_method': 'pm_card_visa'})
    assert pi.status == 'succeeded'
    sub = client.v1.subscriptions.retrieve(sub.id, params={'expand': ['latest_invoice.payments']})
    assert sub.status == 'active' and sub.latest_invoice.status == 'paid' and sub.latest_invoice.amount_paid == 1500
    assert sub.default_payment_method == pi.payment_method  # save_default_payment_method=on_subscription
    pay = sub.latest_invoice.payments.data[0]
    assert (pay.status, pay.payment.payment_intent, pay.amount_paid) == ('paid', pi_id, 1500)
    events = [e.type for e in client.v1.events.list(params={'limit': 100}).auto_paging_iter()][::-1]
    for t in ('customer.subscription.created', 'invoice.finalized', 'payment_intent.succeeded', 'invoice.paid',
              'invoice.payment_succeeded', 'customer.subscription.updated'):
        assert t in events, t
    assert events.index('payment_intent.succeeded') < events.index('invoice.paid') < events.index('customer.subscription.updated')
    upd = client.v1.events.list(params={'type': 'customer.subscription.updated', 'limit': 1}).data[0]
    assert upd.data.object.status == 'active' and upd.data.previous_attributes['status'] == 'incomplete'

def test_declined_then_paid_invoice(client):
    "A declined confirmation is a CardError and `invoice.payment_failed`; paying the invoice with a working card activates"
    price = client.v1.prices.create(params={'product_data': {'name': 'Sample Basic'}, 'unit_amount': 900, 'currency': 'usd',
                                            'recurring': {'interval': 'month'}})
    cus = client.v1.customers.create(params={'email': 'decline@example.com'})
    sub = client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': price.id}],
        'payment_behavior': 'default_incomplete', 'expand': ['latest_invoice.confirmation_secret']})
    pi_id = sub.latest_invoice.confirmation_secret.client_secret.split('_secret_')[0]
    with pytest.raises(stripe.CardError) as e:
        client.v1.payment_intents.confirm(pi_id, params={'payment_method': 'pm_card_chargeDeclined'})
    assert e.value.code == 'card_declined'
    inv = client.v1.invoices.retrieve(sub.latest_invoice.id)
    assert (inv.status, inv.attempt_count) == ('open', 1)
    assert client.v1.subscriptions.retrieve(sub.id).status == 'incomplete'
    assert client.v1.invoices.pay(inv.id, params={'payment_method': 'pm_card_visa'}).status == 'paid'
    assert client.v1.subscriptions.retrieve(sub.id).status == 'active'

def test_test_clock_renewals(client):
    "A test clock through the official package: a customer on it, a monthly subscription, two renewals paid, ready"
    import calendar, datetime
    t0 = calendar.timegm(datetime.datetime(2026, 1, 31, 9).timetuple())
    clock = client.v1.test_helpers.test_clocks.create(params={'frozen_time': t0, 'name': 'official'})
    assert (clock.status, clock.frozen_time) == ('ready', t0)
    cus = client.v1.customers.create(params={'test_clock': clock.id, 'payment_method': 'pm_card_visa',
                                             'invoice_settings': {'default_payment_method': 'pm_card_visa'}})
    assert cus.created == t0 and cus.test_clock == clock.id
    price = client.v1.prices.create(params={'product_data': {'name': 'Clocked'}, 'unit_amount': 700, 'currency': 'usd',
                                            'recurring': {'interval': 'month'}})
    sub = client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': price.id}]})
    t1 = calendar.timegm(datetime.datetime(2026, 3, 31, 9).timetuple())
    adv = client.v1.test_helpers.test_clocks.advance(clock.id, params={'frozen_time': t1})
    assert adv.status == 'advancing' and adv.status_details.advancing.target_frozen_time == t1
    assert client.v1.test_helpers.test_clocks.retrieve(clock.id).status == 'ready'
    client.v1.test_helpers.test_clocks.advance(clock.id, params={'frozen_time': t1 + 7200})
    invs = client.v1.invoices.list(params={'subscription': sub.id, 'limit': 10}).data
    assert [i.status for i in invs] == ['paid', 'paid', 'paid'] and sum(i.amount_paid for i in invs) == 2100
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.test_helpers.test_clocks.advance(clock.id, params={'frozen_time': t1 + 90*86400})
    assert e.value.param == 'frozen_time'
    assert client.v1.test_helpers.test_clocks.delete(clock.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError): client.v1.customers.retrieve(cus.id)

def test_meter_event_session_and_stream(offline):
    "A meter event session's token authenticates the v2 meter event stream (its own host, `meter_events`); the usage is billed"
    client = stripe.StripeClient(KEY, base_addresses={'api': offline.url, 'meter_events': offline.url})
    meter = client.v1.billing.meters.create(params={'display_name': 'Calls', 'event_name': 'call', 'default_aggregation': {'formula': 'sum'}})
    price = client.v1.prices.create(params={'product_data': {'name': 'Calls'}, 'unit_amount': 2, 'currency': 'usd',
        'recurring': {'interval': 'month', 'usage_type': 'metered', 'meter': meter.id}})
    cus = client.v1.customers.create(params={'payment_method': 'pm_card_visa', 'invoice_settings': {'default_payment_method': 'pm_card_visa'}})
    sub = client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': price.id}]})
    sess = client.v2.billing.meter_event_session.create()
    assert sess.authentication_token.startswith('mes_test_') and sess.expires_at > sess.created
    stream = stripe.StripeClient(sess.authentication_token, base_addresses={'api': offline.url, 'meter_events': offline.url})
    stream.v2.billing.meter_event_stream.create(params={'events': [
        {'event_name': 'call', 'payload': {'stripe_customer_id': cus.id, 'value': '25'}}] * 2})
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient('mes_test_unknown', base_addresses={'meter_events': offline.url}).v2.billing.meter_event_stream.create(
            params={'events': [{'event_name': 'call', 'payload': {'stripe_customer_id': cus.id, 'value': '1'}}]})
    client.v1.billing.meter_events.create(params={'event_name': 'call', 'payload': {'stripe_customer_id': cus.id, 'value': '10'}})
    st = offline
    assert st.meter_usage(st.objs[meter.id], cus.id, sub['items'].data[0].current_period_start, sub['items'].data[0].current_period_end) == 60

def test_schedule_phases_on_a_clock_and_old_iterations(client, offline):
    "A schedule moves through its phases as its clock advances; an app pinned before clover sends `phases[][iterations]`"
    import calendar, datetime
    t0 = calendar.timegm(datetime.datetime(2026, 1, 1).timetuple())
    clock = client.v1.test_helpers.test_clocks.create(params={'frozen_time': t0})
    cus = client.v1.customers.create(params={'test_clock': clock.id, 'payment_method': 'pm_card_visa',
                                             'invoice_settings': {'default_payment_method': 'pm_card_visa'}})
    basic = client.v1.prices.create(params={'product_data': {'name': 'Basic'}, 'unit_amount': 1000, 'currency': 'usd', 'recurring': {'interval': 'month'}})
    pro = client.v1.prices.create(params={'product_data': {'name': 'Pro'}, 'unit_amount': 3000, 'currency': 'usd', 'recurring': {'interval': 'month'}})
    old = stripe.StripeClient(KEY, base_addresses={'api': offline.url}, stripe_version='2025-08-27.basil')
    sc = old.v1.subscription_schedules.create(params={'customer': cus.id, 'start_date': 'now', 'end_behavior': 'cancel',
        'phases': [{'items': [{'price': basic.id}], 'iterations': 1}, {'items': [{'price': pro.id}], 'iterations': 1}]})
    assert sc.status == 'active' and [p.end_date - p.start_date for p in sc.phases] == [31*86400, 28*86400]
    client.v1.test_helpers.test_clocks.advance(clock.id, params={'frozen_time': t0 + 59*86400})  # March 1st: two months, the limit
    client.v1.test_helpers.test_clocks.advance(clock.id, params={'frozen_time': t0 + 59*86400 + 7200})
    invs = client.v1.invoices.list(params={'subscription': sc.subscription}).data[::-1]
    assert [(i.total, i.status) for i in invs] == [(1000, 'paid'), (3000, 'paid')]
    assert client.v1.subscription_schedules.retrieve(sc.id).status == 'completed'
    assert client.v1.subscriptions.retrieve(sc.subscription).status == 'canceled'
    types = [e.type for e in client.v1.events.list(params={'limit': 100}).auto_paging_iter()]
    assert {'subscription_schedule.created', 'subscription_schedule.updated', 'subscription_schedule.completed'} <= set(types)

def test_quote_accepted_then_credited(client):
    "A quote finalized and accepted makes a paid subscription; a credit note refunds part of its first invoice"
    cus = client.v1.customers.create(params={'payment_method': 'pm_card_visa', 'invoice_settings': {'default_payment_method': 'pm_card_visa'}})
    price = client.v1.prices.create(params={'product_data': {'name': 'Team'}, 'unit_amount': 2500, 'currency': 'usd', 'recurring': {'interval': 'month'}})
    q = client.v1.quotes.create(params={'customer': cus.id, 'line_items': [{'price': price.id, 'quantity': 4}]})
    assert (q.status, q.amount_total) == ('draft', 10000)
    q = client.v1.quotes.finalize_quote(q.id)
    assert q.status == 'open' and q.number.startswith('QT-')
    q = client.v1.quotes.accept(q.id)
    inv = client.v1.invoices.retrieve(q.invoice)
    assert (q.status, client.v1.subscriptions.retrieve(q.subscription).status, inv.status, inv.total) == ('accepted', 'active', 'paid', 10000)
    pv = client.v1.credit_notes.preview(params={'invoice': inv.id, 'amount': 2500, 'refund_amount': 2500})
    assert pv.amount == 2500 and pv.type == 'post_payment'
    cn = client.v1.credit_notes.create(params={'invoice': inv.id, 'amount': 2500, 'refund_amount': 2500, 'reason': 'order_change'})
    assert cn.refunds[0].amount_refunded == 2500 and client.v1.refunds.retrieve(cn.refunds[0].refund).amount == 2500
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.credit_notes.void_credit_note(cn.id)

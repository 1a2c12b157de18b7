"""Invoice and test clock events that need a particular setup, driven by the official `stripe` package over loopback:
`invoice.finalization_failed` (automatic tax without a customer location), `invoice.payment_attempt_required` (a custom
payment method, paid through a Payment Record), and `test_helpers.test_clock.internal_failure` (the offline-only fault
header, sent as the package sends any extra header)."""
import pytest, stripe
from conftest import offline_engine, official_client

KEY = 'sk_test_official_invoice_events_00'

@pytest.fixture
def offline(): yield from offline_engine()  # the engine, its loopback url as `.url`

@pytest.fixture
def client(offline): return official_client(offline.url, KEY)

def types(client): return [e.type for e in client.v1.events.list(params={'limit': 100}).auto_paging_iter()][::-1]

def test_finalization_fails_without_a_tax_location(client):
    cus = client.v1.customers.create(params={'email': 'tax@example.com'})
    client.v1.invoice_items.create(params={'customer': cus.id, 'amount': 2500, 'currency': 'usd'})
    inv = client.v1.invoices.create(params={'customer': cus.id, 'pending_invoice_items_behavior': 'include', 'automatic_tax': {'enabled': True}})
    with pytest.raises(stripe.InvalidRequestError) as e: client.v1.invoices.finalize_invoice(inv.id)
    assert (e.value.http_status, e.value.code) == (400, 'customer_tax_location_invalid')
    inv = client.v1.invoices.retrieve(inv.id)
    assert (inv.status, inv.automatic_tax.status, inv.last_finalization_error.code) == ('draft', 'requires_location_inputs', 'customer_tax_location_invalid')
    assert types(client)[-1] == 'invoice.finalization_failed'
    client.v1.customers.update(cus.id, params={'address': {'country': 'DE'}})
    inv = client.v1.invoices.finalize_invoice(inv.id)
    assert (inv.status, inv.last_finalization_error, inv.automatic_tax.status, inv.amount_due) == ('open', None, 'complete', 2500)

def test_custom_payment_method_paid_through_a_payment_record(client):
    cpm = client.v1.payment_methods.create(params={'type': 'custom', 'custom': {'type': 'cpmt_partner_wallet'}})
    cus = client.v1.customers.create(params={'payment_method': cpm.id, 'invoice_settings': {'default_payment_method': cpm.id}})
    price = client.v1.prices.create(params={'product_data': {'name': 'Wallet plan'}, 'unit_amount': 1200, 'currency': 'usd',
                                            'recurring': {'interval': 'month'}})
    sub = client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': price.id}]})
    assert sub.status == 'incomplete'
    inv = client.v1.invoices.retrieve(sub.latest_invoice)
    assert (inv.status, inv.amount_remaining) == ('open', 1200)
    ev = client.v1.events.list(params={'type': 'invoice.payment_attempt_required'}).data
    assert [e.data.object.id for e in ev] == [inv.id]
    rec = client.v1.payment_records.report_payment(params={'amount_requested': {'value': 1200, 'currency': 'usd'},
        'initiated_at': inv.created, 'payment_method_details': {'payment_method': cpm.id}, 'outcome': 'guaranteed',
        'guaranteed': {'guaranteed_at': inv.created}, 'processor_details': {'type': 'custom', 'custom': {'payment_reference': 'ref-42'}}})
    assert (rec.amount_guaranteed.value, rec.customer_details.customer) == (1200, cus.id)
    inv = client.v1.invoices.attach_payment(inv.id, params={'payment_record': rec.id})
    assert (inv.status, inv.amount_paid) == ('paid', 1200)
    assert client.v1.subscriptions.retrieve(sub.id).status == 'active'

def test_test_clock_internal_failure_by_header(client):
    clock = client.v1.test_helpers.test_clocks.create(params={'frozen_time': 1767225600})
    answer = client.v1.test_helpers.test_clocks.advance(clock.id, params={'frozen_time': 1767312000},
                                                        options={'headers': {'Faststripe-Offline-Fault': 'test_clock_internal_failure'}})
    assert answer.status == 'advancing'
    clock = client.v1.test_helpers.test_clocks.retrieve(clock.id)
    assert (clock.status, clock.frozen_time) == ('internal_failure', 1767225600)
    assert types(client)[-2:] == ['test_helpers.test_clock.advancing', 'test_helpers.test_clock.internal_failure']
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.test_helpers.test_clocks.advance(clock.id, params={'frozen_time': 1767312000})
    assert 'internal_failure' in e.value.user_message
    assert client.v1.test_helpers.test_clocks.delete(clock.id).deleted

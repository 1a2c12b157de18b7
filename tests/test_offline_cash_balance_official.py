"""Bank transfers on the offline Stripe, driven over loopback by the official `stripe` package as an app would: a
customer_balance payment intent waiting for a transfer, the test helper that funds it, the cash balance and its
transactions, manual reconciliation, funding instructions, an invoice paid by transfer, and an overpaid invoice."""
import pytest
import stripe
from conftest import offline_engine, official_client, event_types

KEY = 'sk_test_cash_000000000000000000'

@pytest.fixture(scope='module')
def engine(): yield from offline_engine()

@pytest.fixture
def client(engine): return official_client(engine.url, KEY)


def bank_transfer_pi(client, cus, amount, currency='usd', typ='us_bank_transfer', **bt):
    return client.v1.payment_intents.create(params={'amount': amount, 'currency': currency, 'customer': cus, 'confirm': True,
        'payment_method_types': ['customer_balance'], 'payment_method_data': {'type': 'customer_balance'},
        'payment_method_options': {'customer_balance': {'funding_type': 'bank_transfer', 'bank_transfer': {'type': typ, **bt}}}})

def test_partial_then_full_funding(client):
    "The accept-a-bank-transfer flow: instructions, a short transfer (partially funded), the rest (succeeded), the excess kept"
    cus = client.v1.customers.create(params={'email': 'wire@example.com'}).id
    pi = bank_transfer_pi(client, cus, 2000)
    ins = pi.next_action.display_bank_transfer_instructions
    assert (pi.status, pi.next_action.type, ins.amount_remaining, ins.type) == ('requires_action', 'display_bank_transfer_instructions', 2000, 'us_bank_transfer')
    assert [a.type for a in ins.financial_addresses] == ['aba', 'swift'] and ins.financial_addresses[0].aba.routing_number == '110000000'
    t = client.v1.test_helpers.customers.fund_cash_balance(cus, params={'amount': 1500, 'currency': 'usd', 'reference': ins.reference})
    assert isinstance(t, stripe.CustomerCashBalanceTransaction) and (t.type, t.net_amount, t.ending_balance) == ('funded', 1500, 1500)
    mid = client.v1.payment_intents.retrieve(pi.id)
    assert mid.status == 'requires_action' and mid.next_action.display_bank_transfer_instructions.amount_remaining == 500
    client.v1.test_helpers.customers.fund_cash_balance(cus, params={'amount': 800, 'currency': 'usd'})
    done = client.v1.payment_intents.retrieve(pi.id)
    assert (done.status, done.amount_received, done.next_action) == ('succeeded', 2000, None)
    cb = client.v1.customers.cash_balance.retrieve(cus)
    assert isinstance(cb, stripe.CashBalance) and cb.available.to_dict() == {'usd': 300} and cb.settings.reconciliation_mode == 'automatic'
    txns = client.v1.customers.cash_balance_transactions.list(cus).data
    assert [(x.type, x.net_amount) for x in txns][::-1] == [('funded', 1500), ('applied_to_payment', -1500), ('funded', 800), ('applied_to_payment', -500)]
    assert client.v1.customers.cash_balance_transactions.retrieve(cus, txns[0].id).id == txns[0].id
    assert event_types(client, pi.id) == ['payment_intent.created', 'payment_intent.requires_action', 'payment_intent.partially_funded', 'payment_intent.succeeded']

def test_manual_reconciliation_and_errors(client):
    "Manual mode keeps funds until apply_customer_balance; bad requests are StripeErrors naming the parameter"
    cus = client.v1.customers.create(params={'email': 'manual@example.com'}).id
    cb = client.v1.customers.cash_balance.update(cus, params={'settings': {'reconciliation_mode': 'manual'}})
    assert cb.settings.to_dict() == {'reconciliation_mode': 'manual', 'using_merchant_default': False}
    pi = bank_transfer_pi(client, cus, 20000, 'jpy', 'jp_bank_transfer')
    assert pi.next_action.display_bank_transfer_instructions.financial_addresses[0].type == 'zengin'
    client.v1.test_helpers.customers.fund_cash_balance(cus, params={'amount': 25000, 'currency': 'jpy'})
    assert client.v1.payment_intents.retrieve(pi.id).status == 'requires_action'   # manual: nothing applied
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.payment_intents.apply_customer_balance(pi.id, params={'amount': 30000})
    assert e.value.param == 'amount'
    assert client.v1.payment_intents.apply_customer_balance(pi.id).status == 'succeeded'
    assert client.v1.customers.cash_balance.retrieve(cus).available.to_dict() == {'jpy': 5000}
    with pytest.raises(stripe.InvalidRequestError) as e:
        bank_transfer_pi(client, cus, 2000, 'usd', 'eu_bank_transfer')
    assert e.value.param == 'payment_method_options[customer_balance][bank_transfer][type]'
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.test_helpers.customers.fund_cash_balance(cus, params={'amount': 100, 'currency': 'cad'})
    assert e.value.param == 'currency'
    fi = client.v1.customers.funding_instructions.create(cus, params={'currency': 'eur', 'funding_type': 'bank_transfer',
                                                                      'bank_transfer': {'type': 'eu_bank_transfer', 'eu_bank_transfer': {'country': 'NL'}}})
    assert (fi.bank_transfer.type, fi.bank_transfer.country, fi.bank_transfer.financial_addresses[0].iban.iban[:2]) == ('eu_bank_transfer', 'NL', 'NL')

def test_invoice_by_transfer_and_overpaid_invoice(client):
    "A send_invoice invoice taking customer_balance is paid when funds cover it; two attached payments overpay another"
    cus = client.v1.customers.create(params={'email': 'ap@example.com'}).id
    client.v1.invoice_items.create(params={'customer': cus, 'amount': 5000, 'currency': 'usd'})
    inv = client.v1.invoices.create(params={'customer': cus, 'collection_method': 'send_invoice', 'days_until_due': 30,
        'pending_invoice_items_behavior': 'include', 'payment_settings': {'payment_method_types': ['customer_balance']}})
    client.v1.invoices.finalize_invoice(inv.id)
    client.v1.test_helpers.customers.fund_cash_balance(cus, params={'amount': 4000, 'currency': 'usd'})
    assert client.v1.invoices.retrieve(inv.id).status == 'open'   # invoices are not partially funded
    client.v1.test_helpers.customers.fund_cash_balance(cus, params={'amount': 1000, 'currency': 'usd'})
    paid = client.v1.invoices.retrieve(inv.id)
    assert (paid.status, paid.amount_paid) == ('paid', 5000)
    client.v1.invoice_items.create(params={'customer': cus, 'amount': 2000, 'currency': 'usd'})
    inv2 = client.v1.invoices.finalize_invoice(client.v1.invoices.create(params={'customer': cus, 'collection_method': 'send_invoice',
        'days_until_due': 30, 'pending_invoice_items_behavior': 'include'}).id)
    pis = [client.v1.payment_intents.create(params={'amount': 1500, 'currency': 'usd', 'customer': cus, 'payment_method': 'pm_card_visa'}) for _ in range(2)]
    for p in pis: client.v1.invoices.attach_payment(inv2.id, params={'payment_intent': p.id})
    for p in pis: client.v1.payment_intents.confirm(p.id)
    over = client.v1.invoices.retrieve(inv2.id)
    assert (over.status, over.amount_paid, over.amount_overpaid) == ('paid', 3000, 1000)
    assert event_types(client, inv2.id)[-1] == 'invoice.overpaid'
    assert client.v1.customers.retrieve(cus).balance == -1000

"""Connect on the offline Stripe, driven by the official `stripe` package over loopback: connected accounts, a
destination charge, transfers and reversals from the platform's balance, and requests made as a connected account
(`stripe_account`, the `Stripe-Account` header), with the error classes the package raises for Stripe's answers."""
import pytest
import stripe

KEY = 'sk_test_official_connect_00000000000'

@pytest.fixture
def client(offline_url):
    return stripe.StripeClient(KEY, base_addresses={'api': offline_url})

def funded(client, amount=20000):
    "Available funds for the platform: a charge that bypasses the pending balance"
    return client.v1.payment_intents.create(params={'amount': amount, 'currency': 'usd', 'payment_method': 'pm_card_bypassPending', 'confirm': True})

def test_accounts_transfers_and_reversals(client):
    acct = client.v1.accounts.create(params={'type': 'express', 'capabilities': {'transfers': {'requested': True}}})
    assert isinstance(acct, stripe.Account) and acct.type == 'express' and acct.capabilities.transfers == 'active'
    assert acct.controller.stripe_dashboard.type == 'express' and acct.controller.losses.payments == 'application'
    funded(client)
    before = next(b.amount for b in client.v1.balance.retrieve().available if b.currency == 'usd')
    tr = client.v1.transfers.create(params={'amount': 1500, 'currency': 'usd', 'destination': acct.id, 'transfer_group': 'ORDER_1'})
    assert isinstance(tr, stripe.Transfer) and tr.destination == acct.id and tr.amount_reversed == 0
    after = next(b.amount for b in client.v1.balance.retrieve().available if b.currency == 'usd')
    assert before - after == 1500, 'the transfer leaves the available balance'
    rv = client.v1.transfers.reversals.create(tr.id, params={'amount': 500})
    assert rv.object == 'transfer_reversal' and type(rv).__name__ == 'TransferReversal' and rv.amount == 500 and rv.transfer == tr.id
    again = client.v1.transfers.retrieve(tr.id)
    assert again.amount_reversed == 500 and not again.reversed and [r.id for r in again.reversals.data] == [rv.id]
    assert [r.id for r in client.v1.transfers.reversals.list(tr.id).data] == [rv.id]
    shop_bal = client.v1.balance.retrieve(options={'stripe_account': acct.id})
    assert next(b.amount for b in shop_bal.available if b.currency == 'usd') == 1000, 'the connected account holds what is left'
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.transfers.create(params={'amount': 10**9, 'currency': 'usd', 'destination': acct.id})
    assert e.value.code == 'balance_insufficient' and e.value.http_status == 400

def test_acting_as_a_connected_account(client):
    acct = client.v1.accounts.create(params={'type': 'custom', 'capabilities': {'card_payments': {'requested': True}, 'transfers': {'requested': True}}})
    opts = {'stripe_account': acct.id}
    cus = client.v1.customers.create(params={'email': 'shopper@example.com'}, options=opts)
    assert client.v1.customers.retrieve(cus.id, options=opts).email == 'shopper@example.com'
    with pytest.raises(stripe.InvalidRequestError) as e: client.v1.customers.retrieve(cus.id)
    assert e.value.http_status == 404, "the platform does not see the connected account's customer"
    assert client.v1.accounts.retrieve_current(options=opts).id == acct.id
    with pytest.raises(stripe.PermissionError) as e: client.v1.customers.list(options={'stripe_account': 'acct_nobody'})
    assert e.value.http_status == 403 and e.value.json_body['error']['code'] == 'account_invalid'

def test_destination_charge_and_deletion(client):
    acct = client.v1.accounts.create(params={'type': 'standard'})
    pi = client.v1.payment_intents.create(params={'amount': 4000, 'currency': 'usd', 'payment_method': 'pm_card_visa', 'confirm': True,
                                                  'application_fee_amount': 400, 'transfer_data': {'destination': acct.id}})
    ch = client.v1.charges.retrieve(pi.latest_charge, params={'expand': ['transfer']})
    assert ch.transfer.amount == 3600 and ch.transfer.destination == acct.id and ch.transfer.source_transaction == ch.id
    fee = client.v1.application_fees.retrieve(ch.application_fee)
    assert fee.amount == 400 and fee.account == acct.id
    gone = client.v1.accounts.delete(acct.id)
    assert gone.deleted is True
    ev = client.v1.events.list(params={'type': 'account.application.deauthorized', 'limit': 1}).data[0]
    assert ev.account == acct.id and ev.data.object.object == 'application'

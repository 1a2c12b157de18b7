"""The balance and payouts on the offline Stripe, driven over loopback by the official `stripe` package as an app would:
funds pending then available (`pm_card_bypassPending` skips the wait), payouts refused beyond the available balance,
pending until their arrival date on the account's clock (cancelable meanwhile), then paid or failed."""
import pytest
import stripe
from conftest import offline_engine, official_client, event_types

KEY = 'sk_test_payouts_00000000000000000'
T0 = 1_800_000_000  # Friday 2027-01-15 08:00 UTC
DAY = 86400

@pytest.fixture
def engine(): yield from offline_engine(clock=T0)  # the account's clock, moved by the tests

@pytest.fixture
def client(engine): return official_client(engine.url, KEY)

def amounts(bal, part): return {b.currency: b.amount for b in getattr(bal, part)}

types = event_types  # balance.available's object, the balance, has no id: passed over

def test_balance_pending_then_available(client, engine):
    assert (amounts(client.v1.balance.retrieve(), 'available'), amounts(client.v1.balance.retrieve(), 'pending')) == ({'usd': 0}, {'usd': 0})
    fast = client.v1.payment_intents.create(params={'amount': 2000, 'currency': 'usd', 'payment_method': 'pm_card_bypassPending', 'confirm': True})
    slow = client.v1.payment_intents.create(params={'amount': 2000, 'currency': 'usd', 'payment_method': 'pm_card_visa', 'confirm': True})
    bal = client.v1.balance.retrieve()
    assert (amounts(bal, 'available'), amounts(bal, 'pending')) == ({'usd': 1912}, {'usd': 1912})
    assert bal.available[0].source_types['card'] == 1912
    ch = client.v1.charges.retrieve(slow.latest_charge)
    txn = client.v1.balance_transactions.retrieve(ch.balance_transaction)
    assert (txn.type, txn.amount, txn.fee, txn.net, txn.status, txn.source) == ('charge', 2000, 88, 1912, 'pending', ch.id)
    assert txn.available_on == T0 - T0 % DAY + 2*DAY
    assert client.v1.balance_transactions.retrieve(client.v1.charges.retrieve(fast.latest_charge).balance_transaction).status == 'available'
    engine.clock = txn.available_on  # two days later
    assert amounts(client.v1.balance.retrieve(), 'available') == {'usd': 3824}
    avail = client.v1.events.list(params={'type': 'balance.available'}).data
    assert [e.data.object['available'][0]['amount'] for e in avail] == [3824, 1912]  # newest first

def test_payouts_draw_on_the_balance_and_arrive_on_the_clock(client, engine):
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.payouts.create(params={'amount': 1100, 'currency': 'usd'})
    assert e.value.code == 'balance_insufficient' and 'Your card balance is too low' in e.value.user_message
    client.v1.payment_intents.create(params={'amount': 5000, 'currency': 'usd', 'payment_method': 'pm_card_bypassPending', 'confirm': True})
    po = client.v1.payouts.create(params={'amount': 1100, 'currency': 'usd'})
    assert (po.status, po.method, po.arrival_date) == ('pending', 'standard', T0 - T0 % DAY + 4*DAY)  # Tuesday: two business days
    gone = client.v1.payouts.cancel(po.id)
    assert gone.status == 'canceled' and client.v1.balance_transactions.retrieve(gone.failure_balance_transaction).type == 'payout_cancel'
    assert amounts(client.v1.balance.retrieve(), 'available') == {'usd': 4825}  # the money is back
    po2 = client.v1.payouts.create(params={'amount': 1000, 'currency': 'usd', 'metadata': {'batch': '7'}})
    assert client.v1.payouts.update(po2.id, params={'metadata': {'batch': '8'}}).status == 'pending'
    engine.clock = po2.arrival_date - 1
    assert client.v1.payouts.retrieve(po2.id).status == 'pending'
    engine.clock = po2.arrival_date
    done = client.v1.payouts.retrieve(po2.id)
    assert (done.status, done.reconciliation_status) == ('paid', 'completed')
    assert types(client, po2.id) == ['payout.created', 'payout.updated', 'payout.paid', 'payout.reconciliation_completed']
    assert types(client, po.id) == ['payout.created', 'payout.canceled']
    with pytest.raises(stripe.InvalidRequestError) as e: client.v1.payouts.cancel(po2.id)
    assert 'only a pending payout can be canceled' in e.value.user_message
    assert amounts(client.v1.balance.retrieve(), 'available') == {'usd': 3825}

def test_instant_payout_to_a_failing_test_account(client, engine):
    client.v1.charges.create(params={'amount': 3000, 'currency': 'usd', 'source': 'tok_bypassPending'})
    po = client.v1.payouts.create(params={'amount': 500, 'currency': 'usd', 'method': 'instant', 'destination': 'btok_us_verified_noAccount'})
    assert po.arrival_date == T0
    failed = client.v1.payouts.retrieve(po.id)  # the request after its creation: it has arrived, and failed
    assert (failed.status, failed.failure_code) == ('failed', 'no_account')
    assert types(client, po.id) == ['payout.created', 'payout.failed']
    assert amounts(client.v1.balance.retrieve(), 'available') == {'usd': 3000 - 117}

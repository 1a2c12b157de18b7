"""Stripe's payment flows on the offline Stripe, driven over loopback by the official `stripe` package as an app would:
test payment methods that become real objects attached to customers, SetupIntents that save a card (3D Secure and
declines included), declines as `CardError`s, and failed requests that leave nothing behind."""
import pytest
import stripe
from conftest import offline_engine, official_client, event_types

KEY = 'sk_test_payments_0000000000000000'

@pytest.fixture(scope='module')
def engine(): yield from offline_engine()

@pytest.fixture
def client(engine): return official_client(engine.url, KEY)


def test_customer_with_test_payment_method(client):
    "customers.create(payment_method='pm_card_visa') attaches a real card, which payment_methods.list finds"
    cus = client.v1.customers.create(params={'email': 'pm@example.com', 'payment_method': 'pm_card_visa',
                                             'invoice_settings': {'default_payment_method': 'pm_card_visa'}})
    pms = client.v1.payment_methods.list(params={'customer': cus.id, 'type': 'card'}).data
    assert len(pms) == 1 and isinstance(pms[0], stripe.PaymentMethod)
    pm = pms[0]
    assert pm.id.startswith('pm_') and pm.id != 'pm_card_visa' and pm.customer == cus.id
    assert (pm.card.brand, pm.card.last4) == ('visa', '4242')
    assert cus.invoice_settings.default_payment_method == pm.id
    assert [p.id for p in client.v1.customers.payment_methods.list(cus.id).data] == [pm.id]
    assert event_types(client, pm.id) == ['payment_method.attached']
    gone = client.v1.payment_methods.detach(pm.id)
    assert gone.customer is None and client.v1.payment_methods.list(params={'customer': cus.id}).data == []
    assert client.v1.customers.retrieve(cus.id).invoice_settings.default_payment_method is None
    assert event_types(client, pm.id) == ['payment_method.attached', 'payment_method.detached']

def test_setup_intent_confirm_attaches_the_card(client):
    "The save-a-card sample: a SetupIntent for the customer, confirmed with a card, leaves the card attached"
    cus = client.v1.customers.create(params={'email': 'saver@example.com'})
    si = client.v1.setup_intents.create(params={'customer': cus.id, 'payment_method_types': ['card']})
    assert si.status == 'requires_payment_method' and si.client_secret.startswith(si.id + '_secret_') and si.usage == 'off_session'
    done = client.v1.setup_intents.confirm(si.id, params={'payment_method': 'pm_card_mastercard'})
    assert done.status == 'succeeded' and done.payment_method.startswith('pm_')
    pms = client.v1.payment_methods.list(params={'customer': cus.id}).data
    assert [(p.id, p.card.brand) for p in pms] == [(done.payment_method, 'mastercard')]
    assert event_types(client, si.id) == ['setup_intent.created', 'setup_intent.succeeded']
    assert event_types(client, done.payment_method) == ['payment_method.attached']
    pi = client.v1.payment_intents.create(params={'amount': 1500, 'currency': 'usd', 'customer': cus.id, 'payment_method': done.payment_method,
                                                  'off_session': True, 'confirm': True})
    assert pi.status == 'succeeded'  # the saved card pays later, off-session

def test_setup_intent_3d_secure(client, engine):
    "A card that authenticates on setup: requires_action, completed through the engine's authenticate_payment (the authentication page's call)"
    cus = client.v1.customers.create(params={'email': 'three-ds@example.com'})
    si = client.v1.setup_intents.create(params={'customer': cus.id, 'payment_method': 'pm_card_authenticationRequiredOnSetup', 'confirm': True,
                                                'return_url': 'https://example.com/back'})
    assert si.status == 'requires_action' and si.next_action.type == 'redirect_to_url'
    assert '/3d_secure_2/hosted?setup_intent=' + si.id in si.next_action.redirect_to_url.url
    with engine.lock: engine.authenticate_payment(engine.objs[si.id])
    si = client.v1.setup_intents.retrieve(si.id)
    assert si.status == 'succeeded' and client.v1.payment_methods.retrieve(si.payment_method).customer == cus.id
    pi = client.v1.payment_intents.create(params={'amount': 2000, 'currency': 'usd', 'customer': cus.id, 'payment_method': si.payment_method,
                                                  'off_session': True, 'confirm': True})
    assert pi.status == 'succeeded'

def test_declines_are_card_errors(client):
    "Declining test cards raise stripe.CardError with Stripe's code and decline_code; the declined intents are kept"
    cases = {'pm_card_chargeDeclined': ('card_declined', 'generic_decline'), 'pm_card_visa_chargeDeclinedInsufficientFunds': ('card_declined', 'insufficient_funds'),
             'pm_card_visa_chargeDeclinedLostCard': ('card_declined', 'lost_card'), 'pm_card_chargeDeclinedExpiredCard': ('expired_card', 'expired_card'),
             'pm_card_chargeDeclinedIncorrectCvc': ('incorrect_cvc', 'incorrect_cvc'), 'pm_card_chargeDeclinedProcessingError': ('processing_error', 'processing_error')}
    for pm, (code, decline) in cases.items():
        with pytest.raises(stripe.CardError) as e:
            client.v1.payment_intents.create(params={'amount': 1000, 'currency': 'usd', 'payment_method': pm, 'confirm': True})
        assert (e.value.http_status, e.value.code, e.value.error.decline_code) == (402, code, decline), pm
        pi = client.v1.payment_intents.retrieve(e.value.error.payment_intent['id'])
        assert pi.status == 'requires_payment_method' and pi.last_payment_error.decline_code == decline
    cus = client.v1.customers.create(params={'email': 'declined-setup@example.com'})
    with pytest.raises(stripe.CardError) as e:
        client.v1.setup_intents.create(params={'customer': cus.id, 'payment_method': 'pm_card_chargeDeclined', 'confirm': True})
    si = client.v1.setup_intents.retrieve(e.value.error.setup_intent['id'])
    assert si.status == 'requires_payment_method' and si.last_setup_error.decline_code == 'generic_decline'
    assert client.v1.payment_methods.list(params={'customer': cus.id}).data == []

def test_failed_creates_leave_nothing_behind(client, engine):
    "A create or update that fails (here: an expansion that cannot be done) stores nothing and sends no event"
    cus = client.v1.customers.create(params={'email': 'before@example.com'})
    prod = client.v1.products.create(params={'name': 'Nothing Behind'})
    price = client.v1.prices.create(params={'product': prod.id, 'unit_amount': 900, 'currency': 'usd', 'recurring': {'interval': 'month'}})
    heard = []
    engine.listeners.append(heard.append)
    try:
        last_event = client.v1.events.list(params={'limit': 1}).data[0].id
        with engine.lock: before = (len(engine.objs), engine.objs[cus.id]['name'])
        failing = [lambda: client.v1.customers.create(params={'email': 'never@example.com', 'payment_method': 'pm_card_visa', 'expand': ['nope']}),
                   lambda: client.v1.setup_intents.create(params={'customer': cus.id, 'payment_method': 'pm_card_visa', 'confirm': True, 'expand': ['nope']}),
                   lambda: client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': price.id}], 'default_payment_method': 'pm_card_visa',
                                                                  'expand': ['nope']}),
                   lambda: client.v1.payment_intents.create(params={'amount': 1000, 'currency': 'usd', 'payment_method': 'pm_card_visa', 'confirm': True,
                                                                    'expand': ['nope']}),
                   lambda: client.v1.customers.update(cus.id, params={'name': 'Changed', 'expand': ['nope']})]
        for f in failing:
            with pytest.raises(stripe.InvalidRequestError) as e: f()
            assert (e.value.http_status, e.value.param) == (400, 'expand')
        with engine.lock: after = (len(engine.objs), engine.objs[cus.id]['name'])
        assert after == before and heard == []
        assert client.v1.events.list(params={'limit': 1}).data[0].id == last_event
        assert [c.email for c in client.v1.customers.list(params={'email': 'never@example.com'}).data] == []
        assert client.v1.subscriptions.list(params={'customer': cus.id}).data == []
        assert client.v1.payment_methods.list(params={'customer': cus.id}).data == []
    finally: engine.listeners.remove(heard.append)

def test_dispute_card_opens_a_dispute(client):
    "pm_card_createDispute: the charge succeeds, then is disputed; winning_evidence wins it (Stripe's testing page)"
    pi = client.v1.payment_intents.create(params={'amount': 3100, 'currency': 'usd', 'payment_method': 'pm_card_createDispute', 'confirm': True})
    assert pi.status == 'succeeded' and client.v1.charges.retrieve(pi.latest_charge).disputed is True
    dps = client.v1.disputes.list(params={'payment_intent': pi.id}).data
    assert len(dps) == 1 and isinstance(dps[0], stripe.Dispute)
    dp = dps[0]
    assert (dp.status, dp.reason, dp.amount, dp.charge) == ('needs_response', 'fraudulent', 3100, pi.latest_charge)
    assert event_types(client, dp.id) == ['charge.dispute.created', 'charge.dispute.funds_withdrawn']
    with pytest.raises(stripe.InvalidRequestError) as e: client.v1.refunds.create(params={'payment_intent': pi.id})
    assert e.value.code == 'charge_disputed'
    won = client.v1.disputes.update(dp.id, params={'evidence': {'uncategorized_text': 'winning_evidence'}})
    assert won.status == 'won' and won.evidence_details.submission_count == 1
    assert event_types(client, dp.id)[-3:] == ['charge.dispute.updated', 'charge.dispute.closed', 'charge.dispute.funds_reinstated']
    other = client.v1.payment_intents.create(params={'amount': 1000, 'currency': 'usd', 'payment_method': 'pm_card_createDispute', 'confirm': True})
    lost = client.v1.disputes.close(client.v1.disputes.list(params={'payment_intent': other.id}).data[0].id)
    assert lost.status == 'lost'

def test_error_if_incomplete_creates_nothing(client):
    "payment_behavior=error_if_incomplete with a declining card: a CardError, and no subscription, invoice or payment intent"
    cus = client.v1.customers.create(params={'email': 'incomplete@example.com'})
    price = client.v1.prices.create(params={'currency': 'usd', 'unit_amount': 900, 'recurring': {'interval': 'month'}, 'product_data': {'name': 'Strict'}})
    with pytest.raises(stripe.CardError) as e:
        client.v1.subscriptions.create(params={'customer': cus.id, 'items': [{'price': price.id}], 'default_payment_method': 'pm_card_chargeDeclined',
                                               'payment_behavior': 'error_if_incomplete'})
    assert e.value.error.decline_code == 'generic_decline'
    assert client.v1.subscriptions.list(params={'customer': cus.id, 'status': 'all'}).data == []
    assert client.v1.invoices.list(params={'customer': cus.id}).data == []
    assert client.v1.payment_intents.list(params={'customer': cus.id}).data == []

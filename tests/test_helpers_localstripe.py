"""The customer, product and subscription helpers end to end against localstripe (a third-party Stripe mock).

localstripe has customers, products, plans and subscriptions, but no prices, Checkout or billing portal, so the
checkout and price helpers are tested against the offline Stripe (nbs/03_helpers.ipynb, test_guide_examples.py).
Subscriptions are made the legacy way localstripe knows (a plan, a card token); the helpers read the product from
either a subscription item's `price` or its `plan`.
"""
import asyncio, uuid
import pytest
from faststripe.core import StripeApi, AsyncStripeApi, pages

@pytest.fixture
def api(localstripe_url): return StripeApi('sk_test_helpers_localstripe', base_url=localstripe_url)

def uniq(prefix): return f'{prefix}-{uuid.uuid4().hex[:10]}'

def card_customer(api, email, **kw):
    tok = api('/v1/tokens', 'POST', data={'card': {'number': '4242424242424242', 'exp_month': 12, 'exp_year': 2030, 'cvc': '123'}})
    return api.customer(email, source=tok.id, **kw)

def subscribe(api, customer, plan):
    # the spec's subscription items know only `price`; localstripe wants the legacy `plan`, so send it raw
    return api('/v1/subscriptions', 'POST', data={'customer': customer.id, 'items': [{'plan': plan.id}]})

def test_customer_get_or_create(api):
    email = uniq('jo') + '@example.com'
    assert api.find_customer(email) is None
    c1 = api.customer(email, name='Jo', metadata={'user_id': '7'})
    c2 = api.customer(email, name='Someone else')
    assert c1.id == c2.id and c2.name == 'Jo'
    assert api.find_customer(email).id == c1.id
    assert len([c for c in pages(api.customers.list, email=email) if c.email == email]) == 1

def test_find_customer_ignores_other_emails(api):
    a, b = uniq('a') + '@example.com', uniq('b') + '@example.com'
    ca, cb = api.customer(a), api.customer(b)
    assert api.find_customer(a).id == ca.id and api.find_customer(b).id == cb.id

def test_product_found_past_the_first_page(api):
    name = uniq('Course')
    first = api.product(name)
    for i in range(105): api.products.create(name=f'{name} filler {i}')
    assert api.find_product(name).id == first.id
    assert api.product(name).id == first.id
    assert len([p for p in pages(api.products.list) if p.name == name]) == 1

def test_archived_product_is_not_reused(api):
    name = uniq('Old')
    old = api.products.create(name=name)
    api.products.update(old.id, active=False)
    assert api.find_product(name) is None
    new = api.product(name)
    assert new.id != old.id and api.product(name).id == new.id

def test_subscription_checks(api):
    email, name = uniq('sub') + '@example.com', uniq('Pro')
    prod = api.product(name)
    plan = api.plans.create(product=prod.id, amount=19_99, currency='usd', interval='month')
    cus = card_customer(api, email)
    assert not api.is_subscribed(cus)
    sub = subscribe(api, cus, plan)
    assert sub.status == 'active'
    assert [s.id for s in api.active_subscriptions(cus)] == [sub.id]
    for who in (cus, cus.id, email):
        for what in (None, prod, prod.id, name):
            assert api.is_subscribed(who, what), (who, what)
    other = api.product(uniq('Other'))
    assert not api.is_subscribed(cus, other) and not api.is_subscribed(cus, uniq('No such product'))
    assert not api.is_subscribed(uniq('nobody') + '@example.com')
    api.subscriptions.subscription_exposed_id_delete(sub.id)
    assert not api.is_subscribed(cus) and api.active_subscriptions(cus, prod) == []
    # canceled subscriptions are left out of Stripe's default list; asking for them makes the helper list status='all'
    assert [s.id for s in api.active_subscriptions(cus, prod, statuses=('canceled',))] == [sub.id]
    assert api.is_subscribed(email, name, statuses='canceled')

def test_bad_input_is_refused_before_sending(localstripe_url):
    api = StripeApi('sk_test_helpers_localstripe', base_url='http://127.0.0.1:9')  # nothing listens there
    with pytest.raises(ValueError, match="email='nope'"): api.customer('nope')
    with pytest.raises(TypeError, match='customer must be'): api.is_subscribed(None)
    with pytest.raises(TypeError, match=r"customer\(\): unexpected parameter 'nmae'; did you mean 'name'"): api.customer('a@b.co', nmae='x')
    with pytest.raises(TypeError, match=r"product\(\): unexpected parameter 'price'"): api.product('Course', price=100)
    with pytest.raises(ValueError, match="'cancelled' is not a subscription status"): api.is_subscribed('cus_1', statuses=['cancelled'])

def test_async_twins(localstripe_url):
    async def run():
        async with AsyncStripeApi('sk_test_helpers_localstripe', base_url=localstripe_url) as aapi:
            email = uniq('async') + '@example.com'
            c1 = await aapi.customer(email)
            c2 = await aapi.customer(email)
            found = await aapi.find_customer(email)
            prod = await aapi.product(uniq('Async'))
            return c1, c2, found, prod, await aapi.find_product(prod.name), await aapi.is_subscribed(c1, prod)
    c1, c2, found, prod, prod2, subscribed = asyncio.run(run())
    assert c1.id == c2.id == found.id and prod.id == prod2.id and subscribed is False

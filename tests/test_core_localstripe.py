"""The generated client end to end against localstripe, a third-party stateful fake Stripe on 127.0.0.1."""
import pytest
from faststripe.core import *

@pytest.fixture
def api(localstripe_url, ls_key):
    with StripeApi(ls_key, base_url=localstripe_url) as api: yield api

def test_customers_crud(api):
    c = api.customers.create(email='crud@example.com', name='Crud', metadata={'plan': 'pro'}, address={'city': 'Paris'})
    assert type(c).__name__ == 'Customer' and c.id.startswith('cus_')
    assert (c.email, c.metadata.plan) == ('crud@example.com', 'pro')
    assert api.customers.retrieve(c.id).email == 'crud@example.com'
    assert api.customers.customer_get(c.id).id == c.id
    assert api.customers.fetch(c.id).id == c.id
    assert api.customers.update(c.id, name='Changed').name == 'Changed'
    assert api.customers.retrieve(c.id).name == 'Changed'
    assert c.id in [o.id for o in pages(api.customers.list)]
    d = api.customers.delete(c.id)
    assert d.deleted is True and d.id == c.id
    with pytest.raises(InvalidRequestError) as e: api.customers.retrieve(c.id)
    assert e.value.http_status == 404

def test_products_crud(api):
    p = api.products.create(name='Widget', description='A widget')
    assert type(p).__name__ == 'Product' and p.name == 'Widget'
    assert api.products.fetch(p.id).description == 'A widget'
    assert api.products.post(name='Other').name == 'Other'
    assert api.products.update(p.id, name='Widget 2').name == 'Widget 2'
    listed = api.products.fetch(limit=3)
    assert listed.object == 'list' and 1 <= len(listed.data) <= 3
    assert p.id in [o.id for o in pages(api.products.list)]  # other suites share this localstripe: look at every page
    assert api.products.delete(p.id).deleted is True

def test_pages_across_more_than_three_pages(api):
    tag = 'pages-test@example.com'
    made = {api.customers.create(email=tag).id for _ in range(17)}
    got = pages(api.customers.list, limit=4, email=tag)
    assert {c.id for c in got} >= made
    assert len(got) == len({c.id for c in got})  # no duplicates
    assert len(list(paged(api.customers.list, limit=4, email=tag))) >= 5

def test_error_parsed_into_stripe_error(api):
    with pytest.raises(InvalidRequestError) as e: api('/v1/customers', 'POST', data={'bogus_param': 1})
    assert e.value.http_status == 400 and 'bogus' in e.value.message
    with pytest.raises(AuthenticationError) as e: StripeApi('not-a-key', base_url=api.base_url).customers.list()
    assert e.value.http_status == 401

def test_validation_before_request(api):
    with pytest.raises(TypeError, match="did you mean 'email'"): api.customers.create(emial='x@example.com')

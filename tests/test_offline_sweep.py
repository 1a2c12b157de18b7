"""The sweep: every v1 operation of the spec snapshot, called once through the generated client against the offline
Stripe, with its path and required parameters filled from the spec.

Each call must answer 2xx, or a 4xx Stripe error body (the documented answer when the sweep's made-up values cannot
be valid, e.g. a parent object the offline Stripe cannot have). Any crash, 5xx or malformed error fails the test.
The counts are printed (run with `-s`) and written to tests/artifacts/offline_sweep.json."""
import json, re, collections, time
from pathlib import Path
import pytest
from faststripe.core import StripeError
from faststripe.offline import OfflineStripe, offline_api
from faststripe.offline.engine import _id_of

ARTIFACTS = Path(__file__).parent/'artifacts'
ref_kinds = {'customer', 'product', 'price', 'plan', 'subscription', 'invoice', 'payment_intent', 'setup_intent',
             'coupon', 'promotion_code', 'payment_link', 'charge', 'refund', 'payment_method', 'tax_rate'}

def sample(name, sc, st, depth=0):
    "A plausible value for parameter `name` with simplified schema `sc`"
    if 'o' in sc: return sample(name + ('_any' if name == 'card' else ''), next((a for a in sc['o'] if a.get('t') != 'obj'), sc['o'][0]), st, depth)
    t = sc.get('t')
    if name in ('card', 'cardholder', 'physical_bundle', 'personalization_design', 'transaction') and t == 'str' and (ids := list(st.by_schema.get(f'issuing.{name}', {}))):
        return ids[-1]  # an Issuing card's or cardholder's id (a plain `card` string is one; `card` as id-or-hash is a payment card)
    if 'e' in sc: return next((e for e in sc['e'] if e != ''), sc['e'][0])
    if t == 'str' and sc.get('f') == 'binary': return b'%PDF-1.4 sweep'  # an upload (`files.create`)
    if t == 'str':
        if name in ref_kinds or name == 'related_customer':  # an identity session's customer
            ids = list(st.by_schema.get(name.removeprefix('related_'), {}))
            if ids: return ids[-1]
        if name == 'currency': return 'usd'
        if 'email' in name: return 'sweep@example.com'
        if name.endswith('url') or name.endswith('_url'): return 'https://example.com/sweep'
        if name == 'country': return 'US'
        if name == 'query': return 'created>0'
        return 'sweep'
    if t == 'int': return 1000 if 'amount' in name or name == 'max_redemptions' else 2099 if name == 'exp_year' else 4102444800 if name == 'redeem_by' else 1  # a card that has not expired, a coupon every operation can redeem
    if t == 'num': return 1
    if t == 'bool': return True
    if t == 'arr': return [sample(name.rstrip('s'), sc.get('i', {}), st, depth+1)]
    if t == 'obj':
        if depth > 5: return {}
        props = sc.get('p', {})
        names = [k for k in sc.get('r', ()) if k in props] or sorted(props)[:1]  # an empty object would not be sent
        return {k: sample(k, props[k], st, depth+1) for k in names}
    return 'sweep'

SEEDED = {}  # ids of the seed's objects, for `also_required`

def _credit(): return dict(invoice=SEEDED['open_invoice'], amount=100)

also_required = {  # parameters Stripe requires though the spec marks them optional (its docs: "one of amount, lines ...")
    ('post', '/v1/subscription_schedules'): lambda: dict(customer=SEEDED['customer'], start_date=int(time.time()) + 30*86400,  # not started:
                                                         phases=[{'items': [{'price': SEEDED['monthly']}]}]),  # no invoice made
    ('post', '/v1/billing/meter_events'): lambda: dict(payload={'stripe_customer_id': SEEDED['customer'], 'value': '1'}),
    ('post', '/v1/reporting/report_runs'): lambda: dict(report_type='balance.summary.1', parameters={'interval_start': 1640995200, 'interval_end': 1672531200}),
    ('post', '/v1/credit_notes'): _credit, ('get', '/v1/credit_notes/preview'): _credit, ('get', '/v1/credit_notes/preview/lines'): _credit,
    # Issuing: a card needs its cardholder, a purchase its card and amount (the spec marks them optional)
    ('post', '/v1/issuing/cards'): lambda: dict(cardholder=SEEDED['cardholder'], shipping={'name': 'Seed Holder',  # physical: shipped by the test helpers
        'address': {'line1': '1 Main St', 'city': 'San Francisco', 'postal_code': '94111', 'country': 'US'}}),
    ('post', '/v1/test_helpers/issuing/authorizations'): lambda: dict(card=SEEDED['issuing_card'], amount=1000),
    ('post', '/v1/test_helpers/issuing/transactions/create_force_capture'): lambda: dict(card=SEEDED['issuing_card']),
    ('post', '/v1/test_helpers/issuing/transactions/create_unlinked_refund'): lambda: dict(card=SEEDED['issuing_card']),
    ('post', '/v1/issuing/personalization_designs'): lambda: dict(physical_bundle=SEEDED['physical_bundle']),
    ('post', '/v1/issuing/disputes'): lambda: dict(transaction=SEEDED['issuing_transaction'])}

def required_params(op, st):
    params = {k: op['q'][k] for k in op['rq']} | {k: op['b'][k] for k in op['rb']}
    extra = also_required.get((op['verb'], op['path']))
    return {k: sample(k, sc, st) for k,sc in params.items()} | (extra() if extra and SEEDED else {})

def path_args(op, st, api):
    """Ids for the path parameters: stored objects of the right kind, created on demand (under their parents) when
    possible; in the order of the op's `pp` (the spec's order, which is not always the path's). The last one, under a
    parent, is preferably an object of that parent (its field named like the parent's parameter names it), else the
    parent is one that has such an object."""
    path, vals, params = op['path'], {}, re.findall(r'\{([^}]+)\}', op['path'])
    for p in params:
        schemas = st.target_schemas(op) if p == params[-1] else st.owner_schemas(path, p)
        ids = [i for s in schemas for i in reversed(st.by_schema.get(s, {}))]
        owner = params[params.index(p)-1] if p == params[-1] and len(params) > 1 else None
        # under a parent, one of the parent's own (a customer's payment method): Stripe finds no other there
        oid = next((i for i in ids if owner and _id_of(st.objs[i].get(owner)) == vals[owner]), None)
        if oid is None and owner and (own := next((i for i in ids if _id_of(st.objs[i].get(owner))), None)):
            oid, vals[owner] = own, _id_of(st.objs[own][owner])  # the parent that has one
        oid = oid or (ids[0] if ids else None)
        if oid is None and schemas:
            prefix = path[:path.index('{'+p+'}')].rstrip('/')
            create = st.spec.by_path.get((prefix, 'POST'))
            if create and create['rn'] == 'create':
                try: oid = api[prefix, 'POST'](*[vals[n] for n in create['pp']], **required_params(create, st)).get('id')
                except StripeError: pass
        vals[p] = oid or f'sweep_missing_{p}'
    return [vals[n] for n in op['pp']]

def order(op):
    "Creates first, deletes last, so that later calls find objects to work on"
    return ({'create': 0}.get(op['rn'], 2 if op['verb'] == 'delete' else 1), op['path'], op['verb'])

def seed(api):
    "The objects of the tutorials, for path parameters and id parameters to refer to"
    cus = api.customers.create(email='seed@example.com')
    card = api.payment_methods.attach('pm_card_visa', customer=cus.id)  # a subscription needs a default payment method
    api.customers.update(cus.id, invoice_settings={'default_payment_method': card.id})
    prod = api.products.create(name='Seed')
    one = api.prices.create(product=prod.id, unit_amount=500, currency='usd')
    monthly = api.prices.create(product=prod.id, unit_amount=900, currency='usd', recurring={'interval': 'month'})
    # billing objects whose creation needs more than the spec's required parameters (before the subscription below,
    # so that one stays the newest): a schedule, and an open invoice with a credit note
    api.subscription_schedules.create(customer=cus.id, start_date='now', phases=[{'items': [{'price': monthly.id}]}])
    open_inv = api.invoices.create(customer=cus.id)
    api.invoiceitems.create(customer=cus.id, invoice=open_inv.id, amount=1000, currency='usd')
    api.invoices.finalize(open_inv.id)
    api.credit_notes.create(invoice=open_inv.id, amount=100)
    holder = api.issuing.cardholders.create(name='Seed Holder', billing={'address': {'line1': '1 Main St', 'city': 'San Francisco', 'postal_code': '94111', 'country': 'US'}},
        individual={'first_name': 'Seed', 'last_name': 'Holder', 'card_issuing': {'user_terms_acceptance': {'date': 1767225600, 'ip': '127.0.0.1'}}})
    icard = api.issuing.cards.create(cardholder=holder.id, currency='usd', type='virtual', status='active')
    itx = api['/v1/test_helpers/issuing/transactions/create_force_capture', 'POST'](card=icard.id, amount=5000)  # a transaction to retrieve, dispute
    bundle = api.issuing.physical_bundles.list().data[0].id
    api.test_helpers.issuing.personalization_designs.activate(api.issuing.personalization_designs.create(physical_bundle=bundle).id)  # cards may use it
    SEEDED.update(customer=cus.id, monthly=monthly.id, open_invoice=open_inv.id, cardholder=holder.id, issuing_card=icard.id, physical_bundle=bundle,
                  issuing_transaction=itx.id)
    api.subscriptions.create(customer=cus.id, items=[{'price': monthly.id}])
    api.checkout_sessions.create(mode='payment', line_items=[{'price': one.id, 'quantity': 1}], success_url='https://example.com')
    api.payment_links.create(line_items=[{'price': one.id, 'quantity': 1}])
    api.payment_intents.create(amount=500, currency='usd', customer=cus.id)
    api.payment_intents.create(amount=100000, currency='usd', payment_method='pm_card_bypassPending', confirm=True)  # money to pay out (payouts draw on it)
    api.payment_intents.create(amount=1000, currency='usd', payment_method='pm_card_visa', confirm=True)  # the newest charge, which the sweep refunds
    api.invoices.create(customer=cus.id)

def run_sweep():
    st = OfflineStripe()
    api = offline_api(st)
    seed(api)
    records = []
    for op in sorted((o for o in st.spec.ops if o['path'].startswith('/v1/')), key=order):
        rec = dict(path=op['path'], verb=op['verb'])
        try:
            args = path_args(op, st, api)
            rec['missing_args'] = [a for a in args if a.startswith('sweep_missing_')]
            res = api[op['path'], op['verb'].upper()](*args, **required_params(op, st))
            rec.update(status=res.last_response.status_code if hasattr(res, 'last_response') else 200,
                       body=res if isinstance(res, bytes) else res.last_response.json() if hasattr(res, 'last_response') else res)
        except StripeError as e: rec.update(status=e.http_status, type=e.type, code=e.code, message=str(e))
        except Exception as e: rec.update(status='crash', message=f'{type(e).__name__}: {e}')
        records.append(rec)
    return records

@pytest.fixture(scope='module')
def sweep(): return run_sweep()

def test_sweep_every_v1_op(sweep):
    from faststripe.spec import bundled_spec
    n_v1 = sum(o['path'].startswith('/v1/') for o in bundled_spec().ops)
    assert len(sweep) == n_v1
    counts = collections.Counter(str(r['status']) for r in sweep)
    codes = collections.Counter(f"{r['status']} {r.get('code')}" for r in sweep if r['status'] != 200)
    summary = dict(operations=len(sweep), by_status=dict(counts), errors_by_code=dict(codes.most_common()))
    ARTIFACTS.mkdir(exist_ok=True)
    calls = [{k: v for k,v in r.items() if k != 'body'} for r in sweep]
    (ARTIFACTS/'offline_sweep.json').write_text(json.dumps(summary | {'calls': calls}, indent=1))
    print(json.dumps(summary, indent=1))
    bad = [r for r in sweep if r['status'] == 'crash' or isinstance(r['status'], int) and r['status'] >= 500]
    assert not bad, bad[:10]
    for r in sweep:
        if r['status'] != 200: assert 400 <= r['status'] < 500 and r['type'] and r['message'], r

def test_sweep_mostly_succeeds(sweep):
    """Most operations succeed with the sweep's values. A 404 is only allowed when the sweep had no object for a path
    parameter: kinds that only Stripe creates (disputes, balance transactions, issuing, treasury...) or whose create
    op needs more than its required parameters; such calls must say `resource_missing`. The sweep calls each op once,
    in path order on the newest object, so some actions meet an object in a state Stripe refuses them in (a schedule
    released after it was cancelled, a draft quote accepted before it is finalized, an active subscription resumed,
    a payment method updated before it is attached): those 400s are right, hence 78% rather than 80%."""
    ok = sum(r['status'] == 200 for r in sweep)
    assert ok / len(sweep) >= 0.78, f'{ok} of {len(sweep)} operations answered 2xx'
    for r in sweep:  # a customer's tax ids, cards, ... after the sweep deleted that customer: Stripe's `No such customer`
        gone_customer = r['path'].startswith('/v1/customers/{customer}/') and "No such customer" in str(r.get('message'))
        if r['status'] == 404: assert r['code'] == 'resource_missing' and (r['missing_args'] or gone_customer), r

_pytypes = dict(str=str, int=int, num=(int, float), bool=bool, obj=dict, arr=list)

def conforms(v, sc, spec, where, depth=0):
    "Problems of value `v` against simplified response schema `sc`: required fields, types, enums"
    if v is None: return [] if sc.get('n') or depth == 0 else [f'{where}: null but not nullable']
    if '$' in sc: return conforms_schema(v, sc['$'], spec, where, depth)
    if 'o' in sc:
        for a in sc['o']:
            if not conforms(v, a, spec, where, depth): return []
        return [f'{where}: {type(v).__name__} matches none of the alternatives']
    t = sc.get('t', 'any')
    if t != 'any' and not (isinstance(v, _pytypes[t]) and not (t in ('int', 'num') and isinstance(v, bool))):
        return [f'{where}: {type(v).__name__}, expected {t}']
    if 'e' in sc and v not in sc['e']: return [f'{where}: {v!r} not in {sc["e"]}']
    if t == 'arr': return [p for i,x in enumerate(v[:3]) for p in conforms(x, sc.get('i', {}), spec, f'{where}[{i}]', depth+1)]
    if t == 'obj' and 'p' in sc:
        return [p for k,x in v.items() if k in sc['p'] for p in conforms(x, sc['p'][k], spec, f'{where}.{k}', depth+1)]
    return []

def conforms_schema(v, name, spec, where, depth=0):
    sc = spec.schema(name)
    if 'o' in sc: return conforms(v, sc, spec, where, depth)
    if not isinstance(v, dict): return [f'{where}: {type(v).__name__}, expected a {name} object']
    probs = [f'{where}.{k}: required field of {name} missing' for k in sc.get('r', ()) if k not in v]
    return probs + [p for k,x in v.items() if k in sc.get('p', {}) for p in conforms(x, sc['p'][k], spec, f'{where}.{k}', depth+1)]

def test_sweep_objects_match_schemas(sweep):
    "Every 2xx answer has its response schema's required fields, with the right types and enum values"
    from faststripe.spec import bundled_spec
    spec, probs, checked = bundled_spec(), [], 0
    for r in sweep:
        if r['status'] != 200: continue
        op = spec.by_path[r['path'], r['verb'].upper()]
        if op['res'].get('t') == 'any' and 'o' not in op['res']: continue  # binary answers (a quote's PDF)
        probs += conforms(r['body'], op['res'], spec, f"{r['verb'].upper()} {r['path']}")
        checked += 1
    assert checked > 400
    assert not probs, probs[:20]

def test_fuzz_never_5xx():
    """Random values and shapes (scalars, objects, lists, empty strings, undecodable bodies) for every operation's
    parameters, on paths naming stored objects: always an answer, 2xx or 4xx with Stripe's error body, never a 5xx"""
    import random
    from urllib.parse import urlencode
    st = OfflineStripe()
    seed(offline_api(st))
    h, rnd, n = {'Authorization': 'Bearer sk_test_fuzz'}, random.Random(3), 0
    values = ['x', '', '1', '-5', 'true', '1.5', 'now', 'cus_nope', 'ä€']
    for op in st.spec.ops:
        path = op['path']
        for p in re.findall(r'\{([^}]+)\}', path):
            ids = [i for s in st.owner_schemas(op['path'], p) for i in st.by_schema.get(s, {})]
            path = path.replace('{'+p+'}', ids[-1] if ids and rnd.random() < 0.8 else 'x_nope')
        names = list(op['b'] or op['q'])
        for trial in range(6):
            pairs = [(k, 'x') for k in names] if trial == 0 else []  # every parameter at once, as a plain string
            for k in rnd.sample(names, min(len(names), 3)) if trial else ():
                r = rnd.random()
                if r < 0.5: pairs.append((k, rnd.choice(values)))
                elif r < 0.75: pairs.append((f'{k}[a]', rnd.choice(values)))
                else: pairs += [(f'{k}[0]', rnd.choice(values)), (f'{k}[1][b]', rnd.choice(values))]
            if op['verb'] == 'post': body, q = (json.dumps(dict(pairs)) if op['ct'] == 'json' else urlencode(pairs)).encode(), ()
            else: body, q = b'', pairs
            if rnd.random() < 0.05: body = b'\xff\xfe['
            status, _, res = st.handle(op['verb'].upper(), path, q, body, h)
            n += 1
            assert status < 500, (op['verb'], path, pairs, res)
            if status >= 400: assert res['error']['type'] and res['error']['message'], res
    assert n > 3000

def test_every_parameter_sweep():
    """Every operation (v1 and v2) once more, now with *every* parameter filled from the spec (nested objects, lists
    of objects): never a crash or 5xx, and each 2xx answer still matches its response schema, since request
    values are echoed into objects only where they fit the response's fields"""
    from faststripe.spec import bundled_spec
    spec = bundled_spec()
    st = OfflineStripe()
    api = offline_api(st)
    seed(api)
    skip = {'expand', 'starting_after', 'ending_before', 'page'}
    ok, probs = 0, []
    for op in sorted(spec.ops, key=order):
        params = {k: sample(k, sc, st) for k,sc in (op['q'] | op['b']).items() if k not in skip}
        try: res = api[op['path'], op['verb'].upper()](*path_args(op, st, api), **params)
        except StripeError as e:
            assert 400 <= e.http_status < 500, (op['path'], op['verb'], str(e))
            continue
        ok += 1
        if not (op['res'].get('t') == 'any' and 'o' not in op['res']):
            probs += conforms(res.last_response.json(), op['res'], spec, f"{op['verb'].upper()} {op['path']}")
    # some refuse a request with every parameter, as Stripe does (an account with both `type` and `controller`, a
    # capability the sweep cannot name, an invoice whose customer has no tax location, funding instructions for an
    # eu_bank_transfer in usd, apply_customer_balance on a card payment)
    assert ok > 485 and not probs, (ok, probs[:20])

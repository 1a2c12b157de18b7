"""Adversarial suite for the customer scope (issue 17): Ada tries to reach Bob's billing data.

Two customers of one offline Stripe, each with a subscription (so invoices, a payment intent and a charge), a
one-off payment, a draft invoice with an invoice item, a payment method, a Checkout Session, a SetupIntent, a tax id
and a customer balance transaction. Ada's attempts on Bob's objects go through the scoped client (sync and async)
and through the billing ASGI app (httpx's ASGI transport): ids in paths and parameters, changed case and
whitespace, list filters, search injection, cursors, expand, attach/detach, updates, cancels.

Each attempt must be refused, or (lists, searches) answered with Ada's objects only, and:
- nothing of Bob's that Ada did not send herself is in the answer or the error (ids, email, name, metadata);
- a refusal is exactly what the same request answers for an id that names nothing (existence is not revealed);
- no log line holds anything of Bob's that Ada did not send, except Bob's customer id in the scope's warning
  ("... which belongs to cus_..."), which the issue asks for;
- Bob's objects are unchanged afterwards (compared with a snapshot taken before).
Then Ada's own requests, through both, all work.
"""
import asyncio, json, logging, re, urllib.parse
from types import SimpleNamespace as NS
import httpx, pytest
from faststripe.core import AsyncStripeApi, InvalidRequestError, StripeError, pages
from faststripe.offline import offline_api
from faststripe.scoped import OutOfScopeError
from faststripe.billing import billing_app


# ---------------------------------------------------------------------------------------------------- the world
def _customer(api, price, name):
    c = api.customers.create(email=f'{name.lower()}@example.com', name=name, metadata={'secret': f'{name}-secret-7731'})
    pm = api.payment_methods.attach('pm_card_visa', customer=c.id)
    api.customers.update(c.id, invoice_settings={'default_payment_method': pm.id})
    sub = api.subscriptions.create(customer=c.id, items=[{'price': price.id}], metadata={'owner': name})
    inv = api.invoices.retrieve(sub.latest_invoice)
    pi = api.payment_intents.create(amount=1234, currency='usd', customer=c.id, payment_method=pm.id, confirm=True,
                                    payment_method_types=['card'], description=f'{name} order')
    ii = api.invoiceitems.create(customer=c.id, amount=500, currency='usd', description=f'{name} extra')
    draft = api.invoices.create(customer=c.id, pending_invoice_items_behavior='include')
    cs = api.checkout_sessions.create(mode='subscription', customer=c.id, line_items=[{'price': price.id, 'quantity': 1}],
                                      success_url='https://example.com/ok', cancel_url='https://example.com/no')
    seti = api.setup_intents.create(customer=c.id, usage='off_session')
    txi = api.customers_tax_ids.create(c.id, type='eu_vat', value='DE123456789')
    cbt = api.customers_balance_transactions.create(c.id, amount=-500, currency='usd', description=f'{name} credit')
    return NS(c=c, id=c.id, pm=pm.id, sub=sub.id, si=sub['items'].data[0].id, inv=inv.id, pi=pi.id, ch=pi.latest_charge,
              ii=ii.id, draft=draft.id, cs=cs.id, seti=seti.id, txi=txi.id, cbt=cbt.id, name=name,
              line=api.invoices_lines.list(inv.id).data[0].id)

@pytest.fixture(scope='module')
def world():
    api = offline_api()
    price = api.prices.create(currency='usd', unit_amount=19_00, recurring={'interval': 'month'}, product_data={'name': 'Pro'})
    price2 = api.prices.create(currency='usd', unit_amount=49_00, recurring={'interval': 'month'}, product_data={'name': 'Team'})
    ada, bob = _customer(api, price, 'Ada'), _customer(api, price, 'Bob')
    ada.pi_open = api.payment_intents.create(amount=999, currency='usd', customer=ada.id, payment_method_types=['card']).id
    # everything of Bob's an answer, an error or a log line must not show (unless Ada sent it)
    bob.tokens = {v for k,v in vars(bob).items() if isinstance(v, str) and k != 'name'} | {
        'bob@example.com', 'Bob-secret-7731', 'Bob order', 'Bob extra', 'Bob credit'}
    sessions = {'s-ada': ada.id, 's-bob': bob.id}
    app = billing_app(api, lambda req: sessions.get(req.cookies.get('session')))
    aapp = billing_app(AsyncStripeApi(api._key, transport=api.transport), lambda req: sessions.get(req.cookies.get('session')))
    return NS(api=api, price=price, price2=price2, ada=ada, bob=bob, app=app, aapp=aapp)

def snapshot(w):
    "Every object of Bob's, as the unscoped client reads it"
    api, b = w.api, w.bob
    objs = {'customer': api.customers.retrieve(b.id), 'pm': api.payment_methods.retrieve(b.pm), 'sub': api.subscriptions.retrieve(b.sub),
            'si': api.subscription_items.retrieve(b.si), 'inv': api.invoices.retrieve(b.inv), 'draft': api.invoices.retrieve(b.draft),
            'pi': api.payment_intents.retrieve(b.pi), 'ch': api.charges.retrieve(b.ch), 'ii': api.invoiceitems.retrieve(b.ii),
            'cs': api.checkout_sessions.retrieve(b.cs), 'seti': api.setup_intents.retrieve(b.seti),
            'txi': api.customers_tax_ids.retrieve(b.id, b.txi), 'cbt': api.customers_balance_transactions.retrieve(b.id, b.cbt),
            'pms': api.payment_methods.list(customer=b.id), 'subs': api.subscriptions.list(customer=b.id, status='all'),
            'invs': api.invoices.list(customer=b.id), 'refunds': api.refunds.list(charge=b.ch),
            'lines': api.invoices_lines.list(b.inv), 'draft_lines': api.invoices_lines.list(b.draft)}
    return json.loads(json.dumps(objs, default=lambda o: o.to_dict() if hasattr(o, 'to_dict') else str(o)))

@pytest.fixture(scope='module')
def before(world): return snapshot(world)


# ---------------------------------------------------------------------------------------------------- checks
def _texts(o):
    "Every string in `o` (an answer, an error body, log messages)"
    if isinstance(o, dict): return [t for k,v in o.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(o, (list, tuple, set)): return [t for v in o for t in _texts(v)]
    return [o] if isinstance(o, str) else [str(o)] if o is not None else []

def leaked(obj, tokens, sent):
    "Bob's tokens found in `obj` that Ada did not send (`sent`: the text of her request)"
    text = '\n'.join(_texts(obj))
    return sorted(t for t in tokens if t in text and t not in sent)

def fake_for(token):
    "An id of the same shape that names nothing"
    pre, _, rest = token.rpartition('_')
    return f"{pre}_{'Z' * len(rest)}" if pre else 'Z' * len(token)

def swap(o, mapping):
    "`o` with each key of `mapping` replaced by its value, in every string, however nested"
    if isinstance(o, str):
        for k,v in mapping.items(): o = o.replace(k, v)
        return o
    if isinstance(o, dict): return {swap(k, mapping): swap(v, mapping) for k,v in o.items()}
    if isinstance(o, (list, tuple)): return type(o)(swap(v, mapping) for v in o)
    return o

def _variants(tok):
    "Bob's id and its case and whitespace variants (all must be refused)"
    return [tok.upper(), tok.lower(), tok.swapcase(), ' ' + tok, tok + ' ', tok + '\n', '\t' + tok]

_request_loggers = ('faststripe', 'httpx', 'httpcore')  # one line per request the server sends, naming its path

def check_logs(records, w, sent):
    """No log line shows Bob's data; the scope's and the app's own lines (and every warning or error) show none of his ids
    either, but for his customer id in the scope's warning. The request log names the ids of the requests the server sent,
    which include Bob's objects the scope read to check them (the subscription of his subscription item): those lines
    may name Bob's object ids, never anything else of his."""
    data = {t for t in w.bob.tokens if not re.fullmatch(r'[a-z_]+_[A-Za-z0-9]+', t)}  # email, metadata, descriptions
    for r in records:
        m = r.getMessage()
        if r.name in _request_loggers and r.levelno < logging.WARNING:
            assert not leaked([m], data, sent), m
            continue
        cleaned = re.sub(rf'which belongs to {re.escape(w.bob.id)}', 'which belongs to <bob>', m)
        assert not leaked([cleaned], w.bob.tokens, sent), (r.name, m)

@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


# ---------------------------------------------------------------------------------------------------- the scoped client
def client_attempts(w):
    "(name, method path on the scoped client, args, kwargs, expected): Ada's attempts on Bob's objects"
    a, b, p = w.ada, w.bob, w.price.id
    M, B = 'missing', 'out_of_scope'  # refused as an id that names nothing; refused as out of scope
    F = 'filtered'  # answered, with Ada's objects only
    res = [
        # ids of Bob's objects in the path
        ('sub retrieve', 'subscriptions.retrieve', [b.sub], {}, M), ('sub update', 'subscriptions.update', [b.sub], {'metadata': {'x': '1'}}, M),
        ('sub cancel', 'subscriptions.cancel', [b.sub], {}, M), ('sub resume', 'subscriptions.resume', [b.sub], {}, M),
        ('sub delete discount', 'subscriptions.delete_discount', [b.sub], {}, M),
        ('sub cancel at period end', 'subscriptions.update', [b.sub], {'cancel_at_period_end': True}, M),
        ('item retrieve', 'subscription_items.retrieve', [b.si], {}, M), ('item update', 'subscription_items.update', [b.si], {'quantity': 9}, M),
        ('item delete', 'subscription_items.delete', [b.si], {}, M),
        ('invoice retrieve', 'invoices.retrieve', [b.inv], {}, M), ('draft update', 'invoices.update', [b.draft], {'description': 'x'}, M),
        ('draft finalize', 'invoices.finalize_invoice', [b.draft], {}, M), ('invoice pay', 'invoices.pay', [b.inv], {'paid_out_of_band': True}, M),
        ('draft void', 'invoices.void_invoice', [b.draft], {}, M), ('draft delete', 'invoices.delete', [b.draft], {}, M),
        ('invoice send', 'invoices.send_invoice', [b.inv], {}, M), ('invoice uncollectible', 'invoices.mark_uncollectible', [b.inv], {}, M),
        ('invoice lines', 'invoices_lines.list', [b.inv], {}, M),
        ('line update via own invoice', 'invoices_lines.update', [a.inv, b.line], {'description': 'x'}, M),
        ('invoice item retrieve', 'invoiceitems.retrieve', [b.ii], {}, M), ('invoice item update', 'invoiceitems.update', [b.ii], {'amount': 1}, M),
        ('invoice item delete', 'invoiceitems.delete', [b.ii], {}, M),
        ('charge retrieve', 'charges.retrieve', [b.ch], {}, M), ('charge update', 'charges.update', [b.ch], {'description': 'x'}, M),
        ('charge capture', 'charges.capture', [b.ch], {}, M),
        ('pi retrieve', 'payment_intents.retrieve', [b.pi], {}, M), ('pi update', 'payment_intents.update', [b.pi], {'description': 'x'}, M),
        ('pi cancel', 'payment_intents.cancel', [b.pi], {}, M), ('pi confirm', 'payment_intents.confirm', [b.pi], {}, M),
        ('pi capture', 'payment_intents.capture', [b.pi], {}, M),
        ('pm retrieve', 'payment_methods.retrieve', [b.pm], {}, M), ('pm update', 'payment_methods.update', [b.pm], {'billing_details': {'name': 'x'}}, M),
        ('pm detach', 'payment_methods.detach', [b.pm], {}, M), ('pm attach', 'payment_methods.attach', [b.pm], {}, M),
        ('pm attach to self', 'payment_methods.attach', [b.pm], {'customer': a.id}, M),
        ('checkout retrieve', 'checkout_sessions.retrieve', [b.cs], {}, M), ('checkout expire', 'checkout_sessions.expire', [b.cs], {}, M),
        ('checkout line items', 'checkout_sessions_line_items.list', [b.cs], {}, M),
        ('setup intent retrieve', 'setup_intents.retrieve', [b.seti], {}, M), ('setup intent cancel', 'setup_intents.cancel', [b.seti], {}, M),
        ('setup intent confirm', 'setup_intents.confirm', [b.seti], {'payment_method': a.pm}, M),
        ('customer retrieve', 'customers.retrieve', [b.id], {}, M), ('customer update', 'customers.update', [b.id], {'name': 'x'}, M),
        ('customer delete', 'customers.delete', [b.id], {}, M), ('customer pms', 'customers_payment_methods.list', [b.id], {}, M),
        ('customer pm under own', 'customers_payment_methods.retrieve', [a.id, b.pm], {}, M),
        ('tax id under own', 'customers_tax_ids.retrieve', [a.id, b.txi], {}, M), ('tax ids of bob', 'customers_tax_ids.list', [b.id], {}, M),
        ('tax id delete under own', 'customers_tax_ids.delete', [a.id, b.txi], {}, M), ('tax id top level', 'tax_ids.retrieve', [b.txi], {}, M),
        ('tax id top level delete', 'tax_ids.delete', [b.txi], {}, M),
        ('balance txn under own', 'customers_balance_transactions.retrieve', [a.id, b.cbt], {}, M),
        ('balance txn update', 'customers_balance_transactions.update', [a.id, b.cbt], {'description': 'x'}, M),
        ('balance txns of bob', 'customers_balance_transactions.list', [b.id], {}, M),
        ('source under own', 'customers_sources.retrieve', [a.id, b.pm], {}, M),
        ('source detach under own', 'customers_sources.delete', [a.id, b.pm], {}, M),
        # the wrong kind of id where another is expected
        ('invoice id as subscription', 'subscriptions.retrieve', [b.inv], {}, M), ('customer id as invoice', 'invoices.retrieve', [b.id], {}, M),
        # ids of Bob's objects in the parameters
        ('subs of bob', 'subscriptions.list', [], {'customer': b.id}, M), ('invoices of bob', 'invoices.list', [], {'customer': b.id}, M),
        ('charges of bob', 'charges.list', [], {'customer': b.id}, M), ('pis of bob', 'payment_intents.list', [], {'customer': b.id}, M),
        ('pms of bob', 'payment_methods.list', [], {'customer': b.id}, M), ('checkouts of bob', 'checkout_sessions.list', [], {'customer': b.id}, M),
        ('setup intents of bob', 'setup_intents.list', [], {'customer': b.id}, M),
        ('invoice items of bob', 'invoiceitems.list', [], {'customer': b.id}, M),
        ('subs of BOB', 'subscriptions.list', [], {'customer': b.id.upper()}, M), ('subs of " bob"', 'subscriptions.list', [], {'customer': ' ' + b.id}, M),
        ('invoices of bob sub', 'invoices.list', [], {'subscription': b.sub}, M),
        ('charges of bob pi', 'charges.list', [], {'payment_intent': b.pi}, M),
        ('checkouts of bob pi', 'checkout_sessions.list', [], {'payment_intent': b.pi}, M),
        ('checkouts of bob sub', 'checkout_sessions.list', [], {'subscription': b.sub}, M),
        ('items of bob sub', 'subscription_items.list', [], {'subscription': b.sub}, M),
        ('refunds of bob charge', 'refunds.list', [], {'charge': b.ch}, M),
        ('refund bob charge', 'refunds.create', [], {'charge': b.ch}, M), ('refund bob pi', 'refunds.create', [], {'payment_intent': b.pi}, M),
        ('invoice for bob sub', 'invoices.create', [], {'subscription': b.sub}, M),
        ('schedule from bob sub', 'subscription_schedules.create', [], {'from_subscription': b.sub}, M),
        ('revise bob invoice', 'invoices.create', [], {'from_invoice': {'action': 'revision', 'invoice': b.inv}}, M),
        ('item on bob draft', 'invoiceitems.create', [], {'invoice': b.draft, 'amount': 100, 'currency': 'usd'}, M),
        ('credit note on bob invoice', 'credit_notes.create', [], {'invoice': b.inv, 'amount': 100}, M),
        ('preview bob sub', 'invoices.create_preview', [], {'subscription': b.sub}, M),
        ('preview for bob', 'invoices.create_preview', [], {'customer': b.id}, M),
        ('subscribe for bob', 'subscriptions.create', [], {'customer': b.id, 'items': [{'price': p}]}, M),
        ('subscribe with bob pm', 'subscriptions.create', [], {'items': [{'price': p}], 'default_payment_method': b.pm}, M),
        ('own sub, bob pm', 'subscriptions.update', [a.sub], {'default_payment_method': b.pm}, M),
        ('own sub, bob item', 'subscriptions.update', [a.sub], {'items': [{'id': b.si, 'quantity': 3}]}, M),
        ('own sub, bob item deleted', 'subscriptions.update', [a.sub], {'items': [{'id': b.si, 'deleted': True}]}, M),
        ('default pm bob', 'customers.update', [a.id], {'invoice_settings': {'default_payment_method': b.pm}}, M),
        ('pay with bob pm', 'payment_intents.create', [], {'amount': 100, 'currency': 'usd', 'payment_method': b.pm}, M),
        ('confirm own pi with bob pm', 'payment_intents.confirm', [a.pi_open], {'payment_method': b.pm}, M),
        ('setup with bob pm', 'setup_intents.create', [], {'payment_method': b.pm}, M),
        ('portal for bob', 'billing_portal_sessions.create', [], {'customer': b.id}, M),
        ('portal cancel bob sub', 'billing_portal_sessions.create', [], {'flow_data': {'type': 'subscription_cancel', 'subscription_cancel': {'subscription': b.sub}}}, M),
        ('checkout for bob', 'checkout_sessions.create', [], {'customer': b.id, 'mode': 'setup', 'currency': 'usd', 'success_url': 'https://x.example/ok'}, M),
        ('ephemeral key for bob', 'ephemeral_keys.create', [], {'customer': b.id}, M),
        ('customer session for bob', 'customer_sessions.create', [], {'customer': b.id, 'components': {'pricing_table': {'enabled': True}}}, M),
        # cursors
        ('cursor bob invoice', 'invoices.list', [], {'starting_after': b.inv}, M), ('cursor bob sub', 'subscriptions.list', [], {'ending_before': b.sub}, M),
        ('cursor bob pm', 'payment_methods.list', [], {'starting_after': b.pm}, M), ('cursor bob charge', 'charges.list', [], {'starting_after': b.ch}, M),
        ('cursor bob customer', 'customers.list', [], {'starting_after': b.id}, M),
        ('cursor bob line', 'invoices_lines.list', [a.inv], {'starting_after': b.line}, M),
        # expand
        ('expand balance txn', 'charges.list', [], {'expand': ['data.balance_transaction']}, B),
        ('expand charge balance txn', 'payment_intents.retrieve', [a.pi], {'expand': ['latest_charge.balance_transaction']}, B),
        ('expand customers', 'customers.list', [], {'expand': ['data.default_source']}, F),
        ('expand subs customer', 'subscriptions.list', [], {'expand': ['data.customer', 'data.latest_invoice']}, F),
        ('expand bob via id', 'invoices.retrieve', [b.inv], {'expand': ['customer']}, M),
        # lists and searches: answered with Ada's objects only
        ('all customers', 'customers.list', [], {}, F), ('customers by bob email', 'customers.list', [], {'email': 'bob@example.com'}, F),
        ('all subscriptions', 'subscriptions.list', [], {'status': 'all'}, F), ('all charges', 'charges.list', [], {}, F),
        ('all invoices', 'invoices.list', [], {}, F), ('all payment intents', 'payment_intents.list', [], {}, F),
        ('all checkouts', 'checkout_sessions.list', [], {}, F), ('all pms', 'payment_methods.list', [], {}, F),
    ]
    queries = [f"customer:'{b.id}'", f'customer:"{b.id}"', f"customer:'{b.id}' OR customer:'{a.id}'", f"-customer:'{a.id}'",
               f"customer:'{a.id}' OR -customer:'{a.id}'", f"customer:\\'{b.id}\\'", f"customer:'{a.id}'OR customer:'{b.id}'",
               "total>0", "amount>0 OR amount<0", f"customer:'{b.id.upper()}'", "description~'Bob'", "metadata['owner']:'Bob'",
               f"customer:'{a.id}' AND -customer:'{a.id}' OR status:'paid'", "status:'paid' or status:'open'"]
    for i, q in enumerate(queries):
        for rg in ('invoices', 'charges', 'payment_intents', 'subscriptions', 'customers'):
            res.append((f'search {rg} {i}', f'{rg}.search', [], {'query': q, 'limit': 1, 'expand': ['total_count']}, F))
    res.append(('search customers email', 'customers.search', [], {'query': "email:'bob@example.com'"}, F))
    res.append(('search subs metadata', 'subscriptions.search', [], {'query': "metadata['owner']:'Bob'", 'expand': ['total_count']}, F))
    for j, v in enumerate(_variants(b.sub)): res.append((f'sub variant {j}', 'subscriptions.cancel', [v], {}, M))
    for j, v in enumerate(_variants(b.inv)): res.append((f'invoice variant {j}', 'invoices.retrieve', [v], {}, M))
    for j, v in enumerate(_variants(b.pm)): res.append((f'pm variant {j}', 'payment_methods.detach', [v], {}, M))
    for j, v in enumerate(_variants(b.id)): res.append((f'customer variant {j}', 'subscriptions.list', [], {'customer': v}, M))
    # what no customer may touch
    res += [('make a customer', 'customers.create', [], {'email': 'x@example.com'}, B), ('balance', 'balance.retrieve', [], {}, B),
            ('events', 'events.list', [], {}, B), ('balance txns', 'balance_transactions.list', [], {}, B),
            ('payouts', 'payouts.list', [], {}, B), ('webhook', 'webhook_endpoints.create', [], {'url': 'https://x.example', 'enabled_events': ['*']}, B),
            ('new price', 'prices.create', [], {'currency': 'usd', 'unit_amount': 1, 'product': w.price.product}, B),
            ('another account', 'customers.retrieve', [a.id], {'stripe_account': 'acct_1OtherAccount'}, B),
            ('another key', 'subscriptions.list', [], {'api_key': 'sk_test_other'}, B),
            ('account header', 'invoices.list', [], {'headers': {'Stripe-Account': 'acct_1OtherAccount'}}, B),
            ('refunds, all', 'refunds.list', [], {}, B), ('raw request', '__call__', ['/v1/customers/' + b.id], {}, B)]
    return res

def _method(client, path):
    for part in path.split('.'): client = getattr(client, part)
    return client

def _run(client, path, args, kwargs):
    "`('ok', answer)` or `('error', exception)` of one call (awaited on an async client)"
    try:
        r = _method(client, path)(*args, **kwargs)
        if asyncio.iscoroutine(r): r = asyncio.run(r)
        return 'ok', r
    except StripeError as e: return 'error', e

def _error_view(e): return (type(e).__name__, e.http_status, e.code, e.param, e.json_body)

def _attempt_ids():
    w = NS(ada=NS(**{k: f'{k}_a' for k in 'id pm sub si inv pi ch ii draft cs seti txi cbt line pi_open'.split()}),
           bob=NS(**{k: f'{k}_b' for k in 'id pm sub si inv pi ch ii draft cs seti txi cbt line'.split()}), price=NS(id='p', product='prod'))
    return [a[0] for a in client_attempts(w)]

ATTEMPTS = _attempt_ids()

def test_enough_attempts(): assert len(ATTEMPTS) >= 50 and len(set(ATTEMPTS)) == len(ATTEMPTS)

@pytest.mark.parametrize('kind', ['sync', 'async'])
@pytest.mark.parametrize('name', ATTEMPTS)
def test_client_attempt(world, before, logs, name, kind):
    w = world
    _, path, args, kwargs, expected = next(a for a in client_attempts(w) if a[0] == name)
    api = w.api if kind == 'sync' else AsyncStripeApi(w.api._key, transport=w.api.transport)
    sa = api.for_customer(w.ada.id)
    sent = json.dumps([args, kwargs])
    logs.clear()
    outcome, res = _run(sa, path, args, kwargs)
    if expected == 'filtered' and outcome == 'error' and path.endswith('.search'):
        assert res.code == 'search_query_invalid', repr(res)  # Stripe refused the query itself
        assert not leaked([str(res), res.json_body], w.bob.tokens, sent)
    elif expected == 'filtered':
        assert outcome == 'ok', res
        body = res.to_dict() if hasattr(res, 'to_dict') else res
        assert not leaked(body, w.bob.tokens, sent), leaked(body, w.bob.tokens, sent)
        for it in body.get('data', []):
            owner = it.get('customer')
            owner = owner.get('id') if isinstance(owner, dict) else owner
            assert owner in (w.ada.id, None) or it.get('id') == w.ada.id, it.get('id')
        if body.get('has_more'):  # only a narrowed search (customer:'ada' AND ...) pages, and then through Ada's objects
            assert path.split('.')[0] in ('invoices', 'charges', 'payment_intents') and len(_method(w.api, path.replace('search', 'list'))(customer=w.ada.id)) > len(body['data'])
        assert body.get('total_count', 0) <= len(body.get('data', [])) or path.endswith('.list')
    else:
        assert outcome == 'error', f'{name}: not refused: {str(res)[:200]}'
        if expected == 'missing':
            assert isinstance(res, InvalidRequestError) and res.code == 'resource_missing', repr(res)
            assert res.http_status in (400, 404)
            # exactly what an id that names nothing gets
            mapping = {t: fake_for(t) for t in sorted(w.bob.tokens, key=len, reverse=True) if t in sent}
            fargs, fkwargs = swap(args, mapping), swap(kwargs, mapping)
            f_outcome, fres = _run(sa, path, fargs, fkwargs)
            assert f_outcome == 'error', fres
            assert swap(_error_view(res), mapping) == _error_view(fres)
        else: assert isinstance(res, OutOfScopeError), repr(res)
        assert not leaked([str(res), res.json_body], w.bob.tokens, sent)
    check_logs(logs.records, w, sent)
    assert snapshot(w) == before, 'Bob changed'


# ---------------------------------------------------------------------------------------------------- the ASGI app
def call(app, method, path, user='s-ada', json_body=None, **kw):
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url='https://shop.example',
                                     cookies={'session': user} if user else None) as c:
            return await c.request(method, path, json=json_body, **kw)
    r = asyncio.run(go())
    return r.status_code, r.json(), r

def app_attempts(w):
    "(name, method, path, JSON body, expected status, expected code)"
    a, b, q = w.ada, w.bob, urllib.parse.quote
    res = [('invoice', 'GET', f'/invoices/{b.inv}', None, 404, 'resource_missing'),
           ('draft invoice', 'GET', f'/invoices/{b.draft}', None, 404, 'resource_missing'),
           ('sub as invoice', 'GET', f'/invoices/{b.sub}', None, 404, 'resource_missing'),
           ('customer as invoice', 'GET', f'/invoices/{b.id}', None, 404, 'resource_missing'),
           ('pi as invoice', 'GET', f'/invoices/{b.pi}', None, 404, 'resource_missing'),
           ('cancel sub', 'DELETE', f'/subscriptions/{b.sub}', None, 404, 'resource_missing'),
           ('cancel sub now', 'DELETE', f'/subscriptions/{b.sub}?at_period_end=false', None, 404, 'resource_missing'),
           ('cancel sub now body', 'DELETE', f'/subscriptions/{b.sub}', {'at_period_end': False}, 404, 'resource_missing'),
           ('change quantity', 'PUT', f'/subscriptions/{b.sub}', {'quantity': 5}, 404, 'resource_missing'),
           ('change price', 'PUT', f'/subscriptions/{b.sub}', {'price': w.price2.id}, 404, 'resource_missing'),
           ('renew', 'PUT', f'/subscriptions/{b.sub}', {'cancel_at_period_end': False}, 404, 'resource_missing'),
           ('own sub, bob item', 'PUT', f'/subscriptions/{a.sub}', {'item': b.si, 'quantity': 2}, 400, 'parameter_invalid'),
           ('default pm', 'PUT', f'/payment-methods/{b.pm}', None, 404, 'resource_missing'),
           ('detach pm', 'DELETE', f'/payment-methods/{b.pm}', None, 404, 'resource_missing'),
           ('subscribe with bob pm', 'POST', '/subscriptions', {'price': w.price2.id, 'payment_method': b.pm}, 400, 'resource_missing'),
           ('subscribe for bob', 'POST', '/subscriptions', {'price': w.price.id, 'customer': b.id}, 400, 'parameter_unknown'),
           ('checkout for bob', 'POST', f'/checkout/{w.price.id}', {'customer': b.id}, 400, 'parameter_unknown'),
           ('invoices of bob', 'GET', f'/invoices?customer={b.id}', None, 400, 'parameter_unknown'),
           ('subs of bob', 'GET', f'/subscriptions?customer={b.id}', None, 400, 'parameter_unknown'),
           ('pms of bob', 'GET', f'/payment-methods?customer={b.id}', None, 400, 'parameter_unknown'),
           ('cursor invoice', 'GET', f'/invoices?starting_after={b.inv}', None, 400, 'resource_missing'),
           ('cursor invoice before', 'GET', f'/invoices?ending_before={b.inv}', None, 400, 'resource_missing'),
           ('cursor sub', 'GET', f'/subscriptions?starting_after={b.sub}', None, 400, 'resource_missing'),
           ('cursor pm', 'GET', f'/payment-methods?starting_after={b.pm}', None, 400, 'resource_missing'),
           ('expand in query', 'GET', f'/invoices?expand=data.customer', None, 400, 'parameter_unknown'),
           ('injected query', 'GET', f"/subscriptions?status={q(chr(39) + ' OR customer:' + b.id)}", None, 400, 'parameter_invalid'),
           ('double slash', 'GET', f'/invoices//{b.inv}', None, 404, 'url_invalid'),
           ('dot segments', 'GET', f'/invoices/{a.inv}/../{b.inv}', None, 404, 'resource_missing'),  # the client resolves them
           ('encoded slash', 'GET', f'/invoices/{q(a.inv + "/" + b.inv, safe="")}', None, 404, 'url_invalid'),
           ('signed out', 'GET', f'/invoices/{b.inv}', 'nobody', 401, 'not_signed_in'),
           ]
    for j, v in enumerate(_variants(b.inv)): res.append((f'invoice variant {j}', 'GET', f'/invoices/{q(v, safe="")}', None, 404, 'resource_missing'))
    for j, v in enumerate(_variants(b.sub)): res.append((f'sub variant {j}', 'DELETE', f'/subscriptions/{q(v, safe="")}', None, 404, 'resource_missing'))
    for j, v in enumerate(_variants(b.pm)): res.append((f'pm variant {j}', 'PUT', f'/payment-methods/{q(v, safe="")}', None, 404, 'resource_missing'))
    for j, v in enumerate(_variants(b.pm)[:4]): res.append((f'pm detach variant {j}', 'DELETE', f'/payment-methods/{q(v, safe="")}', None, 404, 'resource_missing'))
    return res

APP_ATTEMPTS = [a[0] for a in app_attempts(NS(ada=NS(**{k: f'{k}_a' for k in 'id pm sub si inv pi'.split()}),
                bob=NS(**{k: f'{k}_b' for k in 'id pm sub si inv pi draft'.split()}), price=NS(id='p'), price2=NS(id='p2')))]

def test_enough_app_attempts(): assert len(APP_ATTEMPTS) >= 50 and len(set(APP_ATTEMPTS)) == len(APP_ATTEMPTS)

@pytest.mark.parametrize('kind', ['sync', 'async'])
@pytest.mark.parametrize('name', APP_ATTEMPTS)
def test_app_attempt(world, before, logs, name, kind):
    w = world
    _, method, path, body, status, code = next(a for a in app_attempts(w) if a[0] == name)
    app = w.app if kind == 'sync' else w.aapp
    user = None if body == 'nobody' else 's-ada'
    body = None if body == 'nobody' else body
    sent = urllib.parse.unquote(path) + json.dumps(body)
    logs.clear()
    st, res, r = call(app, method, path, user, body)
    assert (st, res.get('error', {}).get('code')) == (status, code), res
    assert r.headers['content-type'] == 'application/json' and 'Traceback' not in r.text
    assert set(res) == {'error'} and {'type', 'message'} <= set(res['error'])
    assert not leaked(res, w.bob.tokens, sent), leaked(res, w.bob.tokens, sent)
    if code == 'resource_missing':  # exactly what an id that names nothing gets
        mapping = {t: fake_for(t) for t in sorted(w.bob.tokens, key=len, reverse=True) if t in sent}
        fst, fres, _ = call(app, method, swap(path, mapping), user, swap(body, mapping))
        assert (fst, fres) == (st, swap(res, mapping))
    check_logs(logs.records, w, sent)
    assert snapshot(w) == before, 'Bob changed'

@pytest.mark.parametrize('route', ['/invoices', '/subscriptions?status=all', '/payment-methods', '/products', '/prices'])
def test_app_lists_are_adas(world, before, logs, route):
    w = world
    st, res, _ = call(w.app, 'GET', route)
    assert st == 200 and res['data'] and not leaked(res, w.bob.tokens, route)
    check_logs(logs.records, w, route)


# ---------------------------------------------------------------------------------------------------- Ada's own requests
def test_own_requests_through_the_client(world, before):
    w, a = world, world.ada
    sa = w.api.for_customer(a.id)
    assert [s.id for s in sa.subscriptions.list()] == [a.sub]
    assert sa.invoices.retrieve(a.inv).customer == a.id
    assert {i.id for i in sa.invoices.list()} >= {a.inv, a.draft}
    assert sa.subscriptions.update(a.sub, metadata={'seats': '2'}).metadata['seats'] == '2'
    assert sa.subscription_items.retrieve(a.si).subscription == a.sub
    assert sa.payment_methods.retrieve(a.pm).customer == a.id
    assert [p.id for p in sa.payment_methods.list()] == [a.pm]
    assert sa.charges.retrieve(a.ch).customer == a.id and a.ch in [c.id for c in sa.charges.list()]
    assert sa.payment_intents.retrieve(a.pi).status == 'succeeded'
    assert sa.checkout_sessions.retrieve(a.cs).customer == a.id
    assert sa.setup_intents.retrieve(a.seti).customer == a.id
    assert [l.id for l in sa.invoices_lines.list(a.inv)] == [a.line]
    assert sa.customers_tax_ids.retrieve(a.id, a.txi).value == 'DE123456789'
    assert sa.customers_balance_transactions.retrieve(a.id, a.cbt).amount == -500
    assert sa.invoiceitems.retrieve(a.ii).customer == a.id
    assert [i.id for i in sa.invoices.search(query="status:'paid'")] == [a.inv]
    assert [s.id for s in sa.subscriptions.search(query="metadata['owner']:'Ada'")] == [a.sub]
    assert sa.refunds.create(charge=a.ch, amount=100).status == 'succeeded'
    assert sa.customers.retrieve(a.id).email == 'ada@example.com'
    assert sa.customers.update(a.id, name='Ada L.').name == 'Ada L.'
    assert sa.is_subscribed() and sa.subscription_info().subscription == a.sub
    assert sa.prices.retrieve(w.price.id).unit_amount == 1900
    assert sa.invoices.void_invoice(sa.invoices.finalize_invoice(a.draft).id).status == 'void'
    assert snapshot(w) == before

def test_own_requests_through_the_async_client(world, before):
    w, a = world, world.ada
    async def go():
        sa = AsyncStripeApi(w.api._key, transport=w.api.transport).for_customer(a.id)
        subs, inv, pm = await sa.subscriptions.list(), await sa.invoices.retrieve(a.inv), await sa.payment_methods.retrieve(a.pm)
        return [s.id for s in subs], inv.customer, pm.customer, await sa.is_subscribed()
    assert asyncio.run(go()) == ([a.sub], a.id, a.id, True)
    assert snapshot(w) == before

@pytest.mark.parametrize('kind', ['sync', 'async'])
def test_own_requests_through_the_app(world, before, kind):
    w, a = world, world.ada
    app = w.app if kind == 'sync' else w.aapp
    ok = lambda *args, **kw: (lambda st, res, r: (st == 200 or pytest.fail(f'{args}: {st} {res}')) and res)(*call(app, *args, **kw))
    assert {p['id'] for p in ok('GET', '/prices')['data']} == {w.price.id, w.price2.id}
    assert ok('GET', f'/prices/{w.price.id}')['unit_amount'] == 1900
    assert {p['name'] for p in ok('GET', '/products')['data']} == {'Pro', 'Team'}
    assert a.inv in [i['id'] for i in ok('GET', '/invoices')['data']]
    assert ok('GET', f'/invoices/{a.inv}')['lines']['data'][0]['id'] == a.line
    pms = ok('GET', '/payment-methods')['data']
    assert [(p['id'], p['default']) for p in pms] == [(a.pm, True)]
    assert ok('PUT', f'/payment-methods/{a.pm}')['default'] is True
    assert ok('POST', f'/checkout/{w.price.id}', json_body={'quantity': 2})['url'].startswith('https://')
    assert ok('POST', '/setup-checkout')['mode'] == 'setup'
    assert ok('POST', '/billing-portal')['url'].startswith('https://')
    assert ok('POST', '/setup-intents')['id'].startswith('seti_')
    sub = ok('POST', '/subscriptions', json_body={'price': w.price2.id, 'payment_method': a.pm})
    assert w.api.subscriptions.retrieve(sub['id']).customer == a.id
    sub = ok('PUT', f"/subscriptions/{sub['id']}", json_body={'quantity': 3})
    assert sub['items']['data'][0]['quantity'] == 3
    assert ok('PUT', f"/subscriptions/{sub['id']}", json_body={'price': w.price.id})['items']['data'][0]['price']['id'] == w.price.id
    assert ok('DELETE', f"/subscriptions/{sub['id']}")['cancel_at_period_end'] is True
    assert ok('PUT', f"/subscriptions/{sub['id']}", json_body={'cancel_at_period_end': False})['cancel_at_period_end'] is False
    assert ok('DELETE', f"/subscriptions/{sub['id']}?at_period_end=false")['status'] == 'canceled'
    assert sub['id'] in [s['id'] for s in ok('GET', '/subscriptions?status=all')['data']]
    pm2 = w.api.payment_methods.attach('pm_card_mastercard', customer=a.id)
    assert ok('DELETE', f'/payment-methods/{pm2.id}')['id'] == pm2.id
    assert w.api.payment_methods.retrieve(pm2.id).customer is None
    assert snapshot(w) == before


# ---------------------------------------------------------------------------------------------------- search fuzz
def test_search_fuzz(world, before, logs):
    "600 random queries built of every piece an attacker might try: results, has_more and total_count say nothing of Bob"
    import random
    w, a, b = world, world.ada, world.bob
    sa = w.api.for_customer(a.id)
    rng = random.Random(17)
    clauses = [f"customer:'{b.id}'", f'customer:"{b.id}"', f"-customer:'{a.id}'", f"customer:'{a.id}'", "status:'paid'", "status:'active'",
               "total>0", "amount>0", "-status:'void'", "metadata['owner']:'Bob'", "metadata['secret']:'Bob-secret-7731'",
               "email:'bob@example.com'", "description~'Bob'", "created>0", f"customer:'{b.id.upper()}'"]
    junk = ["'", '"', "\\", "OR", "AND", "or", "-", ":", b.id, "()", "*", "0OR"]
    pieces = clauses + junk
    api = w.api
    mine = {'invoices': {i.id for i in pages(api.invoices.list, customer=a.id)}, 'charges': {c.id for c in pages(api.charges.list, customer=a.id)},
            'payment_intents': {p.id for p in pages(api.payment_intents.list, customer=a.id)},
            'subscriptions': {s.id for s in pages(api.subscriptions.list, customer=a.id, status='all')}, 'customers': {a.id}}
    answered = 0
    for n in range(600):
        rg = rng.choice(sorted(mine))
        parts = [rng.choice(clauses) if rng.random() < 0.85 else rng.choice(junk) for _ in range(rng.randint(1, 4))]
        q = rng.choice([' ', ' AND ', ' OR ', ' or ']).join(parts)
        try: res = getattr(sa, rg).search(query=q, limit=rng.choice([1, 10]), expand=['total_count'])
        except InvalidRequestError as e:
            assert e.code in ('search_query_invalid', 'parameter_invalid_empty'), (q, e)
            assert not leaked([str(e)], b.tokens, q)
            continue
        answered += 1
        ids = {it.id for it in res.data}
        assert ids <= mine[rg] | {w.price.id}, (rg, q, ids)
        assert not leaked(res.to_dict(), b.tokens, q), (rg, q)
        if res.get('total_count') is not None: assert res.total_count <= len(mine[rg]), (rg, q, res.total_count)
        if res.has_more: assert rg in ('invoices', 'charges', 'payment_intents') and len(mine[rg]) > len(ids), (rg, q)
    assert answered > 200, answered
    check_logs(logs.records, w, ' '.join(pieces))
    assert snapshot(w) == before

"""The generated stubs (`faststripe/core.pyi`) under mypy and pyright: correct calls are clean, mistakes are reported.

Needs `pip install mypy pyright` (pyright runs on Node.js); tools/test.sh installs them."""
import json, os, re, shutil, subprocess, sys, textwrap, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
STUB = ROOT/'faststripe'/'core.pyi'

GOOD = '''\
import datetime
from typing import TYPE_CHECKING
from typing_extensions import assert_type
from faststripe.core import StripeApi, AsyncStripeApi, StripeList, ItemList, pages, paged, CardError, StripeError, StripeBinary
from faststripe.oauth import ConnectOAuth
from faststripe.scoped import ScopedStripeApi, AsyncScopedStripeApi
from faststripe.notifications import EventNotification
import pathlib
if TYPE_CHECKING:
    from faststripe.core import Customer, DeletedCustomer, PaymentIntent, CheckoutSession, Product, Subscription, CustomerBalanceTransaction, BillingPortalSession

api = StripeApi('sk_test_123', 'http://127.0.0.1:12111', max_retries=0)
cus = api.customers.create(email='ann@example.com', name='Ann', tax_exempt='none', metadata={'plan': 'pro'},
                           address={'city': 'Paris', 'country': 'FR', 'line1': '1 rue'},
                           shipping={'name': 'Ann', 'address': {'city': 'Paris'}},
                           preferred_locales=['fr', 'en'], idempotency_key='k-1', stripe_account='acct_1')
assert_type(cus, 'Customer')
email: str | None = cus.email
same = api.customers.post(email='bob@example.com')        # path-style name of the same operation
assert_type(same, 'Customer')
got = api.customers.retrieve(cus.id, expand=['default_source'])
assert_type(got, 'Customer | DeletedCustomer')
assert_type(api.customers.fetch(), 'StripeList[Customer]')
assert_type(api.customers.fetch('cus_1'), 'Customer | DeletedCustomer')
page = api.customers.list(limit=10, created={'gte': 1767225600, 'lt': datetime.date(2027, 1, 1)})
assert_type(page, 'StripeList[Customer]')
first = page[0]
for c in page: assert_type(c, 'Customer')   # iterating a page gives its items
assert_type(first, 'Customer')
assert_type(pages(api.customers.list, limit=100), 'ItemList[Customer]')
for p in paged(api.customers.search, query="email:'ann@example.com'"):
    assert_type(p, 'StripeList[Customer]')
pi = api.payment_intents.create(amount=1000, currency='usd', customer=cus, expand=['latest_charge'], automatic_payment_methods={'enabled': True},
                                capture_method='manual')
assert_type(pi, 'PaymentIntent')
api.payment_intents.confirm(pi.id, payment_method='pm_card_visa')
sess = api.checkout_sessions.create(mode='payment', success_url='http://127.0.0.1/ok',
                                    line_items=[{'price': 'price_1', 'quantity': 2}])
assert_type(sess, 'CheckoutSession')
api.subscriptions.create(customer='cus_1', items=[{'price': 'price_1'}], trial_end=datetime.datetime(2026, 12, 1))
api.checkout.sessions_post(mode='subscription', line_items=[{'price': 'price_1', 'quantity': 1}])
assert_type(api.checkout.sessions.create(mode='payment', success_url='http://127.0.0.1/ok'), 'CheckoutSession')  # the official SDK's names
assert_type(api.v1.checkout.sessions.retrieve('cs_1'), 'CheckoutSession')
assert_type(api.customers.balance_transactions.list('cus_1', limit=3), 'StripeList[CustomerBalanceTransaction]')
api.test_helpers.test_clocks.advance('clock_1', frozen_time=1767225600)
api.accounts.login_links('acct_1')  # a callable service: the resource style's name
api.accounts.login_links.create('acct_1')
api.v2.core.accounts.create(display_name='Ann')
assert_type(api.quotes.pdf('qt_1'), StripeBinary)  # a binary answer, and its download
saved: pathlib.Path = api.quotes.pdf.download('quote.pdf', 'qt_1')
api.files.create(file=pathlib.Path('evidence.pdf'), purpose='dispute_evidence')
with open('evidence.pdf', 'rb') as fh: api.files.create(file=fh, purpose='dispute_evidence', file_link_data={'create': True})
api.files.create(file=b'%PDF-1.4', purpose='dispute_evidence')
api.customers.delete(cus)
raw = api('/v1/customers', 'POST', data={'email': 'x@example.com'})
checkout = api.one_time_payment('Sticker', 500, 'http://127.0.0.1/ok', 'http://127.0.0.1/no')  # helpers are typed too
assert_type(checkout, 'CheckoutSession')
assert_type(api.find_product('Sticker'), 'Product | None')
assert_type(api.active_subscriptions('ann@example.com'), 'ItemList[Subscription]')
assert_type(api.with_options(stripe_account='acct_1').customers.create(email='c@example.com'), 'Customer')
everyone = pages(api['/v1/customers', 'GET'])
assert_type(api.oauth, ConnectOAuth)  # members other modules patch on return their own classes
link: str = api.oauth.authorize_url(scope='read_write', state='s1')
mine = api.for_customer('cus_1', read_only=True)
assert_type(mine, ScopedStripeApi)
assert_type(mine.customers.retrieve('cus_1'), 'Customer | DeletedCustomer')  # with every generated method, typed
assert_type(mine.subscriptions.list(), 'StripeList[Subscription]')
note = api.parse_event_notification(b'{}', {'stripe-signature': 't=1,v1=x'}, 'whsec_test_notreal')
assert_type(note, EventNotification)
assert_type(api.billing_portal('cus_1', 'http://127.0.0.1/back'), 'BillingPortalSession')  # a helper that is also a group
assert_type(api.billing_portal.sessions.create(customer='cus_1'), 'BillingPortalSession')
try: api.charges.create(amount=100, currency='usd', source='tok_visa')
except CardError as e: print(e.decline_code, e.http_status)
except StripeError as e: print(e.code)

async def main() -> None:
    aapi = AsyncStripeApi('sk_test_123', 'http://127.0.0.1:12111')
    c = await aapi.customers.create(email='ann@example.com')
    assert_type(c, 'Customer')
    everyone = await pages(aapi.customers.list)
    assert_type(everyone, 'ItemList[Customer]')
    async for pg in paged(aapi.customers.list):
        assert_type(pg, 'StripeList[Customer]')
    theirs = aapi.for_customer('cus_1')
    assert_type(theirs, AsyncScopedStripeApi)
    assert_type(await theirs.customers.create(email='ann@example.com'), 'Customer')
    assert_type(aapi.oauth, ConnectOAuth)
    assert_type(await aapi.billing_portal('cus_1', 'http://127.0.0.1/back'), 'BillingPortalSession')
    assert_type(aapi.parse_event_notification(b'{}', 't=1,v1=x', 'whsec_test_notreal'), EventNotification)
    await aapi.aclose()
'''

# each line has one mistake; the tools must report every one of them
BAD = {
    'typo': "api.customers.create(emial='ann@example.com')",
    'type': "api.customers.create(balance='lots')",
    'enum': "api.customers.create(tax_exempt='exmpt')",
    'nested_key': "api.customers.create(address={'citty': 'Paris'})",
    'nested_enum': "api.payment_intents.create(amount=1, currency='usd', capture_method='later')",
    'group': "api.custmers.list()",
    'method': "api.customers.craete(email='ann@example.com')",
    'sync_await': "async def f() -> None: await api.customers.create()",
    'service': "api.checkout.sesions.create(mode='payment')",
    'sdk_param': "api.checkout.sessions.create(mdoe='payment')",
    'upload': "api.files.create(file=3, purpose='dispute_evidence')",
    'oauth': "api.oauth.authorise_url(scope='read_write')",
    'scoped': "api.for_customer('cus_1').custmers.list()",
    'scoped_param': "api.for_customer('cus_1').customers.create(emial='ann@example.com')",
    'helper_group': "api.billing_portal.sesions.create(customer='cus_1')",
    'notification': "api.parse_event_notification(b'{}', 't=1,v1=x').fetch_event('evt_1')",
}
BAD_SRC = 'from faststripe.core import StripeApi\napi = StripeApi("sk_test_123")\n' + '\n'.join(BAD.values()) + '\n'
def bad_line(k): return 3 + list(BAD).index(k)

# a webhook receiver written against `faststripe.webhooks`: clean under `mypy --strict` (in this file) and pyright,
# with the parsed event typed `Event` (not `Any`) and handlers keeping their own type through `@hooks.on`
WH_GOOD = '''\
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing_extensions import assert_type
from faststripe.core import StripeApi, AsyncStripeApi
from faststripe.webhooks import (Webhooks, WebhookResult, WebhookError, EventStore, MemoryEventStore, SQLiteEventStore,
                                 webhooks, parse_event, verify_webhook, generate_signature_header, parse_sig_header,
                                 stripe_signature, event_obj, known_event_types, check_event_pattern, match_event_type)
if TYPE_CHECKING:
    from faststripe.core import Event

hooks = Webhooks(store=MemoryEventStore(), secret='whsec_test_notreal')

@hooks.on('customer.created')
def created(event: Event) -> None:
    print(event.type, event.data.object)

@hooks.on(['invoice.paid', 'invoice.payment_failed'], 'charge', name='billing', strict=False)
async def billing(event: Event) -> str: return event.id

@hooks.on
def every(event: Event) -> int: return 1

@webhooks.on()
def shared(event: Event) -> None: ...

keep: Callable[[Event], None] = created
n: int = every(event_obj({'id': 'evt_1', 'object': 'event', 'type': 'x'}))
body = b'{"id": "evt_1", "object": "event", "type": "customer.created"}'
sig: str = generate_signature_header(body, 'whsec_test_notreal', timestamp=1764043200)
ok: bool = verify_webhook(body, sig, ['whsec_test_notreal'], tolerance=None)
ok = verify_webhook(body.decode(), sig, 'whsec_test_notreal', 300, now=1764043200.0)
assert_type(parse_sig_header(sig), tuple[int, list[str]])
evt = parse_event(body, sig, 'whsec_test_notreal')
assert_type(evt, 'Event')
typ: str = evt.type
res = hooks.handle(evt)
assert_type(res, WebhookResult)
status: str = res.status
code: int = res.http_status
ran: list[str] = list(res.results)
res = hooks.handle({'id': 'evt_2', 'type': 'customer.created'})
res = hooks.handle_request(body, {'Stripe-Signature': sig})
assert_type(hooks.parse(body, [(b'stripe-signature', sig.encode())]), 'Event')
api = StripeApi('sk_test_123')
assert_type(api.parse_webhook(body, {'stripe-signature': sig}, 'whsec_test_notreal'), 'Event')
store: EventStore = SQLiteEventStore(':memory:')
with SQLiteEventStore(':memory:') as st: pruned: int = st.prune(0)
kinds: frozenset[str] = known_event_types()
pat: str = check_event_pattern('invoice.paid')
hit: bool = match_event_type('invoice', 'invoice.paid')
hdr = stripe_signature({'stripe-signature': sig})
try: hooks.handle_request(body, None)
except WebhookError as e: print(e.http_status, e.reason)

async def main() -> None:
    r = await hooks.handle_request_async(body, {'stripe-signature': sig})
    assert_type(r, WebhookResult)
    r = await hooks.handle_async(evt)
    assert_type(await AsyncStripeApi('sk_test_123').parse_webhook(body, sig), 'Event')
'''

# each line has one mistake in using the webhooks API; both tools must report every one
WH_BAD = {
    'handler_arg': "created('not an event')",
    'handler_ret': "x: str = created(evt)",
    'pattern_type': "hooks.on(3)",
    'event_type': "hooks.handle(b'{}')",
    'status_type': "s: int = hooks.handle(evt).status",
    'store_type': "Webhooks(store='events.db')",
}
WH_BAD_SRC = WH_GOOD.split('\nasync def main')[0] + '\n' + '\n'.join(WH_BAD.values()) + '\n'
def wh_bad_line(k): return WH_BAD_SRC.count('\n') - len(WH_BAD) + 1 + list(WH_BAD).index(k)

# what each tool says about the three mistakes the issue names
MYPY_MSGS = {'typo': 'Unexpected keyword argument "emial" for "create" of "CustomersGroup"',
             'type': 'Argument "balance" to "create" of "CustomersGroup" has incompatible type "str"',
             'enum': '''Argument "tax_exempt" to "create" of "CustomersGroup" has incompatible type "Literal['exmpt']"'''}
PYRIGHT_MSGS = {'typo': 'No parameter named "emial"',
                'type': 'cannot be assigned to parameter "balance"',
                'enum': '''"Literal['exmpt']" cannot be assigned to parameter "tax_exempt"'''}

@pytest.fixture(scope='module')
def files(tmp_path_factory):
    if not STUB.exists(): pytest.fail('faststripe/core.pyi is missing: run `faststripe_update` (see nbs/07_stubs.ipynb)')
    d = tmp_path_factory.mktemp('types')
    (d/'good.py').write_text(GOOD)
    (d/'bad.py').write_text(BAD_SRC)
    (d/'wh_good.py').write_text(WH_GOOD)
    (d/'wh_bad.py').write_text(WH_BAD_SRC)
    (d/'pyrightconfig.json').write_text(json.dumps({'extraPaths': [str(ROOT)], 'pythonVersion': '3.11'}))
    return d

def run(cmd, cwd, env=None):
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})
    return r, time.perf_counter() - t

def _need(mod):
    import importlib.util
    if importlib.util.find_spec(mod) is None: pytest.fail(f'{mod} is missing: pip install mypy pyright (tools/test.sh does)')

def mypy(files, name, *flags):
    _need('mypy')
    # MYPYPATH finds the checkout (an editable install's import hook is invisible to mypy); follow-imports=silent
    # reports errors only in the checked file, as for an installed package
    return run([sys.executable, '-m', 'mypy', '--follow-imports=silent', '--cache-dir', str(files/f'.mypy_{name}'),
                '--python-version', '3.11', '--show-error-codes', '--no-pretty', *flags, name], files, {'MYPYPATH': str(ROOT)})

def pyright(files, name):
    _need('pyright')
    if not shutil.which('node'): pytest.fail('pyright needs Node.js')
    return run([sys.executable, '-m', 'pyright', '--outputjson', name], files, {'PYRIGHT_PYTHON_IGNORE_WARNINGS': '1'})

def test_mypy_clean(files):
    r, secs = mypy(files, 'good.py')
    assert r.returncode == 0, r.stdout + r.stderr
    assert secs < 60, f'mypy took {secs:.0f}s'

def test_mypy_reports_mistakes(files):
    r, secs = mypy(files, 'bad.py')
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    for k in BAD:
        assert any(l.startswith(f'bad.py:{bad_line(k)}: error') for l in lines), (k, r.stdout)
    for k,msg in MYPY_MSGS.items():
        assert any(l.startswith(f'bad.py:{bad_line(k)}: error') and msg in l for l in lines), (k, r.stdout)
    assert 'did you mean "email"' in r.stdout
    assert secs < 60

def _diags(r):
    out = json.loads(r.stdout)
    return [(d['range']['start']['line'] + 1, d['message']) for d in out['generalDiagnostics'] if d['severity'] == 'error']

def test_pyright_clean(files):
    r, secs = pyright(files, 'good.py')
    assert r.returncode == 0 and _diags(r) == [], r.stdout[-3000:] + r.stderr
    assert secs < 60, f'pyright took {secs:.0f}s'

def test_pyright_reports_mistakes(files):
    r, secs = pyright(files, 'bad.py')
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr
    diags = _diags(r)
    for k in BAD: assert any(ln == bad_line(k) for ln,_ in diags), (k, diags)
    for k,msg in PYRIGHT_MSGS.items():
        assert any(ln == bad_line(k) and msg in m for ln,m in diags), (k, diags)
    assert secs < 60

def test_webhooks_mypy_strict_clean(files):
    "`mypy --strict` finds nothing in a receiver using faststripe.webhooks: no untyped calls or decorators, no `Any` event"
    r, secs = mypy(files, 'wh_good.py', '--strict')
    # only the user's file counts: `--strict` also checks the stub, whose loosely typed helper parameters (bare `dict`)
    # it reports as `type-arg`; those are the stub generator's, not the webhooks module's
    mine = [l for l in r.stdout.splitlines() if l.startswith('wh_good.py:')]
    assert mine == [], r.stdout
    assert 'webhooks.py' not in r.stdout, r.stdout
    assert all(': error: Missing type arguments' in l for l in r.stdout.splitlines() if ': error:' in l), r.stdout
    assert secs < 60

def test_webhooks_pyright_clean(files):
    r, secs = pyright(files, 'wh_good.py')
    assert r.returncode == 0 and _diags(r) == [], r.stdout[-3000:] + r.stderr
    assert secs < 60

def test_webhooks_mistakes_reported(files):
    r, _ = mypy(files, 'wh_bad.py')
    lines = r.stdout.splitlines()
    for k in WH_BAD: assert any(l.startswith(f'wh_bad.py:{wh_bad_line(k)}: error') for l in lines), (k, r.stdout)
    assert not any(l.startswith('wh_bad.py:') and int(l.split(':')[1]) < wh_bad_line(list(WH_BAD)[0]) for l in lines
                   if ': error' in l), r.stdout
    diags = _diags(pyright(files, 'wh_bad.py')[0])
    for k in WH_BAD: assert any(ln == wh_bad_line(k) for ln,_ in diags), (k, diags)

def test_stub_is_current():
    "The committed stub is what `write_stubs` makes from the bundled snapshot"
    from faststripe.spec import bundled_spec
    from faststripe.stubs import core_stub
    assert STUB.read_text() == core_stub(bundled_spec()), ('faststripe/core.pyi is stale (core, or a module that patches '
        'StripeApi, changed its public names): regenerate it with `python -c "from faststripe.spec import bundled_spec; '
        'from faststripe.stubs import write_stubs; write_stubs(bundled_spec(), \'faststripe\')"` (or `faststripe_update SPEC`)')
    assert (ROOT/'faststripe'/'py.typed').exists()

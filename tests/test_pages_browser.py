"""The offline Stripe's hosted pages (faststripe.offline.pages, issue 14) in a real browser: Debian's Chromium, driven by
Playwright, pays on the Checkout page, authenticates 3D Secure, subscribes, goes Back, opens a Payment Link and cancels
in the customer portal, as a person would: fields and buttons are found by their accessible names, and JavaScript is
turned off (the pages are plain HTML forms). Each journey is then checked through the API (the session, its
PaymentIntent or Subscription) and through a webhook receiver on 127.0.0.1, which must have received every event the
engine recorded exactly once, in the engine's order. Screenshots of each step go to tests/artifacts/ (gitignored).

Everything is on 127.0.0.1: the offline Stripe (`serve()`), a small "shop" (the success, cancel and return URLs), the
webhook receiver; the browser aborts any request to another host, and each test asserts nothing tried.
Needs `apt-get install -y chromium` and `pip install playwright` (tools/test.sh installs both; never
`playwright install`, which downloads a browser).
"""
import re, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from html import escape
from pathlib import Path
from urllib.parse import urlsplit, parse_qs
import pytest

CHROMIUM = '/usr/bin/chromium'
ARTIFACTS = Path(__file__).parent/'artifacts'
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync']
LOOPBACK = ('127.0.0.1', 'localhost', '::1')

def _need(ok, what):
    "Fail clearly when a browser tool is missing (tools/test.sh installs them)"
    if not ok: pytest.fail(f'{what} is missing: run tools/test.sh, which installs it')

class Shop:
    "The merchant's site on 127.0.0.1: answers every GET with a page naming its path, and remembers the paths asked for"
    def __init__(self):
        shop, self.visits = self, []
        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                shop.visits.append(self.path)
                body = f'<!doctype html><title>Shop</title><h1>Shop page {escape(urlsplit(self.path).path)}</h1>'.encode()
                self.send_response(200); self.send_header('Content-Type', 'text/html'); self.send_header('Content-Length', str(len(body)))
                self.end_headers(); self.wfile.write(body)
            def log_message(self, *a): pass
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self.server.daemon_threads = True
        self.url = f'http://127.0.0.1:{self.server.server_port}'
        threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
    def close(self): self.server.shutdown(); self.server.server_close()

@pytest.fixture
def stripe():
    "A fresh offline Stripe served on loopback, with a webhook endpoint (all events) whose receiver checks signatures"
    from faststripe.offline import serve, offline_key, WebhookReceiver
    from faststripe.core import StripeApi
    srv, shop = serve(), Shop()
    api = StripeApi(offline_key, base_url=srv.url, max_retries=0)
    we = api.webhook_endpoints.create(url='http://127.0.0.1:1/placeholder', enabled_events=['*'])
    rcv = WebhookReceiver(secret=we.secret)
    api.webhook_endpoints.update(we.id, url=rcv.url)
    class S: pass
    s = S()
    s.srv, s.st, s.api, s.shop, s.rcv = srv, srv.stripe, api, shop, rcv
    try: yield s
    finally:
        srv.stripe.outbox.stop()
        srv.shutdown(); rcv.close(); shop.close()

@pytest.fixture(scope='module')
def browser():
    _need(_has('playwright'), 'playwright (pip install playwright)')
    _need(Path(CHROMIUM).exists(), 'chromium (apt-get install -y chromium)')
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try: yield b
        finally: b.close()

def _has(mod):
    import importlib.util
    return importlib.util.find_spec(mod) is not None

@pytest.fixture
def page(browser, request):
    "A page with JavaScript off that only reaches loopback; a screenshot of where it ended is saved at teardown"
    ctx = browser.new_context(viewport={'width': 1000, 'height': 800}, java_script_enabled=False)
    pg = ctx.new_page()
    pg.blocked = []
    def only_loopback(route):
        if urlsplit(route.request.url).hostname in LOOPBACK: route.continue_()
        else: pg.blocked.append(route.request.url); route.abort()
    pg.route('**/*', only_loopback)
    pg.set_default_timeout(15_000)
    try:
        yield pg
        assert pg.blocked == [], f'the page tried to load from the internet: {pg.blocked}'
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r'\W+', '_', request.node.name.removeprefix('test_')).strip('_')
        try: pg.screenshot(path=str(ARTIFACTS/f'pages_{name}_end.png'), full_page=True)
        except Exception: pass
        ctx.close()

def shot(pg, name):
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS/f'pages_{name}.png'), full_page=True)

def fill_card(pg, number='4242 4242 4242 4242', exp='12 / 34', cvc='123', name='Ada Lovelace', email='ada@example.com'):
    "Type into the Checkout (or portal) card form by the fields' accessible names"
    if email is not None and pg.get_by_label('Email', exact=True).count() and pg.get_by_label('Email', exact=True).is_editable():
        pg.get_by_label('Email', exact=True).fill(email)
    pg.get_by_label('Card number', exact=True).fill(number)
    pg.get_by_label('Expiration', exact=True).fill(exp)
    pg.get_by_label('CVC', exact=True).fill(cvc)
    pg.get_by_label('Cardholder name', exact=True).fill(name)

def button(pg, name): return pg.get_by_role('button', name=name, exact=True)

def events_once(s, last_type, timeout=15):
    """Wait for `last_type` at the receiver and for every delivery to settle; check that each event the engine recorded
    arrived exactly once, and return the received events in the engine's order"""
    s.rcv.wait_for(last_type, timeout=timeout)
    assert s.st.settle_webhooks(timeout), 'webhook deliveries did not settle'
    engine_ids = list(s.st.by_schema.get('event', {}))
    assert s.rcv.rejected == []
    assert sorted(s.rcv.seen.items()) == sorted((i, 1) for i in engine_ids), 'every event delivered exactly once'
    by_id = {e['id']: e for e in s.rcv.events}
    return [by_id[i] for i in engine_ids]

def about(events, *ids):
    "The types of `events` whose object is one of `ids`, in order"
    return [e['type'] for e in events if e['data']['object'].get('id') in ids]

def one_time(s, **kw):
    return s.api.one_time_payment(product_name='Digital Course', amount_cents=4999, success_url=s.shop.url + '/success?session_id={CHECKOUT_SESSION_ID}',
                                  cancel_url=s.shop.url + '/cancel', **kw)

def monthly(s, **kw):
    return s.api.subscription(product_name='Pro Plan', amount_cents=1999, interval='month', success_url=s.shop.url + '/welcome?session_id={CHECKOUT_SESSION_ID}',
                              cancel_url=s.shop.url + '/pricing', **kw)

def subscribed(s, pg, email):
    "A monthly subscription paid through Checkout with 4242 by `email`: the completed session"
    cs = monthly(s)
    pg.goto(cs.url)
    fill_card(pg, email=email)
    button(pg, 'Subscribe').click()
    pg.wait_for_url(f'{s.shop.url}/welcome?session_id={cs.id}')
    return cs

def test_page_shows_the_order_and_the_named_fields(stripe, page):
    cs = one_time(stripe)
    assert re.fullmatch(re.escape(stripe.srv.url) + r'/c/pay/cs_test_\w+#[\w-]+', cs.url), cs.url
    page.goto(cs.url)
    summary = page.get_by_role('region', name='Order summary')
    assert 'Digital Course' in summary.inner_text() and '$49.99' in summary.inner_text() and 'Total due today' in summary.inner_text()
    for name in ['Email', 'Card number', 'Expiration', 'CVC', 'Cardholder name']:
        assert page.get_by_role('textbox', name=name, exact=True).count() == 1, name
    assert page.get_by_label('Expiration', exact=True).get_attribute('placeholder') == 'MM / YY'
    assert button(page, 'Pay').count() == 1 and page.get_by_role('link', name='Back', exact=True).count() == 1
    assert page.get_by_label('Promotion code').count() == 0  # not allowed on this session
    shot(page, 'checkout')

def test_inline_messages_for_typing_mistakes(stripe, page):
    cs = one_time(stripe)
    page.goto(cs.url)
    fill_card(page, '4242 4242 4242 4241', exp='13 / 30', cvc='1')
    button(page, 'Pay').click()
    for field, msg in [('Card number', 'Your card number is invalid.'), ('Expiration', "Your card's expiration month is invalid."),
                       ('CVC', "Your card's security code is incomplete.")]:
        f = page.get_by_label(field, exact=True)
        assert f.get_attribute('aria-invalid') == 'true'
        assert page.locator('#' + f.get_attribute('aria-describedby')).inner_text() == msg
    fill_card(page, exp='01 / 20')
    button(page, 'Pay').click()
    assert page.get_by_text("Your card's expiration year is in the past.").is_visible()
    shot(page, 'checkout_errors')
    s = stripe.api.checkout_sessions.retrieve(cs.id)
    assert (s.status, s.payment_status, s.payment_intent) == ('open', 'unpaid', None)  # nothing was paid or made

def test_pay_with_4242_lands_on_the_success_url(stripe, page):
    cs = one_time(stripe)
    page.goto(cs.url)
    fill_card(page)
    shot(page, 'checkout_filled')
    button(page, 'Pay').click()
    page.wait_for_url(f'{stripe.shop.url}/success?session_id={cs.id}')
    assert page.get_by_role('heading', name='Shop page /success').is_visible()
    s = stripe.api.checkout_sessions.retrieve(cs.id, expand=['payment_intent.latest_charge'])
    assert (s.status, s.payment_status, s.customer_details.email, s.amount_total) == ('complete', 'paid', 'ada@example.com', 4999)
    pi = s.payment_intent
    assert (pi.status, pi.amount, pi.currency, pi.latest_charge.status, pi.latest_charge.paid) == ('succeeded', 4999, 'usd', 'succeeded', True)
    pm = stripe.api.payment_methods.retrieve(pi.payment_method)
    assert (pm.card.last4, pm.card.brand, pm.billing_details.name) == ('4242', 'visa', 'Ada Lovelace')
    evs = events_once(stripe, 'checkout.session.completed')
    assert about(evs, cs.id, pi.id, pi.latest_charge.id) == ['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded', 'checkout.session.completed']
    assert evs[-1]['type'] == 'checkout.session.completed' and evs[-1]['data']['object']['payment_status'] == 'paid'

@pytest.mark.parametrize('number,message,code', [('4000 0000 0000 0002', 'Your card was declined.', 'generic_decline'),
                                                 ('4000 0000 0000 9995', 'Your card has insufficient funds.', 'insufficient_funds')],
                         ids=['0002', '9995'])
def test_declined_card_shows_the_message_and_the_session_stays_open(stripe, page, number, message, code):
    cs = one_time(stripe)
    page.goto(cs.url)
    fill_card(page, number)
    button(page, 'Pay').click()
    alert = page.get_by_role('alert')
    alert.wait_for()
    assert alert.inner_text() == message
    assert page.url.startswith(stripe.srv.url + '/c/pay/' + cs.id)
    shot(page, f'checkout_declined_{number[-4:]}')
    s = stripe.api.checkout_sessions.retrieve(cs.id, expand=['payment_intent'])
    assert (s.status, s.payment_status, s.payment_intent.status) == ('open', 'unpaid', 'requires_payment_method')
    err = s.payment_intent.last_payment_error
    assert (err.type, err.code, err.decline_code) == ('card_error', 'card_declined', code)
    evs = events_once(stripe, 'payment_intent.payment_failed')
    assert 'checkout.session.completed' not in [e['type'] for e in evs]
    assert about(evs, s.payment_intent.id) == ['payment_intent.created', 'payment_intent.payment_failed']
    # the same page then pays with a good card, on the same PaymentIntent
    fill_card(page)
    button(page, 'Pay').click()
    page.wait_for_url(f'{stripe.shop.url}/success?session_id={cs.id}')
    assert stripe.api.payment_intents.retrieve(s.payment_intent.id).status == 'succeeded'
    events_once(stripe, 'checkout.session.completed')

@pytest.mark.parametrize('number', ['4000 0027 6000 3184', '4000 0025 0000 3155'], ids=['3184', '3155'])
def test_3d_secure_complete(stripe, page, number):
    cs = one_time(stripe)
    page.goto(cs.url)
    fill_card(page, number)
    button(page, 'Pay').click()
    button(page, 'Complete authentication').wait_for()
    assert button(page, 'Fail authentication').is_visible() and '$49.99' in page.content()
    shot(page, f'checkout_3ds_{number[-4:]}')
    pi_id = stripe.api.checkout_sessions.retrieve(cs.id).payment_intent
    assert stripe.api.payment_intents.retrieve(pi_id).status == 'requires_action'
    button(page, 'Complete authentication').click()
    page.wait_for_url(f'{stripe.shop.url}/success?session_id={cs.id}')
    s = stripe.api.checkout_sessions.retrieve(cs.id)
    assert (s.status, s.payment_status, stripe.api.payment_intents.retrieve(pi_id).status) == ('complete', 'paid', 'succeeded')
    evs = events_once(stripe, 'checkout.session.completed')
    assert about(evs, pi_id, cs.id) == ['payment_intent.created', 'payment_intent.requires_action', 'payment_intent.succeeded', 'checkout.session.completed']

def test_3d_secure_fail(stripe, page):
    cs = one_time(stripe)
    page.goto(cs.url)
    fill_card(page, '4000 0027 6000 3184')
    button(page, 'Pay').click()
    button(page, 'Fail authentication').click()
    alert = page.get_by_role('alert')
    alert.wait_for()
    assert alert.inner_text().startswith('We are unable to authenticate your payment method.')
    assert page.get_by_label('Email', exact=True).input_value() == 'ada@example.com'  # what was typed is kept (not the card)
    shot(page, 'checkout_3ds_failed')
    s = stripe.api.checkout_sessions.retrieve(cs.id, expand=['payment_intent'])
    assert (s.status, s.payment_intent.status, s.payment_intent.last_payment_error.code) == ('open', 'requires_payment_method', 'payment_intent_authentication_failure')
    evs = events_once(stripe, 'payment_intent.payment_failed')
    assert about(evs, s.payment_intent.id) == ['payment_intent.created', 'payment_intent.requires_action', 'payment_intent.payment_failed']

def test_back_goes_to_the_cancel_url(stripe, page):
    cs = one_time(stripe)
    page.goto(cs.url)
    page.get_by_role('link', name='Back', exact=True).click()
    page.wait_for_url(stripe.shop.url + '/cancel')
    assert stripe.api.checkout_sessions.retrieve(cs.id).status == 'open'
    assert stripe.shop.visits == ['/cancel']

def test_subscribe(stripe, page):
    cs = monthly(stripe)
    page.goto(cs.url)
    assert 'per month' in page.get_by_role('region', name='Order summary').inner_text()
    fill_card(page, email='sam@example.com')
    shot(page, 'checkout_subscription')
    button(page, 'Subscribe').click()
    page.wait_for_url(f'{stripe.shop.url}/welcome?session_id={cs.id}')
    s = stripe.api.checkout_sessions.retrieve(cs.id, expand=['subscription.latest_invoice', 'customer'])
    sub, inv = s.subscription, s.subscription.latest_invoice
    assert (s.status, s.payment_status, s.customer.email) == ('complete', 'paid', 'sam@example.com')
    assert (sub.status, sub['items'].data[0].price.unit_amount, sub['items'].data[0].price.recurring.interval) == ('active', 1999, 'month')
    assert (inv.status, inv.amount_paid, inv.billing_reason) == ('paid', 1999, 'subscription_create')
    assert stripe.api.payment_methods.retrieve(sub.default_payment_method).customer == s.customer.id
    evs = events_once(stripe, 'checkout.session.completed')
    types = [e['type'] for e in evs]
    for t in ['customer.created', 'customer.subscription.created', 'invoice.created', 'invoice.finalized', 'invoice.paid', 'invoice.payment_succeeded']:
        assert types.count(t) == 1, (t, types)
    assert types.index('customer.created') < types.index('invoice.created') < types.index('invoice.finalized') < types.index('invoice.paid')
    assert types[-1] == 'checkout.session.completed'
    assert next(e for e in evs if e['type'] == 'customer.subscription.created')['data']['object']['id'] == sub.id

def test_setup_mode_saves_a_card(stripe, page):
    cus = stripe.api.customers.create(email='saver@example.com')
    cs = stripe.api.checkout_sessions.create(mode='setup', currency='usd', customer=cus.id, success_url=stripe.shop.url + '/saved')
    page.goto(cs.url)
    assert page.get_by_label('Email', exact=True).input_value() == 'saver@example.com'
    fill_card(page, '5555 5555 5555 4444')
    button(page, 'Save card').click()
    page.wait_for_url(stripe.shop.url + '/saved')
    s = stripe.api.checkout_sessions.retrieve(cs.id, expand=['setup_intent'])
    assert (s.status, s.setup_intent.status) == ('complete', 'succeeded')
    pm = stripe.api.payment_methods.retrieve(s.setup_intent.payment_method)
    assert (pm.customer, pm.card.last4) == (cus.id, '4444')
    evs = events_once(stripe, 'checkout.session.completed')
    assert about(evs, pm.id) == ['payment_method.attached']

def test_promotion_code(stripe, page):
    coupon = stripe.api.coupons.create(percent_off=25, duration='once')
    stripe.api.promotion_codes.create(code='LAUNCH25', promotion={'type': 'coupon', 'coupon': coupon.id})
    cs = one_time(stripe, allow_promotion_codes=True)
    page.goto(cs.url)
    code = page.get_by_label('Promotion code', exact=True)
    code.fill('NOPE')
    button(page, 'Apply').click()
    page.get_by_text('This code is invalid.').wait_for()
    page.get_by_label('Promotion code', exact=True).fill('LAUNCH25')
    button(page, 'Apply').click()
    summary = page.get_by_role('region', name='Order summary')
    summary.get_by_text('Discount (LAUNCH25)').wait_for()
    assert '$37.49' in summary.inner_text()
    fill_card(page)
    button(page, 'Pay').click()
    page.wait_for_url(f'{stripe.shop.url}/success?session_id={cs.id}')
    s = stripe.api.checkout_sessions.retrieve(cs.id, expand=['payment_intent'])
    assert (s.amount_total, s.payment_intent.amount, s.total_details.amount_discount) == (3749, 3749, 1250)

def test_payment_link(stripe, page):
    link = stripe.api.payment_link('Sticker pack', 500)
    stripe.api.payment_links.update(link.id, after_completion={'type': 'redirect', 'redirect': {'url': stripe.shop.url + '/thanks?cs={CHECKOUT_SESSION_ID}'}})
    assert link.url.startswith(stripe.srv.url + '/test_')
    page.goto(link.url)
    m = re.search(r'/c/pay/(cs_test_\w+)', page.url)
    assert m, page.url
    assert 'Sticker pack' in page.get_by_role('region', name='Order summary').inner_text()
    fill_card(page)
    button(page, 'Pay').click()
    page.wait_for_url(f'{stripe.shop.url}/thanks?cs={m.group(1)}')
    s = stripe.api.checkout_sessions.retrieve(m.group(1), expand=['payment_intent'])
    assert (s.payment_link, s.status, s.payment_status, s.payment_intent.status, s.amount_total) == (link.id, 'complete', 'paid', 'succeeded', 500)
    evs = events_once(stripe, 'checkout.session.completed')
    assert about(evs, s.id) == ['checkout.session.completed']

def test_payment_link_hosted_confirmation(stripe, page):
    link = stripe.api.payment_link('Sticker pack', 500)
    stripe.api.payment_links.update(link.id, after_completion={'type': 'hosted_confirmation', 'hosted_confirmation': {'custom_message': 'Stickers ship tomorrow.'}})
    page.goto(link.url)
    fill_card(page)
    button(page, 'Pay').click()
    page.get_by_role('heading', name='Thanks for your payment').wait_for()
    assert page.get_by_text('Stickers ship tomorrow.').is_visible()
    shot(page, 'payment_link_confirmation')
    sid = re.search(r'/c/pay/(cs_test_\w+)', page.url).group(1)
    assert stripe.api.checkout_sessions.retrieve(sid).status == 'complete'

def test_cancel_in_the_portal(stripe, page):
    cs = subscribed(stripe, page, 'pat@example.com')
    s = stripe.api.checkout_sessions.retrieve(cs.id)
    portal = stripe.api.billing_portal_sessions.create(customer=s.customer, return_url=stripe.shop.url + '/account')
    page.goto(portal.url)
    assert page.get_by_text('Pro Plan · $19.99 per month').is_visible() and page.get_by_text('Visa •••• 4242').is_visible()
    shot(page, 'portal')
    page.get_by_role('link', name='Cancel subscription', exact=True).click()
    page.get_by_label("It's too expensive").check()
    shot(page, 'portal_cancel')
    button(page, 'Confirm cancellation').click()
    page.get_by_role('status').wait_for()
    assert page.get_by_role('status').inner_text().startswith('Your subscription will be canceled on')
    assert button(page, 'Renew subscription').is_visible()
    sub = stripe.api.subscriptions.retrieve(s.subscription)
    assert (sub.status, sub.cancel_at_period_end, sub.cancellation_details.feedback) == ('active', True, 'too_expensive')
    evs = events_once(stripe, 'customer.subscription.updated')
    upd = [e for e in evs if e['type'] == 'customer.subscription.updated' and e['data']['object']['cancel_at_period_end']]
    assert len(upd) == 1 and upd[0]['data']['previous_attributes']['cancel_at_period_end'] is False
    page.get_by_role('link', name='Return', exact=True).click()
    page.wait_for_url(stripe.shop.url + '/account')

def test_portal_switch_plan_and_update_card(stripe, page):
    cs = subscribed(stripe, page, 'kim@example.com')
    s = stripe.api.checkout_sessions.retrieve(cs.id, expand=['subscription'])
    price = s.subscription['items'].data[0].price
    yearly = stripe.api.prices.create(product=price.product, unit_amount=19900, currency='usd', recurring={'interval': 'year'})
    cfg = stripe.api.billing_portal_configurations.create(features={
        'subscription_update': {'enabled': True, 'default_allowed_updates': ['price'], 'products': [{'product': price.product, 'prices': [price.id, yearly.id]}]},
        'subscription_cancel': {'enabled': True, 'mode': 'immediately'}, 'payment_method_update': {'enabled': True}, 'invoice_history': {'enabled': True}})
    portal = stripe.api.billing_portal_sessions.create(customer=s.customer, configuration=cfg.id, return_url=stripe.shop.url + '/account')
    page.goto(portal.url)
    page.get_by_role('link', name='Update subscription', exact=True).click()
    page.get_by_label(re.compile(r'\$199\.00 per year')).check()
    button(page, 'Continue').click()
    button(page, 'Confirm').click()
    page.get_by_role('status').wait_for()
    assert page.get_by_role('status').inner_text().startswith('Your plan was changed to')
    assert stripe.api.subscriptions.retrieve(s.subscription.id)['items'].data[0].price.id == yearly.id
    page.get_by_role('link', name='Add payment method', exact=True).click()
    fill_card(page, '5555 5555 5555 4444', email=None)
    button(page, 'Add').click()
    page.get_by_role('status').wait_for()
    shot(page, 'portal_card_added')
    assert page.get_by_text('Mastercard •••• 4444').is_visible()
    new_pm = stripe.api.customers.retrieve(s.customer).invoice_settings.default_payment_method
    assert stripe.api.payment_methods.retrieve(new_pm).card.last4 == '4444'
    assert stripe.api.subscriptions.retrieve(s.subscription.id).default_payment_method == new_pm
    page.get_by_role('link', name='Cancel subscription', exact=True).click()
    button(page, 'Confirm cancellation').click()
    page.get_by_text('Your subscription has been canceled.').wait_for()
    assert stripe.api.subscriptions.retrieve(s.subscription.id).status == 'canceled'
    evs = events_once(stripe, 'customer.subscription.deleted')
    assert about(evs, new_pm) == ['payment_method.attached']

def _read_until(fd, want, timeout=60):
    "Read the terminal `fd` until `want` has appeared (or the program ended, or `timeout` passed): all that was read"
    import os, select, time
    out, deadline = b'', time.monotonic() + timeout
    while want.encode() not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0, deadline - time.monotonic()))
        if not ready: break
        try: chunk = os.read(fd, 4096)
        except OSError: break  # the program closed the terminal
        if not chunk: break
        out += chunk
    return out.decode(errors='replace').replace('\r\n', '\n')

def test_readme_main_command_at_a_terminal(page):
    "The README's main command, run at a terminal with no key: it says so, prints a link, serves it until Ctrl-C; the link pays with 4242"
    import os, pty, signal, shutil, subprocess
    readme = (Path(__file__).parents[1]/'README.md').read_text()
    assert 'pip install -e . && faststripe_demo' in readme
    exe = shutil.which('faststripe_demo')
    _need(exe, 'the faststripe_demo command (pip install -e .)')
    env = {k: v for k, v in os.environ.items() if k not in ('STRIPE_SECRET_KEY', 'CI')}  # a newcomer's terminal
    master, slave = pty.openpty()
    proc = subprocess.Popen([exe], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    try:
        out = _read_until(master, 'until you press Ctrl-C.')
        lines = out.strip().splitlines()
        assert lines[0].startswith("No STRIPE_SECRET_KEY set: using faststripe's offline Stripe on http://127.0.0.1:"), out
        link = next(l.strip() for l in lines if re.fullmatch(r'http://127\.0\.0\.1:\d+/test_\w+', l.strip()))
        assert 'Pay with the test card 4242 4242 4242 4242' in out and lines[-1].endswith('until you press Ctrl-C.'), out
        page.goto(link)
        assert 'faststripe sticker pack' in page.get_by_role('region', name='Order summary').inner_text()
        fill_card(page)
        button(page, 'Pay').click()
        page.get_by_role('heading', name='Thanks for your payment').wait_for()
        shot(page, 'readme_command_paid')
        assert proc.poll() is None  # still serving
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert 'Stopped.' in _read_until(master, 'Stopped.', timeout=10)
    finally:
        if proc.poll() is None: proc.kill(); proc.wait()
        os.close(master)

def test_readme_main_command_without_a_terminal():
    "Not at a terminal (a script, CI) the command prints the same link and exits at once"
    import os, shutil, subprocess
    exe = shutil.which('faststripe_demo')
    _need(exe, 'the faststripe_demo command (pip install -e .)')
    env = {k: v for k, v in os.environ.items() if k != 'STRIPE_SECRET_KEY'}
    res = subprocess.run([exe], capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env, timeout=60)
    lines = res.stdout.splitlines()
    assert res.returncode == 0, res.stderr
    assert lines[0].startswith("No STRIPE_SECRET_KEY set: using faststripe's offline Stripe") and re.fullmatch(r'http://127\.0\.0\.1:\d+/test_\w+', lines[2])
    assert lines[-1].startswith('Not run from a terminal, so exiting now')

def test_guide_screenshots_tool(tmp_path):
    "tools/screenshots.py makes the guides' pictures: the same names and sizes as the committed ones, small files"
    import subprocess, sys, struct
    _need(Path(CHROMIUM).exists(), 'chromium (apt-get install -y chromium)')
    repo = Path(__file__).parents[1]
    res = subprocess.run([sys.executable, str(repo/'tools'/'screenshots.py'), '--out', str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    size = lambda p: struct.unpack('>II', p.read_bytes()[16:24])  # a PNG's width and height
    made = sorted(p.name for p in tmp_path.glob('*.png'))
    assert made == ['checkout_3ds.png', 'checkout_declined.png', 'checkout_payment.png', 'checkout_subscription.png', 'invoice.png', 'portal.png', 'portal_cancel.png']
    for name in made:
        new, old = tmp_path/name, repo/'nbs'/'tutorials'/'images'/name
        assert old.exists(), f'{old} is not committed: run python tools/screenshots.py'
        assert size(new)[0] == size(old)[0] == 960 and new.stat().st_size < 60_000, name
    guides = ' '.join((repo/'nbs'/'tutorials'/f'{g}.ipynb').read_text() for g in ('one_time_payments', 'subscriptions', 'customer_management'))
    assert all(f'images/{n}' in guides for n in made)

@pytest.mark.parametrize('outcome', ['complete', 'fail'])
def test_3d_secure_of_an_api_payment_intent(stripe, page, outcome):
    "A PaymentIntent confirmed through the API with a 3D Secure card: its next_action URL opens the test page, which returns to return_url"
    pi = stripe.api.payment_intents.create(amount=1500, currency='usd', payment_method='pm_card_authenticationRequired', confirm=True,
                                           return_url=stripe.shop.url + '/order/42')
    assert (pi.status, pi.next_action.type) == ('requires_action', 'redirect_to_url')
    page.goto(pi.next_action.redirect_to_url.url)
    assert '$15.00' in page.content()
    button(page, f'{outcome.title()} authentication').click()
    status = 'succeeded' if outcome == 'complete' else 'failed'
    page.wait_for_url(f'{stripe.shop.url}/order/42?payment_intent={pi.id}&payment_intent_client_secret={pi.client_secret}&redirect_status={status}')
    after = stripe.api.payment_intents.retrieve(pi.id)
    if outcome == 'complete': assert (after.status, after.amount_received) == ('succeeded', 1500)
    else: assert (after.status, after.last_payment_error.code) == ('requires_payment_method', 'payment_intent_authentication_failure')
    evs = events_once(stripe, f"payment_intent.{'succeeded' if outcome == 'complete' else 'payment_failed'}")
    assert about(evs, pi.id) == ['payment_intent.created', 'payment_intent.requires_action', f"payment_intent.{'succeeded' if outcome == 'complete' else 'payment_failed'}"]

def test_portal_deep_link_to_cancel(stripe, page):
    "A portal session with flow_data opens on the cancellation page of the subscription, and after_completion redirects to the site"
    cs = subscribed(stripe, page, 'lee@example.com')
    s = stripe.api.checkout_sessions.retrieve(cs.id)
    portal = stripe.api.billing_portal_sessions.create(customer=s.customer, return_url=stripe.shop.url + '/account', flow_data={
        'type': 'subscription_cancel', 'subscription_cancel': {'subscription': s.subscription},
        'after_completion': {'type': 'redirect', 'redirect': {'return_url': stripe.shop.url + '/cancelled'}}})
    page.goto(portal.url)
    assert page.get_by_role('heading', name='Cancel your subscription').is_visible()
    assert page.get_by_role('link', name='Go back').get_attribute('href') == stripe.shop.url + '/account'
    button(page, 'Confirm cancellation').click()
    page.wait_for_url(stripe.shop.url + '/cancelled')
    assert stripe.api.subscriptions.retrieve(s.subscription).cancel_at_period_end is True

def test_hosted_invoice_page(stripe, page):
    "An invoice sent to be paid: its hosted_invoice_url opens the invoice with a card form; paying with 4242 pays it"
    cus = stripe.api.customers.create(email='ivy@example.com')
    stripe.api.invoiceitems.create(customer=cus.id, amount=2500, currency='usd', description='Consulting, 1 hour')
    inv = stripe.api.invoices.create(customer=cus.id, collection_method='send_invoice', days_until_due=30, pending_invoice_items_behavior='include')
    inv = stripe.api.invoices.finalize_invoice(inv.id)
    page.goto(inv.hosted_invoice_url)
    assert 'Consulting, 1 hour' in page.get_by_role('region', name='Invoice').inner_text()
    assert page.get_by_label('Email', exact=True).input_value() == 'ivy@example.com'
    fill_card(page, '4000 0000 0000 0002', email=None)
    button(page, 'Pay $25.00').click()
    assert page.get_by_role('alert').inner_text() == 'Your card was declined.'
    fill_card(page, email=None)
    shot(page, 'invoice')
    button(page, 'Pay $25.00').click()
    page.get_by_text('This invoice is paid. Thank you!').wait_for()
    paid = stripe.api.invoices.retrieve(inv.id)
    assert (paid.status, paid.amount_paid, paid.amount_remaining) == ('paid', 2500, 0)
    evs = events_once(stripe, 'invoice.payment_succeeded')
    assert [t for t in about(evs, inv.id) if t in ('invoice.finalized', 'invoice.payment_failed', 'invoice.paid', 'invoice.payment_succeeded')] == \
        ['invoice.finalized', 'invoice.payment_failed', 'invoice.paid', 'invoice.payment_succeeded']

def test_checkout_collects_addresses_and_phone(stripe, page):
    "billing_address_collection, shipping_address_collection and phone_number_collection: named fields in named groups, kept on the session"
    cs = one_time(stripe, billing_address_collection='required', phone_number_collection={'enabled': True}, customer_creation='always',
                  shipping_address_collection={'allowed_countries': ['US', 'CA']})
    page.goto(cs.url)
    ship, bill = page.get_by_role('group', name='Shipping address'), page.get_by_role('group', name='Billing address')
    ship.get_by_label('Full name').fill('Sam Ship')
    ship.get_by_label('Country or region').select_option('CA')
    for g in (ship, bill):
        g.get_by_label('Address line 1').fill('1 Main St'); g.get_by_label('City').fill('Springfield'); g.get_by_label('Postal code').fill('62701')
    ship.get_by_label('State').fill('ON')
    page.get_by_label('Phone number').fill('+1 555 010 0100')
    fill_card(page)
    button(page, 'Pay').click()
    assert bill.get_by_label('State').get_attribute('aria-invalid') == 'true'  # required for the United States
    shot(page, 'checkout_addresses')
    page.get_by_role('group', name='Billing address').get_by_label('State').fill('IL')
    fill_card(page)
    button(page, 'Pay').click()
    page.wait_for_url(f'{stripe.shop.url}/success?session_id={cs.id}')
    s = stripe.api.checkout_sessions.retrieve(cs.id, expand=['customer'])
    assert (s.customer_details.address.state, s.customer_details.phone, s.collected_information.shipping_details.address.country) == ('IL', '+15550100100', 'CA')
    assert (s.customer.address.city, s.customer.shipping.name) == ('Springfield', 'Sam Ship')

"""Screenshots of the offline Stripe's hosted pages for the guides: `python tools/screenshots.py [--out DIR]`.

Serves a fresh offline Stripe on 127.0.0.1 (a fixed clock and seed, so the pictures only change when the pages do),
makes the guides' objects with faststripe (a one-time Checkout, a subscription with a trial and promotion codes, a
customer with a subscription and the portal), and drives Debian's Chromium (Playwright, JavaScript off, every request
to another host aborted) through the pages as a customer: typing Stripe's test cards, asking for 3D Secure, opening
the portal and its cancellation page, and pays an invoice on its hosted page. Writes small PNGs to nbs/tutorials/images/ (palette-reduced when Pillow is
installed). Needs `pip install playwright` and `apt-get install -y chromium` (tools/test.sh installs both).
"""
import argparse, calendar, sys
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = '/usr/bin/chromium'
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--hide-scrollbars', '--font-render-hinting=none']
CLOCK = calendar.timegm((2026, 6, 1, 12, 0, 0))  # the account's time in every picture

def fill_card(pg, number='4242 4242 4242 4242', email='jenny.rosen@example.com', name='Jenny Rosen'):
    email_box = pg.get_by_label('Email', exact=True)
    if email and email_box.is_editable(): email_box.fill(email)
    pg.get_by_label('Card number', exact=True).fill(number)
    pg.get_by_label('Expiration', exact=True).fill('12 / 34')
    pg.get_by_label('CVC', exact=True).fill('123')
    pg.get_by_label('Cardholder name', exact=True).fill(name)

def button(pg, name): return pg.get_by_role('button', name=name, exact=True)

def small_png(path):
    "Reduce `path` to a 64-colour palette PNG when Pillow is there (the pages are flat colours, so nothing visible is lost)"
    try: from PIL import Image
    except ImportError: return
    with Image.open(path) as im: im.convert('RGB').quantize(64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)

def shoot(pg, out, name):
    path = out/name
    pg.screenshot(path=str(path), full_page=True)
    small_png(path)
    print(f'{path.relative_to(REPO) if path.is_relative_to(REPO) else path}  {path.stat().st_size // 1024} KiB')

def make_pictures(out):
    from playwright.sync_api import sync_playwright
    from faststripe.core import StripeApi
    from faststripe.offline import OfflineStripe, serve, offline_key
    srv = serve(stripe=OfflineStripe(seed=14, clock=CLOCK))
    api = StripeApi(offline_key, base_url=srv.url, max_retries=0)
    site = 'https://yoursite.com'
    blocked = []
    def only_loopback(route):
        if urlsplit(route.request.url).hostname in ('127.0.0.1', 'localhost'): route.continue_()
        else: blocked.append(route.request.url); route.abort()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            ctx = browser.new_context(viewport={'width': 960, 'height': 640}, java_script_enabled=False)
            pg = ctx.new_page()
            pg.route('**/*', only_loopback)
            # one-time payment: the Checkout page, filled in with 4242; and the 3D Secure test page
            cs = api.one_time_payment('Digital Course', 49_99, site + '/success?session_id={CHECKOUT_SESSION_ID}', site + '/cancel')
            pg.goto(cs.url); fill_card(pg)
            shoot(pg, out, 'checkout_payment.png')
            pg.get_by_label('Card number', exact=True).fill('4000 0000 0000 0002')
            button(pg, 'Pay').click(); pg.get_by_role('alert').wait_for()
            shoot(pg, out, 'checkout_declined.png')
            fill_card(pg, '4000 0027 6000 3184'); button(pg, 'Pay').click()
            button(pg, 'Complete authentication').wait_for()
            shoot(pg, out, 'checkout_3ds.png')
            # subscription: a monthly plan with a 14-day trial and a promotion-code field
            sub = api.subscription('Pro Plan', 19_99, site + '/welcome?session_id={CHECKOUT_SESSION_ID}', site + '/pricing',
                                   allow_promotion_codes=True, subscription_data={'trial_period_days': 14}, customer_email='jenny.rosen@example.com')
            pg.goto(sub.url); fill_card(pg)
            shoot(pg, out, 'checkout_subscription.png')
            # the customer portal of a subscriber, and its cancellation page
            cs = api.subscription('Pro Plan', 19_99, site + '/welcome', site + '/pricing', customer_email='ada@example.com')
            pg.goto(cs.url); fill_card(pg, name='Ada Lovelace')
            with pg.expect_request(lambda r: r.url.startswith(site + '/welcome')): button(pg, 'Subscribe').click()  # redirected to the site
            cus = api.checkout_sessions.retrieve(cs.id).customer
            if cus is None: sys.exit('the subscription checkout did not complete; the portal picture needs a subscriber')
            portal = api.billing_portal(cus, return_url=site + '/account')
            pg = ctx.new_page(); pg.route('**/*', only_loopback)  # (the last one is on its way to the blocked site)
            pg.goto(portal.url)
            shoot(pg, out, 'portal.png')
            pg.get_by_role('link', name='Cancel subscription', exact=True).click()
            button(pg, 'Confirm cancellation').wait_for()
            shoot(pg, out, 'portal_cancel.png')
            # an invoice sent to be paid: its hosted invoice page
            api.invoiceitems.create(customer=cus, amount=12_00, currency='usd', description='Extra seats, June')
            inv = api.invoices.create(customer=cus, collection_method='send_invoice', days_until_due=14, pending_invoice_items_behavior='include')
            pg.goto(api.invoices.finalize_invoice(inv.id).hosted_invoice_url); fill_card(pg, email=None, name='Ada Lovelace')
            shoot(pg, out, 'invoice.png')
            browser.close()
    finally: srv.shutdown()
    if [u for u in blocked if not u.startswith(site)]: sys.exit(f'a page tried to reach the internet: {blocked}')

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', type=Path, default=REPO/'nbs'/'tutorials'/'images', help='where to write the PNGs')
    a = ap.parse_args(argv)
    if not Path(CHROMIUM).exists(): sys.exit(f'{CHROMIUM} is missing: apt-get install -y chromium')
    a.out.mkdir(parents=True, exist_ok=True)
    make_pictures(a.out)

if __name__ == '__main__': main()

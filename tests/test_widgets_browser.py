"""The payment-link form (faststripe.widgets, issue 8) in a real browser: Voilà serves a small notebook showing
`PaymentLinkForm` against the offline Stripe (in the kernel, no network), and Debian's Chromium, driven by Playwright,
fills it in, clicks Create, and checks that the link, the copy field and the QR code appear. A screenshot is saved to
tests/artifacts/ (gitignored).

Needs: `apt-get install -y chromium chromium-driver` and `pip install playwright voila ipykernel ipywidgets segno`
(never `playwright install`: it downloads a browser, which cannot work here). Everything is on 127.0.0.1: Voilà binds
loopback on a free port, and the browser aborts every request to any other host (Voilà's template links a web font
on a CDN; the page works without it). The test starts and stops Voilà itself, and polls for readiness.
"""
import os, sys, json, shutil, subprocess
from pathlib import Path
from urllib.parse import urlsplit
import pytest
from conftest import free_port, wait_until_up

CHROMIUM = '/usr/bin/chromium'
ARTIFACTS = Path(__file__).parent/'artifacts'
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync']

def _need(ok, what):
    "Fail clearly when a browser tool is missing (tools/test.sh installs them)"
    if not ok: pytest.fail(f'{what} is missing: run tools/test.sh, which installs it')

DEMO_CELLS = [
    "from faststripe.offline import offline_api\n"
    "from faststripe.widgets import PaymentLinkForm",
    "api = offline_api()\n"
    "form = PaymentLinkForm(api)\n"
    "form",
]

def write_demo(path):
    "A notebook that shows a PaymentLinkForm on the offline Stripe"
    nb = {'nbformat': 4, 'nbformat_minor': 5,
          'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'},
                       'language_info': {'name': 'python'}},
          'cells': [{'cell_type': 'code', 'id': f'c{i}', 'metadata': {}, 'execution_count': None, 'outputs': [], 'source': src}
                    for i, src in enumerate(DEMO_CELLS)]}
    path.write_text(json.dumps(nb))
    return path

@pytest.fixture
def voila_url(tmp_path):
    "Serve the demo notebook with Voilà on 127.0.0.1 (free port); stopped at teardown"
    _need(shutil.which('voila') or _has('voila'), 'voila')
    nb = write_demo(tmp_path/'form.ipynb')
    port = free_port()
    log = open(tmp_path/'voila.log', 'w')
    proc = subprocess.Popen([sys.executable, '-m', 'voila', str(nb), '--no-browser', '--Voila.ip=127.0.0.1', f'--port={port}',
                             '--VoilaConfiguration.show_tracebacks=True'],
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}/'
    try:
        wait_until_up(url + 'api', proc, timeout=60)
        yield url
    finally:
        proc.terminate()
        try: proc.wait(15)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
        log.close()
        if os.environ.get('CI') or os.environ.get('FASTSTRIPE_KEEP_LOGS'):
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(tmp_path/'voila.log', ARTIFACTS/'voila.log')

def _has(mod):
    import importlib.util
    return importlib.util.find_spec(mod) is not None

@pytest.fixture
def page():
    "A Chromium page (Debian's browser) that only reaches loopback"
    _need(_has('playwright'), 'playwright (pip install playwright)')
    _need(Path(CHROMIUM).exists(), 'chromium (apt-get install -y chromium chromium-driver)')
    from playwright.sync_api import sync_playwright
    blocked = []
    def only_loopback(route):
        host = urlsplit(route.request.url).hostname
        if host in ('127.0.0.1', 'localhost', '::1'): route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            ctx = browser.new_context(viewport={'width': 900, 'height': 1600})
            ctx.grant_permissions(['clipboard-read', 'clipboard-write'])
            pg = ctx.new_page()
            pg.route('**/*', only_loopback)
            pg.blocked = blocked
            yield pg
        finally: browser.close()

def test_form_in_browser(voila_url, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(voila_url, wait_until='domcontentloaded')
    form = page.locator('.faststripe-form')
    form.wait_for(state='visible', timeout=90_000)   # the kernel starts and runs the notebook first
    create = page.locator('button.faststripe-create')
    # empty form: messages under the fields, Create disabled, TEST badge from the key
    assert page.locator('.faststripe-badge').inner_text() == 'TEST'
    assert create.is_disabled()
    page.get_by_text('Enter the product name, e.g. Digital Course').wait_for()
    # a bad amount is refused with a message, and Create stays disabled
    amount = page.locator('.faststripe-field-amount input')
    page.locator('.faststripe-field-product_name input').fill('Browser Course')
    amount.fill('19,99')
    page.get_by_text('Use a dot for decimals and no thousands separators').wait_for()
    assert create.is_disabled()
    amount.fill('19.99')
    page.locator('button.faststripe-create:not([disabled])').wait_for(timeout=30_000)
    # a Checkout Session needs URLs: the fields appear (and Create waits for them), and go away again
    success = page.locator('.faststripe-field-success_url input')
    assert not success.is_visible()
    form.get_by_role('button', name='Checkout Session').click()
    success.wait_for(state='visible')
    page.get_by_text('Enter the success URL').wait_for()
    page.locator('button.faststripe-create[disabled]').wait_for()
    form.get_by_role('button', name='Payment Link').click()
    success.wait_for(state='hidden')
    page.locator('button.faststripe-create:not([disabled])').wait_for(timeout=30_000)
    # preview first: the plan and the equivalent Python call, nothing sent
    page.locator('button.faststripe-preview').click()
    page.locator('.faststripe-code').wait_for(timeout=30_000)
    assert "api.payment_link(product_name='Browser Course', amount_cents=1999, currency='usd')" in page.locator('.faststripe-code').inner_text()
    create.click()
    link = page.locator('a.faststripe-link')
    link.wait_for(timeout=30_000)
    href = link.get_attribute('href')
    assert href.startswith('https://buy.stripe.com/'), href
    assert link.inner_text() == href
    assert page.locator('.faststripe-copy input').input_value() == href
    page.locator('button.faststripe-copy-btn').click()   # the Copy button puts the link on the clipboard
    page.get_by_role('button', name='Copied').wait_for()
    assert page.evaluate('navigator.clipboard.readText()') == href
    qr = page.locator('img.faststripe-qr')
    qr.wait_for(state='visible', timeout=30_000)
    # the QR image is decoded and drawn by the browser
    page.wait_for_function("() => { const i = document.querySelector('img.faststripe-qr'); return i && i.complete && i.naturalWidth > 50 }",
                           timeout=30_000)
    page.locator(f'.faststripe-history a[href="{href}"]').wait_for(timeout=30_000)   # the session's table
    page.screenshot(path=str(ARTIFACTS/'widgets_form.png'), full_page=True)
    form.screenshot(path=str(ARTIFACTS/'widgets_form_only.png'))
    assert all(urlsplit(u).hostname not in ('127.0.0.1', 'localhost') for u in page.blocked)

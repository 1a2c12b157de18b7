"""`faststripe_offline trigger` and `faststripe_offline fixtures` as a user runs them: commands in subprocesses against a
`faststripe_offline` server subprocess on 127.0.0.1, a webhook receiver collecting what `--forward-to` delivers."""
import json, os, subprocess, sys
import httpx, pytest
from conftest import REPO, free_port, wait_until_up
from faststripe.offline.webhooks import WebhookReceiver

KEY = 'sk_test_fixtures_cli'
ENV = dict(os.environ, STRIPE_API_KEY=KEY, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get('PYTHONPATH')])))

@pytest.fixture
def server():
    port = free_port()
    rcv = WebhookReceiver()
    proc = subprocess.Popen([sys.executable, '-m', 'faststripe.offline', '--port', str(port), '--forward-to', rcv.url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    base = f'http://127.0.0.1:{port}'
    try:
        wait_until_up(base + '/v1/customers', proc)
        yield base, rcv
    finally:
        proc.terminate(); proc.wait(20); rcv.close()

def cli(*args, cwd=None):
    return subprocess.run([sys.executable, '-m', 'faststripe.offline', *args], capture_output=True, text=True, timeout=120, env=ENV, cwd=cwd)

def test_trigger_checkout_completed_delivers_its_events(server):
    base, rcv = server
    r = cli('trigger', 'checkout.session.completed', '--api-base', base)
    assert r.returncode == 0, r.stderr
    assert 'Running fixture for: payment_page_confirm' in r.stdout
    assert 'Trigger succeeded! Events produced: ' in r.stdout and 'checkout.session.completed' in r.stdout, r.stdout
    (ev,) = rcv.wait_for('checkout.session.completed', timeout=20)
    assert ev['data']['object']['amount_total'] == 3000 and ev['data']['object']['payment_status'] == 'paid'

def test_trigger_with_override_and_errors(server):
    base, rcv = server
    r = cli('trigger', 'customer.created', '--api-base', base, '--override', 'customer:email=over@example.com')
    assert r.returncode == 0, r.stderr
    (ev,) = rcv.wait_for('customer.created', timeout=20)
    assert ev['data']['object']['email'] == 'over@example.com'
    bad = cli('trigger', 'customer.created', '--api-base', base, '--override', 'email=x')
    assert bad.returncode == 1 and 'The override flag requires the name of the fixture to apply' in bad.stderr, bad.stderr
    unknown = cli('trigger', 'customer.craeted', '--api-base', base)
    assert unknown.returncode == 1 and 'did you mean customer.created' in unknown.stderr, unknown.stderr
    assert 'Traceback' not in bad.stderr + unknown.stderr

def test_trigger_list_and_show():
    r = cli('trigger', '--list')
    names = [l.split()[0] for l in r.stdout.splitlines()]
    assert r.returncode == 0 and {'checkout.session.completed', 'invoice.paid', 'invoice.payment_succeeded', 'test_helpers.test_clock.ready'} <= set(names)
    assert 'payout.paid\n' in r.stdout and 'payout.canceled\n' in r.stdout  # closed gaps are no longer marked
    assert 'not produced offline yet' not in r.stdout  # known_gaps is empty now (an entry would be marked, not hidden)
    show = cli('trigger', 'invoice.paid', '--show')
    assert json.loads(show.stdout)['fixtures'][-1]['path'] == '/v1/invoices/${invoice:id}/pay'

def test_fixtures_file_updates_dotenv(server, tmp_path):
    base, rcv = server
    (tmp_path/'.env').write_text('KEEP=1\n')
    (tmp_path/'shop.json').write_text(json.dumps({'_meta': {'template_version': 0}, 'env': {'SHOP_PRICE': '${price:id}'}, 'fixtures': [
        {'name': 'product', 'path': '/v1/products', 'method': 'post', 'params': {'name': 'Tea'}},
        {'name': 'price', 'path': '/v1/prices', 'method': 'post', 'params': {'product': '${product:id}', 'unit_amount': 500, 'currency': '${.env:SHOP_CURRENCY|usd}'}}]}))
    r = cli('fixtures', 'shop.json', '--api-base', base, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert 'Fixtures succeeded! 2 requests, events produced: product.created, price.created' in r.stdout, r.stdout
    env = dict(l.split('=', 1) for l in (tmp_path/'.env').read_text().split())
    price = httpx.get(f"{base}/v1/prices/{env['SHOP_PRICE'].strip(chr(34))}", auth=(KEY, '')).json()
    assert (env['KEEP'].strip('"'), price['currency'], price['unit_amount']) == ('1', 'usd', 500)

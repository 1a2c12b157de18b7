"""`faststripe_offline --db FILE`: every write the server answered survives `kill -9` and Ctrl-C, and the account
(objects, events, idempotency keys, test clocks and their pending renewals, the id generator) carries on after a
restart. Servers are subprocesses on 127.0.0.1; nothing waits on sleeps (each step waits for an answer)."""
import os, signal, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
import httpx, pytest
from conftest import REPO, free_port, wait_until_up

KEY = 'sk_test_db'
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get('PYTHONPATH')])))

def start(db):
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-m', 'faststripe.offline', '--port', str(port), '--db', str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    base = f'http://127.0.0.1:{port}'
    wait_until_up(base + '/v1/customers', proc)
    return proc, httpx.Client(base_url=base, auth=(KEY, ''), timeout=30)

def kill(proc, sig=signal.SIGKILL):
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    return proc.returncode, out

def test_sigkill_loses_no_acknowledged_write(tmp_path):
    db = tmp_path/'stripe.sqlite'
    proc, h = start(db)
    with ThreadPoolExecutor(8) as pool:   # concurrent writers: saves must not interleave or go back in time
        made = list(pool.map(lambda i: h.post('/v1/customers', data={'email': f'c{i}@x.co'}).json()['id'], range(40)))
    prod = h.post('/v1/products', data={'name': 'Tea'}, headers={'Idempotency-Key': 'tea'}).json()
    gone = h.post(f'/v1/customers/{made[0]}', data={'name': 'Renamed'}).json()
    h.delete(f'/v1/customers/{made[1]}')
    code, _ = kill(proc)                  # right after the last answer
    assert code == -signal.SIGKILL
    proc, h = start(db)
    try:
        assert [h.get(f'/v1/customers/{c}').status_code for c in made[2:]] == [200] * 38
        assert h.get(f'/v1/customers/{made[0]}').json()['name'] == gone['name'] == 'Renamed'
        assert h.get(f'/v1/customers/{made[1]}').status_code == 404
        again = h.post('/v1/products', data={'name': 'Tea'}, headers={'Idempotency-Key': 'tea'})
        assert again.json()['id'] == prod['id'] and again.headers['idempotent-replayed'] == 'true'
        types = [e['type'] for e in h.get('/v1/events', params={'limit': 100}).json()['data']]
        assert types.count('customer.created') == 40 and types.count('customer.deleted') == 1
        assert h.post('/v1/customers').json()['id'] not in made   # the id generator carried on
    finally: kill(proc)

def test_ctrl_c_and_a_test_clock_carry_on(tmp_path):
    db = tmp_path/'dev.sqlite'
    proc, h = start(db)
    prod = h.post('/v1/products', data={'name': 'Tea club'}).json()
    price = h.post('/v1/prices', data={'product': prod['id'], 'unit_amount': 900, 'currency': 'usd', 'recurring[interval]': 'month'}).json()
    clock = h.post('/v1/test_helpers/test_clocks', data={'frozen_time': 1767225600}).json()
    cus = h.post('/v1/customers', data={'test_clock': clock['id'], 'payment_method': 'pm_card_visa',
                                        'invoice_settings[default_payment_method]': 'pm_card_visa'}).json()
    sub = h.post('/v1/subscriptions', data={'customer': cus['id'], 'items[0][price]': price['id']}).json()
    code, out = kill(proc, signal.SIGINT)  # Ctrl-C
    assert code == 0 and 'data in' in out and '(0 objects loaded)' in out, out
    proc, h = start(db)
    try:
        r = h.post(f"/v1/test_helpers/test_clocks/{clock['id']}/advance", data={'frozen_time': 1767225600 + 45 * 86400})
        assert r.status_code == 200, r.text
        assert h.get(f"/v1/test_helpers/test_clocks/{clock['id']}").json()['status'] == 'ready'
        invoices = h.get('/v1/invoices', params={'subscription': sub['id'], 'limit': 10}).json()['data']
        assert [i['status'] for i in invoices] == ['paid'] * 2     # the first, and the renewal on Feb 1 of the restored clock
        assert invoices[0]['lines']['data'][0]['period']['start'] == 1769904000   # the period from 2026-02-01
        assert h.get(f"/v1/subscriptions/{sub['id']}").json()['status'] == 'active'
    finally:
        code, out = kill(proc, signal.SIGINT)
    assert 'objects loaded)' in out and '(0 objects loaded)' not in out, out

def test_uploaded_files_and_links_survive_a_kill(tmp_path):
    "An uploaded file's bytes are part of the account: they come back byte for byte after `kill -9`, and so does a file link's page"
    db, data = tmp_path/'files.sqlite', bytes(range(256)) * 40
    proc, h = start(db)
    f = h.post('/v1/files', data={'purpose': 'dispute_evidence', 'file_link_data[create]': 'true'},
               files={'file': ('receipt.pdf', data, 'application/pdf')}).json()
    link = f['links']['data'][0]['url']
    assert f['size'] == len(data) and link.startswith('http'), f
    kill(proc)
    proc, h = start(db)
    try:
        assert h.get(f"/v1/files/{f['id']}").json()['size'] == len(data)
        assert h.get(f"/v1/files/{f['id']}/contents").content == data
        page = h.get('/links/' + link.rsplit('/links/', 1)[1])
        assert page.status_code == 200 and page.content == data, page.status_code
        bad = h.post('/v1/files', data={'purpose': 'dispute_evidence'}, files={'file': ('empty.txt', b'', 'text/plain')})
        assert bad.status_code == 400 and 'file you uploaded is empty' in bad.json()['error']['message']
    finally: kill(proc)

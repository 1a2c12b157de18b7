"""`faststripe_offline --forward-to URL --chaos ...` as a user runs it: a server subprocess on 127.0.0.1 forwarding to a
receiver in this process. Without chaos each event arrives once, in order; `--chaos duplicate=1` sends each twice, and
`--chaos burst_every=2` resends every two events together (the delivery log says which attempts chaos made)."""
import os, subprocess, sys
import httpx, pytest
from conftest import free_port, wait_until_up
from faststripe.offline.webhooks import WebhookReceiver, listen_secret

KEY = 'sk_test_chaos_cli'

def run_server(*args):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(__import__('conftest').REPO), os.environ.get('PYTHONPATH')])))
    proc = subprocess.Popen([sys.executable, '-m', 'faststripe.offline', '--port', str(port), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    base = f'http://127.0.0.1:{port}'
    wait_until_up(base + '/v1/customers', proc)
    return proc, base

def made_customers(base, n):
    with httpx.Client(base_url=base, auth=(KEY, '')) as c:
        return [c.post('/v1/customers', data={'email': f'c{i}@x.co'}).json()['id'] for i in range(n)]

@pytest.mark.parametrize('chaos,expect', [('', lambda ids: ids), ('duplicate=1', lambda ids: [i for i in ids for _ in (0, 1)]),
                                          ('burst_every=2', lambda ids: ids[:2] * 2 + ids[2:4] * 2)])
def test_forward_to_with_chaos(chaos, expect):
    with WebhookReceiver() as rcv:
        proc, base = run_server('--forward-to', rcv.url, '--events', 'customer.created', *(['--chaos', chaos] if chaos else []))
        try:
            ids = made_customers(base, 4)
            want = expect(ids)
            rcv.wait(lambda evs: len(evs) >= len(want), timeout=20)
            assert [e['data']['object']['id'] for e in rcv.events] == want
            assert rcv.rejected == []   # signed with the stable listen secret
            log = httpx.get(base + '/_offline/deliveries', auth=(KEY, '')).json()['data']
            assert len(log) == len(want)
            assert sum(d['chaos'] is not None for d in log) == len(want) - len(ids)
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=20)
        assert f'Your webhook signing secret is {listen_secret()}' in out
        assert out.count('--> customer.created') == 4, out   # printed once per event, like `stripe listen`

def test_bad_chaos_is_refused_before_serving():
    r = subprocess.run([sys.executable, '-m', 'faststripe.offline', '--port', '0', '--chaos', 'duplicates=1'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr   # argparse's usage error
    assert "argument --chaos: Unknown chaos setting 'duplicates'; did you mean 'duplicate'?" in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr

"Handler keys are the same in every process: a retry in a new process runs only the handlers that failed"
import subprocess, sys, textwrap

WORKER = textwrap.dedent('''
    import functools, sys
    from faststripe.webhooks import Webhooks, SQLiteEventStore
    db, log, fail = sys.argv[1:4]
    def note(what):
        with open(log, 'a') as f: f.write(what + '\\n')
    def send_email(template, evt): note(f'email {template} {evt.id}')
    class Audit:
        def __call__(self, evt): note(f'audit {evt.id}')
    h = Webhooks(store=SQLiteEventStore(db))
    h.on('invoice.paid')(functools.partial(send_email, 'receipt'))
    h.on('invoice.paid')(Audit())
    @h.on('invoice.paid')
    def record(evt):
        if fail == '1': raise ConnectionError('database down')
        note(f'record {evt.id}')
    try: print(h.handle({'id': 'evt_1', 'object': 'event', 'type': 'invoice.paid'}).status)
    except ConnectionError: print('failed')
''')

def run(tmp_path, fail):
    r = subprocess.run([sys.executable, '-c', WORKER, str(tmp_path/'ev.db'), str(tmp_path/'log.txt'), fail],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()

def test_retry_in_new_process_skips_succeeded_handlers(tmp_path):
    assert run(tmp_path, '1') == 'failed'
    assert run(tmp_path, '0') == 'processed'
    assert run(tmp_path, '0') == 'duplicate'
    assert (tmp_path/'log.txt').read_text().splitlines() == ['email receipt evt_1', 'audit evt_1', 'record evt_1']

"""Stripe Identity and the Reports API of the offline Stripe on loopback, driven by the official `stripe` package (the
reference for what requests and answers look like), plus a browser's part (the hosted verification page) and the
download of a report's CSV with the secret key, as `files.stripe.com` serves it."""
import csv, io
import httpx, pytest
import stripe

KEY = 'sk_test_official_identity_0000000000'

@pytest.fixture
def client(offline_url):
    return stripe.StripeClient(KEY, base_addresses={'api': offline_url, 'files': offline_url})

def _wait_status(get, want, tries=50):
    "Retrieve until the status is `want` (each retrieve is a request, on which the offline Stripe runs its due timers)"
    for _ in range(tries):
        o = get()
        if o.status == want: return o
    raise AssertionError(f'status stayed {o.status}, wanted {want}')

def test_verification_session_lifecycle(client, offline_url):
    vs = client.v1.identity.verification_sessions.create(params={
        'type': 'document', 'options': {'document': {'require_matching_selfie': True}}, 'metadata': {'user': 'u_1'},
        'return_url': 'https://example.com/back', 'client_reference_id': 'u_1'})
    assert isinstance(vs, stripe.identity.VerificationSession)
    assert vs.status == 'requires_input' and vs.url.startswith(offline_url + '/start/test_') and vs.options.document.require_matching_selfie
    page = httpx.get(vs.url)
    assert page.status_code == 200 and 'Verify your identity' in page.text and 'a selfie' in page.text
    sent = httpx.post(vs.url, data={'outcome': 'selfie_face_mismatch'})
    assert (sent.status_code, sent.headers['location']) == (303, 'https://example.com/back')
    get = lambda: client.v1.identity.verification_sessions.retrieve(vs.id)
    failed = _wait_status(get, 'requires_input')
    assert failed.last_error.code == 'selfie_face_mismatch' and failed.url and failed.url != vs.url  # a fresh link for the retry
    report = client.v1.identity.verification_reports.retrieve(failed.last_verification_report)
    assert isinstance(report, stripe.identity.VerificationReport)
    assert (report.document.status, report.selfie.status, report.selfie.error.code) == ('verified', 'unverified', 'selfie_face_mismatch')
    assert httpx.post(failed.url, data={'outcome': 'verified'}).status_code == 303
    ok = _wait_status(get, 'verified')
    assert ok.verified_outputs is None  # not expanded
    full = client.v1.identity.verification_sessions.retrieve(vs.id, params={'expand': ['verified_outputs', 'verified_outputs.dob']})
    assert (full.verified_outputs.first_name, full.verified_outputs.dob.year) == ('Jenny', 1901)
    reports = client.v1.identity.verification_reports.list(params={'verification_session': vs.id})
    assert len(reports.data) == 2
    with pytest.raises(stripe.InvalidRequestError) as e: client.v1.identity.verification_sessions.cancel(vs.id)
    assert e.value.http_status == 400 and 'only a session in requires_input can be canceled' in e.value.user_message
    red = client.v1.identity.verification_sessions.redact(vs.id)
    assert red.redaction.status == 'processing'
    done = client.v1.identity.verification_sessions.retrieve(vs.id)
    assert done.redaction.status == 'redacted' and done.metadata.to_dict() == {}
    with pytest.raises(stripe.InvalidRequestError): client.v1.identity.verification_sessions.update(vs.id, params={'metadata': {'a': 'b'}})

def test_report_run_csv(client, offline_url):
    client.v1.payment_intents.create(params={'amount': 4200, 'currency': 'usd', 'payment_method': 'pm_card_visa', 'confirm': True})
    types = client.v1.reporting.report_types.list()
    assert 'balance_change_from_activity.itemized.1' in [t.id for t in types.data]
    rt = client.v1.reporting.report_types.retrieve('balance_change_from_activity.itemized.1')
    assert isinstance(rt, stripe.reporting.ReportType) and 'net' in rt.default_columns
    run = client.v1.reporting.report_runs.create(params={'report_type': 'balance_change_from_activity.itemized.1',
        'parameters': {'interval_start': rt.data_available_start, 'interval_end': rt.data_available_end,
                       'columns': ['source_id', 'gross', 'reporting_category']}})
    assert isinstance(run, stripe.reporting.ReportRun) and run.status == 'pending'
    done = _wait_status(lambda: client.v1.reporting.report_runs.retrieve(run.id), 'succeeded')
    assert done.result.purpose == 'finance_report_run' and done.result.url.startswith(offline_url + '/v1/files/')
    assert httpx.get(done.result.url).status_code == 401  # the secret key is needed, as on files.stripe.com
    rows = list(csv.reader(io.StringIO(httpx.get(done.result.url, headers={'Authorization': f'Bearer {KEY}'}).text)))
    assert rows[0] == ['source_id', 'gross', 'reporting_category']
    assert [r[1:] for r in rows[1:] if r[0].startswith('ch_')][-1] == ['42.00', 'charge']
    with pytest.raises(stripe.InvalidRequestError) as e:
        client.v1.reporting.report_runs.create(params={'report_type': 'balance.summary.1', 'parameters': {'interval_start': rt.data_available_start}})
    assert e.value.param == 'parameters[interval_end]'

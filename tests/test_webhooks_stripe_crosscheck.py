"""faststripe's webhook signatures cross-checked with the official `stripe` package, in both directions.

Headers `stripe.WebhookSignature.generate_signature_header` makes must verify with faststripe, and headers faststripe's
`generate_signature_header` makes must verify with `stripe.Webhook.construct_event`; both libraries must refuse the
same forgeries. The one documented difference: faststripe also refuses timestamps too far in the *future*."""
import json, time
import pytest, stripe
from faststripe.core import StripeApi, StripeError
from faststripe.webhooks import (verify_webhook, generate_signature_header, parse_event, parse_sig_header,
                                 SignatureVerificationError, WebhookError, WebhookPayloadError, Webhooks)

SECRET = 'whsec_test_crosscheck0000000000'
OTHER = 'whsec_test_crosscheck1111111111'

def event_body(type='customer.subscription.updated', id='evt_cc_1', indent=None, **extra):
    evt = {'id': id, 'object': 'event', 'api_version': '2026-05-27.dahlia', 'created': 1764043200, 'livemode': False,
           'type': type, 'pending_webhooks': 1, 'request': {'id': None, 'idempotency_key': None},
           'data': {'object': {'id': 'sub_1', 'object': 'subscription', 'status': 'active', 'customer': 'cus_1',
                               'metadata': {'note': 'héllo ✓'},
                               'items': {'object': 'list', 'data': [{'id': 'si_1', 'object': 'subscription_item'}]}},
                    'previous_attributes': {'status': 'trialing'}}, **extra}
    return json.dumps(evt, indent=indent, ensure_ascii=False)

PAYLOADS = [event_body(), event_body(indent=2), event_body(id='evt_cc_2', type='invoice.paid') + '\n',
            json.dumps({'id': 'evt_x', 'type': 'ping', 'object': 'event', 'data': {'object': {'id': 'x', 'object': 'thing'}}})]

def stripe_event(payload, header, secret=SECRET, tolerance=300):
    return stripe.Webhook.construct_event(payload, header, secret, tolerance=tolerance, api_key='sk_test_crosscheck')

@pytest.mark.parametrize('payload', PAYLOADS)
@pytest.mark.parametrize('as_bytes', [False, True])
def test_stripe_header_verifies_with_faststripe(payload, as_bytes):
    hdr = stripe.WebhookSignature.generate_signature_header(payload, SECRET)
    body = payload.encode() if as_bytes else payload
    assert verify_webhook(body, hdr, SECRET) is True
    evt = parse_event(body, hdr, SECRET)
    assert evt.to_dict() == json.loads(payload)
    assert StripeApi('sk_test_crosscheck').parse_webhook(body, {'STRIPE-SIGNATURE': hdr}, SECRET).id == evt.id

@pytest.mark.parametrize('payload', PAYLOADS)
@pytest.mark.parametrize('as_bytes', [False, True])
def test_faststripe_header_verifies_with_stripe(payload, as_bytes):
    hdr = generate_signature_header(payload.encode() if as_bytes else payload, SECRET)
    assert stripe.WebhookSignature.verify_header(payload, hdr, SECRET, tolerance=300) is True
    sevt = stripe_event(payload.encode() if as_bytes else payload, hdr)
    fevt = parse_event(payload, hdr, SECRET)
    assert (sevt.id, sevt.type) == (fevt.id, fevt.type)
    assert sevt.data.object.to_dict() == fevt.data.object.to_dict()

@pytest.mark.parametrize('ts', [0, 1764043200, 2**31 + 7])
def test_identical_headers(ts):
    "Same payload, secret and time: the two libraries produce the very same header"
    for p in PAYLOADS:
        assert generate_signature_header(p, SECRET, ts) == stripe.WebhookSignature.generate_signature_header(p, SECRET, ts)

def test_typed_event_matches_stripe_event():
    p = PAYLOADS[0]
    hdr = generate_signature_header(p, SECRET)
    sevt, fevt = stripe_event(p, hdr), parse_event(p, hdr, SECRET)
    assert type(fevt).__name__ == 'Event' and type(fevt.data.object).__name__ == 'Subscription'
    assert fevt.data.previous_attributes.status == sevt.data.previous_attributes.status == 'trialing'
    assert fevt.data.object['items'].data[0].id == sevt.data.object['items'].data[0].id == 'si_1'
    assert fevt.data.object.metadata.note == sevt.data.object.metadata.note == 'héllo ✓'

def test_rotation_both_ways():
    "A faststripe header signed with two secrets (a rolling secret) verifies in stripe with either one"
    p = PAYLOADS[0]
    both = generate_signature_header(p, [SECRET, OTHER])
    for s in (SECRET, OTHER): assert stripe_event(p, both, secret=s).id == 'evt_cc_1'
    # and a stripe-made header verifies in faststripe against a list holding the right secret anywhere
    hdr = stripe.WebhookSignature.generate_signature_header(p, OTHER)
    assert verify_webhook(p, hdr, [SECRET, OTHER]) and verify_webhook(p, hdr, [OTHER, SECRET])
    # several v1 values in one header, built by hand the way Stripe sends them while a secret rolls
    t = int(time.time())
    s1 = stripe.WebhookSignature.generate_signature_header(p, SECRET, t).split(',')[1]
    s2 = stripe.WebhookSignature.generate_signature_header(p, OTHER, t).split(',')[1]
    rolled = f't={t},{s1},{s2}'
    assert verify_webhook(p, rolled, OTHER) and stripe_event(p, rolled, secret=OTHER)

def both_refuse(payload, header, secret, tolerance=300):
    with pytest.raises(stripe.SignatureVerificationError): stripe_event(payload, header, secret, tolerance)
    with pytest.raises(SignatureVerificationError) as e: parse_event(payload, header, secret, tolerance)
    assert isinstance(e.value, StripeError) and e.value.http_status == 400
    return e.value.reason

def test_both_refuse_forgeries():
    p = PAYLOADS[0]
    good = stripe.WebhookSignature.generate_signature_header(p, SECRET)
    assert both_refuse(p, good, OTHER) == 'signature'                              # wrong secret
    assert both_refuse(p.replace('active', 'past_due'), good, SECRET) == 'signature'  # tampered body
    t, sigs = parse_sig_header(good)
    assert both_refuse(p, f't={t + 1},v1={sigs[0]}', SECRET) == 'signature'        # timestamp moved
    assert both_refuse(p, f't={t}', SECRET) == 'header'                            # no v1
    assert both_refuse(p, 'garbage', SECRET) == 'header'
    assert both_refuse(p, '', SECRET) == 'header'
    assert both_refuse(p, good, '') == 'secret'
    assert both_refuse(p, good, '   ') == 'secret'

def test_both_refuse_stale_timestamps():
    p, now = PAYLOADS[0], int(time.time())
    for age in (301, 3600, 86400 * 30):
        for hdr in (generate_signature_header(p, SECRET, now - age),
                    stripe.WebhookSignature.generate_signature_header(p, SECRET, now - age)):
            assert both_refuse(p, hdr, SECRET) == 'timestamp'
    for age in (0, 60, 290):                    # inside the tolerance: both accept
        hdr = stripe.WebhookSignature.generate_signature_header(p, SECRET, now - age)
        assert stripe_event(p, hdr).id == parse_event(p, hdr, SECRET).id

def test_future_timestamps_documented_difference():
    "stripe-python accepts any future timestamp; faststripe refuses one beyond the tolerance, in either direction"
    p = PAYLOADS[0]
    hdr = generate_signature_header(p, SECRET, int(time.time()) + 3600)
    assert stripe_event(p, hdr).id == 'evt_cc_1'
    with pytest.raises(SignatureVerificationError, match='in the future'): parse_event(p, hdr, SECRET)
    assert parse_event(p, hdr, SECRET, tolerance=None).id == 'evt_cc_1'

def test_missing_header_or_secret_never_attribute_error():
    p = PAYLOADS[0]
    hdr = generate_signature_header(p, SECRET)
    for args in [(p, None, SECRET), (p, hdr, None), (None, hdr, SECRET), (p, 123, SECRET), (p, hdr, [None])]:
        with pytest.raises(SignatureVerificationError): verify_webhook(*args)

def test_registry_with_stripe_signed_delivery():
    "A delivery signed by the official library reaches the right faststripe handler once"
    hooks, got = Webhooks(secret=SECRET), []
    hooks.on('customer.subscription.*')(lambda evt: got.append(evt.data.previous_attributes.status))
    p = PAYLOADS[0]
    hdrs = {'Stripe-Signature': stripe.WebhookSignature.generate_signature_header(p, SECRET)}
    assert hooks.handle_request(p.encode(), hdrs).status == 'processed'
    assert hooks.handle_request(p.encode(), hdrs).status == 'duplicate'
    assert got == ['trialing']

def test_secret_with_whitespace():
    "A secret read from a file (trailing newline) or pasted with spaces verifies stripe-made headers everywhere"
    p = PAYLOADS[0]
    hdr = stripe.WebhookSignature.generate_signature_header(p, SECRET)
    for padded in (SECRET + '\n', f'  {SECRET}\r\n', [OTHER, SECRET + '\n'], (SECRET + '\n').encode()):
        assert verify_webhook(p, hdr, padded) is True
        assert parse_event(p, hdr, padded).id == 'evt_cc_1'
        assert StripeApi('sk_test_crosscheck').parse_webhook(p, hdr, secret=padded).id == 'evt_cc_1'
    assert generate_signature_header(p, SECRET + '\n', 1764043200) == stripe.WebhookSignature.generate_signature_header(p, SECRET, 1764043200)
    hooks = Webhooks(secret=SECRET + '\n')
    assert hooks.handle_request(p.encode(), {'Stripe-Signature': hdr}).status == 'ignored'
    assert hooks.handle_request(p.encode(), {'Stripe-Signature': hdr}, secret=' ' + SECRET + '\n').status == 'ignored'

@pytest.mark.parametrize('body,reason', [('not json', 'json'), ('', 'json'), ('{"id": "evt_1",', 'json'),
                                         ('[1, 2]', 'event'), ('{"object": "customer", "id": "cus_1"}', 'event')])
def test_signed_non_event(body, reason):
    """Signed bodies that are not events raise WebhookPayloadError, a WebhookError and a ValueError. stripe-python raises
    JSONDecodeError (a ValueError) for non-JSON, so `except ValueError` code behaves the same with either library; for
    JSON that is not an event it raises AttributeError ('[1, 2]') or returns an Event, which faststripe refuses."""
    hdr = stripe.WebhookSignature.generate_signature_header(body, SECRET)
    with pytest.raises(WebhookPayloadError) as e: parse_event(body, hdr, SECRET)
    assert isinstance(e.value, WebhookError) and isinstance(e.value, ValueError) and isinstance(e.value, StripeError)
    assert not isinstance(e.value, SignatureVerificationError) and e.value.http_status == 400
    assert e.value.reason == reason and len(str(e.value)) < 200
    if reason == 'json':
        with pytest.raises(ValueError): stripe_event(body, hdr)

def test_payload_error_through_registry():
    "`handle_request` lets a WebhookPayloadError out before any handler or the store is touched"
    hooks, got = Webhooks(secret=SECRET), []
    hooks.on()(got.append)
    body = b'{"hello": "world"}'
    with pytest.raises(WebhookError, match='not a Stripe event'):
        hooks.handle_request(body, {'Stripe-Signature': generate_signature_header(body, SECRET)})
    assert got == [] and len(hooks.store) == 0

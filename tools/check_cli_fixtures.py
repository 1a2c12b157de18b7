#!/usr/bin/env python
"""Run a folder of fixture files in the Stripe CLI's format (say, a checkout of stripe/stripe-cli's
pkg/fixtures/triggers) against a fresh offline Stripe each, and say which produce the event their file is named after.

  python tools/check_cli_fixtures.py path/to/stripe-cli/pkg/fixtures/triggers [--api-version 2024-06-20] [--funded] [--json]

`--api-version` gives each offline account that default version (the CLI's v1 requests name none). `--funded` starts
each account with $100.00 available (paid with `pm_card_bypassPending` before the file runs), as an account that has
been used for a while has: files that spend money they did not bring (the transfer ones) need that.

A file's name is the trigger's name, which is usually the event it makes:
- `v1.NAME` is a thin (v2 event destination) event: it counts when the run produced the thin event `v1.NAME`;
- a country suffix (`issuing_card.created.eu`, `.gb`) is the same event made for another region;
- a name that is not one of Stripe's event types (`subscription.payment_failed`) is a scenario: it counts when all
  of its requests ran as the file expects (the events it made are listed).
Files that do not produce their event for a reason of Stripe's are listed apart, each with the reason: those whose
expected event Stripe's own documentation rules out (`DOCUMENTED_OTHERWISE`, with the page that says so: there the
offline Stripe follows the documentation, not the file), those that spend money a new account does not have
(`NEEDS_FUNDS`), and those refused for parameters the account's API version does not have.

Nothing is copied into this project: the files are read where they are. The summary line is what
nbs/offline/55_fixtures.ipynb quotes."""
import json, re, sys
from pathlib import Path
import faststripe.offline  # every part
from faststripe.offline import OfflineStripe, run_fixture

DOCUMENTED_OTHERWISE = {
    'subscription_schedule.aborted': "cancels a schedule directly; Stripe's event reference: aborted is 'canceled due to the underlying "
        "subscription being canceled because of delinquency' (https://docs.stripe.com/api/events/types), so this makes subscription_schedule.canceled",
    'subscription_schedule.expiring': "advances its clock to 9 days before the schedule's end; Stripe's event reference: expiring "
        "'occurs 7 days before a subscription schedule will expire' (https://docs.stripe.com/api/events/types), so it comes 2 days later",
    'checkout.session.async_payment_failed': "pays with the IBAN IT60X0542811101000000123456, which is none of Stripe's test IBANs (eight per "
        "country for 19 countries, none Italian: https://docs.stripe.com/payments/sepa-debit/accept-a-payment#test-your-integration); only "
        "the documented failing ones fail, so this debit succeeds and makes checkout.session.async_payment_succeeded",
}

NEEDS_FUNDS = {f'transfer.{t}': "transfers all $10.00 of a $10.00 charge, but Stripe's fee (2.9% + 30c, https://stripe.com/pricing) leaves $9.41 "
    "available in a new account, and 'Your Stripe balance must be able to cover the transfer amount, or you'll receive an Insufficient "
    "Funds error' (https://docs.stripe.com/api/transfers/create): balance_insufficient; it works on an account with earlier funds (--funded), "
    "and the bundled fixture transfers $10.00 of a $20.00 charge" for t in ('created', 'updated', 'reversed')}

def explain(name, outcome, detail):
    "The outcome of a file that did not produce its event, with the reason when it is Stripe's, not the offline Stripe's"
    if name in DOCUMENTED_OTHERWISE: return 'documented otherwise', DOCUMENTED_OTHERWISE[name]
    if name in NEEDS_FUNDS and 'insufficient funds' in detail.lower(): return 'needs funds', NEEDS_FUNDS[name]  # Stripe's balance_insufficient message
    if 'Received unknown parameter' in detail:  # as Stripe answers a parameter the account's default version does not have
        return 'older parameters', detail + ' (the account is on the newest version; try --api-version 2024-06-20)'
    return outcome, detail

def expected_event(name, event_types):
    "(kind, event) for a trigger file's name: kind is 'thin', 'event' or 'scenario'"
    if name.startswith('v1.'): return 'thin', name
    ev = re.sub(r'\.(eu|gb)$', '', name)
    return ('event' if ev in event_types else 'scenario'), ev

def fund(st, amount=10000):
    "Give a fresh account `amount` cents available, the way Stripe's docs say to: a charge with pm_card_bypassPending"
    status, body = st.request('POST', '/v1/payment_intents', f'amount={amount}&currency=usd&payment_method=pm_card_bypassPending&confirm=true'
                              '&automatic_payment_methods[enabled]=true&automatic_payment_methods[allow_redirects]=never')
    assert status == 200, body

def check_one(path, version, event_types, funded=False):
    kind, ev = expected_event(path.stem, event_types)
    st = OfflineStripe()
    st.account_version = version
    if funded: fund(st)
    run = run_fixture(str(path), st, out=None)
    got = run.thin_types() if kind == 'thin' else run.types()
    if kind == 'scenario' or ev in got: return 'ok', (f"scenario; made {', '.join(dict.fromkeys(got))}" if kind == 'scenario' else '')
    return 'no', f"ran; no {ev} event (got {', '.join(got[-4:]) or 'none'})"

def check(folder, version=None, funded=False):
    "{file stem: (outcome, detail)}, outcome one of 'ok', 'no', 'error', 'documented otherwise', 'needs funds', 'older parameters'"
    types, res = OfflineStripe().event_types, {}
    for p in sorted(Path(folder).glob('*.json')):
        try: res[p.stem] = check_one(p, version, types, funded)
        except Exception as e: res[p.stem] = 'error', f'{type(e).__name__}: {e}'.splitlines()[0][:200]
        if res[p.stem][0] != 'ok': res[p.stem] = explain(p.stem, *res[p.stem])
    return res

def summary(res):
    n = lambda o: sum(v[0] == o for v in res.values())
    why = {'documented otherwise': "expect what Stripe's docs rule out", 'needs funds': 'need an account with funds (--funded)',
           'older parameters': "send parameters the newest API version refuses, as Stripe does (--api-version)"}
    return '; '.join([f"{n('ok')} of {len(res)} fixture files produce their event offline"] + [f'{n(o)} {w}' for o,w in why.items() if n(o)])

if __name__ == '__main__':
    if len(sys.argv) < 2: sys.exit(__doc__)
    a = sys.argv
    res = check(a[1], a[a.index('--api-version') + 1] if '--api-version' in a else None, '--funded' in a)
    if '--json' in a: print(json.dumps(res, indent=1))
    else:
        for k,(o,d) in res.items():
            if o != 'ok' or '--all' in a: print(f'{k}: [{o}] {d}')
    print(summary(res))

"""The async client on the in-process offline Stripe: `offline_api(cls=AsyncStripeApi)` (straight to the engine) against
an `AsyncStripeApi` going through httpx on `OfflineTransport`, and the sync `offline_api()`, in one run.

    python bench/bench_offline_async.py            # the full run (about half a minute on 2 cores)
    python bench/bench_offline_async.py --quick    # fewer rounds
    python bench/bench_offline_async.py --json     # the figures as JSON too

The workload is bench_offline.py's round: for customers, products, prices and payment intents, a create, a retrieve,
an update (metadata) and a list (one a page); 16 requests per round. Each client has its own engine; the clients take
turns, `--repeats` times `--rounds` rounds after `--warmup` rounds; times are the best of the repeats, per request.
Ratios are to the async client through httpx, measured in the same run.
"""
import argparse, asyncio, json, platform, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from faststripe.core import AsyncStripeApi, StripeApi
from faststripe.offline import offline_api, offline_key, OfflineTransport, OfflineStripe

def _creates(api):
    return {'customers': lambda: api.customers.create(email='bench@example.com', name='Bench'),
            'products': lambda: api.products.create(name='Bench'),
            'prices': lambda: api.prices.create(currency='usd', unit_amount=500, product_data={'name': 'Bench'}),
            'payment_intents': lambda: api.payment_intents.create(amount=500, currency='usd')}

def _steps(api, group, make):
    g = getattr(api, group)
    return [make, lambda o: g.retrieve(o.id), lambda o: g.update(o.id, metadata={'round': '1'}), lambda o: g.list(limit=1)]

async def arounds(api, n):
    for _ in range(n):
        for group, make in _creates(api).items():
            o = await make()
            for step in _steps(api, group, make)[1:]: await step(o)

def srounds(api, n):
    for _ in range(n):
        for group, make in _creates(api).items():
            o = make()
            for step in _steps(api, group, make)[1:]: step(o)

CLIENTS = {
    'async, httpx on OfflineTransport': lambda: AsyncStripeApi(offline_key, transport=OfflineTransport(OfflineStripe()), max_retries=0),
    'async, offline_api (engine)': lambda: offline_api(cls=AsyncStripeApi),
    'sync, offline_api (engine)': lambda: offline_api()}

def timed(name, api, rounds):
    t = time.perf_counter()
    if api._is_async: asyncio.run(arounds(api, rounds))
    else: srounds(api, rounds)
    return (time.perf_counter() - t) / (rounds * 16) * 1e6

def main(args=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--rounds', type=int, default=150)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--warmup', type=int, default=20)
    p.add_argument('--quick', action='store_true', help='30 rounds, 3 repeats')
    p.add_argument('--json', action='store_true')
    a = p.parse_args(args)
    if a.quick: a.rounds, a.repeats = 30, 3
    apis = {k: make() for k,make in CLIENTS.items()}
    for k,api in apis.items(): timed(k, api, a.warmup)
    best = {k: float('inf') for k in apis}
    for _ in range(a.repeats):
        for k,api in apis.items(): best[k] = min(best[k], timed(k, api, a.rounds))
    base = best['async, httpx on OfflineTransport']
    print(f'{time.strftime("%Y-%m-%d")}, {platform.machine()} Python {platform.python_version()}, '
          f'{a.rounds} rounds x 16 requests, best of {a.repeats}')
    for k,us in best.items(): print(f'  {k:<34} {us:7.0f} µs/request   {us/base:5.2f}x the httpx path')
    if a.json: print(json.dumps({k: round(v, 1) for k,v in best.items()}))
    return best

if __name__ == '__main__': main()

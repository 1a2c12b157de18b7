"""The mirror against the offline Stripe under random traffic: creates, updates and deletes interleaved with syncs;
after every sync the mirror equals what the server lists (issue 16)."""
import random, warnings
import pytest
from faststripe.offline import offline_api, OfflineStripe
from faststripe.mirror import Mirror, mismatches
from faststripe.core import StripeError, pages

T0 = 1_780_000_000
PM = dict(payment_method='pm_card_visa', invoice_settings={'default_payment_method': 'pm_card_visa'})
RESOURCES = ['customers', 'products', 'prices', 'coupons', 'subscriptions', 'invoices', 'charges', 'payment_intents', 'events']

class Business:
    "Random Stripe traffic on an offline account whose clock moves forward a random few seconds per step"
    def __init__(self, seed):
        self.rng, self.st = random.Random(seed), OfflineStripe(seed=seed, clock=T0)
        self.api = offline_api(self.st)
        self.custs, self.prods, self.prices, self.coupons, self.subs = [], [], [], [], []
        self.done = []

    def step(self):
        r = self.rng
        self.st.clock = self.st.now() + r.choice([0, 0, 1, 5, 3600])
        ops = [self.new_customer, self.new_product, self.new_price, self.new_coupon]
        if self.custs: ops += [self.rename_customer, self.delete_customer]
        if self.prods: ops += [self.rename_product]
        if self.prices: ops += [self.toggle_price]
        if self.coupons: ops += [self.delete_coupon]
        if self.custs and self.prices: ops += [self.subscribe] * 3
        if self.subs: ops += [self.change_quantity, self.cancel]
        op = r.choice(ops)
        try: op()
        except StripeError as e: self.done.append(f'{op.__name__} refused: {e}')
        else: self.done.append(op.__name__)

    def new_customer(self): self.custs.append(self.api.customers.create(email=f'{self.rng.random():.6f}@example.com', **PM).id)
    def rename_customer(self): self.api.customers.update(self.rng.choice(self.custs), name=f'n{self.rng.randrange(1000)}')
    def delete_customer(self):
        c = self.rng.choice(self.custs); self.custs.remove(c); self.api.customers.delete(c)
    def new_product(self): self.prods.append(self.api.products.create(name=f'p{self.rng.randrange(1000)}').id)
    def rename_product(self): self.api.products.update(self.rng.choice(self.prods), name=f'q{self.rng.randrange(1000)}')
    def new_price(self):
        if not self.prods: return self.new_product()
        iv = self.rng.choice(['month', 'year', 'week'])
        self.prices.append(self.api.prices.create(product=self.rng.choice(self.prods), unit_amount=self.rng.randrange(100, 5000),
                                                  currency='usd', recurring={'interval': iv}).id)
    def toggle_price(self): self.api.prices.update(self.rng.choice(self.prices), active=self.rng.random() < 0.5, metadata={'k': str(self.rng.random())})
    def new_coupon(self): self.coupons.append(self.api.coupons.create(percent_off=self.rng.randrange(5, 50), duration='forever').id)
    def delete_coupon(self):
        c = self.rng.choice(self.coupons); self.coupons.remove(c); self.api.coupons.delete(c)
    def subscribe(self):
        p = self.rng.choice(self.prices)
        if not self.api.prices.retrieve(p).active: return
        self.subs.append(self.api.subscriptions.create(customer=self.rng.choice(self.custs), items=[{'price': p, 'quantity': self.rng.randrange(1, 4)}]).id)
    def change_quantity(self):
        s = self.api.subscriptions.retrieve(self.rng.choice(self.subs))
        if s.status == 'canceled': return
        self.api.subscriptions.update(s.id, items=[{'id': s['items'].data[0].id, 'quantity': self.rng.randrange(1, 9)}], proration_behavior='none')
    def cancel(self):
        s = self.rng.choice(self.subs); self.subs.remove(s); self.api.subscriptions.cancel(s)

@pytest.mark.parametrize('seed', [1, 2, 3])
def test_random_traffic_then_sync_equals_server(seed):
    b = Business(seed)
    m = Mirror(b.api, ':memory:', resources=RESOURCES, workers=3)
    for _ in range(20): b.step()
    m.sync()
    assert mismatches(m, b.api) == {}, b.done
    for rnd in range(6):
        for _ in range(b.rng.randrange(5, 40)): b.step()
        s = m.sync()
        assert s['listed'] == [] and not s['fallback'], s
        assert mismatches(m, b.api) == {}, (rnd, b.done[-40:])
        # what changed cost requests for the events and a few re-fetches at most, never a new listing
        assert s['requests'] <= 2 + s['events'] // 100 + s.get('refetched', 0), s
    kinds = {d.split()[0] for d in b.done}
    assert {'new_customer', 'subscribe', 'cancel', 'delete_customer'} <= kinds, kinds

def test_webhook_deliveries_shuffled_and_duplicated_equal_server():
    "apply() fed every event twice in random order ends where the server is"
    b = Business(7)
    for _ in range(120): b.step()
    evs = list(pages(b.api.events.list))
    m = Mirror(b.api, ':memory:', resources=[r for r in RESOURCES if r != 'events'])
    deliveries = evs * 2
    random.Random(7).shuffle(deliveries)
    outs = [m.apply(e) for e in deliveries]
    assert set(outs) <= {'applied', 'deleted', 'stale', 'duplicate', 'ignored'}, set(outs)
    assert outs.count('duplicate') > 0 and outs.count('stale') > 0, outs
    assert mismatches(m, b.api) == {}

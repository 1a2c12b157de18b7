"""A tiny shop, as a user would write one, to show the offline Stripe's pytest plugin at work.

It sells tea through Stripe Checkout with the official `stripe` package: `POST /buy` makes a Checkout Session for an
order and answers its URL; `POST /webhook` verifies Stripe's signature and, on `checkout.session.completed`, fulfils
the order -- exactly once, however often Stripe delivers the event (duplicates, redeliveries, retries after a
failure) and in whatever order events arrive. That is the part worth testing, and what Stripe's docs ask of every
receiver: https://docs.stripe.com/webhooks#handle-duplicate-events."""
import json, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
import stripe

class Shop:
    def __init__(self, client:stripe.StripeClient, price:str, webhook_secret:str=None):
        self.client, self.price, self.webhook_secret = client, price, webhook_secret
        self.orders, self.shipped, self.lock = {}, [], threading.Lock()  # order id -> order; what went out, in order
        shop = self
        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                if self.path == '/buy': code, out = shop.buy(json.loads(body or b'{}'))
                elif self.path == '/webhook': code, out = shop.webhook(body, self.headers.get('Stripe-Signature', ''))
                else: code, out = 404, {'error': 'not found'}
                data = json.dumps(out).encode()
                self.send_response(code); self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data))); self.end_headers(); self.wfile.write(data)
            def log_message(self, *a): pass
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self.server.daemon_threads = True
        self.url = f'http://127.0.0.1:{self.server.server_port}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def buy(self, req):
        order = f"order_{len(self.orders) + 1}"
        s = self.client.v1.checkout.sessions.create({'mode': 'payment', 'success_url': 'https://shop.example/thanks',
            'line_items': [{'price': self.price, 'quantity': int(req.get('quantity', 1))}], 'client_reference_id': order})
        with self.lock: self.orders[order] = {'session': s.id, 'status': 'awaiting_payment'}
        return 200, {'order': order, 'checkout_url': s.url, 'session': s.id}

    def webhook(self, body, sig):
        try: event = stripe.Webhook.construct_event(body, sig, self.webhook_secret)
        except (ValueError, stripe.SignatureVerificationError) as e: return 400, {'error': str(e)}
        if event.type == 'checkout.session.completed': self.fulfil(event.data.object)
        return 200, {'received': True}

    def fulfil(self, session):
        "Ship an order once: the order's status is the guard, checked and changed under a lock"
        with self.lock:
            order = self.orders.get(session.client_reference_id)
            if order is None or order['status'] == 'shipped' or session.payment_status != 'paid': return
            order['status'] = 'shipped'
            self.shipped.append(session.client_reference_id)

    def close(self): self.server.shutdown(); self.server.server_close()

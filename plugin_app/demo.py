"""The offline demo behind `make run`: SQLite, a seeded shop, in-process jobs."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import click

from .domain.earning import Order, OrderLine, Refund, RefundLine
from .domain.events import OrderSeen
from .domain.errors import InsufficientBalance
from .domain.ledger import Asset, Source
from .domain.money import Money
from .domain.reasons import Reason
from .domain.rewards import quote, reward_params
from .http.widgets import DEMO_MEMBER  # the demo store page links to them; the seed makes them rich
from .services.cart import Cart, CartLine
from .storage.migrate import upgrade

DEMO_DOMAIN = "demo-store.loyalty.local"
FIRST_NAMES = ["ada", "ben", "chloe", "dev", "emma", "farid", "gia", "hugo", "ines", "jon",
               "kim", "leo", "maya", "nils", "olga", "pia", "quinn", "rosa", "sam", "tara"]


# What the demo panel shows of the engagement features (issue 20): badges, a challenge this month
# (one automatic, one to join), the opt-in leaderboard and a short survey, in every shipped language.
DEMO_BADGES = [
    {"id": "first-order", "name": "First order", "rule": {"kind": "first_order"},
     "names": {"it": "Primo ordine", "de": "Erste Bestellung", "fr": "Première commande", "es": "Primer pedido"}},
    {"id": "regular", "name": "Regular customer", "rule": {"kind": "orders_count", "n": 8},
     "reward": {"kind": "points", "points": 50},
     "names": {"it": "Cliente abituale", "de": "Stammkunde", "fr": "Client fidèle", "es": "Cliente habitual"}},
    {"id": "big-spender", "name": "Big spender", "rule": {"kind": "spend", "amount": "500"},
     "names": {"it": "Grande acquirente", "de": "Großeinkäufer", "fr": "Grand acheteur", "es": "Gran comprador"}},
]
DEMO_SURVEY = {"enabled": True, "id": "demo-feedback", "points": 20, "questions": [
    {"id": "happy", "kind": "rating", "text": {
        "en": "How happy are you with our shop?", "it": "Quanto sei soddisfatto del nostro negozio?",
        "de": "Wie zufrieden sind Sie mit unserem Shop?", "fr": "Êtes-vous satisfait de notre boutique ?",
        "es": "¿Estás satisfecho con nuestra tienda?"}},
    {"id": "found", "kind": "choice", "text": {
        "en": "How did you find us?", "it": "Come ci hai conosciuti?", "de": "Wie haben Sie uns gefunden?",
        "fr": "Comment nous avez-vous connus ?", "es": "¿Cómo nos encontraste?"},
     "choices": [
         {"id": "friend", "text": {"en": "A friend", "it": "Un amico", "de": "Über Freunde", "fr": "Un ami",
                                   "es": "Un amigo"}},
         {"id": "social", "text": {"en": "Social media", "it": "Social network", "de": "Soziale Medien",
                                   "fr": "Réseaux sociaux", "es": "Redes sociales"}},
         {"id": "search", "text": {"en": "A search engine", "it": "Un motore di ricerca", "de": "Eine Suchmaschine",
                                   "fr": "Un moteur de recherche", "es": "Un buscador"}}]},
    {"id": "better", "kind": "text", "text": {
        "en": "What could we do better?", "it": "Che cosa potremmo fare meglio?", "de": "Was könnten wir besser machen?",
        "fr": "Que pourrions-nous améliorer ?", "es": "¿Qué podríamos mejorar?"}},
]}
# Shoppers already on the leaderboard, under the names they chose
DEMO_BOARD = {"demo-1001": "Ben R.", "demo-1002": "Chloe", "demo-1004": "Emma K", "demo-1007": "hugo_runs"}


def demo_challenges(now, tz) -> list[dict]:
    """This month's challenges (in the shop's time zone): ids by month, so each month's is a new
    challenge, settled once after its end."""
    local = now.astimezone(tz)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    month, span = f"{start:%Y-%m}", {"starts_at": start.isoformat(), "ends_at": end.isoformat()}
    return [
        {"id": f"two-orders-{month}", "name": "Two orders this month", **span, "points": 100,
         "goal": {"kind": "orders_count", "n": 2},
         "names": {"it": "Due ordini questo mese", "de": "Zwei Bestellungen diesen Monat",
                   "fr": "Deux commandes ce mois-ci", "es": "Dos pedidos este mes"}},
        {"id": f"spend-{month}", "name": "Spend €150 this month", **span, "points": 150, "enrollment": "opt_in",
         "goal": {"kind": "spend", "amount": "150"},
         "names": {"it": "Spendi 150 € questo mese", "de": "Diesen Monat 150 € ausgeben", "fr": "150 € dépensés ce mois-ci",
                   "es": "Gasta 150 € este mes"}},
    ]


def _demo_program(runtime, shop_id: int):
    """The demo's program: referrals on (a link to copy, a friend's welcome code) and the
    engagement features; set once, and this month's challenges again when the month changed."""
    from zoneinfo import ZoneInfo

    from .services.program import dump

    program = runtime.programs.current(shop_id).program
    document = dump(program)
    challenges = demo_challenges(runtime.clock.now(), ZoneInfo(program.timezone))
    changed = False
    if not program.referrals.enabled:
        document["referrals"]["enabled"] = True
        changed = True
    if not program.badges and not program.survey.enabled:  # set once: a merchant's later choices stay
        document.update(badges=DEMO_BADGES, leaderboard={"enabled": True, "period": "all_time", "size": 10},
                        survey=DEMO_SURVEY)
        changed = True
    have = {c.id for c in program.challenges}
    if not {c["id"] for c in challenges} <= have:
        document["challenges"] = [c for c in document.get("challenges", []) if not c["id"].startswith(
            ("two-orders-", "spend-"))] + challenges
        changed = True
    return runtime.programs.put(shop_id, document, author="demo").program if changed else program


def seed(runtime) -> tuple[int, str]:
    """Idempotent: orders, actions and postings all carry fixed ids and keys."""
    shop, api_key = runtime.shops.register("demo", DEMO_DOMAIN, currency="EUR", name="Demo Store")
    rng = random.Random(42)
    program = _demo_program(runtime, shop.id)
    now = runtime.clock.now()
    start = (now - timedelta(days=58)).replace(hour=10, minute=0, second=0, microsecond=0)

    def basket(order_id: str):  # the same lines for the same order, however often the seed runs
        r = random.Random(order_id)
        return tuple(OrderLine(f"{order_id}-{k}", r.randint(1, 3), Decimal(r.randint(1500, 9000)) / 100,
                               title=r.choice(["Tee", "Hoodie", "Mug", "Cap", "Socks"]))
                     for k in range(r.randint(1, 3)))

    for i, name in enumerate(FIRST_NAMES):
        customer = f"demo-{1000 + i}"
        runtime.members.enrol(shop.id, customer, email=f"{name}@example.com", name=f"{name.title()} Demo",
                              birthday=date(1980 + i, 1 + i % 12, 1 + i))
        runtime.actions.award(shop.id, customer, "signup", customer)
        for n in range(rng.randint(1, 4)):
            order_id = f"{1000 + i * 10 + n}"
            placed = start + timedelta(days=(i * 3 + n * 11) % 58)
            runtime.platform.apply(shop.id, OrderSeen(Order(order_id, "EUR", placed, basket(order_id), customer,
                                                            shipping=Decimal("4.90")), paid=True))
        member, balance = runtime.members.by_customer(shop.id, customer)
        if i % 4 == 0 and balance.points >= 100:
            q = quote(program.reward("five-off"), Money.of("40.00", "EUR"), points_available=balance.points,
                      tier=member.tier)
            try:
                runtime.ledger.redeem(shop.id, member.id, Asset.POINTS, q.points, key=f"demo:{i}:redeem",
                                      source=Source.CART, reason=Reason("cart.redeemed", reward_params(program.reward("five-off"))),
                                      external_ref=f"order:{1000 + i * 10}")
            except InsufficientBalance:
                pass
        if i % 7 == 3:  # a refund of one line, taken back at the rate it was earned
            runtime.orders.on_refund(shop.id, f"{1000 + i * 10}", Refund(f"demo-r{i}", (RefundLine(f"{1000 + i * 10}-0", 1),)))
        if i % 5 == 1:  # a reward taken at the cart, its code used on the next order
            member, balance = runtime.members.by_customer(shop.id, customer)
            if balance.points >= 100:
                answer = runtime.cart.apply(shop.id, "EUR", customer, f"demo:{i}:cart", reward_id="five-off",
                                            cart=Cart("EUR", (CartLine("l", 1, Decimal("60.00")),)))
                order_id = f"{1000 + i * 10 + 9}"
                runtime.platform.apply(shop.id, OrderSeen(Order(order_id, "EUR", now - timedelta(days=i % 20),
                                                                basket(order_id), customer, shipping=Decimal("4.90")),
                                                          paid=True, codes=(answer["code"],)))
    # The printed member shops again this week: enough points for a reward at the cart
    for n, (title, price) in enumerate((("Rain jacket", "119.00"), ("Wool beanie", "32.50"))):
        order_id = f"{1900 + n}"
        runtime.platform.apply(shop.id, OrderSeen(Order(
            order_id, "EUR", now - timedelta(days=2 + n), (OrderLine(f"{order_id}-0", 1, Decimal(price), title=title),),
            DEMO_MEMBER, shipping=Decimal("4.90")), paid=True))
    for customer, name in DEMO_BOARD.items():
        runtime.leaderboards.opt_in(shop.id, customer, name)
    for g in range(14):  # guests: no account, some of them buying twice
        order_id = f"{5000 + g}"
        runtime.platform.apply(shop.id, OrderSeen(
            Order(order_id, "EUR", start + timedelta(days=(g * 4) % 58), basket(order_id), None, shipping=Decimal("4.90")),
            paid=True, facts={"email": f"guest{g % 9}@example.com"}))
    return shop.id, api_key


def public_url(host: str, port: int, environ: dict | None = None) -> str:
    """Where people reach the demo: APP_URL when it is set (a proxy, a tunnel), else the
    address it serves on (`--host`/`--port`; a wildcard host is reached on 127.0.0.1)."""
    import os

    env = os.environ if environ is None else environ
    if (env.get("APP_URL") or "").strip():
        return env["APP_URL"].strip().rstrip("/")
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def run_demo(host: str, port: int, *, serve: bool = True) -> None:
    from . import create_app
    from .settings import Settings

    settings = Settings.from_env()
    if settings.redis_url:
        click.echo("note: REDIS_URL is set; the demo still runs its jobs in-process")
    upgrade(settings.database_url)
    base = public_url(host, port)
    app = create_app({"jobs_mode": "thread", "app_url": base})  # e-mail links, admin link, callbacks
    shop_id, api_key = seed(app.extensions["loyalty"])
    widget_key = app.extensions["loyalty"].shops.get(shop_id).widget_key
    from .http.admin_pages import make_link_token

    with app.test_request_context():
        admin_link = f"{base}/admin/link/{make_link_token(shop_id)}"
    click.echo(f"""
Loyalty demo is ready (database: {settings.database_url})
  demo shop id       {shop_id}
  admin API key      {api_key}
  health             {base}/healthz
  API description    {base}/openapi.json
  admin              {admin_link}   (one-time link, 15 minutes; or sign in at {base}/admin with the key)
  storefront demo    {base}/demo/store?shop={widget_key}&as={DEMO_MEMBER}   (guest: drop &as=…; another language: add &lang=it, de, fr or es)
  a member           curl -H 'Authorization: Bearer {api_key}' {base}/admin/api/v1/members/by-customer/{DEMO_MEMBER}
  the admin API: /admin/api/v1 (see /openapi.json).
Ctrl-C stops it.
""")
    if not serve:
        return
    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")

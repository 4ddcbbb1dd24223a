"""The offline demo behind `make run`: SQLite, a seeded shop, in-process jobs."""
from __future__ import annotations

import random
from datetime import timedelta

import click

from .domain.errors import InsufficientBalance
from .domain.ledger import Asset, Source
from .storage.migrate import upgrade

DEMO_DOMAIN = "demo-store.loyalty.local"
FIRST_NAMES = ["ada", "ben", "chloe", "dev", "emma", "farid", "gia", "hugo", "ines", "jon",
               "kim", "leo", "maya", "nils", "olga", "pia", "quinn", "rosa", "sam", "tara"]


def seed(runtime) -> tuple[int, str]:
    """Idempotent: every posting has a fixed key and members are upserted."""
    shop, api_key = runtime.shops.register("demo", DEMO_DOMAIN, currency="EUR", name="Demo Store")
    rng = random.Random(42)
    for i, name in enumerate(FIRST_NAMES):
        member, _ = runtime.members.enrol(shop.id, f"demo-{1000 + i}", email=f"{name}@example.com")
        runtime.ledger.earn(shop.id, member.id, Asset.POINTS, 50, key=f"demo:{i}:welcome",
                            source=Source.ACTION, reason="welcome bonus")
        for n in range(rng.randint(1, 4)):
            total = rng.randint(20, 400)
            runtime.ledger.earn(shop.id, member.id, Asset.POINTS, total, key=f"demo:{i}:order:{n}",
                                source=Source.ORDER, reason=f"order #{1000 + i * 10 + n}: {total}.00 EUR",
                                external_ref=f"#{1000 + i * 10 + n}")
        if i % 4 == 0:
            try:
                runtime.ledger.redeem(shop.id, member.id, Asset.POINTS, 100, key=f"demo:{i}:redeem",
                                      source=Source.CART, reason="100 points for 5.00 EUR off")
            except InsufficientBalance:
                pass
        if i % 5 == 1:
            runtime.ledger.earn(shop.id, member.id, Asset.CREDIT, "4.95", key=f"demo:{i}:cashback",
                                source=Source.ORDER, reason="5% cashback",
                                pending_until=member.created_at + timedelta(days=14))
    return shop.id, api_key


def run_demo(host: str, port: int, *, serve: bool = True) -> None:
    from . import create_app
    from .settings import Settings

    settings = Settings.from_env()
    if settings.redis_url:
        click.echo("note: REDIS_URL is set; the demo still runs its jobs in-process")
    upgrade(settings.database_url)
    app = create_app({"jobs_mode": "thread"})
    shop_id, api_key = seed(app.extensions["loyalty"])
    base = f"http://{host}:{port}"
    click.echo(f"""
Loyalty demo is ready (database: {settings.database_url})
  demo shop id       {shop_id}
  admin API key      {api_key}
  health             {base}/healthz
  API description    {base}/openapi.json
  a member           curl -H 'Authorization: Bearer {api_key}' {base}/admin/api/v1/members/by-customer/demo-1000
  admin pages and the storefront widget demo arrive with their issues; the API above is live.
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

"""Issue 16: a manual adjustment moves the tier at once, through every entry point. With tiers
on points earned (Silver at 500), +600 by hand makes the member Silver and writes the
`tier_changed` event in the same transaction, with no periodic job run: the rule is a handler
of every posting (services.handlers), so no entry point can forget it.

The entry points: the ledger service itself, the admin JSON API, and the embedded admin page's
form. The CLI has no adjustment command (the last case says so, and fails once it has one)."""
import re

import pytest
from sqlalchemy import select

from plugin_app.storage import tables as t

from . import factories as F

SILVER_AT_500 = F.tiers(("Bronze", 0), ("Silver", 500), ("Gold", 1500), basis="points_earned")


def by_service(client, rt, shop, key, member):
    rt.ledger.adjust(shop.id, member.id, "points", 600, key="service-1", actor="support", reason="goodwill")


def by_admin_api(client, rt, shop, key, member):
    answer = client.post(f"/admin/api/v1/members/{member.id}/adjustments", headers={"Authorization": f"Bearer {key}"},
                         json={"amount": 600, "reason": "goodwill", "idempotency_key": "api-1"})
    assert answer.status_code == 201, answer.get_json()


def by_admin_page(client, rt, shop, key, member):
    client.post("/admin/login", data={"key": key})
    page = client.get(f"/admin/members/{member.id}").data.decode()
    form = re.search(r'<form method="post"><input type="hidden" name="csrf" value="([^"]+)">'
                     r'<input type="hidden" name="nonce" value="([^"]+)">', page)
    assert form, "the member page's adjustment form"
    csrf, nonce = form.groups()
    answer = client.post(f"/admin/members/{member.id}",
                         data={"csrf": csrf, "nonce": nonce, "amount": "600", "reason": "goodwill"})
    assert answer.status_code == 200 and 'role="status"' in answer.data.decode()


def by_cli(client, rt, shop, key, member):
    from plugin_app.cli import main

    names = set(main.commands) | {f"{g}.{c}" for g, grp in main.commands.items() for c in getattr(grp, "commands", {})}
    if any("adjust" in name for name in names):
        pytest.fail("the CLI can adjust a balance now: post +600 through it here")
    pytest.skip("the CLI has no adjustment command")


@pytest.mark.parametrize("adjust", [by_service, by_admin_api, by_admin_page, by_cli],
                         ids=["ledger-service", "admin-api", "admin-page", "cli"])
def test_a_manual_adjustment_moves_the_tier_at_once(tx_app, adjust):
    rt = tx_app.extensions["loyalty"]
    shop, key = F.shop_and_key(rt, tiers=SILVER_AT_500)
    member = F.member(rt, shop)
    assert member.tier is None

    adjust(tx_app.test_client(), rt, shop, key, member)

    now, balance = rt.members.get(shop.id, member.id)
    assert (now.tier, balance.points) == ("Silver", 600)
    with rt.db.uow(shop.id) as uow:
        (entry,) = uow.ledger.entries(member.id)
        changes = uow.conn.execute(select(t.events.c.payload).where(
            t.events.c.shop_id == shop.id, t.events.c.member_id == member.id,
            t.events.c.type == "tier_changed")).scalars().all()
    assert entry.kind == "adjust" and entry.reason == "goodwill"
    assert [(c["from"], c["to"], c["direction"], c["cause"]) for c in changes] == [(None, "Silver", "up", "goodwill")]

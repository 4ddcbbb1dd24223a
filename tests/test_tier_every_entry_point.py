"""Issue 16: a manual adjustment moves the tier at once, through every entry point. With tiers
on points earned (Silver at 500), +600 by hand makes the member Silver and writes the
`tier_changed` event in the same transaction, with no periodic job run: the rule is a handler
of every posting (services.handlers), so no entry point can forget it.

The entry points: the ledger service itself, the admin JSON API, and the embedded admin page's
form (the CLI has no adjustment command)."""
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
                     r'<input type="hidden" name="form" value="points"><input type="hidden" name="nonce" value="([^"]+)">', page)
    assert form, "the member page's points adjustment form"
    csrf, nonce = form.groups()
    answer = client.post(f"/admin/members/{member.id}",
                         data={"csrf": csrf, "form": "points", "nonce": nonce, "amount": "600", "reason": "goodwill"})
    assert answer.status_code == 200 and 'role="status"' in answer.data.decode()


def by_adjustments(client, rt, shop, key, member):
    rt.adjustments.adjust(shop.id, member.id, "points", 600, key="goodwill-use-case", actor="support",
                          reason="goodwill")


@pytest.mark.parametrize("adjust", [by_service, by_adjustments, by_admin_api, by_admin_page],
                         ids=["ledger-service", "adjustments-use-case", "admin-api", "admin-page"])
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


def test_every_credit_lapses_under_the_one_expiry_rule(tx_app):
    """domain.expiry: with expiry by age, a person's adjustment and the tier's entry reward it
    triggers carry the same lapse date as an order's points (12 months after posting); a
    retried adjustment (same key, a moment later) replays instead of differing by its date."""
    from datetime import timedelta

    from plugin_app.domain.tiers import add_months

    rt = tx_app.extensions["loyalty"]
    shop, key = F.shop_and_key(rt, expiry=F.expiry("age", months=12),
                               tiers=F.tiers(("Bronze", 0), ("Silver", 500), basis="points_earned",
                                             entry_rewards={"Silver": 50}))
    member = F.member(rt, shop)
    client = tx_app.test_client()
    body = {"amount": 600, "reason": "goodwill", "idempotency_key": "lapse-1"}
    first = client.post(f"/admin/api/v1/members/{member.id}/adjustments", json=body,
                        headers={"Authorization": f"Bearer {key}"})
    again = client.post(f"/admin/api/v1/members/{member.id}/adjustments", json=body,
                        headers={"Authorization": f"Bearer {key}"})
    assert first.status_code == 201 and again.status_code == 200 and again.get_json()["replayed"]
    with rt.db.uow(shop.id) as uow:
        lots = uow.conn.execute(select(t.lots.c.amount, t.lots.c.expires_at, t.lots.c.created_at).where(
            t.lots.c.shop_id == shop.id, t.lots.c.member_id == member.id).order_by(t.lots.c.id)).all()
    assert [int(lot.amount) for lot in lots] == [600, 50]  # the adjustment, then Silver's entry reward
    # (dated at the moment of posting: the use case's clock reading, within a moment of the lot's)
    assert all(abs(lot.expires_at - add_months(lot.created_at, 12)) < timedelta(seconds=5) for lot in lots)

"""Every sample file (tests/fixtures/imports: each vendor's documented columns, with their
quirks) imports on PostgreSQL with the dry run equal to the applied result; `loyalty audit`
stays clean throughout; a revert returns every balance, tier, birthday and code to its prior
value; and the same file again changes nothing."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import text

from plugin_app.domain.imports import read
from plugin_app.domain.ledger import Asset, Source
from plugin_app.services.audit import run_audit
from plugin_app.services.imports import Summary

from . import factories as f

SAMPLES = sorted((Path(__file__).parent / "fixtures" / "imports").glob("*.csv"))
TIERS = f.tiers(("Bronze", 0), ("Silver", 500), ("Gold", 1500), ("VIP", 3000), downgrade="never")


def books(rt, shop) -> dict:
    with rt.db.transaction() as conn:
        rows = conn.execute(text(
            "select m.platform_customer_id, b.points, b.credit, m.tier, m.birthday, rc.code from members m "
            "join balances b on b.member_id = m.id left join referral_codes rc on rc.member_id = m.id "
            "where m.shop_id = :s"), {"s": shop.id}).all()
    return {r[0]: (int(r[1]), str(r[2]), r[3], r[4], r[5]) for r in rows}


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample_imports_exactly_and_reverts(tx_runtime, path):
    rt = tx_runtime
    shop = f.shop(rt, tiers=TIERS)
    data = path.read_bytes()
    fmt, rows = read(io.StringIO(data.decode("utf-8-sig", errors="replace")))
    assert fmt.name == path.stem  # detected from its columns alone
    # The customers an e-mail-only file names are members already (with points of their own)
    emails = sorted({r.email for r in rows if r.email and not r.customer_id})
    for i, email in enumerate(emails[:-1]):  # the last one stays unknown: a row that resolves to no one
        m = f.member(rt, shop, f"pre-{i}", email=email.upper())
        rt.ledger.earn(shop.id, m.id, Asset.POINTS, 70 + i, key=f"pre-{i}", source=Source.ORDER, reason="order")
    before = books(rt, shop)

    view = rt.imports.upload(shop.id, path.name, io.BytesIO(data))
    view = rt.imports.view(shop.id, view["id"])
    assert view["state"] == "analyzed", view["error"]
    plan = view["plan"]
    assert books(rt, shop) == before
    assert plan["rows"] == sum(1 for _ in read(io.StringIO(data.decode("utf-8-sig", errors="replace")))[1])

    rt.imports.apply(shop.id, view["id"])
    applied = rt.imports.view(shop.id, view["id"])
    assert applied["state"] == "applied", applied["error"]
    assert Summary.comparable(applied["report"]) == Summary.comparable(plan)
    assert run_audit(rt.db, shop.id).ok
    after = books(rt, shop)
    credited = plan["points"]["credited"] - plan["points"]["debited"]
    assert sum(v[0] for v in after.values()) - sum(v[0] for v in before.values()) == credited

    again = rt.imports.upload(shop.id, path.name, io.BytesIO(data))
    again = rt.imports.view(shop.id, again["id"])
    assert again["plan"]["postings"] == 0 and again["plan"]["members"]["create"] == 0, again["plan"]

    rt.imports.revert(shop.id, view["id"])
    assert rt.imports.view(shop.id, view["id"])["state"] == "reverted"
    restored = books(rt, shop)
    assert {k: v for k, v in restored.items() if k in before} == before
    assert all(v == (0, "0.0000", None, None, None) for k, v in restored.items() if k not in before), \
        {k: v for k, v in restored.items() if k not in before}
    assert run_audit(rt.db, shop.id).ok

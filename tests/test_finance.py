"""Finance (issue 21) on PostgreSQL: liability at random past instants equals what members held
then (the balance rows, read live at that instant); ageing at a past instant equals the ageing read
live then, and sums to the liability; the journal balances to the ledger for every period; shop
days in the shop's time zone; shops never see each other; the CSV is formula safe."""
from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from plugin_app.domain.errors import DomainError
from plugin_app.domain.finance import day_end, day_start

from . import factories as F


def held_now(rt, shop_id):
    """What the shop's members hold now, from the balance rows (not from entries)."""
    with rt.db.transaction() as conn:
        row = conn.execute(text(
            "select coalesce(sum(points + points_pending + points_held), 0), "
            "coalesce(sum(credit + credit_pending + credit_held), 0) from balances where shop_id = :s"),
            {"s": shop_id}).one()
    return int(row[0]), Decimal(str(row[1])).quantize(Decimal("0.0001"))  # SQLite sums decimal text as a float


def lots_now(rt, shop_id):
    with rt.db.transaction() as conn:
        return {a: Decimal(v) for a, v in conn.execute(text(
            "select asset, coalesce(sum(remaining), 0) from lots where shop_id = :s group by asset"),
            {"s": shop_id}).all()}


def simulate(rt, shop, clock, rng, steps, snapshot_every=7):
    """Random earnings (some pending, all expiring), redemptions, holds committed or released,
    refunds that reverse earnings (debts), reversed redemptions, adjustments, vesting and expiry.
    Returns the snapshots taken live: (instant, points held, credit held, ageing)."""
    members = [F.member(rt, shop, f"m{i}").id for i in range(4)]
    earns, redeems, holds, snaps = [], [], [], []
    for step in range(steps):
        clock.advance(hours=rng.randint(1, 60), seconds=rng.randint(0, 59))
        m, now, op = rng.choice(members), clock.now(), rng.random()
        key = f"k{step}"
        try:
            if op < 0.3:
                pending = rng.random() < 0.25
                p = rt.ledger.earn(shop.id, m, "points", rng.randint(5, 200), key=key, source="order", reason="x",
                                   expires_at=now + timedelta(days=rng.randint(3, 40)),
                                   pending_until=now + timedelta(days=rng.randint(1, 5)) if pending else None)
                earns.append(p.entry_id)
            elif op < 0.38:
                p = rt.ledger.earn(shop.id, m, "credit", f"{rng.randint(1, 30)}.{rng.randint(0, 99):02d}", key=key,
                                   source="referral", reason="x", expires_at=now + timedelta(days=rng.randint(3, 40)))
                earns.append(p.entry_id)
            elif op < 0.55:
                p = rt.ledger.redeem(shop.id, m, "points", rng.randint(1, 120), key=key, source="cart", reason="x")
                redeems.append(p.entry_id)
            elif op < 0.62:
                p = rt.ledger.reserve(shop.id, m, "points", rng.randint(1, 80), key=key, source="cart", reason="x")
                holds.append(p.hold_id)
            elif op < 0.68 and holds:
                hold = holds.pop(rng.randrange(len(holds)))
                if rng.random() < 0.5:
                    rt.ledger.commit(shop.id, hold, None, key=key, source="order", reason="x")
                else:
                    rt.ledger.release(shop.id, hold, key=key, source="cart", reason="x")
            elif op < 0.76 and earns:
                rt.ledger.reverse(shop.id, rng.choice(earns), None if rng.random() < 0.5 else 1, key=key,
                                  source="refund", reason="x")
            elif op < 0.80 and redeems:
                rt.ledger.reverse(shop.id, rng.choice(redeems), None, key=key, source="refund", reason="x")
            elif op < 0.86:
                rt.ledger.adjust(shop.id, m, "points", rng.choice([-1, 1]) * rng.randint(1, 50), key=key,
                                 actor="t", reason="x")
            else:
                rt.ledger.vest_due()
                rt.ledger.expire_due()
        except DomainError:
            pass  # not enough balance, nothing left to reverse: refused, nothing changed
        if step % snapshot_every == 0:
            points, credit = held_now(rt, shop.id)
            snaps.append((clock.now(), points, credit, rt.finance.ageing(shop.id, "EUR", clock.now())))
    return snaps


def test_liability_and_ageing_at_past_instants_equal_what_was_held_then(runtime, clock):
    rt = runtime
    for seed in (1, 2):
        rng = random.Random(seed)
        shop = F.shop(rt, currency="EUR")
        snaps = simulate(rt, shop, clock, rng, 160)
        kinds = {k for (k,) in rt.db.engine.connect().execute(text(
            "select distinct kind from ledger_entries where shop_id = :s"), {"s": shop.id})}
        assert {"earn", "redeem", "expire", "reverse", "vest", "commit", "adjust"} <= kinds, kinds
        for at, points, credit, live in snaps:
            got = rt.finance.liability(shop.id, "EUR", at)
            assert got["points"]["total"] == points and Decimal(got["credit"]["total"]) == credit, at
            assert got["amount"] == str((Decimal(points) * Decimal("0.05") + credit).quantize(Decimal("0.01")))
            later = rt.finance.ageing(shop.id, "EUR", at)
            for asset in ("points", "credit"):
                assert later[asset] == live[asset], (at, asset)
                assert later[asset]["balanced"] is True
                assert Decimal(str(later[asset]["total"])) == Decimal(str(got[asset]["total"]))
        # ageing now: the lots hold what the lot rows hold
        now = rt.finance.ageing(shop.id, "EUR", clock.now())
        held = lots_now(rt, shop.id)
        assert Decimal(now["points"]["in_lots"]) == held.get("points", 0)
        assert Decimal(now["credit"]["in_lots"]) == held.get("credit", 0)


def test_journal_balances_to_the_ledger_for_every_period(runtime, clock):
    rt = runtime
    rng = random.Random(7)
    shop = F.shop(rt, currency="EUR", timezone="Europe/Rome")
    start = clock.now()
    simulate(rt, shop, clock, rng, 120)
    first = start.date() - timedelta(days=2)
    last = clock.now().date()
    day = first
    periods = []
    while day <= last:
        periods.append((day, min(day + timedelta(days=rng.randint(0, 20)), last)))
        day = periods[-1][1] + timedelta(days=1)
    periods.append((first, last))
    moved_any = set()
    for a, b in periods:
        j = rt.finance.journal(shop.id, "EUR", "Europe/Rome", a.isoformat(), b.isoformat())
        for asset in ("points", "credit"):
            assert j["check"][asset]["balanced"] is True, (a, b, asset, j["check"])
            # independently: the movements equal the entries' sums between the period's instants
            with rt.db.transaction() as conn:
                want = conn.execute(text(
                    "select coalesce(sum(points + points_pending + points_held + credit + credit_pending + credit_held),"
                    " 0) from ledger_entries where shop_id = :s and asset = :a and created_at >= :f and created_at <= :t"),
                    {"s": shop.id, "a": asset, "f": day_start(a, "Europe/Rome"), "t": day_end(b, "Europe/Rome")}
                ).scalar()
            signed = sum((Decimal(str(line["quantity"])) * (1 if line["direction"] == "+" else -1)
                          for line in j["lines"] if line["asset"] == asset), Decimal(0))
            assert signed == Decimal(want), (a, b, asset)
        for line in j["lines"]:
            assert line["debit_account"] != line["credit_account"]
            moved_any.add(line["movement"])
    assert {"issued", "redeemed", "expired", "reversed", "adjusted"} <= moved_any


def test_time_zone_day_boundaries(runtime, clock):
    rt = runtime
    shop = F.shop(rt, currency="EUR", timezone="America/New_York")
    m = F.member(rt, shop, "tz").id
    # 2026-03-01 12:00 UTC; New York is UTC-5: its day 2026-03-01 ends at 2026-03-02 05:00 UTC
    clock.advance(hours=16, minutes=30)  # 2026-03-02 04:30 UTC = 2026-03-01 23:30 in New York
    rt.ledger.earn(shop.id, m, "points", 100, key="late", source="order", reason="x")
    clock.advance(hours=1)  # 05:30 UTC = 2026-03-02 00:30 in New York
    rt.ledger.earn(shop.id, m, "points", 40, key="next", source="order", reason="x")
    fin = rt.finance
    assert fin.liability(shop.id, "EUR", fin.parse_at("2026-03-01", shop.timezone))["points"]["total"] == 100
    assert fin.liability(shop.id, "EUR", fin.parse_at("2026-03-02", shop.timezone))["points"]["total"] == 140
    assert fin.liability(shop.id, "EUR", fin.parse_at("2026-03-02T05:00:00Z", shop.timezone))["points"]["total"] == 100
    day1 = fin.journal(shop.id, "EUR", shop.timezone, "2026-03-01", "2026-03-01")
    day2 = fin.journal(shop.id, "EUR", shop.timezone, "2026-03-02", "2026-03-02")
    assert [(x["movement"], x["quantity"]) for x in day1["lines"]] == [("issued", 100)]
    assert [(x["movement"], x["quantity"]) for x in day2["lines"]] == [("issued", 40)]
    assert day2["check"]["points"] == {"opening": 100, "movements": 40, "closing": 140, "balanced": True}


def test_breakage_says_when_history_is_too_short_then_measures_it(runtime, clock):
    rt = runtime
    shop = F.shop(rt, currency="EUR")
    ms = [F.member(rt, shop, f"b{i}").id for i in range(40)]
    for i, m in enumerate(ms):
        rt.ledger.earn(shop.id, m, "points", 100, key=f"e{i}", source="order", reason="x",
                       expires_at=clock.now() + timedelta(days=10))
    first = rt.finance.breakage(shop.id, "EUR")
    assert first["points"]["rate"] is None and "too little history" in first["points"]["note"]
    for i, m in enumerate(ms[:30]):  # 30 members spend 75 of their 100; the rest lapses
        rt.ledger.redeem(shop.id, m, "points", 75, key=f"r{i}", source="cart", reason="x")
    clock.advance(days=11)
    rt.ledger.expire_due()
    for i, m in enumerate(ms):  # fresh lots that can still expire
        rt.ledger.earn(shop.id, m, "points", 10, key=f"n{i}", source="order", reason="x",
                       expires_at=clock.now() + timedelta(days=10))
    b = rt.finance.breakage(shop.id, "EUR")
    # 40 lots of 100: 30 x 75 used, 30 x 25 + 10 x 100 expired
    expired, used = 30 * 25 + 10 * 100, 30 * 75
    assert b["points"]["closed_lots"] == 40 and b["points"]["expired"] == expired and b["points"]["used"] == used
    rate = (Decimal(expired) / (expired + used)).quantize(Decimal("0.0001"))
    assert b["points"]["rate"] == str(rate) and b["points"]["expected"] == int((400 * rate).quantize(Decimal(1)))
    assert b["credit"]["rate"] is None


def test_forecast_of_expiring_value(runtime, clock):
    rt = runtime
    shop = F.shop(rt, currency="EUR")
    m = F.member(rt, shop, "f").id
    for n, days in enumerate((5, 45, 75, 200)):
        rt.ledger.earn(shop.id, m, "points", 100 * (n + 1), key=f"f{n}", source="order", reason="x",
                       expires_at=clock.now() + timedelta(days=days))
    rt.ledger.earn(shop.id, m, "credit", "7.50", key="c", source="referral", reason="x",
                   expires_at=clock.now() + timedelta(days=20))
    rt.ledger.redeem(shop.id, m, "points", 30, key="r", source="cart", reason="x")  # FIFO: from the first lot
    f = rt.finance.forecast(shop.id, "EUR", "UTC")
    assert [(h["days"], h["points"], h["credit"]) for h in f["horizons"]] == [
        (30, 70, "7.50"), (60, 270, "7.50"), (90, 570, "7.50")]
    assert f["horizons"][0]["amount"] == "11.00"  # 70 x 0.05 + 7.50


def test_api_shop_isolation_errors_and_csv_formula_safety(client):
    rt = client.application.extensions["loyalty"]
    shop, key = F.shop_and_key(rt, domain="fin-a.example", timezone="Europe/Berlin")
    other, other_key = F.shop_and_key(rt, domain="fin-b.example")
    m = F.member(rt, shop, "a1").id
    rt.ledger.earn(shop.id, m, "points", 120, key="e1", source="order", reason="x")
    rt.ledger.adjust(shop.id, m, "points", -20, key="a1", actor="t", reason="=HYPERLINK(\"x\")")
    h, ho = {"Authorization": f"Bearer {key}"}, {"Authorization": f"Bearer {other_key}"}
    mine = client.get("/admin/api/v1/finance/liability", headers=h).get_json()
    theirs = client.get("/admin/api/v1/finance/liability", headers=ho).get_json()
    assert mine["points"]["total"] == 100 and mine["amount"] == "5.00" and "five-off" in mine["point_value_basis"]
    assert theirs["points"]["total"] == 0 and theirs["amount"] == "0.00"
    for path in ("ageing", "breakage", "expiring", "journal"):
        r = client.get(f"/admin/api/v1/finance/{path}", headers=ho)
        assert r.status_code == 200, path
        assert "100" not in str(r.get_json().get("lines", "")), path
    assert client.get("/admin/api/v1/finance/journal", headers=ho).get_json()["lines"] == []
    for bad in ("at=garbage", "at=2026-13-01", "at=2026-03-01T10:00:00", "at=1900-01-01", "nope=1", "at=" + "9" * 50):
        r = client.get(f"/admin/api/v1/finance/liability?{bad}", headers=h)
        assert r.status_code == 422 and r.is_json, bad
    for bad in ("from=2026-02-01&to=2026-01-01", "from=x", "to=2026-02-30", "from=1990-01-01&to=2026-01-01"):
        r = client.get(f"/admin/api/v1/finance/journal.csv?{bad}", headers=h)
        assert r.status_code == 422 and r.is_json, bad
    assert client.get("/admin/api/v1/finance/liability").status_code == 401
    r = client.get("/admin/api/v1/finance/journal.csv", headers=h)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.data.decode())))
    assert rows[0][:4] == ["from", "to", "asset", "unit"]
    lines = {row[4]: row for row in rows[1:]}
    assert lines["issued"][5:8] == ["Loyalty expense", "Loyalty liability", "120"]
    assert lines["adjusted"][5:9] == ["Loyalty liability", "Loyalty expense", "20", "1.00"]
    for row in rows:
        for cell in row:
            assert cell[:1] not in ("=", "+", "-", "@"), cell


@pytest.mark.parametrize("asset", ["points"])
def test_safe_cell_guards_a_formula_in_the_journal(asset):
    from plugin_app.services.finance import Finance

    body = Finance.journal_csv({"lines": [{"from": "2026-01-01", "to": "2026-01-31", "asset": asset,
                                           "unit": "=cmd|' /C calc'!A0", "movement": "issued",
                                           "debit_account": "@SUM(1)", "credit_account": "+1", "quantity": 1,
                                           "amount": "-0.05", "currency": "EUR", "entries": 1}]})
    row = list(csv.reader(io.StringIO(body)))[1]
    assert row[3].startswith("'=") and row[5].startswith("'@") and row[6].startswith("'+")


def test_ageing_before_a_vesting_that_paid_a_debt(runtime, clock):
    """A pending lot vesting into a debt keeps nothing; at an instant before the vesting it still
    held its value, and the debt was there too: ageing then still sums to the liability then."""
    rt = runtime
    shop = F.shop(rt, currency="EUR")
    m = F.member(rt, shop, "d").id
    first = rt.ledger.earn(shop.id, m, "points", 100, key="e1", source="order", reason="x")
    rt.ledger.redeem(shop.id, m, "points", 100, key="r1", source="cart", reason="x")
    clock.advance(hours=1)
    rt.ledger.earn(shop.id, m, "points", 50, key="e2", source="order", reason="x",
                   pending_until=clock.now() + timedelta(days=2))
    rt.ledger.reverse(shop.id, first.entry_id, None, key="rv", source="refund", reason="x")  # debt of 100
    clock.advance(hours=1)
    before = clock.now()
    live = rt.finance.ageing(shop.id, "EUR", before)
    assert (live["points"]["of_which_pending"], live["points"]["debts"], live["points"]["total"]) == (50, -100, -50)
    clock.advance(days=3)
    assert rt.ledger.vest_due() == 1
    assert rt.finance.ageing(shop.id, "EUR", clock.now())["points"]["in_lots"] == 0  # the debt took it
    assert rt.finance.ageing(shop.id, "EUR", before)["points"] == live["points"]
    assert rt.finance.liability(shop.id, "EUR", before)["points"]["total"] == -50


def test_finance_page_shows_the_figures_in_the_admin_language(client):
    rt = client.application.extensions["loyalty"]
    shop, key = F.shop_and_key(rt, domain="fin-page.example", timezone="Europe/Rome")
    m = F.member(rt, shop, "p1").id
    rt.ledger.earn(shop.id, m, "points", 1234, key="e1", source="order", reason="x",
                   expires_at=rt.clock.now() + timedelta(days=20))
    assert client.post("/admin/login", data={"key": key}).status_code == 302
    page = client.get("/admin/finance?lang=de")
    html = page.data.decode()
    assert page.status_code == 200 and "Finanzen" in html and "1.234" in html and "61,70" in html  # 1234 x 0.05
    for marker in ("data-ageing", "data-forecast", "data-breakage", "data-journal", 'data-csv="journal"'):
        assert marker in html, marker
    assert "/admin/api/v1/finance/journal.csv?from=" in html
    bad = client.get("/admin/finance?at=nope&from=2026-02-01&to=2026-01-01&lang=en")
    assert bad.status_code == 200 and "The day is not a valid date." in bad.data.decode()
    assert "The period is not valid" in bad.data.decode()
    assert client.get("/admin/api/v1/finance/journal.csv").status_code == 200  # the page's download, signed in


def test_the_same_figures_on_embedded_sqlite(tmp_path, clock):
    """Embedded SQLite keeps exact decimals as text: the figures must still hold there."""
    from plugin_app.runtime import Runtime
    from plugin_app.storage.migrate import upgrade

    from .conftest import make_settings

    url = f"sqlite:///{tmp_path / 'finance.db'}"
    upgrade(url)
    rt = Runtime(make_settings(url), clock=clock)
    try:
        shop = F.shop(rt, currency="EUR", timezone="Europe/Rome")
        start = clock.now()
        snaps = simulate(rt, shop, clock, random.Random(3), 90)
        for at, points, credit, live in snaps:
            got = rt.finance.liability(shop.id, "EUR", at)
            assert got["points"]["total"] == points and Decimal(got["credit"]["total"]) == credit
            later = rt.finance.ageing(shop.id, "EUR", at)
            assert later["points"] == live["points"] and later["credit"] == live["credit"]
            assert later["points"]["balanced"] and later["credit"]["balanced"]
        j = rt.finance.journal(shop.id, "EUR", "Europe/Rome", start.date().isoformat(), clock.now().date().isoformat())
        assert j["check"]["points"]["balanced"] and j["check"]["credit"]["balanced"] and j["lines"]
    finally:
        rt.close()

"""A time-zone change rebuilds the shop's analytics rollups on the new zone's days: after the
job, the rollups equal a from-scratch count on the new days (PostgreSQL and SQLite); entries and
orders arriving while it runs are counted once; a restored version with another zone rebuilds
too; meanwhile the dashboard says the figures are being recomputed."""
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from plugin_app.services.analytics import ACTIVE_KINDS, METRICS, fold
from plugin_app.services.program import dump
from plugin_app.storage import tables as t

from . import factories as F

ROME, NEW_YORK = "Europe/Rome", "America/New_York"


def _set_zone(rt, shop, zone):
    return rt.programs.put(shop.id, {**dump(rt.programs.current(shop.id).program), "timezone": zone}, author="t")


def _at(clock, when: datetime) -> None:
    clock.advance(seconds=(when - clock.now()).total_seconds())


def _history(rt, shop, clock, n0: int = 0):
    """Entries and orders on both sides of midnight in Rome (22:30-01:30 local), over two days."""
    members = [F.member(rt, shop, f"c{n0 + i}") for i in range(3)]
    start = datetime(2026, 3, 2, 21, 30, tzinfo=timezone.utc)  # 22:30 in Rome, 16:30 in New York
    for i in range(8):
        when = start + timedelta(minutes=40 * i + (24 * 60 if i >= 4 else 0))
        _at(clock, when)
        m = members[i % 3]
        rt.ledger.earn(shop.id, m.id, "points", 10 + i, key=f"e{n0}-{i}", source="admin", reason="t")
        rt.orders.on_paid(shop.id, F.order(F.line(f"{20 + i}.00", line_id="a"), order_id=f"o{n0}-{i}",
                                           customer=None if i % 4 == 3 else f"c{n0 + i % 3}", placed_at=when))
    return members


def _stored(rt, shop_id):
    d, a, o = t.stats_daily.c, t.stats_active.c, t.stats_orders.c
    with rt.db.transaction() as conn:
        daily = {r.day: {k: Decimal(getattr(r, k)) for k in METRICS}
                 for r in conn.execute(select(t.stats_daily).where(d.shop_id == shop_id))}
        active = set(conn.execute(select(a.day, a.member_id).where(a.shop_id == shop_id)).all())
        orders = {(r.day, r.segment): (r.orders, Decimal(r.revenue), r.returning_orders, r.new_customers,
                                       r.redemption_orders, Decimal(r.redemption_revenue))
                  for r in conn.execute(select(t.stats_orders).where(o.shop_id == shop_id)) if r.orders}
    return daily, active, orders


def _from_scratch(rt, shop_id, zone):
    """The rollups counted directly from the ledger and the orders, on `zone`'s days."""
    tz = ZoneInfo(zone)
    e, o = t.ledger_entries.c, t.orders.c
    daily: dict = defaultdict(lambda: dict.fromkeys(METRICS, Decimal(0)))
    active, orders = set(), defaultdict(lambda: [0, Decimal(0), 0, 0, 0, Decimal(0)])
    with rt.db.transaction() as conn:
        for row in conn.execute(select(t.ledger_entries).where(e.shop_id == shop_id)):
            day = row.created_at.astimezone(tz).date()
            for k, v in fold(row).items():
                daily[day][k] += Decimal(v)
            if row.kind in ACTIVE_KINDS:
                active.add((day, row.member_id))
        for row in conn.execute(select(t.orders).where(o.shop_id == shop_id, o.counted.is_(True))):
            x = orders[((row.placed_at or row.created_at).astimezone(tz).date(),
                        "member" if (row.customer_key or "").startswith("c:") else "guest")]
            total = Decimal(row.total)
            x[0] += 1
            x[1] += total
            x[2] += bool(row.returning_customer)
            x[3] += not row.returning_customer
            x[4] += bool(row.redeemed)
            x[5] += total if row.redeemed else 0
    return dict(daily), active, {k: tuple(v) for k, v in orders.items()}


def _days_of(rt, shop_id, zone):
    daily, active, orders = _from_scratch(rt, shop_id, zone)
    return sorted(daily), sorted({d for d, _ in orders})


def test_a_time_zone_change_rebuilds_the_rollups_on_the_new_days(runtime, clock):
    rt = runtime
    shop, _ = rt.shops.register("demo", "rome.example", currency="EUR", timezone=ROME)
    F.use_program(rt, shop, timezone=ROME)
    _history(rt, shop, clock)
    rt.analytics.refresh()
    assert _stored(rt, shop.id) == _from_scratch(rt, shop.id, ROME)
    assert _days_of(rt, shop.id, ROME) != _days_of(rt, shop.id, NEW_YORK)  # the change moves entries between days

    _set_zone(rt, shop, NEW_YORK)  # eager jobs: the rebuild has run
    rt.analytics.refresh()
    assert _stored(rt, shop.id) == _from_scratch(rt, shop.id, NEW_YORK)
    board = rt.analytics.dashboard(shop.id, "EUR", datetime(2026, 3, 1).date(), datetime(2026, 3, 5).date())
    assert board["recomputing"] is False and board["period"]["timezone"] == NEW_YORK
    assert sum(d["entries"] for d in board["daily"]) == 8 + 6  # the earnings, and the points of members' orders
    assert [d["day"] for d in board["daily_orders"]] == ["2026-03-02", "2026-03-03"]  # 16:30-20:10 New York

    # a new entry after the rebuild lands on its New York day, through the ordinary fold
    _at(clock, datetime(2026, 3, 5, 3, 30, tzinfo=timezone.utc))  # 22:30 on 4 March in New York
    member = rt.members.by_customer(shop.id, "c0")[0]
    rt.ledger.earn(shop.id, member.id, "points", 5, key="late", source="admin", reason="t")
    rt.orders.on_paid(shop.id, F.order(F.line("9.00", line_id="a"), order_id="late", customer="c0",
                                       placed_at=clock.now()))
    rt.analytics.refresh()
    assert _stored(rt, shop.id) == _from_scratch(rt, shop.id, NEW_YORK)


def test_entries_arriving_during_the_rebuild_are_counted_once(runtime, clock):
    rt = runtime
    shop, _ = rt.shops.register("demo", "rome2.example", currency="EUR", timezone=ROME)
    F.use_program(rt, shop, timezone=ROME)
    other, _ = rt.shops.register("demo", "other.example", currency="EUR", timezone="Asia/Tokyo")
    _history(rt, shop, clock)
    _history(rt, other, clock, n0=100)
    rt.analytics.refresh()
    theirs = _stored(rt, other.id)
    queued = []
    rt.analytics.enqueue = lambda task, *args, **kw: queued.append((task, args))  # the job waits: run it by hand
    _set_zone(rt, shop, NEW_YORK)
    assert queued == [("rebuild_analytics", (shop.id,))]
    board = rt.analytics.dashboard(shop.id, "EUR", datetime(2026, 3, 1).date(), datetime(2026, 3, 5).date())
    assert board["recomputing"] is True and board["daily"] == [] and board["daily_orders"] == []

    member = rt.members.by_customer(shop.id, "c1")[0]
    n = 0

    def arrive():  # an entry and an order while the rebuild runs (some folded, some not yet)
        nonlocal n
        n += 1
        clock.advance(minutes=17)
        rt.ledger.earn(shop.id, member.id, "points", 3, key=f"during{n}", source="admin", reason="t")
        rt.orders.on_paid(shop.id, F.order(F.line("7.00", line_id="a"), order_id=f"during{n}", customer="c1",
                                           placed_at=clock.now()))

    arrive()  # before the job starts: the first step splits the ledger after it
    steps = 0
    while rt.analytics.rebuild_step(shop.id, batch=3):
        steps += 1
        arrive()
        if steps % 2:
            rt.analytics.refresh()  # the fold runs between the rebuild's steps
        if steps == 2:
            _set_zone(rt, shop, NEW_YORK)  # saving the same zone again starts nothing
            assert rt.analytics.recomputing(shop.id)
    assert steps >= 4
    assert not rt.analytics.recomputing(shop.id)
    rt.analytics.refresh()
    stored = _stored(rt, shop.id)
    assert stored == _from_scratch(rt, shop.id, NEW_YORK)
    with rt.db.transaction() as conn:
        count = conn.execute(select(t.ledger_entries.c.id).where(t.ledger_entries.c.shop_id == shop.id)).all()
    assert sum(x["entries"] for x in stored[0].values()) == len(count)  # each entry once
    assert _stored(rt, other.id) == theirs  # another shop's rollups untouched
    assert rt.analytics.dashboard(shop.id, "EUR", datetime(2026, 3, 1).date(),
                                  datetime(2026, 3, 5).date())["recomputing"] is False


def test_a_change_during_a_rebuild_starts_it_over_and_resume_takes_up_a_lost_job(runtime, clock):
    rt = runtime
    shop, _ = rt.shops.register("demo", "rome3.example", currency="EUR", timezone=ROME)
    F.use_program(rt, shop, timezone=ROME)
    _history(rt, shop, clock)
    rt.analytics.refresh()
    queued = []
    rt.analytics.enqueue = lambda task, *args, **kw: queued.append((task, args))
    _set_zone(rt, shop, NEW_YORK)
    assert rt.analytics.rebuild_step(shop.id, batch=2) and rt.analytics.rebuild_step(shop.id, batch=2)
    _set_zone(rt, shop, "Asia/Tokyo")  # half way: the job's worker then dies
    assert rt.analytics.resume_rebuilds() == 1 and queued[-1] == ("rebuild_analytics", (shop.id,))
    rt.analytics.enqueue = None
    assert rt.analytics.rebuild(shop.id, batch=2).startswith("rebuilt")
    rt.analytics.refresh()
    assert _stored(rt, shop.id) == _from_scratch(rt, shop.id, "Asia/Tokyo")
    assert rt.analytics.resume_rebuilds() == 0


def test_restoring_a_version_with_another_zone_rebuilds(runtime, clock):
    rt = runtime
    shop, _ = rt.shops.register("demo", "rome4.example", currency="EUR", timezone=ROME)
    rome = F.use_program(rt, shop, timezone=ROME).version
    _history(rt, shop, clock)
    _set_zone(rt, shop, NEW_YORK)
    rt.analytics.refresh()
    assert _stored(rt, shop.id) == _from_scratch(rt, shop.id, NEW_YORK)
    rt.programs.restore(shop.id, rome, author="t")
    rt.analytics.refresh()
    assert _stored(rt, shop.id) == _from_scratch(rt, shop.id, ROME)


def test_the_api_and_the_page_say_the_figures_are_being_recomputed(client, clock):
    rt = client.application.extensions["loyalty"]
    shop, key = F.shop_and_key(rt, domain="recompute.example")
    F.member(rt, shop, "c1")
    rt.analytics.enqueue = lambda *a, **kw: None  # the job is lost: the dashboard waits for it
    h = {"Authorization": f"Bearer {key}"}
    document = client.get("/admin/api/v1/program", headers=h).get_json()
    program = document.get("program", document)
    r = client.put("/admin/api/v1/program", headers=h, json={**program, "timezone": NEW_YORK})
    assert r.status_code in (200, 201), r.get_json()
    body = client.get("/admin/api/v1/analytics", headers=h).get_json()
    assert body["recomputing"] is True and body["daily"] == []
    client.post("/admin/login", data={"key": key})
    for lang, words in (("en", "The figures are being recomputed"), ("de", "Die Zahlen werden neu berechnet"),
                        ("it", "Stiamo ricalcolando i dati")):
        page = client.get(f"/admin/dashboard?lang={lang}").data.decode()
        assert words in page and "data-recomputing" in page and "data-chart" not in page
    rt.analytics.enqueue = None
    rt.analytics.resume_rebuilds()  # the periodic pass takes it up (inline here)
    page = client.get("/admin/dashboard").data.decode()
    assert "data-recomputing" not in page and "data-chart" in page
    assert client.get("/admin/api/v1/analytics", headers=h).get_json()["recomputing"] is False


def test_the_rebuild_on_embedded_sqlite(tmp_path, clock):
    from plugin_app.runtime import Runtime
    from plugin_app.storage.migrate import upgrade

    from .conftest import make_settings

    url = f"sqlite:///{tmp_path / 'a.db'}"
    upgrade(url)
    rt = Runtime(make_settings(url), clock=clock)
    try:
        shop, _ = rt.shops.register("demo", "lite-rome.example", currency="EUR", timezone=ROME)
        F.use_program(rt, shop, timezone=ROME)
        _history(rt, shop, clock)
        rt.analytics.refresh()
        assert _stored(rt, shop.id) == _from_scratch(rt, shop.id, ROME)
        _set_zone(rt, shop, NEW_YORK)
        rt.analytics.refresh()
        assert not rt.analytics.recomputing(shop.id)
        assert _stored(rt, shop.id) == _from_scratch(rt, shop.id, NEW_YORK)
    finally:
        rt.close()


def test_the_rebuild_against_concurrent_postings_orders_and_folds(runtime, clock):
    """Real connections and locks: a writer posts entries and counts orders and a folder runs the
    fold while the rebuild steps through the shop's ledger; every entry and order counted once."""
    import threading

    rt = runtime
    shop, _ = rt.shops.register("demo", "rome5.example", currency="EUR", timezone=ROME)
    F.use_program(rt, shop, timezone=ROME)
    members = _history(rt, shop, clock)
    for i in range(120):
        rt.ledger.earn(shop.id, members[i % 3].id, "points", 1 + i % 7, key=f"bulk{i}", source="admin", reason="t")
    rt.analytics.refresh()
    _at(clock, datetime(2026, 3, 4, 23, 20, tzinfo=timezone.utc))  # 00:20 in Rome, 18:20 in New York
    rt.analytics.enqueue = lambda *a, **kw: None  # the rebuild is driven here, step by step
    _set_zone(rt, shop, NEW_YORK)
    done, errors = threading.Event(), []

    def writer():
        try:
            for i in range(40):
                rt.ledger.earn(shop.id, members[i % 3].id, "points", 2, key=f"w{i}", source="admin", reason="t")
                rt.orders.on_paid(shop.id, F.order(F.line("5.00", line_id="a"), order_id=f"w{i}", customer=f"c{i % 3}",
                                                   placed_at=clock.now()))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            done.set()

    def folder():
        try:
            while not done.is_set():
                rt.analytics.refresh(batch=4)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=folder)]
    for th in threads:
        th.start()
    steps = 0
    while rt.analytics.rebuild_step(shop.id, batch=2):
        steps += 1
    for th in threads:
        th.join(60)
    assert not errors and steps > 20
    rt.analytics.refresh()
    stored = _stored(rt, shop.id)
    assert stored == _from_scratch(rt, shop.id, NEW_YORK)
    with rt.db.transaction() as conn:
        n = len(conn.execute(select(t.ledger_entries.c.id).where(t.ledger_entries.c.shop_id == shop.id)).all())
    assert sum(x["entries"] for x in stored[0].values()) == n

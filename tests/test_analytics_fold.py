"""The analytics fold on PostgreSQL takes entries by the transactions committed since its last
snapshot, not by id: an entry whose id was drawn before another's but whose transaction commits
after the other was folded is still folded, once (real concurrent connections). The same for a
time-zone change's rebuild, whose split is what the fold has folded; and across migration 0034,
entries posted before it (txid NULL) are folded by id, those after by snapshot, none twice."""
import random
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import create_engine, insert, select, text

from plugin_app.services.analytics import METRICS
from plugin_app.storage import tables as t

from . import factories as F
from .conftest import create_database, drop_database, make_settings
from .test_analytics_timezone import NEW_YORK, ROME, _at, _from_scratch, _set_zone, _stored


def _post(conn, shop_id: int, member_id: int, points: int, key: str, when: datetime) -> int:
    """A ledger entry written as the ledger writes it (no txid named: its server default)."""
    return conn.execute(insert(t.ledger_entries).values(
        shop_id=shop_id, member_id=member_id, asset="points", kind="earn", source="admin", reason="t",
        idempotency_key=key, request_hash="h", amount=points, points=points, points_lifetime=points,
        created_at=when).returning(t.ledger_entries.c.id)).scalar_one()


def _open_posting(rt, shop_id, member_id, points, key, when):
    """A posting left uncommitted on a connection of its own: (connection, transaction, id)."""
    conn = rt.db.engine.connect()
    tx = conn.begin()
    return conn, tx, _post(conn, shop_id, member_id, points, key, when)


def _entries(rt, shop_id) -> int:
    with rt.db.transaction() as conn:
        return conn.execute(select(text("count(*)")).select_from(t.ledger_entries)
                            .where(t.ledger_entries.c.shop_id == shop_id)).scalar_one()


def _check(rt, shop_id, zone="UTC"):
    stored = _stored(rt, shop_id)
    assert stored[:2] == _from_scratch(rt, shop_id, zone)[:2]
    assert sum(x["entries"] for x in stored[0].values()) == _entries(rt, shop_id)


def test_an_entry_committed_after_a_later_one_was_folded_is_folded_once(runtime, shop, clock):
    rt = runtime
    member = F.member(rt, shop, "c1")
    conn, tx, first = _open_posting(rt, shop.id, member.id, 5, "slow", clock.now())  # takes the lower id
    try:
        rt.ledger.earn(shop.id, member.id, "points", 7, key="fast", source="admin", reason="t")  # commits first
        with rt.db.transaction() as c:
            fast = c.execute(select(t.ledger_entries.c.id).where(t.ledger_entries.c.idempotency_key == "fast")).scalar()
        assert first < fast
        assert rt.analytics.refresh() == 1  # the committed one; the other is still in progress
        tx.commit()
    finally:
        conn.close()
    assert rt.analytics.refresh() == 1  # the late commit, by its transaction
    assert rt.analytics.refresh() == 0
    _check(rt, shop.id)
    daily, _, _ = _stored(rt, shop.id)
    assert sum(x["points_issued"] for x in daily.values()) == 12


def test_a_rolled_back_posting_is_never_folded(runtime, shop, clock):
    rt = runtime
    member = F.member(rt, shop, "c1")
    conn, tx, _ = _open_posting(rt, shop.id, member.id, 5, "gone", clock.now())
    rt.ledger.earn(shop.id, member.id, "points", 7, key="kept", source="admin", reason="t")
    rt.analytics.refresh()
    tx.rollback()
    conn.close()
    rt.analytics.refresh()
    _check(rt, shop.id)


def test_a_fold_inside_a_transaction_that_posts_counts_its_entries_once(runtime, shop, clock):
    """A fold run inside a caller's transaction folds that transaction's entries with it; those
    posted after it in the same transaction are folded by the next round, once."""
    rt = runtime
    member = F.member(rt, shop, "c1")
    with rt.db.uow() as uow:
        _post(uow.conn, shop.id, member.id, 3, "in-1", clock.now())
        assert rt.analytics.refresh() == 1  # joins the open transaction
        _post(uow.conn, shop.id, member.id, 4, "in-2", clock.now())
        assert rt.analytics.refresh() == 1
        _post(uow.conn, shop.id, member.id, 5, "in-3", clock.now())
    rt.ledger.earn(shop.id, member.id, "points", 6, key="after", source="admin", reason="t")
    assert rt.analytics.refresh() == 2  # in-3, then the later posting
    assert rt.analytics.refresh() == 0
    _check(rt, shop.id)


def test_concurrent_postings_and_folds_equal_a_count_from_scratch(runtime, clock):
    """Several writers post (some roll back, each holds its transaction open a random while) on
    two shops, while two folders fold; at the end the rollups equal a count from the ledger."""
    rt = runtime
    shops = [rt.shops.register("demo", f"s{i}.example", currency="EUR")[0] for i in range(2)]
    members = {s.id: [F.member(rt, s, f"c{j}") for j in range(3)] for s in shops}
    done, errors, base = threading.Event(), [], clock.now()

    def writer(w: int):
        rnd = random.Random(w)
        try:
            for i in range(25):
                shop = shops[rnd.randrange(2)]
                member = members[shop.id][rnd.randrange(3)]
                when = base + timedelta(hours=rnd.randrange(72))
                if i % 5 == 4:  # through the ledger service
                    rt.ledger.earn(shop.id, member.id, "points", 1 + rnd.randrange(9), key=f"svc{w}-{i}",
                                   source="admin", reason="t")
                    continue
                with rt.db.engine.connect() as conn:
                    tx = conn.begin()
                    _post(conn, shop.id, member.id, 1 + rnd.randrange(9), f"w{w}-{i}", when)
                    time.sleep(rnd.random() * 0.03)
                    (tx.rollback if i % 7 == 3 else tx.commit)()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    def folder():
        try:
            while not done.is_set():
                rt.analytics.refresh(batch=3)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    folders = [threading.Thread(target=folder) for _ in range(2)]
    for th in writers + folders:
        th.start()
    for th in writers:
        th.join(120)
    done.set()
    for th in folders:
        th.join(60)
    assert not errors
    rt.analytics.refresh()
    for s in shops:
        _check(rt, s.id)
    assert sum(_entries(rt, s.id) for s in shops) > 60


def _rome_shop(rt, clock, domain):
    shop, _ = rt.shops.register("demo", domain, currency="EUR", timezone=ROME)
    F.use_program(rt, shop, timezone=ROME)
    members = [F.member(rt, shop, f"c{i}") for i in range(2)]
    _at(clock, datetime(2026, 3, 2, 23, 30, tzinfo=timezone.utc))  # 00:30 on the 3rd in Rome, the 2nd in New York
    for i in range(4):
        rt.ledger.earn(shop.id, members[i % 2].id, "points", 10 + i, key=f"h{i}", source="admin", reason="t")
    rt.analytics.refresh()
    rt.analytics.enqueue = lambda *a, **kw: None  # the rebuild is driven here, step by step
    return shop, members


def test_a_late_commit_across_the_rebuild_split_after_the_rebuild_is_counted_once(runtime, clock):
    rt = runtime
    shop, members = _rome_shop(rt, clock, "split1.example")
    conn, tx, _ = _open_posting(rt, shop.id, members[0].id, 5, "slow", clock.now())
    try:
        rt.ledger.earn(shop.id, members[1].id, "points", 7, key="fast", source="admin", reason="t")
        rt.analytics.refresh()  # folds "fast", past the id of "slow"
        _set_zone(rt, shop, NEW_YORK)
        while rt.analytics.rebuild_step(shop.id, batch=2):  # the whole rebuild, "slow" still in progress
            pass
        tx.commit()
    finally:
        conn.close()
    rt.analytics.refresh()
    _check(rt, shop.id, NEW_YORK)
    assert _stored(rt, shop.id)[:2] == _from_scratch(rt, shop.id, NEW_YORK)[:2]


def test_a_late_commit_during_the_rebuild_is_counted_once(runtime, clock):
    rt = runtime
    shop, members = _rome_shop(rt, clock, "split2.example")
    conn, tx, _ = _open_posting(rt, shop.id, members[0].id, 5, "slow", clock.now())
    try:
        rt.ledger.earn(shop.id, members[1].id, "points", 7, key="fast", source="admin", reason="t")
        rt.analytics.refresh()
        _set_zone(rt, shop, NEW_YORK)
        assert rt.analytics.rebuild_step(shop.id, batch=2)  # the split, "slow" in progress
        tx.commit()  # committed before the rebuild's steps reach its id: still the fold's
    finally:
        conn.close()
    while rt.analytics.rebuild_step(shop.id, batch=2):
        rt.analytics.refresh()
    rt.analytics.refresh()
    _check(rt, shop.id, NEW_YORK)


def test_0034_folds_the_entries_before_it_by_id_and_those_after_by_transaction(clock):
    from plugin_app.runtime import Runtime
    from plugin_app.storage.migrate import upgrade

    url = create_database("loyalty_fold34")
    try:
        upgrade(url, "0033")
        engine = create_engine(url)
        at = "2026-03-01 10:00:00+00:00"
        with engine.begin() as conn:
            shop = conn.execute(text(
                "INSERT INTO shops (platform, domain, name, currency, timezone, status, admin_api_key_hash, installed_at) "
                "VALUES ('demo', 'legacy.example', '', 'EUR', 'UTC', 'installed', 'h', :at) RETURNING id"),
                {"at": at}).scalar()
            member = conn.execute(text(
                "INSERT INTO members (shop_id, platform_customer_id, created_at, updated_at) "
                "VALUES (:s, 'c1', :at, :at) RETURNING id"), {"s": shop, "at": at}).scalar()
            conn.execute(text("INSERT INTO balances (member_id, shop_id, currency, points, points_lifetime, updated_at) "
                              "VALUES (:m, :s, 'EUR', 33, 33, :at)"), {"m": member, "s": shop, "at": at})
            ids = [conn.execute(text(
                "INSERT INTO ledger_entries (shop_id, member_id, asset, kind, source, reason, idempotency_key, "
                "request_hash, amount, points, points_lifetime, created_at) VALUES "
                "(:s, :m, 'points', 'earn', 'admin', 't', :k, 'h', :p, :p, :p, :at) RETURNING id"),
                {"s": shop, "m": member, "k": f"old{i}", "p": 10 + i, "at": at}).scalar() for i in range(3)]
            # the fold of those days had folded the first (by id)
            conn.execute(text("INSERT INTO stats_progress (name, last_id) VALUES ('ledger', :i)"), {"i": ids[0]})
            conn.execute(text("INSERT INTO stats_daily (shop_id, day, entries, points_issued) "
                              "VALUES (:s, '2026-03-01', 1, 10)"), {"s": shop})
            filenode = conn.execute(text("SELECT pg_relation_filenode('ledger_entries')")).scalar()
        upgrade(url)
        with engine.connect() as conn:  # no rewrite of the ledger; the rows before stay NULL
            assert conn.execute(text("SELECT pg_relation_filenode('ledger_entries')")).scalar() == filenode
            assert conn.execute(text("SELECT count(*) FROM ledger_entries WHERE txid IS NULL")).scalar() == 3
            assert conn.execute(text(
                "SELECT column_default FROM information_schema.columns WHERE table_name = 'ledger_entries' "
                "AND column_name = 'txid'")).scalar() == "pg_current_xact_id()"
        engine.dispose()

        rt = Runtime(make_settings(url), clock=clock)
        try:
            rt.ledger.earn(shop, member, "points", 20, key="new1", source="admin", reason="t")
            assert rt.analytics.refresh() == 3  # the two legacy entries after the watermark, and the new one
            assert rt.analytics.refresh() == 0
            conn, tx, _ = _open_posting(rt, shop, member, 30, "slow", clock.now())
            try:
                rt.ledger.earn(shop, member, "points", 40, key="fast", source="admin", reason="t")
                assert rt.analytics.refresh() == 1
                tx.commit()
            finally:
                conn.close()
            assert rt.analytics.refresh() == 1 and rt.analytics.refresh() == 0
            with rt.db.transaction() as c:
                assert c.execute(text("SELECT count(*) FROM ledger_entries WHERE txid IS NULL")).scalar() == 3
                assert c.execute(text("SELECT count(*) FROM ledger_entries WHERE txid IS NOT NULL")).scalar() == 3
            daily = defaultdict(Decimal)
            for day in _stored(rt, shop)[0].values():
                for k in METRICS:
                    daily[k] += day[k]
            assert daily["entries"] == 6 and daily["points_issued"] == 10 + 11 + 12 + 20 + 30 + 40
        finally:
            rt.close()
    finally:
        drop_database(url)


def test_the_snapshot_kept_says_what_the_fold_means_of_its_own_transaction(pg_engine):
    from plugin_app.storage.analytics_repo import with_transaction

    cases = [("100:105:101,103", 102), ("100:105:101,103", 104), ("100:105:101,103", 107), ("100:100:", 100),
             ("100:105:", 99)]
    with pg_engine.connect() as conn:
        for snapshot, xid in cases:
            for visible in (True, False):
                kept = with_transaction(snapshot, xid, visible)
                q = "SELECT pg_visible_in_snapshot(CAST(:x AS xid8), CAST(:s AS pg_snapshot))"
                assert conn.execute(text(q), {"x": str(xid), "s": kept}).scalar() is visible, (snapshot, xid, kept)
                for other in range(95, 110):  # every other transaction as it was
                    if other != xid:
                        assert (conn.execute(text(q), {"x": str(other), "s": kept}).scalar()
                                == conn.execute(text(q), {"x": str(other), "s": snapshot}).scalar()), (snapshot, xid, other)

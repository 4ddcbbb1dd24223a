"""Real PostgreSQL, real threads: spending can never overdraw, keys post once."""
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text

from plugin_app.domain.errors import InsufficientBalance
from plugin_app.domain.ledger import Asset
from plugin_app.services.audit import run_audit


def _race(n, fn):
    barrier = threading.Barrier(n)

    def go(i):
        barrier.wait()
        try:
            return ("ok", fn(i))
        except InsufficientBalance as exc:
            return ("refused", exc)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


def test_fifty_threads_spending_one_balance(runtime, shop, member):
    runtime.ledger.earn(shop.id, member.id, Asset.POINTS, 1000, key="seed", source="order", reason="seed")
    results = _race(50, lambda i: runtime.ledger.redeem(
        shop.id, member.id, Asset.POINTS, 30, key=f"spend-{i}", source="cart", reason="race"))
    ok = [r for r in results if r[0] == "ok"]
    refused = [r for r in results if r[0] == "refused"]
    assert len(ok) == 1000 // 30 == 33 and len(refused) == 17
    assert all(r[1].code == "insufficient_balance" for r in refused)
    assert runtime.members.get(shop.id, member.id)[1].points == 1000 - 33 * 30
    report = run_audit(runtime.db)
    assert report.ok, report.problems


def test_fifty_threads_reserving_and_redeeming_mixed(runtime, shop, member):
    runtime.ledger.earn(shop.id, member.id, Asset.POINTS, 500, key="seed", source="order", reason="seed")
    results = _race(50, lambda i: (runtime.ledger.reserve if i % 2 else runtime.ledger.redeem)(
        shop.id, member.id, Asset.POINTS, 20, key=f"x-{i}", source="cart", reason="race"))
    assert sum(r[0] == "ok" for r in results) == 25
    b = runtime.members.get(shop.id, member.id)[1]
    assert b.points == 0 and b.points + b.held_points + 20 * sum(
        r[0] == "ok" and r[1].hold_id is None for r in results) == 500
    assert run_audit(runtime.db).ok


def test_one_key_from_many_threads_posts_once(runtime, shop, member):
    results = _race(30, lambda i: runtime.ledger.earn(
        shop.id, member.id, Asset.POINTS, 100, key="order-1", source="order", reason="paid"))
    assert len({r[1].entry_id for r in results}) == 1
    assert sum(not r[1].replayed for r in results) == 1
    with runtime.db.transaction() as conn:
        assert conn.execute(text("select count(*) from ledger_entries")).scalar() == 1
    assert runtime.members.get(shop.id, member.id)[1].points == 100

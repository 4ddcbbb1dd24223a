"""Random sequences of earn, redeem, reserve, commit, release, reverse, expire, vest, adjust
and replays through the real service on PostgreSQL: after every step the audit is clean, a
refused spend really was unaffordable, and a replay changes nothing."""
import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from plugin_app.domain.errors import InsufficientBalance, InvalidRequest, InvalidState
from plugin_app.domain.ledger import Asset
from plugin_app.domain.ports import FixedClock
from plugin_app.runtime import Runtime
from plugin_app.services.audit import run_audit

from .conftest import make_settings

_shops = itertools.count()


@pytest.fixture(scope="module")
def prop_runtime(pg_url):
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    rt = Runtime(make_settings(pg_url), clock=clock)
    yield rt
    rt.close()


step = st.tuples(
    st.sampled_from(["earn", "earn_pending", "earn_expiring", "redeem", "reserve", "reserve", "commit", "commit",
                     "release", "reverse", "adjust_up", "adjust_down", "vest", "expire", "replay"]),
    st.integers(min_value=1, max_value=400),
    st.integers(min_value=0, max_value=1000),
    st.sampled_from([Asset.POINTS, Asset.POINTS, Asset.CREDIT]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(step, min_size=5, max_size=30))
def test_invariants_hold_after_every_step(prop_runtime, steps):
    rt = prop_runtime
    ledger, clock = rt.ledger, rt.clock
    shop, _ = rt.shops.register("demo", f"prop-{next(_shops)}.example", currency="EUR")
    member, _ = rt.members.enrol(shop.id, "c1")
    entries, holds, calls = [], [], []

    def amount(asset, n):
        return n if asset == Asset.POINTS else f"{n / 100:.2f}"

    def bal():
        return rt.members.get(shop.id, member.id)[1]

    def available(asset):
        b = bal()
        return b.points if asset == Asset.POINTS else int(b.credit.amount * 100)

    for i, (op, n, pick, asset) in enumerate(steps):
        key = f"k{i}"
        try:
            if op.startswith("earn"):
                kw = {}
                if op == "earn_pending":
                    kw["pending_until"] = clock.now() + timedelta(days=3)
                if op == "earn_expiring":
                    kw["expires_at"] = clock.now() + timedelta(days=2)
                call = lambda k=key, a=asset, n=n, kw=kw: ledger.earn(
                    shop.id, member.id, a, amount(a, n), key=k, source="order", reason="order", **kw)
                entries.append(call().entry_id)
                calls.append(call)
            elif op in ("redeem", "reserve", "adjust_down"):
                before = available(asset)
                try:
                    if op == "redeem":
                        posted = ledger.redeem(shop.id, member.id, asset, amount(asset, n), key=key,
                                               source="cart", reason="spend")
                    elif op == "reserve":
                        posted = ledger.reserve(shop.id, member.id, asset, amount(asset, n), key=key,
                                                source="cart", reason="hold")
                        holds.append(posted.hold_id)
                    else:
                        posted = ledger.adjust(shop.id, member.id, asset, -n if asset == Asset.POINTS
                                               else f"-{n / 100:.2f}", key=key, actor="t", reason="fix")
                    entries.append(posted.entry_id)
                except InsufficientBalance:
                    assert n > before, "refused although affordable"
            elif op == "adjust_up":
                entries.append(ledger.adjust(shop.id, member.id, asset, amount(asset, n), key=key,
                                             actor="t", reason="gift").entry_id)
            elif op in ("commit", "release") and holds:
                hold = holds.pop(pick % len(holds))
                if op == "commit":
                    with rt.db.transaction() as conn:
                        from plugin_app.storage.repos import LedgerRepo
                        h = LedgerRepo(conn, shop.id).hold(hold)
                    part = min(n, int(h.amount if h.asset == "points" else h.amount * 100))
                    entries.append(ledger.commit(shop.id, hold, amount(Asset(h.asset), part), key=key,
                                                 source="order", reason="used").entry_id)
                else:
                    ledger.release(shop.id, hold, key=key, source="cart", reason="abandoned")
                event(f"{op} done")
            elif op == "reverse" and entries:
                target = entries[pick % len(entries)]
                with rt.db.transaction() as conn:
                    from plugin_app.storage.repos import LedgerRepo
                    a = LedgerRepo(conn, shop.id).entry(target).asset
                try:
                    ledger.reverse(shop.id, target, amount(Asset(a), n) if pick % 2 else None,
                                   key=key, source="refund", reason="refund")
                    event("reverse done")
                except (InvalidRequest, InvalidState):
                    pass  # over-reversal or an irreversible kind: refused, nothing written
            elif op == "vest":
                clock.advance(days=2)
                ledger.vest_due()
            elif op == "expire":
                clock.advance(days=1)
                ledger.expire_due()
            elif op == "replay" and calls:
                before = bal()
                assert calls[pick % len(calls)]().replayed
                assert bal() == before
        finally:
            report = run_audit(rt.db, shop.id)
            assert report.ok, (op, report.problems)

"""The merchant's CSV exports in the importers' layouts: GET /admin/api/v1/exports/members.csv and
/exports/history.csv (signs and kinds of every ledger entry, filters, one shop only, formula-safe
text, streamed with flat memory)."""
from __future__ import annotations

import csv
import gc
import io
import tracemalloc
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from plugin_app.domain.ledger import Asset, Source

from . import factories as F

MEMBER_HEADER = ["email", "customer_id", "name", "points_balance", "store_credit", "tier", "birthday",
                 "referral_code", "locale"]
HISTORY_HEADER = ["email", "customer_id", "occurred_at", "points", "store_credit", "kind", "expires_at",
                  "order_id", "transaction_id", "source", "note", "status"]


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def rt(tx_app):
    return tx_app.extensions["loyalty"]


@pytest.fixture
def client(tx_app):
    return tx_app.test_client()


def read(answer) -> list[dict]:
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert answer.headers["Content-Type"].startswith("text/csv") and "attachment" in answer.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


def test_members_export_has_the_importers_layout_and_this_shops_members_only(rt, client):
    shop, key = F.shop_and_key(rt, tiers=F.tiers(("Bronze", 0), ("Silver", 500)))
    ada = F.member(rt, shop, "c-ada", email="ada@example.com", name="Ada Quill")
    rt.members.set_birthday(shop.id, "c-ada", "--04-09", source="merchant")
    rt.ledger.adjust(shop.id, ada.id, Asset.POINTS, 620, key="a1", actor="test", reason="welcome back")
    rt.ledger.adjust(shop.id, ada.id, Asset.CREDIT, Decimal("12.5"), key="a2", actor="test", reason="goodwill")
    code = rt.referrals.code_for(shop.id, ada.id)
    bo = F.member(rt, shop, "c-bo", email="bo@example.com", birthday=datetime(1990, 2, 3).date())
    rt.members.enrol(shop.id, "c-bo", locale="de-DE")
    evil = F.member(rt, shop, "c-evil", email="evil@example.com", name="=HYPERLINK(\"http://x\")")
    other, other_key = F.shop_and_key(rt)
    F.member(rt, other, "c-stranger", email="stranger@example.com")

    answer = client.get("/admin/api/v1/exports/members.csv", headers=auth(key))
    assert answer.get_data(as_text=True).splitlines()[0] == ",".join(MEMBER_HEADER)
    rows = {r["customer_id"]: r for r in read(answer)}
    assert set(rows) == {"c-ada", "c-bo", "c-evil"}
    assert rows["c-ada"] == {"email": "ada@example.com", "customer_id": "c-ada", "name": "Ada Quill",
                             "points_balance": "620", "store_credit": "12.50", "tier": "Silver", "birthday": "--04-09",
                             "referral_code": f"{code[:4]}-{code[4:]}", "locale": ""}
    assert (rows["c-bo"]["birthday"], rows["c-bo"]["locale"], rows["c-bo"]["tier"]) == ("1990-02-03", "de-DE", "Bronze")
    assert (rows["c-bo"]["referral_code"], rows["c-bo"]["store_credit"]) == ("", "0.00")
    assert rows["c-evil"]["name"] == "'=HYPERLINK(\"http://x\")"  # a spreadsheet shows it as text
    assert bo.id != evil.id

    silver = read(client.get("/admin/api/v1/exports/members.csv", query_string={"tier": "Silver"}, headers=auth(key)))
    bronze = read(client.get("/admin/api/v1/exports/members.csv", query_string={"tier": "Bronze"}, headers=auth(key)))
    assert [r["customer_id"] for r in silver] == ["c-ada"]
    assert [r["customer_id"] for r in bronze] == ["c-bo", "c-evil"]  # not evaluated yet: the entry tier
    theirs = read(client.get("/admin/api/v1/exports/members.csv", headers=auth(other_key)))
    assert [r["customer_id"] for r in theirs] == ["c-stranger"]


def test_history_lists_each_entry_with_its_sign_and_kind(rt, client):
    shop, key = F.shop_and_key(rt)
    m = F.member(rt, shop, "c-1", email="ada@example.com")
    now = datetime.now(timezone.utc)
    lapse = now + timedelta(days=365)
    earn = rt.ledger.earn(shop.id, m.id, Asset.POINTS, 100, key="o1", source=Source.ORDER, reason="order 1001",
                          external_ref="order:1001", expires_at=lapse)
    rt.ledger.earn(shop.id, m.id, Asset.POINTS, 30, key="o2", source=Source.ORDER, reason="order 1002",
                   external_ref="order:1002", pending_until=now + timedelta(days=14))
    rt.ledger.earn(shop.id, m.id, Asset.POINTS, 5, key="old", source=Source.ACTION, reason="old review",
                   expires_at=now - timedelta(seconds=1))
    rt.ledger.expire_due()
    rt.ledger.redeem(shop.id, m.id, Asset.POINTS, 20, key="r1", source=Source.CART, reason="reward")
    rt.ledger.reverse(shop.id, earn.entry_id, 40, key="refund-1", source=Source.REFUND, reason="refund of order 1001")
    rt.ledger.adjust(shop.id, m.id, Asset.POINTS, 15, key="a1", actor="test", reason="goodwill")
    rt.ledger.adjust(shop.id, m.id, Asset.POINTS, -7, key="a2", actor="test", reason="=correction")
    held = rt.ledger.reserve(shop.id, m.id, Asset.POINTS, 10, key="h1", source=Source.CART, reason="checkout")
    rt.ledger.commit(shop.id, held.hold_id, key="h1c", source=Source.CART, reason="order 1003 used it")
    kept = rt.ledger.reserve(shop.id, m.id, Asset.POINTS, 8, key="h2", source=Source.CART, reason="abandoned")
    rt.ledger.release(shop.id, kept.hold_id, key="h2r", source=Source.CART, reason="cart abandoned")
    rt.ledger.earn(shop.id, m.id, Asset.CREDIT, Decimal("4.20"), key="c1", source=Source.ORDER, reason="cashback",
                   external_ref="order:1001")
    rt.ledger.redeem(shop.id, m.id, Asset.CREDIT, Decimal("1.50"), key="c2", source=Source.CART, reason="spent")

    answer = client.get("/admin/api/v1/exports/history.csv", headers=auth(key))
    assert answer.get_data(as_text=True).splitlines()[0] == ",".join(HISTORY_HEADER)
    rows = read(answer)
    got = [(r["kind"], int(r["points"]), Decimal(r["store_credit"]), r["order_id"], r["status"]) for r in rows]
    assert got == [
        ("earn", 100, 0, "1001", "approved"),
        ("earn", 30, 0, "1002", "pending"),
        ("earn", 5, 0, "", "approved"),
        ("expire", -5, 0, "", "approved"),
        ("spend", -20, 0, "", "approved"),
        ("refund", -40, 0, "1001", "approved"),
        ("adjust", 15, 0, "", "approved"),
        ("adjust", -7, 0, "", "approved"),
        ("spend", -10, 0, "", "approved"),  # the commit; its reservation is not listed
        ("earn", 0, Decimal("4.20"), "1001", "approved"),
        ("spend", 0, Decimal("-1.50"), "", "approved"),
    ]  # the released reservation moved nothing: absent
    first = rows[0]
    assert (first["email"], first["customer_id"], first["source"], first["note"]) == \
        ("ada@example.com", "c-1", "order", "order 1001")
    assert first["expires_at"] == lapse.isoformat(timespec="seconds").replace("+00:00", "Z")
    assert first["occurred_at"].endswith("Z") and datetime.fromisoformat(first["occurred_at"].replace("Z", "+00:00"))
    assert rows[1]["expires_at"] == "" and rows[7]["note"] == "'=correction"
    with rt.db.uow(shop.id) as uow:
        ids = [e.id for e in uow.ledger.history(m.id) if e.kind not in ("reserve", "release", "vest")]
    assert [int(r["transaction_id"]) for r in rows] == ids
    _, balance = rt.members.get(shop.id, m.id)
    assert sum(int(r["points"]) for r in rows) == balance.points + balance.pending_points + balance.held_points


def test_history_filters_by_date_and_tier_and_shows_one_shop_only(rt, client, tx_db):
    shop, key = F.shop_and_key(rt, tiers=F.tiers(("Bronze", 0), ("Gold", 1000)))
    gold = F.member(rt, shop, "c-gold", email="gold@example.com")
    plain = F.member(rt, shop, "c-plain", email="plain@example.com")
    rt.ledger.adjust(shop.id, gold.id, Asset.POINTS, 1200, key="g", actor="test", reason="vip")
    rt.ledger.adjust(shop.id, plain.id, Asset.POINTS, 10, key="p", actor="test", reason="small")
    other, other_key = F.shop_and_key(rt)
    stranger = F.member(rt, other, "c-x", email="x@example.com")
    rt.ledger.adjust(other.id, stranger.id, Asset.POINTS, 99, key="x", actor="test", reason="theirs")
    with tx_db.engine.connect() as conn:  # the small adjustment was made long ago
        conn.execute(text("UPDATE ledger_entries SET created_at = '2020-01-01T00:00:00Z' WHERE shop_id = :s"
                          " AND idempotency_key LIKE '%p'"), {"s": shop.id})
    everything = read(client.get("/admin/api/v1/exports/history.csv", headers=auth(key)))
    assert {r["customer_id"] for r in everything} == {"c-gold", "c-plain"}
    recent = read(client.get("/admin/api/v1/exports/history.csv", query_string={"updated_since": "2021-01-01"},
                             headers=auth(key)))
    assert [r["customer_id"] for r in recent] == ["c-gold"]
    assert read(client.get("/admin/api/v1/exports/history.csv", query_string={"updated_since": "2019-12-31T23:00:00+01:00"},
                           headers=auth(key))) == everything
    gold_only = read(client.get("/admin/api/v1/exports/history.csv", query_string={"tier": "Gold"}, headers=auth(key)))
    assert [r["customer_id"] for r in gold_only] == ["c-gold"]
    theirs = read(client.get("/admin/api/v1/exports/history.csv", headers=auth(other_key)))
    assert [(r["customer_id"], r["points"]) for r in theirs] == [("c-x", "99")]


@pytest.mark.parametrize("path, qs", [
    ("history", {"updated_since": "yesterday"}), ("history", {"updated_since": "2026-13-01"}),
    ("history", {"updated_since": "1900-01-01"}), ("history", {"tier": ""}), ("members", {"tier": "x" * 41}),
    ("members", {"sort": "name"}), ("history", {"updated_since": "2026-01-01\u0000"}),
])
def test_bad_export_queries_are_422_json(rt, client, path, qs):
    shop, key = F.shop_and_key(rt)
    answer = client.get(f"/admin/api/v1/exports/{path}.csv", query_string=qs, headers=auth(key))
    assert answer.status_code == 422 and answer.is_json and answer.get_json()["error"]["code"] == "validation_failed"


def test_exports_need_the_shops_key_and_are_in_openapi(client):
    for path in ("members", "history"):
        answer = client.get(f"/admin/api/v1/exports/{path}.csv")
        assert answer.status_code == 401 and answer.is_json
    paths = client.get("/openapi.json").get_json()["paths"]
    params = {p["name"] for p in paths["/admin/api/v1/exports/history.csv"]["get"]["parameters"]}
    assert params == {"updated_since", "tier"} and "get" in paths["/admin/api/v1/exports/members.csv"]
    for path in ("members", "history"):
        ok = paths[f"/admin/api/v1/exports/{path}.csv"]["get"]["responses"]["200"]
        assert list(ok["content"]) == ["text/csv"]


def test_a_20000_member_export_streams_with_flat_memory(rt, client, tx_db):
    """20,000 members written straight into the tables (through the services this would take
    minutes); the export is read chunk by chunk while tracemalloc watches: the peak stays a small
    fraction of the file, so the body is never held whole."""
    shop, key = F.shop_and_key(rt)
    with tx_db.engine.connect() as conn:
        conn.execute(text(
            "INSERT INTO members (shop_id, platform_customer_id, email, name, created_at, updated_at)"
            " SELECT :s, 'bulk-' || g, 'bulk' || g || '@example.com', 'Member number ' || g, now(), now()"
            " FROM generate_series(1, 20000) g"), {"s": shop.id})
        conn.execute(text(
            "INSERT INTO balances (member_id, shop_id, currency, points, credit, updated_at)"
            " SELECT id, shop_id, 'EUR', id % 997, (id % 50) / 4.0, now() FROM members WHERE shop_id = :s"),
            {"s": shop.id})
    answer = client.get("/admin/api/v1/exports/members.csv", headers=auth(key), buffered=False)
    assert answer.status_code == 200
    pieces = iter(answer.response)
    size = lines = 0

    def take(piece):
        nonlocal size, lines
        size += len(piece)
        lines += piece.count(b"\n") if isinstance(piece, bytes) else piece.count("\n")

    take(next(pieces))  # the header, then the first chunk: what is read once (caches) is read by now
    take(next(pieces))
    tracemalloc.start()
    try:
        for _ in range(3):
            take(next(pieces))
        gc.collect()
        early = tracemalloc.get_traced_memory()[0]  # held after chunks 2-4
        for piece in pieces:
            take(piece)
        del piece
        gc.collect()
        late, peak = tracemalloc.get_traced_memory()  # held after chunk 20, and the peak
    finally:
        tracemalloc.stop()
        answer.close()
    print(f"export of 20,000 members: {size} bytes; held after chunk 4: {early} bytes, after chunk 20: {late} "
          f"bytes; traced peak {peak} bytes")
    assert lines == 20001 and size > 1_000_000
    # Flat: what stays allocated does not grow with the chunks read (a body kept whole would grow
    # by each chunk's text, over 1.2 MB for chunks 5-20); the peak is a chunk's working set.
    assert late - early < 200_000, (early, late)
    assert peak < 2 * size, peak


@pytest.mark.parametrize("lang, members, history", [("en", "Members and balances", "Points history"),
                                                     ("de", "Mitglieder und Guthaben", "Punkteverlauf"),
                                                     ("it", "Membri e saldi", "Cronologia dei punti")])
def test_the_members_page_links_both_exports_in_the_admins_language(rt, client, lang, members, history):
    import re

    shop, key = F.shop_and_key(rt)
    F.member(rt, shop, "c-page", email="page@example.com")
    other, _ = F.shop_and_key(rt)
    F.member(rt, other, "c-other", email="other@example.com")
    with client.session_transaction() as s:
        s["admin_shop"] = shop.id
    page = client.get("/admin/members", query_string={"lang": lang}).get_data(as_text=True)
    links = dict(re.findall(r'<a href="([^"]+)" data-export-(?:members|history) download>([^<]+)</a>', page))
    assert sorted(links.values()) == sorted([members, history])
    by_text = {v: k for k, v in links.items()}
    assert by_text[members] == "/admin/api/v1/exports/members.csv"
    # the signed-in admin's session is enough to download (a GET of this shop's data only)
    assert [r["customer_id"] for r in read(client.get(by_text[members]))] == ["c-page"]
    assert read(client.get(by_text[history])) == []

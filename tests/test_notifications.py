"""Shopper emails through a real SMTP peer (aiosmtpd, started here) and signed webhooks to a
real local receiver: each message arrives once, in the shop's language, with a working
unsubscribe link; an SMTP outage or a receiver's 500 delays and retries without loss or
duplicates; redacted and unsubscribed members get nothing."""
import hashlib
import hmac
import json
import re
import socket
import threading
from email import message_from_bytes
from email.policy import default
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from plugin_app.runtime import Runtime

from . import factories as F
from .conftest import make_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.original_content, policy=default)))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.controller, inbox.port = controller, port
    yield inbox
    try:
        inbox.controller.stop()
    except AssertionError:
        pass  # the test left it stopped


@pytest.fixture
def rt(clean_db, clock, smtp):
    rt = Runtime(make_settings(clean_db, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls=False,
                               mail_from="rewards@loyalty.example", app_url="https://loyalty.example",
                               secret_key="k" * 40), clock=clock)
    yield rt
    rt.close()


def subject(msg) -> str:
    return str(make_header(decode_header(msg["Subject"])))


def deliver(rt, clock, rounds=1):
    for _ in range(rounds):
        rt.notifier.relay()
        rt.notifier.send()


def test_emails_arrive_once_in_the_shops_language_and_unsubscribe_works(rt, clock, smtp):
    shop = F.shop(rt, domain="negozio.example", currency="EUR", name="Il Negozio")
    F.use_program(rt, shop, widget={"locale": "it"}, notifications={
        "sender_name": "Negozio Premi", "reply_to": "ciao@negozio.example",
        "tier_reached": {"subject_it": "Sei {tier}, {name}!"}})
    member = F.member(rt, shop, "c1", email="ada@example.com", name="Ada Lovelace")
    rt.actions.award(shop.id, "c1", "signup", "c1")  # 50 points
    rt.ledger.earn(shop.id, member.id, "points", 60, key="o1", source="order", reason="order")  # 110: 5.00 off unlocked
    rt.ledger.earn(shop.id, member.id, "points", 500, key="o2", source="order", reason="order")  # 610: Silver
    with rt.db.uow(shop.id) as uow:
        pv = rt.programs.current(shop.id)
        rt.tiers.evaluate(uow, member.id, pv.program, pv.version, why="test")
    deliver(rt, clock, rounds=3)  # relaying and sending again changes nothing
    got = {subject(m): (to, m) for to, m in smtp.messages}
    assert len(smtp.messages) == 3, list(got)
    assert set(got) == {"Benvenuto nel programma fedeltà di Il Negozio", "Ora puoi ottenere Sconto sull'ordine",
                        "Sei Silver, Ada!"}
    to, welcome = got["Benvenuto nel programma fedeltà di Il Negozio"]
    assert to == ["ada@example.com"] and welcome["From"] == "Negozio Premi <rewards@loyalty.example>"
    assert welcome["Reply-To"] == "ciao@negozio.example" and welcome["Content-Language"] == "it"
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert welcome.get_content_type() == "multipart/alternative"
    body = welcome.get_body(("plain",)).get_content()
    assert "Ciao Ada" in body and "Disiscriviti" in body and "Il Negozio" in welcome.get_body(("html",)).get_content()
    link = re.search(r"https://loyalty.example(/u/\S+)", body).group(1)
    assert welcome["List-Unsubscribe"].strip() == f"<https://loyalty.example{link}>"

    from plugin_app import create_app
    app = create_app({"database_url": rt.settings.database_url, "jobs_mode": "eager", "secret_key": "k" * 40,
                      "encryption_keys": rt.settings.encryption_keys, "app_url": "https://loyalty.example"})
    client = app.test_client()
    assert "Unsubscribe?" in client.get(link).text  # a GET (a mail scanner) changes nothing
    assert rt.members.get(shop.id, member.id) and not _opted_out(rt, member.id)
    assert client.get(link[:-3] + "abc").status_code == 404  # a forged link
    assert "Unsubscribed" in client.post(link).text and _opted_out(rt, member.id)
    clock.advance(days=1)
    rt.ledger.earn(shop.id, member.id, "credit", "6.00", key="cb", source="order", reason="cashback")
    deliver(rt, clock)
    assert len(smtp.messages) == 3  # unsubscribed: the cashback email is not sent
    log = rt.notifier.log(shop.id, target="email")
    assert [e["state"] for e in log if e["topic"] == "cashback_available"] == ["skipped"]
    app.extensions["loyalty"].close()


def _opted_out(rt, member_id) -> bool:
    from sqlalchemy import select

    from plugin_app.storage import tables as t
    with rt.db.transaction() as conn:
        return conn.execute(select(t.members.c.email_opt_out).where(t.members.c.id == member_id)).scalar()


def test_an_smtp_outage_delays_and_retries_without_loss_or_duplicates(rt, clock, smtp):
    shop = F.shop(rt, domain="shop.example", currency="EUR", name="Shop")
    smtp.controller.stop()  # the relay is down
    for n in range(3):
        F.member(rt, shop, f"c{n}", email=f"c{n}@example.com")
    deliver(rt, clock)
    log = rt.notifier.log(shop.id, target="email")
    assert [e["state"] for e in log] == ["pending"] * 3 and all(e["attempts"] == 1 and e["last_error"] for e in log)
    deliver(rt, clock)  # not due yet: backoff
    assert all(e["attempts"] == 1 for e in rt.notifier.log(shop.id, target="email"))
    smtp.controller = Controller(smtp, hostname="127.0.0.1", port=smtp.port)
    smtp.controller.start()
    clock.advance(seconds=31)
    deliver(rt, clock, rounds=2)
    assert sorted(to[0] for to, _ in smtp.messages) == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert [e["state"] for e in rt.notifier.log(shop.id, target="email")] == ["sent"] * 3
    ids = [m["Message-ID"] for _, m in smtp.messages]
    assert len(set(ids)) == 3  # stable per notification, so a repeat after a crash is recognisable


def test_redacted_members_get_no_mail_and_switched_off_emails_are_not_sent(rt, clock, smtp):
    from plugin_app.domain.events import CustomerRedact

    shop = F.shop(rt, domain="quiet.example", currency="EUR", name="Quiet")
    F.use_program(rt, shop, notifications={"welcome": {"enabled": False}})
    member = F.member(rt, shop, "c1", email="gone@example.com")
    rt.platform.apply(shop.id, CustomerRedact("c1", (), "gone@example.com"))
    rt.ledger.earn(shop.id, member.id, "points", 200, key="k", source="order", reason="x")  # unlocks a reward
    deliver(rt, clock)
    assert smtp.messages == []
    assert {e["topic"]: e["state"] for e in rt.notifier.log(shop.id)} == {"reward_unlocked": "skipped"}


class Receiver:
    """A merchant's endpoint on loopback: answers 500 to the first N deliveries."""

    def __init__(self, fail_first: int) -> None:
        self.fail_first, self.calls = fail_first, []
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @Request.application
    def app(self, request):
        self.calls.append((dict(request.headers), request.get_data()))
        if len(self.calls) <= self.fail_first:
            return Response("boom", status=500)
        return Response("ok")


def test_webhooks_are_signed_retried_and_never_two_different_events_for_one_id(rt, clock):
    shop = F.shop(rt, domain="hooks.example", currency="EUR")
    receiver = Receiver(fail_first=2)
    ep = rt.notifier.add_endpoint(shop.id, receiver.url, ["member.enrolled", "points.changed", "tier.changed"], "whsec_test")
    member = F.member(rt, shop, "c1", email="a@example.com")
    rt.ledger.earn(shop.id, member.id, "points", 700, key="k1", source="order", reason="an order")
    with rt.db.uow(shop.id) as uow:
        pv = rt.programs.current(shop.id)
        rt.tiers.evaluate(uow, member.id, pv.program, pv.version, why="test")
    for _ in range(6):
        deliver(rt, clock)
        clock.advance(minutes=5)
    topics, bodies = [], {}
    for headers, raw in receiver.calls:
        expected = "sha256=" + hmac.new(b"whsec_test", headers["X-Loyalty-Timestamp"].encode() + b"." + raw,
                                        hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Loyalty-Signature"], expected)
        event = json.loads(raw)
        assert event["id"] == headers["X-Loyalty-Event-Id"] and event["topic"] == headers["X-Loyalty-Topic"]
        assert bodies.setdefault(event["id"], raw) == raw  # a retry is the same event, byte for byte
        topics.append(event["topic"])
    assert len(receiver.calls) == len(bodies) + 2  # two 500s, retried
    assert sorted(json.loads(b)["topic"] for b in bodies.values()) == ["member.enrolled", "points.changed", "tier.changed"]
    [changed] = [json.loads(b)["data"] for b in bodies.values() if json.loads(b)["topic"] == "points.changed"]
    assert (changed["available_change"], changed["balance"], changed["member"]["customer_id"]) == (700, 700, "c1")
    log = rt.notifier.log(shop.id, target="webhook")
    assert all(e["state"] == "sent" for e in log)
    first = log[-1]
    assert rt.notifier.replay(shop.id, first["id"]) == "pending"
    deliver(rt, clock)
    assert json.loads(receiver.calls[-1][1])["id"] == first["event_id"]  # the replay keeps the event id
    rt.notifier.remove_endpoint(shop.id, ep["id"])
    rt.ledger.earn(shop.id, member.id, "points", 5, key="k2", source="order", reason="x")
    calls = len(receiver.calls)
    clock.advance(seconds=11)  # the per-process subscription cache
    deliver(rt, clock)
    assert len(receiver.calls) == calls
    receiver.server.shutdown()


def test_tier_and_balance_land_as_customer_metafields_on_the_shopify_standin(clean_db):
    """`metafieldsSet` through Shopify's SDK: ≤ 25 per call, only members that changed, once."""
    import httpx

    from . import shopify_standin as S

    state = S.AdminState()
    rt = Runtime(make_settings(clean_db, shopify_api_key="k", shopify_api_secret="s" * 32))
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    shop = F.shop(rt, platform="shopify", domain=S.DOMAIN,
                  credentials={"access_token": "shpat_standin", "api_secret": "x"})
    members = [F.member(rt, shop, str(7300400500600 + n)) for n in range(10)]
    for n, m in enumerate(members):
        rt.ledger.earn(shop.id, m.id, "points", 100 * (n + 1), key=f"e{n}", source="order", reason="x")
        with rt.db.uow(shop.id) as uow:
            pv = rt.programs.current(shop.id)
            rt.tiers.evaluate(uow, m.id, pv.program, pv.version, why="test")
    assert rt.customer_fields.sync() == 0  # off unless the merchant turns it on
    F.use_program(rt, shop, **F.with_sections(rt.programs.current(shop.id).program, sync_customer_fields=True))
    rt.programs._current_cache.clear()
    assert rt.customer_fields.sync() == 10
    calls = [r for r in state.requests if "metafieldsSet" in r["query"]]
    assert [len(c["variables"]["metafields"]) for c in calls] == [25, 5]  # 30 metafields, in the documented limit
    assert state.metafields[(f"gid://shopify/Customer/{7300400500600 + 9}", "loyalty", "tier")]["value"] == "Silver"
    owner = f"gid://shopify/Customer/{7300400500600 + 9}"
    assert state.metafields[(owner, "loyalty", "points")]["value"] == "1000"
    assert state.metafields[(owner, "loyalty", "points")]["type"] == "number_integer"
    assert rt.customer_fields.sync() == 0  # nothing changed, nothing written
    rt.ledger.earn(shop.id, members[0].id, "points", 5, key="more", source="order", reason="x")
    assert rt.customer_fields.sync() == 1
    assert state.metafields[("gid://shopify/Customer/7300400500600", "loyalty", "points")]["value"] == "105"
    rt.close()


def test_a_backlog_of_events_is_relayed_and_sent_in_short_jobs_with_drains_between(clean_db, clock, smtp,
                                                                                  redis_url, monkeypatch):
    """The relay and the sender take a slice and queue their own continuation while the slice
    comes back full: a backlog is many short jobs, each email still sent once, and an inbox drain
    queued meanwhile is taken before the next slice."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    from plugin_app.jobs import context, tasks
    from plugin_app.jobs.queues import QUEUE_NAME, QUEUE_NAMES

    monkeypatch.setattr(tasks, "RELAY_SLICE", 2)
    monkeypatch.setattr(tasks, "SEND_SLICE", 2)
    rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=redis_url, smtp_host="127.0.0.1",
                               smtp_port=smtp.port, smtp_starttls=False, mail_from="rewards@loyalty.example",
                               app_url="https://loyalty.example", secret_key="k" * 40), clock=clock)
    redis = Redis.from_url(redis_url)
    context.install(rt)
    try:
        shop = F.shop(rt, domain="slices.example")
        F.use_program(rt, shop)
        for i in range(5):
            F.member(rt, shop, f"c{i}", email=f"m{i}@example.com", name=f"M {i}")
            rt.ledger.earn(shop.id, F.member(rt, shop, f"c{i}").id, "points", 500, key=f"o{i}", source="order",
                           reason="order")
        with rt.db.transaction() as conn:
            events = conn.exec_driver_sql("SELECT count(*) FROM events WHERE relayed_at IS NULL").scalar()
        assert events >= 5

        rt.run_task(tasks.relay_notifications, ())  # one slice of 2, and its continuation queued
        default = Queue(QUEUE_NAME, connection=redis)
        assert [j.func_name.rsplit(".", 1)[-1] for j in default.get_jobs()] == ["relay_notifications"]
        with rt.db.transaction() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM events WHERE relayed_at IS NULL").scalar() == events - 2
        inbox_id, _ = rt.inbox.accept(shop.id, "internal", "no.such.topic", "late", b"{}", {})
        worker = SimpleWorker([Queue(n, connection=redis) for n in QUEUE_NAMES], connection=redis)
        worker.work(burst=True, max_jobs=1)
        assert rt.inbox.get(inbox_id).state == "ignored"  # the drain went first
        worker.work(burst=True)  # the relay's slices, one after another
        rt.run_task(tasks.send_notifications, ())  # as the ticker would, now that all is relayed
        assert [j.func_name.rsplit(".", 1)[-1] for j in default.get_jobs()] == ["send_notifications"]
        worker.work(burst=True)  # the sender's slices
        with rt.db.transaction() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM events WHERE relayed_at IS NULL").scalar() == 0
            pending = conn.exec_driver_sql("SELECT count(*) FROM notifications WHERE state <> 'sent'").scalar()
            emails = conn.exec_driver_sql("SELECT count(*) FROM notifications WHERE target = 'email'").scalar()
        assert pending == 0 and emails >= 5
        assert len(smtp.messages) == emails  # each once
    finally:
        redis.flushdb()
        rt.close()


def test_the_relay_reads_what_a_shops_events_share_once_and_marks_them_in_one_statement(rt, clock, smtp):
    """Every event of a shop looks at the shop's row, its webhook endpoints and Flow's word on
    our triggers: read once per shop and relay, not once per event; the events are marked
    relayed with one statement per shop."""
    from sqlalchemy import event

    shop = F.shop(rt, domain="once.example")
    F.use_program(rt, shop)
    rt.notifier.add_endpoint(shop.id, "https://hooks.example/x", ["points.changed"], "s" * 32)
    for i in range(6):
        member = F.member(rt, shop, f"c{i}", email=f"o{i}@example.com")
        rt.ledger.earn(shop.id, member.id, "points", 500, key=f"o{i}", source="order", reason="order")
    seen = []
    listener = lambda conn, cursor, statement, *a: seen.append(" ".join(statement.split()))  # noqa: E731
    event.listen(rt.db.engine, "before_cursor_execute", listener)
    try:
        rt.notifier.relay()
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", listener)
    with rt.db.transaction() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM events WHERE relayed_at IS NULL").scalar() == 0
        relayed = conn.exec_driver_sql("SELECT count(*) FROM events").scalar()
    assert relayed >= 12
    assert sum(s.startswith("SELECT shops.") for s in seen) <= 1
    assert sum("FROM webhook_endpoints" in s for s in seen) <= 1
    assert sum("FROM flow_trigger_usage" in s for s in seen) <= 1
    assert sum(s.startswith("UPDATE events") for s in seen) == 1
    # Each member's two or more events read the member and their balance once.
    assert sum(s.startswith("SELECT members.") for s in seen) <= 6
    assert sum(s.startswith("SELECT balances.") for s in seen) <= 6

"""Issue 22, "many hosts": web and worker processes on different hosts share only PostgreSQL and
Redis. Five network namespaces stand for five hosts: two run the web app under gunicorn (the
project's gunicorn.conf.py, bound to the namespace's own address), three run `loyalty worker`.
Each namespace has its own loopback and one veth link to the machine; it reaches the one
PostgreSQL and the one Redis over that link (a TCP forwarder on the machine's end of each link:
they listen on loopback only), and nothing else. Its own 127.0.0.1 has no database.

Then a duplicate storm from the machine, over the links, to both web hosts at once: signed
Shopify webhooks for many orders of many customers (created, paid, refunded before or after the
payment, updated), each delivered one to four times (Shopify's retries keep the delivery id;
another subscription's copy has a new one and the same event id), shuffled. Mid-run one worker
is SIGKILLed while it holds a message whose ledger posting has committed (a failpoint pauses it
there), and the Redis database is wiped (every queued job and doorbell lost). Nothing helps from
outside: the remaining two workers' own periodic passes (the inbox sweep) find what was lost.
Redis is wiped again right after the last delivery, so no later doorbell can stand in for the
sweep.

Checked at the end: every delivery became one inbox row per event (deduplicated across the two
web hosts), all processed; every member's balance is the total computed here from the orders;
no idempotency key posted twice, one earning per paid order and one reversal per refund; the
message the dead worker held was taken up again; the audit is clean.

Runs where network namespaces can be made (root, `ip`, no EPERM), else skips and says why.
`pytest -m multihost` runs only it."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from redis import Redis
from sqlalchemy import text

from plugin_app.runtime import Runtime
from plugin_app.services.audit import run_audit
from plugin_app.services.workers import Heartbeats

from . import shopify_standin as S
from .conftest import ENCRYPTION_KEY, TEST_REDIS_URL, make_settings

pytestmark = [pytest.mark.multihost, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SECRET = "shpss_many_hosts"
DOMAIN = "many-hosts.myshopify.com"
WEB_PORT = 8000
LEASE = 5  # seconds a worker holds a message; the dead worker's runs out this long after its claim
SWEEP_AFTER = 2  # a message no doorbell woke is swept after this long (the sweep runs every 30 s)
HOSTS = ("web1", "web2", "work1", "work2", "work3")
DOOMED = "work3"
CUSTOMERS = 12
ORDERS = 70
FINISH_WITHIN = 100  # seconds, after the last delivery (the sweep runs every 30 s)


def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=30)


def wait_for(predicate, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


class Hosts:
    """Network namespaces joined to the machine by veth pairs, one /30 each, with unique names
    per run; `close` removes what was made (also after a failure half way)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.run_id = uuid.uuid4().hex[:5]
        used = run("ip", "-4", "route", "show").stdout + run("ip", "-4", "addr", "show").stdout
        free = [b for b in range(100, 250) if f"10.{b}." not in used]
        self.net = random.choice(free)
        self.names = names
        self.made_ns: list[str] = []
        self.made_links: list[str] = []

    def ns(self, name: str) -> str:
        return f"lh-{self.run_id}-{name}"

    def gateway(self, name: str) -> str:
        """The machine's end of the host's link: where it finds PostgreSQL and Redis."""
        return f"10.{self.net}.{self.names.index(name)}.1"

    def address(self, name: str) -> str:
        return f"10.{self.net}.{self.names.index(name)}.2"

    def make(self) -> None:
        for i, name in enumerate(self.names):
            ns, outside, inside = self.ns(name), f"lh{self.run_id}{i}", f"lp{self.run_id}{i}"
            run("ip", "netns", "add", ns)
            self.made_ns.append(ns)
            run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
            run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
            self.made_links.append(outside)
            run("ip", "link", "set", inside, "netns", ns)
            run("ip", "addr", "add", f"{self.gateway(name)}/30", "dev", outside)
            run("ip", "link", "set", outside, "up")
            run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{self.address(name)}/30", "dev", inside)
            run("ip", "netns", "exec", ns, "ip", "link", "set", inside, "up")

    def close(self) -> None:
        for link in self.made_links:
            run("ip", "link", "del", link, check=False)  # its peer goes with it
        for ns in self.made_ns:
            run("ip", "netns", "del", ns, check=False)


def namespaces_unavailable() -> str | None:
    """Why this machine cannot make network namespaces, or None."""
    if os.name != "posix" or os.geteuid() != 0:
        return "needs root to make network namespaces"
    if shutil.which("ip") is None:
        return "needs iproute2's `ip` to make network namespaces"
    probe = f"lh-probe-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot make a network namespace here: {made.stderr.strip() or made.returncode}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


class Procs:
    """Processes started in the namespaces, each with its log file; all killed at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, ns: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs[name] = proc
        return proc

    def log(self, name: str, tail: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def logs_of_all(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name)}" for name in self.procs)

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def close(self) -> None:
        """SIGTERM, a few seconds' grace, then SIGKILL: nothing is checked after this, and a
        worker's warm shutdown may wait for a long periodic job (one that retries the network)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 3
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)


def via(url: str, host: str, port: int) -> str:
    """`url` with its host and port replaced (the same database, reached through a link)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    where = f"{host}:{port}"
    return parts._replace(netloc=f"{netloc[0]}@{where}" if len(netloc) == 2 else where).geturl()


@pytest.fixture
def cluster(clean_db, redis_url, tmp_path):
    why = namespaces_unavailable()
    if why:
        pytest.skip(why)
    pg, rd = urlsplit(clean_db), urlsplit(redis_url)
    hosts = Hosts(HOSTS)
    procs = Procs(tmp_path)
    forwarder = rt = None
    forwarder_log = (tmp_path / "forwarder.log").open("wb")
    try:
        hosts.make()
        # Any free port on the machine's end of each link (PostgreSQL or Redis may listen on
        # every address, 5432 or 6379 included: they would then be reachable without us).
        pairs = [f"{hosts.gateway(name)}:0={target.hostname}:{target.port or default}"
                 for name in HOSTS for target, default in ((pg, 5432), (rd, 6379))]
        forwarder = subprocess.Popen([sys.executable, str(ROOT / "tests" / "tcp_forward.py"), *pairs],
                                     stdout=subprocess.PIPE, stderr=forwarder_log, text=True)
        ready = forwarder.stdout.readline().split()
        assert ready[:1] == ["ready"], (ready, (tmp_path / "forwarder.log").read_text())
        ports = {name: (int(ready[1 + 2 * i]), int(ready[2 + 2 * i])) for i, name in enumerate(HOSTS)}

        rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=redis_url))
        shop, _ = rt.shops.register("shopify", DOMAIN, currency="EUR",
                                    credentials={"access_token": "shpat_test", "api_secret": SECRET})
        # One point per euro of the subtotal, nothing else: the totals are computed from the orders.
        rt.programs.put(shop.id, {"tiers": {"enabled": False}, "actions": {"signup": {"enabled": False}}},
                        author="test")

        base = {k: v for k, v in os.environ.items() if not k.startswith(("LOYALTY_", "REDIS_", "DATABASE_", "TEST_"))}
        base.update(LOYALTY_ENCRYPTION_KEY=ENCRYPTION_KEY, LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
                    LOYALTY_INBOX_LEASE_SECONDS=str(LEASE), LOYALTY_SWEEP_AFTER_SECONDS=str(SWEEP_AFTER))

        def env_for(name: str, **more) -> dict:
            gw, (pg_port, redis_port) = hosts.gateway(name), ports[name]
            return {**base, "DATABASE_URL": via(clean_db, gw, pg_port), "REDIS_URL": via(redis_url, gw, redis_port),
                    **more}

        marker = tmp_path / "doomed-holds-a-message"
        for name in HOSTS:
            if name.startswith("web"):
                procs.start(name, hosts.ns(name),
                            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
                            env_for(name, BIND=f"{hosts.address(name)}:{WEB_PORT}", WEB_CONCURRENCY="2",
                                    WEB_THREADS="4"))
            else:
                extra = {"LOYALTY_FAILPOINTS": f"inbox.after_handler=pause:{marker}"} if name == DOOMED else {}
                procs.start(name, hosts.ns(name),
                            [sys.executable, "-c", "from plugin_app.cli import main; main()", "worker"],
                            env_for(name, **extra))

        def web_up(name: str) -> bool:
            assert procs.procs[name].poll() is None, f"{name} exited:\n{procs.log(name)}"
            try:
                return httpx.get(f"http://{hosts.address(name)}:{WEB_PORT}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        for name in ("web1", "web2"):
            assert wait_for(lambda: web_up(name), 60), f"{name} did not answer:\n{procs.log(name)}"
        beats = Heartbeats(rt.db)
        assert wait_for(lambda: sum(b["alive"] and b["state"] == "working" for b in beats.recent()) == 3, 60), \
            (beats.recent(), procs.logs_of_all())
        yield dict(rt=rt, shop=shop, hosts=hosts, procs=procs, marker=marker, pg_port=pg.port or 5432)
    finally:
        procs.close()
        if rt is not None:
            rt.close()
        if forwarder is not None:
            forwarder.kill()
            forwarder.wait(5)
        forwarder_log.close()
        hosts.close()


def storm(seed: int):
    """Events (topic, payload) for ORDERS orders of CUSTOMERS customers, and each customer's
    points as the program computes them: a euro of subtotal is a point, a refunded unit takes
    its price back, whether the refund arrives before or after the payment."""
    rng = random.Random(seed)
    customers = [8800100 + i for i in range(CUSTOMERS)]
    expected: dict[int, int] = {c: 0 for c in customers}
    events: list[tuple[str, dict]] = [("customers/create", S.customer(c, email=f"ada.{c}@example.org"))
                                      for c in customers]
    refunds = 0
    for n in range(ORDERS):
        order_id, customer = 6400000000 + n, rng.choice(customers)
        lines = [S.line_item(order_id * 10 + k, f"{rng.randint(5, 90)}.00", rng.randint(1, 3))
                 for k in range(rng.randint(1, 2))]
        order = lambda **kw: S.order(order_id, customer_id=customer, lines=lines, shipping="4.90", **kw)  # noqa: E731
        expected[customer] += sum(int(Decimal(li["price"])) * li["quantity"] for li in lines)
        if rng.random() < 0.5:
            events.append(("orders/create", order(financial_status="pending")))
        events.append(("orders/paid", order()))
        if rng.random() < 0.4:
            refunds += 1
            line = rng.choice(lines)
            refund = S.refund(7500000000 + n * 10, order_id, line_id=line["id"], quantity=1, subtotal=line["price"])
            expected[customer] -= int(Decimal(line["price"]))
            events.append(("refunds/create", refund))
            if rng.random() < 0.5:
                events.append(("orders/updated", order(financial_status="partially_refunded", refunds=[refund])))
    deliveries = []
    for topic, payload in events:
        first, event = str(uuid.uuid4()), str(uuid.uuid4())
        for copy in range(rng.randint(1, 4)):
            # a retry keeps the delivery id; another subscription's copy has its own; one event id
            deliveries.append((topic, S.body(payload), first if copy % 2 == 0 else str(uuid.uuid4()), event))
    rng.shuffle(deliveries)
    return events, deliveries, expected, refunds


def test_two_web_and_three_worker_hosts_share_only_postgresql_and_redis(cluster):
    rt, shop, hosts, procs = cluster["rt"], cluster["shop"], cluster["hosts"], cluster["procs"]
    started = time.monotonic()

    # Each host's own loopback has no database: the veth link is the only way to it.
    for name in HOSTS:
        probe = run("ip", "netns", "exec", hosts.ns(name), sys.executable, "-c",
                    f"import socket; socket.create_connection(('127.0.0.1', {cluster['pg_port']}), 1)", check=False)
        assert probe.returncode != 0 and "ConnectionRefused" in probe.stderr, (name, probe.stderr)

    events, deliveries, expected, refunds = storm(seed=22)
    rng = random.Random(2222)
    webs = {name: httpx.Client(base_url=f"http://{hosts.address(name)}:{WEB_PORT}", timeout=30)
            for name in ("web1", "web2")}
    deliveries = [(rng.choice(sorted(webs)), *d) for d in deliveries]  # copies of one event meet on both
    answered: Counter = Counter()

    def deliver(item) -> tuple[str, int, str]:
        name, topic, body, webhook_id, event_id = item
        headers = S.headers(topic, body, SECRET, domain=DOMAIN, webhook_id=webhook_id, event_id=event_id)
        r = webs[name].post("/webhooks/shopify", content=body, headers=headers)
        return name, r.status_code, r.text[:300]

    def send(batch) -> None:
        with ThreadPoolExecutor(8) as pool:
            for name, status, body in pool.map(deliver, batch):
                assert status == 200, (name, status, body)
                answered[name] += 1

    def unfinished() -> list:
        with rt.db.transaction() as conn:
            return conn.execute(text("select id, topic, state, attempts, left(last_error, 200) from inbox "
                                     "where shop_id = :s and state in ('received', 'processing')"),
                                {"s": shop.id}).all()

    third = len(deliveries) // 3
    send(deliveries[:third])

    # One worker dies holding a message: its posting committed, the message not yet marked done.
    # (The storm goes on in small batches until it has taken one.)
    marker, sent = cluster["marker"], third
    while not marker.exists() and sent < 2 * third:
        send(deliveries[sent:min(sent + 24, 2 * third)])
        sent = min(sent + 24, 2 * third)
    assert wait_for(marker.exists, 30), ("the doomed worker took no message", procs.log(DOOMED))
    with rt.db.transaction() as conn:
        held = dict(conn.execute(text("select id, claim_token from inbox where state = 'processing'")).all())
    procs.kill(DOOMED)
    assert held, "no message was being processed when the worker died"

    send(deliveries[sent:2 * third])
    in_flight = len(unfinished())
    Redis.from_url(TEST_REDIS_URL).flushdb()  # every queued job, doorbell and periodic slot lost
    send(deliveries[2 * third:])
    sent_at = time.monotonic()
    for client in webs.values():
        client.close()
    left_at_end = len(unfinished())
    Redis.from_url(TEST_REDIS_URL).flushdb()  # again, with no delivery to come: only the sweep is left

    assert wait_for(lambda: not unfinished(), FINISH_WITHIN, step=0.5), \
        (f"still unfinished {FINISH_WITHIN} s after the storm (in flight at the wipes: {in_flight}, {left_at_end})",
         unfinished()[:20], procs.logs_of_all())
    finished_at = time.monotonic()
    for name in ("web1", "web2", "work1", "work2"):
        assert procs.procs[name].poll() is None, f"{name} died:\n{procs.log(name)}"

    with rt.db.transaction() as conn:
        states = dict(conn.execute(text("select state, count(*) from inbox where shop_id = :s group by state"),
                                   {"s": shop.id}).all())
        retaken = conn.execute(text("select id, attempts from inbox where id = any(:ids)"),
                               {"ids": list(held)}).all()
        twice = conn.execute(text("select idempotency_key, count(*) from ledger_entries where shop_id = :s "
                                  "group by idempotency_key having count(*) > 1"), {"s": shop.id}).all()
        kinds = dict(conn.execute(text("select kind, count(*) from ledger_entries where shop_id = :s group by kind"),
                                  {"s": shop.id}).all())
        earned = conn.execute(text("select external_ref, count(*) from ledger_entries where shop_id = :s "
                                   "and kind = 'earn' group by external_ref"), {"s": shop.id}).all()
    # Every event is one row, whichever web host got which copy; all of them processed.
    assert sum(states.values()) == len(events), (states, len(events))
    assert set(states) <= {"done", "ignored"}, states
    assert answered["web1"] > 0 and answered["web2"] > 0
    # The message the dead worker held was taken up again after its lease ran out.
    assert any(attempts >= 2 for _, attempts in retaken), retaken
    # Postings: no key twice, one earning per paid order, one reversal per refund.
    assert twice == []
    assert len(earned) == ORDERS and all(n == 1 for _, n in earned), earned
    assert kinds.get("reverse", 0) == refunds, kinds
    # Every member's balance is the total computed from the orders.
    got = {}
    for customer in expected:
        balance = rt.members.by_customer(shop.id, str(customer))[1]
        assert balance.pending_points == 0 and balance.held_points == 0
        got[customer] = balance.points
    assert got == expected
    report = run_audit(rt.db)
    assert report.ok, report.problems
    print(json.dumps({"deliveries": len(deliveries), "events": len(events), "orders": ORDERS, "refunds": refunds,
                      "answered": dict(answered), "in_flight_at_wipes": [in_flight, left_at_end], "dead_worker_held": len(held),
                      "storm_s": round(sent_at - started, 1), "recovered_s": round(finished_at - sent_at, 1)}))

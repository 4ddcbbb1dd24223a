"""Issue 15.2: `make run` as a new user meets it. `loyalty demo` runs as a real process on a fresh
SQLite file (seed, in-process periodic jobs, threaded server), and is driven over HTTP like a
shopper (the printed demo page, the widget's storefront endpoints, a reward applied and taken
back, a sign-up) and a merchant (the one-time admin link, admin pages, a member adjustment and a
program save through the admin forms and the admin API) while its jobs run. Every request must
answer within a second and the process's log must hold no lock error, no refused nested
transaction and no traceback."""
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .formdata import form_data

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 1.0  # seconds, for every request
JOBS_WINDOW = 20.0  # the relay and the sender run at start and every 15 s; the rest at start

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Timed:
    """An HTTP client that records how long each request took."""

    def __init__(self, base: str, **kw) -> None:
        self.client = httpx.Client(base_url=base, timeout=30, **kw)
        self.seen: list[tuple[float, str, str, int]] = []

    def __call__(self, method: str, url: str, expect: int | tuple = 200, **kw) -> httpx.Response:
        started = time.monotonic()
        r = self.client.request(method, url, **kw)
        self.seen.append((time.monotonic() - started, method, url, r.status_code))
        expected = expect if isinstance(expect, tuple) else (expect,)
        assert r.status_code in expected, (method, url, r.status_code, r.text[:500])
        return r

    def slow(self) -> list:
        return [s for s in self.seen if s[0] >= LIMIT]


@pytest.fixture
def demo(tmp_path):
    """`loyalty demo --port N` on a fresh database, as `make run` starts it (no REDIS_URL, no key)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOYALTY_", "REDIS_", "DATABASE_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}", PYTHONUNBUFFERED="1")
    log_path = tmp_path / "demo.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.argv[0] = 'loyalty'; from plugin_app.cli import main; main()",
         "demo", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    started = time.monotonic()
    try:
        while "Ctrl-C stops it." not in log_path.read_text(errors="replace"):
            assert proc.poll() is None, f"the demo exited ({proc.returncode}):\n{log_path.read_text()[-4000:]}"
            assert time.monotonic() - started < 60, f"not ready after 60 s:\n{log_path.read_text()[-4000:]}"
            time.sleep(0.2)
        yield proc, log_path, log_path.read_text(), started, tmp_path / "demo.db"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def as_form(pairs) -> dict[str, list[str]]:
    """A browser's form fields (repeated names kept) as httpx sends them."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def printed(out: str, label: str) -> str:
    """The value the demo printed after `label` (two or more spaces apart)."""
    return re.search(rf"^\s*{label} {{2,}}(\S+)", out, re.M).group(1)


def test_make_run_starts_and_every_request_answers_at_once_while_the_jobs_run(demo):
    proc, log_path, out, started, db_file = demo
    store_url = printed(out, "storefront demo")
    admin_link, api_key = printed(out, "admin"), printed(out, "admin API key")
    base = re.match(r"https?://[^/]+", store_url).group(0)
    shop = Timed(base)
    merchant = Timed(base)
    api = Timed(base, headers={"Authorization": f"Bearer {api_key}"})

    # -- the shopper: the printed page, the widget's files and its storefront endpoints
    page = shop("GET", store_url).text
    config = json.loads(re.search(r"window\.LoyaltyConfig = (\{.*?\});", page).group(1))
    for script in ("/widgets/loyalty.js", "/widgets/panel.js"):
        shop("GET", script)
    signed_in = {"Authorization": f"Bearer {config['token']}"}
    q = {"shop": config["shop"]}
    me = shop("GET", "/storefront/v1/me", params=q, headers=signed_in).json()
    member, program = me["member"], me["program"]
    cheapest = min(program["rewards"], key=lambda r: r["points"])
    assert member["points"] >= cheapest["points"], "the printed member cannot afford any reward"
    assert "?ref=" in member["referral"]["link"], "referrals are off in the demo"
    cart = {"currency": "EUR", "lines": [{"line_id": "1", "product_id": "p5", "quantity": 1, "price": "119.00"}]}
    quote = shop("POST", "/storefront/v1/cart/quote", params=q, headers=signed_in, json=cart).json()
    assert any(r["available"] for r in quote["rewards"])
    applied = shop("POST", "/storefront/v1/cart/redemptions", 201, params=q, headers=signed_in,
                   json={"idempotency_key": "demo-process-1", "reward_id": cheapest["id"], "cart": cart}).json()
    assert applied["code"]
    shop("DELETE", f"/storefront/v1/cart/redemptions/{applied['redemption_id']}", params=q, headers=signed_in)
    shop("POST", "/storefront/v1/cart/redemptions", 201, params=q, headers=signed_in,  # kept, this time
         json={"idempotency_key": "demo-process-2", "reward_id": cheapest["id"], "cart": cart})
    guest = shop("GET", "/storefront/v1/me", params=q).json()
    assert guest["member"] is None
    join = config["joinUrl"]
    shop("GET", join)
    joined = shop("POST", join, 303, data={"email": "new@example.com"})
    shop("GET", joined.headers["Location"])

    # -- the merchant: the one-time link, the pages, writes through forms and the API
    merchant("GET", admin_link, 302)
    for path in ("/admin", "/admin/members", "/admin/members/1", "/admin/program", "/admin/earn",
                 "/admin/operations", "/admin/notifications"):
        merchant("GET", path)
    member_page = merchant("GET", "/admin/members/1").text
    fields = dict(form_data(member_page, 0))
    fields.update(amount="25", reason="goodwill, from the demo test")
    assert "Points adjusted by 25." in merchant("POST", "/admin/members/1", data=fields).text
    section = merchant("GET", "/admin/redeem").text
    saved = merchant("POST", "/admin/redeem", data=as_form(form_data(section) + [("action", "save")])).text
    assert 'class="ok"' in saved, saved[-2000:]
    current = api("GET", "/admin/api/v1/program")
    document = current.json()
    api("PUT", "/admin/api/v1/program", json=document, headers={"If-Match": f'"{document["version"]}"'})
    api("POST", "/admin/api/v1/members/1/adjustments", 201,
        json={"amount": 10, "reason": "API adjustment from the demo test", "idempotency_key": "demo-process"})
    api("GET", "/admin/api/v1/members/by-customer/demo-1000")

    # -- the jobs run (relay and sender every 15 s): pages keep answering at once meanwhile
    while time.monotonic() - started < JOBS_WINDOW:
        shop("GET", "/storefront/v1/me", params=q, headers=signed_in)
        shop("POST", "/storefront/v1/cart/quote", params=q, headers=signed_in, json=cart)
        merchant("GET", "/admin")
        time.sleep(0.5)
    assert proc.poll() is None, "the demo died"

    slow = shop.slow() + merchant.slow() + api.slow()
    assert not slow, f"requests slower than {LIMIT} s: {slow}"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)
    log = log_path.read_text(errors="replace")
    for bad in ("database is locked", "NestedTransaction", "nested transaction", "Traceback"):
        assert bad not in log, f"{bad!r} in the demo's log:\n{log[-6000:]}"
    errors = [line for line in log.splitlines() if '"level": "error"' in line or '"level": "critical"' in line]
    assert not errors, errors
    with sqlite3.connect(db_file) as db:  # the relay composed the members' emails
        assert db.execute("select count(*) from notifications where target = 'email'").fetchone()[0] > 0

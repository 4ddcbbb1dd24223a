"""The merchant's Import pages in Chromium: upload a file, watch the check run (the page refreshes
itself while the job works), read the dry run in words with the service's own numbers, apply it,
read the report, undo it and find every balance as it was; in English and in Italian, under the
strict Content-Security-Policy, with nothing from another host. Plus, without a browser: a file
no importer reads is refused in words (no 500), and another shop's import is not found.
Screenshots land in test-artifacts/admin/."""
import io
import re
import time
from decimal import Decimal

import pytest

from plugin_app.http.admin_pages.imports import OUTCOMES
from plugin_app.jobs.queues import ThreadQueue

from .test_admin_members_pages import ISO_DATE, _watch
from .test_admin_pages import ADMIN_SHOTS, admin, sign_in  # noqa: F401  (fixtures)
from .test_widgets import browser, needs_browser, store  # noqa: F401  (fixtures)

# English labels of the import pages that an Italian page must not show (case and word sensitive;
# words that are the same in Italian, such as "File", and the vendors' product names are left out)
ENGLISH = ["Import", "Imports", "Upload a file", "Where the file comes from", "Recognise it from its columns",
           "Tiers", "Balances in the file", "Upload and check", "Source", "State", "Uploaded", "Nothing imported yet",
           "Waiting to be checked", "Being checked", "Checked", "Rows read", "Members to create", "Members to change",
           "Members created", "Members changed", "Points added", "taken", "Store credit added", "What it is worth",
           "Rows left out", "Why", "Rows", "Line", "Customer", "What applying would do", "Apply the import",
           "Apply this import", "What the import did", "Undo this import", "Yes, undo this import", "Undone",
           "Applied", "Entries reversed", "Birthdays set", "uploaded", "Members"]

# Our members template, for the demo shop's customers (matched by customer id and e-mail), one
# customer the shop does not know yet, and two rows the importer must leave out.
MEMBERS_FILE = """email,customer_id,name,points_balance,store_credit,tier,birthday,referral_code,locale
ada@example.com,demo-1000,Ada Demo,1500,12.50,Gold,1980-01-01,ADA_OLDAPP,
ben@example.com,demo-1001,Ben Demo,40,,Silver,,,
chloe@example.com,demo-1002,Chloe Demo,2750,3,,1982-03-03,,
newbie@example.com,new-2001,Nina Newbie,300,5,,1990-07-14,NINA2001,it
,,Nobody,5,,,,,
dev@example.com,demo-1003,Dev Demo,lots,,,,,
ines@example.com,demo-1008,Ines Demo,10,,Platinum,,,
"""

# A Smile.io customer export (the vendor's own columns, as tests/fixtures/imports/smile_export.csv)
# for the demo shop's customers, matched by e-mail.
SMILE_FILE = """Name,Email,State,Date of birth,Points balance,VIP tier,Referrals completed,Referral URL,Created at,Updated at
Emma Demo,EMMA@example.com,member,1004-05-27,"1,540",Gold,3,http://i.refs.cc/9qr5Pw,2023-04-04T15:10:42.030Z,2025-01-02T09:00:00Z
Farid Demo,farid@example.com,member,1988-11-02,320,Platinum,0,http://i.refs.cc/Ab12Cd,2023-05-01T10:00:00Z,2025-01-02T09:00:00Z
Gia Demo,gia@example.com,candidate,,75,,0,,2024-01-10T08:00:00Z,2024-01-10T08:00:00Z
Stranger,stranger@nowhere.example,member,,90,,0,,2024-01-10T08:00:00Z,2024-01-10T08:00:00Z
"""


@pytest.fixture
def slow_jobs(admin):  # noqa: F811
    """The import jobs run on the app's in-process worker thread, each starting 2.5 s late (a busy
    worker), so the page is seen while the job is waiting and running, and must refresh itself."""
    rt = admin.rt
    worker = ThreadQueue(lambda task, args: (time.sleep(2.5), rt.run_task(task, args)))
    rt.imports.enqueue = worker.enqueue
    yield admin
    worker.join()


def _books(admin):  # noqa: F811
    """Every member of the demo shop: customer id -> (points, store credit, tier, birthday)."""
    from sqlalchemy import text

    with admin.rt.db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT m.platform_customer_id, b.points, b.credit, m.tier, m.birthday FROM members m"
            " JOIN balances b ON b.member_id = m.id WHERE m.shop_id = :s"), {"s": admin.shop_id}).all()
    return {r[0]: (int(r[1]), Decimal(r[2]), r[3], r[4]) for r in rows}


def _english_on(page) -> list[str]:
    visible = page.locator("body").inner_text()
    return [w for w in ENGLISH if re.search(rf"(?<![\w]){re.escape(w)}(?![\w])", visible)]


def _upload(page, admin, name: str, data: str, lang: str):  # noqa: F811
    page.goto(f"{admin.base}/admin/imports?lang={lang}")
    page.set_input_files("#file", files=[{"name": name, "mimeType": "text/csv", "buffer": data.encode()}])
    page.click("[data-upload] button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/imports/\d+$"))
    import_id = int(page.url.rsplit("/", 1)[1])
    return import_id


def _wait_for_state(page, state: str, seen_running: list):
    """Wait, without reloading, until the page (refreshing itself) shows `state`; note every
    state the page showed meanwhile and that it asked to be refreshed while running."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            shown = page.locator("[data-state]").get_attribute("data-state", timeout=5000)
        except Exception:  # the page is being replaced by its refresh
            shown = None
        if shown == state:
            return
        if shown and shown not in seen_running:
            seen_running.append(shown)
            refresh = page.locator("meta[http-equiv=refresh]")
            assert refresh.count() == 1 and refresh.get_attribute("content") == "2", shown
            assert page.locator("[data-progress]").count() == 1
        time.sleep(0.3)
    raise AssertionError(f"the page never showed {state!r}; it showed {seen_running}")


def _facts(page, section: str) -> str:
    return page.locator(f"[data-{section}] ul.facts").inner_text()


def _expected_facts(t, summary: dict, report: bool) -> list[str]:
    """The lines the page must show for a plan or a report, in the translator's words and
    number formats, from the service's own numbers."""
    m = summary["members"]
    lines = [t.gettext("Rows read: %(num)s", num=t.number(summary["rows"])),
             t.gettext("Members created: %(num)s" if report else "Members to create: %(num)s", num=t.number(m["create"])),
             t.gettext("Members changed: %(num)s" if report else "Members to change: %(num)s", num=t.number(m["change"])),
             t.gettext("Members already matching the file: %(num)s", num=t.number(m["unchanged"])),
             t.gettext("Points added: %(points)s · taken: %(taken)s", points=t.number(summary["points"]["credited"]),
                       taken=t.number(summary["points"]["debited"])),
             t.gettext("Store credit added: %(credit)s · taken: %(taken)s",
                       credit=t.money(summary["credit"]["credited"], "EUR"), taken=t.money(summary["credit"]["debited"], "EUR")),
             t.gettext("Birthdays set: %(num)s · referral codes set: %(codes)s", num=t.number(summary["birthdays"]),
                       codes=t.number(summary["codes"]))]
    if m["unmatched"]:
        lines.append(t.gettext("Customers not found: %(num)s", num=t.number(m["unmatched"])))
    if summary.get("liability"):
        lines.append(t.gettext("What it is worth: %(amount)s", amount=t.money(summary["liability"]["amount"], summary["liability"]["currency"])))
    if summary["tiers"]:
        lines.append(t.gettext("Tiers set: %(tiers)s", tiers=", ".join(f"{k} ({t.number(v)})" for k, v in sorted(summary["tiers"].items()))))
    return lines


def _table(page, section: str, heading: str) -> dict[str, str]:
    """The (why, rows) table under `heading` in the plan or the report."""
    rows = page.locator(f"[data-{section}] h3:text-is('{heading}') + table tbody tr")
    return {rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).locator("td").nth(1).inner_text()
            for i in range(rows.count())}


def _round_trip(browser, admin, lang: str, name: str, data: str):  # noqa: F811
    """Upload, check, apply and undo one file through the pages in `lang`; returns the plan."""
    from plugin_app import i18n

    t = i18n.translator(lang)
    page = sign_in(browser, admin)
    seen = _watch(page)
    before = _books(admin)
    page.goto(f"{admin.base}/admin/imports?lang={lang}")
    assert page.locator("nav").get_by_text(t.gettext("Import"), exact=True).count() == 1
    page.screenshot(path=str(ADMIN_SHOTS / f"imports-{lang}.png"), full_page=True)
    if lang == "it":
        assert not _english_on(page), _english_on(page)

    import_id = _upload(page, admin, name, data, lang)
    states: list = []
    _wait_for_state(page, "analyzed", states)
    assert states and set(states) <= {"uploaded", "analyzing"}  # the page was seen before the check ended
    assert _books(admin) == before  # checking changes nothing
    view = admin.rt.imports.view(admin.shop_id, import_id)
    assert view["state"] == "analyzed" and page.locator("meta[http-equiv=refresh]").count() == 0
    plan = view["plan"]
    facts = _facts(page, "plan")
    for line in _expected_facts(t, plan, report=False):
        assert line in facts, (line, facts)
    for key, heading in (("left_out", "Rows left out"), ("notes", "Values not taken (the rest of the row was)")):
        expected = {t.gettext(OUTCOMES[k]): t.number(n) for k, n in plan[key].items()}
        assert _table(page, "plan", t.gettext(heading)) == expected, key
    page.screenshot(path=str(ADMIN_SHOTS / f"import-plan-{lang}.png"), full_page=True)
    if lang == "it":
        assert not _english_on(page), _english_on(page)
        assert not ISO_DATE.search(page.locator("body").inner_text())

    page.click("[data-apply] button[type=submit]")
    states = []
    _wait_for_state(page, "applied", states)
    assert states == ["applying"]
    view = admin.rt.imports.view(admin.shop_id, import_id)
    report = view["report"]
    facts = _facts(page, "report")
    for line in _expected_facts(t, report, report=True):
        assert line in facts, (line, facts)
    after = _books(admin)
    assert after != before
    page.screenshot(path=str(ADMIN_SHOTS / f"import-report-{lang}.png"), full_page=True)
    if lang == "it":
        assert not _english_on(page), _english_on(page)
        assert not ISO_DATE.search(page.locator("body").inner_text())

    # the confirmation box must be ticked: the browser holds the form back until it is
    page.click("[data-revert] button[type=submit]")
    assert page.locator("[data-state]").get_attribute("data-state") == "applied"
    page.check("[data-revert] input[name=confirm]")
    page.click("[data-revert] button[type=submit]")
    states = []
    _wait_for_state(page, "reverted", states)
    assert page.locator("[data-reverted]").count() == 1
    back = _books(admin)
    created = set(back) - set(before)  # a member the import created stays, with nothing left on it
    assert {c: v for c, v in back.items() if c in before} == before
    assert created == {"new-2001"} if "new-2001" in data else not created
    assert all(back[c][0] == 0 and Decimal(back[c][1]) == 0 for c in created), {c: back[c] for c in created}
    page.screenshot(path=str(ADMIN_SHOTS / f"import-undone-{lang}.png"), full_page=True)
    if lang == "it":
        assert not _english_on(page), _english_on(page)
        assert not ISO_DATE.search(page.locator("body").inner_text())

    page.goto(f"{admin.base}/admin/imports?lang={lang}")
    row = page.locator("[data-imports] tbody tr").first.inner_text()
    assert name in row and t.gettext("Undone") in row
    assert not seen["csp"], seen["csp"]
    assert seen["hosts"] == {"127.0.0.1"}
    page.context.close()
    return plan, after, before


@needs_browser
def test_a_members_file_is_checked_applied_and_undone_in_english(browser, slow_jobs):  # noqa: F811
    ADMIN_SHOTS.mkdir(parents=True, exist_ok=True)
    plan, after, before = _round_trip(browser, slow_jobs, "en", "members.csv", MEMBERS_FILE)
    assert plan["members"]["create"] == 1 and plan["members"]["change"] == 4
    assert set(plan["left_out"]) == {"no_customer", "bad_points"} and set(plan["notes"]) == {"unknown_tier"}
    assert after["demo-1000"][:3] == (1500, Decimal("12.50"), "Gold")
    assert after["new-2001"][:2] == (300, Decimal("5"))


@needs_browser
def test_a_smile_export_is_checked_applied_and_undone_in_italian(browser, slow_jobs):  # noqa: F811
    ADMIN_SHOTS.mkdir(parents=True, exist_ok=True)
    plan, after, before = _round_trip(browser, slow_jobs, "it", "smile-export.csv", SMILE_FILE)
    assert plan["rows"] == 4 and plan["members"]["change"] >= 2


# -- without a browser ----------------------------------------------------------------------------
@pytest.fixture
def client_for(tx_app):
    """A signed-in test client for a new shop: (client, runtime, shop, csrf token)."""
    rt = tx_app.extensions["loyalty"]

    def make(domain: str):
        shop, key = rt.shops.register("demo", domain, currency="EUR", name=domain)
        client = tx_app.test_client()
        assert client.post("/admin/login", data={"key": key}).status_code == 302
        page = client.get("/admin/imports").get_data(as_text=True)
        token = re.search(r'name="csrf" value="([^"]+)"', page)[1]
        return client, rt, shop, token
    return make


def test_a_file_no_importer_reads_is_refused_in_words(client_for):
    client, rt, shop, token = client_for("shop-a.example")
    answer = client.post("/admin/imports", data={
        "csrf": token, "file": (io.BytesIO(b"colour,size,price\nred,M,12\n"), "catalogue.csv")},
        content_type="multipart/form-data")
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/imports"
    page = client.get(answer.headers["Location"])
    assert page.status_code == 200
    alert = re.search(r'<p class="err" role="alert">([^<]+)</p>', page.get_data(as_text=True))[1]
    assert alert == ("The file was not taken: its columns are not those of any file we read. Choose where it comes "
                     "from, or use our template.")
    assert 'role="alert"' not in client.get("/admin/imports").get_data(as_text=True)  # said once
    assert "Pay us" not in client.get("/admin/imports?error=Pay+us").get_data(as_text=True)  # no words from a link
    assert rt.imports.recent(shop.id) == []
    empty = client.post("/admin/imports?lang=it", data={"csrf": token, "file": (io.BytesIO(b"  \n"), "empty.csv")},
                        content_type="multipart/form-data")
    assert "vuoto" in client.get(empty.headers["Location"]).get_data(as_text=True)
    chosen = client.post("/admin/imports?lang=en", data={
        "csrf": token, "format": "smile_export", "file": (io.BytesIO(b"Name,Email\nAda,ada@example.com\n"), "a.csv")},
        content_type="multipart/form-data")
    text = client.get(chosen.headers["Location"]).get_data(as_text=True)
    assert "it lacks columns this kind of file needs: date_of_birth or referral_url, points_balance or points" in text
    nothing = client.post("/admin/imports", data={"csrf": token}, content_type="multipart/form-data")
    assert "Choose the file to import." in client.get(nothing.headers["Location"]).get_data(as_text=True)


def test_another_shops_import_is_not_found(client_for):
    client_a, rt, shop_a, token_a = client_for("shop-a.example")
    client_b, _, shop_b, token_b = client_for("shop-b.example")
    theirs = rt.imports.upload(shop_b.id, "b.csv", io.BytesIO(MEMBERS_FILE.encode()))
    assert rt.imports.view(shop_b.id, theirs["id"])["state"] == "analyzed"
    assert client_b.get(f"/admin/imports/{theirs['id']}").status_code == 200
    page = client_a.get(f"/admin/imports/{theirs['id']}")
    assert page.status_code == 404 and "There is no such import in this shop." in page.get_data(as_text=True)
    assert "b.csv" not in client_a.get("/admin/imports").get_data(as_text=True)
    for action in ("apply", "revert"):
        answer = client_a.post(f"/admin/imports/{theirs['id']}", data={"csrf": token_a, "action": action, "confirm": "yes"})
        assert answer.status_code == 404
    assert rt.imports.view(shop_b.id, theirs["id"])["state"] == "analyzed"  # untouched
    assert client_a.get("/admin/imports/999999").status_code == 404


def test_undo_needs_the_tick_and_a_second_apply_says_why_nothing_was_done(client_for):
    client, rt, shop, token = client_for("shop-a.example")
    mine = rt.imports.upload(shop.id, "mine.csv", io.BytesIO(MEMBERS_FILE.encode()))
    url = f"/admin/imports/{mine['id']}"
    assert client.post(url, data={"csrf": token, "action": "apply"}).status_code == 200
    assert rt.imports.view(shop.id, mine["id"])["state"] == "applied"
    again = client.post(url, data={"csrf": token, "action": "apply"}).get_data(as_text=True)
    assert "Nothing was done. The import&#39;s state: Applied." in again
    unticked = client.post(url, data={"csrf": token, "action": "revert"})
    assert unticked.status_code == 200 and "Tick the box to confirm that the import should be undone." in unticked.get_data(as_text=True)
    assert rt.imports.view(shop.id, mine["id"])["state"] == "applied"
    client.post(url, data={"csrf": token, "action": "revert", "confirm": "yes"})
    assert rt.imports.view(shop.id, mine["id"])["state"] == "reverted"
    assert "Undone" in client.get(url).get_data(as_text=True)

"""The admin's Members list (count, pages, sorts, filters, CSV export, one shop only), the member
page (store-credit adjustment, readable authors, birthday in Italian), Analytics and Operations,
in English and Italian, under the strict Content-Security-Policy. Screenshots land in
test-artifacts/admin/."""
import csv
import io
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests
from sqlalchemy import text

from .test_admin_pages import ADMIN_SHOTS, admin, sign_in  # noqa: F401  (fixtures)
from .test_widgets import browser, needs_browser, store  # noqa: F401  (fixtures)

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# English labels of these pages that an Italian page must not show (case and word sensitive)
ENGLISH = ["Members", "Search", "Points", "Store credit", "Last activity", "Joined", "Lifetime points", "Any tier",
           "Export CSV", "Showing", "Adjust points", "Adjust store credit", "Birthday", "History", "What and why",
           "You, in the admin", "Analytics", "Points issued", "Outstanding points", "Liability", "Period",
           "Operations", "Reward codes used by another customer", "Background workers", "Try again", "Never",
           "Download as CSV", "Tier", "Reason", "When", "Earned", "Adjusted", "Redeemed", "Automatic"]


def _session(admin):  # noqa: F811
    s = requests.Session()
    assert s.post(f"{admin.base}/admin/login", data={"key": admin.key_admin}, allow_redirects=False).status_code == 302
    return s


def _rows(html: str) -> list[str]:
    """The customer ids of the list's rows, in the order shown."""
    return re.findall(r'<tr data-member="([^"]+)"', html)


def _total(html: str) -> int:
    return int(re.search(r'data-total="(\d+)"', html)[1])


def _all_members(admin):  # noqa: F811
    """The shop's members as the database holds them (the test's own reading, not the page's)."""
    with admin.rt.db.engine.connect() as conn:
        return conn.execute(text(
            "SELECT m.id, m.platform_customer_id AS cid, m.name, m.email, m.tier, m.created_at, m.last_activity_at,"
            " b.points, b.points_lifetime, b.credit FROM members m JOIN balances b ON b.member_id = m.id"
            " WHERE m.shop_id = :s"), {"s": admin.shop_id}).all()


def _expected(rows, key, descending):
    """The order a sort must give: by the column (nulls last either way), ties by id."""
    col = {"joined": "created_at", "balance": "points", "lifetime": "points_lifetime",
           "activity": "last_activity_at", "name": "name"}[key]
    present = [r for r in rows if getattr(r, col) is not None]
    missing = [r for r in rows if getattr(r, col) is None]
    present.sort(key=lambda r: (getattr(r, col), r.id), reverse=descending)
    missing.sort(key=lambda r: r.id, reverse=descending)
    return [r.cid for r in present + missing]


@pytest.fixture
def crowd(admin):  # noqa: F811
    """More members than one page holds, some of them idle for a long time, and a member of
    another shop that must never show."""
    rt = admin.rt
    for i in range(40):
        m, _ = rt.members.enrol(admin.shop_id, f"bulk-{i:02d}", email=f"bulk{i:02d}@example.com",
                                name=None if i % 5 == 0 else f"Bulk {chr(65 + i % 26)}{i:02d}")
        if i % 3 == 0:
            rt.ledger.adjust(admin.shop_id, m.id, "points", 10 + i * 7, key=f"crowd-{i}", actor="test", reason="crowd")
    idle = datetime.now(timezone.utc) - timedelta(days=200)
    with rt.db.engine.begin() as conn:
        conn.execute(text("UPDATE members SET last_activity_at = :t WHERE shop_id = :s AND platform_customer_id"
                          " IN ('bulk-03', 'bulk-06')"), {"t": idle, "s": admin.shop_id})
    other, _ = rt.shops.register("shopify", "another-shop.myshopify.com", currency="EUR", name="Another shop")
    stranger, _ = rt.members.enrol(other.id, "bulk-99", email="stranger@example.com", name="Stranger Danger")
    rt.ledger.adjust(other.id, stranger.id, "points", 5000, key="stranger", actor="test", reason="other shop")
    admin.stranger = stranger
    return admin


def test_the_list_shows_members_at_once_with_count_pages_sorts_and_filters(crowd):
    s = _session(crowd)
    everyone = _all_members(crowd)
    assert len(everyone) > 50
    first = s.get(f"{crowd.base}/admin/members")
    assert first.status_code == 200
    assert _total(first.text) == len(everyone)  # no search needed
    page1 = _rows(first.text)
    assert len(page1) == 50 and "bulk-99" not in page1
    assert "Page 1 of 2" in first.text
    page2 = _rows(s.get(f"{crowd.base}/admin/members", params={"page": 2}).text)
    assert len(page2) == len(everyone) - 50 and not set(page1) & set(page2)
    assert set(page1) | set(page2) == {r.cid for r in everyone}
    assert _rows(s.get(f"{crowd.base}/admin/members", params={"page": 99}).text) == page2  # past the end: the last page

    for key in ("joined", "balance", "lifetime", "activity", "name"):
        for direction in ("asc", "desc"):
            html = s.get(f"{crowd.base}/admin/members", params={"sort": key, "dir": direction}).text
            assert _rows(html) == _expected(everyone, key, direction == "desc")[:50], (key, direction)

    tiers = {r.tier for r in everyone if r.tier}
    for tier in tiers:
        html = s.get(f"{crowd.base}/admin/members", params={"tier": tier}).text
        assert set(_rows(html)) == {r.cid for r in everyone if r.tier == tier}
        assert _total(html) == sum(1 for r in everyone if r.tier == tier)
    html = s.get(f"{crowd.base}/admin/members", params={"min": 50, "max": 200}).text
    assert set(_rows(html)) == {r.cid for r in everyone if 50 <= r.points <= 200} != set()
    html = s.get(f"{crowd.base}/admin/members", params={"activity": "inactive90"}).text
    cutoff = datetime.now(timezone.utc) - timedelta(days=90)
    assert set(_rows(html)) == {r.cid for r in everyone if r.last_activity_at is None or r.last_activity_at < cutoff}
    assert {"bulk-03", "bulk-06"} <= set(_rows(html))
    html = s.get(f"{crowd.base}/admin/members", params={"activity": "active30"}).text
    assert set(_rows(html)) == {r.cid for r in everyone if r.last_activity_at and r.last_activity_at >= cutoff + timedelta(days=60)}
    assert "bulk-03" not in _rows(html)
    for q, expected in (("ada", {"demo-1000"}), ("bulk-07", {"bulk-07"}), ("BULK12@EX", {"bulk-12"}), ("stranger", set())):
        assert set(_rows(s.get(f"{crowd.base}/admin/members", params={"q": q}).text)) == expected, q
    bad = s.get(f"{crowd.base}/admin/members", params={"min": "lots"})
    assert bad.status_code == 200 and "must be a whole number" in bad.text and _total(bad.text) == len(everyone)
    assert "must not be above" in s.get(f"{crowd.base}/admin/members", params={"min": 9, "max": 1}).text


def test_the_csv_export_streams_the_filtered_list_of_this_shop_only(crowd):
    s = _session(crowd)
    everyone = {r.cid: r for r in _all_members(crowd)}
    answer = s.get(f"{crowd.base}/admin/members.csv")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == ["customer_id", "name", "email", "tier", "points", "store_credit", "currency",
                             "lifetime_points", "birthday", "last_activity", "joined"]
    assert {r["customer_id"] for r in rows} == set(everyone) and "bulk-99" not in answer.text
    ada = next(r for r in rows if r["customer_id"] == "demo-1000")
    db = everyone["demo-1000"]
    assert (ada["email"], int(ada["points"]), int(ada["lifetime_points"]), Decimal(ada["store_credit"])) == \
        (db.email, db.points, db.points_lifetime, db.credit)
    assert ada["birthday"] == "1980-01-01" and ada["joined"].startswith(db.created_at.date().isoformat())
    filtered = list(csv.DictReader(io.StringIO(s.get(f"{crowd.base}/admin/members.csv", params={"min": 50, "max": 200}).text)))
    assert {r["customer_id"] for r in filtered} == {c for c, r in everyone.items() if 50 <= r.points <= 200}
    # another shop's member is not reachable from this shop's pages
    assert s.get(f"{crowd.base}/admin/members/{crowd.stranger.id}").status_code == 404
    assert s.post(f"{crowd.base}/admin/members/{crowd.stranger.id}", data={"form": "points", "amount": "5", "reason": "x"}).status_code == 403


def test_a_spreadsheet_formula_in_a_name_is_exported_as_text(admin):  # noqa: F811
    admin.rt.members.enrol(admin.shop_id, "evil-1", email="evil@example.com", name="=HYPERLINK(\"http://x\")")
    rows = list(csv.DictReader(io.StringIO(_session(admin).get(f"{admin.base}/admin/members.csv", params={"q": "evil-1"}).text)))
    assert [r["name"] for r in rows] == ["'=HYPERLINK(\"http://x\")"]


def test_bad_adjustments_change_nothing_and_say_why(admin):  # noqa: F811
    s = _session(admin)
    page = s.get(f"{admin.base}/admin/members/{admin.member.id}").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)[1]
    before = admin.rt.members.get(admin.shop_id, admin.member.id)[1]
    for form, why in (({"form": "points", "amount": "1.5", "reason": "x"}, "whole number of points"),
                      ({"form": "points", "amount": "0", "reason": "x"}, "whole number of points"),
                      ({"form": "credit", "amount": "1.234", "reason": "x"}, "at most two decimals"),
                      ({"form": "credit", "amount": "abc", "reason": "x"}, "at most two decimals"),
                      ({"form": "credit", "amount": "5", "reason": "  "}, "Say why"),
                      ({"form": "credit", "amount": "-1000", "reason": "too much"}, "does not have that much"),
                      ({"form": "birthday", "birthday_month": "2", "birthday_day": "31"}, "not a valid birthday"),
                      ({"form": "birthday", "birthday_date": "2999-01-01"}, "not a valid birthday")):
        answer = s.post(f"{admin.base}/admin/members/{admin.member.id}", data={**form, "csrf": token})
        assert answer.status_code == 200 and why in answer.text, form
    after = admin.rt.members.get(admin.shop_id, admin.member.id)
    assert after[1] == before and after[0].birthday == admin.member.birthday


def _watch(page):
    """Console CSP violations and requests to any other host than the app's."""
    seen = {"csp": [], "hosts": set()}
    page.on("console", lambda m: "Content Security Policy" in m.text and seen["csp"].append(m.text))
    page.on("request", lambda r: seen["hosts"].add(re.match(r"https?://([^/:]+)", r.url)[1]) if r.url.startswith("http") else None)
    return seen


@needs_browser
def test_member_page_adjusts_store_credit_and_reads_like_a_person_wrote_it(browser, admin):  # noqa: F811
    ADMIN_SHOTS.mkdir(parents=True, exist_ok=True)
    page = sign_in(browser, admin)
    seen = _watch(page)
    page.goto(f"{admin.base}/admin/members")
    page.locator("[data-member=demo-1000] a").click()
    credit = Decimal(page.locator("[data-credit]").get_attribute("data-credit"))
    page.fill("[data-adjust=credit] input[name=amount]", "5.50")
    page.fill("[data-adjust=credit] input[name=reason]", "sorry for the late parcel")
    page.click("[data-adjust=credit] button")
    assert "Store credit adjusted by €5.50" in page.locator("[role=status]").inner_text()
    assert Decimal(page.locator("[data-credit]").get_attribute("data-credit")) == credit + Decimal("5.50")
    assert admin.rt.members.get(admin.shop_id, admin.member.id)[1].credit.amount == credit + Decimal("5.50")
    row = page.locator("[data-ledger] tbody tr").first.inner_text()
    assert "sorry for the late parcel" in row and "You, in the admin" in row and "+€5.50" in row
    assert "admin-page" not in page.locator("body").inner_text()
    points = int(page.locator("[data-points]").get_attribute("data-points"))
    page.fill("[data-adjust=points] input[name=amount]", "-20")
    page.fill("[data-adjust=points] input[name=reason]", "duplicate order, refunded by hand")
    page.click("[data-adjust=points] button")
    assert int(page.locator("[data-points]").get_attribute("data-points")) == points - 20
    # a birthday without the year, shown as a date in the admin's language
    page.fill("[data-birthday] input[name=birthday_date]", "")
    page.fill("[data-birthday] input[name=birthday_day]", "14")
    page.select_option("[data-birthday] select[name=birthday_month]", "3")
    page.click("[data-birthday] button")
    assert page.locator("[data-birthday-shown]").inner_text() == "March 14"
    assert "You, in the admin" in page.locator("[data-birthday] table").inner_text()
    page.screenshot(path=str(ADMIN_SHOTS / "member-en.png"), full_page=True)
    page.goto(f"{admin.base}/admin/members/{admin.member.id}?lang=it")
    assert page.locator("[data-birthday-shown]").inner_text() == "14 marzo"
    assert "Tu, nel pannello di amministrazione" in page.locator("[data-ledger]").inner_text()
    assert "5,50\xa0€" in page.locator("[data-credit]").inner_text()
    page.screenshot(path=str(ADMIN_SHOTS / "member-it.png"), full_page=True)
    # a full date through the date input
    page.fill("[data-birthday] input[name=birthday_date]", "1990-03-14")
    page.click("[data-birthday] button")
    assert page.locator("[data-birthday-shown]").inner_text() == "14 marzo 1990"
    assert admin.rt.members.get(admin.shop_id, admin.member.id)[0].birthday.isoformat() == "1990-03-14"
    assert not seen["csp"]


@needs_browser
def test_the_pages_in_english_and_italian_with_no_third_party_script(browser, admin):  # noqa: F811
    ADMIN_SHOTS.mkdir(parents=True, exist_ok=True)
    page = sign_in(browser, admin)
    seen = _watch(page)
    member = admin.rt.members.by_customer(admin.shop_id, "demo-1003")[0]
    admin.rt.adjustments.adjust(admin.shop_id, member.id, "credit", Decimal("3"), key="shots", actor=f"admin-page:{admin.shop_id}",
                                reason="goodwill")
    pages = {"members": "/admin/members", "member": f"/admin/members/{member.id}", "analytics": "/admin/dashboard",
             "operations": "/admin/operations"}
    for lang in ("en", "it"):
        for name, path in pages.items():
            page.goto(f"{admin.base}{path}?lang={lang}")
            page.wait_for_load_state("networkidle")
            if name == "analytics":
                charts = page.locator("[data-chart] img")
                assert charts.count() == 9
                for i in range(charts.count()):
                    img = charts.nth(i)
                    img.scroll_into_view_if_needed()  # lazy pictures load once scrolled to
                    img.evaluate("i => i.complete || new Promise(r => i.addEventListener('load', r, {once: true}))")
                    assert img.evaluate("i => i.complete && i.naturalWidth > 0"), img.get_attribute("src")
                    assert img.get_attribute("alt")
            page.screenshot(path=str(ADMIN_SHOTS / f"{name}-{lang}.png"), full_page=True)
            if lang == "it":
                visible = page.locator("body").inner_text()
                english = [w for w in ENGLISH if re.search(rf"(?<![\w]){re.escape(w)}(?![\w])", visible)]
                assert not english, (name, english)
                assert not ISO_DATE.search(visible), (name, ISO_DATE.findall(visible))
    assert not seen["csp"], seen["csp"]
    assert seen["hosts"] == {"127.0.0.1"}  # no script, style or picture from another site
    svg = requests.Session()
    svg.post(f"{admin.base}/admin/login", data={"key": admin.key_admin})
    chart = svg.get(f"{admin.base}/admin/dashboard/charts/daily.svg")
    assert chart.headers["Content-Type"].startswith("image/svg+xml")
    assert "kozea.github.io" not in chart.text and "<script" not in chart.text
    assert svg.get(f"{admin.base}/admin/dashboard/charts/nope.svg").status_code == 404


@needs_browser
def test_analytics_period_errors_in_the_admins_language(browser, admin):  # noqa: F811
    page = sign_in(browser, admin)
    page.goto(f"{admin.base}/admin/dashboard?from=2020-01-10&to=2020-01-01&lang=it")
    assert page.locator("[role=alert]").inner_text() == "L'inizio deve precedere la fine."
    page.goto(f"{admin.base}/admin/dashboard?from=2020-02-30&lang=en")
    assert page.locator("[role=alert]").inner_text() == "The start of the period is not a valid date."

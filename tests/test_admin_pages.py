"""The admin pages in Chromium: sign in, the dashboard's charts, a tier threshold edited with a
preview of who moves, saved as a new version and restored, a member adjusted with a reason; plus
the one-time link, CSRF and Italian. Screenshots land in test-artifacts/admin/."""
import re

import pytest

from .test_widgets import SHOTS, browser, needs_browser, store  # noqa: F401  (fixtures)

ADMIN_SHOTS = SHOTS.parent / "admin"


@pytest.fixture
def admin(store):  # noqa: F811
    rt = store.rt
    shop = rt.shops.get(store.shop_id)
    key = rt.shops.register(shop.platform, shop.domain, currency=shop.currency, name=shop.name)[1]
    mover = rt.members.by_customer(store.shop_id, "demo-1003")[0]
    rt.ledger.earn(store.shop_id, mover.id, "points", 900, key="mover", source="order", reason="a big order")
    store.key_admin = key
    return store


def sign_in(browser, admin, lang=None):  # noqa: F811
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.goto(f"{admin.base}/admin/login")
    page.fill("#key", admin.key_admin)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/home$"))  # signing in lands on the program's home
    if lang:
        page.goto(f"{admin.base}/admin/dashboard?lang={lang}")
    return page


@needs_browser
def test_dashboard_members_and_program_pages(browser, admin):  # noqa: F811
    ADMIN_SHOTS.mkdir(parents=True, exist_ok=True)
    page = sign_in(browser, admin)
    page.goto(f"{admin.base}/admin/dashboard")
    charts = page.locator("[data-chart]")
    names = {charts.nth(i).get_attribute("data-chart") for i in range(charts.count())}
    assert names == {"daily", "orders", "enrolments", "tiers", "aov", "repeat", "money", "referrals", "segments"}
    for table in ("segments", "tiers", "cohorts"):  # issue 21's tables, each with its definition beside it
        assert page.locator(f"[data-{table}] table").count() == 1 and page.locator(f"[data-{table}] .help").count() == 1
    assert page.locator("[data-segments] tbody tr").count() == 3 and page.locator("[data-cohorts] tbody tr").count() == 12
    images = page.locator("[data-chart] img")  # each chart its own SVG picture (no script, strict CSP)
    assert images.count() == len(names)
    for i in range(images.count()):  # lazy pictures: each loads once scrolled to
        images.nth(i).scroll_into_view_if_needed()
    page.wait_for_function("[...document.querySelectorAll('[data-chart] img')].every(i => i.complete)", timeout=10000)
    assert all(images.nth(i).evaluate("i => i.complete && i.naturalWidth > 0") for i in range(images.count()))
    page.screenshot(path=str(ADMIN_SHOTS / "dashboard-en.png"), full_page=True)
    page.fill("input[name=from]", "2020-01-10")
    page.fill("input[name=to]", "2020-01-01")
    page.click("form[aria-label=Period] button")
    assert "The start must be before the end." in page.locator("[role=alert]").inner_text()

    # A tier threshold edited on the VIP tiers page: preview who moves, save, restore (asked first).
    page.goto(f"{admin.base}/admin/tiers")
    version = admin.rt.programs.current(admin.shop_id).version
    gold = page.locator("[data-row='tiers.levels.2']")
    gold.get_by_label("Reached at").fill("900")
    page.get_by_role("button", name="Preview changes").click()
    assert "would move from Silver to Gold" in page.locator("[data-preview]").inner_text()
    assert gold.get_by_label("Reached at").input_value() == "900"  # the edit is kept
    page.screenshot(path=str(ADMIN_SHOTS / "program-preview-en.png"), full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()
    assert f"Saved as version {version + 1}" in page.locator("[role=status]").inner_text()
    assert admin.rt.programs.current(admin.shop_id).program.tiers.levels[2].threshold == 900
    gold.get_by_label("Reached at").fill("-5")
    page.get_by_role("button", name="Save", exact=True).click()
    assert "Must not be below 0" in page.locator("#e-f-tiers-levels-2-threshold").inner_text()  # next to the field
    page.screenshot(path=str(ADMIN_SHOTS / "program-error-en.png"), full_page=True)
    page.goto(f"{admin.base}/admin/program/history")
    page.locator(f"[data-version='{version}']").get_by_role("link", name="Restore…").click()
    assert "Gold – Reached at: 900 → 1,500" in page.locator("[data-changes]").inner_text()
    page.get_by_role("button", name=f"Restore version {version}").click()
    assert admin.rt.programs.current(admin.shop_id).version == version + 2
    assert admin.rt.programs.current(admin.shop_id).program.tiers.levels[2].threshold == 1500

    page.goto(f"{admin.base}/admin/members?q=demo-1000")
    page.locator("[data-member=demo-1000] a").click()
    before = int(page.locator("[data-points]").get_attribute("data-points"))
    page.fill("[data-adjust=points] input[name=amount]", "-20")
    page.fill("[data-adjust=points] input[name=reason]", "duplicate order, refunded by hand")
    page.click("[data-adjust=points] button")
    assert int(page.locator("[data-points]").get_attribute("data-points")) == before - 20
    ledger = page.locator("[data-ledger]").inner_text()
    assert "duplicate order, refunded by hand" in ledger and "You, in the admin" in ledger
    page.screenshot(path=str(ADMIN_SHOTS / "member-adjusted-en.png"), full_page=True)

    page.goto(f"{admin.base}/admin/dashboard?lang=it")
    assert "Statistiche" in page.locator("nav").inner_text() and "Punti assegnati" in page.locator("main").inner_text()
    page.screenshot(path=str(ADMIN_SHOTS / "dashboard-it.png"), full_page=True)


def test_sign_in_link_csrf_and_scoping(admin):  # noqa: F811
    import requests
    from itsdangerous import URLSafeTimedSerializer

    s = requests.Session()
    assert s.get(f"{admin.base}/admin/dashboard", allow_redirects=False).status_code == 302  # signed out
    assert s.post(f"{admin.base}/admin/login", data={"key": "lk_wrong"}).status_code == 200
    assert s.get(f"{admin.base}/admin/dashboard", allow_redirects=False).status_code == 302
    assert s.get(f"{admin.base}/admin/link/made-up").status_code == 401
    # The same signer as `loyalty admin-link` (the test app has no SECRET_KEY, so the dev one).
    link = URLSafeTimedSerializer("dev-only-not-secret", salt="admin-link").dumps(admin.shop_id)
    assert s.get(f"{admin.base}/admin/link/{link}").status_code == 200
    assert s.post(f"{admin.base}/admin/members/{admin.member.id}", data={"amount": "5", "reason": "x"}).status_code == 403
    assert s.get(f"{admin.base}/admin/members/999999").status_code == 404  # not this shop's member
    csv = s.get(f"{admin.base}/admin/api/v1/analytics/daily.csv")  # the page's CSV links, by session
    assert csv.status_code == 200 and csv.text.startswith("day,")
    assert s.post(f"{admin.base}/admin/api/v1/members/{admin.member.id}/adjustments",
                  json={"amount": 5, "reason": "x", "idempotency_key": "k"}).status_code == 401  # writes need a key


@needs_browser
def test_the_merchant_corrects_a_birthday_on_the_member_page(browser, admin):  # noqa: F811
    page = sign_in(browser, admin)
    member = admin.rt.members.by_customer(admin.shop_id, "demo-1002")[0]
    page.goto(f"{admin.base}/admin/members/{member.id}")
    page.fill("[data-birthday] input[name=birthday_day]", "30")
    page.select_option("[data-birthday] select[name=birthday_month]", "2")
    page.click("[data-birthday] button")
    assert "not a valid birthday" in page.locator("[role=alert]").inner_text()
    page.fill("[data-birthday] input[name=birthday_day]", "29")
    page.select_option("[data-birthday] select[name=birthday_month]", "2")
    page.click("[data-birthday] button")
    card = page.locator("[data-birthday]").inner_text()
    assert "February 29" in card and "You, in the admin" in card and "admin-page" not in card
    assert admin.rt.members.get(admin.shop_id, member.id)[0].birthday.strftime("%m-%d") == "02-29"
    ADMIN_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ADMIN_SHOTS / "member-birthday-en.png"), full_page=True)

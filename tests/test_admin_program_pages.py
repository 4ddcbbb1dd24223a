"""The merchant sets up the seed example through the program pages in Chromium, as a merchant
would: no JSON, no internal names; the stored program is the one expected. Screenshots of every
page in English and Italian go to test-artifacts/admin/; no page logs a CSP violation or a script
error; a restore shows what changes and for whom and changes nothing until confirmed."""
import re
from decimal import Decimal

import pytest

from plugin_app.services.program import dump, parse

from .test_widgets import SHOTS, browser, needs_browser, store  # noqa: F401  (fixtures)

ADMIN_SHOTS = SHOTS.parent / "admin"
PAGES = ["home", "earn", "redeem", "tiers", "referrals", "cashback", "campaigns", "badges", "leaderboard-survey",
         "segments/thresholds", "settings", "program/history"]

# Where the merchant starts: a program that is not the seed example yet (2 points per euro, no
# welcome points, nothing to redeem, one tier, no cashback, campaigns or referrals).
START = {"earning": {"points_per_unit": "2"}, "actions": {"signup": {"enabled": False, "points": 0}},
         "rewards": [], "tiers": {"levels": [{"name": "Member", "threshold": 0}]},
         "cashback": {"enabled": False}, "referrals": {"enabled": False}}


@pytest.fixture
def merchant(store):  # noqa: F811
    rt = store.rt
    shop, key = rt.shops.register("demo", "setup.example", currency="EUR", name="Setup Shop")
    rt.programs.put(shop.id, START, author="test")
    store.setup_shop, store.setup_key = shop, key
    return store


def open_admin(browser, store, problems):  # noqa: F811
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{store.base}/admin/login")
    page.fill("#key", store.setup_key)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/home$"))  # the merchant lands on the home page
    return page


def save(page):
    page.get_by_role("button", name="Save", exact=True).click()
    assert "Saved as version" in page.locator("[role=status]").inner_text(), page.locator("main").inner_text()[:2000]


@needs_browser
def test_the_merchant_sets_up_the_seed_example_without_json(browser, merchant):  # noqa: F811
    ADMIN_SHOTS.mkdir(parents=True, exist_ok=True)
    rt, shop = merchant.rt, merchant.setup_shop
    problems: list[str] = []
    page = open_admin(browser, merchant, problems)
    assert "Launch checklist" in page.inner_text("main")

    # Ways to earn: 1 point per euro, 50 welcome points.
    page.goto(f"{merchant.base}/admin/earn")
    page.get_by_label("Points for each 1 € spent").fill("1")
    welcome = page.locator("[data-action=signup]")
    welcome.get_by_label("Give welcome points when a customer creates an account").check()
    welcome.get_by_label("Points", exact=True).fill("50")
    page.get_by_role("button", name="Preview changes").click()
    assert "A €100.00 order would earn 100 points instead of 200" in page.inner_text("[data-preview]")
    assert "A €100.00 order earns 100 points" in page.inner_text("[data-example]")  # recomputed on preview
    save(page)

    # Ways to redeem: 100 points = 5 € off.
    page.goto(f"{merchant.base}/admin/redeem")
    page.get_by_role("button", name="+ Add a reward").click()
    reward = page.locator("[data-row='rewards.0']")
    reward.get_by_label("Name customers see").fill("€5 off your order")
    reward.get_by_label("What the customer gets").select_option(label="An amount off the order")
    reward.get_by_label("Cost").fill("100")
    reward.get_by_label("Amount off").fill("5")
    save(page)
    assert "100 points take €5.00 off a €100.00 cart" in page.inner_text("[data-example]")

    # VIP tiers: Bronze from 0, Silver from 500 (×1.25), Gold from 1500 (×1.5).
    page.goto(f"{merchant.base}/admin/tiers")
    page.locator("[data-row='tiers.levels.0']").get_by_label("Name").fill("Bronze")
    for i, (name, threshold, factor) in enumerate([("Silver", "500", "1.25"), ("Gold", "1500", "1.5")], 1):
        page.get_by_role("button", name="+ Add a tier").click()
        row = page.locator(f"[data-row='tiers.levels.{i}']")
        row.get_by_label("Name").fill(name)
        row.get_by_label("Reached at").fill(threshold)
        row.get_by_label("Points multiplied by").fill(factor)
    page.locator("[data-row='tiers.levels.1'] input[name$='.threshold']").fill("-5")  # a slip, caught next to it
    page.get_by_role("button", name="Save", exact=True).click()
    assert "Must not be below 0" in page.locator("[data-row='tiers.levels.1'] .ferr").inner_text()
    page.screenshot(path=str(ADMIN_SHOTS / "program-tiers-error-en.png"), full_page=True)
    page.locator("[data-row='tiers.levels.1'] input[name$='.threshold']").fill("500")
    save(page)
    assert "A €100.00 order earns 125 points at Silver" in page.inner_text("[data-row='tiers.levels.1']")

    # Cashback: 5 %.
    page.goto(f"{merchant.base}/admin/cashback")
    page.get_by_label("Cashback is on").check()
    page.get_by_label("Cashback rate").fill("5")
    save(page)

    # Campaigns: double points on birthdays.
    page.goto(f"{merchant.base}/admin/campaigns")
    page.get_by_role("button", name="+ Add a campaign").click()
    camp = page.locator("[data-row='campaigns.0']")
    camp.get_by_label("Name").fill("Birthday double points")
    camp.get_by_label("Kind").select_option(label="Extra points on the customer's birthday")
    camp.get_by_label("Points multiplied by").fill("2")
    save(page)
    assert "On the customer's birthday a €100.00 order earns 200 points instead of 100" in page.inner_text("[data-example]")

    # Referrals with extra cashback for the referrer on the friend's orders.
    page.goto(f"{merchant.base}/admin/referrals")
    page.get_by_label("Referrals are on").check()
    page.get_by_label("Share of each of the friend's orders").fill("2")
    page.get_by_label("Many referrals from one network", exact=True).select_option(label="Give it, but note it")
    save(page)
    assert "the referrer gets €2.00 store credit" in page.inner_text("[data-example]")

    # Settings: the shop's time zone from the list, and the widget's colour with a live preview.
    page.goto(f"{merchant.base}/admin/settings")
    page.get_by_label("Time zone").select_option("Europe/Rome")
    page.get_by_label("Colour").fill("#aa3377")
    page.get_by_label("Button text").fill("Club points")
    assert page.inner_text("[data-wp-text]") == "Club points"  # the preview follows the inputs
    assert page.evaluate("getComputedStyle(document.querySelector('[data-wp-launcher]')).backgroundColor") == "rgb(170, 51, 119)"
    save(page)

    expected = dump(parse(START))
    expected["earning"]["points_per_unit"] = "1"
    expected["actions"]["signup"].update(enabled=True, points=50)
    expected["rewards"] = [dump(parse({"rewards": [{"id": "5-off-your-order", "name": "€5 off your order", "type": "fixed_amount",
                                                    "points_cost": 100, "amount": "5"}]}))["rewards"][0]]
    expected["tiers"]["levels"] = [{"name": n, "threshold": t, "earn_multiplier": m, "cashback_rate": None,
                                    "entry_reward_points": 0, "perks": [], "names": {}, "perks_i18n": {}}
                                   for n, t, m in [("Bronze", "0", "1"), ("Silver", "500", "1.25"), ("Gold", "1500", "1.5")]]
    expected["cashback"].update(enabled=True, rate="5")
    expected["campaigns"] = [{"name": "Birthday double points", "factor": "2", "kind": "birthday", "window": None,
                              "days_of_week": [], "match": None, "birthday_when": "day", "segments": []}]
    expected["referrals"].update(enabled=True)
    expected["referrals"]["cashback"]["rate"] = "2"
    expected["referrals"]["fraud"]["ip_velocity"] = "observe"
    expected.update(timezone="Europe/Rome")
    expected["widget"].update(colour="#aa3377", launcher_text="Club points")
    stored = rt.programs.current(shop.id).program
    assert dump(stored) == expected
    assert stored.earning.points_per_unit == 1 and stored.rewards[0].amount == Decimal(5)

    # Every page, in English and in Italian.
    for lang in ("en", "it"):
        page.goto(f"{merchant.base}/admin/home?lang={lang}")
        for name in PAGES:
            page.goto(f"{merchant.base}/admin/{name}")
            assert page.locator("h1").count() == 1
            page.screenshot(path=str(ADMIN_SHOTS / f"program-{name.replace('/', '-')}-{lang}.png"), full_page=True)
        it_text = page.inner_text("main") if lang == "it" else ""
    assert "Cronologia del programma" in it_text and "Tu, nel pannello di amministrazione" in it_text
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert not problems, problems


@needs_browser
def test_a_restore_shows_what_changes_and_for_whom_and_waits_for_confirmation(browser, merchant):  # noqa: F811
    rt, shop = merchant.rt, merchant.setup_shop
    member, _ = rt.members.enrol(shop.id, "mover")
    rt.ledger.earn(shop.id, member.id, "points", 900, key="mover", source="order", reason="x")
    three_tiers = {**START, "tiers": {"levels": [{"name": "Bronze", "threshold": 0}, {"name": "Silver", "threshold": 500},
                                                 {"name": "Gold", "threshold": 1500}]}}
    old = rt.programs.put(shop.id, three_tiers, author="admin-page:1").version
    rt.programs.put(shop.id, {**three_tiers, "referrals": {"enabled": True},
                              "tiers": {"levels": [{"name": "Bronze", "threshold": 0}, {"name": "Silver", "threshold": 500},
                                                   {"name": "Gold", "threshold": 800}]}}, author="api-key")
    before = rt.programs.current(shop.id).version
    problems: list[str] = []
    page = open_admin(browser, merchant, problems)
    page.goto(f"{merchant.base}/admin/program/history")
    newest = page.locator(f"[data-version='{before}']").inner_text()
    assert "API" in newest and "Referrals switched on" in newest and "Gold – Reached at: 1,500 → 800" in newest
    assert "admin-page" not in page.inner_text("main") and "You, in the admin" in page.inner_text("main")
    page.locator(f"[data-version='{old}']").get_by_role("link", name="Restore…").click()
    assert "Referrals switched off" in page.inner_text("[data-changes]")
    assert "Gold – Reached at: 800 → 1,500" in page.inner_text("[data-changes]")
    assert "1 member would move from Gold to Silver" in page.inner_text("[data-preview]")
    ADMIN_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ADMIN_SHOTS / "program-restore-en.png"), full_page=True)
    assert rt.programs.current(shop.id).version == before  # nothing yet
    page.goto(f"{merchant.base}/admin/program/history")  # walking away changes nothing
    assert rt.programs.current(shop.id).version == before
    page.locator(f"[data-version='{old}']").get_by_role("link", name="Restore…").click()
    page.get_by_role("button", name=f"Restore version {old}").click()
    assert "Restored: saved as version" in page.inner_text("[role=status]")
    current = rt.programs.current(shop.id)
    assert current.version == before + 1 and not current.program.referrals.enabled
    assert current.program.tiers.levels[2].threshold == 1500
    assert not problems, problems

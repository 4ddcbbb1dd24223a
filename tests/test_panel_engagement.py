"""Badges, challenges, the opt-in leaderboard and the feedback survey in the storefront panel
(issue 20), in Chromium against the app served on loopback (the demo store page, a seeded shop):
a badge earned and one in progress, a challenge with progress and an opt-in one joined, the
leaderboard joined under a display name (no e-mail anywhere) and gone when the merchant turns it
off, the survey answered once; in English and in Italian. Screenshots: /tmp/panel-<lang>.png and
test-artifacts/widgets/panel-engagement-<lang>.png."""
import json
import shutil
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from plugin_app.domain.earning import Order, OrderLine

from .test_widgets import SHOTS, browser, demo_store, needs_browser, open_page, open_panel, store  # noqa: F401

LAUNCHER = "[data-loyalty=launcher]"
TEXTS = {
    "en": {"earned": "Badge earned", "many": "of 20 orders", "month": "1 of 3 orders", "until": "Until",
           "join": "Join", "joined": "You are taking part", "spend": "€20.00 of €150.00 spent",
           "lb_join": "Join the leaderboard", "you": "You are number", "leave": "Leave the leaderboard",
           "send": "Send", "missing": "Please answer every question.", "thanks": "Thank you for your feedback!",
           "titles": ["Badges", "Challenges", "Leaderboard", "Your feedback"], "reward": "Answer and get 25 points",
           "rating": "4 out of 5", "choice": "A friend", "taken": "taken"},
    "it": {"earned": "Badge ottenuto", "many": "di 20 ordini", "month": "1 di 3 ordini", "until": "Fino al",
           "join": "Partecipa", "joined": "Stai partecipando", "spend": "20,00\u00a0€ su 150,00\u00a0€ spesi",
           "lb_join": "Entra in classifica", "you": "Sei in posizione", "leave": "Esci dalla classifica",
           "send": "Invia", "missing": "Rispondi a tutte le domande.", "thanks": "Grazie per il tuo parere!",
           "titles": ["Badge", "Sfide", "Classifica", "Il tuo parere"], "reward": "Rispondi e ricevi 25 punti",
           "rating": "4 su 5", "choice": "Un amico", "taken": "negozio"},
}


def _program(store):
    """The shop's program with two badges, two challenges this month, the leaderboard and a survey."""
    from plugin_app.services.program import dump

    rt = store.rt
    current = rt.programs.current(store.shop_id).program
    local = rt.clock.now().astimezone(ZoneInfo(current.timezone)).replace(tzinfo=None, microsecond=0)
    start, end = (local - timedelta(days=1)).replace(hour=0, minute=0, second=0), local + timedelta(days=20)
    window = {"starts_at": start.isoformat(), "ends_at": end.isoformat()}
    doc = {**dump(current),
           "badges": [{"id": "first", "name": "First order", "names": {"it": "Primo ordine"}, "rule": {"kind": "first_order"}},
                      {"id": "many", "name": "Twenty orders", "names": {"it": "Venti ordini"},
                       "rule": {"kind": "orders_count", "n": 20}, "reward": {"kind": "points", "points": 100}}],
           "challenges": [{"id": "trio", "name": "Three orders", "names": {"it": "Tre ordini"}, **window,
                           "goal": {"kind": "orders_count", "n": 3}, "points": 150},
                          {"id": "spend", "name": "Spend 150", "names": {"it": "Spendi 150"}, **window,
                           "goal": {"kind": "spend", "amount": "150"}, "points": 200, "enrollment": "opt_in"}],
           "leaderboard": {"enabled": True, "period": "all_time", "size": 10},
           "survey": {"enabled": True, "id": "spring", "points": 25, "questions": [
               {"id": "stars", "kind": "rating", "text": {"en": "How did we do?", "it": "Come siamo andati?"}},
               {"id": "found", "kind": "choice", "text": {"en": "How did you find us?", "it": "Come ci hai conosciuti?"},
                "choices": [{"id": "friend", "text": {"en": "A friend", "it": "Un amico"}},
                            {"id": "ad", "text": {"en": "An ad", "it": "Una pubblicità"}}]},
               {"id": "note", "kind": "text", "text": {"en": "Anything else?", "it": "Altro?"}}]}}
    rt.programs.put(store.shop_id, doc, author="test")
    # an order this month: 1 of 3 for the automatic challenge (the seeded ones are older than its start)
    rt.orders.on_paid(store.shop_id, Order("engage-1", "EUR", rt.clock.now() - timedelta(minutes=5),
                                           (OrderLine("engage-1-a", 1, Decimal("20.00")),), "demo-1000"))
    rt.leaderboards.opt_in(store.shop_id, "demo-1001", "Ben R.")  # someone on the board already
    return doc


def _balance(store):
    return store.rt.members.get(store.shop_id, store.member.id)[1].points


def _unnamed_controls(page):
    return page.evaluate("""() => {
        const root = document.querySelector('[data-loyalty=launcher]').shadowRoot;
        return [...root.querySelectorAll('.panel button, .panel a, .panel input, .panel textarea, .panel [role]')]
            .map(e => [e.tagName, (e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.textContent || '').trim()])
            .filter(([, name]) => !name);
    }""")


def _full_screenshot(page, panel, path):
    """The whole panel (it scrolls inside the page): its height let out for the picture."""
    panel.evaluate("p => { p.style.maxHeight = 'none'; p.style.bottom = 'auto'; p.style.top = '10px'; }")
    page.set_viewport_size({"width": 1280, "height": max(900, int(panel.evaluate("p => p.scrollHeight")) + 40)})
    page.screenshot(path=path)
    panel.evaluate("p => { p.style.maxHeight = ''; p.style.bottom = ''; p.style.top = ''; }")
    page.set_viewport_size({"width": 1280, "height": 900})


@needs_browser
@pytest.mark.parametrize("lang", ["en", "it"])
def test_badges_challenges_leaderboard_and_survey_in_the_panel(browser, store, lang):
    from sqlalchemy import func, select

    from plugin_app.storage import tables as t
    from plugin_app.storage.achievements_repo import AchievementsRepo

    words = TEXTS[lang]
    _program(store)
    page, errors = open_page(browser, store, lang=lang)
    bodies = []  # every storefront answer the page got: none may carry an e-mail address
    page.on("response", lambda r: bodies.append(r.text()) if "/storefront/v1/" in r.url and r.ok else None)
    panel = open_panel(page)
    page.wait_for_selector(f"{LAUNCHER} >> [data-badge]")
    for title in words["titles"]:
        assert panel.locator("h3", has_text=title).count() == 1, title

    # -- badges: the first order earned, twenty orders in progress with an accessible bar
    first = panel.locator("[data-badge=first]")
    assert first.get_attribute("data-earned") == "1" and words["earned"] in first.inner_text()
    assert first.locator("[role=progressbar]").count() == 0
    many = panel.locator("[data-badge=many]")
    assert many.get_attribute("data-earned") == "0" and words["earned"] not in many.inner_text()
    bar = many.locator("[role=progressbar]")
    assert words["many"] in bar.get_attribute("aria-valuetext") and words["many"] in many.inner_text()
    assert bar.get_attribute("aria-valuemax") == "20" and 0 < int(bar.get_attribute("aria-valuenow")) < 20
    assert bar.get_attribute("aria-label") == ("Twenty orders" if lang == "en" else "Venti ordini")

    # -- challenges: the automatic one with its progress and end date; the opt-in one joined
    trio = panel.locator("[data-challenge=trio]")
    assert words["month"] in trio.inner_text() and words["until"] in trio.inner_text()
    assert trio.locator("[role=progressbar]").get_attribute("aria-valuenow") == "1"
    spend = panel.locator("[data-challenge=spend]")
    assert spend.get_attribute("data-joined") == "false" and spend.locator("[role=progressbar]").count() == 0
    spend.locator("button", has_text=words["join"]).click()
    page.wait_for_selector(f"{LAUNCHER} >> [data-challenge=spend][data-joined=true]")
    spend = panel.locator("[data-challenge=spend]")
    assert words["joined"] in spend.inner_text() and words["spend"] in spend.inner_text()
    assert spend.locator("[role=progressbar]").count() == 1 and spend.locator("button").count() == 0
    with store.rt.db.reading() as conn:
        assert AchievementsRepo(conn, store.shop_id).challenge_rows(store.member.id)["spend"].opted_in_at is not None

    # -- the survey: every question must be answered; then a thank-you, rewarded once
    assert words["reward"] in panel.inner_text()
    form = panel.locator("form[data-survey=spring]")
    form.locator("button", has_text=words["send"]).click()
    page.wait_for_selector(f"{LAUNCHER} >> text={words['missing']}")
    before = _balance(store)
    form.locator(f"input[aria-label='{words['rating']}']").check()
    form.locator("label", has_text=words["choice"]).click()
    form.locator("textarea").fill("  Lovely shop  ")
    form.locator("button", has_text=words["send"]).click()
    page.wait_for_selector(f"{LAUNCHER} >> [data-survey=answered]")
    assert words["thanks"] in panel.inner_text() and panel.locator("form[data-survey]").count() == 0
    assert _balance(store) == before + 25
    with store.rt.db.reading() as conn:
        kept = conn.execute(select(t.survey_answers.c.answers).where(
            t.survey_answers.c.shop_id == store.shop_id, t.survey_answers.c.member_id == store.member.id)).scalars().all()
    assert kept == [{"stars": 4, "found": "friend", "note": "Lovely shop"}]

    # -- the leaderboard: opt in under a display name; a refused name says why, in the shopper's language
    section = panel.locator("[data-leaderboard=out]")
    section.locator("input[name=display_name]").fill("ben r.")  # taken, in any case
    section.locator("button", has_text=words["lb_join"]).click()
    page.wait_for_selector(f"{LAUNCHER} >> [data-leaderboard=out] .err:not(:empty)")
    assert words["taken"] in section.locator(".err").inner_text()
    section.locator("input[name=display_name]").fill("Star Shopper")
    section.locator("button", has_text=words["lb_join"]).click()
    page.wait_for_selector(f"{LAUNCHER} >> [data-leaderboard=in] [data-entry='Star Shopper']")
    board = panel.locator("[data-leaderboard=in]")
    assert board.locator("li.me").inner_text().split("\n")[1] == "Star Shopper"
    assert board.locator("[data-entry='Ben R.']").count() == 1
    assert words["you"] in board.inner_text() and "Star Shopper" in board.inner_text()
    assert board.locator("button", has_text=words["leave"]).count() == 1

    assert _unnamed_controls(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    _full_screenshot(page, panel, f"/tmp/panel-{lang}.png")
    shutil.copy(f"/tmp/panel-{lang}.png", SHOTS / f"panel-engagement-{lang}.png")
    email = store.member.email
    assert email and "@" not in panel.inner_text()
    assert bodies and not any(email in b for b in bodies), "an e-mail reached the storefront"
    assert all("@" not in json.dumps(json.loads(b).get("entries", [])) for b in bodies if b.startswith("{"))

    # the survey stays answered, paid once: the panel opened again offers no form
    page.reload()
    page.wait_for_selector(f"{LAUNCHER} >> button")
    panel = open_panel(page)
    page.wait_for_selector(f"{LAUNCHER} >> [data-survey=answered]")
    assert _balance(store) == before + 25
    with store.rt.db.reading() as conn:
        assert conn.execute(select(func.count()).select_from(t.survey_answers).where(
            t.survey_answers.c.shop_id == store.shop_id)).scalar() == 1

    # leaving the board: the opt-in form again
    panel.locator("[data-leaderboard=in] button", has_text=words["leave"]).click()
    page.wait_for_selector(f"{LAUNCHER} >> [data-leaderboard=out]")

    # the merchant turns the board off: the section is gone
    from plugin_app.services.program import dump

    doc = dump(store.rt.programs.current(store.shop_id).program)
    store.rt.programs.put(store.shop_id, {**doc, "leaderboard": {**doc["leaderboard"], "enabled": False}}, author="test")
    for _ in range(12):  # the program reaches the storefront's reads within seconds (Programs.for_reading)
        page.wait_for_timeout(1000)
        page.reload()
        page.wait_for_selector(f"{LAUNCHER} >> button")
        panel = open_panel(page)
        page.wait_for_selector(f"{LAUNCHER} >> [data-badge]")
        if panel.locator("[data-leaderboard]").count() == 0:
            break
    assert panel.locator("[data-leaderboard]").count() == 0
    assert words["titles"][2] not in [h.strip() for h in panel.locator("h3").all_inner_texts()]
    assert not errors, errors


@needs_browser
def test_the_demo_as_seeded_shows_badges_challenges_the_board_and_the_survey(browser, demo_store):
    page, errors = open_page(browser, demo_store)
    panel = open_panel(page)
    page.wait_for_selector(f"{LAUNCHER} >> [data-badge]")
    assert panel.locator("[data-badge=first-order]").get_attribute("data-earned") == "1"
    assert panel.locator("[data-badge=regular] [role=progressbar]").count() == 1
    month = demo_store.rt.clock.now().strftime("%Y-%m")
    assert panel.locator(f"[data-challenge=two-orders-{month}] [role=progressbar]").count() == 1
    assert panel.locator(f"[data-challenge=spend-{month}] button", has_text="Join").count() == 1
    assert panel.locator("[data-leaderboard=out] input[name=display_name]").count() == 1
    assert panel.locator("form[data-survey=demo-feedback] fieldset").count() == 3
    assert _unnamed_controls(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    _full_screenshot(page, panel, "/tmp/panel-demo.png")
    shutil.copy("/tmp/panel-demo.png", SHOTS / "panel-engagement-demo.png")
    # keyboard: the join button, the radios and the inputs take focus in turn
    seen = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        seen.add(page.evaluate("(document.querySelector('[data-loyalty=launcher]').shadowRoot.activeElement || {}).tagName"))
    assert {"BUTTON", "INPUT", "TEXTAREA"} <= seen, seen
    assert not errors, errors


def test_the_activity_names_badges_and_challenges_in_the_readers_language():
    """The ledger's reasons keep a badge's and a challenge's default name; the panel's activity
    says the name the merchant gave in the shopper's language while the program has it."""
    from plugin_app.i18n import translator
    from plugin_app.services import program as programs
    from plugin_app.services.explain import explain, tier_label_map, tier_labels

    p = programs.parse({
        "badges": [{"id": "three", "name": "Three orders", "names": {"it": "Tre ordini"},
                    "rule": {"kind": "orders_count", "n": 3}}],
        "challenges": [{"id": "march", "name": "March", "names": {"it": "Marzo"}, "starts_at": "2026-03-01T00:00:00",
                        "ends_at": "2026-04-01T00:00:00", "goal": {"kind": "orders_count", "n": 2}, "points": 200}]})
    badge = {"reason_code": "badge.earned", "reason_params": {"badge": "three", "name": "Three orders", "times": 1}}
    challenge = {"reason_code": "challenge.completed", "reason_params": {"challenge": "march", "name": "March"}}
    gone = {"reason_code": "badge.earned", "reason_params": {"badge": "old", "name": "Old badge", "times": 2}}
    with tier_labels(tier_label_map(p, "it")):
        assert "Tre ordini" in explain(badge, translator("it")) and "Three" not in explain(badge, translator("it"))
        assert "Marzo" in explain(challenge, translator("it"))
        assert "Old badge" in explain(gone, translator("it"))  # no longer in the program: the stored name
    with tier_labels(tier_label_map(p, "en")):
        assert "Three orders" in explain(badge, translator("en"))
    assert "Three orders" in explain(badge, translator("it"))  # without the program: the stored name


def test_the_customer_account_summary_carries_badges_and_challenges_in_the_shoppers_language(tx_runtime):
    """GET /ext/customer-account/summary (extensions/README.md): the profile block's badges and
    challenges, with progress in the shopper's words and a percent."""
    from datetime import datetime, timezone

    from . import factories as F

    rt = tx_runtime
    shop = F.shop(rt)
    now = rt.extension_views.widget.clock.now().astimezone(timezone.utc)
    start = datetime(now.year, now.month, 1)
    F.use_program(rt, shop, badges=[
        {"id": "first", "name": "First order", "names": {"it": "Primo ordine"}, "rule": {"kind": "first_order"}},
        {"id": "three", "name": "Three orders", "names": {"it": "Tre ordini"}, "rule": {"kind": "orders_count", "n": 3},
         "reward": {"kind": "points", "points": 50}}],
        challenges=[{"id": "two", "name": "Two orders", "names": {"it": "Due ordini"}, "starts_at": start.isoformat(),
                     "ends_at": (start + timedelta(days=40)).isoformat(), "goal": {"kind": "orders_count", "n": 2},
                     "points": 100},
                    {"id": "spend", "name": "Spend", "starts_at": start.isoformat(),
                     "ends_at": (start + timedelta(days=40)).isoformat(), "goal": {"kind": "spend", "amount": "100"},
                     "points": 100, "enrollment": "opt_in"}])
    member = F.member(rt, shop)
    rt.orders.on_paid(shop.id, F.order(F.line("10.00"), customer=member.platform_customer_id, placed_at=now))
    answer = rt.extension_views.summary(shop, member.platform_customer_id, "it")
    assert answer["badges"] == [
        {"id": "first", "name": "Primo ordine", "earned": 1, "text": "1 di 1 ordine", "percent": 100, "points_text": None},
        {"id": "three", "name": "Tre ordini", "earned": 0, "text": "1 di 3 ordini", "percent": 33,
         "points_text": "Premio: 50 punti"}]
    two, spend = answer["challenges"]
    assert (two["name"], two["joined"], two["text"], two["percent"]) == ("Due ordini", True, "1 di 2 ordini", 50)
    assert two["ends_text"].startswith("Fino al ") and two["points_text"] == "Premio: 100 punti"
    assert (spend["joined"], spend["enrollment"]) == (False, "opt_in")
    stranger = rt.extension_views.summary(shop, "never-joined", "en")  # not a member: nothing to show
    assert (stranger["member"], stranger["badges"], stranger["challenges"]) == (False, [], [])

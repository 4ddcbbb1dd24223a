"""The simulator's admin page as a merchant posts it (issue 21): an edited copy of the live program
tried on the past (the run gets the edited document; the program is not saved), the errors next
to their inputs in English and Italian with what was typed kept, malformed input answered with
the form (never a 500), the run saying what was tried in words, the shop's runs listed and two
compared side by side, another shop's runs out of reach; and the same in Chromium."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest

from plugin_app import i18n
from plugin_app.domain.earning import Order, OrderLine

from .test_admin_engagement_pages import Admin, _text
from .test_simulator import PROGRAM, at


@pytest.fixture
def sim(app):
    """Shop A (EUR, PROGRAM as version 2, two members' orders in February 2026) signed in, and shop B."""
    rt = app.extensions["loyalty"]
    shop, key = rt.shops.register("demo", "sim-pages.example", currency="EUR")
    rt.programs.put(shop.id, PROGRAM, author="test")  # version 2, live
    for oid, total, cust in (("p1", "50.00", "cust-p"), ("p2", "30.00", "cust-q")):
        assert rt.orders.on_paid(shop.id, Order(oid, "EUR", at(2026, 2, 1), (OrderLine("l1", 1, Decimal(total)),),
                                                cust)).status == "earned"
    other, _ = rt.shops.register("demo", "sim-pages-other.example", currency="EUR")
    admin = Admin(app, key)
    admin.key = key  # for the API beside the pages
    return rt, shop, admin, other


PERIOD = {"since": "2026-01-01", "until": "2026-02-28"}


def _run_form(**values) -> list[tuple[str, str]]:
    items = [("draft", "2"), ("loaded", "2"), ("action", "run"), *PERIOD.items()]
    values = {k.replace("__", "."): v for k, v in values.items()}
    return [(k, v) for k, v in items if k not in values] + list(values.items())


def _count(rt) -> int:
    from sqlalchemy import text

    with rt.db.transaction() as conn:
        return conn.execute(text("select count(*) from simulations")).scalar()


def _cells(html: str, row: str) -> list[str]:
    m = re.search(r'<tr data-row="%s">(.*?)</tr>' % row, html, re.S)
    return [unescape(c.strip()) for c in re.findall(r"<td>(.*?)</td>", m[1], re.S)]


def _run_id(location: str) -> int:
    return int(re.search(r"/admin/program/simulations/(\d+)", location)[1])


def test_an_edited_copy_is_tried_the_program_stays_and_two_runs_compare(sim):
    rt, shop, admin, _other = sim
    page = admin.get("/admin/program/simulate")
    assert 'name="earning.points_per_unit" value="1"' in page and "No simulation yet." in page
    assert 'name="tiers.levels.1.threshold" value="100"' in page
    r = admin.c.post("/admin/program/simulate", data=dict(_run_form(earning__points_per_unit="2"), csrf=admin.token))
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    edited = _run_id(r.location)
    assert rt.simulations.draft(shop.id, edited)["earning"]["points_per_unit"] == "2"
    assert rt.simulations.status(shop.id, edited)["draft_version"] is None
    live = rt.programs.current(shop.id)
    assert live.version == 2 and live.program.earning.points_per_unit == 1  # nothing saved

    html = admin.get(r.location)
    text = _text(html)
    assert "What was tried: Edited copy of version 2" in text
    assert "Points for each 1 € spent: 1 points → 2 points" in text, text
    assert _cells(html, "points_issued") == ["80", "160", "80"]
    assert "data-save-draft" in html and 'action="/admin/program"' in html
    # Make it the program: the JSON editor's preview, nothing saved yet
    document = unescape(re.search(r'name="document" value="([^"]*)"', html)[1])
    preview = admin.post("/admin/program", [("document", document), ("action", "preview")])
    assert "data-preview" in preview and rt.programs.current(shop.id).version == 2

    # the same version unchanged is the version itself
    r = admin.c.post("/admin/program/simulate", data=dict(_run_form(), csrf=admin.token))
    plain = _run_id(r.location)
    assert rt.simulations.status(shop.id, plain)["draft_version"] == 2
    html = admin.get(r.location)
    assert "What was tried: Version 2" in _text(html) and "This is the program you run now." in html

    listing = admin.get("/admin/program/simulate")
    rows = {int(m[1]): _text(m[2]) for m in re.finditer(r'<tr data-run="(\d+)">(.*?)</tr>', listing, re.S)}
    assert list(rows) == [plain, edited]  # newest first
    assert "Edited copy of version 2" in rows[edited] and "1 points → 2 points" in rows[edited] and "Done" in rows[edited]
    assert "Version 2" in rows[plain] and "Jan 1, 2026 to Feb 28, 2026" in rows[plain], rows[plain]

    side = admin.get(f"/admin/program/simulations/compare?run={plain}&run={edited}")
    assert _cells(side, "points_issued") == ["80", "160", "80", "-80"]  # now, the older, the newer, newer less older
    assert "Edited copy of version 2" in _text(side) and "data-periods-differ" not in side
    one = admin.get(f"/admin/program/simulations/compare?run={plain}")
    assert "Tick two finished runs to compare them." in one
    assert 'action="/admin/program/simulate"' in one  # the form on it still runs
    # in Italian: numbers and dates the Italian way
    admin.get("/admin/program/simulate?lang=it")
    it = admin.get(f"/admin/program/simulations/compare?a={plain}&b={edited}")
    assert _cells(it, "credit_issued")[0].endswith("€") and "Copia modificata della versione 2" in _text(it)
    assert "1 gen 2026" in _text(it) and "0,80 €" in _text(it)


def test_a_run_of_another_version_edited_as_json_is_said_in_words(sim):
    rt, shop, admin, _other = sim
    rt.programs.put(shop.id, {**PROGRAM, "cashback": {"enabled": True, "rate": "3"}}, author="test")  # version 3
    page = admin.get("/admin/program/simulate?mode=json&from=2")
    document = unescape(re.search(r'<textarea name="document"[^>]*>(.*?)</textarea>', page, re.S)[1])
    assert '"rate": "1"' in document  # version 2's cashback
    document = document.replace('"points_per_unit": "1"', '"points_per_unit": "4"')
    r = admin.c.post("/admin/program/simulate", data={"csrf": admin.token, "draft": "2", "loaded": "2", "mode": "json",
                                                      "document": document, "action": "run", **PERIOD})
    assert r.status_code == 302
    run = _run_id(r.location)
    assert rt.simulations.draft(shop.id, run)["earning"]["points_per_unit"] == "4"
    text = _text(admin.get(r.location))
    assert "Edited copy of version 2" in text and "1 points → 4 points" in text
    assert rt.programs.current(shop.id).version == 3
    r = admin.c.post("/admin/program/simulate", data={"csrf": admin.token, "draft": "2", "loaded": "2", "action": "run",
                                                      **PERIOD})
    html = admin.get(r.location)  # version 2 as it was: made the program again by restoring it, which asks first
    assert "What was tried: Version 2" in _text(html) and 'href="/admin/program/versions/2/restore"' in html


def test_an_edited_copy_names_the_version_it_started_from_even_when_it_equals_another(sim):
    """Version 3 doubles the points; version 2 edited to double them equals version 3 as a
    document, yet the run says it is version 2 edited (kept as `based_on`), not version 3."""
    rt, shop, admin, _other = sim
    rt.programs.put(shop.id, {**PROGRAM, "earning": {**PROGRAM["earning"], "points_per_unit": "2"}}, author="test")
    admin.get("/admin/program/simulate?from=2")
    r = admin.c.post("/admin/program/simulate", data=dict(_run_form(earning__points_per_unit="2"), csrf=admin.token))
    assert r.status_code == 302
    run = rt.simulations.status(shop.id, _run_id(r.location))
    assert run["based_on"] == 2 and run["draft_version"] is None
    text = _text(admin.get(r.location))
    assert "Edited copy of version 2" in text and "1 points → 2 points" in text, text
    # through the API: based_on goes with a document and names a version the shop has
    auth = {"Authorization": f"Bearer {admin.key}"}
    body = {**PERIOD, "program": rt.simulations.draft(shop.id, run["id"])}
    bad = admin.c.post("/admin/api/v1/simulations", json={**body, "based_on": 99}, headers=auth)
    assert bad.status_code == 422 and "based_on" in str(bad.get_json()), bad.get_json()
    bad = admin.c.post("/admin/api/v1/simulations", json={**PERIOD, "version": 2, "based_on": 2}, headers=auth)
    assert bad.status_code == 422
    ok = admin.c.post("/admin/api/v1/simulations", json={**body, "based_on": 3}, headers=auth)
    assert ok.status_code == 202 and ok.get_json()["based_on"] == 3


def test_field_errors_are_said_next_to_the_field_in_english_and_italian(sim):
    rt, shop, admin, _other = sim
    admin.get("/admin/program/simulate")
    for lang in ("en", "it"):
        admin.get(f"/admin/program/simulate?lang={lang}")
        t = i18n.translator(lang)
        html = admin.post("/admin/program/simulate", _run_form(earning__points_per_unit="abc",
                                                               tiers__levels__1__threshold="0", cashback__rate="250"))
        assert 'name="earning.points_per_unit" value="abc"' in html  # what was typed stays
        assert 'name="tiers.levels.1.threshold" value="0"' in html and 'name="cashback.rate" value="250"' in html
        err = re.search(r'id="e-f-earning-points_per_unit" role="alert">(.*?)</p>', html)[1]
        assert unescape(err) == t.gettext("Enter a number.")
        html = admin.post("/admin/program/simulate", _run_form(tiers__levels__1__threshold="0", cashback__rate="250"))
        assert 'aria-invalid="true"' in html
        assert unescape(t.gettext("Each tier must be reached at more than the one before it.")) in unescape(html)
        assert re.search(r'id="e-f-cashback-rate" role="alert">', html)
        html = admin.post("/admin/program/simulate", _run_form(since="2026-03-01", until="2026-01-01",
                                                               earning__points_per_unit="x"))
        assert t.gettext("The period must end after it starts and last at most three years.") in unescape(html)
        assert re.search(r'id="e-f-earning-points_per_unit" role="alert">', html)  # both said at once
    assert "Inserisci un numero." == i18n.translator("it").gettext("Enter a number.")
    assert _count(rt) == 0 and rt.programs.current(shop.id).version == 2


ODD = [
    dict(earning__points_per_unit="9" * 40),
    dict(earning__points_per_unit="1e99999"),
    dict(earning__points_per_unit="-5", expiry__months="x", expiry__mode="forever"),
    dict(tiers__levels__99__threshold="5", tiers__levels__x__name="q", tiers="x", earning__points_per_unit="?"),
    dict(rewards__0__points_cost="--", rewards__0="x", cashback__expiry_days="1,5,6"),
    dict(draft="abc", loaded="abc"),
    dict(draft="9" * 30, loaded="9" * 30),
    dict(draft="7", loaded="7"),
    dict(since="yesterday"),
    dict(since="", until=""),
    dict(since="0001-01-01", until="0001-01-31"),
    dict(since="2020-01-01", until="9999-12-31"),
    dict(since="2999-01-01", until="2999-01-02"),
    dict(mode="json", document="{"),
    dict(mode="json", document="[]"),
    dict(mode="json", document='{"tiers": {"levels": []}}'),
    dict(mode="json", document="[" * 5000 + "]" * 5000),
    dict(mode="json", document='"just text"'),
]


@pytest.mark.parametrize("odd", ODD)
def test_malformed_input_gives_the_form_back_with_an_error(sim, odd):
    rt, shop, admin, _other = sim
    admin.get("/admin/program/simulate")
    html = admin.post("/admin/program/simulate", _run_form(**odd))  # 200: the form again
    assert 'role="alert"' in html and "data-simulate" in html
    assert _count(rt) == 0 and rt.programs.current(shop.id).version == 2


def test_names_the_form_has_not_are_ignored(sim):
    rt, shop, admin, _other = sim
    admin.get("/admin/program/simulate")
    r = admin.c.post("/admin/program/simulate", data=dict(
        _run_form(tiers__levels__99__threshold="5", tiers__levels__x__name="q", tiers="x", **{"earning.x.y": "1"}),
        csrf=admin.token))
    assert r.status_code == 302 and rt.simulations.status(shop.id, _run_id(r.location))["draft_version"] == 2


def test_switching_the_starting_version_shows_its_settings_before_running(sim):
    rt, shop, admin, _other = sim
    rt.programs.put(shop.id, {**PROGRAM, "earning": {**PROGRAM["earning"], "points_per_unit": "5"}}, author="test")
    admin.get("/admin/program/simulate")
    # the form showed version 3's settings; version 2 chosen (the select submits itself): no run yet
    html = admin.post("/admin/program/simulate", _run_form(draft="2", loaded="3", earning__points_per_unit="5"))
    assert "data-notice" in html and 'name="earning.points_per_unit" value="1"' in html and _count(rt) == 0
    assert 'name="loaded" value="2"' in html


def test_another_shops_runs_are_out_of_reach(sim):
    rt, shop, admin, other = sim
    mine = rt.simulations.start(shop.id, since=date(2026, 1, 1), until=date(2026, 1, 31), version=2)
    theirs = rt.simulations.start(other.id, since=date(2026, 1, 1), until=date(2026, 1, 31), version=1)
    admin.get(f"/admin/program/simulations/{theirs['id']}", status=404)
    admin.get(f"/admin/program/simulations/compare?run={mine['id']}&run={theirs['id']}", status=404)
    listing = admin.get("/admin/program/simulate")
    assert f'data-run="{mine["id"]}"' in listing and f'data-run="{theirs["id"]}"' not in listing
    admin.get("/admin/program/simulations/compare?a=x&b=" + "9" * 40)  # the page again, saying what to do
    admin.get("/admin/program/simulations/" + "9" * 25, status=404)


def test_a_failed_run_is_listed_as_such_and_does_not_compare(sim):
    from plugin_app.storage import tables as t

    rt, shop, admin, _other = sim
    done = rt.simulations.start(shop.id, since=date(2026, 1, 1), until=date(2026, 1, 31), version=2)
    now = rt.clock.now()
    with rt.db.transaction() as conn:
        failed = conn.execute(t.simulations.insert().values(
            shop_id=shop.id, state="failed", program=PROGRAM, draft_version=None, starts_at=at(2026, 1, 1),
            ends_at=at(2026, 2, 1), error="boom", created_at=now, updated_at=now).returning(t.simulations.c.id)).scalar()
    listing = admin.get("/admin/program/simulate")
    row = re.search(r'<tr data-run="%d">(.*?)</tr>' % failed, listing, re.S)[1]
    assert "Failed" in _text(row) and 'name="run"' not in row
    assert 'name="run" value="%d"' % done["id"] in listing
    html = admin.get(f"/admin/program/simulations/compare?run={done['id']}&run={failed}")
    assert "Only finished runs can be compared: tick two that are done." in html
    assert "The simulation failed: try again." in admin.get(f"/admin/program/simulations/{failed}")


# -- in Chromium --------------------------------------------------------------------------------
from .test_admin_pages import ADMIN_SHOTS, admin, sign_in  # noqa: E402,F401  (fixtures)
from .test_widgets import browser, needs_browser, store  # noqa: E402,F401  (fixtures)


@needs_browser
def test_an_edited_copy_run_and_compared_in_chromium(browser, admin):  # noqa: F811
    """The merchant changes the points per unit spent on the simulate page, runs it (the job runs
    at once here), runs the program unchanged, ticks both and sees them side by side."""
    rt, shop_id = admin.rt, admin.shop_id
    before = rt.programs.current(shop_id)
    problems: list[str] = []
    page = sign_in(browser, admin)
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{admin.base}/admin/program/simulate")
    page.select_option("#draft", str(before.version - 1))  # the select shows that version's settings at once
    page.wait_for_selector("[data-notice]")
    assert page.locator("input[name=loaded]").get_attribute("value") == str(before.version - 1)
    page.select_option("#draft", str(before.version))
    page.wait_for_selector(f"input[name=loaded][value='{before.version}']", state="attached")
    today = rt.clock.now().date()
    page.fill("input[name='earning.points_per_unit']", "abc")
    page.get_by_role("button", name="Run the simulation").click()
    assert page.locator("#e-f-earning-points_per_unit").inner_text() == "Enter a number."
    assert page.locator("input[name='earning.points_per_unit']").input_value() == "abc"
    page.screenshot(path="/tmp/simui_error.png")
    page.fill("input[name='earning.points_per_unit']", "3")
    page.fill("#since", (today - timedelta(days=400)).isoformat())
    page.get_by_role("button", name="Run the simulation").click()
    page.wait_for_selector("[data-run-state=done]")
    assert "Edited copy of version" in page.locator("[data-draft]").inner_text()
    page.screenshot(path="/tmp/simui_run.png", full_page=True)
    page.goto(f"{admin.base}/admin/program/simulate")
    page.fill("#since", (today - timedelta(days=400)).isoformat())
    page.get_by_role("button", name="Run the simulation").click()
    page.wait_for_selector("[data-run-state=done]")
    page.goto(f"{admin.base}/admin/program/simulate")
    boxes = page.locator("[data-runs] input[name=run]")
    assert boxes.count() == 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.screenshot(path="/tmp/simui_simulate.png", full_page=True)
    page.get_by_role("button", name="Compare the two ticked simulations").click()
    table = page.locator("[data-compare]")
    assert table.is_visible() and page.locator("[data-side]").count() == 2
    issued = table.locator("[data-row=points_issued] td").all_inner_texts()
    assert len(issued) == 4 and issued[1] != issued[2], issued
    page.screenshot(path="/tmp/simui_compare.png", full_page=True)
    ADMIN_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ADMIN_SHOTS / "simulation-compare-en.png"), full_page=True)
    page.goto(f"{admin.base}/admin/program/simulate?lang=it")
    page.screenshot(path="/tmp/simui_simulate_it.png", full_page=True)
    after = rt.programs.current(shop_id)
    assert after.version == before.version
    assert not problems, problems

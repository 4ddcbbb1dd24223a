"""The engagement pages of the admin (issue 20), as a merchant's browser posts them: badges and
challenges (added, saved as a version, refused with the error next to the field, told in words in
the history), the leaderboard and the survey (questions and choices per language, the answers as
a table), segments built from a form (preview before saving, members, edit, delete, errors by
the condition), the lifecycle and RFM thresholds, and the member's profile; in English and
Italian; and shop B's segment is never reachable from shop A's admin."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html import unescape

import pytest

from . import factories as F


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def _text(html: str) -> str:
    """The page's main text, tags dropped (what a reader sees, roughly)."""
    main = html.split('<main id="main">', 1)[-1]
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)))


def _value(html: str, name: str) -> str:
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), html)
    return unescape(m[1]) if m else ""


class Admin:
    """A signed-in admin session of one shop, posting forms as the browser would."""

    def __init__(self, app, key: str) -> None:
        self.c = app.test_client()
        r = self.c.post("/admin/login", data={"key": key})
        assert r.status_code == 302, r.data[:300]
        self.token = None

    def get(self, url: str, status: int = 200) -> str:
        r = self.c.get(url)
        assert r.status_code == status, (url, r.status_code, r.data[:500])
        html = r.get_data(as_text=True)
        if 'name="csrf"' in html:
            self.token = _csrf(html)
        return html

    def post(self, url: str, data: dict | list, status: int = 200) -> str:
        if self.token is None:
            self.get(url)
        items = list(data.items()) if isinstance(data, dict) else list(data)
        r = self.c.post(url, data=_multi([("csrf", self.token)] + items))
        assert r.status_code == status, (url, r.status_code, r.data[:800])
        return r.get_data(as_text=True)


def _multi(items):
    from werkzeug.datastructures import MultiDict

    return MultiDict(items)


@pytest.fixture
def shops(tx_app):
    rt = tx_app.extensions["loyalty"]
    a, key_a = F.shop_and_key(rt, currency="EUR")
    b, key_b = F.shop_and_key(rt, currency="EUR")
    return tx_app, rt, a, key_a, b, key_b


def _form(html: str, prefix: str) -> list[tuple[str, str]]:
    """The form's current inputs under `prefix` (text inputs, selected options, ticked boxes), as
    the browser would post them back unchanged."""
    out = []
    for m in re.finditer(r'<input([^>]*)>', html):
        attrs = m[1]
        name = re.search(r'name="([^"]+)"', attrs)
        if not name or not name[1].startswith(prefix):
            continue
        kind = re.search(r'type="([^"]+)"', attrs)
        kind = kind[1] if kind else "text"
        value = re.search(r'value="([^"]*)"', attrs)
        value = unescape(value[1]) if value else ""
        if kind == "checkbox" and " checked" not in attrs:
            continue
        out.append((name[1], value))
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        if not m[1].startswith(prefix):
            continue
        chosen = re.search(r'<option value="([^"]*)" selected', m[2]) or re.search(r'<option value="([^"]*)"', m[2])
        out.append((m[1], unescape(chosen[1])))
    return out


def _set(items: list[tuple[str, str]], **values) -> list[tuple[str, str]]:
    """`items` with the named inputs set (a name's dots written as __ in the keyword)."""
    values = {k.replace("__", "."): v for k, v in values.items()}
    kept = [(k, v) for k, v in items if k not in values]
    return kept + [(k, v) for k, v in values.items()]


def test_badges_and_challenges_are_added_refused_and_told_in_words(shops):
    app, rt, shop, key, _b, _kb = shops
    admin = Admin(app, key)
    html = admin.post("/admin/badges", {"badges.__n": "0", "challenges.__n": "0", "add": "badges"})
    assert 'data-row="badges.0"' in html
    form = _set(_form(html, "badges"), **{"badges__0__name": "Regular", "badges__0__rule__kind": "orders_count",
                                          "badges__0__rule__n": "5", "badges__0__reward__kind": "points",
                                          "badges__0__reward__points": "50", "badges__0__repeatable": "1",
                                          "badges__0__max_times": "3", "badges__0__names__it": "Cliente abituale"})
    form += [("challenges.__n", "0")]
    html = admin.post("/admin/badges", form + [("action", "preview")])
    assert "Badge added: Regular" in _text(html)
    html = admin.post("/admin/badges", form + [("action", "save")])
    assert "Saved as version" in html, _text(html)[:1500]
    badge = rt.programs.current(shop.id).program.badges[0]
    assert (badge.id, badge.rule.kind, badge.rule.n, badge.reward.points, badge.repeatable, badge.max_times,
            badge.names) == ("regular", "orders_count", 5, 50, True, 3, {"it": "Cliente abituale"})
    assert "Earned at 5 orders; gives 50 points; earned again each time, at most 3 times" in _text(html)

    # a spend badge without an amount: refused, the error next to the amount, nothing saved
    version = rt.programs.current(shop.id).version
    bad = _set(_form(html, "badges"), **{"badges__0__rule__kind": "spend", "badges__0__rule__amount": "0"})
    html = admin.post("/admin/badges", bad + [("challenges.__n", "0"), ("action", "save")])
    assert re.search(r'id="e-f-badges-0-rule-amount"[^>]*>Enter an amount above 0\.', html), _text(html)[:1500]
    assert rt.programs.current(shop.id).version == version
    # a first-order badge cannot repeat: said in words
    bad = _set(_form(html, "badges"), **{"badges__0__rule__kind": "first_order"})
    html = admin.post("/admin/badges", bad + [("challenges.__n", "0"), ("action", "save")])
    assert "A first order happens only once" in _text(html)

    # a challenge over December, in the shop's time zone; switching the badge off
    html = admin.get("/admin/badges")
    html = admin.post("/admin/badges", _form(html, "badges") + _form(html, "challenges") + [("add", "challenges")])
    form = _set(_form(html, "badges") + _form(html, "challenges"),
                **{"badges__0__enabled": "0", "challenges__0__name": "December sprint",
                   "challenges__0__starts_at": "2026-12-01T00:00", "challenges__0__ends_at": "2027-01-01T00:00",
                   "challenges__0__goal__kind": "orders_count", "challenges__0__goal__n": "3",
                   "challenges__0__points": "200", "challenges__0__enrollment": "opt_in"})
    html = admin.post("/admin/badges", form + [("action", "save")])
    assert "Saved as version" in html, _text(html)[:2000]
    program = rt.programs.current(shop.id).program
    ch = program.challenges[0]
    assert (ch.id, ch.goal.n, ch.points, ch.enrollment, ch.starts_at) == \
        ("december-sprint", 3, 200, "opt_in", datetime(2026, 12, 1))
    assert program.badges[0].enabled is False
    # the end before the start: refused next to the end
    bad = _set(_form(html, "badges") + _form(html, "challenges"), **{"challenges__0__ends_at": "2026-11-01T00:00"})
    html = admin.post("/admin/badges", bad + [("action", "save")])
    assert re.search(r'id="e-f-challenges-0-ends_at"[^>]*>The end must be after the start\.', html)

    later = _set(_form(html, "badges") + _form(html, "challenges"), **{"challenges__0__ends_at": "2027-01-02T00:00"})
    assert "Saved as version" in admin.post("/admin/badges", later + [("action", "save")])
    history = _text(admin.get("/admin/program/history"))
    assert "December sprint – Ends: Jan 1, 2027" in history and "→ Jan 2, 2027" in history  # dates as people write them
    assert "Badge added: Regular" in history and "Challenge added: December sprint" in history
    assert "Regular – Switched off" in history
    assert "{" not in history.split("Program history", 1)[-1]  # no raw JSON
    # Italian: the page and the history in Italian
    html = admin.get("/admin/badges?lang=it")
    assert "Badge e sfide" in html and "Aggiungi un badge" in html and "Add a badge" not in html
    history = _text(admin.get("/admin/program/history"))
    assert "Badge aggiunto: Cliente abituale" in history and "Cliente abituale – Disattivato" in history  # its Italian name


def test_leaderboard_and_survey_with_answers(shops):
    app, rt, shop, key, _b, _kb = shops
    admin = Admin(app, key)
    admin.get("/admin/leaderboard-survey?lang=en")
    html = admin.post("/admin/leaderboard-survey", {"survey.questions.__n": "0", "add": "survey.questions"})
    html = admin.post("/admin/leaderboard-survey", _form(html, "survey") + [("add", "survey.questions")])
    html = admin.post("/admin/leaderboard-survey",
                      _set(_form(html, "survey"), **{"survey__questions__1__kind": "choice"})
                      + [("add", "survey.questions.1.choices")])
    html = admin.post("/admin/leaderboard-survey", _form(html, "survey") + [("add", "survey.questions.1.choices")])
    form = _set(_form(html, "survey") + _form(html, "leaderboard"),
                **{"leaderboard__enabled": "1", "leaderboard__period": "year", "survey__enabled": "1",
                   "survey__points": "25", "survey__questions__0__text__en": "How did we do?",
                   "survey__questions__0__text__it": "Come siamo andati?",
                   "survey__questions__1__text__en": "What brought you here?",
                   "survey__questions__1__choices__0__text__en": "A friend",
                   "survey__questions__1__choices__0__text__it": "Un amico",
                   "survey__questions__1__choices__1__text__en": "An advert"})
    html = admin.post("/admin/leaderboard-survey", form + [("action", "save")])
    assert "Saved as version" in html, _text(html)[:2000]
    program = rt.programs.current(shop.id).program
    assert program.leaderboard.enabled and program.leaderboard.period == "year"
    s = program.survey
    assert s.enabled and s.points == 25 and [q.kind for q in s.questions] == ["rating", "choice"]
    assert s.questions[0].text == {"en": "How did we do?", "it": "Come siamo andati?"}
    assert [c.text for c in s.questions[1].choices] == [{"en": "A friend", "it": "Un amico"}, {"en": "An advert"}]
    assert "Today the board ranks the points earned from" in _text(html)
    # a choice question with one choice is refused, in words, and nothing is saved
    version = rt.programs.current(shop.id).version
    bad = _set(_form(html, "survey") + _form(html, "leaderboard"), **{"survey__questions__1__choices__1__text__en": ""})
    html = admin.post("/admin/leaderboard-survey", bad + [("action", "save")])
    assert "Give 2 to 10 choices." in _text(html) and rt.programs.current(shop.id).version == version
    history = _text(admin.get("/admin/program/history"))
    assert "Leaderboard switched on" in history and "Survey switched on" in history
    assert "Question added: How did we do?" in history

    member = F.member(rt, shop, name="Ada Answer", email="ada.answer@example.com")
    rt.leaderboards.opt_in(shop.id, member.platform_customer_id, "Speedy Ada")
    rt.adjustments.adjust(shop.id, member.id, "points", 70, key="lb", actor="test", reason="test")
    board = _text(admin.get("/admin/leaderboard-survey"))
    assert "On the board now" in board and "1 Speedy Ada 70" in board
    assert "Ada Answer" not in board and "ada.answer@example.com" not in board  # display names only
    rt.surveys.answer(shop.id, member.platform_customer_id, s.id,
                      {s.questions[0].id: 4, s.questions[1].id: s.questions[1].choices[0].id})
    text = _text(admin.get("/admin/survey/answers"))
    assert "Ada Answer" in text and "4 of 5" in text and "A friend" in text and "How did we do?" in text
    text = _text(admin.get("/admin/survey/answers?lang=it"))
    assert "4 su 5" in text and "Un amico" in text and "Come siamo andati?" in text


def _segment_form(name: str, *rows: dict, mode: str = "all") -> list[tuple[str, str]]:
    out = [("name", name), ("mode", mode), ("c.__n", str(len(rows)))]
    for i, row in enumerate(rows):
        out += [(f"c.{i}.field", row["field"]), (f"c.{i}.op", row["op"]), (f"c.{i}.value", str(row.get("value", ""))),
                (f"c.{i}.value2", str(row.get("value2", ""))), (f"c.{i}.entries", row.get("entries", "")),
                (f"c.{i}.days", row.get("days", ""))]
        out += [(f"c.{i}.values", v) for v in row.get("values", [])]
    return out


def test_segments_preview_save_members_edit_delete_and_tenancy(shops):
    app, rt, shop, key, other, other_key = shops
    admin = Admin(app, key)
    big, small = F.member(rt, shop, name="Big Spender"), F.member(rt, shop, name="Small Saver")
    rt.adjustments.adjust(shop.id, big.id, "points", 500, key="b", actor="test", reason="test")
    rt.adjustments.adjust(shop.id, small.id, "points", 50, key="s", actor="test", reason="test")
    admin.get("/admin/segments/new?lang=en")
    rows = {"field": "points_balance", "op": "gte", "value": "400"}
    html = admin.post("/admin/segments/new", _segment_form("Big balances", rows) + [("action", "preview")])
    assert re.search(r'data-preview-count="1"', html) and "Big Spender" in html and "Small Saver" not in html
    assert rt.segments.list(shop.id) == []  # a preview saves nothing
    r = admin.c.post("/admin/segments/new", data=_multi([("csrf", admin.token)] + _segment_form("Big balances", rows)
                                                         + [("action", "save")]))
    assert r.status_code == 302
    seg = rt.segments.list(shop.id)[0]
    assert seg["rule"] == {"all": [{"field": "points_balance", "op": "gte", "value": 400}]} and seg["members_count"] == 1
    text = _text(admin.get("/admin/segments"))
    assert "Big balances" in text and "Points balance is at least 400" in text
    html = admin.get(f"/admin/segments/{seg['id']}")
    assert "Big Spender" in _text(html) and 'value="400"' in html

    # an impossible score is refused next to its condition; a lifecycle condition by ticks
    bad = _segment_form("Big balances", rows, {"field": "recency_score", "op": "eq", "value": "9"})
    html = admin.post(f"/admin/segments/{seg['id']}", bad + [("action", "save")])
    assert re.search(r'id="c-1-err"[^>]*>Scores are 0 to 5\.', html), _text(html)[:1500]
    html = admin.post(f"/admin/segments/{seg['id']}", _segment_form("Big balances", rows, {"field": "recency_score",
                                                                                            "op": "eq", "value": "x"})
                      + [("action", "save")])
    assert re.search(r'id="c-1-err"[^>]*>Enter a whole number\.', html)
    edited = _segment_form("New or big", rows, {"field": "lifecycle", "op": "in", "values": ["new", "loyal"]}, mode="any")
    html = admin.post(f"/admin/segments/{seg['id']}", edited + [("action", "save")])
    assert "Saved." in html
    seg = rt.segments.get(shop.id, seg["id"])
    assert seg["rule"]["any"][1] == {"field": "lifecycle", "op": "in", "value": ["new", "loyal"]}
    assert seg["members_count"] == 2  # both members are new
    assert "Lifecycle state is one of New, Loyal" in _text(admin.get("/admin/segments"))
    assert "Stato del ciclo di vita" in _text(admin.get("/admin/segments?lang=it"))
    admin.get("/admin/segments?lang=en")

    # shop B's segment: never reachable from shop A's admin, neither to read, edit nor delete
    theirs = rt.segments.create(other.id, "Their secret", {"all": [{"field": "points_balance", "op": "gte", "value": 0}]})
    assert "Their secret" not in admin.get("/admin/segments")
    assert "Their secret" not in admin.get(f"/admin/segments/{theirs['id']}", status=404)
    admin.post(f"/admin/segments/{theirs['id']}", [("action", "delete")], status=404)
    admin.post(f"/admin/segments/{theirs['id']}", _segment_form("Mine now", rows) + [("action", "save")], status=404)
    assert rt.segments.get(other.id, theirs["id"])["name"] == "Their secret"
    # the preview and the members never show shop B's members
    stranger = F.member(rt, other, name="Other Shop Person")
    rt.adjustments.adjust(other.id, stranger.id, "points", 900, key="o", actor="test", reason="test")
    html = admin.post("/admin/segments/new", _segment_form("x", rows) + [("action", "preview")])
    assert "Other Shop Person" not in html and 'data-preview-count="1"' in html

    # delete: asked in the browser (data-confirm), gone after
    r = admin.c.post(f"/admin/segments/{seg['id']}", data={"csrf": admin.token, "action": "delete"})
    assert r.status_code == 302 and rt.segments.list(shop.id) == []
    assert "Segment deleted: New or big" in _text(admin.get(r.headers["Location"]))


def test_segments_on_tags_and_products_bought(shops):
    """A tag rule and a purchase rule "in the last 30 days" entered through the form: the preview
    counts the right members, the saved rule is what was entered, the rule reads as words (English
    and Italian), wrong entries are refused next to their condition; the member's card shows the
    tags and how many products they bought."""
    app, rt, shop, key, other, _ok = shops
    admin = Admin(app, key)
    now = rt.clock.now()
    product = "8100200300400"
    ann, bob = F.member(rt, shop, name="Ann Recent VIP"), F.member(rt, shop, name="Bob Old VIP")
    cat, dan = F.member(rt, shop, name="Cat Recent Plain"), F.member(rt, shop, name="Dan VIP No Order")
    for who, days_ago, pid in ((ann, 10, product), (ann, 3, "p-other"), (bob, 40, product), (cat, 2, product)):
        rt.orders.on_paid(shop.id, F.order(F.line("20.00", product_id=pid), customer=who.platform_customer_id,
                                           placed_at=now - timedelta(days=days_ago)))
    for who, tags in ((ann, "VIP, wholesale"), (bob, ["vip"]), (dan, "VIP")):
        rt.segments.set_tags(shop.id, who.platform_customer_id, tags)
    # shop B's member with the same tag and product is never counted
    stranger = F.member(rt, other, name="Other Shop VIP")
    rt.segments.set_tags(other.id, stranger.platform_customer_id, "VIP")
    rt.orders.on_paid(other.id, F.order(F.line("20.00", product_id=product), customer=stranger.platform_customer_id,
                                        placed_at=now - timedelta(days=1)))

    html = admin.get("/admin/segments/new?lang=en")
    for words in ("Customer tag", "Product bought", "Collection or category bought", "has the tag",
                  "does not have the tag", "bought the product", "never bought the product",
                  "bought from the collection or category", "In the last (optional)",
                  "WooCommerce has no customer tags: a customer's role is the tag “role:” followed by the role",
                  "WooCommerce: the product category's slug"):
        assert words in unescape(html), words
    tag = {"field": "tag", "op": "has", "entries": "VIP"}
    bought = {"field": "bought_product", "op": "has", "entries": product, "days": "30"}
    html = admin.post("/admin/segments/new", _segment_form("Recent VIP buyers", tag, bought) + [("action", "preview")])
    assert re.search(r'data-preview-count="1"', html), _text(html)[:1500]
    assert "Ann Recent VIP" in html and not any(n in html for n in ("Bob Old", "Cat Recent", "Dan VIP", "Other Shop"))
    # what was entered comes back as entered
    assert _value(html, "c.0.entries") == "VIP" and _value(html, "c.1.entries") == product
    assert _value(html, "c.1.days") == "30"
    assert rt.segments.list(shop.id) == []
    r = admin.c.post("/admin/segments/new", data=_multi([("csrf", admin.token)] + _segment_form(
        "Recent VIP buyers", tag, bought) + [("action", "save")]))
    assert r.status_code == 302
    seg = rt.segments.list(shop.id)[0]
    assert seg["rule"] == {"all": [{"field": "tag", "op": "has", "value": ["VIP"]},
                                   {"field": "bought_product", "op": "has", "value": [product], "days": 30}]}
    assert seg["members_count"] == 1
    text = _text(admin.get("/admin/segments"))
    assert f"Has the tag VIP and Bought product {product} in the last 30 days" in text, text
    html = admin.get(f"/admin/segments/{seg['id']}")
    assert _value(html, "c.0.entries") == "VIP" and _value(html, "c.1.days") == "30" and "Ann Recent VIP" in html
    # the comparison shown selected is the fact's own ("has the tag"), not a generic one
    assert re.search(r'<option value="has" data-for="tag" selected>has the tag</option>', html)
    assert re.search(r'<option value="has" data-for="bought_product" selected>bought the product</option>', html)
    assert re.search(r'data-cond-days(?! hidden)', html.split('data-cond="1"')[1])  # days shown for a purchase
    assert 'data-cond-days hidden' in html.split('data-cond="1"')[0]  # not for a tag

    # any of several tags; none of them; never bought; a collection without days
    edited = _segment_form("VIP or wholesale, not p-other", {"field": "tag", "op": "has", "entries": " vip ,WHOLESALE,"},
                           {"field": "bought_product", "op": "has_not", "entries": "p-other"})
    html = admin.post(f"/admin/segments/{seg['id']}", edited + [("action", "save")])
    assert "Saved." in html, _text(html)[:1500]
    seg = rt.segments.get(shop.id, seg["id"])
    assert seg["rule"] == {"all": [{"field": "tag", "op": "has", "value": ["vip", "WHOLESALE"]},
                                   {"field": "bought_product", "op": "has_not", "value": ["p-other"]}]}
    assert seg["members_count"] == 2  # bob and dan: ann bought p-other
    text = _text(admin.get("/admin/segments"))
    assert "Has the tag vip or WHOLESALE and Never bought product p-other" in text, text
    html = admin.post("/admin/segments/new", _segment_form(  # not bought within 30 days: bob (40 days ago), dan
        "x", {"field": "bought_product", "op": "has_not", "entries": product, "days": "30"}) + [("action", "preview")])
    assert 'data-preview-count="2"' in html and "Bob Old VIP" in html and "Dan VIP" in html
    html = admin.post("/admin/segments/new", _segment_form(  # no VIP tag (any case): cat only
        "x", {"field": "tag", "op": "has_not", "entries": "vip"}) + [("action", "preview")])
    assert 'data-preview-count="1"' in html and "Cat Recent Plain" in html
    html = admin.post("/admin/segments/new", _segment_form(
        "x", {"field": "bought_collection", "op": "has", "entries": "summer", "days": "7"},
        mode="any") + [("action", "preview")])
    assert 'data-preview-count="0"' in html

    # refused next to the condition, nothing saved
    for row, words in (({"field": "tag", "op": "has", "entries": " , "}, "Enter at least one, separated by commas."),
                       ({"field": "bought_product", "op": "has", "entries": "1", "days": "0"}, "Enter days from 1 to 3,650."),
                       ({"field": "bought_product", "op": "has", "entries": "1", "days": "soon"},
                        "Enter days from 1 to 3,650."),
                       ({"field": "bought_product", "op": "has", "entries": "9" * 65},
                        "A product id has at most 64 characters."),
                       ({"field": "tag", "op": "gte", "entries": "VIP"}, "Choose a comparison this fact allows.")):
        html = admin.post("/admin/segments/new", _segment_form("Bad", tag, row) + [("action", "save")])
        assert re.search(r'id="c-1-err"[^>]*>%s' % re.escape(words), html), (row, _text(html)[:1200])
    # days typed for a tag (left over from a purchase fact) are not part of a tag rule
    html = admin.post("/admin/segments/new", _segment_form("x", {**tag, "days": "12"}) + [("action", "preview")])
    assert 'data-preview-count="3"' in html  # ann, bob ("vip": any case) and dan
    assert len(rt.segments.list(shop.id)) == 1

    # Italian: the form and the rule in words
    html = admin.get("/admin/segments/new?lang=it")
    assert "ha il tag" in html and "Prodotto acquistato" in html and "Negli ultimi (facoltativo)" in html
    text = _text(admin.get("/admin/segments"))
    assert "Ha il tag vip o WHOLESALE e Non ha mai acquistato il prodotto p-other" in text, text
    admin.post(f"/admin/segments/{seg['id']}", _segment_form("x", bought) + [("action", "save")])
    text = _text(admin.get("/admin/segments"))
    assert f"Ha acquistato il prodotto {product} negli ultimi 30 giorni" in text, text

    # the member's card: their tags and how many different products they bought
    text = _text(admin.get(f"/admin/members/{ann.id}?lang=en"))
    assert "Tags VIP wholesale" in text and "2 different products bought" in text, text
    text = _text(admin.get(f"/admin/members/{dan.id}"))
    assert "Tags VIP" in text and "0 different products bought" in text, text
    text = _text(admin.get(f"/admin/members/{cat.id}?lang=it"))
    assert "Nessun tag" in text and "1 prodotto acquistato" in text, text


def test_every_fact_has_words_and_a_form_row(shops):
    """Every fact a rule may use (domain.segments.FIELDS, now and later) has a label and words
    for each of its comparisons, and a form row of it (any comparison, nothing typed) comes back
    with what to fix, never a 500; a rule of any fact reads without its raw key."""
    from plugin_app import i18n
    from plugin_app.domain.segments import FIELDS
    from plugin_app.http.admin_pages.engagement import FACT_LABELS, FACT_OP_LABELS, OP_LABELS, describe, fact_label

    app, rt, shop, key, _b, _kb = shops
    assert set(FIELDS) <= set(FACT_LABELS), set(FIELDS) - set(FACT_LABELS)
    for fact, (_kind, ops) in FIELDS.items():
        for op in ops:
            assert op in FACT_OP_LABELS.get(fact, {}) or op in OP_LABELS, (fact, op)
    admin = Admin(app, key)
    html = admin.get("/admin/segments/new?lang=en")
    for fact in FIELDS:
        assert f'<option value="{fact}"' in html, fact
    rows = [{"field": fact, "op": op} for fact, (_k, ops) in FIELDS.items() for op in ops]
    for start in range(0, len(rows), 20):  # the form holds 20 conditions
        html = admin.post("/admin/segments/new", _segment_form("All facts", *rows[start:start + 20])
                          + [("action", "preview")])
        assert "Fix what is marked below." in html or "data-preview-count" in html
    assert rt.segments.list(shop.id) == []
    with app.test_request_context(), i18n.using("it"):
        for fact, (_kind, ops) in FIELDS.items():
            assert fact_label(fact) not in (fact, i18n.translator("en").gettext(FACT_LABELS[fact])), fact
            for op in ops:  # a sentence of its own ("Ha il tag 1") or label, comparison and value
                words = describe({"all": [{"field": fact, "op": op, "value": "1"}]}, "EUR")
                assert words and not words.startswith(fact), (fact, op, words)


def test_thresholds_are_edited_with_help_and_refused_when_not_ascending(shops):
    app, rt, shop, key, _b, _kb = shops
    admin = Admin(app, key)
    html = admin.get("/admin/segments/thresholds?lang=en")
    assert "recency 5, frequency 3, monetary 3; active" in _text(html)  # the worked example
    form = _set(_form(html, "segments"), **{"segments__lifecycle__at_risk_days": "60",
                                            "segments__rfm__recency_days__0": "20"})
    html = admin.post("/admin/segments/thresholds", form + [("action", "save")])
    assert "Saved as version" in html, _text(html)[:1500]
    cfg = rt.programs.current(shop.id).program.segments
    assert cfg.lifecycle.at_risk_days == 60 and cfg.rfm.recency_days == [20, 90, 180, 365]
    assert "Lifecycle states – At risk after: 90 days → 60 days" in _text(admin.get("/admin/program/history"))
    bad = _set(_form(html, "segments"), **{"segments__rfm__frequency_orders__2": "1"})
    html = admin.post("/admin/segments/thresholds", bad + [("action", "save")])
    assert re.search(r'id="e-segments-rfm-frequency_orders"[^>]*>Each number must be more than the one before it\.', html)
    bad = _set(_form(html, "segments"), **{"segments__rfm__frequency_orders__2": "5",
                                           "segments__lifecycle__lapsed_days": "30"})
    html = admin.post("/admin/segments/thresholds", bad + [("action", "save")])
    assert "Must be more than “at risk after”" in _text(html)
    html = admin.get("/admin/segments/thresholds?lang=it")
    assert "Soglie del ciclo di vita e RFM" in html and "Lifecycle states" not in html


def test_member_page_shows_the_profile_segments_and_badges(shops):
    app, rt, shop, key, _b, _kb = shops
    F.use_program(rt, shop, tiers=F.tiers(("Bronze", 0), ("Silver", 50), enabled=True),
                  badges=[{"id": "first", "name": "First order", "rule": {"kind": "first_order"}}],
                  challenges=[{"id": "spring", "name": "Spring", "starts_at": "2026-01-01T00:00:00",
                               "ends_at": "2036-01-01T00:00:00", "goal": {"kind": "orders_count", "n": 3},
                               "points": 50}])
    member = F.member(rt, shop, name="Pia Profile")
    rt.orders.on_paid(shop.id, F.order(F.line("80.00"), customer=member.platform_customer_id,
                                       placed_at=datetime.now(timezone.utc) - timedelta(days=2)))
    seg = rt.segments.create(shop.id, "Buyers", {"all": [{"field": "orders_count", "op": "gte", "value": 1}]})
    admin = Admin(app, key)
    text = _text(admin.get(f"/admin/members/{member.id}?lang=en"))
    assert "Lifecycle state New" in text and "Lifetime value €80.00" in text and "1 order" in text
    assert "Tier history" in text and "no tier → Silver" in text, text  # the 80 € order's points reach Silver
    assert "Buyers" in text and "First order Earned" in text and "Spring" in text and "1 of 3 orders" in text
    html = admin.get(f"/admin/members/{member.id}?lang=it")
    text = _text(html)
    assert "Stato del ciclo di vita Nuovo" in text and "80,00 €" in text and "Profilo" in text
    assert f"/admin/segments/{seg['id']}" in html


# -- in Chromium: the pages as the merchant sees them, EN and IT --------------------------------
from .test_admin_pages import ADMIN_SHOTS, admin, sign_in  # noqa: E402,F401  (fixtures)
from .test_widgets import browser, needs_browser, store  # noqa: E402,F401  (fixtures)

ENGAGEMENT_PAGES = ["badges", "leaderboard-survey", "segments", "segments/thresholds", "survey/answers"]


@needs_browser
def test_engagement_pages_in_chromium(browser, admin):  # noqa: F811
    """A badge with a points reward and a condition row whose comparisons follow its fact (the
    page's script, under the strict CSP); a segment previewed then saved; every page in English and
    Italian without a script error or CSP violation; screenshots of each."""
    ADMIN_SHOTS.mkdir(parents=True, exist_ok=True)
    rt, shop_id = admin.rt, admin.shop_id
    F.use_program(rt, rt.shops.get(shop_id), challenges=[{
        "id": "winter", "name": "Winter sprint", "starts_at": "2026-01-01T00:00:00", "ends_at": "2036-01-01T00:00:00",
        "goal": {"kind": "orders_count", "n": 3}, "points": 100}],
        survey={"enabled": True, "points": 20, "questions": [
            {"id": "q1", "kind": "rating", "text": {"en": "How did we do?", "it": "Come siamo andati?"}},
            {"id": "q2", "kind": "choice", "text": {"en": "What brought you here?"},
             "choices": [{"id": "c1", "text": {"en": "A friend", "it": "Un amico"}}, {"id": "c2", "text": {"en": "An advert"}}]}]})
    member = rt.members.by_customer(shop_id, "demo-1003")[0]
    rt.surveys.answer(shop_id, "demo-1003", "feedback", {"q1": 5, "q2": "c1"})
    problems: list[str] = []
    page = sign_in(browser, admin)
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{admin.base}/admin/badges")
    page.get_by_role("button", name="+ Add a badge").click()
    row = page.locator("[data-row='badges.0']")
    row.get_by_label("Name customers see").fill("Big spender")
    row.get_by_label("Earned for").select_option(label="Spending an amount")
    assert row.get_by_label("Amount spent").is_visible() and not row.get_by_label("How many").is_visible()
    row.get_by_label("Amount spent").fill("500")
    row.get_by_label("Italian").fill("Grande acquirente")
    page.get_by_role("button", name="Save", exact=True).click()
    assert "Saved as version" in page.locator("[role=status]").inner_text()
    assert rt.programs.current(shop_id).program.badges[0].rule.amount == 500
    assert "Earned once €500.00 is spent in all; gives 50 points" in page.locator("[data-row='badges.0'] [data-example]").inner_text()

    page.goto(f"{admin.base}/admin/segments/new")
    page.screenshot(path="/tmp/admin-segment-new-en.png", full_page=True)  # a lifecycle condition, by ticks
    assert page.locator("[data-cond='0'] [data-cond-picks=lifecycle]").is_visible()
    assert not page.locator("[data-cond='0'] [data-cond-picks=tier]").is_visible()
    cond = page.locator("[data-cond='0']")
    cond.get_by_label("Fact").select_option(label="Points balance")
    assert cond.locator("[data-cond-op] option[value=in]").is_disabled()  # not a comparison for a number
    cond.get_by_label("Comparison").select_option(label="is at least")
    cond.get_by_label("Value", exact=True).fill("100")
    page.get_by_label("Name").fill("Points to spend")
    page.get_by_role("button", name="Preview members").click()
    page.screenshot(path="/tmp/admin-segment-preview-en.png", full_page=True)
    count = int(page.locator("[data-preview-count]").get_attribute("data-preview-count"))
    assert count > 0
    page.get_by_role("button", name="Save segment").click()
    assert "Saved." in page.locator("[role=status]").inner_text()
    seg = rt.segments.list(shop_id)[0]
    assert seg["members_count"] == count
    page.goto(f"{admin.base}/admin/members/{member.id}")
    assert "Lifecycle state" in page.locator("[data-profile]").inner_text()

    for lang in ("en", "it"):
        page.goto(f"{admin.base}/admin/dashboard?lang={lang}")
        for path in ENGAGEMENT_PAGES + [f"segments/{seg['id']}", f"members/{member.id}"]:
            page.goto(f"{admin.base}/admin/{path}")
            page.wait_for_load_state("networkidle")
            name = path.replace("/", "-").replace(str(seg["id"]), "one").replace(str(member.id), "one")
            page.screenshot(path=str(ADMIN_SHOTS / f"engagement-{name}-{lang}.png"), full_page=True)
            page.screenshot(path=f"/tmp/admin-{name}-{lang}.png", full_page=True)
    assert not problems, problems


@needs_browser
def test_segment_facts_in_chromium(browser, admin):  # noqa: F811
    """A tag and a purchase condition in the browser: the comparisons are the fact's own words,
    the value entry says what to type for the fact, "in the last N days" only for a purchase; the
    preview counts the member; saved as entered; switching a row's fact keeps a comparison it has."""
    rt, shop_id = admin.rt, admin.shop_id
    member = rt.members.by_customer(shop_id, "demo-1003")[0]
    rt.segments.set_tags(shop_id, "demo-1003", "VIP, wholesale")
    rt.orders.on_paid(shop_id, F.order(F.line("30.00", product_id="8100200300400"), customer="demo-1003",
                                       currency=rt.shops.get(shop_id).currency,
                                       placed_at=rt.clock.now() - timedelta(days=5)))
    problems: list[str] = []
    page = sign_in(browser, admin)
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{admin.base}/admin/segments/new")
    page.get_by_label("Name").fill("Recent VIP buyers")
    cond = page.locator("[data-cond='0']")
    cond.get_by_label("Fact").select_option(label="Customer tag")
    shown = cond.locator("[data-cond-op] option:not([hidden])")
    assert shown.all_inner_texts() == ["has the tag", "does not have the tag"]
    assert cond.get_by_label("Tags").is_visible() and not cond.get_by_label("Value", exact=True).is_visible()
    assert cond.get_by_text("WooCommerce has no customer tags").is_visible()
    assert not cond.get_by_label("In the last (optional)").is_visible()
    cond.get_by_label("Tags").fill("VIP")
    page.get_by_role("button", name="+ Add a condition").click()
    cond = page.locator("[data-cond='1']")
    cond.get_by_label("Fact").select_option(label="Product bought")
    assert cond.locator("[data-cond-op] option:not([hidden])").all_inner_texts() == [
        "bought the product", "never bought the product"]
    assert cond.get_by_text("Shopify: the product id").is_visible()
    assert not cond.get_by_text("WooCommerce has no customer tags").is_visible()
    cond.get_by_label("Product ids").fill("8100200300400")
    cond.get_by_label("In the last (optional)").fill("30")
    page.screenshot(path="/tmp/admin-segment-facts-en.png", full_page=True)
    page.get_by_role("button", name="Preview members").click()
    assert page.locator("[data-preview-count]").get_attribute("data-preview-count") == "1"
    assert member.name in page.locator("[data-preview]").inner_text()
    page.get_by_role("button", name="Save segment").click()
    assert "Saved." in page.locator("[role=status]").inner_text()
    seg = rt.segments.list(shop_id)[0]
    assert seg["rule"] == {"all": [{"field": "tag", "op": "has", "value": ["VIP"]},
                                   {"field": "bought_product", "op": "has", "value": ["8100200300400"], "days": 30}]}
    assert seg["members_count"] == 1
    # a purchase row turned into a tag row: "has" stays, in the tag's words; no days
    cond = page.locator("[data-cond='1']")
    assert cond.get_by_label("In the last (optional)").input_value() == "30"
    cond.get_by_label("Fact").select_option(label="Collection or category bought")
    assert cond.get_by_label("Comparison").evaluate("s => s.options[s.selectedIndex].text") == \
        "bought from the collection or category"
    assert cond.get_by_text("WooCommerce: the product category's slug").is_visible()
    cond.get_by_label("Fact").select_option(label="Customer tag")
    assert cond.get_by_label("Comparison").evaluate("s => s.options[s.selectedIndex].text") == "has the tag"
    assert not cond.get_by_label("In the last (optional)").is_visible()
    cond.get_by_label("Fact").select_option(label="Orders")
    assert cond.get_by_label("Value", exact=True).is_visible() and not cond.get_by_label("Tags").is_visible()
    page.goto(f"{admin.base}/admin/members/{member.id}")
    card = page.locator("[data-tags-bought]").inner_text()
    assert "VIP" in card and "wholesale" in card and "1 product bought" in card, card
    page.screenshot(path="/tmp/admin-member-tags-en.png", full_page=True)
    assert not problems, problems


ODD = [
    ("/admin/badges", [("badges", "x"), ("action", "save")]),
    ("/admin/badges", [("badges.__n", "2"), ("badges.0.rule", "x"), ("badges.0.names.a.b", "z"),
                       ("badges.1.names.<b>", "q"), ("badges.1.max_times", "9" * 40), ("action", "save")]),
    ("/admin/badges", [("challenges.__n", "1"), ("challenges.0.starts_at", "tomorrow"), ("action", "preview")]),
    ("/admin/leaderboard-survey", [("survey", "x"), ("action", "save")]),
    ("/admin/leaderboard-survey", [("survey.questions.__n", "1"), ("survey.questions.0.choices", "abc"),
                                   ("survey.questions.0.kind", "choice"), ("action", "preview")]),
    ("/admin/leaderboard-survey", [("leaderboard.size", "9" * 30), ("leaderboard.period", "decade"), ("action", "save")]),
    ("/admin/segments/thresholds", [("segments.rfm.recency_days.7", "5"), ("segments.rfm", "x"), ("action", "save")]),
    ("/admin/segments/thresholds", [("segments.lifecycle.new_days", "1,5"), ("action", "save")]),
    ("/admin/segments/new", [("c.__n", "abc"), ("action", "save")]),
    ("/admin/segments/new", [("c.__n", "4"), ("c.0.field", "zzz"), ("c.0.op", "between"), ("c.0.value", "--5"),
                             ("c.1.field", "birthday_month"), ("c.1.op", "in"), ("c.1.values", "13x"),
                             ("c.2.field", "lifetime_value"), ("c.2.op", "gt"), ("c.2.value", "1e99999"),
                             ("c.3.field", "recency_score"), ("c.3.op", "in"), ("c.3.value", "1"),
                             ("name", "x" * 500), ("action", "save")]),
]


@pytest.mark.parametrize("url,form", ODD)
def test_odd_forms_are_refused_in_words_never_a_500(shops, url, form):
    app, rt, shop, key, _b, _kb = shops
    admin = Admin(app, key)
    admin.get(url)
    version = rt.programs.current(shop.id).version
    admin.post(url, form)  # 200: the page again, with what to fix
    assert rt.programs.current(shop.id).version == version and rt.segments.list(shop.id) == []


def test_odd_addresses_are_404_or_read_safely(shops):
    app, rt, shop, key, _b, _kb = shops
    admin = Admin(app, key)
    admin.get("/admin/segments/" + "9" * 25, status=404)
    admin.get("/admin/segments/0", status=404)
    admin.get("/admin/survey/answers?before=" + "9" * 30)
    admin.get("/admin/survey/answers?before=x")

"""Engagement pages (issue 20): badges and challenges, leaderboard and survey (program task pages
saved through the program's versions, as the other task pages), the survey's answers as a table,
and segments: the shop's rule-built segments with their member counts, a form over the facts a
rule may use (no JSON) with a preview of the members it matches before saving, a segment's
members, and the lifecycle and RFM thresholds (the program's `segments` section)."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.dates import get_month_names
from babel.lists import format_list
from flask import redirect, request, url_for

from ... import i18n
from ...domain.errors import InvalidRequest, NotFound
from ...domain.segments import BOUGHT, STATES
from ...domain.segments import FIELDS as FACTS
from ...domain.survey import text_for
from ...i18n import N_
from ...i18n import gettext as _
from .. import program_editor as E
from .. import program_examples as X
from .base import _rt, _shop, bp, message, render
from .program_pages import _edit


@bp.route("/badges", methods=["GET", "POST"])
def badges():
    return _edit("badges", "admin/program_badges.html", badge_languages=_other_languages())


@bp.route("/leaderboard-survey", methods=["GET", "POST"])
def engagement():
    from ...services.leaderboard import LeaderboardOff

    try:  # who is on the board now (display names only, as customers see it)
        board = _rt().leaderboards.board(_shop().id, None, i18n.current().locale)["entries"]
    except LeaderboardOff:
        board = None
    return _edit("engagement", "admin/program_engagement.html", text_languages=list(i18n.LOCALES), board=board)


@bp.route("/segments/thresholds", methods=["GET", "POST"])
def segment_thresholds():
    return _edit("segments", "admin/program_segments.html")


def _other_languages() -> list[str]:
    return [c for c in i18n.LOCALES if c != i18n.DEFAULT]


# -- the survey's answers ---------------------------------------------------------------------
@bp.get("/survey/answers")
def survey_answers():
    shop, rt = _shop(), _rt()
    t = i18n.current()
    survey = rt.programs.current(shop.id).program.survey
    before = request.args.get("before", "")
    page = rt.surveys.answers(shop.id, survey.id, int(before) if before.isdigit() and len(before) < 19 else None, 50)
    lang = t.locale
    questions = [{"id": q.id, "text": text_for(q.text, lang), "kind": q.kind,
                  "choices": {c.id: text_for(c.text, lang) for c in q.choices}} for q in survey.questions]
    people: dict[int, str] = {}
    rows = []
    for a in page["answers"]:
        if a["member_id"] not in people:
            try:
                m, _b = rt.members.get(shop.id, a["member_id"])
                people[a["member_id"]] = m.name or m.email or m.platform_customer_id
            except NotFound:
                people[a["member_id"]] = "–"
        cells = []
        for q in questions:
            v = a["answers"].get(q["id"])
            if v is None or v == "":
                cells.append("–")
            elif q["kind"] == "rating":
                cells.append(_("%(rating)s of 5", rating=t.number(v)))
            elif q["kind"] == "choice":
                cells.append(q["choices"].get(v, str(v)))
            else:
                cells.append(str(v))
        rows.append({"member_id": a["member_id"], "who": people[a["member_id"]], "cells": cells,
                     "when": t.datetime(a["answered_at"], shop.timezone or "UTC"), "points": a["points"]})
    return render("admin/survey_answers.html", "engagement", _("Survey answers"), questions=questions, rows=rows,
                  next_before=page["next_before"], survey=survey)


# -- segments ---------------------------------------------------------------------------------
FACT_LABELS = {
    "orders_count": N_("Orders"),
    "lifetime_value": N_("Lifetime value"),
    "average_days_between_orders": N_("Average days between orders"),
    "days_since_last_order": N_("Days since the last order"),
    "days_since_first_order": N_("Days since the first order"),
    "days_since_enrolled": N_("Days since joining the program"),
    "recency_score": N_("Recency score (0 to 5)"),
    "frequency_score": N_("Frequency score (0 to 5)"),
    "monetary_score": N_("Monetary score (0 to 5)"),
    "lifecycle": N_("Lifecycle state"),
    "tier": N_("VIP tier"),
    "points_balance": N_("Points balance"),
    "points_expiring_within_days": N_("Points expiring within (days)"),
    "birthday_month": N_("Birthday month"),
    "tag": N_("Customer tag"),
    "bought_product": N_("Product bought"),
    "bought_collection": N_("Collection or category bought"),
}
OP_LABELS = {"eq": N_("is"), "neq": N_("is not"), "gt": N_("is more than"), "gte": N_("is at least"),
             "lt": N_("is less than"), "lte": N_("is at most"), "between": N_("is between"),
             "in": N_("is one of"), "not_in": N_("is none of"), "none": N_("is not set (never ordered, no tier, no birthday)"),
             "has": N_("has any of"), "has_not": N_("has none of")}
# a fact's own words for a comparison (has / has_not read differently for tags and purchases)
FACT_OP_LABELS = {
    "tag": {"has": N_("has the tag"), "has_not": N_("does not have the tag")},
    "bought_product": {"has": N_("bought the product"), "has_not": N_("never bought the product")},
    "bought_collection": {"has": N_("bought from the collection or category"),
                          "has_not": N_("never bought from the collection or category")},
}
LISTED = ("state", "text", "month")  # facts picked from a list (ticked), not typed
TYPED_FACTS = ("tag", "product", "group")  # kinds typed as a list of tags, product ids or collections
PICK_OPS = ("in", "not_in", "none")
MAX_ROWS = 20
MAX_ENTRIES = 100  # values of one condition (the rule's limit)


def _ops(fact: str) -> list[str]:
    kind, ops = FACTS[fact]
    return [o for o in ops if o in PICK_OPS] if kind in LISTED else list(ops)


def fact_label(fact: str) -> str:
    """The fact's name in the reader's words (its key when a new fact has no label yet: never a 500)."""
    label = FACT_LABELS.get(fact)
    return i18n.current().gettext(label) if label else fact


def op_label(fact: str, op: str) -> str:
    label = FACT_OP_LABELS.get(fact, {}).get(op) or OP_LABELS.get(op)
    return i18n.current().gettext(label) if label else op


def _fact_words(fact: str, op: str, values: list, days) -> str | None:
    """A tag or purchase condition as a sentence: "Has the tag VIP", "Bought product 123 in the
    last 30 days"; values joined as the reader's language joins alternatives ("VIP or gold")."""
    t = i18n.current()
    shown = format_list([str(v) for v in values], style="or", locale=t.locale) if values else "–"
    has = op == "has"
    if fact == "tag":
        return t.gettext(N_("Has the tag %(values)s") if has else N_("Does not have the tag %(values)s"), values=shown)
    if fact not in BOUGHT:
        return None
    if not isinstance(days, int) or isinstance(days, bool):
        if fact == "bought_product":
            return t.gettext(N_("Bought product %(values)s") if has else N_("Never bought product %(values)s"),
                             values=shown)
        return t.gettext(N_("Bought from the collection or category %(values)s") if has
                         else N_("Never bought from the collection or category %(values)s"), values=shown)
    n = t.number(days)
    if fact == "bought_product" and has:
        return t.ngettext("Bought product %(values)s in the last %(num)s day",
                          "Bought product %(values)s in the last %(num)s days", days, values=shown, num=n)
    if fact == "bought_product":
        return t.ngettext("Did not buy product %(values)s in the last %(num)s day",
                          "Did not buy product %(values)s in the last %(num)s days", days, values=shown, num=n)
    if has:
        return t.ngettext("Bought from the collection or category %(values)s in the last %(num)s day",
                          "Bought from the collection or category %(values)s in the last %(num)s days", days,
                          values=shown, num=n)
    return t.ngettext("Did not buy from the collection or category %(values)s in the last %(num)s day",
                      "Did not buy from the collection or category %(values)s in the last %(num)s days", days,
                      values=shown, num=n)


def _picks(fact: str, tiers: list[str]) -> list[tuple[str, str]]:
    t = i18n.current()
    kind = FACTS[fact][0]
    if kind == "state":
        return [(s, t.gettext(X.STATE_NAMES[s])) for s in STATES]
    if kind == "month":
        names = get_month_names("wide", context="stand-alone", locale=t.locale)
        return [(str(n), names[n].capitalize()) for n in range(1, 13)]
    return [(name, name) for name in tiers]


def _number_text(value) -> str:
    t = i18n.current()
    try:
        return t.number(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def describe(rule, tiers_currency: str) -> str:
    """A rule in the reader's words: "Orders is at least 3 and Lifecycle state is one of At risk, Lapsed"."""
    t = i18n.current()
    if not isinstance(rule, dict) or len(rule) != 1:
        return "–"
    mode, items = next(iter(rule.items()))
    parts = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and len(item) == 1 and next(iter(item)) in ("all", "any"):
            parts.append(f"({describe(item, tiers_currency)})")
            continue
        fact, op, value = item.get("field"), item.get("op"), item.get("value")
        if fact not in FACTS:
            continue
        kind = FACTS[fact][0]
        if kind in TYPED_FACTS:
            words = _fact_words(fact, op, value if isinstance(value, list) else [value], item.get("days"))
            if words:
                parts.append(words)
                continue
        picks = dict(_picks(fact, [])) if kind in ("state", "month") else {}

        def show(v):
            if kind in ("state", "month"):
                return picks.get(str(v), str(v))
            if fact == "lifetime_value":
                return t.money(Decimal(str(v)), tiers_currency)
            return str(v) if kind == "text" else _number_text(v)

        if op == "none":
            shown = ""
        elif op == "between" and isinstance(value, list) and len(value) == 2:
            shown = t.gettext(N_("%(low)s and %(high)s"), low=show(value[0]), high=show(value[1]))
        elif isinstance(value, list):
            shown = ", ".join(show(v) for v in value)
        else:
            shown = show(value)
        parts.append(" ".join(x for x in (fact_label(fact), op_label(fact, op), shown) if x))
    joiner = t.gettext(N_(" and ")) if mode == "all" else t.gettext(N_(" or "))
    return joiner.join(parts)


def _rows_of(rule) -> list[dict] | None:
    """A stored rule as the form's rows; None when it nests groups (the form is one level)."""
    mode, items = next(iter(rule.items()))
    rows = []
    for item in items:
        if "field" not in item:
            return None
        v = item.get("value")
        row = {"field": item["field"], "op": item["op"], "value": "", "value2": "", "values": [], "entries": "",
               "days": str(item["days"]) if item.get("days") is not None else ""}
        if FACTS.get(item["field"], ("",))[0] in TYPED_FACTS:
            row["entries"] = ", ".join(str(x) for x in (v if isinstance(v, list) else [v]))
        elif isinstance(v, list) and item["op"] == "between":
            row["value"], row["value2"] = str(v[0]), str(v[1])
        elif isinstance(v, list):
            row["values"] = [str(x) for x in v]
        elif FACTS.get(item["field"], ("",))[0] in LISTED and v is not None:
            row["values"], row["op"] = [str(v)], {"eq": "in", "neq": "not_in"}.get(item["op"], item["op"])
        elif v is not None:
            row["value"] = str(v)
        rows.append(row)
    return rows


def _read_rows(form) -> tuple[str, list[dict]]:
    mode = form.get("mode") if form.get("mode") in ("all", "any") else "all"
    try:
        n = max(0, min(int(form.get("c.__n", "0")), MAX_ROWS))
    except ValueError:
        n = 0
    rows = []
    for i in range(n):
        if form.get(f"c.{i}.__remove") == "1":
            continue
        fact = form.get(f"c.{i}.field", "")
        rows.append({"field": fact if fact in FACTS else "orders_count", "op": form.get(f"c.{i}.op", ""),
                     "value": (form.get(f"c.{i}.value") or "").strip()[:40],
                     "value2": (form.get(f"c.{i}.value2") or "").strip()[:40],
                     "values": [v[:40] for v in form.getlist(f"c.{i}.values") if v][:100],
                     "entries": (form.get(f"c.{i}.entries") or "").strip()[:MAX_ENTRIES * 260],
                     "days": (form.get(f"c.{i}.days") or "").strip()[:20]})
    if form.get("add") == "c" and len(rows) < MAX_ROWS:
        rows.append({"field": "orders_count", "op": "gte", "value": "", "value2": "", "values": [], "entries": "",
                     "days": ""})
    return mode, rows


def _rule(mode: str, rows: list[dict]) -> tuple[dict | None, dict[int, str]]:
    """The rule JSON from the rows, and the rows' problems in words (by row)."""
    t = i18n.current()
    errors: dict[int, str] = {}
    out = []
    for i, row in enumerate(rows):
        fact, op = row["field"], row["op"]
        kind = FACTS[fact][0]
        if op not in _ops(fact):
            errors[i] = t.gettext(N_("Choose a comparison this fact allows."))
            continue
        if op == "none":
            out.append({"field": fact, "op": op, "value": None})
            continue
        if kind in TYPED_FACTS:
            cond, error = _typed_fact(fact, kind, op, row)
            if error:
                errors[i] = error
            else:
                out.append(cond)
            continue
        if kind in LISTED:
            values = [int(v) if kind == "month" and v.isdigit() else v for v in row["values"]]
            if not values:
                errors[i] = t.gettext(N_("Tick at least one."))
                continue
            out.append({"field": fact, "op": op, "value": values})
            continue

        def number(text: str):
            text = E._number_text(text)
            if kind in ("int", "score"):
                if not re.fullmatch(r"-?\d{1,15}", text):
                    raise ValueError(t.gettext(N_("Enter a whole number.")))
                return int(text)
            try:
                d = Decimal(text) if len(text) <= 30 else Decimal("NaN")
            except InvalidOperation:
                raise ValueError(t.gettext(N_("Enter a number."))) from None
            if not d.is_finite():
                raise ValueError(t.gettext(N_("Enter a number.")))
            return str(d)

        try:
            value = [number(row["value"]), number(row["value2"])] if op == "between" else number(row["value"])
        except ValueError as exc:
            errors[i] = str(exc)
            continue
        out.append({"field": fact, "op": op, "value": value})
    if not rows:
        return None, {-1: t.gettext(N_("Add at least one condition."))}
    return ({mode: out} if not errors else None), errors


def _typed_fact(fact: str, kind: str, op: str, row: dict) -> tuple[dict | None, str | None]:
    """A tag, product or collection condition from its row: the values typed separated by commas
    (tags, product ids and collection handles hold no comma) and, for purchases, the optional
    "in the last N days"."""
    t = i18n.current()
    values = [v.strip() for v in row["entries"].split(",") if v.strip()]
    if not values:
        return None, t.gettext(N_("Enter at least one, separated by commas."))
    if len(values) > MAX_ENTRIES:
        return None, t.gettext(N_("Enter at most %(n)s, separated by commas."), n=t.number(MAX_ENTRIES))
    if kind == "product" and any(len(v) > 64 for v in values):
        return None, t.gettext(N_("A product id has at most 64 characters."))
    if any(len(v) > 255 for v in values):
        return None, t.gettext(N_("Each may have at most %(n)s characters."), n=t.number(255))
    cond = {"field": fact, "op": op, "value": values}
    days = E._number_text(row["days"]) if fact in BOUGHT else ""
    if days:
        if not re.fullmatch(r"\d{1,4}", days) or not 1 <= int(days) <= 3650:
            return None, t.gettext(N_("Enter days from 1 to 3,650."))
        cond["days"] = int(days)
    return cond, None


RULE_MESSAGES = [
    (r"scores are 0 to 5", N_("Scores are 0 to 5.")),
    (r"months are 1 to 12", N_("Months are 1 to 12.")),
    (r"days are 1 to 3650", N_("Enter days from 1 to 3,650.")),
    (r"low must not be above high", N_("The first number must not be above the second.")),
    (r"out of range|must be a number", N_("Enter a smaller number.")),
    (r"a product id", N_("A product id has at most 64 characters.")),
    (r"1 to 255 characters|1 to 100 values", N_("Enter at least one, separated by commas.")),
]


def _rule_error(exc: InvalidRequest, n: int) -> tuple[int, str]:
    """The service's refusal ("rule.all[2].value: scores are 0 to 5") as a row and words."""
    t = i18n.current()
    text = exc.message
    m = re.match(r"rule\.(?:all|any)\[(\d+)\][^:]*: (.*)", text)
    row, detail = (int(m[1]), m[2]) if m else (-1, text)
    for rx, words in RULE_MESSAGES:
        if re.search(rx, detail):
            return (row if row < n else -1), t.gettext(words)
    return (row if row < n else -1), t.gettext(N_("Check this condition."))


@bp.get("/segments")
def segments():
    shop, rt = _shop(), _rt()
    rows = [{**s, "rule_text": describe(s["rule"], shop.currency)} for s in rt.segments.list(shop.id)]
    program = rt.programs.current(shop.id).program
    return render("admin/segments.html", "segments", _("Segments"), segments=rows, lifecycle=program.segments.lifecycle,
                  deleted=request.args.get("deleted"))


@bp.route("/segments/new", methods=["GET", "POST"])
def segment_new():
    return _segment_form(None)


@bp.route("/segments/<int:segment_id>", methods=["GET", "POST"])
def segment(segment_id: int):
    return _segment_form(segment_id)


def _segment_form(segment_id: int | None):
    shop, rt = _shop(), _rt()
    t = i18n.current()
    program = rt.programs.current(shop.id).program
    tiers = [lvl.name for lvl in program.tiers.levels]
    seg = None
    if segment_id is not None:
        try:
            seg = rt.segments.get(shop.id, segment_id)
        except NotFound:
            return message(404, _("Segment not found"), _("This shop has no such segment."))
    name = seg["name"] if seg else ""
    if seg:
        mode = next(iter(seg["rule"]))
        rows = _rows_of(seg["rule"])
    else:
        mode, rows = "all", [{"field": "lifecycle", "op": "in", "value": "", "value2": "", "values": ["at_risk"],
                             "entries": "", "days": ""}]
    errors: dict[int, str] = {}
    name_error = preview = saved = None
    action = request.form.get("action") if request.method == "POST" else None
    if action == "delete" and seg:
        rt.segments.delete(shop.id, seg["id"])
        return redirect(url_for("admin_pages.segments", deleted=seg["name"]))
    if request.method == "POST" and rows is not None:
        name = (request.form.get("name") or "").strip()[:80]
        mode, rows = _read_rows(request.form)
        if not request.form.get("add") and action in ("preview", "save"):
            rule, errors = _rule(mode, rows)
            if not name and action == "save":
                name_error = t.gettext(N_("Give the segment a name."))
            if rule is not None and not name_error:
                try:
                    if action == "save":
                        seg = rt.segments.update(shop.id, seg["id"], name, rule) if seg else \
                            rt.segments.create(shop.id, name, rule)
                        if segment_id is None:
                            return redirect(url_for("admin_pages.segment", segment_id=seg["id"], saved=1))
                        saved = True
                        mode, rows = next(iter(seg["rule"])), _rows_of(seg["rule"])
                    else:
                        preview = rt.segments.preview_rule(shop.id, rule, limit=10)
                except InvalidRequest as exc:
                    if exc.details.get("field") == "name":
                        name_error = t.gettext(N_("A shop has at most 100 segments.")) if "segments" in exc.message \
                            else t.gettext(N_("Enter a name of at most %(n)s characters."), n=t.number(80))
                    else:
                        row, words = _rule_error(exc, len(rows))
                        errors[row] = words
    members = None
    if seg:
        after = request.args.get("after", "")
        members = rt.segments.members(shop.id, seg["id"], limit=50,
                                      after=int(after) if after.isdigit() and len(after) < 19 else 0)
    facts = [{"key": f, "label": fact_label(f), "ops": " ".join(_ops(f)), "kind": FACTS[f][0],
              "own": " ".join(o for o in FACT_OP_LABELS.get(f, {}) if o in _ops(f)), "days": f in BOUGHT}
             for f in FACTS]
    # comparisons: the generic ones, then a fact's own words for one (offered with that fact only)
    ops = [(o, t.gettext(label), "") for o, label in OP_LABELS.items()]
    ops += [(o, t.gettext(label), f) for f in FACTS for o, label in FACT_OP_LABELS.get(f, {}).items()]
    picks = {f: _picks(f, tiers) for f in FACTS if FACTS[f][0] in LISTED}
    title = seg["name"] if seg else _("New segment")
    return render("admin/segment.html", "segments", title, seg=seg, name=name, mode=mode, rows=rows, errors=errors,
                  name_error=name_error, preview=preview, saved=saved or request.args.get("saved"), members=members,
                  facts=facts, ops=ops, picks=picks, listed=[f for f in FACTS if FACTS[f][0] in LISTED],
                  kinds={f: FACTS[f][0] for f in FACTS}, own={f: tuple(FACT_OP_LABELS.get(f, {})) for f in FACTS},
                  typed_facts=TYPED_FACTS, bought=BOUGHT, currency=shop.currency,
                  rule_text=describe(seg["rule"], shop.currency) if seg else "")

"""Try a program on the past: the simulator's page. The merchant starts from the program they run
now or a saved version, may change the levers merchants try (points per unit spent, tier
thresholds and multipliers, points expiry, cashback, reward costs; or the whole document as
JSON), and picks a period; the run (services.simulator) prices the shop's past orders and actions
under the draft beside the live program and judges its past referrals again (observe mode).
Nothing is saved to the program. The run's page shows both side by side, what the draft was in
words, the points from actions, the referrals and each fraud rule's verdicts, the tier moves and
the members that differ; the page lists the shop's past runs, and two of them compare side by
side."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import abort, redirect, request, url_for

from ... import i18n
from ...domain import jsondepth
from ...domain.errors import InvalidRequest, InvalidState, NotFound
from ...i18n import N_
from ...services.program import ProgramInvalid, dump, parse
from .. import program_editor as E
from .base import _rt, _shop, bp, render

# (key in the figures, label, kind): the rows of the side-by-side table
ROWS = (("orders", N_("Orders"), "number"), ("members", N_("Members with orders or rewards"), "number"),
        ("points_issued", N_("Points issued"), "number"), ("points_taken_back", N_("Points taken back by refunds"), "number"),
        ("points_redeemed", N_("Points redeemed (assumed)"), "number"), ("points_expired", N_("Points expired"), "number"),
        ("points_liability", N_("Points outstanding at the end"), "number"),
        ("credit_issued", N_("Cashback issued"), "money"), ("credit_redeemed", N_("Cashback spent (assumed)"), "money"),
        ("credit_expired", N_("Cashback expired"), "money"), ("credit_liability", N_("Cashback outstanding at the end"), "money"),
        ("cost", N_("Cost of what was spent"), "money"),
        ("points_from_actions", N_("Points from actions"), "number"),
        ("points_from_referrals", N_("Points from referrals"), "number"),
        ("credit_from_referrals", N_("Credit from referrals"), "money"))
ACTIONS = {"signup": N_("Welcome points"), "birthday": N_("Birthday points"), "review": N_("Product review"),
           "newsletter": N_("Newsletter sign-up"), "social_follow": N_("Following on social media"),
           "social_share": N_("Sharing on social media"), "tier_entry": N_("Bonus points on reaching a tier")}
OUTCOMES = (("ok", N_("Let through")), ("hold", N_("Held for review")), ("block", N_("Refused")))
GIVEN = (("rewarded", N_("Referrers rewarded"), "number"), ("points", N_("Points to referrers"), "number"),
         ("credit", N_("Credit to referrers"), "money"), ("codes", N_("Codes to referrers"), "number"),
         ("codes_amount", N_("Value of those codes"), "money"),
         ("cashback", N_("Extra cashback to referrers"), "money"))
STATES = {"queued": N_("Waiting to run"), "running": N_("Running"), "done": N_("Done"), "failed": N_("Failed")}
RECENT = 20  # runs listed on the page
MISSING = object()


def _period_error(exc: Exception) -> tuple[str, str]:
    """(the input it belongs to, the words) for a period the service or the date parser refused."""
    t = i18n.current()
    field = getattr(exc, "details", {}).get("field")
    if field == "since":
        return "since", t.gettext(N_("The period cannot start in the future."))
    return "until", t.gettext(N_("The period must end after it starts and last at most three years."))


def _day(raw: str) -> date:
    value = date.fromisoformat(raw.strip()[:10])
    if value.year < 2000:  # the shop's offset must not run off the calendar
        raise ValueError(raw)
    return value


def _version_number(raw, default: int) -> int:
    """The version asked for; 0 (none) for text that is not one."""
    raw = str(raw or "").strip()
    if not raw:
        return default
    return int(raw) if raw.isdigit() and len(raw) < 10 else 0


# -- what a draft is, in words -------------------------------------------------------------
def _leaves(doc, path: str = "") -> dict:
    if isinstance(doc, dict) and doc:
        out: dict = {}
        for k, v in doc.items():
            out.update(_leaves(v, f"{path}.{k}" if path else str(k)))
        return out
    if isinstance(doc, list) and doc:
        out = {}
        for i, v in enumerate(doc):
            out.update(_leaves(v, f"{path}.{i}"))
        return out
    return {path: doc}


class Drafts:
    """Says what each run tried: "Version N" for a saved version (or a document equal to one),
    else "Edited copy of version N" with the changes in words (the history page's `diff`), N the
    version it was edited from (`based_on`); for a run that does not say (made through the API
    without it, or before it was kept), the saved version the draft is closest to among those
    saved before the run (the latest on a tie)."""

    def __init__(self, rt, shop) -> None:
        self.rt, self.shop = rt, shop
        self.history = rt.programs.history(shop.id, limit=30)
        self._docs: dict[int, dict | None] = {}
        self._leaves: dict[int, dict] = {}

    def doc(self, version: int) -> dict | None:
        if version not in self._docs:
            try:
                self._docs[version] = dump(self.rt.programs.version(self.shop.id, version).program)
            except NotFound:
                self._docs[version] = None
        return self._docs[version]

    def describe(self, run: dict, program: dict, changes_limit: int = 60) -> dict:
        t = i18n.current()
        if run.get("draft_version"):
            n = run["draft_version"]
            return {"version": n, "edited": False, "changes": [],
                    "text": t.gettext(N_("Version %(version)s"), version=n)}
        made = run.get("created_at") or ""
        candidates = [r["version"] for r in self.history if not made or r["created_at"] <= made]
        if run.get("based_on") and self.doc(run["based_on"]) is not None:
            candidates = [run["based_on"]]
        mine = _leaves(program)
        best, best_distance = None, None
        for version in candidates or [r["version"] for r in self.history]:  # newest first: a tie keeps the latest
            if self.doc(version) is None:
                continue
            if version not in self._leaves:
                self._leaves[version] = _leaves(self.doc(version))
            theirs = self._leaves[version]
            d = sum(1 for k in theirs.keys() | mine.keys() if theirs.get(k, MISSING) != mine.get(k, MISSING))
            if best_distance is None or d < best_distance:
                best, best_distance = version, d
        if best is None:
            return {"version": None, "edited": True, "changes": [], "text": t.gettext(N_("An edited program"))}
        if best_distance == 0:
            return {"version": best, "edited": False, "changes": [],
                    "text": t.gettext(N_("Version %(version)s"), version=best)}
        changes = E.diff(self.doc(best), program, self.shop.currency, limit=changes_limit)
        return {"version": best, "edited": True, "changes": changes,
                "text": t.gettext(N_("Edited copy of version %(version)s"), version=best)}


def _days(run: dict, zone: ZoneInfo) -> tuple[date, date]:
    first = datetime.fromisoformat(run["since"]).astimezone(zone).date()
    last = (datetime.fromisoformat(run["until"]) - timedelta(seconds=1)).astimezone(zone).date()
    return first, last


def _runs(rt, shop, drafts: Drafts, zone: ZoneInfo) -> list[dict]:
    t = i18n.current()
    out = []
    for run in rt.simulations.recent(shop.id, RECENT):
        program = run.pop("program")
        first, last = _days(run, zone)
        out.append({**run, "draft": drafts.describe(run, program, changes_limit=3), "first_day": first,
                    "last_day": last, "state_text": t.gettext(STATES.get(run["state"], N_("Failed")))})
    return out


# -- the page: start from a version, change what to try, run ----------------------------------
@bp.route("/program/simulate", methods=["GET", "POST"])
def simulate():
    return _simulate_page()


def _simulate_page(compare_error: str | None = None):
    shop, rt = _shop(), _rt()
    t = i18n.current()
    current = rt.programs.current(shop.id)
    versions = rt.programs.history(shop.id, limit=30)
    today = rt.clock.now().date()
    zone = ZoneInfo(current.program.timezone)
    posted = request.method == "POST"
    json_mode = (request.form.get("mode") if posted else request.args.get("mode")) == "json"
    chosen = _version_number(request.form.get("draft") if posted else request.args.get("from"), current.version)
    since = request.form.get("since", "")[:40] if posted else (today - timedelta(days=365)).isoformat()
    until = request.form.get("until", "")[:40] if posted else (today - timedelta(days=1)).isoformat()
    errors: dict[str, str] = {}
    json_errors: list[dict] = []
    notice = None
    try:
        base = rt.programs.version(shop.id, chosen)
    except NotFound:
        base = current
        if posted:
            errors["draft"] = t.gettext(N_("Choose a version from the list."))
    document = dump(base.program)
    doc = E.to_form(document)
    text = json.dumps(document, indent=2)
    if posted and "draft" in errors:  # what was typed stays
        text = (request.form.get("document") or text)[:500_000]
        doc = E.read("simulate", request.form, document)[0]
    if posted and "draft" not in errors:
        loaded = request.form.get("loaded", str(base.version))  # the version the form's settings came from
        if request.form.get("action") == "load" or loaded != str(base.version):
            notice = t.gettext(N_("These are version %(version)s's settings: change what you want to try, "
                                  "then run the simulation."), version=base.version)
        else:
            proposed = None
            if json_mode:
                text = (request.form.get("document") or "")[:500_000]
                try:
                    proposed = jsondepth.loads(text)
                except json.JSONDecodeError as exc:
                    json_errors = [{"field": t.gettext(N_("Line %(line)s"), line=exc.lineno), "message": exc.msg}]
                except jsondepth.TooDeep as exc:
                    json_errors = [{"field": "", "message": str(exc)}]
            else:
                doc, problems = E.read("simulate", request.form, document)
                errors.update({path: E.human(kind) for path, kind in problems.items()})
                proposed = E.from_form(doc) if not problems else None
            draft = None
            if proposed is not None:
                try:
                    draft = dump(parse(proposed))
                except ProgramInvalid as exc:
                    if json_mode:
                        json_errors = [{"field": f["field"], "message": E.human(f["message"])} for f in exc.fields]
                    else:
                        errors.update(E.place(exc.fields, doc))
            first = last = None
            try:
                first = _day(since)
            except ValueError:
                errors["since"] = t.gettext(N_("Enter a date."))
            try:
                last = _day(until)
            except ValueError:
                errors["until"] = t.gettext(N_("Enter a date."))
            if first and last and last < first:  # said with the other errors (the service checks it too)
                errors["until"] = t.gettext(N_("The period must end after it starts and last at most three years."))
            if first and last and draft is not None and not errors and not json_errors:
                try:
                    if draft == document:  # nothing changed: the saved version itself
                        run = rt.simulations.start(shop.id, since=first, until=last, version=base.version)
                    else:
                        run = rt.simulations.start(shop.id, since=first, until=last, program=proposed,
                                                   based_on=base.version)
                    return redirect(url_for("admin_pages.simulation", run_id=run["id"]))
                except (InvalidRequest, OverflowError, ValueError) as exc:
                    field, words = _period_error(exc)
                    errors[field] = words
                except ProgramInvalid as exc:  # refused at the start after all (a deleted segment)
                    errors.update(E.place(exc.fields, doc))
                except NotFound:
                    errors["draft"] = t.gettext(N_("Choose a version from the list."))
    drafts = Drafts(rt, shop)
    form = E.Form(doc, errors, shop.currency, [lvl.name for lvl in base.program.tiers.levels])
    ctx = dict(versions=versions, current_version=current.version, chosen=base.version, since=since, until=until,
               form=form, json_mode=json_mode, text=text, json_errors=json_errors, notice=notice, zone=zone,
               runs=_runs(rt, shop, drafts, zone), compare_error=compare_error, currency=shop.currency)
    title = t.gettext(N_("Try a program on the past"))
    html = render("admin/program_simulate.html", "history", title, **ctx, leftovers=[])
    if form.leftovers():  # an error with no input of its own: said on top, with the nearest label
        html = render("admin/program_simulate.html", "history", title, **ctx, leftovers=form.leftovers())
    return html


# -- a run, and two runs side by side -------------------------------------------------------
@bp.get("/program/simulations/<int:run_id>")
def simulation(run_id: int):
    shop, rt = _shop(), _rt()
    try:
        run = rt.simulations.status(shop.id, run_id)
        program = rt.simulations.draft(shop.id, run_id)
    except NotFound:
        abort(404)
    members = rt.simulations.members(shop.id, run_id, limit=50)["items"] if run["state"] == "done" else []
    t = i18n.current()
    current = rt.programs.current(shop.id)
    zone = ZoneInfo(current.program.timezone)
    first, last = _days(run, zone)
    draft = Drafts(rt, shop).describe(run, program)
    # Saving goes the normal ways, each asking first: a saved version is restored (what changes,
    # for whom, then confirm); an edited copy opens in the program's JSON editor previewed.
    is_live = program == dump(current.program)
    res = run.get("result") or {}
    rows = [(k, t.gettext(label), kind) for k, label, kind in ROWS if k in (res.get("live") or {})]
    actions = [{**a, "label": t.gettext(ACTIONS[a["kind"]]) if a["kind"] in ACTIONS else a["kind"]}
               for a in res.get("actions") or []]
    modes = {k: t.gettext(label) for k, label in E.FRAUD_CHOICES}
    refs = res.get("referrals")
    rules = [{**r, "label": t.gettext(E.FRAUD_LABELS[r["rule"]]) if r["rule"] in E.FRAUD_LABELS else r["rule"],
              "mode_label": modes.get(r["mode"], r["mode"])} for r in (refs or {}).get("rules", [])]
    return render("admin/program_simulation.html", "history", t.gettext(N_("Simulation %(id)s"), id=run_id),
                  run=run, rows=rows, members=members, first_day=first, last_day=last, draft=draft,
                  is_live=is_live, document=json.dumps(program, indent=2),
                  state_text=t.gettext(STATES.get(run["state"], N_("Failed"))), actions=actions,
                  referrals=refs, rules=rules, outcomes=[(k, t.gettext(v)) for k, v in OUTCOMES],
                  given=[(k, t.gettext(v), kind) for k, v, kind in GIVEN])


@bp.get("/program/simulations/compare")
def simulations_compare():
    shop, rt = _shop(), _rt()
    t = i18n.current()
    picked = request.args.getlist("run") or [request.args.get("a", ""), request.args.get("b", "")]
    ids = sorted({int(x) for x in picked if x.isdigit() and len(x) < 19})
    if len(ids) != 2:
        return _simulate_page(compare_error=t.gettext(N_("Tick two finished runs to compare them.")))
    try:
        cmp = rt.simulations.compare(shop.id, ids[0], ids[1])
        programs = [rt.simulations.draft(shop.id, i) for i in ids]
    except NotFound:
        abort(404)
    except InvalidState:
        return _simulate_page(compare_error=t.gettext(N_("Only finished runs can be compared: tick two that are done.")))
    zone = ZoneInfo(rt.programs.current(shop.id).program.timezone)
    drafts = Drafts(rt, shop)
    sides = []
    for key, program in zip(("a", "b"), programs):
        run = cmp[key]
        first, last = _days(run, zone)
        sides.append({**run, "draft": drafts.describe(run, program), "first_day": first, "last_day": last})
    a, b = cmp["a"]["result"], cmp["b"]["result"]
    same_live = cmp["same_period"] and a["live"] == b["live"]
    return render("admin/program_compare.html", "history", t.gettext(N_("Two simulations side by side")),
                  sides=sides, cmp=cmp, same_live=same_live, currency=a["currency"], zone=zone,
                  rows=[(k, t.gettext(label), kind) for k, label, kind in ROWS
                        if k in a["live"] and k in b["live"]])

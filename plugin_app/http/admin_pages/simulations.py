"""Try a program on the past: the simulator's page. The merchant picks a saved version and a
period; the run (services.simulator) prices the shop's past orders and actions under it beside the
live program and judges its past referrals again (observe mode), and its page shows both side by
side, the points from actions, the referrals and each fraud rule's verdicts, the tier moves and
the members that differ."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import abort, redirect, request, url_for

from ... import i18n
from ...domain.errors import InvalidRequest, NotFound
from ...i18n import N_
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


def _form_error(exc: Exception) -> str:
    t = i18n.current()
    field = getattr(exc, "details", {}).get("field")
    if field == "until":
        return t.gettext(N_("The period must end after it starts and last at most three years."))
    if field == "since":
        return t.gettext(N_("The period cannot start in the future."))
    return t.gettext(N_("Choose a version and a period."))


@bp.route("/program/simulate", methods=["GET", "POST"])
def simulate():
    shop, rt = _shop(), _rt()
    versions = rt.programs.history(shop.id, limit=30)
    today = rt.clock.now().date()
    error = None
    if request.method == "POST":
        try:
            since = date.fromisoformat(request.form.get("since", ""))
            until = date.fromisoformat(request.form.get("until", ""))
            version = int(request.form.get("draft", ""))
            run = rt.simulations.start(shop.id, since=since, until=until, version=version)
            return redirect(url_for("admin_pages.simulation", run_id=run["id"]))
        except (ValueError, InvalidRequest, NotFound) as exc:
            error = _form_error(exc)
    return render("admin/program_simulate.html", "history", i18n.current().gettext(N_("Try a program on the past")),
                  versions=versions, error=error, since=(today - timedelta(days=365)).isoformat(),
                  until=(today - timedelta(days=1)).isoformat())


@bp.get("/program/simulations/<int:run_id>")
def simulation(run_id: int):
    shop, rt = _shop(), _rt()
    try:
        run = rt.simulations.status(shop.id, run_id)
    except NotFound:
        abort(404)
    members = rt.simulations.members(shop.id, run_id, limit=50)["items"] if run["state"] == "done" else []
    t = i18n.current()
    zone = ZoneInfo(rt.programs.current(shop.id).program.timezone)
    first = datetime.fromisoformat(run["since"]).astimezone(zone).date()
    last = (datetime.fromisoformat(run["until"]) - timedelta(seconds=1)).astimezone(zone).date()
    from ..program_editor import FRAUD_CHOICES, FRAUD_LABELS

    res = run.get("result") or {}
    rows = [(k, t.gettext(label), kind) for k, label, kind in ROWS if k in (res.get("live") or {})]
    actions = [{**a, "label": t.gettext(ACTIONS[a["kind"]]) if a["kind"] in ACTIONS else a["kind"]}
               for a in res.get("actions") or []]
    modes = {k: t.gettext(label) for k, label in FRAUD_CHOICES}
    refs = res.get("referrals")
    rules = [{**r, "label": t.gettext(FRAUD_LABELS[r["rule"]]) if r["rule"] in FRAUD_LABELS else r["rule"],
              "mode_label": modes.get(r["mode"], r["mode"])} for r in (refs or {}).get("rules", [])]
    return render("admin/program_simulation.html", "history", t.gettext(N_("Simulation %(id)s"), id=run_id),
                  run=run, rows=rows, members=members, first_day=first, last_day=last, actions=actions,
                  referrals=refs, rules=rules, outcomes=[(k, t.gettext(v)) for k, v in OUTCOMES],
                  given=[(k, t.gettext(v), kind) for k, v, kind in GIVEN])

"""Try a program on the past: the simulator's page. The merchant picks a saved version and a
period; the run (services.simulator) prices the shop's past orders under it beside the live
program, and its page shows both side by side, the tier moves and the members that differ."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import abort, redirect, request, url_for

from ... import i18n
from ...domain.errors import InvalidRequest, NotFound
from ...i18n import N_
from .base import _rt, _shop, bp, render

# (key in the figures, label, kind): the rows of the side-by-side table
ROWS = (("orders", N_("Orders"), "number"), ("members", N_("Members with orders"), "number"),
        ("points_issued", N_("Points issued"), "number"), ("points_taken_back", N_("Points taken back by refunds"), "number"),
        ("points_redeemed", N_("Points redeemed (assumed)"), "number"), ("points_expired", N_("Points expired"), "number"),
        ("points_liability", N_("Points outstanding at the end"), "number"),
        ("credit_issued", N_("Cashback issued"), "money"), ("credit_redeemed", N_("Cashback spent (assumed)"), "money"),
        ("credit_expired", N_("Cashback expired"), "money"), ("credit_liability", N_("Cashback outstanding at the end"), "money"),
        ("cost", N_("Cost of what was spent"), "money"))


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
    return render("admin/program_simulation.html", "history", t.gettext(N_("Simulation %(id)s"), id=run_id),
                  run=run, rows=[(k, t.gettext(label), kind) for k, label, kind in ROWS], members=members,
                  first_day=first, last_day=last)

"""Analytics: the program's numbers over a period, with charts, in the admin's language.

Each chart is its own SVG response (`/admin/dashboard/charts/<name>.svg`) shown through <img>
with a text alternative: pygal draws it with no script from anywhere (js=[]), and the page
itself keeps the strict Content-Security-Policy (no inline style: the chart's own <style> lives
in the SVG document, which an <img> renders as a static picture, scripts never run)."""
from __future__ import annotations

import math
import re
from datetime import date, timedelta
from decimal import Decimal

import pygal
from flask import Response, abort, request, url_for

from ... import i18n
from ...domain.errors import DomainError
from ...i18n import N_
from ...i18n import gettext as _
from .base import _rt, _shop, bp, render

WIDTH, HEIGHT = 560, 300
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S)
CHART_NAMES = ("daily", "orders", "enrolments", "tiers", "aov", "repeat", "money", "referrals", "segments")
SEGMENTS = {"redeemers": N_("Redeemers"), "non_redeemers": N_("Non-redeemers"), "non_members": N_("Non-members")}
SEGMENT_NOTES = {"redeemers": N_("members who have used a reward on an order"),
                 "non_redeemers": N_("members who have not used a reward yet"),
                 "non_members": N_("customers who are not members, guests included")}
FUNNEL = {"links_shared": N_("Links shared"), "landings": N_("Visits from a link"), "sign_ups": N_("Friends who joined"),
          "first_orders": N_("First orders"), "rewards_issued": N_("Referrers rewarded")}
TABLES = {"daily": N_("Points per day"), "orders": N_("Orders per day"), "enrolments": N_("New members per day"),
          "tiers": N_("Members per tier"), "referrals": N_("Referral funnel"), "summary": N_("Every figure"),
          "segments": N_("Orders by customer segment"), "cohorts": N_("Cohorts by month of joining")}
PERIODS = ((7, N_("Last 7 days")), (30, N_("Last 30 days")), (90, N_("Last 90 days")), (365, N_("Last 12 months")))


def _period(today: date) -> tuple[date, date, str | None]:
    """The period asked for (`from`, `to`), or the last 30 days with a message saying what was wrong."""
    from ...services.analytics import parse_period

    try:
        start, end = parse_period(request.args.get("from"), request.args.get("to"), today)
        return start, end, None
    except DomainError as exc:
        text = exc.message
        if "after" in text:
            error = _("The start must be before the end.")
        elif "ten years" in text:
            error = _("A period can be at most ten years.")
        elif exc.details.get("field") == "to":
            error = _("The end of the period is not a valid date.")
        else:
            error = _("The start of the period is not a valid date.")
        return today - timedelta(days=29), today, error


def _board(shop, start: date, end: date) -> dict:
    return _rt().analytics.dashboard(shop.id, shop.currency, start, end)


def _style():
    return pygal.style.Style(background="white", plot_background="white", font_family="system-ui, sans-serif",
                             colors=("#303030", "#2c6ecb", "#b98900", "#8e1f0b", "#1a7f37"),
                             title_font_size=16, legend_font_size=13, label_font_size=12, major_label_font_size=12)


def _common(t) -> dict:
    # js=[]: no tooltip script from kozea.github.io (nor from anywhere: the chart is a picture)
    return dict(style=_style(), js=[], legend_at_bottom=True, width=WIDTH, height=HEIGHT,
                value_formatter=lambda v: t.number(v) if v is not None else "–", print_values=False,
                no_data_text=t.gettext("No data in this period"))


def _ticks(values, integer: bool = True) -> list:
    """Five or so round steps from 0 to above the largest value (whole numbers for counts), so
    an axis reads "0, 2, 4…" rather than "0, 0.2, 0.4…" or labels too long to fit."""
    top = max([float(v) for v in values if v is not None] + [0.0])
    top = max(top, 4.0 if integer else 1.0)
    raw = top / 5
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1, math.ceil(step))
    return [round(step * i, 6) for i in range(math.ceil(top / step) + 1)]


def _days(t, rows: list[dict]) -> tuple[list[str], list[str]]:
    labels = [t.date(r["day"], "d MMM") for r in rows]
    return labels, labels[::max(1, len(labels) // 8)]


def _chart(name: str, board: dict, currency: str, t):
    """One chart of the dashboard (a pygal chart, titled and labelled in `t`'s language)."""
    common = _common(t)
    seg = board["orders"]

    def amount(v):  # money on an axis: the currency is in the title, whole amounts without decimals
        if v is None:
            return "–"
        return t.number(int(v)) if float(v).is_integer() else t.number(round(Decimal(str(v)), 2))

    if name in ("daily", "orders", "enrolments"):
        rows = {"daily": board["daily"], "orders": board["daily_orders"], "enrolments": board["daily_enrolments"]}[name]
        kind = {"daily": pygal.Line, "orders": pygal.StackedBar, "enrolments": pygal.Bar}[name]
        if name == "daily":
            top = [max(d["points_issued"], d["points_redeemed"], d["points_expired"]) for d in rows]
        elif name == "orders":
            top = [d["member_orders"] + d["guest_orders"] for d in rows]
        else:
            top = [d["members"] for d in rows]
        chart = kind(title=t.gettext(TABLES[name]), x_label_rotation=30, show_minor_x_labels=False,
                     y_labels=_ticks(top), **common)
        chart.x_labels, chart.x_labels_major = _days(t, rows)
        if name == "daily":
            chart.add(t.gettext("Points issued"), [d["points_issued"] for d in rows])
            chart.add(t.gettext("Points redeemed"), [d["points_redeemed"] for d in rows])
            chart.add(t.gettext("Points expired"), [d["points_expired"] for d in rows])
        elif name == "orders":
            chart.add(t.gettext("Members"), [d["member_orders"] for d in rows])
            chart.add(t.gettext("Non-members"), [d["guest_orders"] for d in rows])
        else:
            chart.add(t.gettext("New members"), [d["members"] for d in rows])
        return chart
    if name == "tiers":
        chart = pygal.Bar(title=t.gettext("Members per tier"), y_labels=_ticks(board["members"]["per_tier"].values()), **common)
        for tier, n in board["members"]["per_tier"].items():
            chart.add(tier, [n])
        return chart
    if name == "aov":
        values = [float(seg[k]["average_order_value"]["amount"]) for k in ("members", "non_members")
                  if seg[k]["average_order_value"]]
        chart = pygal.Bar(title=f'{t.gettext("Average order value")} ({currency})', y_labels=_ticks(values, integer=False),
                          **{**common, "value_formatter": amount})
        for label, key in ((t.gettext("Members"), "members"), (t.gettext("Non-members"), "non_members")):
            value = seg[key]["average_order_value"]
            chart.add(label, [float(value["amount"]) if value else None])
        return chart
    if name == "repeat":
        chart = pygal.Bar(title=t.gettext("Repeat purchase rate"), range=(0, 1), y_labels=[0, 0.25, 0.5, 0.75, 1],
                          **{**common, "value_formatter": lambda v: t.percent(v) if v is not None else "–"})
        for label, key in ((t.gettext("Members"), "members"), (t.gettext("Non-members"), "non_members")):
            rate = seg[key]["repeat_purchase_rate"]
            chart.add(label, [float(rate) if rate is not None else None])
        return chart
    if name == "money":
        values = [float(board["program"]["cost"]["amount"]), float(board["program"]["revenue_touched"]["amount"]),
                  float(seg["with_redemptions"]["revenue"]["amount"])]
        chart = pygal.HorizontalBar(title=f'{t.gettext("Cost and revenue")} ({currency})', y_labels=_ticks(values, integer=False),
                                    **{**common, "value_formatter": amount})
        chart.add(t.gettext("Program cost"), [float(board["program"]["cost"]["amount"])])
        chart.add(t.gettext("Members' net sales"), [float(board["program"]["revenue_touched"]["amount"])])
        chart.add(t.gettext("Sales with a reward used"), [float(seg["with_redemptions"]["revenue"]["amount"])])
        return chart
    if name == "segments":
        values = [float(board["segments"][k]["average_order_value"]["amount"]) for k in SEGMENTS
                  if board["segments"][k]["average_order_value"]]
        chart = pygal.Bar(title=f'{t.gettext("Average order value by segment")} ({currency})',
                          y_labels=_ticks(values, integer=False), **{**common, "value_formatter": amount})
        for key, label in SEGMENTS.items():
            value = board["segments"][key]["average_order_value"]
            chart.add(t.gettext(label), [float(value["amount"]) if value else None])
        return chart
    if name == "referrals":
        funnel = board["referrals"] or {}
        chart = pygal.HorizontalBar(title=t.gettext("Referral funnel (all time)"),
                                    y_labels=_ticks(funnel.get(k) for k in FUNNEL), **common)
        for key, label in FUNNEL.items():
            if key in funnel:
                chart.add(t.gettext(label), [funnel[key]])
        return chart
    raise KeyError(name)


def _alt(name: str, board: dict, currency: str, t) -> str:
    """What a chart shows, in words (the <img>'s text alternative)."""
    seg, n = board["orders"], t.number
    if name == "daily":
        return t.gettext("Points per day: %(issued)s issued, %(redeemed)s redeemed, %(expired)s expired in the period.",
                         issued=n(board["points"]["issued"]), redeemed=n(board["points"]["redeemed"]),
                         expired=n(board["points"]["expired"]))
    if name == "orders":
        return t.gettext("Orders per day: %(members)s by members, %(guests)s by non-members in the period.",
                         members=n(seg["members"]["orders"]), guests=n(seg["non_members"]["orders"]))
    if name == "enrolments":
        return t.gettext("New members per day: %(count)s in the period.", count=n(board["members"]["enrolled_in_period"]))
    if name == "tiers":
        parts = ", ".join(f"{tier}: {n(c)}" for tier, c in board["members"]["per_tier"].items())
        return t.gettext("Members per tier: %(tiers)s.", tiers=parts or "–")
    if name == "aov":
        return t.gettext("Average order value: members %(members)s, non-members %(guests)s.",
                         members=t.money(seg["members"]["average_order_value"], currency),
                         guests=t.money(seg["non_members"]["average_order_value"], currency))
    if name == "repeat":
        return t.gettext("Repeat purchase rate: members %(members)s, non-members %(guests)s.",
                         members=t.percent(seg["members"]["repeat_purchase_rate"]),
                         guests=t.percent(seg["non_members"]["repeat_purchase_rate"]))
    if name == "money":
        return t.gettext("Program cost %(cost)s; members' net sales %(sales)s.",
                         cost=t.money(board["program"]["cost"], currency), sales=t.money(board["program"]["revenue_touched"], currency))
    if name == "segments":
        parts = ", ".join(f"{t.gettext(label)}: {t.money(board['segments'][k]['average_order_value'], currency)}"
                          for k, label in SEGMENTS.items())
        return t.gettext("Average order value by segment: %(segments)s.", segments=parts)
    funnel = board["referrals"] or {}
    parts = ", ".join(f"{t.gettext(label)}: {n(funnel[k])}" for k, label in FUNNEL.items() if k in funnel)
    return t.gettext("Referral funnel (all time): %(steps)s.", steps=parts or "–")


@bp.get("/dashboard/charts/<name>.svg")
def chart(name: str):
    """One chart as an SVG picture for the page's <img> (same period and language as the page)."""
    if name not in CHART_NAMES:
        abort(404)
    shop = _shop()
    start, end, _error = _period(_rt().analytics.today(shop.id, _rt().clock.now()))
    svg = _chart(name, _board(shop, start, end), shop.currency, i18n.current()).render(is_unicode=True)
    svg = _SCRIPT.sub("", svg)  # pygal's inline config script: a picture needs none
    return Response(svg, mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=60"})


@bp.after_app_request
def chart_policy(response):
    """A chart's SVG carries its own <style> (pygal's): allowed in that picture only, which
    may run no script, load nothing, and be framed by nobody. (After the blueprint's policy,
    which every admin response gets.)"""
    if request.endpoint == "admin_pages.chart" and response.status_code == 200:
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'")
    return response


@bp.get("")
@bp.get("/dashboard")
def dashboard():
    shop = _shop()
    rt = _rt()
    rt.analytics.refresh()  # cheap when the job has kept up; exact for the merchant looking now
    today = rt.analytics.today(shop.id, rt.clock.now())
    start, end, error = _period(today)
    board = _board(shop, start, end)
    t, cur = i18n.current(), shop.currency
    members, points, orders, program = board["members"], board["points"], board["orders"], board["program"]
    per_cost = program["revenue_per_cost"]
    kpis = [
        (_("New members"), t.number(members["enrolled_in_period"]), None),
        (_("Enrolment rate"), t.percent(members["enrolment_rate"]), _("new members ÷ (new members + first-time guest buyers)")),
        (_("Active members"), t.number(members["active_in_period"]), _("earned or spent in the period")),
        (_("Points issued"), t.number(points["issued"]), None),
        (_("Points redeemed"), t.number(points["redeemed"]), None),
        (_("Points expired"), t.number(points["expired"]), None),
        (_("Outstanding points"), t.number(points["outstanding"]), _("all members, today")),
        (_("Liability"), t.money(board["liability"], cur), _("outstanding points at their value + store credit")),
        (_("Redemption rate"), t.percent(points["redemption_rate"]), _("points redeemed ÷ points issued")),
        (_("Sales with a reward used"), t.money(orders["with_redemptions"]["revenue"], cur), None),
        (_("Program cost"), t.money(program["cost"], cur), _("points redeemed at their value + store credit spent")),
        (_("Sales for each %(unit)s of cost", unit=t.money(1, cur)),
         t.money(per_cost, cur) if per_cost is not None else "–", _("members' net sales ÷ program cost")),
        (_("Repeat purchase rate, members"), t.percent(orders["members"]["repeat_purchase_rate"]),
         _("orders by customers who had ordered before")),
        (_("Repeat purchase rate, non-members"), t.percent(orders["non_members"]["repeat_purchase_rate"]),
         _("orders by customers who had ordered before")),
        (_("Lifetime value per member"), t.money(board["customers"]["lifetime_value"], cur),
         _("members' net sales less refunds, all time ÷ members")),
        (_("Purchase frequency"), t.number(board["customers"]["purchase_frequency"]),
         _("orders ÷ members who have ordered, all time")),
        (_("Reward usage rate"), t.percent(board["codes"]["usage_rate"]),
         _("reward codes issued in the period and used ÷ codes issued (%(used)s used, %(lapsed)s lapsed, %(open)s open)",
           used=t.number(board["codes"]["used"]), lapsed=t.number(board["codes"]["lapsed"]),
           open=t.number(board["codes"]["open"]))),
        (_("Order earning rate"), t.percent(board["rates"]["order_earning_rate"]), _("orders that earned ÷ all orders")),
        (_("Membership rate"), t.percent(board["rates"]["membership_rate"]), _("orders by members ÷ all orders")),
        (_("Pending points"), t.number(points["pending"]), _("earned, not yet available, today")),
        (_("Points expiring in 30 days"), t.number(points["expiring_30_days"]), _("in the next 30 days, from today")),
    ]
    segments = [(_(SEGMENTS[k]), _(SEGMENT_NOTES[k]), t.number(v["orders"]), t.money(v["revenue"], cur),
                 t.money(v["average_order_value"], cur), t.percent(v["repeat_purchase_rate"]))
                for k, v in board["segments"].items()]
    tier_rows = [(r["tier"], t.number(r["members"]), t.number(r["points_outstanding"]), t.number(r["points_pending"]),
                  t.number(r["orders"]), t.money(r["revenue"], cur)) for r in board["tiers"]]
    cohorts = [(t.date(c["month"] + "-01", "MMMM y"), t.number(c["members"]), t.number(c["buyers"]),
                t.percent(c["repeat_30"]), t.percent(c["repeat_60"]), t.percent(c["repeat_90"]))
               for c in reversed(board["cohorts"])]
    period_args = {"from": start.isoformat(), "to": end.isoformat()}
    charts = [{"name": name, "alt": _alt(name, board, cur, t),
               "url": url_for("admin_pages.chart", name=name, lang=t.locale, **period_args)} for name in CHART_NAMES]
    quick = [(_(label), url_for("admin_pages.dashboard", **{"from": (end - timedelta(days=n - 1)).isoformat(),
                                                            "to": end.isoformat()}),
              (end - start).days == n - 1) for n, label in PERIODS]
    return render("admin/analytics.html", "analytics", _("Analytics"), start=start.isoformat(), end=end.isoformat(),
                  shown=_("%(start)s to %(end)s", start=t.date(start, "long"), end=t.date(end, "long")),
                  error=error, recomputing=board["recomputing"], kpis=kpis, charts=charts, segments=segments, tier_rows=tier_rows, cohorts=cohorts, quick=quick, width=WIDTH, height=HEIGHT,
                  tables=[(name, _(TABLES[name]), url_for("admin_api.analytics_csv", table=name, **period_args))
                          for name in rt.analytics.TABLES if name in TABLES])

"""The dashboard: the program's numbers over a period, with charts."""
from __future__ import annotations

from datetime import timedelta

from flask import request
from markupsafe import Markup

import pygal
from ...domain.errors import DomainError
from .base import TEXTS, _lang, _page, _rt, _shop, bp


def _charts(board: dict, t: dict) -> dict[str, str]:
    """Every chart of the dashboard, drawn by pygal as inline SVG."""
    style = pygal.style.Style(background="white", plot_background="white", font_family="system-ui, sans-serif",
                              colors=("#303030", "#2c6ecb", "#b98900", "#8e1f0b", "#1a7f37"))
    common = dict(style=style, disable_xml_declaration=True, legend_at_bottom=True, height=280)
    charts = {}

    def days(rows):
        labels = [d["day"][5:] for d in rows]
        return labels, labels[::max(1, len(labels) // 8)]

    line = pygal.Line(width=560, title=t["per_day"], x_label_rotation=30, show_minor_x_labels=False, **common)
    line.x_labels, line.x_labels_major = days(board["daily"])
    line.add(t["points_issued"], [d["points_issued"] for d in board["daily"]])
    line.add(t["points_redeemed"], [d["points_redeemed"] for d in board["daily"]])
    line.add(t["expired"], [d["points_expired"] for d in board["daily"]])
    charts["daily"] = line

    orders = pygal.StackedBar(width=560, title=t["orders_day"], x_label_rotation=30, show_minor_x_labels=False, **common)
    orders.x_labels, orders.x_labels_major = days(board["daily_orders"])
    orders.add(t["members_seg"], [d["member_orders"] for d in board["daily_orders"]])
    orders.add(t["guests_seg"], [d["guest_orders"] for d in board["daily_orders"]])
    charts["orders"] = orders

    enrol = pygal.Bar(width=560, title=t["enrolments_day"], x_label_rotation=30, show_minor_x_labels=False, **common)
    enrol.x_labels, enrol.x_labels_major = days(board["daily_enrolments"])
    enrol.add(t["enrolled"], [d["members"] for d in board["daily_enrolments"]])
    charts["enrolments"] = enrol

    tiers = pygal.Bar(width=560, title=t["per_tier"], **common)
    for tier, n in board["members"]["per_tier"].items():
        tiers.add(tier, [n])
    charts["tiers"] = tiers

    seg = board["orders"]
    aov = pygal.Bar(width=560, title=t["aov"], **common)
    for label, key in ((t["members_seg"], "members"), (t["guests_seg"], "non_members")):
        value = seg[key]["average_order_value"]
        aov.add(label, [float(value["amount"]) if value else None])
    charts["aov"] = aov

    repeat = pygal.Bar(width=560, title=t["repeat"], range=(0, 100), **common)
    for label, key in ((t["members_seg"], "members"), (t["guests_seg"], "non_members")):
        rate = seg[key]["repeat_purchase_rate"]
        repeat.add(label, [round(rate * 100, 1) if rate is not None else None])
    charts["repeat"] = repeat

    money = pygal.HorizontalBar(width=560, title=t["money"], **common)
    money.add(t["cost"], [float(board["program"]["cost"]["amount"])])
    money.add(t["touched"], [float(board["program"]["revenue_touched"]["amount"])])
    money.add(t["with_redemptions"], [float(seg["with_redemptions"]["revenue"]["amount"])])
    charts["money"] = money

    funnel = board["referrals"] or {}
    steps = [k for k in ("links_shared", "landings", "sign_ups", "first_orders", "rewards_issued") if k in funnel]
    ref = pygal.HorizontalBar(width=560, title=f'{t["funnel"]} ({t["all_time"]})', **common)
    for k in steps:
        ref.add(t[k], [funnel[k]])
    charts["referrals"] = ref
    return {k: c.render(is_unicode=True) for k, c in charts.items()}


@bp.get("")
@bp.get("/dashboard")
def dashboard():
    from ...services.analytics import parse_period

    shop = _shop()
    rt = _rt()
    rt.analytics.refresh()  # cheap when the job has kept up; exact for the merchant looking now
    today = rt.clock.now().date()
    error = None
    try:
        start, end = parse_period(request.args.get("from"), request.args.get("to"), today)
    except DomainError as exc:
        error, end, start = exc.message, today, today - timedelta(days=29)
    board = rt.analytics.dashboard(shop.id, shop.currency, start, end)
    t = TEXTS[_lang(shop)]
    charts = _charts(board, t)
    pct = lambda x: "–" if x is None else "%.1f%%" % (x * 100)  # noqa: E731
    return _page("Dashboard", "dashboard", """<h1>{{ t.dashboard }}</h1>
      <form class="card" method="get" aria-label="{{ t.period }}"><label>{{ t.from }} <input type="date" name="from" value="{{ start }}"></label>
      <label>{{ t.to }} <input type="date" name="to" value="{{ end }}"></label> <button>{{ t.show }}</button>
      {% for n in (7, 30, 90, 365) %} <a href="?from={{ (end_d - delta(days=n - 1)).isoformat() }}&to={{ end }}">{{ n }}d</a>{% endfor %}
      {% if error %}<p class="err" role="alert">{{ error }}</p>{% endif %}</form>
      <div class="grid">
      {% for label, value, note in kpis %}<div class="card"><div class="muted">{{ label }}</div><div class="big">{{ value }}</div>
      {% if note %}<div class="muted" style="font-size:12px">{{ note }}</div>{% endif %}</div>{% endfor %}
      </div>
      <div class="grid" style="grid-template-columns:repeat(auto-fit,minmax(400px,1fr))">
      {% for name, svg in charts.items() %}<div class="card chart" data-chart="{{ name }}">{{ svg }}</div>{% endfor %}</div>
      <div class="card"><h2>CSV</h2>{% for table in tables %}<a class="btn" style="margin-right:6px" href="{{ url_for('admin_api.analytics_csv', table=table, **{'from': start, 'to': end}) }}">{{ table }}.csv</a>{% endfor %}</div>""",
                 start=start.isoformat(), end=end.isoformat(), end_d=end, delta=timedelta, error=error,
                 charts={k: Markup(v) for k, v in charts.items()}, tables=rt.analytics.TABLES,
                 kpis=[
                     (t["enrolled"], board["members"]["enrolled_in_period"], None),
                     (t["enrolment_rate"], pct(board["members"]["enrolment_rate"]), t["d_enrolment"]),
                     (t["active"], board["members"]["active_in_period"], t["d_active"]),
                     (t["points_issued"], board["points"]["issued"], None),
                     (t["points_redeemed"], board["points"]["redeemed"], None),
                     (t["expired"], board["points"]["expired"], None),
                     (t["outstanding"], board["points"]["outstanding"], None),
                     (t["liability"], f'{board["liability"]["amount"]} {board["liability"]["currency"]}', t["d_liability"]),
                     (t["redemption_rate"], pct(board["points"]["redemption_rate"]), None),
                     (t["with_redemptions"], f'{board["orders"]["with_redemptions"]["revenue"]["amount"]} {shop.currency}', None),
                     (t["cost"], f'{board["program"]["cost"]["amount"]} {shop.currency}', t["d_cost"]),
                     (t["per_cost"], board["program"]["revenue_per_cost"] or "–", t["touched"]),
                     (t["repeat"] + " · " + t["members_seg"], pct(board["orders"]["members"]["repeat_purchase_rate"]), t["d_repeat"]),
                     (t["repeat"] + " · " + t["guests_seg"], pct(board["orders"]["non_members"]["repeat_purchase_rate"]), t["d_repeat"]),
                 ])

"""Finance: what the program owes in money, at a day the merchant picks, its ageing by lot, the
expected breakage, the value expiring soon, and the journal of a period with its CSV download.
Read-only; the figures come from `services.finance` (the same as the admin API's)."""
from __future__ import annotations

from flask import request, url_for

from ... import i18n
from ...domain.errors import DomainError
from ...domain.finance import MIN_CLOSED_LOTS, zone
from ...i18n import N_
from ...i18n import gettext as _
from .base import _rt, _shop, bp, render

AGE = {"0-30": N_("0–30 days"), "31-90": N_("31–90 days"), "91-180": N_("91–180 days"),
       "181-365": N_("181–365 days"), "over-365": N_("Over a year")}
EXPIRY = {"due": N_("Due now"), "within-30": N_("Within 30 days"), "within-60": N_("In 31–60 days"),
          "within-90": N_("In 61–90 days"), "later": N_("Later"), "never": N_("Never")}
MOVEMENT = {"issued": N_("Issued"), "redeemed": N_("Redeemed"), "expired": N_("Expired"),
            "reversed": N_("Reversed"), "adjusted": N_("Adjusted"), "imported": N_("Imported")}
ACCOUNT = {"Loyalty liability": N_("Loyalty liability"), "Loyalty expense": N_("Loyalty expense"),
           "Loyalty redemptions (sales discounts)": N_("Loyalty redemptions (sales discounts)"),
           "Breakage income": N_("Breakage income"),
           "Opening balance equity (imported balances)": N_("Opening balance equity (imported balances)")}


@bp.get("/finance")
def finance():
    shop = _shop()
    fin, t, cur, tz = _rt().finance, i18n.current(), shop.currency, shop.timezone or "UTC"
    errors = []
    try:
        at = fin.parse_at(request.args.get("at") or None, tz)
    except DomainError:
        errors.append(_("The day is not a valid date."))
        at = fin.parse_at(None, tz)
    liability = fin.liability(shop.id, cur, at)
    ageing = fin.ageing(shop.id, cur, at)
    try:
        journal = fin.journal(shop.id, cur, tz, request.args.get("from") or None, request.args.get("to") or None)
    except DomainError:
        errors.append(_("The period is not valid: give two dates, the start before the end, at most ten years apart."))
        journal = fin.journal(shop.id, cur, tz, None, None)
    breakage = fin.breakage(shop.id, cur)
    forecast = fin.forecast(shop.id, cur, tz)
    day = at.astimezone(zone(tz)).date()

    def amount(asset, value):
        return t.number(value) if asset == "points" else t.money(value, cur)

    kpis = [(_("Liability"), t.money(liability["amount"], cur),
             _("points at their redemption value + store credit, at the end of %(day)s", day=t.date(day, "long"))),
            (_("Points held"), t.number(liability["points"]["total"]),
             _("worth %(money)s", money=t.money(liability["points_value"], cur))),
            (_("Store credit held"), t.money(liability["credit"]["total"], cur), None),
            (_("Value of a point"), t.money(liability["point_value"], cur) if liability["point_value"] != "0" else "–",
             _("the first fixed-amount reward: its discount ÷ its points") if liability["point_value"] != "0"
             else _("no fixed-amount reward: points are given no money value"))]
    rows = {asset: {"age": [(_(AGE[k]), amount(asset, v)) for k, v in ageing[asset]["by_age_days"].items()],
                    "expiry": [(_(EXPIRY[k]), amount(asset, v)) for k, v in ageing[asset]["by_expiry"].items()],
                    "held": amount(asset, ageing[asset]["held"]), "debts": amount(asset, ageing[asset]["debts"]),
                    "total": amount(asset, ageing[asset]["total"]), "pending": amount(asset, ageing[asset]["of_which_pending"])}
            for asset in ("points", "credit")}
    breaks = []
    for asset, label in (("points", _("Points")), ("credit", _("Store credit"))):
        b = breakage[asset]
        if b["rate"] is None:
            breaks.append((label, "–", _("Too little history: %(n)s lots have passed their expiry date, at least %(min)s are needed.",
                                         n=t.number(b["closed_lots"]), min=t.number(MIN_CLOSED_LOTS))))
        else:
            breaks.append((label, t.percent(b["rate"]),
                           _("%(expected)s of %(held)s that can still expire (%(money)s), from %(n)s lots past their expiry date",
                             expected=amount(asset, b["expected"]), held=amount(asset, b["outstanding_with_expiry"]),
                             money=t.money(b["expected_amount"], cur), n=t.number(b["closed_lots"]))))
    horizons = [(_("Next %(n)s days", n=h["days"]), t.number(h["points"]), t.money(h["credit"], cur), t.money(h["amount"], cur))
                for h in forecast["horizons"]]
    lines = [(_(MOVEMENT[x["movement"]]), _("Points") if x["asset"] == "points" else _("Store credit"),
              _(ACCOUNT[x["debit_account"]]), _(ACCOUNT[x["credit_account"]]), amount(x["asset"], x["quantity"]),
              t.money(x["amount"], cur), t.number(x["entries"])) for x in journal["lines"]]
    period = journal["period"]
    balanced = all(c["balanced"] for c in journal["check"].values())
    return render("admin/finance.html", "finance", _("Finance"), errors=errors, at=day.isoformat(),
                  start=period["from"], end=period["to"], kpis=kpis, rows=rows, breaks=breaks, horizons=horizons,
                  lines=lines, balanced=balanced,
                  shown=_("%(start)s to %(end)s", start=t.date(period["from"], "long"), end=t.date(period["to"], "long")),
                  csv_url=url_for("finance_api.journal_csv", **{"from": period["from"], "to": period["to"]}))

"""Operations: what needs the merchant's decision or attention, in plain words: reward codes used
by another customer, the last check against the platform, the background workers, deliveries
that failed, and redemptions the platform refused."""
from __future__ import annotations

from flask import request

from ... import i18n
from ...domain.errors import DomainError, InvalidState, NotFound
from ...i18n import N_
from ...i18n import gettext as _
from ...services.member_admin import who
from .base import _rt, _shop, bp, render

WORKER_STATES = {"working": N_("working"), "reconnecting": N_("waiting for Redis"), "starting": N_("starting"),
                 "stopped": N_("stopped")}
REPLAYED = {"received": N_("The delivery is queued again."), "done": N_("The delivery was processed."),
            "failed": N_("The delivery failed again; see the reason below."),
            "ignored": N_("The delivery was looked at again and needed nothing."),
            "not_failed": N_("That delivery has not failed (any more): nothing to do.")}


def _amount(asset: str, amount: str, currency: str, t) -> str:
    return t.gettext("%(points)s points", points=t.number(int(amount))) if asset == "points" else t.money(amount, currency)


@bp.route("/operations", methods=["GET", "POST"])
def operations():
    shop = _shop()
    rt = _rt()
    t = i18n.current()
    tz = shop.timezone or "UTC"
    done = error = None
    if request.method == "POST" and request.form.get("action") == "decide":
        try:
            rt.cart.decide(shop.id, int(request.form.get("redemption_id", "0") or 0),
                           decision=request.form.get("decision", ""), reason=" ".join(request.form.get("reason", "").split()),
                           actor=f"admin-page:{shop.id}")
            done = _("Decision saved.")
        except ValueError:
            error = _("That reward code is not in the list.")
        except NotFound:
            error = _("That reward code is not in the list.")
        except InvalidState:
            error = _("That reward code was already decided.")
        except DomainError as exc:
            error = _("Choose a decision and say why.") if exc.details.get("field") in ("decision", "reason") \
                else _("The decision was not saved: %(reason)s", reason=exc.message)
    elif request.method == "POST":
        try:
            outcome = rt.inbox.replay(shop.id, int(request.form.get("id", "0") or 0))
            done = _(REPLAYED.get(outcome, REPLAYED["received"]))
        except ValueError:
            error = _("That delivery is not in the list.")
    from ...services.reconcile import sync_status

    sync = sync_status(rt.db, shop.id)
    flagged = [{**r, "held": _amount(r["asset"], r["amount"], shop.currency, t),
                "decided_by_text": who(r["decided_by"], "admin", t, shop.platform) if r["decided_by"] else "",
                "decided_when": t.datetime(r["decided_at"], tz) if r["decided_at"] else ""}
               for r in rt.cart.flagged(shop.id)]
    failed = [{**d, "when": t.datetime(d["received_at"], tz)} for d in rt.inbox.failed(shop.id)]
    refused = [{**r, "when": t.datetime(r["at"], tz), "value": _amount(r["asset"], r["amount"], shop.currency, t)}
               for r in rt.cart.failed(shop.id)]
    store_credit = _store_credit(rt, shop, t, tz)
    workers = _workers(rt)
    if workers:
        workers = [{**w, "state_text": _(WORKER_STATES[w["state"]]) if w["state"] in WORKER_STATES else w["state"],
                    "seen": t.datetime(w["last_seen"], tz)} for w in workers]
    return render("admin/operations.html", "operations", _("Operations"), done=done, error=error, flagged=flagged,
                  checked=t.datetime(sync["checked_at"], tz) if sync and sync.get("checked_at") else None,
                  sync_error=sync and sync.get("last_error"), workers=workers, failed=failed, refused=refused,
                  store_credit=store_credit)


def _store_credit(rt, shop, t, tz) -> dict | None:
    """Cashback paid as Shopify store credit: calls Shopify refused, and members whose credit
    differs from their Shopify account at the last check (None: the shop does not mirror)."""
    if shop.platform != "shopify":
        return None
    on = rt.programs.current(shop.id).program.cashback.payout == "shopify_store_credit"
    seen = rt.store_credit.overview(shop.id)
    if not on and not seen["counts"]:
        return None
    money = lambda amount, cur: t.money(amount, cur) if amount is not None else "–"  # noqa: E731
    return {
        "on": on, "checked": t.datetime(seen["last_check"], tz) if seen["last_check"] else None,
        "waiting": seen["counts"].get("pending", 0) + seen["counts"].get("sending", 0),
        "failed": [{**f, "what": _("Add %(amount)s", amount=money(f["amount"], f["currency"])) if f["direction"] == "credit"
                    else _("Take back %(amount)s", amount=money(f["amount"], f["currency"])),
                    "when": t.datetime(f["at"], tz)} for f in seen["failed"]],
        "differences": [{**d, "ours_text": money(d["ours"], d["currency"]), "theirs_text": money(d["theirs"], d["currency"]),
                         "difference_text": money(d["difference"], d["currency"]),
                         "when": t.datetime(d["checked_at"], tz)} for d in seen["differences"]],
    }


def _workers(rt) -> list[dict] | None:
    """Worker heartbeats (None: jobs run in this process, there are no workers to show)."""
    if rt.settings.jobs_mode != "rq":
        return None
    from ...services.workers import Heartbeats

    return Heartbeats(rt.db, rt.clock).recent()

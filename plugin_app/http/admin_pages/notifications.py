"""Webhooks to the merchant's other tools and the delivery log (e-mails and webhooks), with
replay. The shopper e-mails themselves are on the E-mails page (admin_pages.emails)."""
from __future__ import annotations

import secrets

from flask import request

from ... import i18n
from ...domain.errors import DomainError
from .base import _rt, _shop, bp, render

STATES = {"pending": i18n.N_("waiting"), "sent": i18n.N_("sent"), "failed": i18n.N_("failed"),
          "skipped": i18n.N_("not sent (unsubscribed or no address)")}
CHANNELS = {"email": i18n.N_("E-mail"), "webhook": i18n.N_("Webhook")}


@bp.route("/notifications", methods=["GET", "POST"])
def notifications():
    from ...services.notify import WEBHOOK_TOPICS

    shop = _shop()
    rt = _rt()
    t = i18n.current()
    message = error = created = None
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "add":
                url = request.form.get("url", "").strip()
                if not url.startswith("https://"):
                    raise DomainError(t.gettext("The endpoint must be an https:// address."))
                created = rt.notifier.add_endpoint(shop.id, url, request.form.getlist("topics"),
                                                   "whsec_" + secrets.token_urlsafe(24))
            elif action == "remove":
                rt.notifier.remove_endpoint(shop.id, int(request.form.get("id", "0") or 0))
                message = t.gettext("Endpoint disabled.")
            elif action == "replay":
                rt.notifier.replay(shop.id, int(request.form.get("id", "0") or 0))
                message = t.gettext("Queued to be sent again.")
        except (DomainError, ValueError) as exc:
            error = exc.message if isinstance(exc, DomainError) else t.gettext("That is not a valid choice.")
    log = [{**d, "when": t.datetime(d["created_at"], rt.programs.for_reading(shop.id).program.timezone),
            "state_text": t.gettext(STATES.get(d["state"], d["state"])),
            "channel_text": t.gettext(CHANNELS.get(d["channel"], d["channel"]))}
           for d in rt.notifier.log(shop.id, limit=100)]
    return render("admin/notifications.html", "emails", t.gettext("Webhooks and delivery log"),
                  endpoints=rt.notifier.endpoints(shop.id), topics=WEBHOOK_TOPICS, log=log, created=created,
                  error=error, message=message)

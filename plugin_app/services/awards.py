"""Internal inbox topic ``points.award``: credit points to a customer from a queued message
(bulk imports and custom events go through the inbox like webhooks do, so they share its
durability and exactly-once processing)."""
from __future__ import annotations

import json

from ..domain.errors import InvalidRequest
from ..domain.ledger import Asset, Source
from .inbox import Message
from .ledger import Ledger
from .members import Members

TOPIC = "points.award"


def make_handler(members: Members, ledger: Ledger):
    def handle(message: Message) -> str:
        try:
            body = json.loads(message.payload)
            customer, points = str(body["customer_id"]), body["points"]
            reason = str(body.get("reason") or "points awarded")
        except (ValueError, KeyError, TypeError):
            raise InvalidRequest("points.award needs customer_id, points and reason") from None
        member, _ = members.enrol(message.shop_id, customer, email=body.get("email"))
        posted = ledger.earn(message.shop_id, member.id, Asset.POINTS, points,
                             key=f"inbox:{message.id}:award", source=Source.ACTION, reason=reason)
        return f"entry {posted.entry_id}" + (" (already posted)" if posted.replayed else "")

    return handle

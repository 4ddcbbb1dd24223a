"""Internal inbox topic ``action.completed``: a shopper did something the program rewards
(a review, a newsletter sign-up, a custom event sent through the admin API). It goes through
the inbox like a webhook, so it shares its durability and exactly-once processing."""
from __future__ import annotations

from ..domain import jsondepth
from ..domain.errors import InvalidRequest
from .actions import ActionService
from .inbox import Ignored, Message

TOPIC = "action.completed"


def make_handler(actions: ActionService):
    def handle(message: Message) -> str:
        try:
            body = jsondepth.loads(message.payload)
            customer, kind, event_id = str(body["customer_id"]), str(body["event"]), str(body["id"])
        except (ValueError, KeyError, TypeError):
            raise InvalidRequest("action.completed needs id, customer_id and event") from None
        out = actions.award(message.shop_id, customer, kind, event_id, email=body.get("email"))
        if out.refused:
            raise Ignored(out.refused)
        return f"{out.points} points, entry {out.entry_id}" + (" (already posted)" if out.replayed else "")

    return handle

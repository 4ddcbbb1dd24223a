"""Shopify Flow, as plain data: which outbox events start which of our Flow triggers and with
what payload, and what our Flow actions accept. Transport and storage are elsewhere
(`services.flow`, `connectors.shopify`); the extensions' TOML files (extensions/loyalty-flow-*)
declare the same handles and field keys, and tests/test_shopify_flow.py holds them together.

Triggers (https://shopify.dev/docs/apps/build/flow/triggers/reference):
- a trigger is started with the Admin GraphQL mutation `flowTriggerReceive(handle:, payload:)`
  (https://shopify.dev/docs/api/admin-graphql/latest/mutations/flowTriggerReceive);
- the payload carries one entry per field of the extension, keyed by the field's `key`; a
  `customer_reference` field is sent as `customer_id`, the customer's numeric id (the app needs
  the read_customers scope); every field the extension declares must be present;
- the payload must stay under 50 KB: every text is cut to 255 characters, so ours stay far
  below (`MAX_PAYLOAD_BYTES` is checked before queueing all the same).

Actions (https://shopify.dev/docs/apps/build/flow/actions/endpoints): Flow POSTs
{"shop_id", "shopify_domain", "action_run_id", "action_definition_id", "handle", "properties"}
to the action's `runtime_url`, signed with the app's secret (X-Shopify-Hmac-SHA256 over the raw
body); `properties` holds the merchant's configured values keyed by field key, the customer as
`customer_id`. 200 is success; any 4XX but 429 fails the step without a retry; 429 and 5XX
are retried, so a request that must not change anything answers 4XX and one that may succeed
later answers 5XX. `action_run_id` identifies one run of one step: a retry carries the same.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Callable

MAX_PAYLOAD_BYTES = 50_000
TEXT_MAX = 255


def _text(value) -> str:
    return ("" if value is None else str(value))[:TEXT_MAX]


def _number(value) -> int | float:
    """A JSON number for a `number_decimal` field: an int when whole, else the decimal's value."""
    d = Decimal(str(value if value not in (None, "") else 0))
    return int(d) if d == d.to_integral_value() else float(d)


@dataclass(frozen=True)
class Trigger:
    handle: str  # the extension's handle (≤ 30 characters: letters, digits, hyphens)
    name: str  # the merchant-facing name in the Flow editor: object + past-tense verb
    description: str
    fields: tuple[tuple[str, str, str], ...]  # (key, type, description), besides the customer reference
    build: Callable[[dict], dict]  # the outbox event's payload -> the fields' values
    # Sent only once Flow has said an enabled workflow of the shop uses it (a lifecycle callback).
    # The triggers added with the lifecycle callback (issue 20) can wait for that word: every
    # workflow using them was enabled after the callback existed, so Flow announced it. Segment
    # moves come by the thousand from the periodic pass; a shop that uses none costs no call.
    needs_workflow: bool = False


def _tier(p: dict) -> dict:
    return {"Previous tier": _text(p.get("from")), "New tier": _text(p.get("to")),
            "Direction": _text(p.get("direction")), "Reason": _text(p.get("reason"))}


def _earned(p: dict) -> dict:
    return {"Points": _number(p.get("points")), "Cashback": _number(p.get("credit")),
            "Order ID": _text(p.get("order_id")), "Pending": bool(p.get("pending"))}


def _unlocked(p: dict) -> dict:
    return {"Reward": _text(p.get("reward")), "Reward ID": _text(p.get("reward_id")),
            "Points cost": _number(p.get("points_cost")), "Points balance": _number(p.get("balance"))}


def _expiring(p: dict) -> dict:
    return {"Asset": _text(p.get("asset")), "Amount": _number(p.get("amount")),
            "Days left": _number(p.get("days")), "Expires at": _text(p.get("expires_at"))}


def _birthday(p: dict) -> dict:
    return {"Points": _number(p.get("points"))}


def _referral(p: dict) -> dict:
    return {"Reward kind": _text(p.get("kind")), "Points": _number(p.get("points")),
            "Amount": _number(p.get("amount")), "Discount code": _text(p.get("code"))}


def _segment(p: dict) -> dict:
    return {"Segment": _text(p.get("segment")), "Segment ID": _text(p.get("segment_id"))}


def _lifecycle(p: dict) -> dict:
    return {"Previous state": _text(p.get("from")), "New state": _text(p.get("to"))}


def _badge(p: dict) -> dict:
    return {"Badge": _text(p.get("name") or p.get("badge_id")), "Badge ID": _text(p.get("badge_id")),
            "Times earned": _number(p.get("times") or 1), "Points": _number(p.get("points"))}


def _challenge(p: dict) -> dict:
    return {"Challenge": _text(p.get("name") or p.get("challenge_id")), "Challenge ID": _text(p.get("challenge_id")),
            "Points": _number(p.get("points"))}


_SEGMENT_FIELDS = (("Segment", "single_line_text_field", "The segment's name"),
                   ("Segment ID", "single_line_text_field", "The segment's id in the app (it stays when renamed)"))
LIFECYCLE_STATES = "new, active, at_risk, win_back, loyal or lapsed"

EVENT_ID = ("Event ID", "single_line_text_field",
            "Our id of the event (evt_<n>), the same as in the app's webhooks: it names one event")

TRIGGERS: dict[str, Trigger] = {  # outbox event type -> trigger
    "tier_changed": Trigger(
        "loyalty-tier-changed", "Loyalty tier changed", "A member moved up or down a loyalty tier",
        (("Previous tier", "single_line_text_field", "The tier before (empty on joining)"),
         ("New tier", "single_line_text_field", "The tier now"),
         ("Direction", "single_line_text_field", "up or down"),
         ("Reason", "single_line_text_field", "Why the tier changed, as the program decided it")), _tier),
    "points_earned": Trigger(
        "loyalty-points-earned", "Loyalty points earned", "An order earned a member points or cashback",
        (("Points", "number_decimal", "Points the order earned"),
         ("Cashback", "number_decimal", "Store credit the order earned, in the shop's currency"),
         ("Order ID", "single_line_text_field", "The order's numeric id"),
         ("Pending", "boolean", "True while the points wait for the return window to close")), _earned),
    "reward_unlocked": Trigger(
        "loyalty-reward-unlocked", "Loyalty reward unlocked", "A member now has the points for a reward",
        (("Reward", "single_line_text_field", "The reward's name"),
         ("Reward ID", "single_line_text_field", "The reward's id in the program"),
         ("Points cost", "number_decimal", "What the reward costs in points"),
         ("Points balance", "number_decimal", "The member's points now")), _unlocked),
    "points_expiring": Trigger(
        "loyalty-points-expiring", "Loyalty points expiring", "A member's points or credit lapse soon",
        (("Asset", "single_line_text_field", "points or credit"),
         ("Amount", "number_decimal", "How much lapses"),
         ("Days left", "number_decimal", "Days until it lapses"),
         ("Expires at", "single_line_text_field", "When it lapses (ISO 8601)")), _expiring),
    "birthday_reward": Trigger(
        "loyalty-birthday-rewarded", "Loyalty birthday rewarded", "A member received the birthday bonus",
        (("Points", "number_decimal", "The birthday points"),), _birthday),
    "referral_rewarded": Trigger(
        "loyalty-referral-completed", "Loyalty referral completed",
        "A referred friend's order counted and the referrer was rewarded",
        (("Reward kind", "single_line_text_field", "points, credit or code"),
         ("Points", "number_decimal", "Points given (0 for other kinds)"),
         ("Amount", "number_decimal", "Credit or discount amount given (0 for points)"),
         ("Discount code", "single_line_text_field", "The code given (empty for other kinds)")), _referral),
    # issue 20: segment moves, lifecycle moves, badges and challenges
    "segment_entered": Trigger(
        "loyalty-segment-entered", "Loyalty segment entered", "A member came to match one of the shop's segments",
        _SEGMENT_FIELDS, _segment, needs_workflow=True),
    "segment_left": Trigger(
        "loyalty-segment-left", "Loyalty segment left", "A member no longer matches one of the shop's segments",
        _SEGMENT_FIELDS, _segment, needs_workflow=True),
    "lifecycle_changed": Trigger(
        "loyalty-lifecycle-changed", "Loyalty lifecycle changed", "A member's lifecycle state moved",
        (("Previous state", "single_line_text_field", f"The state before: {LIFECYCLE_STATES}"),
         ("New state", "single_line_text_field", f"The state now: {LIFECYCLE_STATES}")), _lifecycle,
        needs_workflow=True),
    "badge_earned": Trigger(
        "loyalty-badge-earned", "Loyalty badge earned", "A member earned a badge (again, for a repeatable one)",
        (("Badge", "single_line_text_field", "The badge's name"),
         ("Badge ID", "single_line_text_field", "The badge's id in the program"),
         ("Times earned", "number_decimal", "How many times the member has earned it now (1 the first time)"),
         ("Points", "number_decimal", "Points the badge paid (0 for none)")), _badge, needs_workflow=True),
    "challenge_completed": Trigger(
        "loyalty-challenge-completed", "Loyalty challenge completed",
        "A member reached a challenge's goal (told once, when the challenge is settled)",
        (("Challenge", "single_line_text_field", "The challenge's name"),
         ("Challenge ID", "single_line_text_field", "The challenge's id in the program"),
         ("Points", "number_decimal", "Points the challenge paid")), _challenge,
        needs_workflow=True),
}


def trigger_payload(event_type: str, event_payload: dict, *, customer_id: str | None, event_id: str) -> dict | None:
    """The `payload` argument of flowTriggerReceive for an outbox event, or None when the event
    starts no trigger or names no Shopify customer (a customer reference is required)."""
    trigger = TRIGGERS.get(event_type)
    if trigger is None or not customer_id or not str(customer_id).isdigit():
        return None
    return {"customer_id": int(customer_id), **trigger.build(event_payload or {}), "Event ID": _text(event_id)}


# -- actions --------------------------------------------------------------------------------
class BadProperties(ValueError):
    """The action's properties are not usable: answered 4XX (Flow does not retry), nothing done."""


@dataclass(frozen=True)
class Action:
    handle: str  # the extension's handle
    path: str  # /shopify/flow/actions/<path>
    name: str  # present-tense verb + object
    description: str
    fields: tuple[tuple[str, str, str, str], ...]  # (key, type, name, description) besides the customer


ACTIONS: dict[str, Action] = {a.path: a for a in (
    Action("loyalty-add-points", "add-points", "Add loyalty points", "Give a customer loyalty points",
           (("points", "number_decimal", "Points", "Whole points to add (1 to 1,000,000)"),
            ("reason", "single_line_text_field", "Reason", "Shown in the member's history"))),
    Action("loyalty-add-store-credit", "add-store-credit", "Add loyalty store credit",
           "Give a customer store credit in the loyalty ledger, in the shop's currency",
           (("amount", "number_decimal", "Amount", "Store credit to add (up to 2 decimals, at most 10,000)"),
            ("reason", "single_line_text_field", "Reason", "Shown in the member's history"))),
    Action("loyalty-set-tier", "set-tier", "Set loyalty tier",
           "Place a customer in a loyalty tier now, with a reason (not below the tier they earned)",
           (("tier", "single_line_text_field", "Tier", "The tier's name in the program"),
            ("reason", "single_line_text_field", "Reason", "Why, shown in the tier's history"))),
    Action("loyalty-record-action", "record-action", "Record loyalty action",
           "Record a custom action the program rewards (its points, caps and pending period apply)",
           (("action", "single_line_text_field", "Action", "The custom action's name in the program"),)),
)}

MAX_POINTS = 1_000_000
MAX_CREDIT = Decimal("10000")
CUSTOM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class ActionRequest:
    shop_domain: str
    run_id: str
    customer_id: str
    properties: dict


def parse_request(body) -> ActionRequest:
    """The envelope Flow sends. Raises BadProperties."""
    if not isinstance(body, dict):
        raise BadProperties("the body must be a JSON object")
    domain, run_id, props = body.get("shopify_domain"), body.get("action_run_id"), body.get("properties")
    if not isinstance(domain, str) or not domain:
        raise BadProperties("shopify_domain is required")
    if not isinstance(run_id, str) or not run_id.strip() or len(run_id) > 200:
        raise BadProperties("action_run_id is required (at most 200 characters)")
    if not isinstance(props, dict):
        raise BadProperties("properties must be an object")
    if _has_nul(props):
        raise BadProperties("properties must not contain NUL characters")
    customer = props.get("customer_id")
    customer = str(customer).strip() if isinstance(customer, (str, int)) and not isinstance(customer, bool) else ""
    customer = customer.removeprefix("gid://shopify/Customer/")
    if not customer.isdigit() or len(customer) > 20:
        raise BadProperties("properties.customer_id must be a Shopify customer's numeric id")
    return ActionRequest(domain.strip().lower(), run_id.strip(), customer, props)


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _decimal(props: dict, key: str) -> Decimal:
    value = props.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadProperties(f"properties.{key} must be a number")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadProperties(f"properties.{key} must be a number, not {str(value)[:40]!r}") from None
    if not d.is_finite():
        raise BadProperties(f"properties.{key} must be a finite number")
    return d


def reason_of(props: dict, fallback: str) -> str:
    reason = props.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise BadProperties("properties.reason must be text")
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise BadProperties("properties.reason must be at most 200 characters")
    return reason or fallback


def points_of(props: dict) -> int:
    d = _decimal(props, "points")
    if d != d.to_integral_value() or not 1 <= d <= MAX_POINTS:
        raise BadProperties(f"properties.points must be a whole number from 1 to {MAX_POINTS:,}")
    return int(d)


def credit_of(props: dict) -> Decimal:
    d = _decimal(props, "amount")
    if d <= 0 or d > MAX_CREDIT or d != d.quantize(Decimal("0.01")):
        raise BadProperties(f"properties.amount must be above 0 and at most {MAX_CREDIT}, with at most 2 decimals")
    return d.quantize(Decimal("0.01"))


def custom_action_of(props: dict) -> str:
    name = props.get("action")
    if not isinstance(name, str) or not CUSTOM_NAME.fullmatch(name.strip()):
        raise BadProperties("properties.action must be a custom action's name (1-64 letters, digits, - or _)")
    return name.strip()


# -- trigger lifecycle callbacks -------------------------------------------------------------
@dataclass(frozen=True)
class LifecycleReport:
    shop_domain: str
    trigger: str | None  # our trigger's handle; None for a definition we do not know
    enabled: bool
    at: datetime


def parse_lifecycle(body) -> LifecycleReport:
    """A trigger lifecycle callback (https://shopify.dev/docs/apps/build/flow/track-lifecycle-events):
    {"flow_trigger_definition_id", "has_enabled_flow", "shop_id", "shopify_domain", "timestamp"}.
    The definition is named by our handle or, as in the docs' example, by its name."""
    if not isinstance(body, dict):
        raise BadProperties("the body must be a JSON object")
    domain, definition = body.get("shopify_domain"), body.get("flow_trigger_definition_id")
    enabled, stamp = body.get("has_enabled_flow"), body.get("timestamp")
    if not isinstance(domain, str) or not domain:
        raise BadProperties("shopify_domain is required")
    if not isinstance(enabled, bool):
        raise BadProperties("has_enabled_flow must be true or false")
    if not isinstance(definition, str) or not definition:
        raise BadProperties("flow_trigger_definition_id is required")
    try:
        at = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        raise BadProperties("timestamp must be an ISO 8601 date and time") from None
    if at.tzinfo is None:
        raise BadProperties("timestamp must carry its offset")
    wanted = definition.strip().casefold()
    trigger = next((t.handle for t in TRIGGERS.values() if wanted in (t.handle, t.name.casefold())), None)
    return LifecycleReport(domain.strip().lower(), trigger, enabled, at)

"""Pricing a reward from the catalogue for a cart: eligibility, points cost and discount."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from .errors import InvalidRequest
from .money import Money, money_text, plain, quantum
from .program import Reward
from .reasons import Reason, money as money_param
from .targeting import Audience, reward_gate


class RewardUnavailable(InvalidRequest):
    """This reward cannot be used on this cart; `why` says so as a reason code (for the
    shopper's language), the message in English (for the API)."""

    def __init__(self, message: str, why: Reason, **details: object) -> None:
        super().__init__(message, **details)
        self.why = why


def reward_params(reward: Reward) -> dict:
    """A reward as reason parameters: its id and its names (shown in the reader's language)."""
    return {"reward_id": reward.id, "reward": reward.name, **({"names": dict(reward.names)} if reward.names else {})}


@dataclass(frozen=True)
class RewardQuote:
    reward_id: str
    points: int
    discount: Money | None  # money off (fixed or variable amount)
    percent: Decimal | None = None
    free_shipping: bool = False
    product_id: str | None = None
    explanation: str = ""


GATE_MESSAGES = {  # the API's English for a targeting refusal (domain.targeting)
    "reward.tiers": lambda p: f"this reward is for {', '.join(p['tiers'])} members",
    "reward.segments": lambda p: f"this reward is for members of {', '.join(p['segments'])}",
    "reward.not_yet": lambda p: f"this reward can be redeemed from {p['at']}",
}


def gate(reward: Reward, audience: Audience, now: datetime | None, timezone: str = "UTC") -> None:
    """RewardUnavailable when this member may not redeem the reward (domain.targeting): its tiers,
    its segments, its date (with early access). Nothing about points or the cart."""
    why = reward_gate(reward, audience, now, timezone)
    if why is not None:
        raise RewardUnavailable(GATE_MESSAGES[why.code](why.params), why, reward=reward.id)


def quote(reward: Reward, cart_subtotal: Money, *, points_available: int, tier: str | None,
          steps: int | None = None, audience: Audience | None = None, now: datetime | None = None,
          timezone: str = "UTC") -> RewardQuote:
    """Raises InvalidRequest with the reason when the reward cannot be used on this cart.
    `audience`: the member's tier and segments (default: `tier`, in no segment); `now`: the
    instant of the redemption, for `available_from` and early access (None: not checked)."""
    cur = cart_subtotal.currency
    if not reward.enabled:
        raise RewardUnavailable("this reward is not available", Reason("reward.unavailable"), reward=reward.id)
    gate(reward, audience if audience is not None else Audience(tier), now, timezone)
    if cart_subtotal.amount < reward.minimum_cart:
        raise RewardUnavailable(f"needs a cart of at least {money_text(reward.minimum_cart, cur)}",
                                Reason("reward.minimum_cart", {"amount": money_param(reward.minimum_cart, cur)}),
                                reward=reward.id)
    cap = (cart_subtotal.amount * reward.max_cart_share / 100).quantize(quantum(cur), rounding=ROUND_DOWN)
    if reward.type == "variable_amount":
        assert reward.amount is not None
        most = int(min(points_available // reward.points_cost,
                       cap // reward.amount if reward.amount else 0,
                       reward.max_steps or 10**9))
        n = most if steps is None else steps
        if n < 1 or n > most:
            raise RewardUnavailable(f"choose between 1 and {most} steps of {reward.points_cost} points",
                                    Reason("reward.steps", {"most": most, "points": reward.points_cost}),
                                    reward=reward.id)
        off = Money.of(reward.amount * n, cur)
        return RewardQuote(reward.id, reward.points_cost * n, off,
                           explanation=f"{reward.points_cost * n} points for {off} off")
    if points_available < reward.points_cost:
        raise RewardUnavailable(f"needs {reward.points_cost} points",
                                Reason("reward.points", {"points": reward.points_cost,
                                                         "missing": reward.points_cost - points_available}),
                                reward=reward.id)
    if reward.type == "fixed_amount":
        assert reward.amount is not None
        off = Money.of(min(reward.amount, cap), cur)
        return RewardQuote(reward.id, reward.points_cost, off,
                           explanation=f"{reward.points_cost} points for {off} off")
    if reward.type == "percentage":
        percent = min(reward.percent or Decimal(0), reward.max_cart_share)
        return RewardQuote(reward.id, reward.points_cost, None, percent=percent,
                           explanation=f"{reward.points_cost} points for {plain(percent)}% off")
    if reward.type == "free_shipping":
        return RewardQuote(reward.id, reward.points_cost, None, free_shipping=True,
                           explanation=f"{reward.points_cost} points for free shipping")
    return RewardQuote(reward.id, reward.points_cost, None, product_id=reward.product_id,
                       explanation=f"{reward.points_cost} points for a free product")


def credit_spend(credit_available: Money, cart_subtotal: Money, max_cart_share: Decimal,
                 requested: Money | None = None) -> Money:
    """How much store credit may come off this cart (never more than the balance or the cap)."""
    cur = cart_subtotal.currency
    cap = (cart_subtotal.amount * max_cart_share / 100).quantize(quantum(cur), rounding=ROUND_DOWN)
    most = min(credit_available.amount, cap)
    if requested is None:
        return Money.of(max(most, Decimal(0)), cur)
    if requested.amount <= 0 or requested.amount > most:
        raise InvalidRequest(f"store credit on this cart is at most {money_text(max(most, Decimal(0)), cur)}")
    return requested

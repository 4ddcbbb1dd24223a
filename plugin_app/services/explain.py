"""Ledger explanations in the reader's language: a reason code and its parameters
(domain.reasons) rendered with the catalogue and the locale's formats.

    explain(entry, translator("it"))   -> "Ordine 1001"
    explain(entry, translator("en"), detail=True)
        -> "Order 1001: 1 point per €1.00 on €120.00, Silver ×1.25"

`entry` is a ledger row or a dict with `reason_code`, `reason_params` and `reason`. Rows written
before reason codes existed (no code) show their stored English `reason`. The same table renders
the English text the ledger keeps in its `reason` column (for logs and the API), the rules of an
order's earning, and why a reward cannot be used on a cart.

Every text is a literal in a `t.gettext` / `t.ngettext` call, so `python -m plugin_app.i18n.extract`
finds it; the translations are in the `shopper` catalogue.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterator

from ..domain.reasons import NOTE, Reason
from ..i18n import N_, Translator, translator

Render = Callable[[Translator, dict, bool], str]
REASONS: dict[str, Render] = {}


def reason(*codes: str):
    def register(fn: Render) -> Render:
        for code in codes:
            REASONS[code] = fn
        return fn
    return register


# -- tier names in the reader's language --------------------------------------------------------
# Reasons keep a tier's identity (its default name); a caller that knows the program and the
# reader's language maps them to the names the merchant wrote for that language:
#     with tier_labels(tier_label_map(program, "it")): explain(entry, translator("it"))
_TIER_LABELS: ContextVar[dict[str, str]] = ContextVar("tier_labels", default={})


def tier_label_map(program: Any, locale: str | None) -> dict[str, str]:
    """Default tier name -> its name in `locale`, for the program's tiers; and the program's badges
    and challenges by id ('badge:<id>', 'challenge:<id>'), whose reasons keep the default name."""
    return {**{f"badge:{b.id}": b.name_for(locale) for b in getattr(program, "badges", ())},
            **{f"challenge:{c.id}": c.name_for(locale) for c in getattr(program, "challenges", ())},
            **{lvl.name: lvl.name_for(locale) for lvl in program.tiers.levels}}


@contextmanager
def tier_labels(labels: dict[str, str]) -> Iterator[None]:
    token = _TIER_LABELS.set(dict(labels))
    try:
        yield
    finally:
        _TIER_LABELS.reset(token)


def _tier(value: Any) -> str:
    name = str(value or "")
    return _TIER_LABELS.get().get(name, name)


def _goal_name(kind: str, p: dict) -> str:
    """A badge's or challenge's name in the reader's language when the program still has it."""
    name = str(p.get("name") or "")
    return _TIER_LABELS.get().get(f"{kind}:{p.get(kind)}", name) if p.get(kind) else name


# -- reasons whose text carries no values ------------------------------------------------------
FIXED = {
    "referral.reward": N_("Your friend's first order"),
    "cart.not_created": N_("Given back: the discount code could not be created"),
    "cart.removed": N_("Given back: removed from the cart"),
    "expiry.expired": N_("Expired"),
    "pending.ended": N_("Now available (the waiting period ended)"),
    "hold.expired": N_("Given back: the hold expired unused"),
    "earn.off": N_("orders do not earn points at the moment"),
    "earn.paused": N_("the loyalty program is paused"),
    "earn.nothing": N_("nothing in this order earns points"),
    "reward.sign_in": N_("Sign in to use your rewards"),
    "reward.unavailable": N_("Not available at the moment"),
}


def fixed(code: str, text: str) -> None:
    """Register a reason whose text has no values (`text` marked with `N_` where it is written)."""
    REASONS[code] = lambda t, p, detail: t.gettext(text)


for _code, _text in FIXED.items():
    fixed(_code, _text)


# -- parameter formats ------------------------------------------------------------------------
def _money(t: Translator, value) -> str:
    if isinstance(value, dict):
        return t.money(value.get("amount"), value.get("currency"))
    return t.number(value)


def _number(t: Translator, value) -> str:
    try:
        return t.number(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def _count(value) -> int:
    """The integer that picks a plural form (1.5 points reads like 2)."""
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return 2
    return int(d) if d == d.to_integral_value() else 2


def _reward(p: dict, t: Translator) -> str:
    """The reward's name in the reader's language when the merchant gave one."""
    names = p.get("names") or {}
    return (names.get(t.locale) or "").strip() or p.get("reward") or p.get("reward_id") or ""


def _parts(t: Translator, parts: list) -> str:
    return ", ".join(filter(None, (render(Reason.of(x), t) for x in parts or [] if isinstance(x, dict))))


def _with_parts(t: Translator, head: str, p: dict, detail: bool) -> str:
    rest = _parts(t, p.get("parts")) if detail else ""
    return t.gettext("%(what)s: %(details)s", what=head, details=rest) if rest else head


# -- the ledger's entries ---------------------------------------------------------------------
@reason(NOTE)
def _note(t, p, detail):
    return str(p.get("text", ""))


@reason("order.points")
def _order_points(t, p, detail):
    return _with_parts(t, t.gettext("Order %(order)s", order=p.get("order", "")), p, detail)


@reason("order.cashback")
def _order_cashback(t, p, detail):
    return _with_parts(t, t.gettext("Cashback on order %(order)s", order=p.get("order", "")), p, detail)


@reason("order.edit_added")
def _order_edit_added(t, p, detail):
    return t.gettext("Order %(order)s changed: earned on the added items", order=p.get("order", ""))


@reason("order.edit_removed")
def _order_edit_removed(t, p, detail):
    return t.gettext("Order %(order)s changed: taken back for the removed items", order=p.get("order", ""))


@reason("order.refund")
def _order_refund(t, p, detail):
    return t.gettext("Refund on order %(order)s: %(share)s of what it earned taken back",
                     order=p.get("order", ""), share=t.rate(p.get("share", 0)))


@reason("order.refund_before_payment")
def _order_refund_early(t, p, detail):
    return t.gettext("Refund on order %(order)s before payment: %(share)s of what it earned taken back",
                     order=p.get("order", ""), share=t.rate(p.get("share", 0)))


@reason("order.cancelled")
def _order_cancelled(t, p, detail):
    text = t.gettext("Order %(order)s cancelled: what it earned is taken back", order=p.get("order", ""))
    return f"{text} ({p['note']})" if detail and p.get("note") else text


@reason("order.cancelled_return")
def _order_cancelled_return(t, p, detail):
    text = t.gettext("Order %(order)s cancelled: what was spent on it is returned", order=p.get("order", ""))
    return f"{text} ({p['note']})" if detail and p.get("note") else text


@reason("action")
def _action(t, p, detail):
    kind = p.get("kind")
    if kind == "signup":
        return t.gettext("Welcome bonus")
    if kind == "birthday":
        return t.gettext("Happy birthday!")
    if kind == "review":
        return t.gettext("Product review")
    if kind == "newsletter":
        return t.gettext("Newsletter sign-up")
    if kind == "social_follow":
        return t.gettext("Following us on social media")
    if kind == "social_share":
        return t.gettext("Sharing on social media")
    return t.gettext("Bonus: %(name)s", name=str(kind or "").replace("_", " "))


@reason("tier.entry")
def _tier_entry(t, p, detail):
    return t.gettext("Welcome to %(tier)s", tier=_tier(p.get("tier")))


@reason("badge.earned")
def _badge_earned(t, p, detail):
    if _count(p.get("times")) > 1:
        return t.gettext("Badge earned: %(name)s (%(times)s times)", name=_goal_name("badge", p),
                         times=_count(p.get("times")))
    return t.gettext("Badge earned: %(name)s", name=_goal_name("badge", p))


@reason("challenge.completed")
def _challenge_completed(t, p, detail):
    return t.gettext("Challenge completed: %(name)s", name=_goal_name("challenge", p))


@reason("survey.answered")
def _survey_answered(t, p, detail):
    return t.gettext("Thank you for your feedback")


@reason("referral.cashback")
def _referral_cashback(t, p, detail):
    return t.gettext("%(rate)s of a friend's order (%(amount)s)", rate=t.rate(p.get("rate", 0)),
                     amount=_money(t, p.get("base")))


@reason("cart.hold")
def _cart_hold(t, p, detail):
    if p.get("credit"):
        return t.gettext("Held for %(amount)s of store credit at the cart", amount=_money(t, p["credit"]))
    return t.gettext("Held for “%(reward)s” at the cart", reward=_reward(p, t))


@reason("cart.redeemed")
def _cart_redeemed(t, p, detail):
    if p.get("credit"):
        return t.gettext("%(amount)s of store credit spent", amount=_money(t, p["credit"]))
    return t.gettext("Spent on “%(reward)s”", reward=_reward(p, t))


@reason("cart.used")
def _cart_used(t, p, detail):
    what = _money(t, p["credit"]) if p.get("credit") else _reward(p, t)
    if p.get("order"):
        return t.gettext("“%(reward)s” used on order %(order)s", reward=what, order=p["order"])
    return t.gettext("“%(reward)s” used at checkout", reward=what)


@reason("cart.expired")
def _cart_expired(t, p, detail):
    text = t.gettext("Given back: the discount code expired unused")
    return f"{text} ({p['error']})" if detail and p.get("error") else text


@reason("cart.flag_charged", "cart.flag_returned")
def _cart_flag(t, p, detail):
    if p.get("charged"):
        text = t.gettext("Code %(code)s used by another customer on order %(order)s: charged",
                         code=p.get("code", ""), order=p.get("order", ""))
    else:
        text = t.gettext("Code %(code)s used by another customer on order %(order)s: given back",
                         code=p.get("code", ""), order=p.get("order", ""))
    return f"{text} ({p['note']})" if detail and p.get("note") else text


@reason("expiry.inactive")
def _expiry_inactive(t, p, detail):
    months = int(p.get("months", 0))
    return t.ngettext("Expired after %(num)s month without activity", "Expired after %(num)s months without activity",
                      months)


# -- the rules of an order's earning (parts of order.points / order.cashback) -----------------
@reason("earn.base")
def _earn_base(t, p, detail):
    return t.ngettext("%(rate)s point per %(unit)s on %(base)s", "%(rate)s points per %(unit)s on %(base)s",
                      _count(p.get("rate", 1)), rate=_number(t, p.get("rate", 1)),
                      unit=t.money(1, p.get("currency")) if p.get("currency") else "1",
                      base=_money(t, p.get("base")))


@reason("earn.tier")
def _earn_tier(t, p, detail):
    return t.gettext("%(tier)s tier ×%(factor)s", tier=_tier(p.get("tier")), factor=_number(t, p.get("factor", 1)))


def _campaign_name(t, p) -> str:
    """A campaign's name, with the segments it was limited to when the member was in them
    (issue 20: the bonus explains who it was for)."""
    name = p.get("name") or p.get("label") or ""
    segments = [str(x) for x in p.get("segments") or []]
    return t.gettext("%(name)s for %(segments)s", name=name, segments=", ".join(segments)) if segments else name


@reason("earn.campaign")
def _earn_campaign(t, p, detail):
    return t.gettext("%(name)s ×%(factor)s", name=_campaign_name(t, p), factor=_number(t, p.get("factor", 1)))


@reason("earn.campaign_line", "earn.multiplier")
def _earn_line(t, p, detail):
    return t.gettext("%(name)s ×%(factor)s on %(amount)s", name=_campaign_name(t, p),
                     factor=_number(t, p.get("factor", 1)), amount=_money(t, p.get("amount")))


@reason("earn.under_minimum")
def _earn_minimum(t, p, detail):
    return t.gettext("%(base)s is under the minimum of %(minimum)s", base=_money(t, p.get("base")),
                     minimum=_money(t, p.get("minimum")))


@reason("earn.unallocated_discount")
def _earn_unallocated(t, p, detail):
    return t.gettext("order discount of %(amount)s spread over the items", amount=_money(t, p.get("amount")))


@reason("earn.gift_cards")
def _earn_gift_cards(t, p, detail):
    return t.gettext("gift cards (%(amount)s) do not earn", amount=_money(t, p.get("amount")))


@reason("earn.excluded")
def _earn_excluded(t, p, detail):
    return t.gettext("excluded products (%(amount)s) do not earn", amount=_money(t, p.get("amount")))


@reason("cashback.base")
def _cashback_base(t, p, detail):
    return t.gettext("%(rate)s cashback on %(base)s", rate=t.rate(p.get("rate", 0)), base=_money(t, p.get("base")))


@reason("cashback.tier")
def _cashback_tier(t, p, detail):
    return t.gettext("%(rate)s %(tier)s cashback on %(base)s", rate=t.rate(p.get("rate", 0)),
                     tier=_tier(p.get("tier")), base=_money(t, p.get("base")))


@reason("cashback.boost")
def _cashback_boost(t, p, detail):
    label = p.get("label") or t.gettext("extra cashback")
    return t.gettext("%(label)s: %(rate)s on %(amount)s", label=label, rate=t.rate(p.get("rate", 0)),
                     amount=_money(t, p.get("amount")))


# -- why a reward cannot be used on a cart (domain.rewards.RewardUnavailable) ------------------
@reason("reward.tiers")
def _reward_tiers(t, p, detail):
    tiers = [_tier(x) for x in p.get("tiers") or []]
    return t.gettext("Only for members at %(tiers)s", tiers=", ".join(tiers))


@reason("reward.segments")
def _reward_segments(t, p, detail):
    return t.gettext("For members of %(segments)s", segments=", ".join(str(x) for x in p.get("segments") or []))


@reason("reward.not_yet")
def _reward_not_yet(t, p, detail):
    """The instant the member may redeem from, in the shop's time zone (`timezone`) and the reader's format."""
    zone = p.get("timezone") or "UTC"
    try:
        when = t.datetime(p.get("at"), zone)
    except (ValueError, TypeError, KeyError):
        when = str(p.get("at") or "")
    return t.gettext("Available from %(date)s", date=when)


@reason("reward.minimum_cart")
def _reward_minimum(t, p, detail):
    return t.gettext("For carts of %(amount)s or more", amount=_money(t, p.get("amount")))


@reason("reward.points")
def _reward_points(t, p, detail):
    missing = int(p.get("missing", p.get("points", 0)))
    return t.ngettext("Not enough points: %(num)s more point needed", "Not enough points: %(num)s more points needed",
                      missing, num=t.number(missing))


@reason("reward.steps")
def _reward_steps(t, p, detail):
    most = int(p.get("most", 0))
    if most < 1:
        return t.gettext("Not enough points, or the cart is too small")
    return t.ngettext("Can be used %(num)s time", "Can be used 1 to %(num)s times", most, num=t.number(most))


# -- the API ----------------------------------------------------------------------------------
def render(why: Reason, t: Translator, detail: bool = True) -> str:
    """One reason in `t`'s language; an unknown code shows its English `text` param or the code."""
    fn = REASONS.get(why.code)
    if fn is None:
        return str(why.params.get("text") or why.code)
    try:
        return fn(t, why.params, detail)
    except (KeyError, TypeError, ValueError):  # a row written by a newer or older version
        return str(why.params.get("text") or why.code)


def english(why: Reason | str) -> str:
    """The English text the ledger keeps in its `reason` column (logs, the API)."""
    return why if isinstance(why, str) else render(why, translator("en"))


def _get(entry: Any, name: str):
    if isinstance(entry, dict):
        return entry.get(name)
    mapping = getattr(entry, "_mapping", None)
    if mapping is not None and name in mapping:
        return mapping[name]
    return getattr(entry, name, None)


def explain(entry: Any, t: Translator, detail: bool = False) -> str:
    """A ledger entry's explanation in the reader's language. `detail` adds the rules an order's
    earning applied (the admin's view); the shopper's activity lines leave them out. Rows from
    before reason codes show their stored (English) reason."""
    code = _get(entry, "reason_code")
    if not code:
        return str(_get(entry, "reason") or "")
    return render(Reason(str(code), dict(_get(entry, "reason_params") or {})), t, detail)


# -- switching in (services.imports) --------------------------------------------------------------
# Shoppers read these too: the app they knew by name (Smile.io…), else "the previous program"
# (never a merchant's file name).
@reason("import.balance")
def _import_balance(t, p, detail):
    if p.get("app"):
        return t.gettext("Balance brought from %(app)s", app=p["app"])
    return t.gettext("Balance brought from the previous rewards program")


@reason("import.history")
def _import_history(t, p, detail):
    label = str(p.get("label") or "").strip()
    if label and p.get("app"):
        return t.gettext("%(what)s (brought from %(app)s)", what=label, app=p["app"])
    if label:
        return t.gettext("%(what)s (brought from the previous rewards program)", what=label)
    if p.get("app"):
        return t.gettext("Brought from %(app)s", app=p["app"])
    return t.gettext("Brought from the previous rewards program")


@reason("import.adjustment")
def _import_adjustment(t, p, detail):
    label = str(p.get("label") or "").strip()
    return label or t.gettext("Adjustment from a file")


@reason("import.reverted")
def _import_reverted(t, p, detail):
    return t.gettext("Brought points taken back (import undone)")

"""The loyalty program: one document per shop, versioned. Plain dataclasses (standard library
only); the service layer parses and validates JSON into them and renders their JSON Schema.

Each `__post_init__` raises ``ValueError("field: message")`` for a bad value, so a merchant
sees which field is wrong. Defaults are the product's default program (see CONTRACT.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from .achievements import Badge, Challenge, check_sections
from .segments import Segments
from .leaderboard import Leaderboard
from .survey import Survey

FORBID = {"extra": "forbid"}  # read by the parser: unknown fields are errors, not ignored
MAX_SEGMENT_REFS = 20  # segments one reward, campaign or e-mail may name


def _check(cond: bool, name: str, message: str) -> None:
    if not cond:
        raise ValueError(f"{name}: {message}")


def _check_segments(ids: list[int], name: str = "segments") -> None:
    """Segment ids (issue 20: targeting): positive, each once, a few at most. Whether the shop
    has them is checked when the program is saved (services.program), where the shop is known."""
    _check(all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2 ** 63 for i in ids), name,
           "segment ids are positive whole numbers")
    _check(len(set(ids)) == len(ids), name, "a segment is named twice")
    _check(len(ids) <= MAX_SEGMENT_REFS, name, f"at most {MAX_SEGMENT_REFS} segments")


def _check_aware(value: datetime | None, name: str) -> None:
    _check(value is None or (value.tzinfo is not None and value.utcoffset() is not None), name,
           "give a time with its offset, e.g. 2026-12-01T09:00:00+01:00")


@dataclass(frozen=True)
class Match:
    """Which order lines a rule applies to: any product id, collection, tag or product type.

    What the merchant enters, per platform (the product's collections, tags and categories are
    looked up from the platform and cached, so orders and carts need carry only product ids):
    - `products`: the platform's product id (Shopify's numeric id, WooCommerce's product id;
      a WooCommerce variation counts as its parent product).
    - `collections`: a Shopify collection's numeric id, its `gid://shopify/Collection/…` or its
      handle; a WooCommerce product category's id or slug.
    - `tags`: a Shopify product tag; a WooCommerce product tag's name or slug.
    - `product_types`: Shopify's product type (WooCommerce has none).
    Collections, tags and product types compare without regard to case."""
    __pydantic_config__ = FORBID
    products: list[str] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    product_types: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check(bool(self.products or self.collections or self.tags or self.product_types),
               "match", "name at least one product, collection, tag or product type")


@dataclass(frozen=True)
class Multiplier:
    __pydantic_config__ = FORBID
    match: Match
    factor: Decimal
    label: str = ""

    def __post_init__(self) -> None:
        _check(Decimal(0) <= self.factor <= Decimal(100), "factor", "must be between 0 and 100")


@dataclass(frozen=True)
class Base:
    """What the points (and cashback) are computed on: the subtotal after discounts, plus the
    parts the merchant includes. When prices include tax, the tax is taken out unless taxes
    are included."""
    __pydantic_config__ = FORBID
    include_shipping: bool = False
    include_taxes: bool = False
    include_tips: bool = False
    exclude_gift_cards: bool = True


@dataclass(frozen=True)
class OrderEarning:
    __pydantic_config__ = FORBID
    enabled: bool = True
    points_per_unit: Decimal = Decimal(1)  # points per 1.00 of the shop currency
    base: Base = field(default_factory=Base)
    rounding: Literal["down", "nearest", "up"] = "down"
    minimum_order: Decimal = Decimal(0)
    exclude: Match | None = None
    multipliers: list[Multiplier] = field(default_factory=list)
    trigger: Literal["paid", "fulfilled"] = "paid"
    include_test_orders: bool = False  # platform test orders (bogus gateway) earn nothing unless on

    def __post_init__(self) -> None:
        _check(Decimal(0) < self.points_per_unit <= Decimal(10_000), "points_per_unit",
               "must be above 0 and at most 10000")
        _check(self.minimum_order >= 0, "minimum_order", "must not be negative")


@dataclass(frozen=True)
class Caps:
    __pydantic_config__ = FORBID
    per_day: int | None = None
    per_month: int | None = None
    per_year: int | None = None
    lifetime: int | None = None

    def __post_init__(self) -> None:
        for name in ("per_day", "per_month", "per_year", "lifetime"):
            value = getattr(self, name)
            _check(value is None or value >= 1, name, "a cap must be at least 1 (or absent)")


@dataclass(frozen=True)
class ActionRule:
    __pydantic_config__ = FORBID
    enabled: bool = False
    points: int = 0
    caps: Caps = field(default_factory=Caps)

    def __post_init__(self) -> None:
        _check(0 <= self.points <= 1_000_000, "points", "must be between 0 and 1000000")
        _check(not self.enabled or self.points > 0, "points", "an enabled action must award points")


@dataclass(frozen=True)
class BirthdayRule:
    __pydantic_config__ = FORBID
    enabled: bool = False
    points: int = 0
    when: Literal["day", "month"] = "day"

    def __post_init__(self) -> None:
        _check(0 <= self.points <= 1_000_000, "points", "must be between 0 and 1000000")
        _check(not self.enabled or self.points > 0, "points", "an enabled action must award points")


def _signup() -> ActionRule:
    return ActionRule(enabled=True, points=50, caps=Caps(lifetime=1))


def _once_a_day(points: int = 0) -> ActionRule:
    return ActionRule(points=points, caps=Caps(per_day=1))


@dataclass(frozen=True)
class Actions:
    __pydantic_config__ = FORBID
    signup: ActionRule = field(default_factory=_signup)
    birthday: BirthdayRule = field(default_factory=BirthdayRule)
    review: ActionRule = field(default_factory=_once_a_day)
    newsletter: ActionRule = field(default_factory=lambda: ActionRule(caps=Caps(lifetime=1)))
    social_follow: ActionRule = field(default_factory=lambda: ActionRule(caps=Caps(lifetime=1)))
    social_share: ActionRule = field(default_factory=_once_a_day)
    custom: dict[str, ActionRule] = field(default_factory=dict)  # event name -> rule

    def __post_init__(self) -> None:
        for name in self.custom:
            _check(0 < len(name) <= 64 and name.replace("_", "").replace("-", "").isalnum(),
                   "custom", f"event name {name!r} must be 1-64 letters, digits, - or _")

    def rule(self, kind: str) -> ActionRule | None:
        if kind in ("signup", "review", "newsletter", "social_follow", "social_share"):
            return getattr(self, kind)
        return self.custom.get(kind)


@dataclass(frozen=True)
class Tier:
    __pydantic_config__ = FORBID
    name: str
    threshold: Decimal  # points earned, or money spent, in the window
    earn_multiplier: Decimal = Decimal(1)
    cashback_rate: Decimal | None = None  # percent; None: the program's rate
    entry_reward_points: int = 0
    perks: list[str] = field(default_factory=list)
    # Shopper-facing texts per language ('it' -> text); the default `name` stays the tier's identity
    # (stored on members, named by reward restrictions and the API), these only change what is shown.
    names: dict[str, str] = field(default_factory=dict)
    perks_i18n: dict[str, list[str]] = field(default_factory=dict)  # 'it' -> the perks in that language

    def __post_init__(self) -> None:
        import re

        _check(0 < len(self.name.strip()) <= 40, "name", "must be 1 to 40 characters")
        for lang, text in self.names.items():
            _check(re.fullmatch(r"[a-z]{2}", lang) is not None, "names", f"{lang!r}: a language code like it or de")
            _check(isinstance(text, str) and len(text.strip()) <= 40, "names",
                   f"{lang}: a name is at most 40 characters")
        for lang, perks in self.perks_i18n.items():
            _check(re.fullmatch(r"[a-z]{2}", lang) is not None, "perks_i18n",
                   f"{lang!r}: a language code like it or de")
            _check(all(isinstance(p, str) and len(p.strip()) <= 200 for p in perks), "perks_i18n",
                   f"{lang}: a perk is at most 200 characters")
        _check(self.threshold >= 0, "threshold", "must not be negative")
        _check(Decimal(0) < self.earn_multiplier <= Decimal(100), "earn_multiplier", "must be above 0 and at most 100")
        _check(self.cashback_rate is None or Decimal(0) <= self.cashback_rate <= Decimal(100),
               "cashback_rate", "is a percentage between 0 and 100")
        _check(0 <= self.entry_reward_points <= 1_000_000, "entry_reward_points", "must be 0 to 1000000")

    def name_for(self, locale: str | None) -> str:
        """The tier's name in the reader's language ('it'), else the default `name`."""
        text = self.names.get((locale or "")[:2].lower(), "").strip()
        return text or self.name

    def perks_for(self, locale: str | None) -> list[str]:
        """The perks in the reader's language when the merchant wrote them, else the default `perks`."""
        perks = [p for p in self.perks_i18n.get((locale or "")[:2].lower(), []) if p.strip()]
        return perks or list(self.perks)


def _default_tiers() -> list[Tier]:
    return [Tier("Bronze", Decimal(0)), Tier("Silver", Decimal(500), Decimal("1.25")),
            Tier("Gold", Decimal(1500), Decimal("1.5"))]


@dataclass(frozen=True)
class Tiers:
    __pydantic_config__ = FORBID
    enabled: bool = True
    basis: Literal["points_earned", "money_spent"] = "points_earned"
    window: Literal["lifetime", "calendar_year", "rolling_12_months"] = "rolling_12_months"
    downgrade: Literal["never", "end_of_window", "grace_period"] = "end_of_window"
    grace_days: int = 30
    levels: list[Tier] = field(default_factory=_default_tiers)

    def __post_init__(self) -> None:
        _check(len(self.levels) >= 1, "levels", "at least one tier is needed")
        _check(self.levels[0].threshold == 0, "levels", "the first tier starts at 0")
        thresholds = [t.threshold for t in self.levels]
        _check(thresholds == sorted(thresholds) and len(set(thresholds)) == len(thresholds),
               "levels", "thresholds must rise strictly from tier to tier")
        names = [t.name.strip().lower() for t in self.levels]
        _check(len(set(names)) == len(names), "levels", "tier names must be unique")
        _check(0 <= self.grace_days <= 730, "grace_days", "must be between 0 and 730")

    def by_name(self, name: str | None) -> Tier | None:
        return next((t for t in self.levels if t.name == name), None)


@dataclass(frozen=True)
class Window:
    """Start and end in the shop's time zone (local wall-clock times, no offset)."""
    __pydantic_config__ = FORBID
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        _check(self.starts_at.tzinfo is None and self.ends_at.tzinfo is None, "starts_at",
               "give local times in the shop's time zone, without an offset")
        _check(self.ends_at > self.starts_at, "ends_at", "must be after starts_at")


@dataclass(frozen=True)
class CashbackBoost:
    __pydantic_config__ = FORBID
    match: Match
    rate: Decimal
    window: Window | None = None
    label: str = ""

    def __post_init__(self) -> None:
        _check(Decimal(0) <= self.rate <= Decimal(100), "rate", "is a percentage between 0 and 100")


@dataclass(frozen=True)
class Cashback:
    __pydantic_config__ = FORBID
    enabled: bool = False
    rate: Decimal = Decimal(5)  # percent of the base, paid as store credit
    boosts: list[CashbackBoost] = field(default_factory=list)
    pending_days: int = 0
    expiry_days: int | None = None
    # Where spendable credit lives for the shopper: "ledger" (our balance, spent through the
    # widget's codes) or "shopify_store_credit" (mirrored to the customer's native Shopify store
    # credit account, spent at Shopify's checkout; Shopify shops only, see services.store_credit).
    # The ledger stays the record either way.
    payout: Literal["ledger", "shopify_store_credit"] = "ledger"

    def __post_init__(self) -> None:
        _check(Decimal(0) <= self.rate <= Decimal(100), "rate", "is a percentage between 0 and 100")
        _check(0 <= self.pending_days <= 365, "pending_days", "must be between 0 and 365")
        _check(self.expiry_days is None or 1 <= self.expiry_days <= 3650, "expiry_days",
               "must be between 1 and 3650 (or absent)")


@dataclass(frozen=True)
class Campaign:
    """A time-boxed multiplier (double points weekend), a birthday multiplier, or a category
    boost (a multiplier limited to matching lines)."""
    __pydantic_config__ = FORBID
    name: str
    factor: Decimal
    kind: Literal["multiplier", "birthday"] = "multiplier"
    window: Window | None = None
    days_of_week: list[int] = field(default_factory=list)  # 0 = Monday; empty = every day
    match: Match | None = None
    birthday_when: Literal["day", "month"] = "day"
    # Only members in one of these segments (at the time the order earns) get it; empty: everyone.
    segments: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check_segments(self.segments)
        _check(0 < len(self.name.strip()) <= 60, "name", "must be 1 to 60 characters")
        _check(Decimal(1) <= self.factor <= Decimal(20), "factor", "must be between 1 and 20")
        _check(all(0 <= d <= 6 for d in self.days_of_week), "days_of_week", "days are 0 (Monday) to 6")
        _check(self.kind == "birthday" or self.window is not None, "window",
               "a multiplier campaign needs a start and an end")


@dataclass(frozen=True)
class EarlyAccess:
    """Who may redeem a reward before its `available_from`, and from when: members of any of
    these tiers or segments (domain.targeting.opens_at)."""
    __pydantic_config__ = FORBID
    available_from: datetime  # with its offset; shown in the shop's time zone
    tiers: list[str] = field(default_factory=list)
    segments: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        _check_aware(self.available_from, "available_from")
        _check_segments(self.segments)
        _check(bool(self.tiers or self.segments), "tiers", "name the tiers or segments that get early access")


@dataclass(frozen=True)
class Reward:
    __pydantic_config__ = FORBID
    id: str
    name: str
    type: Literal["fixed_amount", "variable_amount", "percentage", "free_shipping", "free_product"]
    points_cost: int = 0  # fixed-cost rewards; for variable_amount, points per step
    amount: Decimal | None = None  # fixed_amount: money off; variable_amount: money per step
    percent: Decimal | None = None
    product_id: str | None = None
    max_steps: int | None = None  # variable_amount: most steps at once
    minimum_cart: Decimal = Decimal(0)
    max_cart_share: Decimal = Decimal(100)  # percent of the cart the discount may cover
    code_expiry_days: int | None = 30
    tiers: list[str] = field(default_factory=list)  # empty: every tier
    enabled: bool = True
    names: dict[str, str] = field(default_factory=dict)  # locale ('it') -> the name in that language
    # Targeting (issue 20, domain.targeting): only members in one of these segments; empty: everyone.
    segments: list[int] = field(default_factory=list)
    # Redeemable from this instant (None: at once); `early_access` lets some tiers or segments in sooner.
    available_from: datetime | None = None
    early_access: EarlyAccess | None = None

    def __post_init__(self) -> None:
        import re

        _check_segments(self.segments)
        _check_aware(self.available_from, "available_from")
        _check(self.early_access is None or self.available_from is not None, "early_access",
               "early access needs the date everyone else may redeem from (available_from)")
        _check(self.early_access is None or self.available_from is None
               or self.early_access.available_from < self.available_from, "early_access",
               "early access must start before available_from")

        _check(0 < len(self.id) <= 40 and self.id.replace("-", "").replace("_", "").isalnum(),
               "id", "must be 1-40 letters, digits, - or _")
        _check(0 < len(self.name.strip()) <= 80, "name", "must be 1 to 80 characters")
        for lang, text in self.names.items():
            _check(re.fullmatch(r"[a-z]{2}", lang) is not None, "names", f"{lang!r}: a language code like it or de")
            _check(isinstance(text, str) and len(text.strip()) <= 80, "names",
                   f"{lang}: a name is at most 80 characters")
        _check(1 <= self.points_cost <= 10_000_000, "points_cost", "must be between 1 and 10000000")
        if self.type in ("fixed_amount", "variable_amount"):
            _check(self.amount is not None and self.amount > 0, "amount", f"{self.type} needs an amount above 0")
        if self.type == "percentage":
            _check(self.percent is not None and 0 < self.percent <= 100, "percent", "must be above 0 and at most 100")
        if self.type == "free_product":
            _check(bool(self.product_id), "product_id", "a free product reward names the product")
        _check(self.minimum_cart >= 0, "minimum_cart", "must not be negative")
        _check(0 < self.max_cart_share <= 100, "max_cart_share", "is a percentage above 0 and at most 100")
        _check(self.code_expiry_days is None or 1 <= self.code_expiry_days <= 3650,
               "code_expiry_days", "must be between 1 and 3650 (or absent)")

    def name_for(self, locale: str | None) -> str:
        """The reward's name in the reader's language ('it'), else the default `name`."""
        text = self.names.get((locale or "")[:2].lower(), "").strip()
        return text or self.name


def _default_rewards() -> list[Reward]:
    # The default reward's name in every shipped language (the merchant renames it per language);
    # no amount in it: the widget shows the value in the shop's currency beside the name.
    names = {"it": "Sconto sull'ordine", "de": "Rabatt auf Ihre Bestellung",
             "fr": "Réduction sur votre commande", "es": "Descuento en tu pedido"}
    return [Reward("five-off", "Discount on your order", "fixed_amount", points_cost=100, amount=Decimal(5), names=names)]


@dataclass(frozen=True)
class StoreCreditSpend:
    __pydantic_config__ = FORBID
    enabled: bool = True
    max_cart_share: Decimal = Decimal(100)

    def __post_init__(self) -> None:
        _check(0 < self.max_cart_share <= 100, "max_cart_share", "is a percentage above 0 and at most 100")


@dataclass(frozen=True)
class Pending:
    """Days before earned points become spendable, per source (to outlast returns)."""
    __pydantic_config__ = FORBID
    orders_days: int = 0
    actions_days: int = 0

    def __post_init__(self) -> None:
        for name in ("orders_days", "actions_days"):
            _check(0 <= getattr(self, name) <= 365, name, "must be between 0 and 365")


@dataclass(frozen=True)
class Expiry:
    __pydantic_config__ = FORBID
    mode: Literal["none", "age", "inactivity"] = "none"
    months: int = 12
    reminder_days: list[int] = field(default_factory=lambda: [30, 7])

    def __post_init__(self) -> None:
        _check(1 <= self.months <= 120, "months", "must be between 1 and 120")
        _check(all(1 <= d <= 365 for d in self.reminder_days), "reminder_days", "days are 1 to 365")


Mode = Literal["block", "hold", "observe", "off"]


@dataclass(frozen=True)
class FriendReward:
    """The friend's welcome code."""
    __pydantic_config__ = FORBID
    type: Literal["fixed_amount", "percentage", "free_shipping"] = "fixed_amount"
    amount: Decimal = Decimal(10)
    percent: Decimal | None = None
    issue_on: Literal["landing", "signup"] = "signup"
    code_days: int = 30

    def __post_init__(self) -> None:
        if self.type == "percentage":
            _check(self.percent is not None and 0 < self.percent <= 100, "percent", "must be above 0 and at most 100")
        if self.type == "fixed_amount":
            _check(self.amount > 0, "amount", "must be above 0")
        _check(1 <= self.code_days <= 365, "code_days", "must be between 1 and 365")


@dataclass(frozen=True)
class ReferrerReward:
    __pydantic_config__ = FORBID
    kind: Literal["points", "credit", "code"] = "points"
    points: int = 500
    amount: Decimal = Decimal(10)  # credit, or the code's amount off
    code_days: int = 60

    def __post_init__(self) -> None:
        _check(0 <= self.points <= 1_000_000, "points", "must be between 0 and 1000000")
        _check(self.kind != "points" or self.points > 0, "points", "a points reward needs points")
        _check(self.kind == "points" or self.amount > 0, "amount", "must be above 0")


@dataclass(frozen=True)
class ReferralCashback:
    """Extra cashback for the referrer on each purchase of the friend (the seed example)."""
    __pydantic_config__ = FORBID
    rate: Decimal = Decimal(0)  # percent of the friend's order base; 0 = off
    months: int | None = None
    orders: int | None = None

    def __post_init__(self) -> None:
        _check(Decimal(0) <= self.rate <= Decimal(50), "rate", "is a percentage between 0 and 50")
        _check(self.months is None or 1 <= self.months <= 120, "months", "must be between 1 and 120")
        _check(self.orders is None or 1 <= self.orders <= 1000, "orders", "must be between 1 and 1000")


def _default_fraud() -> dict[str, Mode]:
    return {"self_referral": "block", "same_device_or_ip": "hold", "ip_velocity": "hold",
            "daily_velocity": "hold", "not_new_customer": "block", "order_reversed": "block"}


FRAUD_RULES = set(_default_fraud())


@dataclass(frozen=True)
class Referrals:
    __pydantic_config__ = FORBID
    enabled: bool = False
    remember_days: int = 30  # how long the widget remembers a landing
    minimum_order: Decimal = Decimal(0)
    pending_days: int = 14  # the referrer is rewarded after this, so a return revokes it
    friend: FriendReward = field(default_factory=FriendReward)
    referrer: ReferrerReward = field(default_factory=ReferrerReward)
    cashback: ReferralCashback = field(default_factory=ReferralCashback)
    fraud: dict[str, Mode] = field(default_factory=_default_fraud)
    max_per_ip_7d: int = 10
    max_per_day: int = 5

    def __post_init__(self) -> None:
        _check(1 <= self.remember_days <= 365, "remember_days", "must be between 1 and 365")
        _check(0 <= self.pending_days <= 365, "pending_days", "must be between 0 and 365")
        _check(self.minimum_order >= 0, "minimum_order", "must not be negative")
        unknown = set(self.fraud) - FRAUD_RULES
        _check(not unknown, "fraud", f"unknown rules {sorted(unknown)}; known: {sorted(FRAUD_RULES)}")


@dataclass(frozen=True)
class Widget:
    """How the storefront widget looks and speaks."""
    __pydantic_config__ = FORBID
    locale: str = "en"  # en, it; texts fall back to English
    texts: dict[str, dict[str, str]] = field(default_factory=dict)  # locale -> key -> merchant's text
    colour: str = "#1f6feb"
    position: Literal["right", "left"] = "right"
    launcher_text: str = ""

    def __post_init__(self) -> None:
        import re

        _check(re.fullmatch(r"[a-z]{2}(-[A-Z]{2})?", self.locale) is not None, "locale", "like en or it-IT")
        _check(re.fullmatch(r"#[0-9a-fA-F]{6}", self.colour) is not None, "colour", "a #rrggbb colour")
        _check(len(self.launcher_text) <= 40, "launcher_text", "at most 40 characters")
        for lang, texts in self.texts.items():
            _check(all(isinstance(v, str) and len(v) <= 300 for v in texts.values()), "texts",
                   f"{lang}: each text is a string of at most 300 characters")


@dataclass(frozen=True)
class Email:
    """One shopper email: on or off, and the merchant's wording per language (language code ->
    text; a language left out or empty gets our default text, from the message catalogue).
    Older documents gave `subject_en`, `body_en`, `subject_it`, `body_it`: the parser
    (services.program.parse) reads those into these maps."""
    __pydantic_config__ = FORBID
    enabled: bool = True
    subject: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] = field(default_factory=dict)
    segments: list[int] = field(default_factory=list)  # only members in one of these segments; empty: all

    def __post_init__(self) -> None:
        from .notifications import LANGUAGES, PLACEHOLDERS, unknown_placeholders

        _check_segments(self.segments)
        for name, limit in (("subject", 200), ("body", 5000)):
            texts = getattr(self, name)
            for lang, value in texts.items():
                _check(lang in LANGUAGES, name, f"{lang!r} is not a language; one of {', '.join(LANGUAGES)}")
                _check(isinstance(value, str) and len(value) <= limit, name, f"{lang}: at most {limit} characters")
                bad = unknown_placeholders(value)
                _check(not bad, name, f"{lang}: unknown placeholders {bad}; use "
                                      + ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS)))

    def wording(self, lang: str) -> tuple[str, str]:
        """The merchant's subject and body in `lang` ('' where ours applies)."""
        return (self.subject.get(lang) or "").strip(), (self.body.get(lang) or "").strip()


@dataclass(frozen=True)
class Notifications:
    """Shopper emails. Sent from the deployment's address with the shop's name, replies to the
    shop's address; every email carries an unsubscribe link."""
    __pydantic_config__ = FORBID
    sender_name: str = ""  # empty: the shop's name
    reply_to: str = ""
    logo_url: str = ""  # an https image shown atop each email; empty: the shop's name as text
    welcome: Email = field(default_factory=Email)
    points_earned: Email = field(default_factory=lambda: Email(enabled=False))
    reward_unlocked: Email = field(default_factory=Email)
    cashback_available: Email = field(default_factory=Email)
    tier_reached: Email = field(default_factory=Email)
    tier_lost: Email = field(default_factory=Email)
    points_expiring: Email = field(default_factory=Email)
    referral_rewarded: Email = field(default_factory=Email)
    birthday_reward: Email = field(default_factory=Email)

    def __post_init__(self) -> None:
        _check(len(self.sender_name) <= 80, "sender_name", "at most 80 characters")
        _check(not self.reply_to or ("@" in self.reply_to and len(self.reply_to) <= 320 and " " not in self.reply_to),
               "reply_to", "an email address")
        _check(not self.logo_url or (self.logo_url.startswith("https://") and len(self.logo_url) <= 500
                                     and not any(c in self.logo_url for c in ' "<>')),
               "logo_url", "an https:// address of an image")

    def email(self, kind: str) -> Email:
        return getattr(self, kind)


@dataclass(frozen=True)
class Program:
    __pydantic_config__ = FORBID
    # Paused (False): orders, actions and referrals earn nothing new and the storefront widget
    # is told to stay hidden; balances, rewards and redemptions already made are untouched.
    live: bool = True
    timezone: str = "UTC"
    earning: OrderEarning = field(default_factory=OrderEarning)
    actions: Actions = field(default_factory=Actions)
    tiers: Tiers = field(default_factory=Tiers)
    cashback: Cashback = field(default_factory=Cashback)
    campaigns: list[Campaign] = field(default_factory=list)
    rewards: list[Reward] = field(default_factory=_default_rewards)
    store_credit: StoreCreditSpend = field(default_factory=StoreCreditSpend)
    pending: Pending = field(default_factory=Pending)
    expiry: Expiry = field(default_factory=Expiry)
    referrals: Referrals = field(default_factory=Referrals)
    widget: Widget = field(default_factory=Widget)
    notifications: Notifications = field(default_factory=Notifications)
    sync_customer_fields: bool = False  # write tier and balance to the platform's customer (metafields / meta)
    badges: list[Badge] = field(default_factory=list)  # achievements (domain.achievements)
    challenges: list[Challenge] = field(default_factory=list)  # time-boxed goals with a reward
    segments: Segments = field(default_factory=Segments)  # lifecycle and RFM thresholds (domain.segments)
    leaderboard: Leaderboard = field(default_factory=Leaderboard)  # opt-in, off by default (domain.leaderboard)
    survey: Survey = field(default_factory=Survey)  # feedback answered once, rewarded once (domain.survey)

    def __post_init__(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from None
        ids = [r.id for r in self.rewards]
        _check(len(set(ids)) == len(ids), "rewards", "reward ids must be unique")
        names = {t.name for t in self.tiers.levels}
        for reward in self.rewards:
            unknown = set(reward.tiers) - names
            _check(not unknown, "rewards", f"reward {reward.id!r} names unknown tiers {sorted(unknown)}")
            unknown = set(reward.early_access.tiers if reward.early_access else []) - names
            _check(not unknown, "rewards", f"reward {reward.id!r} names unknown tiers {sorted(unknown)}")
        check_sections(self.badges, self.challenges)

    def reward(self, reward_id: str) -> Reward | None:
        return next((r for r in self.rewards if r.id == reward_id), None)

    def challenge(self, challenge_id: str) -> Challenge | None:
        return next((c for c in self.challenges if c.id == challenge_id), None)

"""The program simulator's replay: a shop's past orders priced again under a program, in memory
(and, through `Replay.post`, what it credited outside orders: actions priced by `ActionPricer`,
tier entry rewards, referral rewards),
with the live path's own calculators (`earning.calculate`, `refund_fractions`, `taken_back`,
`tiers.decide`, the expiry rule's month arithmetic). Pure: the service streams the orders in and
keeps the figures; nothing here reads or writes a ledger.

What a past order is made of here is what the live path kept of it: its shares (the parts of
its base as they earned: lines, shipping, tips), the products of its lines, the refunded
fraction of each share, its date and its member. So a draft program is applied to the bases as
they earned: a line the live program left out (a gift card, an excluded product) stays out, tax
stays as it was counted, and a draft that leaves shipping or tips out drops those shares.
Product collections and tags are not kept with an order: a rule matching on them does not match
(rules on product ids do)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from .actions import cap_windows, caps_of
from .earning import MemberContext, Order, OrderLine, Share, calculate, taken_back
from .expiry import expires_at
from .program import Program
from .tiers import add_months, decide, window_start

NOT_LINES = ("shipping", "tips")
TIER_ENTRY = "tier_entry"  # a tier's entry reward, posted as an action (`TierService.evaluate`)


@dataclass(frozen=True)
class PastOrder:
    order_id: str
    member_id: int
    placed_at: datetime
    currency: str
    shares: tuple[Share, ...]
    products: dict[str, str]  # line id -> product id
    fractions: dict[str, Fraction]  # share key -> refunded fraction (cumulative, final)
    counted: bool = True  # False: before the period, only the tiers see it


def order_of(past: PastOrder) -> Order:
    """The neutral order rebuilt from its kept shares (amounts as they were counted)."""
    by_key = {s.key: s for s in past.shares}
    lines = tuple(OrderLine(s.key, s.quantity, s.base, product_id=past.products.get(s.key))
                  for s in past.shares if s.key not in NOT_LINES)
    return Order(past.order_id, past.currency, past.placed_at, lines, str(past.member_id),
                 shipping=by_key["shipping"].base if "shipping" in by_key else Decimal(0),
                 tips=by_key["tips"].base if "tips" in by_key else Decimal(0))


@dataclass(slots=True)
class MemberState:
    tier: str | None = None
    since: datetime | None = None
    grace_until: datetime | None = None
    window: list = field(default_factory=list)  # [(at, value)] inside the tier window, oldest first
    total: Fraction = Fraction(0)  # their sum
    ordered: bool = True  # every order so far came after the one before (else prune by filter)
    points: int = 0  # net of refunds, orders in the period
    credit: Decimal = Decimal(0)
    expired_points: int = 0
    expired_credit: Decimal = Decimal(0)
    orders: int = 0
    postings: int = 0  # actions, tier entry rewards and referral rewards in the period
    entered: set = field(default_factory=set)  # tiers whose entry reward was paid
    start_tier: str | None = None


class Replay:
    """One program over one stream of past orders: per member, what the period's orders earn
    net of their refunds, what of it lapses by `end`, and the tier they hold."""

    def __init__(self, program: Program, end: datetime) -> None:
        self.program, self.end = program, end
        self.tz = ZoneInfo(program.timezone)
        self.members: dict[int, MemberState] = {}
        self.issued_points = self.taken_points = 0
        self.issued_credit = self.taken_credit = Decimal(0)
        self.from_actions: dict[str, tuple[int, int]] = {}  # kind -> (actions that earned, points)
        self.referral_points, self.referral_credit = 0, Decimal(0)

    def _tier(self, m: MemberState, program: Program | None = None):
        tiers = (program or self.program).tiers
        if not tiers.enabled:
            return None
        return tiers.by_name(m.tier) or tiers.levels[0]

    def _value(self, m: MemberState, now: datetime, program: Program) -> Decimal:
        since = window_start(program.tiers, now, self.tz)
        if since is not None:
            if m.ordered:  # a short list per member (a deque's block is larger than most windows)
                gone = 0
                while gone < len(m.window) and m.window[gone][0] < since:
                    m.total -= m.window[gone][1]
                    gone += 1
                if gone:
                    del m.window[:gone]
            else:
                m.window = [(at, v) for at, v in m.window if at >= since]
                m.total = sum((v for _, v in m.window), Fraction(0))
        return Decimal(m.total.numerator) / Decimal(m.total.denominator)

    def _move(self, m: MemberState, at: datetime, gained: Fraction, program: Program) -> int:
        """Count `gained` toward the member's tier at `at` and decide their tier then. Returns
        the entry reward a move up pays (once per member and tier, as `TierService.evaluate`
        pays it under its idempotency key), else 0."""
        tiers = program.tiers
        if tiers.window == "lifetime":
            m.total += gained
        else:
            if m.window and at < m.window[-1][0]:
                m.ordered = False
            m.window.append((at, gained))
            m.total += gained
        value = self._value(m, at, program)
        d = decide(tiers, current=m.tier, since=m.since, grace_until=m.grace_until, value=value, now=at, tz=self.tz)
        if d.changed:
            names = [lvl.name for lvl in tiers.levels]
            up = m.tier not in names or names.index(d.tier) > names.index(m.tier)
            m.tier, m.since, m.grace_until = d.tier, at, None
            tier = tiers.by_name(d.tier)
            if up and tier is not None and tier.entry_reward_points > 0 and tier.name not in m.entered:
                m.entered.add(tier.name)
                return tier.entry_reward_points
        else:
            m.tier = d.tier
            m.grace_until = d.grace_until
            m.since = m.since or at
        return 0

    def post(self, member_id: int, at: datetime, points: int, credit: Decimal, *, counted: bool,
             source: str, kind: str = "", program: Program | None = None) -> None:
        """Value credited outside an order (an action's points, a referral's reward) at `at`:
        counted toward tiers on points earned (as the live tier handler counts every posting),
        and, in the period, in what was issued and kept and what of it lapses by the end
        (`expiry.expires_at`, the live rule for every posting)."""
        program = program or self.program
        m = self.members.get(member_id)
        if m is None:
            m = self.members[member_id] = MemberState()
        entry = 0
        if points and program.tiers.enabled and program.tiers.basis == "points_earned":
            entry = self._move(m, at, Fraction(points), program)
        if entry:  # a move up pays its entry reward, itself a posting
            self.post(member_id, at, entry, Decimal(0), counted=counted, source="action", kind=TIER_ENTRY,
                      program=program)
        if not counted:
            return
        if not (m.orders or m.postings):
            m.start_tier = self._tier(m, program).name if program.tiers.enabled else None
        m.postings += 1
        self.issued_points += points
        self.issued_credit += credit
        m.points += points
        m.credit += credit
        due = expires_at(program, "points", at) if points else None
        if due is not None and due <= self.end:
            m.expired_points += points
        due = expires_at(program, "credit", at) if credit else None
        if due is not None and due <= self.end:
            m.expired_credit += credit
        if source == "action":
            count, total = self.from_actions.get(kind, (0, 0))
            self.from_actions[kind] = (count + (points > 0), total + points)
        else:
            self.referral_points += points
            self.referral_credit += credit

    def add(self, past: PastOrder, program: Program | None = None) -> tuple[int, Decimal]:
        """Price one order (the member's tier as it stands) under `program` (default: the
        replay's; the live side passes the version each order earned under), apply its refunds,
        move the tier. Returns what it keeps (points, credit) when it is in the period, else (0, 0)."""
        program = program or self.program
        m = self.members.get(past.member_id)
        if m is None:
            m = self.members[past.member_id] = MemberState()
        if past.counted and m.orders == 0 and m.postings == 0:
            m.start_tier = self._tier(m, program).name if program.tiers.enabled else None
        earning = calculate(program, order_of(past), MemberContext(self._tier(m, program)))
        keys = [s.key for s in earning.shares]
        refunded = [past.fractions.get(k, Fraction(0)) for k in keys]
        took_p = taken_back(earning.points, [s.points for s in earning.shares], refunded) if earning.points else 0
        took_c = (taken_back(earning.credit, [s.credit for s in earning.shares], refunded, past.currency)
                  if earning.credit else Decimal(0))
        kept_p, kept_c = earning.points - took_p, earning.credit - took_c
        tiers = program.tiers
        if tiers.enabled:  # after the order, as the live path's tier handler does
            if tiers.basis == "points_earned":
                gained = Fraction(kept_p)
            else:
                gained = sum((Fraction(s.base) * (1 - f) for s, f in zip(earning.shares, refunded)), Fraction(0))
            entry = self._move(m, past.placed_at, gained, program)
            if entry:
                self.post(past.member_id, past.placed_at, entry, Decimal(0), counted=past.counted, source="action",
                          kind=TIER_ENTRY, program=program)
        if not past.counted:
            return 0, Decimal(0)
        m.orders += 1
        self.issued_points += earning.points
        self.taken_points += took_p
        self.issued_credit += earning.credit
        self.taken_credit += took_c
        m.points += kept_p
        m.credit += kept_c
        expiry = program.expiry
        if expiry.mode == "age" and add_months(past.placed_at, expiry.months) <= self.end:
            m.expired_points += kept_p
        days = program.cashback.expiry_days
        if days and past.placed_at + timedelta(days=days) <= self.end:
            m.expired_credit += kept_c
        return kept_p, kept_c

    def tier_mix(self) -> dict[str, int]:
        mix: dict[str, int] = {}
        for m in self.members.values():
            if m.orders or m.postings:
                name = m.tier or (self.program.tiers.levels[0].name if self.program.tiers.enabled else "-")
                mix[name] = mix.get(name, 0) + 1
        return mix


def value_per_point(program: Program, currency: str) -> Decimal | None:
    """What a point is worth when spent: the best fixed-amount reward's money per point (None
    when the program has none)."""
    rates = [r.amount / r.points_cost for r in program.rewards
             if r.enabled and r.type == "fixed_amount" and r.amount and r.points_cost > 0]
    return max(rates) if rates else None


def figures(replay: Replay, rate: Fraction, credit_rate: Fraction, currency: str) -> dict:
    """The period's totals under the redemption assumption: `rate` of the points kept is
    redeemed (the shop's own historic share), what lapses is the unredeemed share of the lots
    due by the end, and the rest is the liability at the end."""
    from .money import quantum

    q = quantum(currency)
    net_p = sum(m.points for m in replay.members.values())
    net_c = sum((m.credit for m in replay.members.values()), Decimal(0))
    exp_p = sum(m.expired_points for m in replay.members.values())
    exp_c = sum((m.expired_credit for m in replay.members.values()), Decimal(0))
    redeemed_p = int(Fraction(net_p) * rate)
    redeemed_c = (net_c * Decimal(credit_rate.numerator) / Decimal(credit_rate.denominator)).quantize(q)
    expired_p = int(Fraction(exp_p) * (1 - rate))
    expired_c = (exp_c * Decimal((1 - credit_rate).numerator) / Decimal((1 - credit_rate).denominator)).quantize(q)
    vpp = value_per_point(replay.program, currency)
    liab_p = net_p - redeemed_p - expired_p
    liab_c = net_c - redeemed_c - expired_c
    cost = redeemed_c + (Decimal(redeemed_p) * vpp).quantize(q) if vpp is not None else redeemed_c
    return {
        "orders": sum(m.orders for m in replay.members.values()),
        "members": sum(1 for m in replay.members.values() if m.orders or m.postings),
        "points_issued": replay.issued_points, "points_taken_back": replay.taken_points, "points_kept": net_p,
        "points_redeemed": redeemed_p, "points_expired": expired_p, "points_expired_unredeemed": exp_p,
        "points_liability": liab_p,
        "credit_issued": str(replay.issued_credit), "credit_taken_back": str(replay.taken_credit),
        "credit_kept": str(net_c), "credit_redeemed": str(redeemed_c), "credit_expired": str(expired_c),
        "credit_liability": str(liab_c),
        "value_per_point": str(vpp) if vpp is not None else None,
        "points_liability_money": str((Decimal(liab_p) * vpp).quantize(q)) if vpp is not None else None,
        "cost": str(cost),
        "tier_mix": replay.tier_mix(),
        "points_from_actions": sum(p for _, p in replay.from_actions.values()),
        "points_from_referrals": replay.referral_points, "credit_from_referrals": str(replay.referral_credit),
    }


class ActionPricer:
    """A program's price of past actions, one at a time in time order: its rule's points when
    the rule is on, within its caps (`actions.cap_windows`, as `ActionService.award` checks them),
    counted over the awards this program would itself have made."""

    def __init__(self, program: Program) -> None:
        self.program, self.tz = program, ZoneInfo(program.timezone)
        self.awarded: dict[tuple[int, str], list[datetime]] = {}

    def price(self, member_id: int, kind: str, at: datetime) -> int:
        actions = self.program.actions
        rule = actions.birthday if kind == "birthday" else actions.rule(kind)
        if rule is None or not rule.enabled:
            return 0
        times = self.awarded.setdefault((member_id, kind), [])
        for _label, limit, since in cap_windows(caps_of(rule), at, self.tz):
            if sum(1 for t in times if since is None or t >= since) >= limit:
                return 0
        times.append(at)
        return rule.points

"""What the storefront widget shows: the program for everyone (ways to earn, rewards, tiers),
and for a signed-in member their balances, tier progress, the points that expire next, recent
activity in the ledger's own words, and their referral link. One read, cheap enough for every
page view."""
from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from ..domain.birthdays import show as show_birthday
from ..domain.money import Money, amount_text, plain
from ..domain.referrals import display
from ..domain.tiers import progress as tier_progress, window_start
from ..storage.db import Database
from ..storage.repos import MembersRepo
from ..storage.widget_repo import WidgetRepo
from .program import Programs
from .tiers import TierService

LABELS = {"signup": "signup", "birthday": "birthday", "review": "review", "newsletter": "newsletter",
          "social_follow": "social_follow", "social_share": "social_share"}


def program_view(program, currency: str) -> dict:
    earn = [{"kind": "order", "points_per_unit": plain(program.earning.points_per_unit), "currency": currency}] \
        if program.earning.enabled else []
    for kind in ("signup", "birthday", "review", "newsletter", "social_follow", "social_share"):
        rule = program.actions.birthday if kind == "birthday" else program.actions.rule(kind)
        if rule is not None and rule.enabled:
            earn.append({"kind": kind, "points": rule.points})
    if program.referrals.enabled:
        earn.append({"kind": "referral", "points": program.referrals.referrer.points
                     if program.referrals.referrer.kind == "points" else None})
    if program.cashback.enabled:
        earn.append({"kind": "cashback", "percent": plain(program.cashback.rate)})
    return {
        "live": program.live,  # paused: the launcher stays hidden
        "currency": currency, "locale": program.widget.locale, "texts": program.widget.texts,
        "colour": program.widget.colour, "position": program.widget.position,
        "launcher_text": program.widget.launcher_text, "ways_to_earn": earn,
        "rewards": [{"id": r.id, "name": r.name, "type": r.type, "points": r.points_cost,
                     "amount": amount_text(r.amount, currency) if r.amount is not None else None,
                     "percent": plain(r.percent) if r.percent is not None else None, "tiers": r.tiers}
                    for r in program.rewards if r.enabled],
        "tiers": [{"name": lvl.name, "threshold": plain(lvl.threshold), "perks": lvl.perks}
                  for lvl in program.tiers.levels] if program.tiers.enabled else [],
    }


class WidgetService:
    CACHE_SECONDS = 1  # a new posting shows in the widget within this

    def __init__(self, db: Database, programs: Programs, tiers: TierService, referrals, clock, redis=None) -> None:
        self.db, self.programs, self.tiers, self.referrals, self.clock = db, programs, tiers, referrals, clock
        self.redis = redis
        self._local: dict[str, tuple[float, bytes]] = {}

    @staticmethod
    def cache_key(shop_id: int, customer_id: str | None) -> str:
        return f"loyalty:widget:{shop_id}:{customer_id or '-'}"

    def summary_json(self, shop, customer_id: str | None, cached: bytes | None = None) -> bytes:
        """The summary as JSON bytes, served from a per-member cache for a second (Redis when
        configured, so every web process shares it). `cached`: a value the caller already read
        (the storefront reads it together with its rate limits, in one round trip)."""
        import json
        import time

        key = self.cache_key(shop.id, customer_id)
        if cached is None and self.redis is None:
            hit = self._local.get(key)
            cached = hit[1] if hit and hit[0] > time.monotonic() else None
        if cached is not None:
            return cached
        body = json.dumps(self.summary(shop, customer_id), separators=(",", ":")).encode()
        if self.redis is not None:
            try:
                self.redis.set(key, body, ex=self.CACHE_SECONDS)
            except Exception:
                pass
        else:
            if len(self._local) > 10_000:
                self._local.clear()
            self._local[key] = (time.monotonic() + self.CACHE_SECONDS, body)
        return body

    def summary(self, shop, customer_id: str | None) -> dict:
        pv = self.programs.for_reading(shop.id)
        program = pv.program
        out = {"program": program_view(program, shop.currency), "member": None}
        if not customer_id:
            return out
        now = self.clock.now()
        # A plain reading connection, not a unit of work: one round trip per query (hot path).
        with self.db.reading() as conn:
            points_basis = program.tiers.enabled and program.tiers.basis == "points_earned"
            since = window_start(program.tiers, now, ZoneInfo(program.timezone)) if points_basis else None
            m = MembersRepo(conn, shop.id).for_widget(customer_id, with_points_earned=points_basis, points_since=since)
            if m is None:
                return out
            widget = WidgetRepo(conn, shop.id)
            expiring = widget.next_expiry(m.id)
            activity = widget.activity(m.id, limit=8)
            tier = None
            if program.tiers.enabled:
                # The order-spend basis is the tier service's own reading (on this connection).
                value = Decimal(m.points_earned) if points_basis else self.tiers.qualifying_value(conn, program, shop.id, m.id, now)
                at = tier_progress(program.tiers, value, m.tier)
                tier = {"name": at.tier.name, "value": plain(value), "next": at.next.name if at.next else None,
                        "next_threshold": plain(at.next.threshold) if at.next else None,
                        "perks": at.tier.perks}
        code = m.code or self.referrals.code_for(shop.id, m.id)
        base = shop.domain if "://" in shop.domain else f"https://{shop.domain}"
        cur = shop.currency
        out["member"] = {
            "points": int(m.points), "pending_points": int(m.points_pending),
            "store_credit": Money.of(m.credit, cur).to_json(), "pending_credit": Money.of(m.credit_pending, cur).to_json(),
            "tier": tier,
            "expiring": {"points": int(expiring[1]), "at": expiring[0].isoformat()} if expiring else None,
            "activity": [{"text": a.reason, "points": int(a.points + a.points_pending),
                          "credit": amount_text(a.credit + a.credit_pending, cur) if a.asset == "credit" else None,
                          "kind": a.kind, "at": a.created_at.isoformat()} for a in activity],
            "birthday": show_birthday(m.birthday),  # given once; the shop corrects it
            "referral": {"code": display(code), "link": f"{base}/?ref={code}"} if program.referrals.enabled else None,
        }
        return out

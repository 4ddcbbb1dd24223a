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
from ..storage.achievements_repo import AchievementsRepo
from ..storage.widget_repo import WidgetRepo
from ..domain.targeting import Audience, reward_gate, reward_segment_ids, uses_segments
from ..storage.targeting_repo import TargetingRepo
from .explain import explain, render, tier_label_map, tier_labels
from .program import Programs
from .tiers import TierService
from .widget_texts import Texts, shopper_locale

WAYS = ("signup", "birthday", "review", "newsletter", "social_follow", "social_share")


def _reward_value(T: Texts, r, currency: str) -> str:
    t = T.t
    if r.type in ("fixed_amount", "variable_amount") and r.amount is not None:
        return t.money(r.amount, currency)
    if r.type == "percentage" and r.percent is not None:
        return T("percent_off", percent=t.rate(r.percent))
    if r.type == "free_shipping":
        return T("free_shipping")
    return T("free_product") if r.type == "free_product" else ""


def program_view(program, currency: str, locale: str | None = None) -> dict:
    """The program as the widget shows it to everyone: raw values (for API clients) and, beside
    them, the texts in the shopper's language (`text`, `name`, `value_text`, `cost_text`)."""
    lang = shopper_locale(program, locale)
    T = Texts(lang, program.widget.texts)
    t = T.t
    earn = []
    if program.earning.enabled:
        ppu = program.earning.points_per_unit
        earn.append({"kind": "order", "points_per_unit": plain(ppu), "currency": currency,
                     "text": T("order", n=int(ppu) if ppu == int(ppu) else 2, num=t.number(ppu),
                               amount=t.money(1, currency))})
    for kind in WAYS:
        rule = program.actions.birthday if kind == "birthday" else program.actions.rule(kind)
        if rule is not None and rule.enabled:
            earn.append({"kind": kind, "points": rule.points,
                         "text": f"{T(kind)} · {T('way_points', n=rule.points)}",
                         **({"ask_text": T("bday_ask", n=rule.points)} if kind == "birthday" else {})})
    if program.referrals.enabled:
        give = program.referrals.referrer
        points = give.points if give.kind == "points" else None
        worth = T("way_points", n=points) if points else t.money(give.amount, currency)
        earn.append({"kind": "referral", "points": points, "text": f"{T('referral')} · {worth}"})
    if program.cashback.enabled:
        earn.append({"kind": "cashback", "percent": plain(program.cashback.rate),
                     "text": T("cashback", rate=t.rate(program.cashback.rate))})
    return {
        "live": program.live,  # paused: the launcher stays hidden
        "currency": currency, "locale": lang, "texts": T.table(),
        "colour": program.widget.colour, "position": program.widget.position,
        "launcher_text": program.widget.launcher_text, "ways_to_earn": earn,
        "rewards": [{"id": r.id, "name": r.name_for(lang), "type": r.type, "points": r.points_cost,
                     "amount": amount_text(r.amount, currency) if r.amount is not None else None,
                     "percent": plain(r.percent) if r.percent is not None else None, "tiers": r.tiers,
                     "segments": r.segments,  # issue 20: only for members of these (ids; empty: everyone)
                     "available_from": r.available_from.isoformat() if r.available_from else None,
                     "value_text": _reward_value(T, r, currency), "cost_text": T("reward_cost", n=r.points_cost)}
                    for r in program.rewards if r.enabled],
        "tiers": [{"name": lvl.name, "label": lvl.name_for(lang), "threshold": plain(lvl.threshold),
                   "perks": lvl.perks_for(lang)}
                  for lvl in program.tiers.levels] if program.tiers.enabled else [],
    }


def birthday_text(T: Texts, given) -> str | None:
    """'Your birthday: 17 May' ('17 maggio 1990' with the year when it was given)."""
    if given is None:
        return None
    t = T.t
    return T("bday_is", date=t.month_day(given.month, given.day) if show_birthday(given).startswith("--")
             else t.date(given, "long"))


class WidgetService:
    CACHE_SECONDS = 1  # a new posting shows in the widget within this

    def __init__(self, db: Database, programs: Programs, tiers: TierService, referrals, clock, redis=None) -> None:
        self.db, self.programs, self.tiers, self.referrals, self.clock = db, programs, tiers, referrals, clock
        self.redis = redis
        self.achievements = None  # services.achievements.Achievements: badges and challenges (set by the runtime)
        self.leaderboards = None  # services.leaderboard.Leaderboards (set by the runtime)
        self.surveys = None  # services.survey.Surveys (set by the runtime)
        self._local: dict[str, tuple[float, bytes]] = {}

    @staticmethod
    def cache_key(shop_id: int, customer_id: str | None, locale: str | None = None) -> str:
        return f"loyalty:widget:{shop_id}:{customer_id or '-'}:{locale or '-'}"

    def forget(self, shop_id: int, customer_id: str) -> None:
        """Drop the shopper's cached summary (every language) after they changed what it shows."""
        from ..i18n import LOCALES

        keys = [self.cache_key(shop_id, customer_id, lang) for lang in (None, *LOCALES)]
        for key in keys:
            self._local.pop(key, None)
        if self.redis is not None:
            try:
                self.redis.delete(*keys)
            except Exception:
                pass

    def summary_json(self, shop, customer_id: str | None, cached: bytes | None = None,
                     locale: str | None = None) -> bytes:
        """The summary as JSON bytes, served from a per-member cache for a second (Redis when
        configured, so every web process shares it). `cached`: a value the caller already read
        (the storefront reads it together with its rate limits, in one round trip)."""
        import json
        import time

        key = self.cache_key(shop.id, customer_id, locale)
        if cached is None and self.redis is None:
            hit = self._local.get(key)
            cached = hit[1] if hit and hit[0] > time.monotonic() else None
        if cached is not None:
            return cached
        body = json.dumps(self.summary(shop, customer_id, locale), separators=(",", ":")).encode()
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

    @staticmethod
    def _status(T: Texts, reward, points: int, tier: str | None, audience: Audience | None = None,
                now=None, timezone: str = "UTC") -> str:
        """Whether the member can use a reward now, in words: who it is for (tiers, segments) and
        from when (domain.targeting) first, then the points."""
        why = reward_gate(reward, audience if audience is not None else Audience(tier), now, timezone)
        if why is not None:
            return render(why, T.t)
        return T("can_afford") if points >= reward.points_cost else T("need", n=reward.points_cost - points)

    def birthday_text(self, shop, given, locale: str | None = None) -> str | None:
        """The birthday as the panel shows it, in the shopper's language."""
        program = self.programs.for_reading(shop.id).program
        return birthday_text(Texts(shopper_locale(program, locale), program.widget.texts), given)

    def summary(self, shop, customer_id: str | None, locale: str | None = None) -> dict:
        """What the widget shows, in the shopper's language (`locale`, else the shop's): raw
        values for API clients and, beside them, every text rendered (`*_text`, `text`)."""
        pv = self.programs.for_reading(shop.id)
        program = pv.program
        lang = shopper_locale(program, locale)
        out = {"program": program_view(program, shop.currency, lang), "member": None}
        if not customer_id:
            return out
        # Tier names in the reasons (activity lines, reward status) read in the shopper's language.
        with tier_labels(tier_label_map(program, lang)):
            return self._member_summary(shop, customer_id, program, lang, out)

    def _member_summary(self, shop, customer_id: str, program, lang: str, out: dict) -> dict:
        now = self.clock.now()
        tz = ZoneInfo(program.timezone)
        # A plain reading connection, not a unit of work: one round trip per query (hot path).
        with self.db.reading() as conn:
            points_basis = program.tiers.enabled and program.tiers.basis == "points_earned"
            since = window_start(program.tiers, now, tz) if points_basis else None
            m = MembersRepo(conn, shop.id).for_widget(customer_id, with_points_earned=points_basis, points_since=since)
            if m is None:
                return out
            widget = WidgetRepo(conn, shop.id)
            audience = None
            if uses_segments(program):  # the segments the member is in now, for their rewards' status
                repo = TargetingRepo(conn, shop.id)
                audience = Audience(m.tier, repo.member_segments(m.id), repo.names(reward_segment_ids(program)))
            expiring = widget.next_expiry(m.id)
            activity = widget.activity(m.id, limit=8)
            value = at = None
            if program.tiers.enabled:
                # The order-spend basis is the tier service's own reading (on this connection).
                value = Decimal(m.points_earned) if points_basis else self.tiers.qualifying_value(conn, program, shop.id, m.id, now)
                at = tier_progress(program.tiers, value, m.tier)
            T = Texts(lang, program.widget.texts)
            # Badges and challenges only when the program has some (the payload stays small).
            goals = self.achievements.view(AchievementsRepo(conn, shop.id), m.id, program, T.t, shop.currency) \
                if self.achievements is not None and (program.badges or program.challenges) else {}
            board = self.leaderboards.view(conn, shop.id, m.id, program, T.t) \
                if self.leaderboards is not None and program.leaderboard.enabled else {}
            survey = self.surveys.view(conn, shop.id, m.id, program, T.t) \
                if self.surveys is not None and program.survey.enabled else {}
        # The rewards in words, with the widget's own texts (plural forms; a merchant may reword them).
        for goal in (*goals.get("badges", ()), *goals.get("challenges", ())):
            goal["points_text"] = T("reward_points", n=goal["points"]) if goal.get("points") else None
        if survey.get("survey"):
            worth = survey["survey"]["points"]
            survey["survey"]["reward_text"] = T("survey_reward", n=worth) if worth else None
        t = T.t
        cur = shop.currency
        tier = None
        if at is not None:
            if at.next is None:
                next_text = T("top_tier")
            elif points_basis:
                missing = int(max(Decimal(0), at.next.threshold - value))
                next_text = T("to_next", n=missing, tier=at.next.name_for(lang))
            else:
                next_text = T("to_next_money", amount=t.money(max(Decimal(0), at.next.threshold - value), cur),
                              tier=at.next.name_for(lang))
            pct = 100 if at.next is None or not at.next.threshold else \
                int(min(Decimal(100), 100 * value / at.next.threshold))
            # `name`/`next` stay the tiers' identities (what rewards' `tiers` name); `label`,
            # `next_label`, the perks and the texts are in the shopper's language.
            tier = {"name": at.tier.name, "label": at.tier.name_for(lang), "value": plain(value),
                    "next": at.next.name if at.next else None,
                    "next_label": at.next.name_for(lang) if at.next else None,
                    "next_threshold": plain(at.next.threshold) if at.next else None,
                    "perks": at.tier.perks_for(lang), "percent": pct, "text": T("tier", tier=at.tier.name_for(lang)),
                    "next_text": next_text}
        code = m.code or self.referrals.code_for(shop.id, m.id)
        base = shop.domain if "://" in shop.domain else f"https://{shop.domain}"
        points = int(m.points)
        rows = []
        for a in activity:
            if a.asset == "credit":
                credit = a.credit + a.credit_pending
                amount = ("+" if credit > 0 else "") + t.money(credit, cur)
            else:
                n = int(a.points + a.points_pending)
                amount = ("+" if n > 0 else "") + t.number(n)
            rows.append({"text": explain(a, t), "points": int(a.points + a.points_pending),
                         "credit": amount_text(a.credit + a.credit_pending, cur) if a.asset == "credit" else None,
                         "amount_text": amount, "kind": a.kind, "at": a.created_at.isoformat(),
                         "date_text": t.date(a.created_at.astimezone(tz))})
        given = m.birthday
        out["member"] = {
            "points": points, "pending_points": int(m.points_pending),
            "points_text": t.number(points), "points_unit": T("points_unit", n=points),
            "pending_text": T("pending", points=t.number(int(m.points_pending))) if m.points_pending else None,
            "store_credit": Money.of(m.credit, cur).to_json(), "pending_credit": Money.of(m.credit_pending, cur).to_json(),
            "credit_text": T("credit", amount=t.money(m.credit, cur)) if m.credit or m.credit_pending else None,
            "pending_credit_text": T("pending_credit", amount=t.money(m.credit_pending, cur)) if m.credit_pending else None,
            "tier": tier,
            "expiring": {"points": int(expiring[1]), "at": expiring[0].isoformat(),
                         "text": T("expiring", n=int(expiring[1]), points=t.number(int(expiring[1])),
                                   date=t.date(expiring[0].astimezone(tz), "long"))} if expiring else None,
            "activity": rows,
            "rewards": {r.id: self._status(T, r, points, at.tier.name if at is not None else None,
                                           Audience(at.tier.name if at is not None else None,
                                                    audience.segments, audience.names) if audience else None,
                                           now, program.timezone)
                        for r in program.rewards if r.enabled},
            "birthday": show_birthday(given),  # given once; the shop corrects it
            "birthday_text": birthday_text(T, given),
            "referral": {"code": display(code), "link": f"{base}/?ref={code}"} if program.referrals.enabled else None,
            **goals,
            **board,
            **survey,
        }
        return out

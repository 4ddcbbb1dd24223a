"""Badges and challenges on the ledger and the events.

Badges are evaluated by handlers (services.handlers) of what can move them: an order counted
for the member changed (earned, edited, refunded, cancelled), an action or referral posted
points, a referral was rewarded. They run inside the unit of work that caused them. Each time a
badge is earned is a row keyed (shop, member, badge, seq) and, when it pays, a ledger entry keyed
`badge:<member>:<badge>:<seq>`: however often and in whatever order deliveries arrive, each is
paid once. An earned badge stays earned (a later refund does not take it back; earning it again
after a refund finds the same keys and pays nothing).

Challenges are settled once after their end by a periodic job (`settle_due`): each member's
outcome is a row settled once, its reward a ledger entry keyed `challenge:<member>:<challenge>`,
so any number of workers may run it at once.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..domain.achievements import Badge, Challenge, Facts, badge_progress, challenge_outcome, challenge_progress
from ..domain.errors import InvalidRequest, NotFound
from ..domain.expiry import expires_at
from ..domain.ledger import Asset, Source
from ..domain.member_events import BadgeEarned, ChallengeCompleted, OrderChanged, PointsPosted, ReferralRewarded
from ..domain.ports import Clock, SystemClock
from ..domain.program import Program
from ..domain.reasons import Reason
from ..i18n import Translator
from ..storage import tables as t
from ..storage.db import Database
from ..storage.uow import QUIET
from .ledger import Ledger


class Achievements:
    def __init__(self, db: Database, ledger: Ledger, programs, clock: Clock | None = None) -> None:
        self.db, self.ledger, self.programs, self.clock = db, ledger, programs, clock or SystemClock()

    # -- badges ----------------------------------------------------------------------------------
    def evaluate(self, uow, member_id: int | None, why: str = "") -> int:
        """Award every badge the member's history now earns and has not been recorded; the count."""
        if member_id is None or uow.memo.get(QUIET):  # a quiet history backfill tells and pays nobody
            return 0
        pv = self.programs.current(uow.shop_id)
        program, version = pv.program, pv.version
        badges = [b for b in program.badges if b.enabled]
        if not badges or not program.live:
            return 0
        now, tz = self.clock.now(), ZoneInfo(program.timezone)
        repo = uow.achievements
        facts, earned, awarded = repo.facts(member_id), repo.earned(member_id), 0
        for badge in badges:
            times = badge_progress(badge, facts, now, tz).times
            for seq in range(earned.get(badge.id, 0) + 1, times + 1):
                awarded += self._award(uow, program, version, member_id, badge, seq, now)
        return awarded

    def _award(self, uow, program: Program, version: int, member_id: int, badge: Badge, seq: int,
               now: datetime) -> bool:
        points = badge.reward.points if badge.reward.kind == "points" else 0
        if not uow.achievements.award(member_id, badge.id, seq, points, version, now):
            return False  # recorded by a concurrent delivery: it paid
        if points:
            self.ledger.earn(uow.shop_id, member_id, Asset.POINTS, points, key=f"badge:{member_id}:{badge.id}:{seq}",
                             source=Source.ACTION, program_version=version,
                             reason=Reason("badge.earned", {"badge": badge.id, "name": badge.name, "times": seq,
                                                            "points": points}),
                             expires_at=expires_at(program, Asset.POINTS, now))
        uow.collect(BadgeEarned(shop_id=uow.shop_id, member_id=member_id, at=now, badge_id=badge.id, seq=seq,
                                points=points, name=badge.name))
        return True

    # -- handlers (registered in services.handlers) ----------------------------------------------
    def after_order(self, uow, event: OrderChanged) -> None:
        self.evaluate(uow, event.member_id, why=event.cause)

    def after_posting(self, uow, event: PointsPosted) -> None:
        """Actions (reviews, custom events) and referral rewards that post points."""
        if event.kind == "earn" and event.source in (Source.ACTION.value, Source.REFERRAL.value):
            self.evaluate(uow, event.member_id, why=event.reason)

    def after_referral(self, uow, event: ReferralRewarded) -> None:
        self.evaluate(uow, event.member_id, why="referral")

    # -- challenges ------------------------------------------------------------------------------
    def opt_in(self, shop_id: int, member_id: int, challenge_id: str) -> bool:
        """Join an opt-in challenge before it ends; True when newly joined (again: no change)."""
        program = self.programs.current(shop_id).program
        challenge = program.challenge(challenge_id)
        if challenge is None:
            raise NotFound("no such challenge")
        if challenge.enrollment != "opt_in":
            raise InvalidRequest("every member takes part in this challenge: there is nothing to join")
        if self.clock.now() >= challenge.window(ZoneInfo(program.timezone))[1]:
            raise InvalidRequest("this challenge has ended")
        with self.db.uow(shop_id) as uow:
            return uow.achievements.opt_in(member_id, challenge_id, self.clock.now())

    def settle_due(self) -> int:
        """Settle every challenge that has ended and is not settled yet, in every installed shop;
        the number of members rewarded. Idempotent; safe with several workers."""
        with self.db.uow() as uow:
            shop_ids = uow.conn.execute(select(t.shops.c.id).where(t.shops.c.status == "installed")).scalars().all()
        rewarded = 0
        for shop_id in shop_ids:
            pv = self.programs.current(shop_id)
            for challenge in pv.program.challenges:
                rewarded += self.settle(shop_id, pv.program, pv.version, challenge)
        return rewarded

    def settle(self, shop_id: int, program: Program, version: int, challenge: Challenge) -> int:
        tz, now = ZoneInfo(program.timezone), self.clock.now()
        start, end = challenge.window(tz)
        if now < end:
            return 0
        with self.db.uow(shop_id) as uow:
            repo = uow.achievements
            if repo.settled(challenge.id):
                return 0
            if challenge.enrollment == "opt_in":
                members = repo.opted_in(challenge.id)
            elif challenge.goal.kind == "custom_event":
                members = repo.members_with_action(challenge.goal.event, start, end)
            else:
                members = repo.members_with_orders(start, end)
        achieved = 0
        for member_id in members:
            with self.db.uow(shop_id) as uow:
                achieved += self._settle_member(uow, program, version, challenge, member_id, now, tz)
        with self.db.uow(shop_id) as uow:
            uow.achievements.mark_settled(challenge.id, len(members), achieved, now)
        return achieved

    def _settle_member(self, uow, program: Program, version: int, challenge: Challenge, member_id: int,
                       now: datetime, tz: ZoneInfo) -> bool:
        facts = uow.achievements.facts(member_id)
        outcome = challenge_outcome(challenge, facts, now, tz)
        progress = challenge_progress(challenge, facts, tz)
        points = challenge.points if outcome == "achieved" else 0
        if not uow.achievements.settle_member(member_id, challenge.id, outcome, progress, points, now):
            return False  # settled already (another worker, an earlier run)
        if not points:
            return False
        self.ledger.earn(uow.shop_id, member_id, Asset.POINTS, points, key=f"challenge:{member_id}:{challenge.id}",
                         source=Source.ACTION, program_version=version,
                         reason=Reason("challenge.completed", {"challenge": challenge.id, "name": challenge.name,
                                                               "points": points}),
                         expires_at=expires_at(program, Asset.POINTS, now))
        uow.collect(ChallengeCompleted(shop_id=uow.shop_id, member_id=member_id, at=now,
                                       challenge_id=challenge.id, points=points, name=challenge.name))
        return True

    def for_member(self, shop_id: int, member_id: int, program: Program, tr: Translator, currency: str) -> dict:
        """The merchant's view of one member's badges and open challenges (the widget's, in the
        admin's language), read in the shop's unit of work."""
        with self.db.uow(shop_id) as uow:
            return self.view(uow.achievements, member_id, program, tr, currency)

    # -- what the shopper sees -------------------------------------------------------------------
    def view(self, repo, member_id: int, program: Program, tr: Translator, currency: str) -> dict:
        """Badges (earned and in progress, "2 of 3 orders") and challenges not ended, with
        progress, in the shopper's language. Small: only what the widget shows. `repo`: the
        shop's `AchievementsRepo` (a unit of work's, or on the widget's reading connection)."""
        if not program.badges and not program.challenges:
            return {"badges": [], "challenges": []}
        now, tz = self.clock.now(), ZoneInfo(program.timezone)
        facts: Facts = repo.facts(member_id)
        earned = repo.earned(member_id)
        badges = []
        for badge in program.badges:
            if not badge.enabled:
                continue
            p = badge_progress(badge, facts, now, tz)
            times = max(earned.get(badge.id, 0), p.times)  # earned stays earned after a refund
            current = p.target if times and not badge.repeatable else p.shown
            badges.append({"id": badge.id, "name": badge.name_for(tr.locale), "earned": times,
                           "points": badge.reward.points if badge.reward.kind == "points" else 0,
                           "progress": {"current": _plain(current), "target": _plain(p.target)},
                           "text": progress_text(tr, badge.rule.kind, current, p.target, currency)})
        rows = repo.challenge_rows(member_id)
        challenges = []
        for ch in program.challenges:
            start, end = ch.window(tz)
            if now >= end:
                continue
            row = rows.get(ch.id)
            joined = ch.enrollment == "automatic" or (row is not None and row.opted_in_at is not None)
            current = challenge_progress(ch, facts, tz)
            kind = {"orders_count": "orders_count", "spend": "spend"}.get(ch.goal.kind, "custom_event")
            challenges.append({"id": ch.id, "name": ch.name_for(tr.locale), "points": ch.points,
                               "starts_at": start.isoformat(), "ends_at": end.isoformat(),
                               "ends_text": ends_text(tr, end, tz),
                               "enrollment": ch.enrollment, "joined": joined,
                               "progress": {"current": _plain(current), "target": _plain(ch.goal.target)},
                               "text": progress_text(tr, kind, current, ch.goal.target, currency)})
        return {"badges": badges, "challenges": challenges}


def _plain(value: Decimal) -> str | int:
    return int(value) if value == value.to_integral_value() else str(value)


def ends_text(tr: Translator, end: datetime, tz: ZoneInfo) -> str:
    """'Until 31 March': the last day of a challenge (its end is exclusive) in the shop's time zone,
    in the shopper's language."""
    last = (end.astimezone(tz) - timedelta(microseconds=1)).date()
    return tr.gettext("Until %(date)s", date=tr.date(last, "long"))


def progress_text(tr: Translator, kind: str, current: Decimal, target: Decimal, currency: str) -> str:
    """'2 of 3 orders', '€40.00 of €100.00 spent', in the shopper's language."""
    n, c = int(target), int(min(current, target)) if kind != "spend" else 0
    if kind == "spend":
        return tr.gettext("%(current)s of %(target)s spent", current=tr.money(min(current, target), currency),
                          target=tr.money(target, currency))
    if kind in ("first_order", "orders_count"):
        return tr.ngettext("%(current)s of %(total)s order", "%(current)s of %(total)s orders", n, current=c, total=n)
    if kind == "reviews":
        return tr.ngettext("%(current)s of %(total)s review", "%(current)s of %(total)s reviews", n, current=c, total=n)
    if kind == "referrals":
        return tr.ngettext("%(current)s of %(total)s friend referred", "%(current)s of %(total)s friends referred", n,
                           current=c, total=n)
    if kind == "order_streak_months":
        return tr.ngettext("%(current)s of %(total)s month in a row with an order",
                           "%(current)s of %(total)s months in a row with an order", n, current=c, total=n)
    return tr.ngettext("%(current)s of %(total)s time", "%(current)s of %(total)s times", n, current=c, total=n)

"""Analytics from rollups: a job folds new ledger entries into per-shop, per-day totals and the
set of members active each day (incrementally: on PostgreSQL by the transactions committed since
its last snapshot, on SQLite by entry id); orders are counted into per-day,
per-segment rollups in the same transaction that records them. A dashboard reads a few hundred
rollup rows however long the ledger grows. Outstanding balances and tiers come from the O(1)
balance rows.

Definitions (shown to the merchant next to each figure):
- enrolment rate: members who joined in the period / (those + guests who bought for the first
  time in the period);
- active members: members who earned or spent in the period;
- repeat purchase rate: share of the period's orders placed by customers who had ordered before;
- program cost: points redeemed at their redemption value plus store credit spent;
- revenue touched: net sales of members' orders.

Issue 21 (each definition is also shown next to its figure on the admin page):
- every day is a day in the shop's time zone (the program's `timezone`), in the rollups, the
  period asked for and "today";
- redeemers / non-redeemers / non-members: the period's orders by members who have used a reward
  on an order (up to the end of the period), by the other members, and by customers who are not
  members (guests included);
- per tier: members, points outstanding and net sales of the period by the members in it now;
- lifetime value: members' net sales less refunds (member profiles) ÷ members; purchase
  frequency: orders ÷ members who have ordered (all time);
- reward usage rate: codes issued in the period and used since ÷ codes issued in the period
  (used + lapsed + still open);
- order earning rate: share of the period's orders that earned points or credit;
- membership rate: share of the period's orders placed by members;
- cohorts: members by month of enrolment (the twelve months to the period's end), and the share
  of those who ordered whose second order came within 30, 60 and 90 days of their first;
- pending points: earned, not yet available; expiring: in open lots that expire in the next 30 days."""
from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..domain.errors import InvalidRequest
from ..domain.finance import point_value as value_of_points
from ..domain.money import Money
from ..storage.analytics_repo import DashboardRepo, lock_order_days
from ..storage.db import Database

ACTIVE_KINDS = ("earn", "redeem", "commit")
EARLIEST, LATEST = date(1970, 1, 1), date(9998, 12, 31)  # a day's bounds stay representable
MAX_PERIOD_DAYS = 3660  # ten years
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_period(start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The one parser of a dashboard period (`from`, `to`: YYYY-MM-DD, either may be omitted:
    the last 30 days to today). Impossible or out-of-range dates, a start after the end and
    periods over ten years are InvalidRequest naming the field."""

    def day(text: str | None, field: str) -> date | None:
        if not text:
            return None
        try:
            if not _DAY.fullmatch(text):
                raise ValueError
            value = date.fromisoformat(text)
        except ValueError:
            raise InvalidRequest(f"{field} must be a real date, YYYY-MM-DD", field=field) from None
        if not EARLIEST <= value <= LATEST:
            raise InvalidRequest(f"{field} must be between {EARLIEST} and {LATEST}", field=field)
        return value

    last = day(end, "to") or today
    first = day(start, "from") or last - timedelta(days=29)
    if first > last:
        raise InvalidRequest("from must not be after to: the start must be before the end", field="from")
    if (last - first).days > MAX_PERIOD_DAYS:
        raise InvalidRequest("a period is at most ten years", field="from")
    return first, last
ORDER_METRICS = ("orders", "revenue", "returning_orders", "new_customers", "redemption_orders", "redemption_revenue")
METRICS = ("points_issued", "points_redeemed", "points_expired", "points_reversed",
           "credit_issued", "credit_spent", "credit_expired", "entries", "referral_credit",
           "points_imported", "credit_imported")


def fold(entry) -> dict[str, Decimal | int]:
    """What one entry adds to its day. Issued = earned and upward adjustments (pending included,
    at earning); redeemed = redemptions, committed holds and downward adjustments, less what
    reversals gave back; reversed = earnings taken back; holds and vesting move nothing here."""
    points = int(entry.points + entry.points_pending)
    credit = Decimal(entry.credit) + Decimal(entry.credit_pending)
    out: dict = {"entries": 1}
    kind, is_points = entry.kind, entry.asset == "points"
    if entry.source == "import":  # brought from another app, or taken back by undoing the import:
        out["points_imported" if is_points else "credit_imported"] = points if is_points else credit
        return out  # not issued nor redeemed by this program, so its rates stay true
    if entry.source == "referral" and not is_points and credit:
        out["referral_credit"] = credit
    if kind in ("earn", "adjust") and (points > 0 or credit > 0):
        out["points_issued" if is_points else "credit_issued"] = points if is_points else credit
    elif kind in ("redeem", "adjust"):
        out["points_redeemed" if is_points else "credit_spent"] = -points if is_points else -credit
    elif kind == "commit":  # the committed part of a hold is spent (the rest went back)
        spent = Decimal(entry.amount)
        out["points_redeemed" if is_points else "credit_spent"] = int(spent) if is_points else spent
    elif kind == "expire":
        out["points_expired" if is_points else "credit_expired"] = -points if is_points else -credit
    elif kind == "reverse":
        if points < 0 or credit < 0:  # an earning taken back (credit_issued is kept net of these)
            out["points_reversed" if is_points else "credit_issued"] = -points if is_points else credit
        else:  # spending given back
            out["points_redeemed" if is_points else "credit_spent"] = -points if is_points else -credit
    return out


def local_day(when: datetime, tz: str) -> date:
    """The day `when` falls on in the time zone `tz` (a shop's)."""
    return when.astimezone(ZoneInfo(tz)).date()


def local_midnight(day: date, tz: str, plus_days: int = 0) -> datetime:
    """The start of `day` (+ `plus_days`) in the time zone `tz`, as an aware UTC time."""
    return datetime.combine(day + timedelta(days=plus_days), time(0), tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


class Analytics:
    def __init__(self, db: Database, programs, funnel=None, clock=None) -> None:
        self.db, self.programs, self.funnel, self.clock = db, programs, funnel, clock

    def timezone(self, shop_id: int) -> str:
        """The shop's time zone (its program's), in which every analytics day is counted."""
        try:
            return self.programs.for_reading(shop_id).program.timezone
        except Exception:  # noqa: BLE001 - a shop gone since its entries were written: UTC
            return "UTC"

    def today(self, shop_id: int, now: datetime) -> date:
        """Today in the shop's time zone."""
        return local_day(now, self.timezone(shop_id))

    def refresh(self, batch: int = 50_000) -> int:
        """Fold every entry not folded yet into the daily rollups; returns how many. Each round is
        one transaction under a row lock on the fold's progress row, so two workers never fold
        the same entries; its entries are streamed and added `batch` at a time (bounded memory).
        PostgreSQL: one round takes every entry committed since the last round's snapshot, in
        whatever order their ids committed (`FoldRound`); SQLite: rounds of `batch` entries by id.
        Each shop's zone is read under that lock, from the database (not a process's cache): a
        time-zone change's rebuild (`rebuild`) takes the same lock to split the ledger at what the
        fold has folded, so every entry after it is folded on the new zone's days."""
        folded = 0
        while True:
            with self.db.uow() as uow:  # every shop's entries: the fold is cross-tenant by nature
                rollups = uow.rollups
                fold_round = rollups.fold_round(rollups.lock_watermark(), batch)
                for rows in fold_round.chunks():
                    zones = rollups.zones(r.shop_id for r in rows)
                    self._fold_into(rollups, rows, zones)
                    folded += len(rows)
                if fold_round.mark != fold_round.start:
                    rollups.move_watermark(fold_round.mark)
                if fold_round.complete:
                    return folded

    @staticmethod
    def _fold_into(rollups, rows, zones: dict[int, str]) -> None:
        """Add these entries to their shops' days (each in the zone `zones` gives its shop)."""
        days: dict[tuple[int, date], dict] = defaultdict(lambda: dict.fromkeys(METRICS, 0))
        active: set[tuple[int, date, int]] = set()
        tz: dict[int, ZoneInfo] = {}
        for row in rows:
            zone = tz.get(row.shop_id)
            if zone is None:
                try:
                    zone = tz[row.shop_id] = ZoneInfo(zones.get(row.shop_id) or "UTC")
                except Exception:  # noqa: BLE001 - a zone this system does not know: UTC, as before
                    zone = tz[row.shop_id] = ZoneInfo("UTC")
            day = row.created_at.astimezone(zone).date()  # the shop's day
            bucket = days[(row.shop_id, day)]
            for k, v in fold(row).items():
                bucket[k] += v
            if row.kind in ACTIVE_KINDS:
                active.add((row.shop_id, day, row.member_id))
        for (shop_id, day), values in days.items():
            rollups.add_to_day(shop_id, day, values)
        rollups.mark_active(sorted(active))

    # -- a time-zone change: the shop's rollups again, on the new zone's days -----------------
    enqueue = None  # the job queue's enqueue (set by the runtime); None: rebuilds run inline

    def rebuild_later(self, shop_id: int) -> None:
        """After a committed time-zone change (`Programs` has marked the rebuild in the same
        transaction): the job, or the rebuild itself when there is no queue."""
        if self.enqueue is None:
            self.rebuild(shop_id)
        else:
            self.enqueue("rebuild_analytics", int(shop_id))

    def rebuild(self, shop_id: int, batch: int = 50_000, budget: float = 120.0) -> str:
        """The job: rebuild the shop's rollups on its zone's days, for up to `budget` seconds,
        then queue the rest (each step is one transaction: a worker that dies loses nothing,
        and `resume_rebuilds` takes it up). Safe to run twice at once: steps take turns."""
        import time

        deadline, steps = time.monotonic() + budget, 0
        while self.rebuild_step(shop_id, batch):
            steps += 1
            if time.monotonic() > deadline and self.enqueue is not None:
                self.enqueue("rebuild_analytics", int(shop_id))
                return f"{steps} steps; more queued"
        return f"rebuilt in {steps} steps"

    def rebuild_step(self, shop_id: int, batch: int = 50_000) -> bool:
        """One step of the shop's rebuild; False once there is nothing (more) to do.

        The first step, under the rebuild's row lock: the order rollup counted again from the
        orders on the new days, under the lock orders take to be counted (`lock_order_days`);
        then, under the fold's watermark lock, the shop's ledger rollups emptied and the ledger
        split at what the fold has folded (its mark W): those entries are the rebuild's, the
        others the fold's (which reads the new zone, committed before). On PostgreSQL W is an id
        bound and the fold's last snapshot, not an id alone: an entry whose id is below another's
        may commit after it. Each later step folds the next `batch` of the shop's entries in W,
        in id order, and moves the rebuild's own mark in the same transaction, so no entry is
        counted twice nor left out. A time-zone change meanwhile starts it over."""
        with self.db.uow() as uow:
            rollups = uow.rollups
            state = rollups.lock_rebuild(shop_id)
            if state is None:
                return False
            done, split = state
            zone = rollups.zones([shop_id]).get(shop_id, "UTC")
            if split is None:
                lock_order_days(uow.conn, shop_id, exclusive=True)
                rollups.rebuild_orders(shop_id, zone)
                rollups.start_rebuild(shop_id, rollups.lock_watermark())
                return True
            rows = rollups.shop_entries(shop_id, done, split, batch)
            if not rows:
                rollups.end_rebuild(shop_id)
                return False
            self._fold_into(rollups, rows, {shop_id: zone})
            rollups.move_rebuild(shop_id, rows[-1].id)
            return True

    def resume_rebuilds(self) -> int:
        """The periodic pass: queue again every rebuild asked for or under way (a lost job, a
        worker that died). A job still running does no harm: the two take turns."""
        with self.db.uow() as uow:
            shops = uow.rollups.rebuilding()
        for shop_id in shops:
            self.rebuild_later(shop_id)
        return len(shops)

    def recomputing(self, shop_id: int) -> bool:
        with self.db.reading() as conn:
            return DashboardRepo(conn, shop_id).recomputing()

    def dashboard(self, shop_id: int, currency: str, start: date, end: date, now: datetime | None = None) -> dict:
        program = self.programs.for_reading(shop_id).program
        tz = program.timezone
        since, before = local_midnight(start, tz), local_midnight(end, tz, 1)
        now = now or (self.clock.now() if self.clock else datetime.now(timezone.utc))
        cohort_from = _month_start(end, -11)
        with self.db.reading() as conn:  # read-only: autocommit, no BEGIN/COMMIT round trips
            stats = DashboardRepo(conn, shop_id)
            recomputing = stats.recomputing()  # the days are being counted again: no day-by-day figures
            daily = [] if recomputing else stats.daily(start, end)
            order_rows = [] if recomputing else stats.orders_daily(start, end)
            outstanding = stats.outstanding()
            enrolments = stats.enrolments(since, before, tz)
            active = stats.active_members(start, end)
            tiers = stats.members_per_tier()
            referral_credit = stats.referral_credit()  # all time, like the rest of the funnel
            groups = stats.order_groups(since, before)
            tier_rows = stats.tiers()
            profiles = stats.profiles()
            codes = stats.codes(since, before)
            cohort_rows = stats.cohort_members(local_midnight(cohort_from, tz), before)
            expiring = stats.expiring(now, now + timedelta(days=30))
        totals = {k: sum((getattr(r, k) for r in daily), Decimal(0) if "credit" in k else 0) for k in METRICS}
        point_value, _ = value_of_points(program)  # the finance reports' definition (domain.finance)
        cents = Decimal("0.01")
        liability = Money.of((Decimal(outstanding[0]) * point_value + Decimal(outstanding[1])).quantize(cents), currency)
        issued = totals["points_issued"] - totals["points_reversed"]
        seg = {k: dict.fromkeys(ORDER_METRICS, 0) for k in ("member", "guest")}
        by_day: dict[date, dict] = {}
        for r in order_rows:
            for k in ORDER_METRICS:
                seg[r.segment][k] += Decimal(getattr(r, k)) if "revenue" in k else getattr(r, k)
            by_day.setdefault(r.day, {f"{sg}_{k}": 0 for sg in ("member", "guest") for k in ("orders", "revenue")})
            by_day[r.day][f"{r.segment}_orders"] += r.orders
            by_day[r.day][f"{r.segment}_revenue"] += Decimal(r.revenue)
        enrolled = sum(enrolments.values())
        new_guests = seg["guest"]["new_customers"]
        cost = (Decimal(totals["points_redeemed"]) * point_value + Decimal(totals["credit_spent"])).quantize(cents)
        touched = Decimal(seg["member"]["revenue"]).quantize(cents)

        def money(x) -> dict:
            return Money.of(Decimal(x).quantize(cents), currency).to_json()

        def segment(name: str) -> dict:
            x = seg[name]
            return {"orders": x["orders"], "revenue": money(x["revenue"]),
                    "average_order_value": money(Decimal(x["revenue"]) / x["orders"]) if x["orders"] else None,
                    "repeat_purchase_rate": _rate(x["returning_orders"], x["orders"]),
                    "new_customers": x["new_customers"]}

        first_tier = program.tiers.levels[0].name if program.tiers.levels else ""
        extra = _issue21(groups, tier_rows, profiles, codes, cohort_rows, expiring, outstanding[2],
                         first_tier, tz, cohort_from, end, money)
        board = {
            "period": {"from": start.isoformat(), "to": end.isoformat(), "timezone": tz},
            "recomputing": recomputing,
            **extra,
            "members": {"total": outstanding[2], "enrolled_in_period": enrolled, "active_in_period": active,
                        "enrolment_rate": _rate(enrolled, enrolled + new_guests),
                        "per_tier": {str(k or program.tiers.levels[0].name): v for k, v in tiers.items()}},
            "points": {"issued": totals["points_issued"], "reversed": totals["points_reversed"],
                       "redeemed": totals["points_redeemed"], "expired": totals["points_expired"],
                       "imported": totals["points_imported"], "outstanding": int(outstanding[0]),
                       "redemption_rate": round(totals["points_redeemed"] / issued, 4) if issued > 0 else None},
            "credit": {"issued": str(totals["credit_issued"]), "spent": str(totals["credit_spent"]),
                       "expired": str(totals["credit_expired"]), "imported": str(totals["credit_imported"]),
                       "outstanding": str(Decimal(outstanding[1]))},
            "liability": {**liability.to_json(), "point_value": str(point_value)},
            "orders": {"members": segment("member"), "non_members": segment("guest"),
                       "with_redemptions": {"orders": seg["member"]["redemption_orders"] + seg["guest"]["redemption_orders"],
                                            "revenue": money(seg["member"]["redemption_revenue"]
                                                             + seg["guest"]["redemption_revenue"])}},
            "program": {"cost": money(cost), "revenue_touched": money(touched),
                        "revenue_per_cost": round(float(touched / cost), 2) if cost else None},
            "referrals": self.funnel(shop_id, referral_credit) if self.funnel else None,
            "daily": [{"day": r.day.isoformat(), **{k: (str(getattr(r, k)) if "credit" in k else getattr(r, k))
                                                    for k in METRICS}} for r in daily],
            "daily_orders": [{"day": d.isoformat(), **{k: str(v) if "revenue" in k else v for k, v in by_day[d].items()}}
                             for d in sorted(by_day)],
            "daily_enrolments": [{"day": str(d), "members": n} for d, n in sorted(enrolments.items(), key=lambda kv: str(kv[0]))],
        }
        board["points"].update(pending=sum(int(r.pending) for r in tier_rows), expiring_30_days=expiring)
        return board

    TABLES = ("daily", "orders", "enrolments", "tiers", "referrals", "summary", "segments", "cohorts")

    @staticmethod
    def csv(dashboard: dict, table: str) -> str:
        """Any table of the dashboard as CSV."""
        out = io.StringIO()
        if table == "daily":
            rows, fields = dashboard["daily"], ["day", *METRICS]
        elif table == "orders":
            rows = dashboard["daily_orders"]
            fields = ["day", "member_orders", "member_revenue", "guest_orders", "guest_revenue"]
        elif table == "enrolments":
            rows, fields = dashboard["daily_enrolments"], ["day", "members"]
        elif table == "tiers":
            rows = [{**r, "revenue": r["revenue"]["amount"]} for r in dashboard["tiers"]]
            fields = ["tier", "members", "points_outstanding", "points_pending", "orders", "revenue"]
        elif table == "segments":
            rows = [{"segment": k, **v, "revenue": v["revenue"]["amount"],
                     "average_order_value": (v["average_order_value"] or {}).get("amount")}
                    for k, v in dashboard["segments"].items()]
            fields = ["segment", "orders", "revenue", "average_order_value", "repeat_purchase_rate"]
        elif table == "cohorts":
            rows, fields = dashboard["cohorts"], ["month", "members", "buyers", "repeat_30", "repeat_60", "repeat_90"]
        elif table == "referrals":
            funnel = dashboard["referrals"] or {}
            rows = [{"step": k, "count": v} for k, v in funnel.items() if not isinstance(v, dict)]
            fields = ["step", "count"]
        elif table == "summary":
            rows = [{"figure": k, "value": v} for k, v in _flatten(
                {k: dashboard[k] for k in ("members", "points", "credit", "liability", "orders", "program",
                                           "segments", "customers", "codes", "rates")})]
            fields = ["figure", "value"]
        else:
            raise ValueError(table)
        writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()

    @classmethod
    def daily_csv(cls, dashboard: dict) -> str:
        return cls.csv(dashboard, "daily")


def _month_start(day: date, plus_months: int = 0) -> date:
    months = day.year * 12 + day.month - 1 + plus_months
    return date(months // 12, months % 12 + 1, 1)


def _issue21(groups, tier_rows, profiles, codes, cohort_rows, expiring, members_total, first_tier, tz,
             cohort_from, end, money) -> dict:
    """The figures of issue 21 from the small result sets the repository read."""
    seg = {k: {"orders": 0, "revenue": Decimal(0), "returning": 0, "earned": 0}
           for k in ("redeemers", "non_redeemers", "non_members")}
    per_tier: dict[str, dict] = {}
    for g in groups:
        name = "non_members" if not g.member else ("redeemers" if g.redeemer else "non_redeemers")
        for k in ("orders", "returning", "earned"):
            seg[name][k] += int(g._mapping["repeats" if k == "returning" else k] or 0)
        seg[name]["revenue"] += Decimal(g.revenue)
        if g.member:
            tier = per_tier.setdefault(g.tier or first_tier, {"orders": 0, "revenue": Decimal(0)})
            tier["orders"] += int(g.orders)
            tier["revenue"] += Decimal(g.revenue)
    orders = sum(x["orders"] for x in seg.values())
    segments = {k: {"orders": x["orders"], "revenue": money(x["revenue"]),
                    "average_order_value": money(x["revenue"] / x["orders"]) if x["orders"] else None,
                    "repeat_purchase_rate": _rate(x["returning"], x["orders"])} for k, x in seg.items()}
    tiers = []
    for r in tier_rows:
        name = r.tier or first_tier
        sales = per_tier.get(name, {"orders": 0, "revenue": Decimal(0)})
        tiers.append({"tier": name, "members": int(r.members), "points_outstanding": int(r.points),
                      "points_pending": int(r.pending), "orders": sales["orders"], "revenue": money(sales["revenue"])})
    buyers, profile_orders, lifetime = int(profiles[0]), int(profiles[1]), Decimal(profiles[2])
    used, lapsed, still_open = (codes.get("committed", 0) + codes.get("flagged", 0), codes.get("released", 0),
                                codes.get("issued", 0))
    issued = used + lapsed + still_open
    months: dict[date, list[int]] = {}
    month = cohort_from
    while month <= end:
        months[month] = [0, 0, 0, 0, 0]
        month = _month_start(month, 1)
    zone = ZoneInfo(tz)
    for joined, first, second in cohort_rows:
        row = months.get(_month_start(joined.astimezone(zone).date()))
        if row is None:
            continue
        row[0] += 1
        if first is not None:
            row[1] += 1
            if second is not None:
                gap = second - first
                for i, days in enumerate((30, 60, 90)):
                    row[2 + i] += gap <= timedelta(days=days)
    cohorts = [{"month": m.strftime("%Y-%m"), "members": r[0], "buyers": r[1], "repeat_30": _rate(r[2], r[1]),
                "repeat_60": _rate(r[3], r[1]), "repeat_90": _rate(r[4], r[1])} for m, r in months.items()]
    return {
        "segments": segments,
        "tiers": tiers,
        "customers": {"lifetime_value": money(lifetime / members_total) if members_total else None,
                      "purchase_frequency": round(profile_orders / buyers, 4) if buyers else None,
                      "members_who_ordered": buyers},
        "codes": {"issued": issued, "used": used, "lapsed": lapsed, "open": still_open, "usage_rate": _rate(used, issued)},
        "rates": {"order_earning_rate": _rate(sum(x["earned"] for x in seg.values()), orders),
                  "membership_rate": _rate(orders - seg["non_members"]["orders"], orders)},
        "cohorts": cohorts,
    }


def _rate(part, whole) -> float | None:
    return round(part / whole, 4) if whole else None


def _flatten(data: dict, prefix: str = ""):
    for k, v in data.items():
        if isinstance(v, dict) and set(v) != {"amount", "currency"}:
            yield from _flatten(v, f"{prefix}{k}.")
        elif isinstance(v, dict):
            yield f"{prefix}{k}", f"{v['amount']} {v['currency']}"
        else:
            yield f"{prefix}{k}", v

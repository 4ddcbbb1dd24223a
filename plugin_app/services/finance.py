"""Finance figures for the merchant's accountant, straight from the ledger (never from rollups, so
that a figure at a past instant is exact): liability at any instant, its ageing by lot, expected
breakage, a forecast of expiring value, and the journal of a period's movements (JSON and CSV).

Definitions (stated in every answer as `basis`): see `domain.finance`. Days are the shop's days
in its time zone: `at=YYYY-MM-DD` is the end of that day; a period `from`..`to` runs from the
start of its first day to the end of its last. Money is points at their redemption value (the
program in force now) plus store credit, in the shop's currency.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from ..domain import finance as fin
from ..domain.errors import InvalidRequest
from ..domain.money import quantum
from ..storage.db import Database
from ..storage.finance_repo import ASSETS, FinanceRepo
from .analytics import parse_period
from .csv_out import csv_text, safe_cell

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
AGE_LABELS = ("0-30", "31-90", "91-180", "181-365", "over-365")
EXPIRY_LABELS = {"never": "never", "due": "due", "later": "later",
                 **{str(i): f"within-{n}" for i, n in enumerate(fin.FORECAST_DAYS)}}
EXPIRY_ORDER = ("due", *(f"within-{n}" for n in fin.FORECAST_DAYS), "later", "never")
JOURNAL_FIELDS = ("from", "to", "asset", "unit", "movement", "debit_account", "credit_account",
                  "quantity", "amount", "currency", "entries")


def _units(asset: str, value: Decimal):
    return int(value) if asset == "points" else value


def _text(asset: str, value, currency: str) -> str | int:
    """Points as a whole number; store credit as a decimal string in the currency's decimals."""
    return int(value) if asset == "points" else format(Decimal(value).quantize(quantum(currency)), "f")


class Finance:
    def __init__(self, db: Database, programs, clock) -> None:
        self.db, self.programs, self.clock = db, programs, clock

    # -- input ------------------------------------------------------------------------------
    def parse_at(self, text: str | None, tz_name: str | None) -> datetime:
        """`at`: omitted (now), a day YYYY-MM-DD (the end of that shop day) or an ISO 8601 instant
        with its offset. Never in the future (the future is not recorded yet)."""
        now = self.clock.now()
        if not text:
            return now
        try:
            if _DAY.fullmatch(text):
                at = fin.day_end(date.fromisoformat(text), tz_name)
            else:
                at = datetime.fromisoformat(text.replace("Z", "+00:00"))
                if at.tzinfo is None:
                    raise InvalidRequest("at needs its UTC offset (or give a day, YYYY-MM-DD)", field="at")
                at = at.astimezone(timezone.utc)
        except (ValueError, OverflowError):
            raise InvalidRequest("at must be a day YYYY-MM-DD or an ISO 8601 instant with offset",
                                 field="at") from None
        if at.year < 1971:
            raise InvalidRequest("at must be after 1970", field="at")
        return min(at, now)

    def _value(self, shop_id: int) -> tuple[Decimal, str]:
        return fin.point_value(self.programs.for_reading(shop_id).program)

    def _basis(self, shop_id: int, currency: str) -> dict:
        value, why = self._value(shop_id)
        return {"point_value": format(value, "f"), "point_value_basis": why, "currency": currency,
                "liability": "points at their redemption value plus store credit; available + pending + "
                             "held (reserved by an open redemption), less debts (balances below zero)"}

    def _money(self, points: Decimal, credit: Decimal, value: Decimal, currency: str) -> str:
        return format((points * value + credit).quantize(quantum(currency)), "f")

    # -- liability ----------------------------------------------------------------------------
    def liability(self, shop_id: int, currency: str, at: datetime) -> dict:
        with self.db.reading() as conn:
            buckets = FinanceRepo(conn, shop_id).buckets_at(at)
        return self._liability(shop_id, currency, at, buckets)

    def _liability(self, shop_id: int, currency: str, at: datetime, buckets: dict) -> dict:
        value, _ = self._value(shop_id)
        total = {a: sum(buckets[a].values(), Decimal(0)) for a in ASSETS}
        return {"at": at.isoformat(), **self._basis(shop_id, currency),
                "points": {k: int(v) for k, v in buckets["points"].items()} | {"total": int(total["points"])},
                "credit": {k: _text("credit", v, currency) for k, v in buckets["credit"].items()}
                | {"total": _text("credit", total["credit"], currency)},
                "points_value": self._money(total["points"], Decimal(0), value, currency),
                "amount": self._money(total["points"], total["credit"], value, currency)}

    # -- ageing -------------------------------------------------------------------------------
    def ageing(self, shop_id: int, currency: str, at: datetime) -> dict:
        with self.db.reading() as conn:
            repo = FinanceRepo(conn, shop_id)
            buckets = repo.buckets_at(at)
            debts = repo.debts_at(at)
            rows = repo.lots_at(at, fin.AGE_BUCKETS, fin.FORECAST_DAYS)
        value, _ = self._value(shop_id)
        out = {}
        for asset in ASSETS:
            by_age = {label: Decimal(0) for label in AGE_LABELS}
            by_expiry = {label: Decimal(0) for label in EXPIRY_ORDER}
            pending, lots_count = Decimal(0), 0
            for r_asset, is_pending, age, expiry, amount, n in rows:
                if r_asset != asset:
                    continue
                amount = Decimal(str(amount))
                by_age[AGE_LABELS[int(age)]] += amount
                by_expiry[EXPIRY_LABELS[str(expiry)]] += amount
                lots_count += n
                if int(is_pending):
                    pending += amount
            in_lots = sum(by_age.values(), Decimal(0))
            held, debt = buckets[asset]["held"], debts[asset]
            total = in_lots + held + debt
            liability = sum(buckets[asset].values(), Decimal(0))

            def show(x, asset=asset):
                return _text(asset, x, currency)

            out[asset] = {"lots": lots_count, "in_lots": show(in_lots), "of_which_pending": show(pending),
                          "by_age_days": {k: show(v) for k, v in by_age.items()},
                          "by_expiry": {k: show(v) for k, v in by_expiry.items()},
                          "held": show(held), "debts": show(debt), "total": show(total),
                          "liability": show(liability), "balanced": total == liability}
        return {"at": at.isoformat(), **self._basis(shop_id, currency), **out,
                "age_buckets": list(AGE_LABELS), "expiry_buckets": list(out["points"]["by_expiry"]),
                "amount": self._money(Decimal(out["points"]["total"]), Decimal(out["credit"]["total"]),
                                      value, currency),
                "explained": "lots by age (days since earned) and by when they expire (due: past their date, "
                             "lapsing at the next expiry run); held and debts are in no lot; "
                             "lots + held + debts = liability"}

    # -- breakage and the forecast ------------------------------------------------------------
    def breakage(self, shop_id: int, currency: str) -> dict:
        now = self.clock.now()
        with self.db.reading() as conn:
            repo = FinanceRepo(conn, shop_id)
            closed = repo.closed_lots(now)
            exposed = repo.expiring_value(now)
        value, _ = self._value(shop_id)
        out = {}
        for asset in ASSETS:
            n, expired, back, net = closed.get(asset, (0, Decimal(0), Decimal(0), Decimal(0)))
            b = fin.breakage_rate(n, expired, net - expired - back)
            expected = (exposed[asset] * b.rate) if b.rate is not None else None
            if expected is not None and asset == "points":
                expected = expected.quantize(Decimal(1))
            out[asset] = {
                "rate": format(b.rate, "f") if b.rate is not None else None,
                "closed_lots": n, "expired": _text(asset, expired, currency), "used": _text(asset, b.used, currency),
                "outstanding_with_expiry": _text(asset, exposed[asset], currency),
                "expected": _text(asset, expected, currency) if expected is not None else None,
                "expected_amount": (self._money(expected, Decimal(0), value, currency) if asset == "points"
                                    else self._money(Decimal(0), expected, value, currency))
                if expected is not None else None,
                "note": None if b.rate is not None else
                f"too little history: {n} lots have closed past their expiry date, "
                f"at least {fin.MIN_CLOSED_LOTS} are needed for a rate"}
        return {"at": now.isoformat(), **self._basis(shop_id, currency), **out,
                "basis": "over lots whose expiry date has passed: the share of their value that expired "
                         "rather than being spent (value taken back by refunds is left out); the expected "
                         "breakage applies that share to the value now held in lots that can expire"}

    def forecast(self, shop_id: int, currency: str, tz_name: str | None) -> dict:
        now = self.clock.now()
        today = fin.shop_day(now, tz_name)
        limits = [fin.day_end(today + timedelta(days=n), tz_name) for n in fin.FORECAST_DAYS]
        with self.db.reading() as conn:
            rows = FinanceRepo(conn, shop_id).expiring_by(now, limits)
        value, _ = self._value(shop_id)
        horizons = []
        for i, n in enumerate(fin.FORECAST_DAYS):
            points = rows["points"][0] + rows["points"][i + 1]  # due now plus what lapses by day n
            credit = rows["credit"][0] + rows["credit"][i + 1]
            horizons.append({"days": n, "until": (today + timedelta(days=n)).isoformat(),
                             "points": int(points), "credit": _text("credit", credit, currency),
                             "amount": self._money(points, credit, value, currency)})
        return {"at": now.isoformat(), "today": today.isoformat(), **self._basis(shop_id, currency),
                "due_now": {"points": int(rows["points"][0]), "credit": _text("credit", rows["credit"][0], currency)},
                "horizons": horizons,
                "explained": "value held now in lots whose expiry date falls by the end of the shop's day "
                             "N days from today (cumulative, including lots already due), unless spent first"}

    # -- the journal --------------------------------------------------------------------------
    def journal(self, shop_id: int, currency: str, tz_name: str | None, start: str | None,
                end: str | None) -> dict:
        today = fin.shop_day(self.clock.now(), tz_name)
        first, last = parse_period(start, end, today)
        since, until = fin.day_start(first, tz_name), fin.day_end(last, tz_name)
        with self.db.reading() as conn:
            repo = FinanceRepo(conn, shop_id)
            rows = repo.movements(since, until)
            opening, closing = repo.buckets_at_both(since - timedelta(microseconds=1), until)  # one pass
        value, _ = self._value(shop_id)
        q = quantum(currency)
        grouped: dict[tuple[str, str, str], list] = {}
        for asset, kind, source, direction, delta, n in rows:
            name = fin.movement(kind, source)
            if name is None or direction == "0":
                continue
            acc = grouped.setdefault((asset, name, direction), [Decimal(0), 0])
            acc[0] += Decimal(str(delta))
            acc[1] += n
        lines, check = [], {}
        order = {m: i for i, m in enumerate(fin.MOVEMENTS)}
        for (asset, name, direction), (delta, n) in sorted(grouped.items(),
                                                           key=lambda kv: (kv[0][0] != "points", order[kv[0][1]], kv[0][2])):
            debit, credit = fin.ACCOUNTS[(name, direction)]
            quantity = abs(delta)
            money = (quantity * (value if asset == "points" else 1)).quantize(q)
            lines.append({"from": first.isoformat(), "to": last.isoformat(), "asset": asset,
                          "unit": "points" if asset == "points" else currency, "movement": name,
                          "direction": direction, "debit_account": debit, "credit_account": credit,
                          "quantity": _text(asset, quantity, currency), "amount": format(money, "f"),
                          "currency": currency, "entries": n})
        for asset in ASSETS:
            moved = sum((d for (a, _, _), (d, _) in grouped.items() if a == asset), Decimal(0))
            before = sum(opening[asset].values(), Decimal(0))
            after = sum(closing[asset].values(), Decimal(0))
            check[asset] = {"opening": _text(asset, before, currency), "movements": _text(asset, moved, currency),
                            "closing": _text(asset, after, currency), "balanced": before + moved == after}
        return {"period": {"from": first.isoformat(), "to": last.isoformat(),
                           "since": since.isoformat(), "until": until.isoformat()},
                **self._basis(shop_id, currency), "lines": lines, "check": check,
                "explained": "each line is one movement of the period per asset, booked debit / credit; "
                             "opening liability + movements = closing liability, per asset"}

    @staticmethod
    def journal_csv(journal: dict) -> str:
        rows = [list(JOURNAL_FIELDS)]
        rows += [[safe_cell(line[k]) for k in JOURNAL_FIELDS] for line in journal["lines"]]
        return csv_text(rows)

"""The program simulator: a draft program (a saved version, or an edited document) priced over the
shop's real past orders of a period, side by side with the live program over the same history.
The big brother of `change_preview` (a few sample orders): every past order, the same
calculators as the live path (`domain.simulation` calls `earning.calculate`, `taken_back`,
`tiers.decide`), in memory, never a write to the ledger.

- The live side prices each order under the program version it earned under (recorded on the
  order), so that over the shop's own history it gives the ledger's order totals back exactly;
  the draft side prices every order under the draft.
- Orders are streamed in id order in slices (bounded reads); orders placed before the period
  only move tiers (a member's tier at the period's start is where their history put it).
- Redemption assumption: the shop's own share over the period, what its members spent of what
  they earned, per asset, from the ledger; said in the result.
- A run is a background job (`jobs.tasks.simulate_run`) that writes its progress after each
  slice; its state is in memory, so a run that fails is run again from the start (`rerun`).
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Callable
from zoneinfo import ZoneInfo

from ..domain.earning import Share
from ..domain.errors import InvalidRequest, InvalidState, NotFound
from ..domain.ports import Clock, SystemClock
from ..domain.simulation import PastOrder, Replay, figures
from ..storage.db import Database
from ..storage.simulations_repo import SimulationsRepo
from .program import Programs, dump, parse

log = logging.getLogger(__name__)
TASK = "simulate_run"
ZERO = Fraction(0)
MAX_DAYS = 3 * 366 + 1
NUMBERS = ("orders", "members", "points_issued", "points_taken_back", "points_kept", "points_redeemed",
           "points_expired", "points_liability", "credit_issued", "credit_taken_back", "credit_kept",
           "credit_redeemed", "credit_expired", "credit_liability", "cost")
LIMITS = ("Orders are priced on the parts of their base as they earned (lines, shipping, tips): "
          "tax stays as it was counted and lines the live program left out stay out; rules on "
          "product collections or tags do not match past orders (rules on product ids do); "
          "refunds count from the order's date; tiers move on orders only.")


def _past(row, counted: bool) -> PastOrder:
    # what each share earned live is not read: the replay prices it again
    shares = tuple(Share(r["key"], Decimal(r["base"]), int(r["quantity"]), ZERO, ZERO) for r in row.shares or [])
    products = {str(p[0]): str(p[1]) for p in (row.products or []) if p[1] is not None}
    fractions = {k: Fraction(v) for k, v in ((row.refunds or {}).get("fractions") or {}).items()}
    return PastOrder(row.platform_order_id, row.member_id, row.placed_at, row.currency, shares, products,
                     fractions, counted)


def _num(value) -> Decimal:
    return Decimal(str(value))


def _difference(live: dict, draft: dict) -> dict:
    out = {}
    for k in NUMBERS:
        d = _num(draft[k]) - _num(live[k])
        out[k] = int(d) if isinstance(live[k], int) else str(d)
    return out


def view(row) -> dict:
    """The merchant's view of a run."""
    total, done = int(row.orders_total), int(row.orders_done)
    return {"id": row.id, "state": row.state, "draft_version": row.draft_version,
            "since": row.starts_at.isoformat(), "until": row.ends_at.isoformat(),
            "orders_total": total, "orders_done": done,
            "progress": round(done / total, 4) if total else (1.0 if row.state == "done" else 0.0),
            "result": row.result, "error": row.error, "created_at": row.created_at.isoformat(),
            "finished_at": row.finished_at.isoformat() if row.finished_at else None}


class Simulations:
    def __init__(self, db: Database, programs: Programs, enqueue: Callable, clock: Clock | None = None, *,
                 slice_orders: int = 2000, progress_every: int = 20000,
                 stale_after: timedelta = timedelta(minutes=15)) -> None:
        self.db, self.programs, self.enqueue = db, programs, enqueue
        self.clock = clock or SystemClock()
        self.slice_orders, self.progress_every, self.stale_after = slice_orders, progress_every, stale_after

    # -- the merchant's side -----------------------------------------------------------------
    def start(self, shop_id: int, *, since: date, until: date, program: object = None,
              version: int | None = None) -> dict:
        """Queue a run of the draft (`program`, a document, or `version`, a saved one) over the
        orders placed from `since` to `until` (days in the shop's time zone, `until` included)."""
        if (program is None) == (version is None):
            raise InvalidRequest("give either program (a program document) or version (a saved version)",
                                 field="program")
        if until < since:
            raise InvalidRequest("until must not be before since", field="until")
        if (until - since).days + 1 > MAX_DAYS:
            raise InvalidRequest(f"the period is at most {MAX_DAYS} days", field="until")
        live = self.programs.current(shop_id).program
        tz = ZoneInfo(live.timezone)
        if since > self.clock.now().astimezone(tz).date():
            raise InvalidRequest("since must not be in the future", field="since")
        if version is not None:
            draft = self.programs.version(shop_id, version).program  # NotFound for a version it has not
        else:
            draft = parse(program)  # the same validation as saving: ProgramInvalid names the fields
        starts = datetime.combine(since, time(0), tz).astimezone(timezone.utc)
        ends = datetime.combine(until + timedelta(days=1), time(0), tz).astimezone(timezone.utc)
        with self.db.uow(shop_id) as uow:
            run_id = uow.simulations.create(dump(draft), version, starts, ends, self.clock.now())
        self.enqueue(TASK, shop_id, run_id)
        return self.status(shop_id, run_id)

    def _row(self, shop_id: int, run_id: int):
        with self.db.uow(shop_id, savepoint=False) as uow:
            row = uow.simulations.get(run_id)
        if row is None:
            raise NotFound("no such simulation")
        return row

    def status(self, shop_id: int, run_id: int) -> dict:
        return view(self._row(shop_id, run_id))

    def recent(self, shop_id: int, limit: int = 20) -> list[dict]:
        """The shop's latest runs, newest first, each with the draft it tried (`program`)."""
        with self.db.uow(shop_id, savepoint=False) as uow:
            rows = uow.simulations.recent(limit)
        return [{**view(r), "program": r.program} for r in rows]

    def draft(self, shop_id: int, run_id: int) -> dict:
        """The program document a run tried."""
        return self._row(shop_id, run_id).program

    def rerun(self, shop_id: int, run_id: int) -> dict:
        """Run a failed (or stalled) run again from the start."""
        row = self._row(shop_id, run_id)
        if row.state == "done":
            raise InvalidState("this simulation is done; start a new one to run it again")
        with self.db.uow(shop_id) as uow:
            uow.simulations.save(run_id, self.clock.now(), state="queued", error=None, orders_done=0)
        self.enqueue(TASK, shop_id, run_id)
        return self.status(shop_id, run_id)

    def resume_stale(self) -> int:
        """The periodic pass: enqueue again every queued or running simulation nobody has moved
        for `stale_after` (a killed worker, a job lost with Redis); it runs from the start."""
        with self.db.uow() as uow:
            stale = uow.simulations_due.stale(self.clock.now() - self.stale_after)
        for shop_id, run_id in stale:
            self.enqueue(TASK, shop_id, run_id)
        return len(stale)

    def members(self, shop_id: int, run_id: int, *, after: int = 0, limit: int = 100) -> dict:
        """The members whose result differs, a page at a time (by member id after `after`)."""
        if not 1 <= limit <= 500:
            raise InvalidRequest("limit is 1 to 500", field="limit")
        row = self._row(shop_id, run_id)
        if row.state != "done":
            raise InvalidState(f"the simulation is {row.state}: differences come when it is done")
        with self.db.uow(shop_id, savepoint=False) as uow:
            rows = uow.simulations.members(run_id, after, limit)
        items = [{"member_id": r.member_id, "customer_id": r.platform_customer_id,
                  "live_points": int(r.live_points), "draft_points": int(r.draft_points),
                  "points_difference": int(r.draft_points) - int(r.live_points),
                  "live_credit": str(r.live_credit), "draft_credit": str(r.draft_credit),
                  "credit_difference": str(Decimal(r.draft_credit) - Decimal(r.live_credit)),
                  "live_tier": r.live_tier, "draft_tier": r.draft_tier} for r in rows]
        return {"items": items, "next_after": items[-1]["member_id"] if len(items) == limit else None}

    def compare(self, shop_id: int, a: int, b: int) -> dict:
        """Two finished runs' drafts side by side, and b's figures less a's."""
        ra, rb = self._row(shop_id, a), self._row(shop_id, b)
        for r in (ra, rb):
            if r.state != "done":
                raise InvalidState(f"simulation {r.id} is {r.state}: only finished runs compare")
        da, db_ = ra.result["draft"], rb.result["draft"]
        return {"a": view(ra), "b": view(rb), "difference": _difference(da, db_),
                "same_period": (ra.starts_at, ra.ends_at) == (rb.starts_at, rb.ends_at)}

    # -- the job --------------------------------------------------------------------------
    def run(self, shop_id: int, run_id: int) -> str:
        row = self._row(shop_id, run_id)
        if row.state not in ("queued", "running"):
            return row.state
        try:
            return self._run(shop_id, row)
        except Exception as exc:  # a visible failure, not a lost job: the merchant may rerun it
            log.exception("simulation %s of shop %s failed", run_id, shop_id)
            with self.db.uow(shop_id) as uow:
                uow.simulations.save(run_id, self.clock.now(), state="failed", error=str(exc)[:500])
            return "failed"

    def _run(self, shop_id: int, row) -> str:
        run_id, since, until = row.id, row.starts_at, row.ends_at
        live_pv = self.programs.current(shop_id)
        draft = parse(row.program)
        versions = {live_pv.version: live_pv.program}
        tiers_move = live_pv.program.tiers.enabled or draft.tiers.enabled
        first = None if tiers_move else since  # earlier orders put members in their tiers
        with self.db.uow(shop_id) as uow:
            total = uow.simulations.count_orders(first, until)
            uow.simulations.clear_members(run_id)
            uow.simulations.save(run_id, self.clock.now(), state="running", orders_total=total, orders_done=0,
                                 result=None, error=None)
            currency = uow.shops.by_id(shop_id).currency
            history = uow.simulations.redemption_history(since, until)
        live, proposed = Replay(live_pv.program, until), Replay(draft, until)
        after, done, without_points, reported = 0, 0, 0, 0
        while True:
            with self.db.reading() as conn:
                rows = SimulationsRepo(conn, shop_id).past_orders(first, until, after, self.slice_orders)
            if not rows:
                break
            for r in rows:
                counted = r.placed_at >= since
                past = _past(r, counted)
                v = r.program_version
                program = versions.get(v) if v is not None else live_pv.program
                if program is None:
                    try:
                        program = self.programs.version(shop_id, v).program
                    except NotFound:  # a version no longer kept: the live program stands in
                        program = live_pv.program
                    versions[v] = program
                live.add(past, program)
                proposed.add(past)
                without_points += counted and bool(r.history_only)
            after, done = rows[-1].id, done + len(rows)
            if done - reported >= self.progress_every:
                reported = done
                with self.db.uow(shop_id) as uow:
                    uow.simulations.save(run_id, self.clock.now(), orders_done=done)
        rates = {}
        for asset in ("points", "credit"):
            earned, spent = history.get(asset, (Decimal(0), Decimal(0)))
            rates[asset] = min(Fraction(1), Fraction(spent) / Fraction(earned)) if earned > 0 else Fraction(0)
        a = figures(live, rates["points"], rates["credit"], currency)
        b = figures(proposed, rates["points"], rates["credit"], currency)
        moves: dict[tuple, int] = {}
        diffs = []
        for member_id in sorted(set(live.members) | set(proposed.members)):
            x, y = live.members.get(member_id), proposed.members.get(member_id)
            if not ((x and x.orders) or (y and y.orders)):
                continue
            lt, dt = (x.tier if x else None), (y.tier if y else None)
            if lt != dt:
                moves[(lt, dt)] = moves.get((lt, dt), 0) + 1
            lp, dp = (x.points if x else 0), (y.points if y else 0)
            lc, dc = (x.credit if x else Decimal(0)), (y.credit if y else Decimal(0))
            if (lp, lc, lt) != (dp, dc, dt):
                diffs.append({"member_id": member_id, "live_points": lp, "draft_points": dp, "live_credit": lc,
                              "draft_credit": dc, "live_tier": lt, "draft_tier": dt})
        pct = {k: str((Decimal(v.numerator) / Decimal(v.denominator) * 100).quantize(Decimal("0.01")))
               for k, v in rates.items()}
        result = {
            "currency": currency, "live_version": live_pv.version, "live": a, "draft": b,
            "difference": _difference(a, b),
            "tier_moves": [{"from": f, "to": t, "members": n} for (f, t), n in
                           sorted(moves.items(), key=lambda kv: (-kv[1], str(kv[0])))],
            "members_differing": len(diffs),
            "orders_recorded_without_points": without_points,
            "redemption": {"points_rate_percent": pct["points"], "credit_rate_percent": pct["credit"],
                           "text": (f"Assumed redeemed: {pct['points']}% of points and {pct['credit']}% of "
                                    f"credit kept, the shop's own share over the period (spent / earned in "
                                    f"its ledger); the rest of a lot due by the end expires.")},
            "limits": LIMITS,
        }
        with self.db.uow(shop_id) as uow:
            uow.simulations.clear_members(run_id)  # a second worker on the same run (resumed) wrote first
            for i in range(0, len(diffs), 1000):
                uow.simulations.add_members(run_id, diffs[i:i + 1000])
            now = self.clock.now()
            uow.simulations.save(run_id, now, state="done", orders_done=done, result=result, finished_at=now)
        return "done"

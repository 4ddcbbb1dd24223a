"""The program simulator: a draft program (a saved version, or an edited document) priced over the
shop's real past orders and actions of a period, side by side with the live program over the
same history; its referral program and fraud rules replayed over the shop's past referrals in
observe mode (a report: nothing acts).
The big brother of `change_preview` (a few sample orders): every past order, the same
calculators as the live path (`domain.simulation` calls `earning.calculate`, `taken_back`,
`tiers.decide`), in memory, never a write to the ledger.

- The live side prices each order under the program version it earned under (recorded on the
  order), so that over the shop's own history it gives the ledger's order totals back exactly;
  the draft side prices every order under the draft.
- Orders are streamed in id order in slices (bounded reads); orders placed before the period
  only move tiers (a member's tier at the period's start is where their history put it).
- Actions the live path rewarded (the ledger's `action:<kind>:<event>` earnings) are streamed
  alongside in time order: live, each at what it was credited; draft, at the draft's rule within
  its caps (`ActionPricer`, the caps the live `ActionService.award` checks). Referral rewards
  and extra cashback likewise (`replay_referrals`). They count in every figure (issued, kept,
  expiry, liability, members' differences) and toward tiers on points earned, as live.
- Redemption assumption: the shop's own share over the period, what its members spent of what
  they earned, per asset, from the ledger; said in the result.
- A run is a background job (`jobs.tasks.simulate_run`) that writes its progress after each
  slice; its state is in memory, so a run that fails is run again from the start (`rerun`).
"""
from __future__ import annotations

import heapq
import logging
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Callable
from zoneinfo import ZoneInfo

from ..domain.earning import Share, refund_fractions
from ..domain.errors import InvalidRequest, InvalidState, NotFound
from ..domain.ports import Clock, SystemClock
from ..domain import referrals as R
from ..domain.money import quantum
from ..domain.program import FRAUD_RULES
from ..domain.simulation import ActionPricer, PastOrder, Replay, figures
from ..domain.tiers import add_months
from ..storage.db import Database
from ..storage.simulations_repo import SimulationsRepo
from .program import Programs, dump, parse
from .orders import stored_refund
from .tiers import refunded_share

log = logging.getLogger(__name__)
TASK = "simulate_run"
ZERO = Fraction(0)
MAX_DAYS = 3 * 366 + 1
NUMBERS = ("orders", "members", "points_issued", "points_taken_back", "points_kept", "points_redeemed",
           "points_expired", "points_liability", "credit_issued", "credit_taken_back", "credit_kept",
           "credit_redeemed", "credit_expired", "credit_liability", "cost", "points_from_actions",
           "points_from_referrals", "credit_from_referrals")
LIMITS = ("Orders are priced on the parts of their base as they earned (lines, shipping, tips): "
          "tax stays as it was counted and lines the live program left out stay out; rules on "
          "product collections or tags do not match past orders (rules on product ids do); "
          "a refund counts from its order's date, unless the ledger took it back after the period's "
          "end (then it does not count), and a refund in the period of an order placed before it is "
          "not counted; a refund that took nothing back live (or of an order recorded without "
          "points) counts from its order's date. Actions are the ones the live program rewarded "
          "(sign-up, birthday, review, newsletter, social, custom events), priced again under the "
          "draft's rule and caps: an action the live program refused or did not reward is not known "
          "(tier entry rewards follow each side's tier moves). Referrals are judged again on the fraud rules "
          "that fired when they were judged (and the friend's order's refunds): a rule that was off "
          "then is not known, and counts (IP address, daily) are as they fired under the limits of "
          "the time; a hold the shop decided stays decided; the draft's extra cashback is paid on "
          "the friend's orders that paid it live.")


def _refund_keys(row) -> list[str]:
    refunds = row.refunds or {}
    return [f"order:{row.platform_order_id}:refund:{rid}:{asset}" for rid in (refunds.get("applied") or {})
            for asset in ("points", "credit")]


def refund_dated(row, dates: dict[str, datetime]) -> dict[str, datetime]:
    """Each refund of the order that the ledger took value back for, and when (its first take-back)."""
    out = {}
    for rid in ((row.refunds or {}).get("applied") or {}):
        when = [dates[k] for k in (f"order:{row.platform_order_id}:refund:{rid}:{a}" for a in ("points", "credit"))
                if k in dates]
        if when:
            out[rid] = min(when)
    return out


def _past(row, counted: bool, until: datetime | None = None, dates: dict[str, datetime] | None = None) -> PastOrder:
    # what each share earned live is not read: the replay prices it again
    shares = tuple(Share(r["key"], Decimal(r["base"]), int(r["quantity"]), ZERO, ZERO) for r in row.shares or [])
    products = {str(p[0]): str(p[1]) for p in (row.products or []) if p[1] is not None}
    refunds = row.refunds or {}
    fractions = {k: Fraction(v) for k, v in (refunds.get("fractions") or {}).items()}
    dated = refund_dated(row, dates or {})
    if until is not None and any(at >= until for at in dated.values()):
        # a refund the ledger took back after the period's end does not count in it: the refunds
        # before, in their order, as the live path applies them (`earning.refund_fractions`)
        applied = refunds.get("applied") or {}
        fractions = {}
        for rid in refunds.get("order", list(applied)):
            if rid in applied and not (rid in dated and dated[rid] >= until):
                fractions = refund_fractions(shares, Decimal(row.base or 0), stored_refund(rid, applied[rid]), fractions)
    return PastOrder(row.platform_order_id, row.member_id, row.placed_at, row.currency, shares, products,
                     fractions, counted)


def offer(program) -> dict:
    """The friend's welcome code a program gives, as the merchant reads it."""
    f = program.referrals.friend
    return {"enabled": program.referrals.enabled, "type": f.type,
            "amount": str(f.amount) if f.type == "fixed_amount" else None,
            "percent": str(f.percent) if f.percent is not None else None}


def _given() -> dict:
    return {"rewarded": 0, "points": 0, "credit": Decimal(0), "codes": 0, "codes_amount": Decimal(0),
            "cashback": Decimal(0)}


def replay_referrals(referrals, postings, program_of, draft, since: datetime, until: datetime,
                     now: datetime, currency: str) -> tuple[dict, list, list]:
    """The shop's past referrals under the draft's referral program, in observe mode: nothing acts.

    Live: what the ledger credited referrers (rewards and extra cashback), as posted. Draft: each
    referral judged on the friend's order is judged again with `referrals.rejudge` on the rules
    known to have fired (the findings the live verdict kept, and the order's reversal, from what
    it kept of refunds and its cancellation); where the draft would let it through it pays the
    draft's referrer reward when the live one was paid or settled (and the draft's extra cashback
    on the friend's orders that paid it live). A hold the shop approved live stays approved.
    Returns the report, and the postings of each side:
    (at, referrer member id, points, credit, counted, "live" | "draft", program)."""
    q = quantum(currency)
    rules = sorted(FRAUD_RULES)
    per_rule = {r: {"rule": r, "mode": draft.referrals.fraud.get(r, "off"), "fired": 0, "would_block": 0,
                    "would_hold": 0, "observed": 0, "not_known": 0} for r in rules}
    outcomes = {"live": {"ok": 0, "hold": 0, "block": 0}, "draft": {"ok": 0, "hold": 0, "block": 0, "off": 0}}
    given = {"live": _given(), "draft": _given()}
    by_referral: dict[int, dict] = {}
    live_posts, draft_posts = [], []
    for p in postings:
        _, ref_id, what = (p.idempotency_key.split(":", 3) + [""])[:3]
        if not ref_id.isdigit():
            continue
        mine = by_referral.setdefault(int(ref_id), {"reward": None, "cashback": []})
        if what == "reward":
            mine["reward"] = p
        else:
            mine["cashback"].append(p)
        points, credit = (int(p.amount), Decimal(0)) if p.asset == "points" else (0, Decimal(p.amount).quantize(q))
        counted = since <= p.at < until
        live_posts.append((p.at, p.member_id, points, credit, counted, "live", program_of(p.program_version)))
        if counted:
            g = given["live"]
            if what == "reward":
                g["rewarded"] += 1
                g["points"] += points
                g["credit"] += credit
            else:
                g["cashback"] += credit
    judged = 0
    for r in referrals:
        verdict = r.verdict or {}
        live_modes = program_of(verdict.get("program_version")).referrals.fraud
        hits = {f["rule"]: f.get("evidence", "") for f in verdict.get("findings", [])}
        kept = Fraction(0) if r.cancelled else 1 - refunded_share(r.shares, (r.refunds or {}).get("fractions", {}))
        base = Decimal(r.order_base or 0) * Decimal(kept.numerator) / Decimal(kept.denominator)
        if kept == 0 or base < draft.referrals.minimum_order:
            hits["order_reversed"] = R.ORDER_REVERSED
        v = R.rejudge(draft.referrals.fraud, hits) if draft.referrals.enabled else None
        mine = by_referral.get(r.id, {"reward": None, "cashback": []})
        in_period = since <= r.placed_at < until
        if in_period:
            judged += 1
            lo = verdict.get("outcome", "ok")
            outcomes["live"]["block" if r.status == "rejected" and lo == "ok" else lo] += 1
            outcomes["draft"][v.outcome if v else "off"] += 1
            for rule in rules:
                if live_modes.get(rule, "off") == "off" and rule != "order_reversed":
                    per_rule[rule]["not_known"] += per_rule[rule]["mode"] != "off"
                elif rule in hits:
                    entry = per_rule[rule]
                    entry["fired"] += 1
                    mode = entry["mode"]
                    if mode != "off":
                        entry[{"block": "would_block", "hold": "would_hold"}.get(mode, "observed")] += 1
            if r.reward and r.reward.get("kind") == "code" and r.reward_due_at and since <= r.reward_due_at < until:
                given["live"]["codes"] += 1
                given["live"]["codes_amount"] += Decimal(r.reward.get("amount", "0"))
        approved = r.decided_by is not None and r.status in ("pending", "rewarded")
        lets = v is not None and (v.outcome == "ok" or (v.outcome == "hold" and approved))
        if not lets:
            continue
        paid = mine["reward"].at if mine["reward"] is not None else r.reward_due_at
        settled = r.status in ("rewarded", "rejected", "review")
        if settled and paid is not None and paid < until and paid <= now:
            give, counted = draft.referrals.referrer, since <= paid < until
            points = give.points if give.kind == "points" else 0
            credit = give.amount if give.kind == "credit" else Decimal(0)
            if points or credit:
                draft_posts.append((paid, r.referrer_member_id, points, credit, counted, "draft", draft))
            if counted:
                g = given["draft"]
                g["rewarded"] += 1
                g["points"] += points
                g["credit"] += credit
                if give.kind == "code":
                    g["codes"] += 1
                    g["codes_amount"] += give.amount
        cb = draft.referrals.cashback
        for i, p in enumerate(sorted(mine["cashback"], key=lambda p: p.id)):
            if cb.rate <= 0 or (cb.orders is not None and i >= cb.orders):
                break
            if cb.months is not None and p.at > add_months(r.created_at, cb.months):
                continue
            amount = (Decimal(((p.reason_params or {}).get("base") or {}).get("amount", "0")) * cb.rate
                      / 100).quantize(Decimal("0.01"))  # as `ReferralService._extra_cashback`
            if amount > 0:
                counted = since <= p.at < until
                draft_posts.append((p.at, r.referrer_member_id, 0, amount, counted, "draft", draft))
                if counted:
                    given["draft"]["cashback"] += amount
    for g in given.values():
        for k in ("credit", "codes_amount", "cashback"):
            g[k] = str(Decimal(g[k]).quantize(q))
    return ({"judged": judged, "outcomes": outcomes, "rules": [per_rule[r] for r in rules],
             "live": given["live"], "draft": given["draft"]}, live_posts, draft_posts)


def _num(value) -> Decimal:
    return Decimal(str(value))


def _difference(live: dict, draft: dict) -> dict:
    out = {}
    for k in NUMBERS:
        a, b = live.get(k, 0), draft.get(k, 0)  # a run saved before a figure existed has none
        d = _num(b) - _num(a)
        out[k] = int(d) if isinstance(a, int) and isinstance(b, int) else str(d)
    return out


def view(row) -> dict:
    """The merchant's view of a run."""
    total, done = int(row.orders_total), int(row.orders_done)
    return {"id": row.id, "state": row.state, "draft_version": row.draft_version, "based_on": row.based_on,
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
              version: int | None = None, based_on: int | None = None) -> dict:
        """Queue a run of the draft (`program`, a document, or `version`, a saved one) over the
        orders placed, actions rewarded and referrals judged from `since` to `until` (days in the
        shop's time zone, `until` included). `based_on`: the saved version a `program` was edited
        from (kept to say what was changed)."""
        if (program is None) == (version is None):
            raise InvalidRequest("give either program (a program document) or version (a saved version)",
                                 field="program")
        if based_on is not None and program is None:
            raise InvalidRequest("based_on goes with program (the version an edited document started from)",
                                 field="based_on")
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
            if based_on is not None:
                try:
                    self.programs.version(shop_id, based_on)
                except NotFound:
                    raise InvalidRequest(f"this shop has no program version {based_on}", field="based_on") from None
        starts = datetime.combine(since, time(0), tz).astimezone(timezone.utc)
        ends = datetime.combine(until + timedelta(days=1), time(0), tz).astimezone(timezone.utc)
        with self.db.uow(shop_id) as uow:
            run_id = uow.simulations.create(dump(draft), version, starts, ends, self.clock.now(), based_on)
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

        def program_of(v):
            """The program version `v` (what an order or a posting was made under); the live one
            stands in for a version no longer kept (or none recorded)."""
            if v is None:
                return live_pv.program
            program = versions.get(v)
            if program is None:
                try:
                    program = self.programs.version(shop_id, v).program
                except NotFound:
                    program = live_pv.program
                versions[v] = program
            return program

        tiers_move = live_pv.program.tiers.enabled or draft.tiers.enabled
        first = None if tiers_move else since  # earlier orders put members in their tiers
        with self.db.uow(shop_id) as uow:
            total = uow.simulations.count_orders(first, until)
            uow.simulations.clear_members(run_id)
            uow.simulations.save(run_id, self.clock.now(), state="running", orders_total=total, orders_done=0,
                                 result=None, error=None)
            currency = uow.shops.by_id(shop_id).currency
            history = uow.simulations.redemption_history(since, until)
            # a shop's referrals are few beside its orders and actions: read at once
            referrals = uow.simulations.past_referrals(until)
            referral_postings = uow.simulations.referral_postings(until)
            friend_codes = uow.simulations.friend_codes(since, until)
        live, proposed = Replay(live_pv.program, until), Replay(draft, until)
        report, live_refs, draft_refs = replay_referrals(referrals, referral_postings, program_of, draft, since,
                                                         until, self.clock.now(), currency)
        report["friend"] = {"codes": friend_codes, "live_offer": offer(live_pv.program),
                            "draft_offer": offer(draft)}
        pricer = ActionPricer(draft)
        counts = {"done": 0, "reported": 0, "without_points": 0}

        def orders():
            after = 0
            while True:
                with self.db.reading() as conn:
                    rows = SimulationsRepo(conn, shop_id).past_orders(first, until, after, self.slice_orders)
                if not rows:
                    return
                keys = [k for r in rows if (r.refunds or {}).get("applied") for k in _refund_keys(r)]
                with self.db.reading() as conn:
                    dates = SimulationsRepo(conn, shop_id).refund_dates(keys) if keys else {}
                for r in rows:
                    yield r.placed_at, 0, (r, dates)
                    counts["done"] += 1
                after = rows[-1].id
                if counts["done"] - counts["reported"] >= self.progress_every:
                    counts["reported"] = counts["done"]
                    with self.db.uow(shop_id) as uow:
                        uow.simulations.save(run_id, self.clock.now(), orders_done=counts["done"])

        def actions():
            after = 0
            while True:
                with self.db.reading() as conn:
                    rows = SimulationsRepo(conn, shop_id).past_actions(until, after, self.slice_orders)
                if not rows:
                    return
                for r in rows:
                    yield r.at, 1, r
                after = rows[-1].id

        def referral_events():
            for ev in sorted(live_refs + draft_refs, key=lambda ev: ev[0]):
                yield ev[0], 2, ev

        # one stream in time order (each source is read in id order, which is time order for the
        # live path's postings): tiers on points earned move with every posting, as live
        for at, what, r in heapq.merge(orders(), actions(), referral_events(), key=lambda x: x[0]):
            if what == 0:
                r, dates = r
                counted = r.placed_at >= since
                past = _past(r, counted, until, dates)
                live.add(past, program_of(r.program_version))
                proposed.add(past)
                counts["without_points"] += counted and bool(r.history_only)
            elif what == 1:
                kind = r.idempotency_key.split(":", 2)[1]
                counted = since <= at
                live.post(r.member_id, at, int(r.amount), Decimal(0), counted=counted, source="action", kind=kind,
                          program=program_of(r.program_version))
                proposed.post(r.member_id, at, pricer.price(r.member_id, kind, at), Decimal(0), counted=counted,
                              source="action", kind=kind)
            else:
                _, member_id, points, credit, counted, side, program = r
                (live if side == "live" else proposed).post(member_id, at, points, credit, counted=counted,
                                                           source="referral", program=program)
        done, without_points = counts["done"], counts["without_points"]
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
            if not ((x and (x.orders or x.postings)) or (y and (y.orders or y.postings))):
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
            "actions": [{"kind": k, "live_count": live.from_actions.get(k, (0, 0))[0],
                         "draft_count": proposed.from_actions.get(k, (0, 0))[0],
                         "live_points": live.from_actions.get(k, (0, 0))[1],
                         "draft_points": proposed.from_actions.get(k, (0, 0))[1]}
                        for k in sorted(set(live.from_actions) | set(proposed.from_actions))],
            "referrals": report,
            "limits": LIMITS,
        }
        with self.db.uow(shop_id) as uow:
            uow.simulations.clear_members(run_id)  # a second worker on the same run (resumed) wrote first
            for i in range(0, len(diffs), 1000):
                uow.simulations.add_members(run_id, diffs[i:i + 1000])
            now = self.clock.now()
            uow.simulations.save(run_id, now, state="done", orders_done=done, result=result, finished_at=now)
        return "done"

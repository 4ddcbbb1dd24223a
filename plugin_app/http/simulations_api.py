"""The program simulator through the merchant API: run a draft program (a saved version or an
edited document) over the shop's past orders of a period, side by side with the live program;
read the run's progress and figures, the members whose result differs, and compare two runs."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, g, jsonify
from pydantic import BaseModel, ConfigDict, Field

from .auth import admin_api

bp = Blueprint("simulations_api", __name__, url_prefix="/admin/api/v1/simulations")


class SimulationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    since: date = Field(description="YYYY-MM-DD: the first day of the period, in the shop's time zone")
    until: date = Field(description="YYYY-MM-DD: the last day of the period (included); at most about three years")
    version: int | None = Field(None, ge=1, description="a saved program version to try (or give `program`)")
    based_on: int | None = Field(None, ge=1, description="with `program`: the saved version it was edited from "
                                                          "(the admin says what was changed from it)")
    program: dict | None = Field(None, description="a whole program document to try, as PUT /admin/api/v1/program "
                                                   "takes it (or give `version`)")

    @classmethod
    def model_validate(cls, obj, *args, **kwargs):  # JSON has no date type: a string is read as one
        if isinstance(obj, dict):
            for k in ("since", "until"):
                if isinstance(obj.get(k), str):
                    try:
                        obj = {**obj, k: date.fromisoformat(obj[k])}
                    except ValueError:
                        pass  # left as a string: strict validation names the field
        return super().model_validate(obj, *args, **kwargs)


class SimulationOut(BaseModel):
    id: int
    state: str = Field(description="queued, running, done or failed")
    draft_version: int | None
    based_on: int | None = Field(description="an edited copy: the saved version it was edited from, if given")
    since: str = Field(description="the period's start (UTC)")
    until: str = Field(description="the period's end, excluded (UTC)")
    orders_total: int
    orders_done: int
    progress: float = Field(description="0 to 1")
    result: dict | None = Field(description=(
        "when done: `live` and `draft` figures (points and credit issued, taken back by refunds, kept, "
        "redeemed, expired, liability at the end, cost in money, tier mix; orders, actions and referral "
        "rewards all counted, with `points_from_actions`, `points_from_referrals` and "
        "`credit_from_referrals` apart), their `difference`, `actions` (per kind: how many earned and the "
        "points, `live_count`/`draft_count`, `live_points`/`draft_points`), `referrals` (observe mode, "
        "nothing acts: `judged`, `outcomes` live and draft (ok, hold, block; `off` when the draft has "
        "referrals off), `rules` (per fraud rule: the draft's `mode`, how often it `fired`, "
        "`would_block`, `would_hold`, `observed`, and `not_known` where it was off when judged), what "
        "referrers were given `live` and under the `draft` (rewarded, points, credit, codes, "
        "codes_amount, cashback) and the `friend` welcome codes and offers), `tier_moves`, "
        "`members_differing`, `orders_recorded_without_points`, the `redemption` assumption and the "
        "`limits`"))
    error: str | None
    created_at: str
    finished_at: str | None


class MembersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: int = Field(0, ge=0, description="the last member id of the previous page")
    limit: int = Field(100, ge=1, le=500)


class MemberDifference(BaseModel):
    member_id: int
    customer_id: str | None
    live_points: int
    draft_points: int
    points_difference: int
    live_credit: str
    draft_credit: str
    credit_difference: str
    live_tier: str | None
    draft_tier: str | None


class MembersOut(BaseModel):
    items: list[MemberDifference]
    next_after: int | None = Field(description="pass as `after` for the next page; null on the last")


class CompareQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: int = Field(ge=1, description="a finished run")
    b: int = Field(ge=1, description="another finished run")


class CompareOut(BaseModel):
    a: SimulationOut
    b: SimulationOut
    difference: dict = Field(description="b's draft figures less a's")
    same_period: bool


def _rt():
    return current_app.extensions["loyalty"]


@bp.post("")
@admin_api(summary="Try a program on the past: a draft (a saved version or a document) over the shop's orders "
                   "and actions of a period, beside the live program, its referral rules over past referrals in "
                   "observe mode; runs in the background",
           tags=["simulations"], body=SimulationIn, response=SimulationOut, status=202, errors=(404,))
def start(body: SimulationIn):
    return jsonify(_rt().simulations.start(g.shop.id, since=body.since, until=body.until, program=body.program,
                                           version=body.version, based_on=body.based_on)), 202


@bp.get("/compare")
@admin_api(summary="Two finished simulations side by side", tags=["simulations"], query=CompareQuery,
           response=CompareOut, errors=(404, 409))
def compare(query: CompareQuery):
    return jsonify(_rt().simulations.compare(g.shop.id, query.a, query.b))


@bp.get("/<int:simulation_id>")
@admin_api(summary="A simulation's progress and, when done, its figures", tags=["simulations"],
           response=SimulationOut)
def status(simulation_id: int):
    return jsonify(_rt().simulations.status(g.shop.id, simulation_id))


@bp.get("/<int:simulation_id>/members")
@admin_api(summary="The members whose result differs under the draft, a page at a time", tags=["simulations"],
           query=MembersQuery, response=MembersOut, errors=(409,))
def members(simulation_id: int, query: MembersQuery):
    return jsonify(_rt().simulations.members(g.shop.id, simulation_id, after=query.after, limit=query.limit))


@bp.post("/<int:simulation_id>/rerun")
@admin_api(summary="Run a failed or stalled simulation again from the start", tags=["simulations"],
           response=SimulationOut, status=202, errors=(409,))
def rerun(simulation_id: int):
    return jsonify(_rt().simulations.rerun(g.shop.id, simulation_id)), 202

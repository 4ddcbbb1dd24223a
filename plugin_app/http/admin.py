"""Merchant API over members and the ledger: `/admin/api/v1/...`, scoped to the caller's shop."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Literal

from flask import Blueprint, current_app, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from ..domain.birthdays import show as show_birthday
from ..domain.ledger import Asset, Source
from ..domain.money import plain
from ..services import awards
from ..services.ledger import Posted
from .auth import admin_api
from .fields import DbId, Points, SignedAmount

bp = Blueprint("admin_api", __name__, url_prefix="/admin/api/v1")


class MoneyOut(BaseModel):
    amount: str
    currency: str


class MemberOut(BaseModel):
    id: int
    platform_customer_id: str
    email: str | None
    birthday: str | None = Field(None, description="YYYY-MM-DD, or --MM-DD when the year is not known")
    points_balance: int = Field(description="spendable now")
    pending_points: int
    held_points: int
    lifetime_points: int
    store_credit: MoneyOut
    pending_credit: MoneyOut
    held_credit: MoneyOut
    tier: str | None = Field(None, description="the member's tier (null when tiers are off)")
    referral_code: str | None = None
    version: int


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AdjustIn(Strict):
    asset: Literal["points", "credit"] = "points"
    amount: Points | SignedAmount = Field(description="signed: positive adds, negative removes; points are "
                                                      "whole (at most 10^12), credit is a decimal string")
    reason: str = Field(min_length=1, max_length=500)
    actor: str | None = Field(None, max_length=200, description="the person making the change")
    idempotency_key: str = Field(min_length=1, max_length=200)


class ReverseIn(Strict):
    amount: Points | SignedAmount | None = Field(None, description="omit to reverse what is left")
    reason: str = Field(min_length=1, max_length=500)
    idempotency_key: str = Field(min_length=1, max_length=200)


class PostedOut(BaseModel):
    entry_id: int
    replayed: bool
    hold_id: int | None
    balance: MemberOut


class EntryOut(BaseModel):
    id: int
    asset: str
    kind: str
    source: str
    reason: str
    amount: str
    points: int
    points_pending: int
    credit: str
    credit_pending: str
    reverses_entry_id: int | None
    actor: str | None
    external_ref: str | None
    created_at: str


class EntriesOut(BaseModel):
    entries: list[EntryOut]
    next_before: int | None


class EntriesQuery(Strict):
    before: DbId | None = None
    limit: int = Field(50, ge=1, le=200)


class EventIn(Strict):
    id: str = Field(min_length=1, max_length=200, description="your id for this event; repeats are ignored")
    customer_id: str = Field(min_length=1, max_length=64)
    event: str = Field(min_length=1, max_length=64, description="review, newsletter, social_follow, "
                       "social_share, signup, or a custom event named in the program")
    email: str | None = Field(None, max_length=320)


class BirthdayIn(Strict):
    birthday: str = Field(min_length=1, max_length=10, description="YYYY-MM-DD, or --MM-DD without the year")
    actor: str | None = Field(None, max_length=200, description="the person making the change")


class BirthdayOut(BaseModel):
    birthday: str | None
    changes: list[dict] = Field(description="who gave or changed it, and when, newest first")


class AcceptedOut(BaseModel):
    inbox_id: int
    duplicate: bool


def _rt():
    return current_app.extensions["loyalty"]


def _member_json(member, balance) -> dict:
    tier = member.tier
    if tier is None:  # not evaluated yet: the program's entry tier
        program = _rt().programs.for_reading(member.shop_id).program
        tier = program.tiers.levels[0].name if program.tiers.enabled else None
    from ..domain.referrals import display

    code = display(_rt().referrals.code_for(member.shop_id, member.id))
    return {"id": member.id, "platform_customer_id": member.platform_customer_id,
            "email": member.email, "name": member.name, "birthday": show_birthday(member.birthday),
            **balance.to_json(), "tier": tier, "referral_code": code}


def _amount(asset: str, value):
    if asset == "points":
        if not isinstance(value, int):
            from ..domain.errors import InvalidRequest
            raise InvalidRequest("points are whole numbers")
        return value
    return Decimal(str(value))


def _posted(posted: Posted, status: int = 201):
    rt = _rt()  # the tier already followed the posting (services.handlers)
    member, balance = rt.members.get(g.shop.id, posted.balance.member_id)
    return jsonify(entry_id=posted.entry_id, replayed=posted.replayed, hold_id=posted.hold_id,
                   balance=_member_json(member, balance)), 200 if posted.replayed else status


@bp.get("/members/by-customer/<platform_customer_id>")
@admin_api(summary="A member by the platform's customer id", tags=["members"], response=MemberOut, errors=(404,))
def member_by_customer(platform_customer_id: str):
    member, balance = _rt().members.by_customer(g.shop.id, platform_customer_id)
    return jsonify(_member_json(member, balance))


@bp.get("/members/<int:member_id>")
@admin_api(summary="A member by our id", tags=["members"], response=MemberOut,
           errors=(404,))
def member(member_id: int):
    return jsonify(_member_json(*_rt().members.get(g.shop.id, member_id)))


@bp.put("/members/<int:member_id>/birthday")
@admin_api(summary="Set or correct a member's birthday (recorded with who and when); a change never earns a "
           "second birthday bonus in the same year", tags=["members"], body=BirthdayIn, response=BirthdayOut, errors=(404, 422))
def set_birthday(member_id: int, body: BirthdayIn):
    from ..domain.birthdays import show

    rt = _rt()
    member, _ = rt.members.get(g.shop.id, member_id)
    actor = f"{g.actor}:{body.actor}" if body.actor else g.actor
    member = rt.members.set_birthday(g.shop.id, member.platform_customer_id, body.birthday,
                                     source="merchant", actor=actor)
    return jsonify(birthday=show(member.birthday), changes=rt.members.birthday_changes(g.shop.id, member.id))


@bp.get("/members/<int:member_id>/entries")
@admin_api(summary="A member's ledger, newest first", tags=["ledger"], response=EntriesOut,
           query=EntriesQuery, errors=(404,))
def member_entries(member_id: int, query: EntriesQuery):
    _rt().members.get(g.shop.id, member_id)  # 404 for another shop's member
    rows = _rt().ledger.entries(g.shop.id, member_id, before_id=query.before, limit=query.limit)
    entries = [{
        "id": r.id, "asset": r.asset, "kind": r.kind, "source": r.source, "reason": r.reason,
        "amount": plain(r.amount) if r.asset == "points" else str(r.amount),
        "points": int(r.points), "points_pending": int(r.points_pending),
        "credit": str(r.credit), "credit_pending": str(r.credit_pending),
        "reverses_entry_id": r.reverses_entry_id, "actor": r.actor,
        "external_ref": r.external_ref, "created_at": r.created_at.isoformat(),
    } for r in rows]
    return jsonify(entries=entries, next_before=rows[-1].id if len(rows) == query.limit else None)


class SurveyAnswersOut(BaseModel):
    answers: list[dict]  # {id, member_id, answers, points, answered_at}, newest first
    next_before: int | None


@bp.get("/surveys/<survey_id>/answers")
@admin_api(summary="Answers to the shop's feedback survey, newest first (page with ?before=)", tags=["program"],
           response=SurveyAnswersOut, query=EntriesQuery, errors=(401,))
def survey_answers(survey_id: str, query: EntriesQuery):
    return jsonify(_rt().surveys.answers(g.shop.id, survey_id[:40], query.before, query.limit))


@bp.post("/members/<int:member_id>/adjustments")
@admin_api(summary="Adjust a balance by hand, with who and why", tags=["ledger"], body=AdjustIn,
           response=PostedOut, status=201, also=(200,), errors=(404, 409))
def adjust(member_id: int, body: AdjustIn):
    actor = f"{g.actor}:{body.actor}" if body.actor else g.actor
    posted = _rt().adjustments.adjust(g.shop.id, member_id, Asset(body.asset), _amount(body.asset, body.amount),
                                      key=f"admin:{body.idempotency_key}", actor=actor, reason=body.reason)
    return _posted(posted)


@bp.post("/entries/<int:entry_id>/reversals")
@admin_api(summary="Reverse all or part of an entry", tags=["ledger"], body=ReverseIn,
           response=PostedOut, status=201, also=(200,), errors=(404, 409))
def reverse(entry_id: int, body: ReverseIn):
    asset = _rt().ledger.entry_asset(g.shop.id, entry_id)
    amount = None if body.amount is None or asset is None else _amount(asset, body.amount)
    posted = _rt().ledger.reverse(g.shop.id, entry_id, amount, key=f"admin:{body.idempotency_key}",
                                  source=Source.ADMIN, reason=body.reason)
    return _posted(posted)


@bp.post("/events")
@admin_api(summary="A shopper did something the program rewards (queued; exactly once per id)", tags=["events"],
           body=EventIn, response=AcceptedOut, status=202)
def custom_event(body: EventIn):
    payload = json.dumps(body.model_dump(), separators=(",", ":")).encode()
    inbox_id, created = _rt().inbox.accept(g.shop.id, "internal", awards.TOPIC, f"event:{body.id}",
                                           payload, {"user-agent": request.headers.get("User-Agent", "")})
    return jsonify(inbox_id=inbox_id, duplicate=not created), 202


class StorefrontOut(BaseModel):
    widget_key: str
    widget_secret: str = Field(description="signs customer tokens; keep it on your server")
    origins: list[str]
    token_format: str


class OriginsIn(Strict):
    origins: list[str] = Field(max_length=20, description="extra storefront origins, e.g. a custom domain")


class TokenIn(Strict):
    customer_id: str = Field(min_length=1, max_length=64)
    ttl_seconds: int = Field(3600, ge=60, le=7 * 24 * 3600)


class TokenOut(BaseModel):
    token: str
    expires_in: int


def _storefront_json(shop) -> dict:
    return {"widget_key": shop.widget_key, "widget_secret": _rt().shops.widget_secret(shop.id),
            "origins": sorted(shop.storefront_origins),
            "token_format": "v1.<shop_id>.<base64url customer id>.<unix expiry>.<hex HMAC-SHA256 of "
                            "everything before the last dot, keyed with widget_secret>"}


@bp.get("/storefront")
@admin_api(summary="The widget key, the secret that signs customer tokens, and the allowed origins",
           tags=["storefront"], response=StorefrontOut)
def storefront_settings():
    return jsonify(_storefront_json(g.shop))


class StoreCreditDifference(BaseModel):
    member_id: int
    customer_id: str | None
    ours: str = Field(description="our available credit (never below zero)")
    theirs: str | None = Field(description="the Shopify store credit account's balance; null when it could not be read")
    difference: str = Field(description="theirs minus ours")
    currency: str
    unsettled: int = Field(description="changes for this member not yet on Shopify at the check")
    error: str | None
    checked_at: str


class StoreCreditFailure(BaseModel):
    member_id: int
    entry_id: int
    direction: str = Field(description="credit or debit")
    amount: str
    currency: str
    attempts: int
    error: str | None


class StoreCreditOut(BaseModel):
    payout: str = Field(description="the program's cashback.payout: ledger or shopify_store_credit")
    counts: dict[str, int] = Field(description="mirrored ledger entries by state: pending, sending, done, failed, skipped")
    last_check: str | None
    differences: list[StoreCreditDifference]
    failed: list[StoreCreditFailure]


@bp.get("/store-credit/reconciliation")
@admin_api(summary="Cashback as Shopify store credit: calls Shopify refused and members whose credit differs from "
                   "their Shopify account at the last comparison", tags=["store credit"], response=StoreCreditOut)
def store_credit_reconciliation():
    rt = _rt()
    seen = rt.store_credit.overview(g.shop.id)
    iso = lambda v: v.isoformat() if v is not None else None  # noqa: E731
    return jsonify(payout=rt.programs.current(g.shop.id).program.cashback.payout, counts=seen["counts"],
                   last_check=iso(seen["last_check"]),
                   differences=[{k: (iso(v) if k == "checked_at" else v) for k, v in d.items() if k != "email"}
                                for d in seen["differences"]],
                   failed=[{k: v for k, v in f.items() if k != "at"} for f in seen["failed"]])


@bp.put("/storefront/origins")
@admin_api(summary="Set the extra storefront origins CORS admits (the shop's own domain always is)",
           tags=["storefront"], body=OriginsIn, response=StorefrontOut)
def storefront_origins(body: OriginsIn):
    from urllib.parse import urlsplit

    from ..domain.errors import InvalidRequest

    clean = []
    for origin in body.origins:
        parts = urlsplit(origin)
        if parts.scheme != "https" or not parts.netloc or parts.path not in ("", "/") or parts.query:
            raise InvalidRequest(f"{origin!r} is not an https origin")
        clean.append(f"https://{parts.netloc}")
    _rt().shops.set_origins(g.shop.id, clean)
    return jsonify(_storefront_json(_rt().shops.get(g.shop.id)))


@bp.post("/storefront/customer-tokens")
@admin_api(summary="Mint a customer token (or sign one yourself with the widget secret)", tags=["storefront"],
           body=TokenIn, response=TokenOut, status=201)
def customer_token(body: TokenIn):
    from ..services import identity

    token = identity.sign(g.shop.id, body.customer_id, _rt().shops.widget_secret(g.shop.id), ttl=body.ttl_seconds)
    return jsonify(token=token, expires_in=body.ttl_seconds), 201


class AnalyticsQuery(Strict):
    start: str | None = Field(None, alias="from", max_length=10, json_schema_extra={"format": "date"},
                              description="YYYY-MM-DD (a real date); default: 29 days before `to`")
    end: str | None = Field(None, alias="to", max_length=10, json_schema_extra={"format": "date"},
                            description="YYYY-MM-DD (a real date); default: today")
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AnalyticsOut(BaseModel):
    period: dict
    members: dict
    points: dict
    credit: dict
    liability: dict
    orders: dict
    program: dict
    referrals: dict | None
    daily: list[dict]
    daily_orders: list[dict]
    daily_enrolments: list[dict]
    segments: dict = Field(description="the period's orders by redeemers, non-redeemers and non-members")
    tiers: list[dict] = Field(description="per tier: members, points outstanding and pending, the period's orders and sales")
    customers: dict = Field(description="members' average lifetime value and purchase frequency (all time)")
    codes: dict = Field(description="reward codes issued in the period: used, lapsed, open, usage rate")
    rates: dict = Field(description="order earning rate and membership rate of the period")
    cohorts: list[dict] = Field(description="members by month of enrolment, repeat rate at 30/60/90 days")


def _period(query: AnalyticsQuery):
    from ..services.analytics import parse_period

    rt = _rt()
    return parse_period(query.start, query.end, rt.analytics.today(g.shop.id, rt.clock.now()))


@bp.get("/analytics")
@admin_api(summary="Points issued, redeemed, expired and outstanding, liability, members per tier, by day "
                   "(from rollups kept current by a job)", tags=["analytics"], query=AnalyticsQuery,
           response=AnalyticsOut)
def analytics(query: AnalyticsQuery):
    return jsonify(_rt().analytics.dashboard(g.shop.id, g.shop.currency, *_period(query)))


@bp.get("/analytics/<any(daily, orders, enrolments, tiers, referrals, summary, segments, cohorts):table>.csv")
@admin_api(summary="A table of the dashboard as CSV: daily, orders, enrolments, tiers, referrals, summary, segments "
                   "(redeemers, non-redeemers, non-members) or cohorts (by month of enrolment)",
           tags=["analytics"], query=AnalyticsQuery)
def analytics_csv(query: AnalyticsQuery, table: str):
    rt = _rt()
    body = rt.analytics.csv(rt.analytics.dashboard(g.shop.id, g.shop.currency, *_period(query)), table)
    return body, 200, {"Content-Type": "text/csv; charset=utf-8",
                       "Content-Disposition": f"attachment; filename={table}.csv"}


class OperationsOut(BaseModel):
    failed_deliveries: list[dict]
    failed_redemptions: list[dict]
    flagged_redemptions: list[dict] = Field(description="codes used by another customer, awaiting a decision")
    reconciliation: dict | None


class FlaggedOut(BaseModel):
    id: int
    code: str | None
    member_id: int
    owner_customer_id: str = Field(description="who the code was issued to (whose points are held)")
    owner_email: str | None
    used_by_customer_id: str | None = Field(description="who used it (null: a guest)")
    order_id: str | None
    reward_id: str | None
    asset: str
    amount: str
    status: str = Field(description="flagged (awaiting a decision), committed or released")
    decision: str | None
    decided_by: str | None
    decided_at: str | None
    reason: str | None
    flagged_at: str


class FlaggedListOut(BaseModel):
    redemptions: list[FlaggedOut]


class DecisionIn(Strict):
    decision: Literal["commit", "release"] = Field(
        description="commit: the owner pays for the code (the hold is spent); release: the owner gets the points back")
    reason: str = Field(min_length=1, max_length=500, description="why (kept on the redemption and in the ledger)")
    actor: str | None = Field(None, max_length=200, description="the person deciding")


class ReplayOut(BaseModel):
    id: int
    state: str


@bp.get("/operations")
@admin_api(summary="Deliveries that could not be processed (with the reason), redemptions the platform refused, "
                   "and the last reconciliation",
           tags=["operations"], response=OperationsOut)
def operations():
    from ..services.reconcile import sync_status

    rt = _rt()
    return jsonify(failed_deliveries=rt.inbox.failed(g.shop.id), failed_redemptions=rt.cart.failed(g.shop.id),
                   flagged_redemptions=[x for x in rt.cart.flagged(g.shop.id) if x["status"] == "flagged"],
                   reconciliation=sync_status(rt.db, g.shop.id))


@bp.get("/operations/flagged-redemptions")
@admin_api(summary="Reward codes used by another customer: the owner's points stay held until you decide "
                   "(and the ones decided, with who, when and why)",
           tags=["operations"], response=FlaggedListOut)
def flagged_redemptions():
    return jsonify(redemptions=_rt().cart.flagged(g.shop.id))


@bp.post("/operations/flagged-redemptions/<int:redemption_id>/decision")
@admin_api(summary="Decide a flagged redemption once: commit the hold (charge the owner) or release it "
                   "(give the points back), with a reason",
           tags=["operations"], body=DecisionIn, response=FlaggedOut, errors=(404, 409, 422))
def decide_redemption(redemption_id: int, body: DecisionIn):
    actor = f"{g.actor}:{body.actor}" if body.actor else g.actor
    return jsonify(_rt().cart.decide(g.shop.id, redemption_id, decision=body.decision, reason=body.reason,
                                     actor=actor))


@bp.post("/operations/deliveries/<int:inbox_id>/replay")
@admin_api(summary="Replay a failed delivery", tags=["operations"], response=ReplayOut, errors=(409,))
def replay(inbox_id: int):
    from ..domain.errors import InvalidState

    state = _rt().inbox.replay(g.shop.id, inbox_id)
    if state == "not_failed":
        raise InvalidState("only a failed delivery of this shop can be replayed")
    return jsonify(id=inbox_id, state=state)


class SearchQuery(Strict):
    q: str = Field(min_length=1, max_length=320, description="an email (or its start) or a customer id")
    limit: int = Field(20, ge=1, le=100)


class SearchOut(BaseModel):
    members: list[MemberOut]


@bp.get("/members")
@admin_api(summary="Find members by email (prefix, any case) or customer id", tags=["members"], query=SearchQuery,
           response=SearchOut)
def search_members(query: SearchQuery):
    rt = _rt()
    ids = rt.members.search(g.shop.id, query.q, query.limit)
    return jsonify(members=[_member_json(*rt.members.get(g.shop.id, i)) for i in ids])


@bp.get("/members/<int:member_id>/export")
@admin_api(summary="Everything held on one member (profile, balances, ledger, orders), as JSON", tags=["members"], errors=(404,))
def export_member(member_id: int):
    response = jsonify(_rt().members.export(g.shop.id, member_id))  # 404 for another shop's member
    response.headers["Content-Disposition"] = f"attachment; filename=member-{member_id}.json"
    return response

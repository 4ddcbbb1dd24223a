"""Bulk operations of the merchant API: members found or enrolled by e-mail (one, or up to a
thousand at a time), a member by e-mail, and the shop's members and ledger as CSV in the layouts
our importers read (services.exports). Scoped to the caller's shop like every admin route."""
from __future__ import annotations

from datetime import datetime, time, timezone

from flask import Blueprint, Response, current_app, g, jsonify, stream_with_context
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..domain.errors import NotFound
from ..services.member_intake import MAX_BATCH, STATUS, Wanted
from .admin import MemberOut, _member_json
from .auth import admin_api
from .errors import error_response

bp = Blueprint("bulk_api", __name__, url_prefix="/admin/api/v1")


def _rt():
    return current_app.extensions["loyalty"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberIn(Strict):
    email: str | None = Field(None, min_length=1, max_length=320,
                              description="looked up among members (any case), else on the shop's platform")
    customer_id: str | None = Field(None, min_length=1, max_length=64, description="the platform's customer id")
    name: str | None = Field(None, max_length=200)
    birthday: str | None = Field(None, max_length=10, description="YYYY-MM-DD, or --MM-DD without the year")
    locale: str | None = Field(None, max_length=16, description="the shopper's language tag, e.g. fr or de-DE")

    def wanted(self) -> Wanted:
        return Wanted(self.email, self.customer_id, self.name, self.birthday, self.locale)


class BatchIn(Strict):
    members: list[MemberIn] = Field(min_length=1, max_length=MAX_BATCH)


class ItemError(BaseModel):
    code: str = Field(description="invalid_request, customer_not_found, ambiguous_email, "
                                  "platform_unavailable or platform_error")
    message: str
    customer_ids: list[str] | None = Field(None, description="ambiguous_email: the members sharing it")


class ItemOut(BaseModel):
    index: int
    status: str = Field(description="created, existing or error")
    member_id: int | None = None
    customer_id: str | None = None
    error: ItemError | None = None


class BatchOut(BaseModel):
    results: list[ItemOut]
    created: int
    existing: int
    errors: int


class ByEmailQuery(Strict):
    email: str = Field(min_length=3, max_length=320)


class MembersExportQuery(Strict):
    tier: str | None = Field(None, min_length=1, max_length=40, description="only members in this tier")


class HistoryExportQuery(Strict):
    updated_since: str | None = Field(None, max_length=40, description="entries made at or after this date "
                                      "(YYYY-MM-DD, UTC) or time (ISO 8601; without an offset, UTC)")
    tier: str | None = Field(None, min_length=1, max_length=40, description="only members in this tier")

    @field_validator("updated_since")
    @classmethod
    def _since(cls, value: str | None) -> str | None:
        if value is not None:
            since(value)
        return value


def since(value: str | None) -> datetime | None:
    """The start of `updated_since`, aware UTC (ValueError when it is not a date or time)."""
    if value is None:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) == 10:
        when = datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), time(0))
    else:
        when = datetime.fromisoformat(text)
    if when.year < 1970:
        raise ValueError("a date after 1970")
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


@bp.post("/members")
@admin_api(summary="Find a member by e-mail or customer id, or enrol one: 200 with the member the shop has, 201 "
                   "with a new one (no welcome bonus, no welcome e-mail: this is not a sign-up). Given only an e-mail, "
                   "the customer is looked up on the shop's platform; 404 customer_not_found when it has none",
           tags=["members"], body=MemberIn, response=MemberOut, status=201, also=(200,),
           errors=(404, 409, 502))
def find_or_create(body: MemberIn):
    outcome = _rt().member_intake.find_or_create(g.shop.id, [body.wanted()])[0]
    if outcome.status == "error":
        extra = {"customer_ids": list(outcome.customer_ids)} if outcome.customer_ids else {}
        response = error_response(STATUS[outcome.code], outcome.code, outcome.message, **extra)
        if outcome.code == "platform_unavailable":
            response[0].headers["Retry-After"] = "30"
        return response
    member, balance = _rt().members.get(g.shop.id, outcome.member_id)
    return jsonify(_member_json(member, balance)), 201 if outcome.status == "created" else 200


@bp.post("/members/batch")
@admin_api(summary=f"Find or enrol up to {MAX_BATCH} members at once (as POST /members, each): one result per "
                   "item, in order. E-mails no member has are looked up on the platform together, in as few calls "
                   "as it allows", tags=["members"], body=BatchIn, response=BatchOut)
def find_or_create_many(body: BatchIn):
    outcomes = _rt().member_intake.find_or_create(g.shop.id, [m.wanted() for m in body.members])
    results = [{"index": i, **o.as_json()} for i, o in enumerate(outcomes)]
    counts = {s: sum(o.status == s for o in outcomes) for s in ("created", "existing", "error")}
    return jsonify(results=results, created=counts["created"], existing=counts["existing"], errors=counts["error"])


@bp.get("/members/by-email")
@admin_api(summary="A member by e-mail (any case), as by customer id; 409 ambiguous_email (with their customer "
                   "ids) when several members share it", tags=["members"], query=ByEmailQuery, response=MemberOut, errors=(404, 409))
def member_by_email(query: ByEmailQuery):
    rt = _rt()
    found = rt.member_intake.by_email(g.shop.id, query.email)
    if not found:
        raise NotFound("member not found")
    if len(found) > 1:
        return error_response(409, "ambiguous_email", "several members share this e-mail; ask by customer id",
                              customer_ids=[cid for _i, cid in found])
    return jsonify(_member_json(*rt.members.get(g.shop.id, found[0][0])))


def _csv(body, name: str) -> Response:
    day = _rt().clock.now().date().isoformat()
    return Response(stream_with_context(body), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}-{day}.csv"',
                             "Cache-Control": "no-store"})


@bp.get("/exports/members.csv")
@admin_api(summary="Members and their balances as CSV (streamed), in the layout the `members` importer reads: "
                   "email, customer_id, name, points_balance, store_credit, tier, birthday, referral_code, locale",
           tags=["exports"], query=MembersExportQuery, media="text/csv")
def export_members(query: MembersExportQuery):
    return _csv(_rt().exports.members_csv(g.shop.id, tier=query.tier), "members")


@bp.get("/exports/history.csv")
@admin_api(summary="The ledger as CSV (streamed), one entry per row, in the layout the `history` importer reads: "
                   "email, customer_id, occurred_at, points, store_credit, kind, expires_at, order_id, transaction_id, "
                   "source, note, status", tags=["exports"], query=HistoryExportQuery, media="text/csv")
def export_history(query: HistoryExportQuery):
    return _csv(_rt().exports.history_csv(g.shop.id, since=since(query.updated_since), tier=query.tier), "history")

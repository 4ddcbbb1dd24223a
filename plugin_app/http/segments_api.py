"""Segments through the merchant API (issue 20): rule-built groups of members, their
materialised membership (kept current per event and by a periodic pass), a preview of what a
rule matches right now, and a member's profile (RFM scores, lifetime value, lifecycle state,
tier history, customer tags, products bought)."""
from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app, g, jsonify
from pydantic import BaseModel, ConfigDict, Field

from .auth import admin_api
from .fields import DbId

bp = Blueprint("segments_api", __name__, url_prefix="/admin/api/v1")

RULE_DOC = ('{"all": [...]} or {"any": [...]} of conditions {"field", "op", "value"} or nested rules '
            "(3 deep, 50 conditions). Fields: orders_count, lifetime_value, average_days_between_orders, "
            "days_since_last_order, days_since_first_order, days_since_enrolled, recency_score, "
            "frequency_score, monetary_score, lifecycle, tier, points_balance, points_expiring_within_days, "
            "birthday_month, tag, bought_product, bought_collection. Ops: eq, neq, gt, gte, lt, lte, "
            "between [low, high], in, not_in, none (as the field allows); tag, bought_product and "
            "bought_collection take has or has_not with a value or a list of values (any of them), the "
            'bought ones an optional "days": N (bought within the last N days). Tags are the customer\'s '
            "Shopify tags (WooCommerce: role:<WordPress role>), matched in any case; collections are "
            "Shopify collections or WooCommerce categories by id, handle/slug or gid.")


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80)
    rule: dict = Field(description=RULE_DOC)


class SegmentOut(BaseModel):
    id: int
    name: str
    rule: dict
    status: Literal["ready", "computing"] = Field(
        description="ready: members_count and the members are the rule's; computing: a job is computing the "
                    "membership of a new or edited segment (shops above the deployment's "
                    "LOYALTY_SEGMENT_SYNC_MEMBERS members), members_count is null until it is done")
    members_count: int | None = Field(description="null while status is computing")
    computed_at: str | None
    created_at: str
    updated_at: str


class SegmentList(BaseModel):
    segments: list[SegmentOut]


class MembersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    preview: str | None = Field(None, description="present (and not 0 or false): what the rule matches now, "
                                                  "computed, instead of the stored membership")
    limit: int = Field(50, ge=1, le=500)
    after: DbId = Field(0, description="member id to continue after")


class SegmentMember(BaseModel):
    id: int
    customer_id: str
    email: str | None
    name: str | None


class MembersOut(BaseModel):
    count: int
    preview: bool
    members: list[SegmentMember]


class TierSpan(BaseModel):
    tier: str
    reached_at: str | None = Field(description="null: before the history recorded (an import, or the first change's "
                                               "previous tier)")
    left_at: str | None = Field(description="null: the tier held now")
    direction: str | None = Field(description="up or down (null when not recorded)")
    reason: str | None
    recorded: bool = Field(description="false: set without a tier_changed event (an import)")


class ProfileOut(BaseModel):
    member_id: int
    orders_count: int
    lifetime_value: str
    first_order_at: str | None
    last_order_at: str | None
    average_days_between_orders: str | None
    recency_score: int = Field(description="0 (no orders) or 1-5 against the program's segments.rfm thresholds")
    frequency_score: int
    monetary_score: int
    lifecycle: str = Field(description="new, active, at_risk, win_back, loyal or lapsed")
    tier: str | None
    tier_since: str | None
    tier_history: list[TierSpan] = Field(description="when the member reached and left each tier, most recent "
                                                     "first (the last 100 changes)")
    tags: list[str] = Field(description="the customer's tags as the platform gave them (WooCommerce: role:<role>)")
    products_bought: int = Field(description="distinct products bought on counted orders (not fully refunded)")


def _rt():
    return current_app.extensions["loyalty"]


@bp.get("/segments")
@admin_api(summary="The shop's segments with their member counts", tags=["segments"], response=SegmentList)
def list_segments():
    return jsonify(segments=_rt().segments.list(g.shop.id))


@bp.post("/segments")
@admin_api(summary="Create a segment; its membership is computed at once (quietly: no events for it), or in a large "
                   "shop by a job (status computing)",
           tags=["segments"], body=SegmentIn, response=SegmentOut, status=201)
def create_segment(body: SegmentIn):
    return jsonify(_rt().segments.create(g.shop.id, body.name, body.rule)), 201


@bp.get("/segments/<int:segment_id>")
@admin_api(summary="A segment", tags=["segments"], response=SegmentOut)
def get_segment(segment_id: int):
    return jsonify(_rt().segments.get(g.shop.id, segment_id))


@bp.put("/segments/<int:segment_id>")
@admin_api(summary="Change a segment's name or rule; its membership is recomputed (quietly), in a large shop by a "
                   "job (status computing)", tags=["segments"],
           body=SegmentIn, response=SegmentOut)
def update_segment(segment_id: int, body: SegmentIn):
    return jsonify(_rt().segments.update(g.shop.id, segment_id, body.name, body.rule))


@bp.delete("/segments/<int:segment_id>")
@admin_api(summary="Delete a segment (409 segment_in_use while the program names it)", tags=["segments"], status=204, errors=(409,))
def delete_segment(segment_id: int):
    _rt().segments.delete(g.shop.id, segment_id)
    return "", 204


@bp.get("/segments/<int:segment_id>/members")
@admin_api(summary="A segment's members (or, with ?preview, what its rule matches right now)", tags=["segments"],
           query=MembersQuery, response=MembersOut)
def segment_members(segment_id: int, query: MembersQuery):
    preview = query.preview is not None and query.preview.lower() not in ("0", "false")
    return jsonify(_rt().segments.members(g.shop.id, segment_id, preview=preview, limit=query.limit,
                                          after=query.after))


@bp.get("/members/<int:member_id>/profile")
@admin_api(summary="A member's profile: orders, lifetime value, RFM scores, lifecycle state, tier history, tags",
           tags=["segments"],
           response=ProfileOut)
def member_profile(member_id: int):
    return jsonify(_rt().segments.profile(g.shop.id, member_id))

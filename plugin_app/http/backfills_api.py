"""History backfills through the merchant API: start one (past orders pulled from the shop's
Shopify or WooCommerce store, with or without points), read its progress, resume a failed one."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, g, jsonify
from pydantic import BaseModel, ConfigDict, Field

from .auth import admin_api

bp = Blueprint("backfills_api", __name__, url_prefix="/admin/api/v1/backfills")


class BackfillIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    since: date | None = Field(None, description="YYYY-MM-DD: orders created on or after this day, in the "
                                                 "shop's time zone (omit: every past order)")
    award_points: bool = Field(False, description="true: past orders earn as if their webhooks came now "
                                                  "(keyed by the order: a later webhook replays); false: "
                                                  "recorded for analytics and tiers on spend, no points")

    @classmethod
    def model_validate(cls, obj, *args, **kwargs):  # JSON has no date type: a string is read as one
        if isinstance(obj, dict) and isinstance(obj.get("since"), str):
            try:
                obj = {**obj, "since": date.fromisoformat(obj["since"])}
            except ValueError:
                pass  # left as a string: strict validation names the field
        return super().model_validate(obj, *args, **kwargs)


class BackfillOut(BaseModel):
    id: int
    platform: str
    since: str | None
    award_points: bool
    state: str = Field(description="running, done or failed")
    phase: str = Field(description="orders (reading past orders), tiers (settling members' tiers), done")
    orders_seen: int
    orders_recorded: int
    orders_skipped: int = Field(description="unpaid, cancelled, test, or already recorded by a webhook")
    members_created: int
    members_reevaluated: int
    points_awarded: int
    slices: int
    cursor: dict = Field(description="where the next slice starts on the platform (export and byte offset, or page)")
    note: str | None
    error: str | None
    created_at: str
    updated_at: str
    finished_at: str | None


def _rt():
    return current_app.extensions["loyalty"]


@bp.post("")
@admin_api(summary="Start a history backfill: the shop's past orders recorded for analytics, tiers and the "
                   "simulator, optionally earning points; runs in the background, one per shop at a time",
           tags=["backfills"], body=BackfillIn, response=BackfillOut, status=202, errors=(409,))
def start(body: BackfillIn):
    return jsonify(_rt().backfills.start(g.shop.id, body.since, body.award_points)), 202


@bp.get("/<int:backfill_id>")
@admin_api(summary="A history backfill's progress", tags=["backfills"], response=BackfillOut)
def status(backfill_id: int):
    return jsonify(_rt().backfills.status(g.shop.id, backfill_id))


@bp.post("/<int:backfill_id>/resume")
@admin_api(summary="Resume a failed history backfill where its last slice ended", tags=["backfills"],
           response=BackfillOut, status=202, errors=(409,))
def resume(backfill_id: int):
    return jsonify(_rt().backfills.resume(g.shop.id, backfill_id)), 202

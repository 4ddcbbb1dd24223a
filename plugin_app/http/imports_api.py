"""Switching in, through the merchant API: upload a file (its dry run starts at once), read the
plan, apply it, follow the progress, read the report and the rows left out, undo it.

    POST /admin/api/v1/imports                 multipart `file` (or the CSV as the body), options
    GET  /admin/api/v1/imports                 the shop's recent imports
    GET  /admin/api/v1/imports/<id>            state, progress, the dry run (`plan`), the `report`
    GET  /admin/api/v1/imports/<id>/left-out   the rows left out, by line, with why
    POST /admin/api/v1/imports/<id>/apply      (a dry-run import) start applying it
    POST /admin/api/v1/imports/<id>/revert     (an applied import) undo it
"""
from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app, g, jsonify, request
from pydantic import BaseModel, Field

from ..domain.errors import InvalidRequest
from .auth import admin_api

bp = Blueprint("imports_api", __name__, url_prefix="/admin/api/v1")
UPLOAD_LIMIT = 512 << 20  # bytes: services.imports.MAX_BYTES


def _rt():
    return current_app.extensions["loyalty"]


class ImportOut(BaseModel):
    id: int
    state: str = Field(description="uploaded, analyzing, analyzed (the dry run is ready), applying, "
                                   "applied, reverting, reverted or failed")
    format: str | None = Field(description="the importer that reads the file")
    source: str | None = Field(description="the app the file comes from, for people")
    filename: str
    size_bytes: int
    options: dict
    progress: dict = Field(description="{done, total} rows of the running phase")
    plan: dict | None = Field(description="the dry run: members to create and change, rows left out and why, "
                                          "points and store credit credited and debited, tiers, birthdays, "
                                          "codes, liability in money")
    report: dict | None = Field(description="what applying did, in the dry run's shape (and `revert`)")
    matches_plan: bool | None = Field(description="once applied: whether the report equals the dry run (the "
                                                 "reconciliation; false when the books moved in between)")
    error: str | None
    actor: str | None
    created_at: str
    applied_at: str | None
    reverted_at: str | None


class ImportsOut(BaseModel):
    imports: list[ImportOut]


class LeftOutOut(BaseModel):
    rows: list[dict] = Field(description="{line, who, outcome}")


class UploadQuery(BaseModel):
    format: str | None = Field(None, max_length=40, description="the importer; detected from the header when left out")
    tiers: Literal["as_is", "recompute", "keep"] = Field(
        "as_is", description="as_is: the file's tier by name; recompute: from points earned in the window, "
                             "on their original dates; keep: tiers untouched")
    expiry_from: Literal["earned", "import"] = Field(
        "earned", description="the program's expiry counts from when points were earned, or from the import")
    balance: Literal["file", "add", "set"] = Field(
        "file", description="a balance adds to the member's or replaces it: as the old app's file means it "
                            "(file), or as chosen (Smile asks at upload)")
    create_members: bool = Field(True, description="rows for customers who are not members yet make members")
    filename: str | None = Field(None, max_length=255, description="with a raw CSV body: the file's name")


@bp.post("/imports")
@admin_api(summary="Upload a file from another loyalty app (Smile, LoyaltyLion, Yotpo, Rivo, WooCommerce plugins, "
                   "our templates); its dry run starts at once. multipart/form-data with `file`, or the CSV as "
                   "the body (text/csv); options in the query or as form fields",
           tags=["imports"], query=UploadQuery, response=ImportOut, status=202, errors=(413, 422))
def create_import(query: UploadQuery):
    options = query.model_dump()
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidRequest("send the file as the multipart field `file`", field="file")
        for name in ("format", "tiers", "expiry_from", "create_members", "balance"):
            if request.form.get(name):
                options[name] = request.form[name]
        options = UploadQuery.model_validate(options).model_dump()
        stream, filename = upload.stream, upload.filename
    else:
        stream, filename = request.stream, options.get("filename")
    fmt = options.pop("format")
    options.pop("filename")
    view = _rt().imports.upload(g.shop.id, filename or "import.csv", stream, fmt=fmt, options=options,
                                actor=g.actor)
    return jsonify(view), 202


class PullIn(BaseModel):
    plugin: Literal["wc_points_rewards", "wployalty", "yith", "mycred"]
    kind: Literal["balances", "history"] = "balances"
    tiers: Literal["as_is", "recompute", "keep"] = "as_is"
    expiry_from: Literal["earned", "import"] = "earned"
    balance: Literal["file", "add", "set"] = "file"
    create_members: bool = True


@bp.post("/imports/from-woocommerce")
@admin_api(summary="Read a WooCommerce loyalty plugin's balances or history (WooCommerce Points and Rewards, "
                   "WPLoyalty, YITH, myCRED) through our WordPress plugin, then dry-run it like a file",
           tags=["imports"], body=PullIn, response=ImportOut, status=202, errors=(422,))
def pull_import(body: PullIn):
    options = body.model_dump()
    plugin, kind = options.pop("plugin"), options.pop("kind")
    return jsonify(_rt().imports.pull(g.shop.id, plugin, kind, options=options, actor=g.actor)), 202


@bp.get("/imports")
@admin_api(summary="The shop's recent imports, newest first", tags=["imports"], response=ImportsOut)
def list_imports():
    return jsonify(imports=_rt().imports.recent(g.shop.id))


@bp.get("/imports/<int:import_id>")
@admin_api(summary="An import: state, progress, dry run and report", tags=["imports"], response=ImportOut, errors=(404,))
def get_import(import_id: int):
    return jsonify(_rt().imports.view(g.shop.id, import_id))


@bp.get("/imports/<int:import_id>/left-out")
@admin_api(summary="The rows an import leaves out, by line, with why", tags=["imports"], response=LeftOutOut, errors=(404,))
def import_left_out(import_id: int):
    return jsonify(rows=_rt().imports.left_out(g.shop.id, import_id))


@bp.post("/imports/<int:import_id>/apply")
@admin_api(summary="Apply a dry-run import (in the background; follow its progress)", tags=["imports"],
           response=ImportOut, status=202, errors=(404, 409))
def apply_import(import_id: int):
    return jsonify(_rt().imports.apply(g.shop.id, import_id, actor=g.actor)), 202


@bp.post("/imports/<int:import_id>/revert")
@admin_api(summary="Undo an applied import: every posting reversed (reversal entries, not deletions), tiers, "
                   "birthdays and referral codes put back", tags=["imports"], response=ImportOut, status=202, errors=(404, 409))
def revert_import(import_id: int):
    return jsonify(_rt().imports.revert(g.shop.id, import_id, actor=g.actor)), 202

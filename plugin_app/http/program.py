"""The program document (`GET/PUT /admin/api/v1/program`), its versions, and previews."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, g, jsonify, request
from pydantic import BaseModel

from ..domain.program import Program
from ..services.program import ProgramInvalid, ProgramVersion, dump
from .auth import admin_api
from .errors import error_response
from .orders_api import EarningOut, PreviewIn, earning_json, to_order

bp = Blueprint("program_api", __name__, url_prefix="/admin/api/v1/program")
META = ("version", "updated_at", "updated_by", "note", "restored_from")


@dataclass(frozen=True)
class ProgramOut(Program):
    """The program as the API answers it: the document, with its version around it."""

    version: int = 1
    updated_by: str = ""
    updated_at: str = ""
    note: str | None = None
    restored_from: int | None = None


class VersionOut(BaseModel):
    version: int
    author: str
    note: str | None
    restored_from: int | None
    created_at: str


class HistoryOut(BaseModel):
    versions: list[VersionOut]


def _rt():
    return current_app.extensions["loyalty"]


def _out(pv: ProgramVersion, status: int = 200):
    body = {**dump(pv.program), "version": pv.version, "updated_by": pv.author,
            "updated_at": pv.created_at.isoformat(), "note": pv.note, "restored_from": pv.restored_from}
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = f'"{pv.version}"'
    return response


@bp.get("")
@admin_api(summary="The shop's program: one document, with its version", tags=["program"],
           response=ProgramOut)
def get_program():
    return _out(_rt().programs.current(g.shop.id))


@bp.put("")
@admin_api(summary="Replace the program (validated; a new version). Send If-Match: \"<version>\" to "
                   "refuse the write when someone changed it since you read it",
           tags=["program"], document=Program, response=ProgramOut, errors=(409, 412))
def put_program():
    document = request.get_json(silent=True)
    if not isinstance(document, dict):
        return error_response(400, "invalid_json", "the body must be a JSON object")
    for key in META:  # what GET adds around the document may come back; it is not the program
        document.pop(key, None)
    expected = request.headers.get("If-Match", "").strip().strip('"')
    if expected and expected != "*" and not expected.isdigit():
        return error_response(412, "version_conflict", "the program changed since you read it")
    try:
        pv = _rt().programs.put(g.shop.id, document, author=g.actor, note=request.headers.get("X-Change-Note"),
                                expected=int(expected) if expected.isdigit() else None)
    except ProgramInvalid as exc:
        return error_response(422, exc.code, exc.message, fields=exc.fields)
    return _out(pv)


@bp.get("/versions")
@admin_api(summary="Every version of the program, newest first", tags=["program"], response=HistoryOut)
def history():
    return jsonify(versions=_rt().programs.history(g.shop.id))


@bp.get("/versions/<int(max=2147483647):version>")
@admin_api(summary="One earlier version of the program", tags=["program"], response=ProgramOut, errors=(404,))
def get_version(version: int):
    return _out(_rt().programs.version(g.shop.id, version))


@bp.post("/versions/<int(max=2147483647):version>/restore")
@admin_api(summary="Make an earlier version current again (as a new version)", tags=["program"],
           response=ProgramOut, status=201, errors=(404, 422))
def restore(version: int):
    try:
        return _out(_rt().programs.restore(g.shop.id, version, author=g.actor), 201)
    except ProgramInvalid as exc:  # it names a segment deleted since (issue 20)
        return error_response(422, exc.code, exc.message, fields=exc.fields)


class ChangeOut(BaseModel):
    tier_moves: list[dict]
    orders: list[dict]
    members_checked: int
    note: str


@bp.post("/changes/preview")
@admin_api(summary="What a proposed program would change, for whom (nothing is saved)", tags=["program"],
           document=Program, response=ChangeOut)
def preview_change():
    document = request.get_json(silent=True)
    if not isinstance(document, dict):
        return error_response(400, "invalid_json", "the body must be a JSON object")
    for key in META:
        document.pop(key, None)
    try:
        return jsonify(_rt().change_preview.preview(g.shop.id, g.shop.currency, document))
    except ProgramInvalid as exc:
        return error_response(422, exc.code, exc.message, fields=exc.fields)


@bp.post("/preview")
@admin_api(summary="What an order would earn now, with the explanation; posts nothing",
           tags=["program"], body=PreviewIn, response=EarningOut)
def preview(body: PreviewIn):
    earning = _rt().orders.preview(g.shop.id, to_order(body.order, g.shop.currency), body.customer_id)
    return jsonify(earning_json(earning, g.shop.currency))

"""Liveness and readiness."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from pydantic import BaseModel
from sqlalchemy import text

from .openapi import api

bp = Blueprint("health", __name__)


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@bp.get("/healthz")
@api(summary="Liveness: the process answers", tags=["meta"], response=Health)
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@api(summary="Readiness: the database and, when configured, Redis answer", tags=["meta"],
     response=Readiness, errors=(503,))
def readyz():
    runtime = current_app.extensions["loyalty"]
    checks = {}
    try:
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    if runtime.settings.jobs_mode == "rq":
        try:
            runtime.queue.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503

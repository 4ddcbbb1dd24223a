"""Liveness and readiness."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from pydantic import BaseModel

from ..storage.db import StorageError
from .openapi import api

bp = Blueprint("health", __name__)


class Health(BaseModel):
    status: str


class WorkerBeat(BaseModel):
    name: str
    state: str
    last_seen: str
    alive: bool


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]
    workers: list[WorkerBeat] | None = None


@bp.get("/healthz")
@api(summary="Liveness: the process answers", tags=["meta"], response=Health, database=False)
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@api(summary="Readiness: the database and, when configured, Redis answer; with Redis, the "
             "workers' heartbeats are listed (informative: a web node is ready without workers)", tags=["meta"],
     response=Readiness, errors=(503,))
def readyz():
    runtime = current_app.extensions["loyalty"]
    checks = {}
    try:
        runtime.db.ping()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    if checks["database"] == "ok":  # the stored secrets open with LOYALTY_ENCRYPTION_KEY
        try:
            problem = runtime.shops.encryption_problem()
            checks["encryption"] = f"error: {problem}" if problem else "ok"
        except StorageError:  # not migrated yet: nothing stored to check
            pass
    if runtime.settings.jobs_mode == "rq":
        try:
            runtime.queue.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    extra = {}
    if runtime.settings.jobs_mode == "rq" and checks["database"] == "ok":
        from ..services.workers import Heartbeats

        beats = Heartbeats(runtime.db, runtime.clock).recent()
        extra["workers"] = [{k: b[k] for k in ("name", "state", "last_seen", "alive")} for b in beats]
        checks["workers"] = f"{sum(b['alive'] for b in beats)} alive"
    ok = all(v == "ok" for k, v in checks.items() if k != "workers")
    return jsonify(status="ok" if ok else "unavailable", checks=checks, **extra), 200 if ok else 503

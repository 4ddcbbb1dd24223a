"""Every error is JSON: {"error": {"code", "message", ...}}; never an HTML page or a trace."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from ..domain.errors import DomainError
from ..logs import request_id

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, **extra):
    body = {"error": {"code": code, "message": message, **extra}}
    rid = request_id.get()
    if rid:
        body["error"]["request_id"] = rid
    return jsonify(body), status


def validation_errors(exc: ValidationError) -> list[dict]:
    return [{"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
            for err in exc.errors()]


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return error_response(exc.status, exc.code, exc.message,
                              **({"details": {k: str(v) for k, v in exc.details.items()}} if exc.details else {}))

    @app.errorhandler(ValidationError)
    def invalid(exc: ValidationError):
        return error_response(422, "validation_failed", "the request is not valid",
                              fields=validation_errors(exc))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "something went wrong on our side")

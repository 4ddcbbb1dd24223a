"""Every error is JSON: {"error": {"code", "message", ...}}; never an HTML page or a trace."""
from __future__ import annotations

import io
import logging

from flask import Flask, current_app, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import IntegerConverter

from ..domain.errors import DomainError
from ..logs import request_id
from ..storage.db import StorageError, database_unavailable

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


DATABASE_RETRY_AFTER = 5  # seconds: a restart or fail-over of PostgreSQL takes about that


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: a non-negative id PostgreSQL can hold (BIGINT). A larger
    number names nothing, so it does not match (a JSON 404) instead of reaching the database."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2 ** 63 - 1)
        super().__init__(map, *args, **kwargs)


def _names_nothing() -> bool:
    """Whether the request's path matches no rule for any method. Werkzeug answers 405, not 404,
    for an id a converter refuses (a number past BIGINT) when rules of the same path differ only
    by method; the path names nothing, so it is a 404 like on any other route."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in ("GET", "POST"):
        try:
            adapter.match(method=method)
            return False
        except MethodNotAllowed:
            continue
        except NotFound:
            return True
        except HTTPException:
            return False
    return False


def install_converters(app: Flask) -> None:
    """Before any blueprint is registered: rules bind their converters when added."""
    app.url_map.converters["int"] = IdConverter


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if isinstance(exc, MethodNotAllowed) and _names_nothing():
            exc = NotFound()  # an id no converter takes, on a path whose rules differ by method
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(exc.code or 500, code, exc.description or exc.name)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response[0].headers["Allow"] = ", ".join(sorted(set(exc.valid_methods) | {"OPTIONS"}))
        return response

    @app.errorhandler(StorageError)
    def database_error(exc: StorageError):
        if not database_unavailable(exc):
            return unexpected(exc)
        log.warning("database unavailable: %s", type(exc).__name__, exc_info=True)
        response = error_response(503, "database_unavailable",
                                  "the database is not reachable right now; try again shortly")
        response[0].headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response

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
        log.error("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "something went wrong on our side")


# Endpoints that take files, and how large (everything else: MAX_CONTENT_LENGTH)
LARGE_BODIES = {"imports_api.create_import": 512 << 20, "admin_pages.import_upload": 512 << 20}


def limit_bodies(app: Flask) -> None:
    """413 for a body over MAX_CONTENT_LENGTH, before anything else looks at the request (the
    credentials, the JSON): a declared Content-Length is checked up front; a body without one
    (chunked) is cut off by Werkzeug while it is read, which lands in the same JSON 413."""

    @app.before_request
    def _too_large():
        limit = LARGE_BODIES.get(request.endpoint or "", app.config.get("MAX_CONTENT_LENGTH"))
        if request.endpoint in LARGE_BODIES:
            request.max_content_length = limit
        length = request.content_length
        if limit is None:
            return None
        if length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            # No length announced: Werkzeug would stop reading at the limit and hand over a cut
            # body (a 400 for bad JSON, or a truncated form). Read one byte past it here instead.
            raw = request.environ["wsgi.input"].read(limit + 1)
            request.environ["wsgi.input"] = io.BytesIO(raw)
            length = len(raw)
        if length is not None and length > limit:
            return error_response(413, "payload_too_large", f"the body is larger than {limit} bytes")
        return None

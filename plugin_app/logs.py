"""Structured logs: one JSON object per line on stderr, carrying the request id."""
from __future__ import annotations

import contextvars
import json
import logging
import sys
import time

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def request_id_for(header: str) -> str:
    """The caller's X-Request-Id when it is a sane one (at most 64 letters, digits and dashes),
    else a new one."""
    import uuid

    return header if 0 < len(header) <= 64 and header.replace("-", "").isalnum() else uuid.uuid4().hex


def log_request(method: str, path: str, status: int, started: float) -> None:
    """The access line of one answered request (`started`: its time.perf_counter() on arrival),
    under the request id the caller has set."""
    if _access.isEnabledFor(logging.INFO):
        _access.info("request", extra={"method": method, "path": path, "status": status,
                                       "ms": round((time.perf_counter() - started) * 1000, 2)})


_access = logging.getLogger("loyalty.access")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class RequestIdFilter(logging.Filter):
    """Stamp each record with the request id while it is still in context."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and v is not None})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def make_handler(stream=None, as_json: bool = True) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    return handler


def configure(level: str = "INFO", as_json: bool = True) -> None:
    root = logging.getLogger()
    if getattr(root, "_loyalty_configured", False):
        return
    root.addHandler(make_handler(as_json=as_json))
    root.setLevel(level.upper())
    root._loyalty_configured = True  # type: ignore[attr-defined]

"""The widget's balance read, `GET /storefront/v1/me`, answered in front of Flask when the
shopper's summary is cached: the hottest request there is (every storefront page a signed-in
shopper opens asks it), and the one whose work is smallest: the widget key, the customer token,
the rate limits and the cached summary, the last two in one Redis round trip. Flask's request
context, routing, hooks and response object cost as much as that work itself (bench/PROFILE.md).

It answers only what it can answer exactly as the Flask view would (the same bytes and headers;
tests/test_hot_path.py compares the two): a plain query, a known widget key, a valid token (or
none), within the limits, and a summary in the cache. Anything else goes to Flask: an unknown
key or a bad token before anything is counted (the view answers the 401), and a request over a
limit or with nothing cached with the verdict handed over in the WSGI environ, so the request is
counted once and the view does not ask Redis again."""
from __future__ import annotations

import logging
import re
import time

from ..logs import request_id, request_id_for
from ..services import identity
from . import storefront_rules as rules
from .storefront_rules import GUARDED, IDENTIFIED

PATH = "/storefront/v1/me"
_PLAIN_QUERY = re.compile(r"[A-Za-z0-9_.=&-]*")  # anything percent-encoded is Flask's to decode

access = logging.getLogger("loyalty.access")
log = logging.getLogger(__name__)


class BalanceReads:
    """WSGI middleware: cached balance reads here, everything else to `app` (Flask's wsgi_app)."""

    def __init__(self, app, runtime) -> None:
        self.app, self.rt = app, runtime

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "GET":
            started = time.perf_counter()
            try:
                answer = self._answer(environ)
            except Exception:  # a fault here must not cost the shopper the answer: Flask tries
                log.exception("balance fast path failed; handing the request to Flask")
                answer = None
            if answer is not None:
                return self._send(environ, start_response, answer, started)
        return self.app(environ, start_response)

    def _answer(self, environ) -> tuple[bytes, dict] | None:
        if environ.get("CONTENT_LENGTH") not in (None, "", "0") or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        query = environ.get("QUERY_STRING", "")
        if not _PLAIN_QUERY.fullmatch(query):
            return None
        args: dict[str, str] = {}
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            args.setdefault(name, value)  # the first of a repeated name, as request.args.get gives it
        rt = self.rt
        shop = rt.shops.by_widget_key(args.get("shop", ""))
        if shop is None:
            return None
        customer = None
        header = environ.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, _, token = header.partition(" ")
            token = token.strip()
            try:
                if scheme.lower() != "bearer" or identity.peek_shop(token) != shop.id:
                    return None
                customer = identity.verify(token, rt.shops.widget_secret(shop.id)).customer_id
            except identity.BadToken:
                return None
        environ[IDENTIFIED] = (shop, customer)
        locale = rules.locale_of(args.get("locale"))
        checks = rules.rate_checks(rt.settings, shop, customer or environ.get("REMOTE_ADDR"))
        wait, cached = rt.rate_limiter.hit_all(checks, fetch=rt.widget.cache_key(shop.id, customer, locale))
        if wait or cached is None:
            environ[GUARDED] = (wait, cached)
            return None
        headers = {"Content-Type": "application/json", "Content-Length": str(len(cached)),
                   **rules.SUMMARY_HEADERS}
        origin = environ.get("HTTP_ORIGIN")
        if origin:
            headers.update(rules.cors_headers(shop, origin))
            headers["Vary"] += ", Origin"
        return cached, headers

    @staticmethod
    def _send(environ, start_response, answer, started: float):
        body, headers = answer
        rid = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        headers["X-Request-Id"] = rid
        start_response("200 OK", list(headers.items()))
        if access.isEnabledFor(logging.INFO):
            token = request_id.set(rid)
            try:
                access.info("request", extra={"method": "GET", "path": PATH, "status": 200,
                                              "ms": round((time.perf_counter() - started) * 1000, 2)})
            finally:
                request_id.reset(token)
        return [body]

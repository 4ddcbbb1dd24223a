"""The widget's balance read, `GET /storefront/v1/me`, and its app-proxy twin `GET /proxy/me`
(what Shopify themes call), answered in front of Flask when the shopper's summary is cached. It
is the hottest request there is (every storefront page a signed-in shopper opens asks it) and
the one whose own work is smallest: who the shopper is (the widget key and customer token, or
Shopify's proxy signature), then the rate limits and the cached summary in one Redis round trip.
Flask's request context, routing, hooks and response object cost as much as that work itself
(bench/PROFILE.md).

It answers only what it can answer exactly as the Flask view would (the same bytes and headers;
tests/test_hot_path.py compares the two): a known shop, a valid token or signature (or none),
within the limits, and a summary in the cache. Anything else goes to Flask: an unknown shop or
a bad token or signature before anything is counted (the view answers the 401); a request over
a limit or with nothing cached with the identity and the verdict handed over in the WSGI
environ, so the request is counted once and the view does not ask Redis again."""
from __future__ import annotations

import io
import logging
import re
import time
from urllib.parse import parse_qsl

from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_current_url

from ..logs import log_request, request_id, request_id_for
from . import storefront_rules as rules
from . import webhooks
from .storefront_rules import GUARDED, IDENTIFIED

DOORS = {"/storefront/v1/me": False, "/proxy/me": True}  # path -> through Shopify's app proxy
_PLAIN_QUERY = re.compile(r"[A-Za-z0-9_.=&-]*")  # anything percent-encoded is Flask's to decode

log = logging.getLogger(__name__)


class BalanceReads:
    """WSGI middleware: cached balance reads here, everything else to `app` (Flask's wsgi_app)."""

    def __init__(self, app, runtime) -> None:
        self.app, self.rt = app, runtime

    def __call__(self, environ, start_response):
        proxy = DOORS.get(environ.get("PATH_INFO", ""))
        if proxy is not None and environ.get("REQUEST_METHOD") == "GET":
            started = time.perf_counter()
            try:
                answer = self._answer(environ, proxy)
            except Exception:  # a fault here must not cost the shopper the answer: Flask tries
                log.exception("balance fast path failed; handing the request to Flask")
                answer = None
            if answer is not None:
                return self._send(environ, start_response, answer, started)
        return self.app(environ, start_response)

    def _answer(self, environ, proxy: bool) -> tuple[bytes, dict] | None:
        if environ.get("CONTENT_LENGTH") not in (None, "", "0") or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        known = self._through_proxy(environ) if proxy else self._with_token(environ)
        if known is None:
            return None
        shop, customer, args = known
        environ[IDENTIFIED] = (shop, customer)
        rt = self.rt
        locale = rules.locale_of(args.get("locale"))
        checks = rules.rate_checks(rt.settings, shop, customer or environ.get("REMOTE_ADDR"))
        wait, cached = rt.rate_limiter.hit_all(checks, fetch=rt.widget.cache_key(shop.id, customer, locale))
        if wait or cached is None:
            environ[GUARDED] = (wait, cached)
            return None
        headers = {"Content-Type": "application/json", "Content-Length": str(len(cached)),
                   **rules.SUMMARY_HEADERS}
        origin = environ.get("HTTP_ORIGIN")
        if origin and not proxy:  # CORS is the widget API's; the proxy is the shop's own origin
            headers.update(rules.cors_headers(shop, origin))
            headers["Vary"] += ", Origin"
        return cached, headers

    def _with_token(self, environ):
        """(shop, customer or None, args) as the view decides it; None for what it refuses (and
        for a query Flask must decode)."""
        query = environ.get("QUERY_STRING", "")
        if not _PLAIN_QUERY.fullmatch(query):
            return None
        args: dict[str, str] = {}
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            args.setdefault(name, value)  # the first of a repeated name, as request.args.get gives it
        shop, customer, refused = rules.token_identity(self.rt, args.get("shop", ""),
                                                       environ.get("HTTP_AUTHORIZATION", ""))
        return None if refused else (shop, customer, args)

    def _through_proxy(self, environ):
        """(shop, customer or None, args) as the view decides it; None for what it refuses."""
        args: dict[str, str] = {}
        for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
            args.setdefault(name, value)
        shop, customer, refused = rules.proxy_identity(self.rt, args, "GET", get_current_url(environ))
        return None if refused else (shop, customer, args)

    @staticmethod
    def _send(environ, start_response, answer, started: float):
        body, headers = answer
        rid = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        headers["X-Request-Id"] = rid
        start_response("200 OK", list(headers.items()))
        token = request_id.set(rid)
        try:
            log_request("GET", environ["PATH_INFO"], 200, started)
        finally:
            request_id.reset(token)
        return [body]


class ShopifyIntake:
    """WSGI middleware: `POST /webhooks/shopify` decided by the view's own function
    (webhooks.accept_shopify) without Flask around it. A delivery's own work (the HMAC over the
    raw body, the depth scan, the inbox row through the group commit) is small beside Flask's
    request context, hooks and response object: under load a third of the intake's CPU
    (bench/PROFILE.md). Only a plain delivery comes here (a Content-Length within the body
    limit, no query string, not chunked); anything else, and any fault, goes to Flask, which
    answers it the same way (tests/test_hot_path.py compares the two)."""

    PATH = "/webhooks/shopify"

    def __init__(self, app, runtime, json_provider) -> None:
        self.app, self.rt, self.json = app, runtime, json_provider

    def __call__(self, environ, start_response):
        if (environ.get("PATH_INFO") != self.PATH or environ.get("REQUEST_METHOD") != "POST"
                or environ.get("QUERY_STRING") or "HTTP_TRANSFER_ENCODING" in environ):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return self.app(environ, start_response)
        if not 0 <= length <= self.rt.settings.max_body_bytes:
            return self.app(environ, start_response)  # Flask answers the 413
        started = time.perf_counter()
        body = environ["wsgi.input"].read(length)
        rid = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        token = request_id.set(rid)
        try:
            if len(body) != length:  # the client sent less than it announced
                raise ValueError("short body")
            status, answer = webhooks.accept_shopify(self.rt, EnvironHeaders(environ), body)
        except Exception:  # Flask takes it from the start (its error handling, its 500)
            log.exception("intake fast path failed; handing the request to Flask")
            request_id.reset(token)
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
            return self.app(environ, start_response)
        try:
            if "error" in answer:
                answer["error"]["request_id"] = rid
            out = (self.json.dumps(answer, separators=(",", ":")) + "\n").encode()
            start_response(f"{status} {HTTP_STATUS_CODES[status]}",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(out))),
                            ("X-Request-Id", rid)])
            log_request("POST", self.PATH, status, started)
            return [out]
        finally:
            request_id.reset(token)

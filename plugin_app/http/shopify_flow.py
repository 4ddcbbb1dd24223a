"""`POST /shopify/flow/actions/<action>`: the runtime URL of our Shopify Flow actions
(extensions/loyalty-add-points, …), and `POST /shopify/flow/lifecycle`: Flow's trigger lifecycle
callback (extensions/loyalty-flow-lifecycle). The request is verified with Shopify's SDK on the raw bytes
before the body is parsed (connectors.shopify.flow; a body nested too deep for the SDK's own
parse is refused by a scan first, unparsed); the shop is the one that signed it and the one the
signed body names. Answers, as Flow reads them
(https://shopify.dev/docs/apps/build/flow/actions/endpoints): 200 done (a replayed
`action_run_id` too: it posts once); 401 unsigned, forged or another shop's; 400/422 input we
cannot use, 404 a shop that has not installed the app, 409 a run id reused for another request:
4XX, which Flow does not retry, and nothing changed; 503 storage or secrets unavailable, which
Flow retries."""
from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, jsonify, request

from connectors.shopify import flow as shopify_flow
from connectors.shopify.webhooks import valid_shop_domain
from ..crypto import UndecryptableSecret
from ..storage.db import StorageError
from .errors import error_response
from .jsonbody import refuse_deep
from .openapi import api

bp = Blueprint("shopify_flow", __name__, url_prefix="/shopify/flow")
log = logging.getLogger(__name__)


def _verified(body: bytes, *, require_shop: bool):
    """(the verified shop domain, None) or (None, the error response). Only the headers and a
    scan of the raw bytes are read before the SDK has checked the signature."""
    domain = (request.headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
    if not request.headers.get("X-Shopify-Hmac-Sha256") or ((domain or require_shop) and not valid_shop_domain(domain)):
        return None, error_response(401, "unauthorized", "a Flow request is signed and names its shop")
    rt = current_app.extensions["loyalty"]
    s = rt.settings
    app_secrets = [s.shopify_api_secret, s.shopify_old_api_secret]
    try:
        secrets = rt.shops.signing("shopify", domain, app_secrets)[1] if domain else [x for x in app_secrets if x]
    except StorageError:
        return None, error_response(503, "unavailable", "cannot reach storage; retry later")
    except UndecryptableSecret:
        log.error("Flow request for shop %s: its stored secrets cannot be decrypted", domain)
        return None, error_response(503, "unavailable", "this shop's secrets cannot be read right now; retry later")
    if (refused := refuse_deep(body)) is not None:  # a scan, not a parse: the SDK's parse cannot recurse
        return None, refused
    verified = shopify_flow.verify(body, request.headers, secrets, s.shopify_api_key or "flow",
                                   require_shop=require_shop)
    if not verified.ok:
        return None, error_response(401, "unauthorized", "the request is not signed by Shopify for this shop")
    return verified.domain, None


def _json(body: bytes):
    try:
        return json.loads(body), None
    except ValueError:
        return None, error_response(400, "invalid_json", "the body must be a JSON object")


def _handle(require_shop: bool, run):
    """A Flow request: the raw body verified (before anything parses it), then read as JSON and
    handed to `run(shop domain, parsed body)`; a mismatch the service finds is a 401."""
    body = request.get_data(cache=False)  # raw bytes; 413 past MAX_CONTENT_LENGTH
    domain, refused = _verified(body, require_shop=require_shop)
    if refused is not None:
        return refused
    parsed, refused = _json(body)
    if refused is not None:
        return refused
    try:
        return jsonify(run(domain, parsed))
    except PermissionError as exc:
        return error_response(401, "unauthorized", str(exc))


@bp.post("/actions/<action>")
@api(summary="Shopify Flow action runtime URL (add points, add store credit, set tier, record an action)",
     tags=["webhooks"], errors=(400, 401, 409, 413, 422))
def flow_action(action: str):
    return _handle(True, lambda domain, parsed: current_app.extensions["loyalty"].flow_actions.run(action, domain, parsed))


@bp.post("/lifecycle")
@api(summary="Shopify Flow trigger lifecycle callback (which shops have a workflow using a trigger)",
     tags=["webhooks"], errors=(400, 401, 413, 422))
def flow_lifecycle():
    """200 whenever the callback is Shopify's and readable (Flow refuses to enable a workflow
    otherwise), whether or not it names a trigger and shop we know."""
    return _handle(False, lambda domain, parsed: current_app.extensions["loyalty"].flow_lifecycle.report(domain, parsed))

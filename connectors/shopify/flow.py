"""Flow action requests: verified with Shopify's SDK (`verify_flow_action_req`: the base64
HMAC-SHA256 of the raw body under the app's client secret, in X-Shopify-Hmac-SHA256; the shop in
X-Shopify-Shop-Domain), https://shopify.dev/docs/apps/build/flow/actions/endpoints#verifying-requests.

The SDK runs the body through `json.loads` for its log redaction before it compares the HMAC,
so a body nested deep enough to make that parse recurse is refused by a scan before the SDK is
called (see connectors/shopify/webhooks.py); nothing of ours parses the body before the
signature is known good."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from shopify_app import verify_flow_action_req

from .webhooks import valid_shop_domain


@dataclass(frozen=True)
class Verified:
    ok: bool
    domain: str  # the *.myshopify.com domain the signed request came from ("" when not ok)
    status: int  # what to answer when not ok
    reason: str


def verify(body: bytes, headers: Mapping[str, str], secrets: list[str], api_key: str = "flow", *,
           require_shop: bool = True) -> Verified:
    """Verify a Flow request signed with one of `secrets` (current first). Actions name their shop
    in X-Shopify-Shop-Domain; a lifecycle callback (`require_shop=False`) may name it only in
    its signed body."""
    secrets = [s for s in secrets if s]
    domain = (headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
    if not secrets:
        return Verified(False, "", 401, "no secret to check the signature with")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Verified(False, "", 401, "the body is not UTF-8: not signed by Shopify")
    result = verify_flow_action_req(
        {"method": "POST", "headers": {k.lower(): v for k, v in headers.items()}, "body": text, "url": ""},
        {"client_id": api_key, "client_secret": secrets[0],
         **({"old_client_secret": secrets[1]} if len(secrets) > 1 else {})})
    if not result.ok:
        return Verified(False, "", 401, result.log.code if result.log else "invalid signature")
    if (domain or require_shop) and (not valid_shop_domain(domain)
                                     or result.shop != domain.removesuffix(".myshopify.com")):
        return Verified(False, "", 401, "missing or invalid X-Shopify-Shop-Domain")
    return Verified(True, domain, 200, "verified")

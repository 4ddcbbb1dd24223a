"""WooCommerce deliveries: base64 HMAC-SHA256 of the raw body in X-WC-Webhook-Signature, keyed
with the secret we chose when we created the webhook. The creation ping is unsigned and
form-bodied (`webhook_id=N`). There is no per-event id and no retry: the dedupe key is derived
from the resource, its id, its modification time and its status."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Mapping

PING = re.compile(rb"^webhook_id=\d+$")


def is_ping(body: bytes, headers: Mapping[str, str]) -> bool:
    return not headers.get("X-WC-Webhook-Signature") and bool(PING.match(body.strip()))


def verify(body: bytes, headers: Mapping[str, str], secrets: list[str]) -> bool:
    given = headers.get("X-WC-Webhook-Signature", "")
    if not given:
        return False
    for secret in secrets:
        digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        if hmac.compare_digest(given, digest):
            return True
    return False


def dedupe_key(topic: str, body: bytes) -> str:
    """`<topic>:<id>:<date_modified_gmt>:<status>`: the same state delivered twice is one
    message; a later state of the same resource is another."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    state = ":".join(str(payload.get(k, "")) for k in ("id", "date_modified_gmt", "status"))
    return f"{topic}:{state}"[:255]

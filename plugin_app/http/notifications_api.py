"""Notifications over HTTP: the merchant's webhook endpoints, the delivery log with replay,
email previews (admin API), and the shoppers' unsubscribe link (public, signed)."""
from __future__ import annotations

import secrets
from typing import Literal

from flask import Blueprint, current_app, g, jsonify, render_template_string, request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..domain import notifications as N
from ..services.notify import WEBHOOK_TOPICS
from .auth import admin_api

bp = Blueprint("notifications_api", __name__, url_prefix="/admin/api/v1")
public_bp = Blueprint("unsubscribe", __name__)


def _rt():
    return current_app.extensions["loyalty"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndpointIn(Strict):
    url: str = Field(max_length=500, description="https URL that receives POSTed JSON events")
    topics: list[str] = Field(min_length=1, max_length=20, description=", ".join(WEBHOOK_TOPICS))

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not (v.startswith("https://") or v.startswith("http://127.0.0.1") or v.startswith("http://localhost")):
            raise ValueError("must be an https URL")
        return v


class EndpointOut(BaseModel):
    id: int
    url: str
    topics: list[str]
    active: bool
    created_at: str
    secret: str | None = Field(None, description="shown once, at creation: verify X-Loyalty-Signature with it")


class EndpointsOut(BaseModel):
    endpoints: list[EndpointOut]
    topics: list[str]
    signature: str


class LogQuery(Strict):
    channel: Literal["email", "webhook"] | None = None
    limit: int = Field(100, ge=1, le=500)


class LogOut(BaseModel):
    deliveries: list[dict]


class PreviewQuery(Strict):
    lang: Literal["en", "it", "de", "fr", "es"] = "en"


SIGNATURE_DOC = ("X-Loyalty-Signature: sha256=<hex HMAC-SHA256 of '<X-Loyalty-Timestamp>.<raw body>' keyed by the "
                 "endpoint's secret>; X-Loyalty-Event-Id is the same on every retry of one event")


@bp.get("/webhooks")
@admin_api(summary="The shop's webhook endpoints, the topics on offer and how deliveries are signed",
           tags=["notifications"], response=EndpointsOut)
def endpoints():
    return jsonify(endpoints=_rt().notifier.endpoints(g.shop.id), topics=list(WEBHOOK_TOPICS), signature=SIGNATURE_DOC)


@bp.post("/webhooks")
@admin_api(summary="Add an endpoint; its signing secret is returned once", tags=["notifications"], body=EndpointIn,
           response=EndpointOut, status=201)
def add_endpoint(body: EndpointIn):
    return jsonify(_rt().notifier.add_endpoint(g.shop.id, body.url, body.topics, "whsec_" + secrets.token_urlsafe(24))), 201


@bp.delete("/webhooks/<int:endpoint_id>")
@admin_api(summary="Disable an endpoint (nothing more is sent to it)", tags=["notifications"],
           errors=(404,))
def remove_endpoint(endpoint_id: int):
    _rt().notifier.remove_endpoint(g.shop.id, endpoint_id)
    return "", 204


@bp.get("/notifications")
@admin_api(summary="The delivery log: emails and webhook deliveries, newest first, with state and last error",
           tags=["notifications"], query=LogQuery, response=LogOut)
def delivery_log(query: LogQuery):
    return jsonify(deliveries=_rt().notifier.log(g.shop.id, target=query.channel, limit=query.limit))


@bp.post("/notifications/<int:notification_id>/replay")
@admin_api(summary="Send a delivery again (the same event id)", tags=["notifications"], errors=(404,))
def replay_delivery(notification_id: int):
    return jsonify(id=notification_id, state=_rt().notifier.replay(g.shop.id, notification_id))


@bp.get("/emails/<any(" + ", ".join(N.KINDS) + "):kind>/preview")
@admin_api(summary="An email as a shopper would get it now (sample member), in any shipped language: "
                   "subject, plain-text body and HTML",
           tags=["notifications"], query=PreviewQuery)
def email_preview(query: PreviewQuery, kind: str):
    return jsonify(_rt().notifier.preview(g.shop.id, kind, query.lang))


PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{ shop }}</title><style>body{font:16px system-ui,sans-serif;max-width:520px;margin:60px auto;padding:0 20px}
button{font:inherit;padding:8px 16px;border-radius:8px;border:0;background:#303030;color:#fff}</style></head><body>
{% if done %}<h1>Unsubscribed</h1><p>You will get no more emails from {{ shop }} rewards.</p>
{% else %}<h1>Unsubscribe?</h1><p>Stop emails from {{ shop }} rewards (your points stay yours).</p>
<form method="post"><button type="submit">Unsubscribe</button></form>{% endif %}</body></html>"""


@public_bp.route("/u/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """GET asks (mail scanners follow links); POST unsubscribes, including RFC 8058 one-click."""
    result = _rt().notifier.unsubscribe(token, confirm=request.method == "POST")
    return render_template_string(PAGE, shop=result["shop"], done=result["unsubscribed"])

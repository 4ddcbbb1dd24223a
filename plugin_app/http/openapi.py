"""OpenAPI 3.1, generated from the routes themselves: each JSON view is declared with `@api`,
which names its models; `/openapi.json` walks the URL map, so the document cannot drift."""
from __future__ import annotations

import functools
import re
from typing import Any, Callable

from flask import Blueprint, Flask, current_app, jsonify, request
from pydantic import BaseModel

from .errors import error_response

bp = Blueprint("openapi", __name__)
_PARAM = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


MAX_ID = 2 ** 63 - 1  # ids are PostgreSQL BIGINTs; a path id above this names nothing (404)


def api(*, summary: str, tags: list[str], response: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
        document: type | None = None, status: int = 200, auth: str | None = None,
        errors: tuple[int, ...] = (), also: tuple[int, ...] = (), database: bool = True,
        media: str | None = None) -> Callable:
    """Declare a JSON endpoint. A `body` model is validated before the view runs (422 with a
    message per field) and passed as the `body` argument; likewise `query`. `document` names
    a type (a dataclass) whose schema describes a body the view parses itself. `also` names other
    success statuses answered with the same body (200 for an idempotent replay of a 201).

    The statuses every such route can answer are derived, not listed by hand: 400 (not JSON),
    413 (too large) and 422 for a body; 422 for a query; 401 for `auth`; 404 for an id in the
    path; 503 while the database is unreachable (`database=False` for routes that never touch it).
    Text with a NUL byte (which PostgreSQL cannot store) is refused here with 422, wherever it
    comes from: the path, the query or the body. `media`: a success body that is not JSON (a
    streamed `text/csv`), described as text of that type."""

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any):
            payload = request.get_json(silent=True) if body is not None or document is not None else None
            where = _nul_in(kwargs, "path") or _nul_in({k: "".join(v) for k, v in request.args.lists()}, "query") or \
                (_nul_in(payload, "body") if payload is not None and _may_hold_nul(request.get_data()) else None)
            if where:
                return error_response(422, "validation_failed", "the request is not valid",
                                      fields=[{"field": where, "message": "NUL characters are not allowed"}])
            if body is not None:
                if payload is None:
                    return error_response(400, "invalid_json", "the body must be a JSON object")
                kwargs["body"] = body.model_validate(payload)
            if query is not None:
                kwargs["query"] = query.model_validate(request.args.to_dict())
            return view(*args, **kwargs)

        inner.__openapi__ = dict(summary=summary, tags=tags, response=response, body=body,
                                 query=query, document=document, status=status, auth=auth,
                                 errors=errors, also=also, database=database, media=media)
        return inner

    return wrap


def _may_hold_nul(raw: bytes) -> bool:
    """Whether a JSON body's text could hold a NUL character: only through the escape `\\u0000`
    (the parser refuses a raw control character in a string) or a NUL byte (a body in UTF-16 or
    UTF-32, which the parser also reads). Without either, the walk over the body is skipped."""
    return b"\x00" in raw or b"\\u0000" in raw


def _nul_in(value: Any, where: str) -> str | None:
    """The place (dotted) of the first string holding a NUL character, or None."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            found = _nul_in(str(k), where) or _nul_in(v, f"{where}.{k}")
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _nul_in(v, f"{where}.{i}")
            if found:
                return found
    return None


def statuses(meta: dict, has_path_params: bool) -> set[int]:
    """Every error status a declared route can answer (see `api`)."""
    out = set(meta["errors"])
    if meta["body"] is not None or meta["document"] is not None:
        out |= {400, 413, 422}
    if meta["query"] is not None:
        out.add(422)
    if meta["auth"]:
        out.add(401)
    if has_path_params:
        out.add(404)
    if meta["database"]:
        out.add(503)
    return out


class _Schemas:
    """All models' JSON schemas from one pydantic generation, so two models that share a class
    name in different modules (a cart line and an order line) get distinct component names."""

    def __init__(self, models: list[type]) -> None:
        from pydantic import TypeAdapter

        unique = list(dict.fromkeys(models))
        refs, defs = TypeAdapter.json_schemas([(m, "validation", TypeAdapter(m)) for m in unique],
                                              ref_template="#/components/schemas/{model}")
        self.components: dict[str, Any] = defs.get("$defs", {})
        self.refs = {m: refs[(m, "validation")] for m in unique}

    def ref(self, model: type) -> dict:
        return self.refs[model]


def _path_param(conv: str | None, args: str | None) -> dict:
    if conv == "int":
        bounds = dict(a.strip().split("=", 1) for a in (args or "").split(",") if "=" in a)
        return {"type": "integer", "minimum": int(bounds.get("min", 0)), "maximum": int(bounds.get("max", MAX_ID))}
    if conv == "any":
        return {"type": "string", "enum": [a.strip(" '\"") for a in args.split(",")]}
    return {"type": "string", "minLength": 1}


def build_spec(app: Flask) -> dict:
    paths: dict[str, dict] = {}
    routes = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        meta = getattr(app.view_functions[rule.endpoint], "__openapi__", None)
        if meta is not None:
            routes.append((rule, meta))
    schemas = _Schemas([ErrorResponse] + [m for _, meta in routes for m in
                                          (meta["response"], meta["body"] or meta["document"])
                                          if m is not None])
    error_ref = schemas.ref(ErrorResponse)
    for rule, meta in routes:
        path = _PARAM.sub(lambda m: "{" + m.group("name") + "}", rule.rule)
        path_params = list(_PARAM.finditer(rule.rule))
        params = [{"name": m.group("name"), "in": "path", "required": True,
                   "schema": _path_param(m.group("conv"), m.group("args"))} for m in path_params]
        if meta["query"] is not None:
            query_schema = meta["query"].model_json_schema()
            props = query_schema.get("properties", {})
            required = set(query_schema.get("required", []))
            params += [{"name": n, "in": "query", "required": n in required, "schema": s}
                       for n, s in props.items()]
        ok: dict[str, Any] = {"description": "OK"}
        if meta["response"] is not None:
            ok["content"] = {"application/json": {"schema": schemas.ref(meta["response"])}}
        elif meta.get("media"):
            ok["content"] = {meta["media"]: {"schema": {"type": "string"}}}
        responses = {str(code): ok for code in (meta["status"], *meta["also"])}
        for code in sorted(statuses(meta, bool(path_params))):
            responses[str(code)] = {"description": "error",
                                    "content": {"application/json": {"schema": error_ref}}}
        if "503" in responses:
            responses["503"]["headers"] = {"Retry-After": {"schema": {"type": "string"},
                                                           "description": "seconds to wait"}}
        op: dict[str, Any] = {"summary": meta["summary"], "tags": meta["tags"],
                              "operationId": rule.endpoint.replace(".", "_"),
                              "parameters": params, "responses": responses}
        if meta["body"] is not None or meta["document"] is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": schemas.ref(meta["body"] or meta["document"])}}}
        if meta["auth"]:
            op["security"] = [{meta["auth"]: []}]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Loyalty backend", "version": "1",
                 "description": "Points, store credit, tiers and referrals for Shopify and "
                                "WooCommerce stores. Errors are {\"error\": {\"code\", \"message\"}}."},
        "paths": paths,
        "webhooks": _webhooks(),
        "components": {"schemas": schemas.components, "securitySchemes": {
            "adminKey": {"type": "http", "scheme": "bearer",
                         "description": "the shop's admin API key, or a Shopify session token"}}},
    }


def _webhooks() -> dict:
    """The events we POST to a merchant's endpoints (`/admin/api/v1/webhooks`), one per topic:
    the envelope and, per topic, what `data` holds besides the member's reference."""
    from ..services.notify import TOPIC_DATA, WEBHOOK_TOPICS

    member = {"type": ["object", "null"], "properties": {
        "id": {"type": "integer"}, "customer_id": {"type": "string"}, "email": {"type": ["string", "null"]},
        "tier": {"type": ["string", "null"]}, "points": {"type": "integer"}, "credit": {"type": "string"}}}
    out = {}
    for topic in WEBHOOK_TOPICS:
        data = {"type": "object", "properties": {**TOPIC_DATA.get(topic, {}), "member": member}}
        envelope = {"type": "object", "required": ["id", "topic", "shop_id", "created_at", "data"], "properties": {
            "id": {"type": "string", "description": "evt_<n>: the same on every retry (X-Loyalty-Event-Id)"},
            "topic": {"const": topic}, "shop_id": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"}, "data": data}}
        out[topic] = {"post": {
            "summary": f"{topic}: signed with X-Loyalty-Signature (see GET /admin/api/v1/webhooks)",
            "tags": ["notifications"], "operationId": "webhook_" + topic.replace(".", "_"),
            "requestBody": {"required": True, "content": {"application/json": {"schema": envelope}}},
            "responses": {"200": {"description": "any 2xx: delivered; anything else is retried with backoff"}}}}
    return out


class Spec(BaseModel):
    openapi: str


@bp.get("/openapi.json")
@api(summary="This document", tags=["meta"], database=False)
def openapi_json():
    spec = current_app.extensions.get("loyalty_openapi")
    if spec is None:
        spec = current_app.extensions["loyalty_openapi"] = build_spec(current_app)
    return jsonify(spec)

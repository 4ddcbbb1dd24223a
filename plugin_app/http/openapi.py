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


def api(*, summary: str, tags: list[str], response: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
        document: type | None = None, status: int = 200, auth: str | None = None,
        errors: tuple[int, ...] = ()) -> Callable:
    """Declare a JSON endpoint. A `body` model is validated before the view runs (422 with a
    message per field) and passed as the `body` argument; likewise `query`. `document` names
    a type (a dataclass) whose schema describes a body the view parses itself."""

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any):
            if body is not None:
                payload = request.get_json(silent=True)
                if payload is None:
                    return error_response(400, "invalid_json", "the body must be a JSON object")
                kwargs["body"] = body.model_validate(payload)
            if query is not None:
                kwargs["query"] = query.model_validate(request.args.to_dict())
            return view(*args, **kwargs)

        inner.__openapi__ = dict(summary=summary, tags=tags, response=response, body=body,
                                 query=query, document=document, status=status, auth=auth,
                                 errors=errors)
        return inner

    return wrap


def _schema(model: type, components: dict) -> dict:
    if isinstance(model, type) and issubclass(model, BaseModel):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    else:
        from pydantic import TypeAdapter

        schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_spec(app: Flask) -> dict:
    components: dict[str, Any] = {}
    paths: dict[str, dict] = {}
    error_ref = _schema(ErrorResponse, components)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        meta = getattr(app.view_functions[rule.endpoint], "__openapi__", None)
        if meta is None:
            continue
        path = _PARAM.sub(lambda m: "{" + m.group("name") + "}", rule.rule)
        params = [{"name": m.group("name"), "in": "path", "required": True,
                   "schema": {"type": "integer"} if m.group("conv") == "int" else
                   {"type": "string", "enum": [a.strip(" '\"") for a in m.group("args").split(",")]}
                   if m.group("conv") == "any" else {"type": "string"}}
                  for m in _PARAM.finditer(rule.rule)]
        if meta["query"] is not None:
            props = meta["query"].model_json_schema().get("properties", {})
            required = set(meta["query"].model_json_schema().get("required", []))
            params += [{"name": n, "in": "query", "required": n in required, "schema": s}
                       for n, s in props.items()]
        ok: dict[str, Any] = {"description": "OK"}
        if meta["response"] is not None:
            ok["content"] = {"application/json": {"schema": _schema(meta["response"], components)}}
        responses = {str(meta["status"]): ok}
        for code in sorted(set(meta["errors"]) | ({401} if meta["auth"] else set()) | (
                {422} if meta["body"] or meta["query"] or meta["document"] else set())):
            responses[str(code)] = {"description": "error",
                                    "content": {"application/json": {"schema": error_ref}}}
        op: dict[str, Any] = {"summary": meta["summary"], "tags": meta["tags"],
                              "operationId": rule.endpoint.replace(".", "_"),
                              "parameters": params, "responses": responses}
        if meta["body"] is not None or meta["document"] is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _schema(meta["body"] or meta["document"], components)}}}
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
        "components": {"schemas": components, "securitySchemes": {
            "adminKey": {"type": "http", "scheme": "bearer",
                         "description": "the shop's admin API key, or a Shopify session token"}}},
    }


class Spec(BaseModel):
    openapi: str


@bp.get("/openapi.json")
@api(summary="This document", tags=["meta"])
def openapi_json():
    spec = current_app.extensions.get("loyalty_openapi")
    if spec is None:
        spec = current_app.extensions["loyalty_openapi"] = build_spec(current_app)
    return jsonify(spec)

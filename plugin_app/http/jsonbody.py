"""Every JSON request body goes through one reader: the app's JSON provider, which Flask's
`request.get_json()` calls. It refuses a body nested deeper than `jsondepth.MAX_DEPTH` with a
JSON 400 before `json.loads` can recurse into RecursionError (a 500). The refusal is an HTTP
error rather than a ValueError on purpose: `get_json(silent=True)` swallows ValueErrors and the
caller would then say something vaguer. Webhook intake reads raw bytes and calls `refuse_deep`
itself, after the signature check."""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

from ..domain import jsondepth
from .errors import error_response


class JsonTooDeep(BadRequest):
    description = f"the JSON body is nested deeper than {jsondepth.MAX_DEPTH} levels"


class DepthCheckedJSON(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            jsondepth.check(s)
        except jsondepth.TooDeep:
            raise JsonTooDeep() from None
        return super().loads(s, **kwargs)


def refuse_deep(body: bytes):
    """A JSON 400 for a raw body that nests too deeply, else None."""
    try:
        jsondepth.check(body)
    except jsondepth.TooDeep as exc:
        return error_response(400, "json_too_deep", str(exc))
    return None


def install(app: Flask) -> None:
    sort_keys = app.json.sort_keys
    app.json = DepthCheckedJSON(app)
    app.json.sort_keys = sort_keys

    @app.errorhandler(JsonTooDeep)
    def too_deep(exc: JsonTooDeep):
        return error_response(400, "json_too_deep", exc.description)

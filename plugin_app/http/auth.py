"""Who is calling. Admin API: `Authorization: Bearer <admin_api_key>` names the shop; every
view then works inside that shop only (the shop never comes from the URL or the body)."""
from __future__ import annotations

import functools
from typing import Callable

from flask import current_app, g, request

from .errors import error_response


def admin_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def inner(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error_response(401, "unauthorized", "send Authorization: Bearer <admin API key>")
        shop = current_app.extensions["loyalty"].shops.by_api_key(token.strip())
        if shop is None:
            return error_response(401, "unauthorized", "unknown or revoked API key")
        g.shop = shop
        g.actor = "api-key"
        return view(*args, **kwargs)

    return inner

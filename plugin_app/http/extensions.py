"""The backend of Shopify's extension surfaces, `/ext/...` (contract: extensions/README.md).

Each request carries `Authorization: Bearer <session token>` from the extension's
`sessionToken.get()`; the Shopify connector checks it with the SDK's helper for the surface.
The shop comes from the token's `dest`, the customer from its `sub` (customer accounts,
checkout); never from the body. A POS token names the shop and the staff member: the customer
comes from the POS context and must be a member of that shop. Extensions run on Shopify's
origins and send no cookies: CORS admits any origin (as the SDK's preflight answer does), the
token is the credential."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, current_app, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from connectors.shopify import auth as shopify_auth
from ..i18n import LOCALES
from .errors import error_response
from .openapi import api

bp = Blueprint("extensions", __name__, url_prefix="/ext")

CORS = {"Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Expose-Headers": "X-Shopify-API-Request-Failure-Reauthorize-Url",
        "Access-Control-Max-Age": "7200"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RedeemIn(Strict):
    reward_id: str = Field(min_length=1, max_length=40)
    idempotency_key: str = Field(min_length=8, max_length=180)
    steps: int | None = Field(None, ge=1, le=10_000, description="for a reward of a variable amount")


class PosRedeemIn(RedeemIn):
    customer_id: str = Field(min_length=1, max_length=64,
                             description="the POS customer: '123' or 'gid://shopify/Customer/123'")


class BirthdayIn(Strict):
    birthday: str = Field(min_length=1, max_length=10, description="YYYY-MM-DD, or --MM-DD without the year")


class SummaryOut(BaseModel):
    member: bool
    points: int
    pending_points: int
    tier: dict | None
    store_credit: dict
    rewards: list[dict]
    referral: dict | None
    activity: list[dict]
    birthday: dict
    badges: list[dict] = []  # {id, name, earned, text, percent, points_text}
    challenges: list[dict] = []  # {id, name, joined, enrollment, text, percent, ends_text, points_text}


class RedeemOut(BaseModel):
    redemption_id: int
    code: str
    title: str
    value_text: str
    points: int
    expires_at: str
    expires_at_text: str


class BirthdayOut(BaseModel):
    birthday: str
    text: str | None = None


class OrderOut(BaseModel):
    order_id: str
    points: int
    state: str
    text: str


class ThankYouOut(BaseModel):
    order_id: str
    guest: bool
    points: int
    state: str
    text: str
    claim: dict | None = None


class PosCustomerOut(BaseModel):
    customer_id: str
    points: int
    tier: dict | None
    store_credit: dict
    rewards: list[dict]


def _rt():
    return current_app.extensions["loyalty"]


def _locale() -> str | None:
    """`?locale=` as the extension has it (`shopify.localization.language` / `useLanguage()`:
    'it', 'it-IT'); a language we do not ship is None (the shop's is used)."""
    lang = str(request.args.get("locale") or "").strip().replace("_", "-").lower()[:20].split("-")[0]
    return lang if lang in LOCALES else None


def _identify(surface: str):
    """(shop, session, problem): the SDK's verdict on the token, then the shop it names, which
    must be installed here."""
    rt = _rt()
    s = rt.settings
    if not (s.shopify_api_key and s.shopify_api_secret):
        return None, None, error_response(503, "not_configured", "SHOPIFY_API_KEY and SHOPIFY_API_SECRET are not set")
    answer = shopify_auth.verify_extension_request(surface, request.method, request.url, dict(request.headers),
                                                   s.shopify_api_key, s.shopify_api_secret, s.shopify_old_api_secret)
    if answer.session is None:
        return None, None, error_response(401, "unauthorized", f"session token refused: {answer.reason}")
    shop = rt.shops.by_domain("shopify", answer.session.domain)
    if shop is None or shop.status != "installed":
        return None, None, error_response(401, "unauthorized", "the token names a shop that has not installed the app")
    g.shop = shop
    who = answer.session.customer_id or answer.session.staff_id or request.remote_addr
    wait = rt.rate_limiter.hit_all([(f"shop:{shop.id}", s.storefront_shop_rate),
                                    (f"ext:{shop.id}:{who}", s.storefront_client_rate)])
    if wait:
        response = error_response(429, "rate_limited", "too many requests; slow down")
        response[0].headers["Retry-After"] = str(wait)
        return None, None, response
    return shop, answer.session, None


def _customer_required(surface: str = "customer_account"):
    shop, session, problem = _identify(surface)
    if problem is None and session.customer_id is None:
        problem = error_response(401, "sign_in_required", "the token names no signed-in customer")
    return shop, session, problem


@bp.before_request
def preflight():
    """A CORS preflight: the SDK's answer for the surface (204 with its headers)."""
    if request.method != "OPTIONS":
        return None
    surface = ("pos" if request.path.startswith("/ext/pos/") else
               "checkout" if request.path.startswith("/ext/checkout/") else "customer_account")
    s = _rt().settings
    answer = shopify_auth.verify_extension_request(surface, "OPTIONS", request.url, dict(request.headers),
                                                   s.shopify_api_key or "-", s.shopify_api_secret or "-")
    response = current_app.response_class(status=204)
    response.headers.update({**CORS, **answer.headers})
    return response


@bp.after_request
def cors(response):
    for name, value in CORS.items():
        response.headers.setdefault(name, value)
    response.headers["Vary"] = "Authorization"
    response.headers.setdefault("Cache-Control", "private, no-store")
    return response


# -- customer accounts ---------------------------------------------------------------------------
@bp.get("/customer-account/summary")
@api(summary="Customer account extensions: the shopper's points, tier, store credit, rewards, referral "
     "link, activity, birthday, badges and challenges, in the shopper's language", tags=["extensions"], response=SummaryOut,
     errors=(401, 429))
def customer_summary():
    shop, session, problem = _customer_required()
    if problem:
        return problem
    return jsonify(_rt().extension_views.summary(shop, session.customer_id, _locale()))


@bp.post("/customer-account/redeem")
@api(summary="Customer account extensions: hold the points for a reward and give a one-use code "
     "(idempotent)", tags=["extensions"], body=RedeemIn, response=RedeemOut, status=201,
     errors=(401, 404, 409, 502, 429))
def customer_redeem(body: RedeemIn):
    shop, session, problem = _customer_required()
    if problem:
        return problem
    answer = _rt().extension_views.redeem(shop, session.customer_id, body.reward_id, f"ca:{body.idempotency_key}",
                                          steps=body.steps, locale=_locale())
    return jsonify(answer), 201


@bp.post("/customer-account/birthday")
@api(summary="Customer account extensions: the shopper gives their birthday, once (as on the storefront)",
     tags=["extensions"], body=BirthdayIn, response=BirthdayOut, errors=(401, 409, 429))
def customer_birthday(body: BirthdayIn):
    from ..domain.birthdays import show

    shop, session, problem = _customer_required()
    if problem:
        return problem
    rt = _rt()
    member = rt.members.set_birthday(shop.id, session.customer_id, body.birthday, source="shopper",
                                     actor=f"customer:{session.customer_id}")
    return jsonify(birthday=show(member.birthday), text=rt.widget.birthday_text(shop, member.birthday, _locale()))


@bp.get("/customer-account/orders/<order_id>")
@api(summary="Customer account order-status block: what this order earned (or will), or why it was "
     "taken back; only the shopper's own order", tags=["extensions"], response=OrderOut, errors=(401, 429))
def customer_order(order_id: str):
    shop, session, problem = _customer_required()
    if problem:
        return problem
    return jsonify(_rt().extension_views.order_status(shop, session.customer_id, order_id, _locale()))


# -- checkout: the thank-you page ----------------------------------------------------------------
def _estimate_args():
    """`?subtotal=&currency=` from the checkout (for an estimate only): (amount, currency) or a problem."""
    raw = request.args.get("subtotal")
    if raw is None:
        return None, None, None
    try:
        amount = Decimal(raw)
        if not amount.is_finite() or amount < 0 or amount > Decimal(10) ** 9:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        return None, None, error_response(422, "validation_failed", "subtotal must be a non-negative amount",
                                          fields=[{"field": "subtotal", "message": "not an amount"}])
    return amount.quantize(Decimal("0.01")), str(request.args.get("currency") or "").upper()[:3], None


@bp.get("/checkout/orders/<order_id>")
@api(summary="Thank-you page block: the points this order earns (or will), and for a guest how to earn "
     "them next time", tags=["extensions"], response=ThankYouOut, errors=(401, 422, 429))
def checkout_order(order_id: str):
    shop, session, problem = _identify("checkout")
    if problem:
        return problem
    subtotal, currency, problem = _estimate_args()
    if problem:
        return problem
    return jsonify(_rt().extension_views.thank_you(shop, session.customer_id, order_id, _locale(),
                                                   subtotal=subtotal, currency=currency))


# -- POS -----------------------------------------------------------------------------------------
def _pos_customer(value: str) -> str | None:
    text = str(value or "").strip()
    return shopify_auth.customer_of(text) if text.startswith("gid://") else (text if text.isdigit() and len(text) <= 20 else None)


@bp.get("/pos/customers/<customer_id>")
@api(summary="POS customer-details block: a member's points, tier and store credit", tags=["extensions"],
     response=PosCustomerOut, errors=(401, 429))
def pos_customer(customer_id: str):
    shop, session, problem = _identify("pos")
    if problem:
        return problem
    customer = _pos_customer(customer_id)
    if customer is None:
        return error_response(404, "not_found", "no such customer")
    return jsonify(_rt().extension_views.pos_customer(shop, customer, _locale()))


@bp.post("/pos/redeem")
@api(summary="POS: hold a member's points for a reward and give staff a one-use code for the in-store "
     "order (idempotent)", tags=["extensions"], body=PosRedeemIn, response=RedeemOut, status=201,
     errors=(401, 404, 409, 502, 429))
def pos_redeem(body: PosRedeemIn):
    shop, session, problem = _identify("pos")
    if problem:
        return problem
    customer = _pos_customer(body.customer_id)
    if customer is None:
        return error_response(404, "not_found", "no such customer")
    answer = _rt().extension_views.redeem(shop, customer, body.reward_id, f"pos:{body.idempotency_key}",
                                          steps=body.steps, locale=_locale(), must_be_member=True)
    return jsonify(answer), 201

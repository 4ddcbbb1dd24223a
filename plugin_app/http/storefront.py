"""The widget API for shoppers: `/storefront/v1/...` (a widget key names the shop; a customer
token signed with the shop's widget secret names the shopper) and its twin `/proxy/...` reached
through the Shopify app proxy (Shopify's `signature`, checked by connectors.shopify.proxy, and
`logged_in_customer_id`). The browser is never trusted for who the shopper is; CORS admits only
the shop's own origins."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, current_app, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from ..services.cart import Cart, CartLine
from .errors import error_response
from .fields import Amount
from .openapi import api
from .storefront_rules import (GUARDED, IDENTIFIED, SUMMARY_HEADERS, cors_headers, locale_of, proxy_identity,
                               rate_checks, token_identity)

bp = Blueprint("storefront", __name__, url_prefix="/storefront/v1")
proxy_bp = Blueprint("proxy", __name__, url_prefix="/proxy")
MAX_BODY = 256 * 1024


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineIn(Strict):
    line_id: str | None = Field(None, max_length=64)
    product_id: str | None = Field(None, max_length=64)
    variant_id: str | None = Field(None, max_length=64)
    collections: list[str] = Field(default_factory=list, max_length=50)
    categories: list[str] = Field(default_factory=list, max_length=50, description="WooCommerce categories")
    tags: list[str] = Field(default_factory=list, max_length=50)
    product_type: str | None = Field(None, max_length=100)
    quantity: int = Field(ge=1, le=10_000)
    price: Decimal = Field(ge=0, le=Decimal("1000000"), description="unit price in the cart's currency")
    discount: Amount = Field(Decimal(0), description="discount on the whole line")
    gift_card: bool = False


class CartIn(Strict):
    currency: str = Field(pattern="^[A-Z]{3}$")
    rate: Decimal | None = Field(None, gt=0, le=Decimal(10) ** 6, decimal_places=8,
                                 description="cart currency units per one unit of the shop's currency")
    lines: list[LineIn] = Field(min_length=1, max_length=250)
    discount: Amount = Field(Decimal(0), description="order-level discount, in the cart's currency")


class ApplyIn(Strict):
    idempotency_key: str = Field(min_length=8, max_length=200)
    reward_id: str | None = Field(None, max_length=40)
    steps: int | None = Field(None, ge=1, le=10_000)
    store_credit: Amount | None = Field(None, gt=0, description="spend this much store credit instead")
    cart: CartIn


class QuoteOut(BaseModel):
    earn: dict
    tier: dict | None
    member: bool
    balance: dict | None
    store_credit_usable: dict | None
    rewards: list[dict]
    subtotal: dict
    program_version: int


class RedemptionOut(BaseModel):
    redemption_id: int
    code: str
    expires_at: str
    asset: str
    amount: str
    title: str
    value: dict


class SummaryOut(BaseModel):
    program: dict
    member: dict | None


class BirthdayIn(Strict):
    birthday: str = Field(min_length=1, max_length=10, description="YYYY-MM-DD, or --MM-DD without the year")


class BirthdayOut(BaseModel):
    birthday: str
    text: str | None = None  # as the panel shows it, in the shopper's language


class JoinedOut(BaseModel):
    challenge_id: str
    joined: bool
    newly: bool  # False: the shopper had joined already


class DisplayNameIn(Strict):
    display_name: str = Field(max_length=200, description="2-24 letters, digits, spaces and . _ -; "
                              "never an e-mail or web address; unique in the shop (any case)")


class OptedOut(BaseModel):
    opted_in: bool
    display_name: str | None = None


class BoardOut(BaseModel):
    period: str
    period_text: str
    metric: str
    starts_at: str | None
    ends_at: str | None
    entries: list[dict]  # {rank, display_name, value, value_text}: opted-in members only
    you: dict | None  # the signed-in shopper's own {opted_in, display_name, rank, value}


class SurveyIn(Strict):
    answers: dict[str, int | str] = Field(description="question id -> a rating 1-5, a choice id, or a short "
                                          "text (at most 500 characters)")


class SurveyOut(BaseModel):
    survey_id: str
    answered: bool
    points: int


class RemovedOut(BaseModel):
    redemption_id: int
    status: str


def _rt():
    return current_app.extensions["loyalty"]


def _locale() -> str | None:
    """The shopper's language as the widget sends it (`?locale=`): the storefront's own —
    Shopify's Liquid `request.locale.iso_code` (https://shopify.dev/docs/api/liquid/objects/request),
    forwarded by the app proxy with the other query parameters and covered by its signature;
    WordPress's `determine_locale()` (https://developer.wordpress.org/reference/functions/determine_locale/).
    A language we do not ship is None: the shop's language is used."""
    return locale_of(request.args.get("locale"))


def _cart(body: CartIn) -> Cart:
    return Cart(body.currency, tuple(CartLine(
        line_id=li.line_id or str(i), quantity=li.quantity, price=li.price, discount=li.discount,
        product_id=li.product_id,
        collections=frozenset(li.collections + li.categories) if li.categories else frozenset(li.collections),
        tags=frozenset(li.tags), product_type=li.product_type, gift_card=li.gift_card)
        for i, li in enumerate(body.lines)), body.discount, body.rate)


# -- identity -------------------------------------------------------------------------------
def _storefront_identity():
    """(shop, customer id or None, problem) from the widget key and the optional customer token."""
    shop, customer, refused = token_identity(_rt(), request.args.get("shop", ""),
                                             request.headers.get("Authorization", ""))
    return (shop, customer, None) if refused is None else (None, None, error_response(401, "unauthorized", refused))


def _proxy_identity():
    """(shop, customer id or None, problem) from a request the Shopify connector verifies as Shopify's."""
    shop, customer, refused = proxy_identity(_rt(), request.args, request.method, request.url)
    return (shop, customer, None) if refused is None else (None, None, error_response(401, "unauthorized", refused))


def _limited(shop, customer: str | None, fetch: str | None = None):
    """429 with Retry-After when over a limit (and, with `fetch`, the cached value read in the
    same Redis round trip)."""
    rt = _rt()
    verdict = request.environ.get(GUARDED) if fetch else None
    if verdict is not None:  # the balance read's fast path counted this request already
        wait, cached = verdict
    else:
        checks = rate_checks(rt.settings, shop, customer or request.remote_addr)
        wait, cached = (rt.rate_limiter.hit_all(checks, fetch=fetch) if fetch
                        else (rt.rate_limiter.hit_all(checks), None))
    if wait:
        response = error_response(429, "rate_limited", "too many requests; slow down")
        response[0].headers["Retry-After"] = str(wait)
        return response, None
    return None, cached


def _guard(proxy: bool, fetch=None):
    """Size limit, identity, rate limits. `fetch(shop, customer)` names a cache key to read in the
    rate limits' round trip; then a fourth value, the cached bytes (or None), is returned."""
    if (request.content_length or 0) > MAX_BODY:
        problem = error_response(413, "payload_too_large", f"at most {MAX_BODY} bytes")
        return (None, None, problem, None) if fetch else (None, None, problem)
    known = request.environ.get(IDENTIFIED)  # the fast path checked who it is already
    shop, customer, problem = (*known, None) if known else _proxy_identity() if proxy else _storefront_identity()
    if problem:
        return (None, None, problem, None) if fetch else (None, None, problem)
    problem, cached = _limited(shop, customer, fetch(shop, customer) if fetch else None)
    return (shop, customer, problem, cached) if fetch else (shop, customer, problem)


# -- the endpoints (one implementation, two doors) ------------------------------------------
def _quote(proxy: bool, body: CartIn):
    shop, customer, problem = _guard(proxy)
    if problem:
        return problem
    g.shop = shop
    return jsonify(_rt().cart.quote(shop.id, shop.currency, _cart(body), customer, locale=_locale()))


def _signed_in(proxy: bool, what: str):
    """The guard for what only a signed-in shopper may do: (shop, customer, problem)."""
    shop, customer, problem = _guard(proxy)
    if problem is None and customer is None:
        problem = error_response(401, "sign_in_required", f"only a signed-in customer can {what}")
    return shop, customer, problem


def _apply(proxy: bool, body: ApplyIn):
    shop, customer, problem = _signed_in(proxy, "redeem")
    if problem:
        return problem
    g.shop = shop
    answer = _rt().cart.apply(shop.id, shop.currency, customer, body.idempotency_key, cart=_cart(body.cart),
                              reward_id=body.reward_id, steps=body.steps, credit=body.store_credit)
    return jsonify(answer), 201


def _remove(proxy: bool, redemption_id: int):
    shop, customer, problem = _signed_in(proxy, "remove a redemption")
    if problem:
        return problem
    return jsonify(_rt().cart.remove(shop.id, customer, redemption_id))


def _me(proxy: bool):
    widget = _rt().widget
    locale = _locale()
    shop, customer, problem, cached = _guard(proxy, fetch=lambda s, c: widget.cache_key(s.id, c, locale))
    if problem:
        return problem
    g.shop = shop
    response = current_app.response_class(widget.summary_json(shop, customer, cached, locale=locale),
                                          mimetype="application/json")
    response.headers.update(SUMMARY_HEADERS)
    return response


def _birthday(proxy: bool, body: BirthdayIn):
    from ..domain.birthdays import show

    shop, customer, problem = _signed_in(proxy, "give a birthday")
    if problem:
        return problem
    g.shop = shop
    member = _rt().members.set_birthday(shop.id, customer, body.birthday, source="shopper",
                                        actor=f"customer:{customer}")
    return jsonify(birthday=show(member.birthday), text=_rt().widget.birthday_text(shop, member.birthday, _locale()))


def _join(proxy: bool, challenge_id: str):
    shop, customer, problem = _signed_in(proxy, "join a challenge")
    if problem:
        return problem
    g.shop = shop
    if not (0 < len(challenge_id) <= 40):
        return error_response(404, "not_found", "no such challenge")
    member, _ = _rt().members.enrol(shop.id, customer)
    newly = _rt().achievements.opt_in(shop.id, member.id, challenge_id)
    _rt().widget.forget(shop.id, customer)  # the panel re-reads /me at once: joined, not the cached answer
    return jsonify(challenge_id=challenge_id, joined=True, newly=newly)


@bp.post("/me/challenges/<challenge_id>/join")
@api(summary="The shopper joins an opt-in challenge before it ends (joining again changes nothing)",
     tags=["storefront"], response=JoinedOut, errors=(401, 404, 422, 429))
def join_challenge(challenge_id: str):
    return _join(False, challenge_id)


@proxy_bp.post("/me/challenges/<challenge_id>/join")
@api(summary="Join an opt-in challenge through the Shopify app proxy", tags=["storefront"], response=JoinedOut,
     errors=(401, 404, 422, 429))
def proxy_join_challenge(challenge_id: str):
    return _join(True, challenge_id)


def _leaderboard_join(proxy: bool, body: DisplayNameIn):
    shop, customer, problem = _signed_in(proxy, "join the leaderboard")
    if problem:
        return problem
    g.shop = shop
    answer = _rt().leaderboards.opt_in(shop.id, customer, body.display_name, _locale())
    _rt().widget.forget(shop.id, customer)
    return jsonify(answer)


def _leaderboard_leave(proxy: bool):
    shop, customer, problem = _signed_in(proxy, "leave the leaderboard")
    if problem:
        return problem
    g.shop = shop
    _rt().leaderboards.opt_out(shop.id, customer)
    _rt().widget.forget(shop.id, customer)
    return jsonify(opted_in=False, display_name=None)


def _board(proxy: bool):
    shop, customer, problem = _guard(proxy)
    if problem:
        return problem
    g.shop = shop
    response = jsonify(_rt().leaderboards.board(shop.id, customer, _locale()))
    response.headers["Cache-Control"] = "private, max-age=5"
    response.headers["Vary"] = "Authorization"
    return response


@bp.post("/me/leaderboard")
@api(summary="The shopper opts in to the shop's leaderboard under a display name they choose (or renames)",
     tags=["storefront"], body=DisplayNameIn, response=OptedOut, errors=(401, 404, 409, 422, 429))
def leaderboard_join(body: DisplayNameIn):
    return _leaderboard_join(False, body)


@bp.delete("/me/leaderboard")
@api(summary="The shopper leaves the leaderboard (their display name is freed)", tags=["storefront"],
     response=OptedOut, errors=(401, 429))
def leaderboard_leave():
    return _leaderboard_leave(False)


@bp.get("/leaderboard")
@api(summary="The shop's leaderboard: rank, display name and points earned in the period of members who "
     "opted in; the signed-in shopper's own rank", tags=["storefront"], response=BoardOut, errors=(401, 404, 429))
def leaderboard():
    return _board(False)


@proxy_bp.post("/me/leaderboard")
@api(summary="Opt in to the leaderboard through the Shopify app proxy", tags=["storefront"], body=DisplayNameIn,
     response=OptedOut, errors=(401, 404, 409, 422, 429))
def proxy_leaderboard_join(body: DisplayNameIn):
    return _leaderboard_join(True, body)


@proxy_bp.delete("/me/leaderboard")
@api(summary="Leave the leaderboard through the Shopify app proxy", tags=["storefront"], response=OptedOut,
     errors=(401, 429))
def proxy_leaderboard_leave():
    return _leaderboard_leave(True)


@proxy_bp.get("/leaderboard")
@api(summary="The leaderboard through the Shopify app proxy", tags=["storefront"], response=BoardOut,
     errors=(401, 404, 429))
def proxy_leaderboard():
    return _board(True)


def _survey(proxy: bool, survey_id: str, body: SurveyIn):
    shop, customer, problem = _signed_in(proxy, "answer the survey")
    if problem:
        return problem
    g.shop = shop
    answer = _rt().surveys.answer(shop.id, customer, survey_id[:41], body.answers, _locale())
    _rt().widget.forget(shop.id, customer)
    return jsonify(answer), 201


@bp.post("/me/survey/<survey_id>")
@api(summary="The shopper answers the shop's feedback survey, once; rewarded once", tags=["storefront"],
     body=SurveyIn, response=SurveyOut, status=201, errors=(401, 404, 409, 422, 429))
def survey_answer(survey_id: str, body: SurveyIn):
    return _survey(False, survey_id, body)


@proxy_bp.post("/me/survey/<survey_id>")
@api(summary="Answer the feedback survey through the Shopify app proxy", tags=["storefront"], body=SurveyIn,
     response=SurveyOut, status=201, errors=(401, 404, 409, 422, 429))
def proxy_survey_answer(survey_id: str, body: SurveyIn):
    return _survey(True, survey_id, body)


@bp.post("/me/birthday")
@api(summary="The shopper gives their birthday, once (the shop corrects it afterwards); the birthday "
     "bonus comes on the day, from 30 days after it is given", tags=["storefront"], body=BirthdayIn,
     response=BirthdayOut, errors=(401, 409, 422, 429))
def birthday(body: BirthdayIn):
    return _birthday(False, body)


@proxy_bp.post("/me/birthday")
@api(summary="Give a birthday through the Shopify app proxy", tags=["storefront"], body=BirthdayIn,
     response=BirthdayOut, errors=(401, 409, 422, 429))
def proxy_birthday(body: BirthdayIn):
    return _birthday(True, body)


@bp.get("/me")
@api(summary="The program for everyone; balances, tier, expiry, activity and referral link for a member",
     tags=["storefront"], response=SummaryOut, errors=(401, 429))
def me():
    return _me(False)


@proxy_bp.get("/me")
@api(summary="The widget summary through the Shopify app proxy", tags=["storefront"], response=SummaryOut,
     errors=(401, 429))
def proxy_me():
    return _me(True)


@bp.post("/cart/quote")
@api(summary="What this cart earns, what can be spent on it, and the tier after it", tags=["storefront"],
     body=CartIn, response=QuoteOut, errors=(401, 413, 429))
def quote(body: CartIn):
    return _quote(False, body)


@bp.post("/cart/redemptions")
@api(summary="Turn points or store credit into a one-use code for this customer (idempotent)",
     tags=["storefront"], body=ApplyIn, response=RedemptionOut, status=201, errors=(401, 404, 409, 429, 502))
def apply(body: ApplyIn):
    return _apply(False, body)


@bp.delete("/cart/redemptions/<int:redemption_id>")
@api(summary="Take a redemption back before checkout: the code is disabled, the hold returned",
     tags=["storefront"], response=RemovedOut, errors=(401, 404, 429, 502))
def remove(redemption_id: int):
    return _remove(False, redemption_id)


@proxy_bp.post("/cart/quote")
@api(summary="The cart quote through the Shopify app proxy", tags=["storefront"], body=CartIn,
     response=QuoteOut, errors=(401, 413, 429))
def proxy_quote(body: CartIn):
    return _quote(True, body)


@proxy_bp.post("/cart/redemptions")
@api(summary="Redeem through the Shopify app proxy", tags=["storefront"], body=ApplyIn,
     response=RedemptionOut, status=201, errors=(401, 404, 409, 429, 502))
def proxy_apply(body: ApplyIn):
    return _apply(True, body)


@proxy_bp.delete("/cart/redemptions/<int:redemption_id>")
@api(summary="Remove a redemption through the Shopify app proxy", tags=["storefront"],
     response=RemovedOut, errors=(401, 404, 429, 502))
def proxy_remove(redemption_id: int):
    return _remove(True, redemption_id)


# -- CORS: only the shop's own origins ------------------------------------------------------
@bp.after_request
def cors(response):
    origin = request.headers.get("Origin")
    if not origin:
        return response
    shop = getattr(g, "shop", None) or _rt().shops.by_widget_key(request.args.get("shop", ""))
    response.headers.update(cors_headers(shop, origin))
    response.vary.add("Origin")  # beside Authorization where the answer depends on the shopper too
    return response

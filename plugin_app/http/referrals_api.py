"""Referral endpoints: for shoppers through the widget API (their code, link and referrals;
landings; claims), and for the merchant (the funnel, and reviewing held referrals)."""
from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from .auth import admin_api
from .errors import error_response
from .openapi import api
from .storefront import _guard, bp as storefront_bp, proxy_bp

admin_bp = Blueprint("referrals_admin", __name__, url_prefix="/admin/api/v1/referrals")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LandingIn(Strict):
    code: str = Field(min_length=4, max_length=20)
    visitor_id: str = Field(min_length=8, max_length=64, description="the widget's random id for this browser")


class ClaimIn(Strict):
    code: str | None = Field(None, max_length=20, description="typed at the cart")
    visitor_id: str | None = Field(None, max_length=64, description="from an earlier landing")


class ShareIn(Strict):
    channel: str = Field("link", max_length=30)


class MineOut(BaseModel):
    enabled: bool
    code: str
    link: str
    remember_days: int
    referrals: list[dict]


class LandingOut(BaseModel):
    landing_id: int
    remember_days: int
    offer: dict
    friend_code: str | None


class ClaimOut(BaseModel):
    referral_id: int
    status: str
    friend_code: str | None


class ReferralOut(BaseModel):
    id: int
    status: str
    reason: str | None
    verdict: dict | None
    order_id: str | None
    reward: dict | None
    decided_by: str | None


class ReferralsOut(BaseModel):
    referrals: list[ReferralOut]


class FunnelOut(BaseModel):
    links_shared: int
    landings: int
    sign_ups: int
    first_orders: int
    in_review: int
    rejected: int
    rewards_issued: int
    cost: dict


class ListQuery(Strict):
    status: str | None = Field(None, pattern="^(signed_up|pending|review|rewarded|rejected)$")


def _rt():
    return current_app.extensions["loyalty"]


def _device() -> str:
    return hashlib.sha256(request.headers.get("User-Agent", "").encode()).hexdigest()[:32]


def _signed_in(proxy: bool = False):
    shop, customer, problem = _guard(proxy)
    if problem:
        return None, None, problem
    if customer is None:
        return None, None, error_response(401, "sign_in_required", "sign in to see or claim referrals")
    g.shop = shop
    return shop, customer, None


@storefront_bp.get("/referrals/me")
@api(summary="My referral code, share link, and each referral's status", tags=["referrals"],
     response=MineOut, errors=(401, 429))
def mine():
    shop, customer, problem = _signed_in()
    return problem or jsonify(_rt().referrals.me(shop.id, shop.domain, customer))


@storefront_bp.post("/referrals/share")
@api(summary="Count a share of my link (for the merchant's funnel)", tags=["referrals"], body=ShareIn,
     status=204, errors=(401, 429))
def share(body: ShareIn):
    shop, customer, problem = _signed_in()
    if problem:
        return problem
    _rt().referrals.share(shop.id, customer, body.channel)
    return "", 204


@storefront_bp.post("/referrals/landings")
@api(summary="A visitor arrived with ?ref=CODE: remember the referrer", tags=["referrals"], body=LandingIn,
     response=LandingOut, status=201, errors=(401, 404, 422, 429))
def landing(body: LandingIn):
    shop, _, problem = _guard(False)
    if problem:
        return problem
    g.shop = shop
    return jsonify(_rt().referrals.land(shop.id, body.code, body.visitor_id, ip=request.remote_addr,
                                        device=_device())), 201


@storefront_bp.post("/referrals/claim")
@api(summary="The signed-in friend is attributed (landing or typed code) and gets a welcome code",
     tags=["referrals"], body=ClaimIn, response=ClaimOut, errors=(401, 404, 422, 429))
def claim(body: ClaimIn):
    shop, customer, problem = _signed_in()
    if problem:
        return problem
    return jsonify(_rt().referrals.claim(shop.id, customer, code=body.code, visitor_id=body.visitor_id,
                                         ip=request.remote_addr, device=_device()))


@admin_bp.get("")
@admin_api(summary="Referrals, newest first (filter by status, e.g. review)", tags=["referrals"],
           query=ListQuery, response=ReferralsOut)
def list_referrals(query: ListQuery):
    return jsonify(referrals=_rt().referrals.list(g.shop.id, query.status))


@admin_bp.get("/funnel")
@admin_api(summary="Links shared, landings, sign-ups, first orders, rewards issued and their cost",
           tags=["referrals"], response=FunnelOut)
def funnel():
    return jsonify(_rt().referrals.funnel(g.shop.id))


@admin_bp.get("/<int:referral_id>")
@admin_api(summary="One referral with every rule that fired and its evidence", tags=["referrals"],
           response=ReferralOut, errors=(404,))
def one(referral_id: int):
    return jsonify(_rt().referrals.get(g.shop.id, referral_id))


@admin_bp.post("/<int:referral_id>/approve")
@admin_api(summary="Approve a held referral (rewarded when its pending period ends)", tags=["referrals"],
           response=ReferralOut, errors=(404, 409))
def approve(referral_id: int):
    return jsonify(_rt().referrals.decide(g.shop.id, referral_id, approve=True, actor=g.actor))


@admin_bp.post("/<int:referral_id>/reject")
@admin_api(summary="Reject a held referral", tags=["referrals"], response=ReferralOut,
           errors=(404, 409))
def reject(referral_id: int):
    return jsonify(_rt().referrals.decide(g.shop.id, referral_id, approve=False, actor=g.actor))


# -- the same through the Shopify app proxy ---------------------------------------------------
@proxy_bp.get("/referrals/me")
@api(summary="My referrals through the Shopify app proxy", tags=["referrals"], response=MineOut, errors=(401, 429))
def proxy_mine():
    shop, customer, problem = _signed_in(True)
    return problem or jsonify(_rt().referrals.me(shop.id, shop.domain, customer))


@proxy_bp.post("/referrals/share")
@api(summary="Count a share through the Shopify app proxy", tags=["referrals"], body=ShareIn, status=204,
     errors=(401, 429))
def proxy_share(body: ShareIn):
    shop, customer, problem = _signed_in(True)
    if problem:
        return problem
    _rt().referrals.share(shop.id, customer, body.channel)
    return "", 204


@proxy_bp.post("/referrals/landings")
@api(summary="A landing through the Shopify app proxy", tags=["referrals"], body=LandingIn, response=LandingOut,
     status=201, errors=(401, 404, 422, 429))
def proxy_landing(body: LandingIn):
    shop, _, problem = _guard(True)
    if problem:
        return problem
    ip = request.headers.get("X-Forwarded-For", request.remote_addr or "").split(",")[0].strip() or None
    return jsonify(_rt().referrals.land(shop.id, body.code, body.visitor_id, ip=ip, device=_device())), 201


@proxy_bp.post("/referrals/claim")
@api(summary="A claim through the Shopify app proxy", tags=["referrals"], body=ClaimIn, response=ClaimOut,
     errors=(401, 404, 422, 429))
def proxy_claim(body: ClaimIn):
    shop, customer, problem = _signed_in(True)
    if problem:
        return problem
    ip = request.headers.get("X-Forwarded-For", request.remote_addr or "").split(",")[0].strip() or None
    return jsonify(_rt().referrals.claim(shop.id, customer, code=body.code, visitor_id=body.visitor_id,
                                         ip=ip, device=_device()))

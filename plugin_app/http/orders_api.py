"""Orders through the merchant API: record a paid order (backfill, or a platform we have no
connector for), refund it, cancel it. The same neutral shape the connectors produce."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, current_app, g, jsonify
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..domain.earning import Earning, Order, OrderLine, Refund, RefundLine
from ..domain.errors import InvalidRequest
from .auth import admin_api
from .fields import Amount

bp = Blueprint("orders_api", __name__, url_prefix="/admin/api/v1/orders")

class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineIn(Strict):
    line_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(1, ge=1, le=100_000)
    total: Amount = Field(description="after discounts; includes tax when taxes_included", ge=0)
    tax: Amount = Field(Decimal(0), ge=0)
    product_id: str | None = Field(None, max_length=64)
    gift_card: bool = False
    collections: list[str] = Field(default_factory=list, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=100)
    product_type: str | None = Field(None, max_length=100)
    title: str = Field("", max_length=200)


class OrderIn(Strict):
    order_id: str = Field(min_length=1, max_length=64)
    currency: str | None = Field(None, description="defaults to the shop's", pattern="^[A-Z]{3}$")
    placed_at: AwareDatetime
    customer_id: str | None = Field(None, max_length=64)
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    shipping: Amount = Field(Decimal(0), ge=0)
    shipping_tax: Amount = Field(Decimal(0), ge=0)
    tips: Amount = Field(Decimal(0), ge=0)
    taxes_included: bool = False
    test: bool = False


class PaidOrderIn(OrderIn):
    fulfilled: bool = False


class PreviewIn(Strict):
    order: OrderIn
    customer_id: str | None = Field(None, max_length=64, description="whose tier and birthday apply")


class RefundLineIn(Strict):
    line_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=100_000)


class RefundIn(Strict):
    refund_id: str = Field(min_length=1, max_length=64)
    lines: list[RefundLineIn] = Field(default_factory=list, max_length=500)
    shipping: Amount = Field(Decimal(0), ge=0)
    amount: Amount = Field(Decimal(0), ge=0, description="refunded without naming lines")


class CancelIn(Strict):
    reason: str = Field("order cancelled", min_length=1, max_length=200)


class EarningOut(BaseModel):
    points: int
    credit: dict
    base: str
    explanation: str
    credit_explanation: str | None
    rules: list[str]
    program_version: int | None


class OutcomeOut(BaseModel):
    order_id: str
    status: str
    points: int
    credit: str
    explanation: str


def to_order(data: OrderIn, shop_currency: str) -> Order:
    currency = data.currency or shop_currency
    if currency != shop_currency:
        raise InvalidRequest(f"this shop's program runs in {shop_currency}, not {currency}")
    return Order(order_id=data.order_id, currency=currency, placed_at=data.placed_at,
                 customer_id=data.customer_id, shipping=data.shipping, shipping_tax=data.shipping_tax,
                 tips=data.tips, taxes_included=data.taxes_included, test=data.test,
                 lines=tuple(OrderLine(line_id=li.line_id, quantity=li.quantity, total=li.total,
                                       tax=li.tax, product_id=li.product_id, gift_card=li.gift_card,
                                       collections=frozenset(li.collections), tags=frozenset(li.tags),
                                       product_type=li.product_type, title=li.title) for li in data.lines))


def earning_json(e: Earning, currency: str) -> dict:
    return {"points": e.points, "credit": {"amount": str(e.credit), "currency": currency},
            "base": str(e.base), "explanation": e.summary,
            "credit_explanation": e.credit_summary if e.credit_notes else None,
            "rules": list(e.notes), "program_version": e.program_version}


def _outcome(out) -> dict:
    return {"order_id": out.order_id, "status": out.status, "points": out.points,
            "credit": str(out.credit), "explanation": out.explanation}


def _rt():
    return current_app.extensions["loyalty"]


@bp.post("")
@admin_api(summary="Record a paid (or fulfilled) order: earns once, by the program in force",
           tags=["orders"], body=PaidOrderIn, response=OutcomeOut)
def paid(body: PaidOrderIn):
    return jsonify(_outcome(_rt().orders.on_paid(g.shop.id, to_order(body, g.shop.currency),
                                                 fulfilled=body.fulfilled)))


@bp.post("/<order_id>/refunds")
@admin_api(summary="A refund: takes back its share of what the order earned, at the earned rate",
           tags=["orders"], body=RefundIn, response=OutcomeOut)
def refund(order_id: str, body: RefundIn):
    r = Refund(body.refund_id, tuple(RefundLine(li.line_id, li.quantity) for li in body.lines),
               body.shipping, body.amount)
    return jsonify(_outcome(_rt().orders.on_refund(g.shop.id, order_id, r)))


@bp.post("/<order_id>/cancel")
@admin_api(summary="Cancel: takes back everything earned and returns what was redeemed on it",
           tags=["orders"], body=CancelIn, response=OutcomeOut)
def cancel(order_id: str, body: CancelIn):
    return jsonify(_outcome(_rt().orders.on_cancel(g.shop.id, order_id, reason=body.reason)))



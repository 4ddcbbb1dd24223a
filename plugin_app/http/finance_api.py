"""Finance through the merchant API (issue 21): liability in money at any past instant, its
ageing by lot, expected breakage, the expiring forecast, and the journal of a period's movements
as JSON or CSV. Read-only, the caller's shop only; days are the shop's days in its time zone."""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify
from pydantic import BaseModel, ConfigDict, Field

from .auth import admin_api

bp = Blueprint("finance_api", __name__, url_prefix="/admin/api/v1/finance")


class AtQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: str | None = Field(None, max_length=40, description="a day YYYY-MM-DD (the end of that day in the shop's "
                           "time zone) or an ISO 8601 instant with its offset; default: now; a later one is now")


class PeriodQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: str | None = Field(None, alias="from", max_length=10, json_schema_extra={"format": "date"},
                              description="YYYY-MM-DD, the shop's day; default: 29 days before `to`")
    end: str | None = Field(None, alias="to", max_length=10, json_schema_extra={"format": "date"},
                            description="YYYY-MM-DD, the shop's day; default: today")


class NoQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FinanceOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    point_value: str = Field(description="money per point: the first fixed-amount reward's amount / points cost")
    point_value_basis: str
    currency: str


def _rt():
    return current_app.extensions["loyalty"]


@bp.get("/liability")
@admin_api(summary="Liability at an instant: points (at their redemption value) and store credit members held, "
                   "recomputed from the ledger entries up to it", tags=["finance"], query=AtQuery,
           response=FinanceOut)
def liability(query: AtQuery):
    fin = _rt().finance
    return jsonify(fin.liability(g.shop.id, g.shop.currency, fin.parse_at(query.at, g.shop.timezone)))


@bp.get("/ageing")
@admin_api(summary="Liability at an instant by lot: how old, when it expires; lots + held + debts = liability",
           tags=["finance"], query=AtQuery, response=FinanceOut)
def ageing(query: AtQuery):
    fin = _rt().finance
    return jsonify(fin.ageing(g.shop.id, g.shop.currency, fin.parse_at(query.at, g.shop.timezone)))


@bp.get("/breakage")
@admin_api(summary="Expected breakage from the shop's history (null with a note when there is too little)",
           tags=["finance"], query=NoQuery, response=FinanceOut)
def breakage(query: NoQuery):
    return jsonify(_rt().finance.breakage(g.shop.id, g.shop.currency))


@bp.get("/expiring")
@admin_api(summary="Value due to expire in the next 30, 60 and 90 days (shop days)", tags=["finance"],
           query=NoQuery, response=FinanceOut)
def expiring(query: NoQuery):
    return jsonify(_rt().finance.forecast(g.shop.id, g.shop.currency, g.shop.timezone))


@bp.get("/journal")
@admin_api(summary="A period's movements as journal lines (issued, redeemed, expired, reversed, adjusted, imported; "
                   "by asset), checked against the ledger: opening + movements = closing", tags=["finance"],
           query=PeriodQuery, response=FinanceOut)
def journal(query: PeriodQuery):
    return jsonify(_rt().finance.journal(g.shop.id, g.shop.currency, g.shop.timezone, query.start, query.end))


@bp.get("/journal.csv")
@admin_api(summary="The journal lines of a period as CSV", tags=["finance"], query=PeriodQuery,
           media="text/csv")
def journal_csv(query: PeriodQuery):
    fin = _rt().finance
    data = fin.journal(g.shop.id, g.shop.currency, g.shop.timezone, query.start, query.end)
    name = f"journal-{data['period']['from']}-{data['period']['to']}.csv"
    return fin.journal_csv(data), 200, {"Content-Type": "text/csv; charset=utf-8",
                                        "Content-Disposition": f"attachment; filename={name}"}

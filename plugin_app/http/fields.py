"""Bounded input types for the API models: what the database can hold is refused up front
with a 422 naming the field, instead of overflowing a column (a 500) deep in a service."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from ..domain.money import MAX_AMOUNT

MAX_ID = 2 ** 63 - 1  # ids are PostgreSQL BIGINTs
MAX_POINTS = 10 ** 12  # a balance is a BIGINT sum of postings: far from its limit

DbId = Annotated[int, Field(ge=0, le=MAX_ID)]
Points = Annotated[int, Field(ge=-MAX_POINTS, le=MAX_POINTS, description="whole points, signed")]
SignedAmount = Annotated[Decimal, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, allow_inf_nan=False, decimal_places=4,
                                        description="a decimal amount, signed")]
Amount = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False, decimal_places=4,
                                  description="a decimal amount in the currency")]

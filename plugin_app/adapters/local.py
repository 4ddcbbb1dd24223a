"""The platform port for demo shops, which have no platform: their codes exist only in our
records and there is no platform customer to write fields on."""
from __future__ import annotations


class LocalCodes:
    """Implements domain.ports.PlatformActions for demo shops."""

    def create_discount_code(self, *, code: str, **_: object) -> str:
        return f"local:{code}"

    def delete_discount(self, discount_id: str) -> None:
        return None

    def discount_usage(self, discount_id: str) -> int | None:
        return 0  # no checkout can use a code that exists only here

    def set_customer_fields(self, customers: list[tuple[str, dict[str, str]]]) -> int:
        return 0  # no platform customer to write on (and the sync job skips demo shops)

"""`domain.expiry.expires_at`: when value credited now lapses, for every expiry mode and asset."""
from datetime import datetime, timedelta, timezone

import pytest

from plugin_app.domain.expiry import expires_at
from plugin_app.domain.ledger import Asset

from .. import factories as F

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("asset", [Asset.POINTS, "points"])
def test_points_by_age_lapse_months_after_they_were_credited(asset):
    program = F.program(expiry=F.expiry("age", months=12))
    assert expires_at(program, asset, NOW) == datetime(2027, 3, 1, 12, tzinfo=timezone.utc)


def test_a_month_later_than_the_31st_is_the_last_day_of_the_shorter_month():
    program = F.program(expiry=F.expiry("age", months=1))
    assert expires_at(program, "points", datetime(2026, 1, 31, 9, tzinfo=timezone.utc)) == \
        datetime(2026, 2, 28, 9, tzinfo=timezone.utc)
    assert expires_at(program, "points", datetime(2028, 1, 31, 9, tzinfo=timezone.utc)) == \
        datetime(2028, 2, 29, 9, tzinfo=timezone.utc)  # a leap year


@pytest.mark.parametrize("mode", ["none", "inactivity"])
def test_points_carry_no_date_without_expiry_or_when_the_whole_balance_lapses_by_inactivity(mode):
    assert expires_at(F.program(expiry=F.expiry(mode, months=6)), "points", NOW) is None


@pytest.mark.parametrize("mode", ["none", "age", "inactivity"])
def test_store_credit_follows_its_own_rule_whatever_the_points_do(mode):
    with_days = F.program(expiry=F.expiry(mode), cashback={"enabled": True, "expiry_days": 90})
    assert expires_at(with_days, Asset.CREDIT, NOW) == NOW + timedelta(days=90)
    assert expires_at(with_days, "credit", NOW) == NOW + timedelta(days=90)
    without = F.program(expiry=F.expiry(mode), cashback={"enabled": True})
    assert expires_at(without, "credit", NOW) is None


def test_an_unknown_asset_is_refused():
    with pytest.raises(ValueError):
        expires_at(F.program(), "miles", NOW)

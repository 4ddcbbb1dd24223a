"""Tenancy by construction in the cart, referral and catalog repositories: a shop's unit of work
never sees another shop's rows, whatever id it is given; the periodic scans that walk every
shop are the named cross-tenant methods, and only they."""
from datetime import timedelta
from decimal import Decimal

from plugin_app.storage.redemptions_repo import RedemptionsRepo
from plugin_app.storage.referrals_repo import ReferralsRepo


def test_a_shop_sees_only_its_own_redemptions_referrals_and_products(runtime, shop, member, clock):
    other, _ = runtime.shops.register("demo", "shop-b.example", currency="EUR")
    stranger, _ = runtime.members.enrol(other.id, "cust-1")
    friend, _ = runtime.members.enrol(shop.id, "cust-2")
    now = clock.now()
    with runtime.db.uow(shop.id) as uow:
        redemption = uow.redemptions.start(member_id=member.id, key="k1", request_hash="h", reward_id=None,
                                           asset="points", amount=Decimal(100), expires_at=now - timedelta(days=1),
                                           now=now)
        uow.redemptions.update(redemption, status="issued", code="LOY-1", code_key="loy-1")
        referral = uow.referrals.start(referrer_member_id=member.id, friend_member_id=friend.id, landing_id=None,
                                       friend_code="WELCOME-1", friend_discount_id=None, now=now)
        uow.referrals.update(referral, status="pending", reward_due_at=now - timedelta(days=1))
        uow.referral_codes.add(member.id, "ABCD2345", now)
        uow.catalog.upsert("42", {"tags": ["red"]})
    with runtime.db.uow(other.id) as uow:
        assert uow.redemptions.by_id(redemption) is None and uow.redemptions.by_code("loy-1", lock=True) is None
        assert uow.redemptions.by_key("k1") is None
        assert uow.referrals.by_id(referral, lock=True) is None and uow.referrals.for_friend(friend.id) is None
        assert uow.referral_codes.of(member.id) is None and uow.referral_codes.member_of("ABCD2345") is None
        assert uow.catalog.products(["42"]) == {}
        uow.redemptions.update(redemption, status="released")  # names another shop's row: changes nothing
        uow.referrals.update(referral, status="rejected")
        assert uow.referral_facts.fingerprints(member.id) is None and uow.members.by_id(member.id) is None
        assert stranger.id != member.id
    with runtime.db.uow(shop.id) as uow:
        assert uow.redemptions.by_code("loy-1").status == "issued"
        assert uow.referrals.by_id(referral).status == "pending"
        assert uow.referral_codes.member_of("ABCD2345") == member.id
        assert list(uow.catalog.products(["42"])) == ["42"]
    with runtime.db.uow() as uow:  # the periodic jobs' scans: every shop, and say so by name
        assert [(r.id, r.shop_id) for r in RedemptionsRepo.due_to_lapse_in_every_shop(uow.conn, now)] == \
            [(redemption, shop.id)]
        assert [(r.id, r.shop_id) for r in ReferralsRepo.due_for_reward_in_every_shop(uow.conn, now)] == \
            [(referral, shop.id)]

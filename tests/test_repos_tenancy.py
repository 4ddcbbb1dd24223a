"""The repositories of orders, programs, members, links and analytics (issue 16) are built for
one shop: through a shop's unit of work no statement reads or writes another shop's rows, even
given that shop's row ids. Only the named cross-tenant methods walk every shop."""
import pytest

from plugin_app.storage.uow import NoShop


def test_a_shops_unit_of_work_sees_only_its_own_orders_programs_and_members(runtime, clock):
    rt, now = runtime, clock.now()
    a, _ = rt.shops.register("demo", "a.example", currency="EUR")
    b, _ = rt.shops.register("demo", "b.example", currency="USD", timezone="Europe/Rome")
    ada, _ = rt.members.enrol(a.id, "c-1", email="ada@a.example")
    bob, _ = rt.members.enrol(b.id, "c-1", email="bob@b.example")

    with rt.db.uow(a.id) as uow:
        mine = uow.orders.lock("1001", None, now)  # a new order takes its shop's currency
        assert (mine.shop_id, mine.currency) == (a.id, "EUR")
    with rt.db.uow(b.id) as uow:
        theirs = uow.orders.lock("1001", None, now)  # the same platform id in another shop: another row
        assert (theirs.shop_id, theirs.currency) == (b.id, "USD") and theirs.id != mine.id
        uow.orders.save(mine.id, now, placed_at=now)  # shop A's row id through B's repository
        uow.members.touch(ada.id, now)
        assert not uow.orders.customer_has_counted_order("c:c-1", other_than=theirs.id)
        assert uow.members.search("ada", 10) == [] and uow.members.search("bob", 10) == [bob.id]
        assert uow.programs.newest().document["timezone"] == "Europe/Rome"
    with rt.db.uow(a.id) as uow:
        assert uow.orders.lock("1001", None, now).placed_at is None  # B's save changed nothing here
        assert uow.members.by_id(ada.id).last_activity_at is None
        assert uow.members.all_ids() == [ada.id]
        assert uow.programs.newest().document["timezone"] == "UTC"
        assert uow.programs.latest_version() == 1


def test_only_the_named_scans_walk_every_shop(runtime, clock):
    rt = runtime
    a, _ = rt.shops.register("demo", "a.example", currency="EUR")
    b, _ = rt.shops.register("demo", "b.example", currency="EUR")
    rt.shops.uninstall(b.id)
    with rt.db.uow() as uow:  # no shop: the shops themselves, and the cross-tenant scans
        assert uow.shops.installed_shop_ids() == [a.id]
        assert uow.shops.by_domain("demo", "b.example").status == "uninstalled"
        with pytest.raises(NoShop):
            uow.orders
        with pytest.raises(NoShop):
            uow.programs

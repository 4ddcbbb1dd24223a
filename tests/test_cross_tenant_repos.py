"""The repositories of infrastructure that spans shops (the inbox, the workers' heartbeats, the
reconciliation watermarks) are there in every unit of work, with or without a shop; what they
do for one shop's rows is done for the shop whose id they are given, and for no other."""
from plugin_app.storage.uow import NoShop


def test_the_inbox_workers_and_watermarks_need_no_shop_and_name_the_shop_they_touch(runtime, shop, clock):
    other, _ = runtime.shops.register("demo", "shop-b.example", currency="EUR")
    now = clock.now()
    inbox_id, created = runtime.inbox.accept(shop.id, "internal", "t", "x-1", b"{}", {})
    assert created
    with runtime.db.uow() as uow:  # no shop: the shop-scoped repositories are refused, these are not
        try:
            uow.members
            raise AssertionError("a unit of work without a shop gave out a shop-scoped repository")
        except NoShop:
            pass
        uow.inbox.give_up(inbox_id, now, "gave up")
        assert uow.inbox.store(shop.id, "internal", "t", "x-1", b"{}", {}, now) == (inbox_id, False)
        assert uow.inbox.failed(other.id, 10) == [] and [r.id for r in uow.inbox.failed(shop.id, 10)] == [inbox_id]
        assert uow.inbox.replay(other.id, inbox_id) is False  # another shop's delivery: nothing changes
        assert uow.inbox.get(inbox_id).state == "failed"
        uow.workers.beat("w-1", "host", 1, "working", None, now)
        assert [w.name for w in uow.workers.recent(10)] == ["w-1"]
        assert uow.reconcile.watermark(shop.id) is None and uow.reconcile.watermark(other.id) is None
        uow.reconcile.save_watermark(shop.id, "2026-03-01T00:00:00Z", now, None)
        assert uow.reconcile.watermark(other.id) is None and uow.reconcile.status(other.id).watermark is None
        assert uow.reconcile.watermark(shop.id) == "2026-03-01T00:00:00Z"
        assert sorted(uow.reconcile.installed_shop_ids_on("demo")) == sorted([shop.id, other.id])  # cross-tenant
        assert uow.reconcile.installed_shop_ids_on("shopify") == []
    assert runtime.inbox.replay(shop.id, inbox_id) != "not_failed"  # its own shop may replay it

"""Tenancy by construction in the notification, privacy, customer-field, widget and audit
repositories: a shop's unit of work never sees or changes another shop's rows, whatever id it
is given; the periodic scans that walk every shop are the named cross-tenant methods of
`uow.jobs`, and only they."""
import pytest

from plugin_app.storage.audit_repo import AuditRepo
from plugin_app.storage.uow import NoShop


@pytest.fixture
def two_shops(tx_runtime):
    rt = tx_runtime
    a, _ = rt.shops.register("demo", "shop-a.example", currency="EUR")
    b, _ = rt.shops.register("demo", "shop-b.example", currency="EUR")
    alice, _ = rt.members.enrol(a.id, "cust-1", email="alice@example.com")
    bob, _ = rt.members.enrol(b.id, "cust-1", email="bob@example.com")
    return rt, a, b, alice, bob


def test_a_shop_sees_only_its_own_endpoints_deliveries_and_members(two_shops, clock):
    rt, a, b, alice, bob = two_shops
    endpoint = rt.notifier.add_endpoint(a.id, "https://hooks.a.example/in", ["member.enrolled"], "whsec_a")
    with rt.db.uow() as uow:  # the relay's scan: every shop's new events
        assert {ev.shop_id for ev in uow.jobs.unrelayed_events(100)} == {a.id, b.id}
    rt.notifier.relay()
    with rt.db.uow(a.id) as uow:
        [delivery] = uow.notifications.log("webhook", 10)
    with rt.db.uow(b.id) as uow:
        assert uow.webhook_endpoints.by_id(endpoint["id"]) is None
        assert uow.webhook_endpoints.ids() == [] and uow.webhook_endpoints.active_topics() == []
        assert not uow.webhook_endpoints.deactivate(endpoint["id"])  # names another shop's row: changes nothing
        assert all(r.shop_id == b.id for r in uow.notifications.log(None, 100))
        assert not uow.notifications.replay(delivery.id, clock.now())
        uow.notifications.mark_sent(delivery.id, clock.now())
        assert uow.notifications.email_opt_out(alice.id) is None
        uow.notifications.unsubscribe(alice.id)
        assert uow.notifications.shop().id == b.id
        assert [r.id for r in uow.customer_fields.due(100)] == [bob.id]
        assert uow.privacy.member_count() == 1
        assert uow.widget.activity(alice.id, 10) == [] and uow.widget.next_expiry(alice.id) is None
    with rt.db.uow(a.id) as uow:
        assert uow.webhook_endpoints.by_id(endpoint["id"]).active
        assert uow.notifications.log("webhook", 10)[0].state == "pending"
        assert uow.notifications.email_opt_out(alice.id) is False
    with rt.db.uow() as uow:  # the delivery job's lease: every shop's due deliveries
        leased = uow.jobs.lease_due_notifications(clock.now(), clock.now(), 100, emails=True)
        assert delivery.id in {r.id for r in leased}
        assert sorted(uow.jobs.installed_shop_ids_on(("demo",))) == sorted([a.id, b.id])
        with pytest.raises(NoShop):
            uow.notifications.log(None, 10)


def test_the_audit_of_one_shop_reads_only_its_books(two_shops):
    rt, a, b, alice, bob = two_shops
    with rt.db.uow(b.id) as uow:
        books = AuditRepo(uow.conn, b.id)
        assert [r.member_id for r in books.balances()] == [bob.id]
        assert books.shop_count() == 1
        everyone = AuditRepo(uow.conn)  # the operator's audit of the whole database
        assert {r.member_id for r in everyone.balances()} == {alice.id, bob.id}

"""A brand-new shop's first postings arrive together (real PostgreSQL, real threads): none of
them may deadlock, because the shop's program exists from registration on and no posting
locks the shop row (foreign-key checks on every insert share that row)."""
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import delete, func, select

from plugin_app.domain.ledger import Asset
from plugin_app.services.audit import run_audit
from plugin_app.storage import tables as t


def _versions(runtime, shop_id):
    with runtime.db.transaction() as conn:
        return conn.execute(select(func.count()).select_from(t.programs)
                            .where(t.programs.c.shop_id == shop_id)).scalar_one()


def test_registering_a_shop_gives_it_its_default_program(runtime):
    shop, _ = runtime.shops.register("demo", "fresh.example", timezone="Europe/Rome")
    assert _versions(runtime, shop.id) == 1
    pv = runtime.programs.current(shop.id)
    assert pv.version == 1 and pv.author == "system" and pv.program.timezone == "Europe/Rome"
    runtime.shops.register("demo", "fresh.example", timezone="Europe/Rome")  # re-install
    assert _versions(runtime, shop.id) == 1


def test_many_threads_posting_for_a_brand_new_shop(runtime):
    shop, _ = runtime.shops.register("demo", "brand-new.example")
    members = [runtime.members.enrol(shop.id, f"c{i}")[0].id for i in range(16)]
    barrier = threading.Barrier(16)

    def post(i):
        barrier.wait()
        for round_ in range(3):
            runtime.ledger.earn(shop.id, members[(i + round_) % 16], Asset.POINTS, 10,
                                key=f"first:{i}:{round_}", source="order", reason="first orders")

    with ThreadPoolExecutor(16) as pool:
        for f in [pool.submit(post, i) for i in range(16)]:
            f.result()  # a deadlock would raise here
    assert _versions(runtime, shop.id) == 1
    report = run_audit(runtime.db, shop.id)
    assert report.ok and report.entries == 48, report.problems


def test_a_posting_never_waits_for_the_shop_row(runtime):
    """An older shop with no program yet (registered before programs were made at
    registration) still gets one on its first posting, without locking the shop row: a
    posting must complete while another transaction holds that row for update."""
    shop, _ = runtime.shops.register("demo", "older.example")
    member, _ = runtime.members.enrol(shop.id, "c1")
    with runtime.db.transaction() as conn:
        conn.execute(delete(t.programs).where(t.programs.c.shop_id == shop.id))
    done = threading.Event()
    errors = []

    def post():
        try:
            runtime.ledger.earn(shop.id, member.id, Asset.POINTS, 10, key="k1", source="order", reason="first")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        done.set()

    holder = runtime.db.engine.connect()
    try:
        holder.begin()
        holder.execute(select(t.shops.c.id).where(t.shops.c.id == shop.id).with_for_update(key_share=True))
        thread = threading.Thread(target=post)
        thread.start()
        finished = done.wait(5)
    finally:
        holder.rollback()
        holder.close()
    thread.join(10)
    assert finished, "the posting waited for the shop row"
    assert not errors
    assert _versions(runtime, shop.id) == 1
    assert runtime.members.get(shop.id, member.id)[1].points == 10

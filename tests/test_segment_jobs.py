"""A large shop's new or edited segment is computed by a job, not in the request (issue 20): the
request stores the segment and answers `status: computing`; the job (RQ for real, or eager)
computes the membership quietly; a per-event refresh leaves a computing segment alone; a job
lost with its worker is resumed; deleting a computing segment works; small shops still get the
answer at once; the admin pages say "Counting members…" (English, Italian). And a move in a
shop that does not sync customer fields does not bump every moved member's revision, yet the
sync, once on, still writes their labels."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select, update

from plugin_app.domain.ports import FixedClock
from plugin_app.jobs import context
from plugin_app.jobs.queues import QUEUE_NAME, QUEUE_NAMES, URGENT_QUEUE
from plugin_app.runtime import Runtime
from plugin_app.storage import tables as t

from . import factories as F
from . import shopify_standin as S
from .conftest import make_settings
from .test_engagement_sync import gid
from .test_admin_engagement_pages import Admin, _text

BIG = {"all": [{"field": "points_balance", "op": "gte", "value": 400}]}
BIGGER = {"all": [{"field": "points_balance", "op": "gte", "value": 700}]}


def _segment_events(rt, shop) -> list[str]:
    e = t.events.c
    with rt.db.uow(shop.id) as uow:
        return list(uow.conn.execute(select(e.type).where(e.shop_id == shop.id, e.type.like("segment%"))).scalars())


def _members(rt, shop, points: list[int]) -> list:
    made = []
    for i, n in enumerate(points):
        mem = F.member(rt, shop)
        if n:
            rt.adjustments.adjust(shop.id, mem.id, "points", n, key=f"p{i}", actor="test", reason="test")
        made.append(mem)
    return made


class Held:
    """A queue that keeps what is enqueued (a job not run yet, or lost with a killed worker)."""

    def __init__(self) -> None:
        self.jobs: list[tuple] = []

    def __call__(self, task, *args, **kwargs) -> None:
        self.jobs.append((task, *args))


def test_big_shop_segment_is_computed_by_a_real_rq_worker(clean_db, redis_url, clock):
    rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=redis_url, segment_sync_members=3), clock=clock)
    try:
        shop, _ = rt.shops.register("demo", "segment-jobs.example")
        a, b, c, d = _members(rt, shop, [500, 800, 100, 0])
        seg = rt.segments.create(shop.id, "Big balances", BIG)
        assert seg["status"] == "computing" and seg["members_count"] is None  # not computed in the request
        assert F.segment_stored(rt, shop, seg["id"]) == set()
        # a posting meanwhile: the computing segment is left alone (no move, nothing told)
        rt.adjustments.adjust(shop.id, c.id, "points", 400, key="c2", actor="test", reason="test")
        assert F.segment_stored(rt, shop, seg["id"]) == set() and _segment_events(rt, shop) == []
        context.install(rt)
        redis = Redis.from_url(redis_url)
        SimpleWorker([Queue(n, connection=redis) for n in QUEUE_NAMES], connection=redis).work(burst=True)
        done = rt.segments.get(shop.id, seg["id"])
        assert done["status"] == "ready" and done["members_count"] == 3
        assert F.segment_stored(rt, shop, seg["id"]) == F.segment_matching(rt, shop, BIG) == {a.id, b.id, c.id}
        assert _segment_events(rt, shop) == []  # computed quietly, as in the request
        # an edit: computing again, the old membership kept until the job replaces it
        edited = rt.segments.update(shop.id, seg["id"], "Bigger balances", BIGGER)
        assert edited["status"] == "computing" and edited["members_count"] is None
        assert [s["status"] for s in rt.segments.list(shop.id)] == ["computing"]
        SimpleWorker([Queue(n, connection=redis) for n in QUEUE_NAMES], connection=redis).work(burst=True)
        done = rt.segments.get(shop.id, seg["id"])
        assert done["status"] == "ready" and done["members_count"] == 1 and done["name"] == "Bigger balances"
        assert F.segment_stored(rt, shop, seg["id"]) == {b.id}
        # after that, moves are per event and told again
        rt.adjustments.adjust(shop.id, d.id, "points", 900, key="d1", actor="test", reason="test")
        assert F.segment_stored(rt, shop, seg["id"]) == {b.id, d.id} and _segment_events(rt, shop) == ["segment_entered"]
    finally:
        context.install(None)
        rt.close()


@pytest.fixture
def big(clean_db, clock):
    """An eager runtime whose segment jobs are held (as if no worker took them yet)."""
    rt = Runtime(make_settings(clean_db, segment_sync_members=2), clock=clock)
    held = Held()
    rt.segments.enqueue = held
    shop = F.shop(rt)
    yield rt, shop, held, clock
    rt.close()


def test_a_job_lost_with_its_worker_is_resumed_and_running_twice_is_harmless(big):
    rt, shop, held, clock = big
    a, b, _ = _members(rt, shop, [500, 800, 100])
    seg = rt.segments.create(shop.id, "Big balances", BIG)
    assert held.jobs == [("compute_segment", shop.id, seg["id"])]
    held.jobs.clear()  # the worker that took it was killed before it committed
    assert rt.segments.resume_computing() == 0  # not yet: it may still be running
    rt.segments.clock = FixedClock(clock.now() + timedelta(minutes=16))
    assert rt.segments.resume_computing() == 1 and held.jobs == [("compute_segment", shop.id, seg["id"])]
    assert rt.segments.compute(shop.id, seg["id"]).startswith("computed: 2 entered")
    assert rt.segments.compute(shop.id, seg["id"]) == "computed already"  # the lost one, run late: nothing
    assert rt.segments.get(shop.id, seg["id"])["members_count"] == 2
    assert F.segment_stored(rt, shop, seg["id"]) == {a.id, b.id} and _segment_events(rt, shop) == []
    assert rt.segments.resume_computing() == 0


def test_the_periodic_pass_computes_a_segment_left_computing_quietly(big):
    rt, shop, held, _ = big
    a, b, _ = _members(rt, shop, [500, 800, 100])
    seg = rt.segments.create(shop.id, "Big balances", BIG)
    assert rt.segments.refresh_shop(shop.id) == 0  # no move told for a first computation
    assert rt.segments.get(shop.id, seg["id"])["status"] == "ready"
    assert F.segment_stored(rt, shop, seg["id"]) == {a.id, b.id} and _segment_events(rt, shop) == []
    assert rt.segments.compute(shop.id, seg["id"]) == "computed already"


def test_a_computing_segment_can_be_deleted_and_its_job_then_does_nothing(big):
    rt, shop, held, _ = big
    _members(rt, shop, [500, 800, 100])
    seg = rt.segments.create(shop.id, "Big balances", BIG)
    rt.segments.delete(shop.id, seg["id"])
    assert rt.segments.list(shop.id) == []
    assert rt.segments.compute(shop.id, seg["id"]) == "gone"


def test_a_small_shop_gets_its_segment_at_once(clean_db, clock):
    rt = Runtime(make_settings(clean_db, segment_sync_members=5), clock=clock)
    try:
        held = Held()
        rt.segments.enqueue = held
        shop = F.shop(rt)
        a, b, _ = _members(rt, shop, [500, 800, 100])
        seg = rt.segments.create(shop.id, "Big balances", BIG)
        assert seg["status"] == "ready" and seg["members_count"] == 2 and held.jobs == []
        seg = rt.segments.update(shop.id, seg["id"], "Bigger", BIGGER)
        assert seg["status"] == "ready" and seg["members_count"] == 1 and held.jobs == []
        assert F.segment_stored(rt, shop, seg["id"]) == {b.id}
    finally:
        rt.close()


def test_the_api_answers_computing_and_documents_it(tx_app):
    rt = tx_app.extensions["loyalty"]
    shop, key = F.shop_and_key(rt)
    _members(rt, shop, [500, 800, 100])
    held = Held()
    rt.segments.enqueue, rt.segments.sync_members = held, 2
    client = tx_app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    r = client.post("/admin/api/v1/segments", json={"name": "Big balances", "rule": BIG}, headers=auth)
    assert r.status_code == 201, r.get_json()
    seg = r.get_json()
    assert seg["status"] == "computing" and seg["members_count"] is None
    preview = client.get(f"/admin/api/v1/segments/{seg['id']}/members?preview=true", headers=auth).get_json()
    assert preview["count"] == 2  # the preview stays available meanwhile
    rt.segments.compute(*held.jobs[0][1:])
    got = client.get(f"/admin/api/v1/segments/{seg['id']}", headers=auth).get_json()
    assert got["status"] == "ready" and got["members_count"] == 2
    spec = client.get("/openapi.json").get_json()
    schema = spec["components"]["schemas"]["SegmentOut"]["properties"]["status"]
    assert set(schema["enum"]) == {"ready", "computing"}


def test_the_admin_pages_say_counting_members_in_english_and_italian(tx_app):
    rt = tx_app.extensions["loyalty"]
    shop, key = F.shop_and_key(rt, currency="EUR")
    _members(rt, shop, [500, 800, 100])
    held = Held()
    rt.segments.enqueue, rt.segments.sync_members = held, 2
    admin = Admin(tx_app, key)
    admin.get("/admin/segments/new?lang=en")
    html = admin.post("/admin/segments/new", {"name": "Big balances", "mode": "all", "c.__n": "1",
                                              "c.0.field": "points_balance", "c.0.op": "gte", "c.0.value": "400",
                                              "action": "save"}, status=302)
    sid = held.jobs[0][2]
    text = _text(admin.get(f"/admin/segments/{sid}?saved=1"))
    assert "Counting members…" in text and "in a large shop this takes a few minutes" in text
    assert "Counting members…" in _text(admin.get("/admin/segments"))
    text = _text(admin.get("/admin/segments?lang=it"))
    assert "Conteggio dei membri in corso…" in text
    assert "Conteggio dei membri in corso…" in _text(admin.get(f"/admin/segments/{sid}"))
    rt.segments.compute(shop.id, sid)
    text = _text(admin.get(f"/admin/segments/{sid}?lang=en"))
    assert "Counting members…" not in text and "2 members" in text
    assert html is not None


# -- moves and the customer-fields sync ---------------------------------------------------------
@pytest.fixture
def shopify(clean_db, clock):
    state = S.AdminState()
    rt = Runtime(make_settings(clean_db, shopify_api_key="k", shopify_api_secret="s" * 32), clock=clock)
    rt.shopify_http = httpx.Client(transport=httpx.WSGITransport(app=S.admin_app(state)))
    shop = F.shop(rt, platform="shopify", domain=S.DOMAIN, credentials={"access_token": "shpat_standin", "api_secret": "x"})
    yield rt, state, shop
    rt.close()


def _sync(rt, shop, on: bool) -> None:
    F.use_program(rt, shop, **F.with_sections(rt.programs.current(shop.id).program, sync_customer_fields=on))
    rt.programs._current_cache.clear()


def _rev(rt, shop, member_id: int) -> int:
    m = t.members.c
    with rt.db.uow(shop.id) as uow:
        return uow.conn.execute(select(m.segments_rev).where(m.id == member_id)).scalar_one()


def test_moves_without_a_sync_spare_the_members_table_yet_the_sync_turned_on_writes_everyone(shopify):
    rt, state, shop = shopify
    never = F.member(rt, shop, "7300400500701")
    written = F.member(rt, shop, "7300400500702")
    _sync(rt, shop, True)
    # `written` has had its fields written once (the sync was on), `never` not (made due again)
    assert rt.customer_fields.sync() == 2
    with rt.db.uow(shop.id) as uow:
        uow.conn.execute(update(t.members).where(t.members.c.id == never.id).values(fields_synced=None))
    _sync(rt, shop, False)
    for i, mem in enumerate((never, written)):
        rt.adjustments.adjust(shop.id, mem.id, "points", 500, key=f"x{i}", actor="test", reason="x")
    rt.customer_fields.sync()  # off: writes nothing
    seg = rt.segments.create(shop.id, "Whales", BIG)
    assert seg["members_count"] == 2
    assert _rev(rt, shop, never.id) == 0  # never written: no bump needed, it is due anyway
    assert _rev(rt, shop, written.id) == 1  # written before: bumped, so it is due again
    _sync(rt, shop, True)
    assert {r.id for r in rt.customer_fields.due(shop.id, 10)} == {never.id, written.id}
    rt.customer_fields.sync()
    for cid in ("7300400500701", "7300400500702"):
        assert "loyalty:segment:whales" in state.customer_tags[gid(cid)]


def test_an_edit_while_the_job_runs_leaves_it_computing_for_the_edits_job(big):
    """The job read the old rule; the merchant edits meanwhile (the request does not wait for the
    job): the job's end does not mark the segment computed, the edit's job computes the new rule."""
    rt, shop, held, _ = big
    a, b, _ = _members(rt, shop, [500, 800, 100])
    seg = rt.segments.create(shop.id, "Big balances", BIG)
    real = rt.segments.matching
    edited = []

    def matching_then_edit(conn, *args):  # the job has read the segment; an edit commits now
        if not edited:
            edited.append(rt.segments.update(shop.id, seg["id"], "Bigger", BIGGER))
        return real(conn, *args)

    rt.segments.matching = matching_then_edit
    rt.segments.compute(shop.id, seg["id"])
    rt.segments.matching = real
    assert edited[0]["status"] == "computing"
    assert rt.segments.get(shop.id, seg["id"])["status"] == "computing"  # the old rule's count is not shown as done
    assert held.jobs[-1] == ("compute_segment", shop.id, seg["id"])
    rt.segments.compute(shop.id, seg["id"])
    done = rt.segments.get(shop.id, seg["id"])
    assert done["status"] == "ready" and done["members_count"] == 1 and F.segment_stored(rt, shop, seg["id"]) == {b.id}

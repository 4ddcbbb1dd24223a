"""The durable inbox: duplicates, double processing, two workers at once, a lost doorbell
(Redis wiped) and retries. Real PostgreSQL; real Redis and RQ where a queue is involved."""
import json
import threading
from datetime import timedelta

from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import text

from plugin_app.jobs.queues import QUEUE_NAME, QUEUE_NAMES, URGENT_QUEUE
from plugin_app.runtime import Runtime
from plugin_app.services.audit import run_audit

from .conftest import make_settings


def award(customer="c-1", event_id="e"):
    return json.dumps({"id": event_id, "customer_id": customer, "event": "visit"}).encode()


def with_visit_action(rt, shop):
    """A custom action worth 40 points, uncapped, for these tests."""
    rt.programs.put(shop.id, {"actions": {"custom": {"visit": {"enabled": True, "points": 40}}}},
                    author="test")
    return shop


def count(rt, sql):
    with rt.db.transaction() as conn:
        return conn.execute(text(sql)).scalar()


def lazy_runtime(clean_db, clock):
    """A runtime whose doorbell rings nobody: the test decides when processing happens."""
    from plugin_app.services.inbox import DirectBell

    rt = Runtime(make_settings(clean_db), clock=clock)
    rt.inbox.enqueue = lambda *a, **k: None
    rt.inbox.doorbell = DirectBell(rt.inbox.enqueue)
    return rt


def test_duplicate_delivery_is_stored_once(runtime, shop):
    with_visit_action(runtime, shop)
    first = runtime.inbox.accept(shop.id, "internal", "action.completed", "evt-1", award(), {})
    again = runtime.inbox.accept(shop.id, "internal", "action.completed", "evt-1", award(), {})
    assert first[1] and not again[1] and first[0] == again[0]
    assert count(runtime, "select count(*) from inbox") == 1
    assert count(runtime, "select count(*) from ledger_entries") == 1  # eager queue processed it


def test_same_message_processed_twice_posts_once(clean_db, clock):
    rt = lazy_runtime(clean_db, clock)
    shop, _ = rt.shops.register("demo", "s.example")
    with_visit_action(rt, shop)
    inbox_id, _ = rt.inbox.accept(shop.id, "internal", "action.completed", "evt-1", award(), {})
    assert rt.inbox.process(inbox_id) == "done"
    assert rt.inbox.process(inbox_id) == "skipped"
    # Even if the row is forced back to "received" (a lease lost mid-way), the ledger key holds.
    with rt.db.transaction() as conn:
        conn.execute(text("update inbox set state = 'received', locked_until = null"))
    assert rt.inbox.process(inbox_id) == "done"
    assert count(rt, "select count(*) from ledger_entries") == 1
    assert rt.members.by_customer(shop.id, "c-1")[1].points == 40
    assert "already posted" in rt.inbox.get(inbox_id).outcome
    rt.close()


def test_two_workers_at_once_post_once(clean_db, clock):
    rt = lazy_runtime(clean_db, clock)
    shop, _ = rt.shops.register("demo", "s.example")
    with_visit_action(rt, shop)
    ids = [rt.inbox.accept(shop.id, "internal", "action.completed", f"evt-{i}",
                           award(f"c-{i % 3}", f"e{i}"), {})[0] for i in range(20)]
    barrier = threading.Barrier(2)
    outcomes = []

    def worker():
        barrier.wait()
        outcomes.extend(rt.inbox.process(i) for i in ids)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert outcomes.count("done") == 20 and outcomes.count("skipped") == 20
    assert count(rt, "select count(*) from ledger_entries") == 20
    assert count(rt, "select sum(points) from balances") == 20 * 40
    assert run_audit(rt.db).ok
    rt.close()


def test_a_failing_handler_retries_with_backoff_then_gives_up_visibly(clean_db, clock):
    rt = lazy_runtime(clean_db, clock)
    rt.inbox.max_attempts = 2
    calls = []

    def flaky(message):
        calls.append(message.attempts)
        raise ConnectionError("platform down")

    rt.inbox.register("internal", "flaky", flaky)
    shop, _ = rt.shops.register("demo", "s.example")
    inbox_id, _ = rt.inbox.accept(shop.id, "internal", "flaky", "f-1", b"{}", {})
    assert rt.inbox.process(inbox_id) == "retry"
    assert rt.inbox.process(inbox_id) == "skipped"  # backing off
    clock.advance(seconds=3)
    assert rt.inbox.sweep() == 1
    assert rt.inbox.process(inbox_id) == "retry"
    clock.advance(seconds=5)
    assert rt.inbox.process(inbox_id) == "skipped"
    row = rt.inbox.get(inbox_id)
    assert row.state == "failed" and "gave up" in row.outcome and "platform down" in row.last_error
    assert calls == [1, 2]
    rt.close()


def test_bad_message_fails_visibly_without_retry(clean_db, clock):
    rt = lazy_runtime(clean_db, clock)
    shop, _ = rt.shops.register("demo", "s.example")
    inbox_id, _ = rt.inbox.accept(shop.id, "internal", "action.completed", "bad", b'{"points": 5}', {})
    refused, _ = rt.inbox.accept(shop.id, "internal", "action.completed", "r", award(), {})
    assert rt.inbox.process(refused) == "ignored"  # "visit" earns nothing in the default program
    assert "earns nothing" in rt.inbox.get(refused).outcome
    assert rt.inbox.process(inbox_id) == "failed"
    row = rt.inbox.get(inbox_id)
    assert row.state == "failed" and row.outcome.startswith("invalid_request")
    unknown, _ = rt.inbox.accept(shop.id, "internal", "no.such.topic", "u", b"{}", {})
    assert rt.inbox.process(unknown) == "ignored"
    assert count(rt, "select count(*) from ledger_entries") == 0
    rt.close()


def test_redis_wipe_loses_nothing_the_sweeper_rings_again(clean_db, clock, redis_url):
    rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=redis_url), clock=clock)
    shop, _ = rt.shops.register("demo", "s.example")
    with_visit_action(rt, shop)
    ids = [rt.inbox.accept(shop.id, "internal", "action.completed", f"e{i}", award(event_id=f"e{i}"), {})[0]
           for i in range(5)]
    redis = Redis.from_url(redis_url)
    drains = Queue(URGENT_QUEUE, connection=redis)
    assert 1 <= drains.count <= 5  # one drain per slot, not per message
    redis.flushdb()  # Redis loses every job (and the doorbell's state)
    assert drains.count == 0
    assert rt.inbox.sweep() == 0  # too early: the doorbell may still be ringing
    clock.advance(seconds=rt.settings.sweep_after_seconds)
    assert rt.inbox.sweep() == 5
    from plugin_app.jobs import context
    context.install(rt)
    SimpleWorker([Queue(n, connection=redis) for n in QUEUE_NAMES], connection=redis).work(burst=True)
    assert [rt.inbox.get(i).state for i in ids] == ["done"] * 5
    assert rt.members.by_customer(shop.id, "c-1")[1].points == 200
    rt.close()


def test_redis_down_at_intake_still_stores_the_delivery(clean_db, clock):
    rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url="redis://127.0.0.1:1/0"), clock=clock)
    shop, _ = rt.shops.register("demo", "s.example")
    inbox_id, created = rt.inbox.accept(shop.id, "internal", "action.completed", "e1", award(), {})
    assert created and rt.inbox.get(inbox_id).state == "received"
    rt.close()


def test_periodic_jobs_fire_once_per_slot_across_workers(redis_url):
    from plugin_app.jobs.worker import tick

    redis = Redis.from_url(redis_url)
    fired = []
    first = tick(redis, fired.append, now=1_000_000.0)
    second = tick(redis, fired.append, now=1_000_000.5)  # another worker, same second
    assert first and second == [] and sorted(fired) == sorted(first)
    later = tick(redis, fired.append, now=1_000_000.0 + 3600)
    assert set(later) == set(first)


def test_doorbell_drains_every_message_without_the_sweeper(clean_db, clock, redis_url):
    rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=redis_url), clock=clock)
    shop, _ = rt.shops.register("demo", "s.example")
    with_visit_action(rt, shop)
    from plugin_app.jobs import context
    context.install(rt)
    redis = Redis.from_url(redis_url)
    worker = SimpleWorker([Queue(n, connection=redis) for n in QUEUE_NAMES], connection=redis)
    ids = []
    for batch in range(3):  # messages arriving while drains run and after they settle
        ids += [rt.inbox.accept(shop.id, "internal", "action.completed", f"b{batch}-{i}",
                                award(f"c{i}", f"b{batch}-{i}"), {})[0] for i in range(17)]
        worker.work(burst=True)
    assert {rt.inbox.get(i).state for i in ids} == {"done"}
    assert not [k for k in redis.keys("loyalty:drain:*")]  # every bell settled
    rt.close()


def test_jobs_rq_gave_up_on_are_listed_and_requeued(clean_db, redis_url):
    """Operators see RQ's failed jobs (`loyalty jobs failed`) and put them back (`--requeue`)."""
    rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=redis_url))
    redis = Redis.from_url(redis_url)
    rt.queue.enqueue("drain_inbox", "not-a-slot", "nor-a-count")  # a job that raises
    from plugin_app.jobs import context
    context.install(rt)
    SimpleWorker([Queue(n, connection=redis) for n in QUEUE_NAMES], connection=redis).work(burst=True)
    failed = rt.queue.failed()
    assert [f["task"] for f in failed] == ["drain_inbox"] and failed[0]["args"] == ["not-a-slot", "nor-a-count"]
    assert "Error" in failed[0]["error"] and failed[0]["failed_at"]
    assert rt.queue.requeue_failed() == 1 and rt.queue.failed() == []
    assert Queue(URGENT_QUEUE, connection=redis).count == 1  # back on the queue it came from
    rt.close()


def _storm(rt, shop, keys):
    """Every key delivered from its own thread at once, through the group commit."""
    out, barrier = {}, threading.Barrier(len(keys))

    def deliver(n, key):
        barrier.wait()
        out[n] = (key, rt.intake.accept(shop.id, "internal", "action.completed", key, award(event_id=key), {}))

    threads = [threading.Thread(target=deliver, args=(n, k)) for n, k in enumerate(keys)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return list(out.values())


def test_group_commit_stores_each_delivery_once_and_rings_once_per_slot(clean_db, clock, redis_url):
    """40 deliveries at once (10 events, each sent 4 times) through the intake's group commit:
    one row per event, every copy answered with that row's id, exactly one copy told it is new,
    at most one drain per doorbell slot queued; a worker then processes all of them."""
    rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=redis_url), clock=clock)
    shop, _ = rt.shops.register("demo", "s.example")
    with_visit_action(rt, shop)
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    answers = _storm(rt, shop, [f"g{i % 10}" for i in range(40)])
    assert count(rt, "select count(*) from inbox") == 10
    by_key: dict = {}
    for key, (inbox_id, new) in answers:
        by_key.setdefault(key, []).append((inbox_id, new))
    for key, got in by_key.items():
        assert len({i for i, _ in got}) == 1 and sum(new for _, new in got) == 1, (key, got)
    assert 1 <= Queue(URGENT_QUEUE, connection=redis).count <= 10  # one drain per slot hit, not per delivery
    from plugin_app.jobs import context
    context.install(rt)
    SimpleWorker([Queue(n, connection=redis) for n in QUEUE_NAMES], connection=redis).work(burst=True)
    assert count(rt, "select count(*) from inbox where state = 'done'") == 10
    assert not redis.keys("loyalty:drain:*")
    assert rt.members.by_customer(shop.id, "c-1")[1].points == 400
    rt.close()


def test_group_commit_on_sqlite_and_with_redis_down(tmp_path, clock):
    """The demo's database takes the same batches; a doorbell that cannot ring loses nothing."""
    rt = Runtime(make_settings(f"sqlite:///{tmp_path / 'g.db'}", jobs_mode="rq", redis_url="redis://127.0.0.1:1/0"),
                 clock=clock)
    from plugin_app.storage.migrate import upgrade
    upgrade(rt.settings.database_url)
    shop, _ = rt.shops.register("demo", "s.example")
    answers = _storm(rt, shop, [f"s{i % 6}" for i in range(18)])
    assert count(rt, "select count(*) from inbox where state = 'received'") == 6
    assert sum(new for _, (_, new) in answers) == 6
    rt.close()


def test_a_backlog_older_than_the_sweep_is_left_to_its_drains(clean_db, clock, redis_url):
    """A backlog waiting for its drains past `sweep_after` is not stuck: the sweeper rings the
    slots' bells (already rung: nothing queued) instead of queueing one job per message in front
    of the drains; a message whose lease ran out still gets a job of its own; after a Redis wipe
    the bells are free and the sweep queues one drain per slot, which finishes everything."""
    rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=redis_url), clock=clock)
    shop, _ = rt.shops.register("demo", "s.example")
    with_visit_action(rt, shop)
    redis = Redis.from_url(redis_url)
    queue = Queue(URGENT_QUEUE, connection=redis)
    ids = [rt.inbox.accept(shop.id, "internal", "action.completed", f"k{i}", award(f"c{i}", f"k{i}"), {})[0]
           for i in range(40)]
    queued = queue.count
    assert 1 <= queued <= rt.inbox.doorbell.slots
    claimed = rt.inbox._claim(ids[0])  # a worker took one and died: its lease will run out
    assert claimed is not None
    clock.advance(seconds=rt.settings.sweep_after_seconds + rt.inbox.lease.total_seconds())
    assert rt.inbox.sweep() == 40
    assert queue.count == queued + 1  # only the expired lease's own job
    redis.flushdb()  # the drains and their bells are lost
    assert rt.inbox.sweep() == 40 and 1 <= queue.count <= rt.inbox.doorbell.slots + 1
    from plugin_app.jobs import context
    context.install(rt)
    SimpleWorker([queue], connection=redis).work(burst=True)
    assert {rt.inbox.get(i).state for i in ids} == {"done"}
    rt.close()


def test_a_drain_is_taken_before_queued_periodic_jobs(clean_db, clock, redis_url):
    """Drains go to a queue of their own that every worker looks at first: a webhook's points
    do not wait behind a queue of periodic and bulk jobs (after a backlog, relays and folds of
    its events), only for the job a worker has in hand."""
    rt = Runtime(make_settings(clean_db, jobs_mode="rq", redis_url=redis_url), clock=clock)
    shop, _ = rt.shops.register("demo", "s.example")
    with_visit_action(rt, shop)
    redis = Redis.from_url(redis_url)
    for _ in range(5):
        rt.queue.enqueue("refresh_analytics")
        rt.queue.enqueue("relay_notifications")
    inbox_id, _ = rt.inbox.accept(shop.id, "internal", "action.completed", "u1", award("c-1", "u1"), {})
    assert Queue(QUEUE_NAME, connection=redis).count == 10 and Queue(URGENT_QUEUE, connection=redis).count == 1
    from plugin_app.jobs import context
    context.install(rt)
    SimpleWorker([Queue(n, connection=redis) for n in QUEUE_NAMES], connection=redis).work(burst=True, max_jobs=1)
    assert rt.inbox.get(inbox_id).state == "done"  # the one job run was the drain
    assert Queue(QUEUE_NAME, connection=redis).count == 10
    rt.close()

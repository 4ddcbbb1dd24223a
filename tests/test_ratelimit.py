"""The storefront's rate limits on a real Redis: one script per request counts every limit and
reads the cached widget summary; a Redis that lost its scripts or is down never blocks anyone."""
from redis import Redis

from plugin_app.services.ratelimit import RateLimiter


def test_limits_count_across_callers_and_read_the_cached_value(redis_url):
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    a, b = RateLimiter(redis), RateLimiter(Redis.from_url(redis_url))  # two web processes
    checks = [("shop:1", 5), ("client:1:c-1", 3)]
    redis.set("cached", b"{\"x\":1}")
    assert a.hit_all(checks, window=60, fetch="cached") == (0, b"{\"x\":1}")
    assert b.hit_all(checks, window=60, fetch="missing") == (0, None)
    assert a.hit_all(checks, window=60) == 0  # the client's third request: still allowed
    wait = b.hit_all(checks, window=60)  # the fourth is over the client's limit
    assert 1 <= wait <= 60
    assert a.hit_all([("shop:1", 5), ("client:1:c-2", 3)], window=60) == 0  # another client: 5th for the shop
    assert a.hit_all([("shop:1", 5), ("client:1:c-3", 3)], window=60) > 0  # 6th for the shop
    names = [k.decode() for k in redis.keys("rl:*")]
    assert len(names) == 4 and all(0 < redis.ttl(n) <= 120 for n in names)  # every counter expires
    redis.script_flush()  # Redis restarted or flushed: the script is loaded again
    assert a.hit_all([("shop:2", 5)], window=60, fetch="cached") == (0, b"{\"x\":1}")
    redis.flushdb()


def test_a_redis_that_is_down_lets_requests_through():
    limiter = RateLimiter(Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2))
    assert limiter.hit_all([("shop:1", 0)], fetch="k") == (0, None)
    assert limiter.hit_all([("shop:1", 0)]) == 0

"""Fixed-window rate limits, shared by every process through Redis (or in-process without it).
One INCR per check (plus EXPIRE on a window's first hit); several checks, and a cached value to
read with them, are one command (a Lua script run by EVALSHA): one round trip, and one reply
for the client to parse instead of five."""
from __future__ import annotations

import threading
import time


# KEYS: the counters, then (when ARGV[2] is "1") the cached value's key; ARGV[1]: the counters'
# time to live. Returns each counter's new value, then the cached value (nil when absent).
_HIT_ALL = """
local n = #KEYS
if ARGV[2] == '1' then n = n - 1 end
local out = {}
for i = 1, n do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('EXPIRE', KEYS[i], ARGV[1]) end
  out[i] = count
end
if ARGV[2] == '1' then out[n + 1] = redis.call('GET', KEYS[n + 1]) end
return out
"""


class RateLimiter:
    def __init__(self, redis=None) -> None:
        self.redis = redis
        self._local: dict[str, int] = {}
        self._lock = threading.Lock()
        # EVALSHA, and EVAL again when Redis lost its scripts (a restart, a flush).
        self._script = redis.register_script(_HIT_ALL) if redis is not None else None

    def hit_all(self, checks: list[tuple[str, int]], window: int = 1, fetch: str | None = None):
        """Several counters at once, and optionally a cached value in the same Redis round trip.
        Returns the longest wait (0 when allowed), or (wait, cached value) when `fetch` is given."""
        now = time.time()
        slot = int(now // window)
        names = [f"rl:{key}:{slot}" for key, _ in checks]
        if self.redis is None:
            wait = max((self.hit(key, limit, window) for key, limit in checks), default=0)
            return (wait, None) if fetch else wait
        try:
            results = self._script(keys=names + [fetch] if fetch else names, args=[window * 2, 1 if fetch else 0])
        except Exception:  # never turn a Redis hiccup into a storefront outage
            return (0, None) if fetch else 0
        counts = results[: len(names)]
        if fetch and len(results) == len(names):  # a nil at the end of a Lua table is dropped
            results = [*results, None]
        over = any(count > limit for count, (_, limit) in zip(counts, checks))
        wait = max(1, int((slot + 1) * window - now + 0.999)) if over else 0
        return (wait, results[-1]) if fetch else wait

    def hit(self, key: str, limit: int, window: int = 1) -> int:
        """0 when allowed, else the seconds to wait (for Retry-After)."""
        now = time.time()
        slot = int(now // window)
        name = f"rl:{key}:{slot}"
        if self.redis is not None:
            try:
                count = self.redis.incr(name)
                if count == 1:
                    self.redis.expire(name, window * 2)
            except Exception:  # never turn a Redis hiccup into a storefront outage
                return 0
        else:
            with self._lock:
                if len(self._local) > 10_000:
                    self._local = {k: v for k, v in self._local.items() if k.endswith(f":{slot}")}
                count = self._local[name] = self._local.get(name, 0) + 1
        if count <= limit:
            return 0
        return max(1, int((slot + 1) * window - now + 0.999))

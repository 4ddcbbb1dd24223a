"""Fixed-window rate limits, shared by every process through Redis (or in-process without it).
One INCR per check (plus EXPIRE on a window's first hit)."""
from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self, redis=None) -> None:
        self.redis = redis
        self._local: dict[str, int] = {}
        self._lock = threading.Lock()

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
            pipe = self.redis.pipeline(transaction=False)
            for name in names:
                pipe.incr(name)
                pipe.expire(name, window * 2, nx=True)
            if fetch:
                pipe.get(fetch)
            results = pipe.execute()
        except Exception:
            return (0, None) if fetch else 0
        counts = results[: 2 * len(names): 2]
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

"""The process's runtime, for tasks: set by `create_app` or the worker, else built from env.

A runtime that runs a task itself (`Runtime.run_task`: the in-process queue, the demo's periodic
thread, eager tests) lends itself to that call only, in that thread: it must not replace the
process's runtime for everybody else (a demo app's periodic thread used to take over the RQ
jobs of another runtime in the same process)."""
from __future__ import annotations

import threading
from contextlib import contextmanager

_lock = threading.Lock()
_runtime = None
_lent = threading.local()


def install(runtime) -> None:
    global _runtime
    _runtime = runtime


@contextmanager
def lent(runtime):
    """`runtime` is current for this thread while the block runs."""
    previous = getattr(_lent, "runtime", None)
    _lent.runtime = runtime
    try:
        yield runtime
    finally:
        _lent.runtime = previous


def current():
    global _runtime
    mine = getattr(_lent, "runtime", None)
    if mine is not None:
        return mine
    if _runtime is None:
        with _lock:
            if _runtime is None:
                from ..runtime import Runtime
                from ..settings import Settings

                settings = Settings.from_env()
                settings.validate()
                _runtime = Runtime(settings)
    return _runtime

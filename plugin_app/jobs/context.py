"""The runtime a task runs against. Jobs sit below the runtime, so they never build one: whoever
starts a process installs it (`create_app` for web processes and the offline demo,
`jobs.worker.run_worker` for `loyalty worker`), and `current()` refuses to guess.

A work-horse that RQ forks per job (`loyalty worker --fork`) inherits the installed runtime with
the rest of its parent's memory. A freshly spawned interpreter (RQ's `SpawnWorker`, a bare
`rq worker`) has nothing installed and fails its job with `NoRuntime`, instead of quietly
building a second runtime from the environment.

A runtime that runs a task itself (`Runtime.run_task`: the in-process queue, the demo's periodic
thread, eager tests) lends itself to that call only, in that thread: it must not replace the
process's runtime for everybody else (a demo app's periodic thread used to take over the RQ
jobs of another runtime in the same process)."""
from __future__ import annotations

import threading
from contextlib import contextmanager

_runtime = None
_lent = threading.local()


class NoRuntime(RuntimeError):
    """A task ran in a process whose starter installed no runtime."""


def install(runtime) -> None:
    """`runtime` is the process's runtime for every thread that has none lent."""
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
    """The runtime lent to this thread, else the process's; `NoRuntime` when neither exists."""
    mine = getattr(_lent, "runtime", None)
    if mine is not None:
        return mine
    if _runtime is None:
        raise NoRuntime("no runtime installed for background jobs in this process: its starter must call "
                        "plugin_app.jobs.context.install(runtime) (create_app and `loyalty worker` do)")
    return _runtime

"""A runtime that runs a task itself lends itself to that call only: the demo's periodic thread
(any app in thread mode) used to install its runtime for the whole process every few seconds,
so RQ jobs of another runtime in the same process ran against the wrong database (their claims
found nothing: deliveries stayed unprocessed)."""
import threading

from plugin_app.jobs import context, tasks
from plugin_app.runtime import Runtime

from .conftest import make_settings


def test_a_task_run_by_one_runtime_does_not_take_over_the_process(clean_db, monkeypatch):
    a = Runtime(make_settings(clean_db))
    b = Runtime(make_settings(clean_db))
    seen = []
    monkeypatch.setitem(tasks.TASKS, "probe", lambda: seen.append(context.current()) or "ok")
    context.install(a)
    thread = threading.Thread(target=b.run_task, args=("probe", ()))
    thread.start()
    thread.join()
    assert seen == [b]  # the task saw the runtime that ran it
    assert context.current() is a  # and the process's runtime is still the one installed
    b.run_task("probe", ())
    assert seen[-1] is b and context.current() is a
    a.close()
    b.close()

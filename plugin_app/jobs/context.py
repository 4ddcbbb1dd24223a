"""The process's runtime, for tasks: set by `create_app` or the worker, else built from env."""
from __future__ import annotations

import threading

_lock = threading.Lock()
_runtime = None


def install(runtime) -> None:
    global _runtime
    _runtime = runtime


def current():
    global _runtime
    if _runtime is None:
        with _lock:
            if _runtime is None:
                from ..runtime import Runtime
                from ..settings import Settings

                settings = Settings.from_env()
                settings.validate()
                _runtime = Runtime(settings)
    return _runtime

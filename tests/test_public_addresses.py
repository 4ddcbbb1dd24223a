"""Links people follow point where the app really is: APP_URL when set, else the demo's own
--host/--port (the admin link, the e-mail unsubscribe link); never a fixed 127.0.0.1:8000."""
import re

import pytest
from click.testing import CliRunner

import plugin_app
from plugin_app.cli import main
from plugin_app.demo import public_url

from .conftest import ENCRYPTION_KEY


def test_public_url():
    assert public_url("127.0.0.1", 8123, {}) == "http://127.0.0.1:8123"
    assert public_url("0.0.0.0", 9000, {}) == "http://127.0.0.1:9000"
    assert public_url("::1", 9000, {}) == "http://[::1]:9000"
    assert public_url("0.0.0.0", 9000, {"APP_URL": "https://loyalty.example.com/"}) == "https://loyalty.example.com"


@pytest.mark.parametrize("app_url, expected", [(None, "http://127.0.0.1:8123"),
                                               ("https://loyalty.example.com", "https://loyalty.example.com")])
def test_the_demo_links_follow_its_port_or_app_url(tmp_path, monkeypatch, app_url, expected):
    apps = []
    real = plugin_app.create_app
    monkeypatch.setattr(plugin_app, "create_app", lambda config=None: apps.append(real(config)) or apps[-1])
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "LOYALTY_ENCRYPTION_KEY": ENCRYPTION_KEY,
           "LOG_LEVEL": "ERROR", "REDIS_URL": "", "APP_URL": app_url or ""}
    r = CliRunner().invoke(main, ["demo", "--port", "8123", "--no-serve"], env=env, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert re.search(rf"admin\s+{re.escape(expected)}/admin/link/\S+", r.output), r.output
    assert f"{expected}/demo/store?shop=" in r.output and "8000" not in r.output
    rt = apps[0].extensions["loyalty"]
    try:
        assert rt.notifier.unsubscribe_url(1, 1).startswith(f"{expected}/u/1.1.")
    finally:
        apps[0].extensions["loyalty_periodic_stop"].set()  # the demo's periodic thread ends with the test
        rt.close()


def test_admin_link_uses_app_url(runtime, shop, clean_db):
    env = {"DATABASE_URL": clean_db, "LOYALTY_ENCRYPTION_KEY": ENCRYPTION_KEY, "LOG_LEVEL": "ERROR",
           "REDIS_URL": "", "APP_URL": "https://loyalty.example.com/"}
    r = CliRunner().invoke(main, ["admin-link", "--shop", str(shop.id)], env=env, catch_exceptions=False)
    assert r.exit_code == 0 and r.output.startswith("https://loyalty.example.com/admin/link/"), r.output

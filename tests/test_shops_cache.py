"""The inbox handlers' look at a message's shop (`Shops.recent`): read at most a couple of
seconds ago by this process, and an uninstall done here shows at once."""
import time

from plugin_app.runtime import Runtime

from .conftest import make_settings


def test_recent_serves_a_fresh_read_and_an_uninstall_here_shows_at_once(clean_db, monkeypatch):
    rt = Runtime(make_settings(clean_db))
    try:
        shop, _ = rt.shops.register("demo", "recent.example")
        reads = []
        real = rt.shops.get
        monkeypatch.setattr(rt.shops, "get", lambda shop_id, conn=None: reads.append(shop_id) or real(shop_id))
        assert rt.shops.recent(shop.id).status == "installed"
        assert rt.shops.recent(shop.id).status == "installed" and len(reads) == 1  # the second from memory
        rt.shops.uninstall(shop.id)
        assert rt.shops.recent(shop.id).status == "uninstalled" and len(reads) == 2
        with rt.db.transaction() as conn:  # another process re-installs it
            conn.exec_driver_sql("UPDATE shops SET status = 'installed' WHERE id = %s" % shop.id)
        assert rt.shops.recent(shop.id).status == "uninstalled"  # within RECENT_SECONDS
        monkeypatch.setattr(rt.shops, "RECENT_SECONDS", 0.05)
        rt.shops._cache.clear()
        rt.shops.recent(shop.id)
        time.sleep(0.1)
        assert rt.shops.recent(shop.id).status == "installed" and len(reads) == 4
    finally:
        rt.close()

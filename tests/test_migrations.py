"""Alembic: one head; an empty PostgreSQL goes up to head and back down to nothing."""
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from plugin_app.storage.migrate import alembic_config, downgrade, upgrade
from plugin_app.storage.tables import metadata

from .conftest import create_database, drop_database


def test_one_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_upgrade_empty_postgres_to_head_and_back_down():
    url = create_database("loyalty_migr")
    try:
        upgrade(url)
        engine = create_engine(url)
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        # The migrated schema matches the code's tables (no drift between the two).
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        with engine.connect() as conn:  # 0035: new webhook bodies are LZ4-compressed ('l')
            from sqlalchemy import text
            assert conn.execute(text("SELECT attcompression FROM pg_attribute WHERE attrelid = 'inbox'::regclass "
                                     "AND attname = 'payload'")).scalar() == "l"
        downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(url)  # and up again
        engine.dispose()
    finally:
        drop_database(url)


def test_sqlite_migrates_too(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade(url)
    assert set(metadata.tables) <= set(inspect(create_engine(url)).get_table_names())
    downgrade(url, "base")


def _rollups_move_to_shop_days(url: str) -> None:
    """0032: a counted order at 00:30 in Tokyo (15:30 UTC the day before) is counted again on its
    Tokyo day; the ledger rollups are emptied and their watermark set back for the job to refold."""
    from sqlalchemy import text

    upgrade(url, "0031")
    engine = create_engine(url)
    with engine.begin() as conn:
        shop = conn.execute(text(
            "INSERT INTO shops (platform, domain, name, currency, timezone, status, admin_api_key_hash, installed_at) "
            "VALUES ('demo', 'tz.example', '', 'EUR', 'UTC', 'installed', 'h', '2026-03-01 00:00:00+00:00') RETURNING id")).scalar()
        conn.execute(text("INSERT INTO programs (shop_id, version, document, author, created_at) "
                          "VALUES (:s, 1, :d, 't', '2026-03-01 00:00:00+00:00')"), {"s": shop, "d": '{"timezone": "Asia/Tokyo"}'})
        for oid, at, key in (("o1", "2026-03-01 15:30:00+00:00", "c:1"), ("o2", "2026-03-01 14:30:00+00:00", None)):
            conn.execute(text(
                "INSERT INTO orders (shop_id, platform_order_id, currency, placed_at, refunds, total, customer_key, "
                "counted, created_at, updated_at) VALUES (:s, :o, 'EUR', :at, '{}', 12.5, :k, true, :at, :at)"),
                {"s": shop, "o": oid, "at": at, "k": key})
        conn.execute(text("INSERT INTO stats_orders (shop_id, day, segment, orders, revenue) "
                          "VALUES (:s, '2026-03-01', 'member', 1, 12.5)"), {"s": shop})
        conn.execute(text("INSERT INTO stats_daily (shop_id, day, entries) VALUES (:s, '2026-03-01', 3)"), {"s": shop})
        conn.execute(text("INSERT INTO stats_progress (name, last_id) VALUES ('ledger', 42)"))
    upgrade(url, "0032")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT day, segment, orders, revenue, new_customers FROM stats_orders ORDER BY day")).all()
        assert [(str(d)[:10], seg, n, float(r), new) for d, seg, n, r, new in rows] == [
            ("2026-03-01", "guest", 1, 12.5, 1), ("2026-03-02", "member", 1, 12.5, 1)]  # 23:30 and 00:30 in Tokyo
        assert conn.execute(text("SELECT count(*) FROM stats_daily")).scalar() == 0
        assert conn.execute(text("SELECT last_id FROM stats_progress")).scalar() == 0
    engine.dispose()


def test_0032_counts_the_rollups_on_shop_days_postgres():
    url = create_database("loyalty_migr32")
    try:
        _rollups_move_to_shop_days(url)
    finally:
        drop_database(url)


def test_0032_counts_the_rollups_on_shop_days_sqlite(tmp_path):
    _rollups_move_to_shop_days(f"sqlite:///{tmp_path / 'y.db'}")

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

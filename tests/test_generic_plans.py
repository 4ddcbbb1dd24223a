"""Queries on open lots use the partial index `ix_lots_open_expiry` also in a prepared
statement's generic plan (psycopg prepares a statement after a few runs on a connection, and
PostgreSQL may then plan it once for any parameters): the predicate `remaining > 0 AND NOT
pending` must be implied without parameters, or the plan falls back to an index on every
shop's expiry dates — 3.6 s instead of 14 ms for the dashboard's expiring points over ten
million lots (bench/analytics.py). Here the plan is forced generic and sequential scans off, so
the only question is which index: the old form (`remaining > $1`, `pending IS false`) picks
`ix_lots_shop_expires`, which this test refuses."""
import re
from datetime import datetime, timezone

from sqlalchemy import event

from plugin_app.storage.analytics_repo import DashboardRepo
from plugin_app.storage.widget_repo import WidgetRepo


def _plan(pg_engine, call) -> str:
    seen = []

    with pg_engine.connect() as conn:
        def capture(_conn, _cursor, statement, parameters, _context, _many):
            seen.append((statement, parameters))

        event.listen(conn, "before_cursor_execute", capture)
        call(conn)
        event.remove(conn, "before_cursor_execute", capture)
        statement, parameters = seen[-1]
        names = []
        sql = re.sub(r"%\((\w+)\)s", lambda m: names.append(m[1]) or f"${len(names)}", statement)
        conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql(f"PREPARE open_lots_q AS {sql}")
        args = ", ".join("NULL" for _ in names)
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN EXECUTE open_lots_q({args})"))
        conn.exec_driver_sql("DEALLOCATE open_lots_q")
        conn.rollback()
        return plan


def test_expiring_points_use_the_open_lots_index_in_a_generic_plan(pg_engine):
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    plan = _plan(pg_engine, lambda conn: DashboardRepo(conn, 1).expiring(now, now.replace(month=4)))
    assert "ix_lots_open_expiry" in plan, plan


def test_a_members_next_expiry_reads_only_open_lots(pg_engine):
    plan = _plan(pg_engine, lambda conn: WidgetRepo(conn, 1).next_expiry(1))
    assert "Seq Scan" not in plan, plan

"""Writing and matching many rows at once: PostgreSQL's COPY (ids drawn from the table's
sequence beforehand, so nothing is read back), `= ANY(array)` instead of thousands of bound
parameters; on SQLite (the demo), plain executemany and IN lists."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Text, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection


def postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def where_among(conn: Connection, column, values: list):
    """The condition `column IN values`, shaped for the database. On PostgreSQL one array
    parameter, unnested in a subquery: thousands of bound parameters cost more to send and plan
    than the query, and `= ANY(array)` on a table whose statistics lag behind a bulk insert is
    planned as a scan comparing every row with every value; a semi-join is hashed instead."""
    if not postgres(conn):
        return column.in_(values)
    kind = BigInteger() if values and isinstance(values[0], int) else Text()
    return column.in_(select(func.unnest(bindparam(None, list(values), type_=ARRAY(kind)))).scalar_subquery())


def next_ids(conn: Connection, table, n: int) -> list[int] | None:
    """`n` fresh ids of `table` (PostgreSQL: from its sequence), or None where rows must be read
    back after inserting them."""
    if not postgres(conn) or n == 0:
        return None
    seq = conn.execute(select(func.pg_get_serial_sequence(table.name, "id"))).scalar_one()
    return list(conn.execute(select(func.nextval(seq)).select_from(func.generate_series(1, n))).scalars())


def _cell(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), default=str)
    if isinstance(value, (Decimal, datetime, date, int, float, str, bool)) or value is None:
        return value
    return str(value)


def copy_rows(conn: Connection, table, rows: list[dict]) -> None:
    """Insert `rows` (dicts with the same keys) into `table`: COPY on PostgreSQL."""
    if not rows:
        return
    if not postgres(conn):
        conn.execute(insert(table), rows)
        return
    cols = list(rows[0])
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f'COPY {table.name} ({", ".join(cols)}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_cell(row[c]) for c in cols])


def custom_plans(conn: Connection) -> None:
    """For the rest of this transaction, plan every statement for its parameters (PostgreSQL):
    a bulk job runs the same lookups many times while the tables grow faster than their
    statistics, and a generic plan made early would scan every row for every value."""
    if postgres(conn):
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


def update_json_by_id(conn: Connection, table, column: str, values: list[tuple[int, dict]]) -> None:
    """Set `column` (JSON) of many rows of `table`, by id: COPY into a temporary table and one
    UPDATE … FROM on PostgreSQL; executemany elsewhere."""
    if not values:
        return
    if not postgres(conn):
        from sqlalchemy import update

        conn.execute(update(table).where(table.c.id == bindparam("rid")).values({column: bindparam("v")}),
                     [{"rid": i, "v": v} for i, v in values])
        return
    conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS bulk_json (id bigint, v text) ON COMMIT DELETE ROWS")
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy("COPY bulk_json (id, v) FROM STDIN") as copy:
        for i, v in values:
            copy.write_row([i, json.dumps(v, separators=(",", ":"), default=str)])
    conn.exec_driver_sql(f"UPDATE {table.name} t SET {column} = b.v::json FROM bulk_json b WHERE t.id = b.id")
    conn.exec_driver_sql("DELETE FROM bulk_json")

"""Many rows in one bind parameter: a JSON array read back as a table (PostgreSQL only).

A statement that takes its rows this way is the same text for any number of rows, so it is
compiled once, and it can sit in a CTE beside other writes: one round trip instead of one
per statement. It is used where each round trip is spent holding a lock that every command
waits for (the event log's head, the audit trail's).

Bind a list of `json_row`s, one per row, keyed by column name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.selectable import TableValuedAlias


def recordset(parameter: str, name: str, *columns: sa.ColumnClause[Any]) -> TableValuedAlias:
    """`jsonb_to_recordset(:parameter) AS name(columns with their types)`."""
    array = sa.bindparam(parameter, type_=JSONB)
    return (
        sa.func.jsonb_to_recordset(array)
        .table_valued(*columns)
        .render_derived(name=name, with_types=True)
    )


def columns_of(table: sa.Table, names: list[str]) -> list[sa.ColumnClause[Any]]:
    """Typed column clauses for `recordset`, as `table` declares them (PostgreSQL types)."""
    return [sa.column(n, table.c[n].type) for n in names]


def json_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """`row` as JSON data: moments (aware datetimes) as ISO 8601 text, which timestamptz
    reads back exactly, whatever JSON serializer the engine has."""
    return {
        name: value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value
        for name, value in row.items()
    }

"""Marker pagination over several sort keys, as oslo.db's paginate_query, for every service.

A page is "the rows after the marker row in this order": for sort keys k1..kn (the last one
unique, e.g. the id) the rows after marker m are

    k1 > m1  or  (k1 = m1 and k2 > m2)  or ...  (">" becomes "<" for a descending key)

Nullable columns must be given wrapped in coalesce() by the caller so that comparisons and
ordering agree on every backend (SQL NULL compares as unknown, and backends order it apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, and_, or_
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["SortKey", "after_marker", "order_by"]


@dataclass(frozen=True)
class SortKey:
    column: ColumnElement[Any]
    direction: Literal["asc", "desc"] = "asc"


def order_by(query: Select[Any], keys: Sequence[SortKey]) -> Select[Any]:
    return query.order_by(*(k.column.asc() if k.direction == "asc" else k.column.desc()
                             for k in keys))


def after_marker(keys: Sequence[SortKey], marker: Sequence[Any]) -> ColumnElement[bool]:
    """The condition selecting rows that sort after the row whose key values are `marker`."""
    clauses = []
    for i, key in enumerate(keys):
        equal = [keys[j].column == marker[j] for j in range(i)]
        beyond = key.column > marker[i] if key.direction == "asc" else key.column < marker[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)

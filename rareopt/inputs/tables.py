"""Shared vocabulary of the portfolio's tables: wildcards, normalising records, row keys.

The bottom of the data-in layer: every other module of :mod:`rareopt.inputs` (and the layers
above) may import it; it imports no other rareopt module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ALL",
    "SOURCE",
    "CAP_BASES",
    "SUPPLIER_KINDS",
    "TableLike",
    "table_frame",
    "expand_per_period",
    "row_keys",
    "is_number",
]

SUPPLIER_KINDS = ("mine", "processor", "recycler", "trader")
CAP_BASES = ("period", "horizon")
GOALS = ("demand", "stock_targets", "cost")
"""The goals ``policy.priorities`` orders: meeting demand, keeping stock at target, cost."""
WEIGHTED = "weighted"
"""``policy.priorities: weighted``: one objective, the penalties blended with the spend."""
SOURCE = "_source"
"""Column naming the user's table and row that a normalised row came from (dropped after checks)."""
ALL = "*"
"""Wildcard in cap tables (and the period label of horizon-wide caps): every element or supplier."""

TableLike = pd.DataFrame | Sequence[Mapping[str, Any]] | Mapping[str, Any] | None


MAX_TONNES = 1e12
"""Largest tonnage a demand, stock or shipment may have (t): beyond it the solver's tolerances
break; capacities may be larger (up to 1e300 they mean unlimited)."""
MAX_TARGET_DAYS = 36_525.0
"""Largest stock target, days of consumption (100 years)."""


def is_number(value: Any, finite: bool = False) -> bool:
    """Whether ``value`` is a number (not a bool, which YAML reads from true/false).

    Examples
    --------
    >>> is_number(2.5), is_number(True), is_number(float("inf"), finite=True)
    (True, False, False)
    """
    number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
    return number and (not finite or bool(np.isfinite(value)))


def table_frame(table: TableLike, columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame from a DataFrame or a list of records, keeping the caller's row labels.

    Examples
    --------
    >>> table_frame([{"element": "Nd"}], ["element"]).columns.tolist()
    ['element']
    """
    if table is None:
        return pd.DataFrame(columns=list(columns))
    if isinstance(table, pd.DataFrame):
        return table.copy()
    records = list(table)
    if not records:
        return pd.DataFrame(columns=list(columns))
    return pd.DataFrame.from_records(records)


def expand_per_period(
    frame: pd.DataFrame,
    value_column: str,
    keys: Sequence[str],
    periods: Sequence[str],
    table: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame[value_column]`` cells that are lists into one row per period.

    Returns the long table (keys, period, value, and ``_source``: the user's table and row, for
    validation messages) and the rows whose list length does not match the number of periods.

    Examples
    --------
    >>> frame = pd.DataFrame({"element": ["Nd"], "demand_t": [[1.0, 2.0]]})
    >>> expand_per_period(frame, "demand_t", ["element"], ["P1", "P2"], "demand")[0]["demand_t"].tolist()
    [1.0, 2.0]
    """
    long_rows, bad = [], []
    for label, row in frame.iterrows():
        value = row.get(value_column)
        key = {k: row.get(k) for k in keys} | {SOURCE: f"{table} row {label}"}
        if isinstance(value, (list, tuple, np.ndarray)):
            if len(value) != len(periods):
                bad.append({**key, "length": len(value), "field": value_column})
                continue
            long_rows.extend({**key, "period": p, value_column: v} for p, v in zip(periods, value))
        else:
            long_rows.extend({**key, "period": p, value_column: value} for p in periods)
    columns = [*keys, "period", value_column, SOURCE]
    return pd.DataFrame(long_rows, columns=columns), pd.DataFrame(bad)


def row_keys(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    """The rows' keys as tuples, e.g. ``row_keys(buy, "element", "supplier", "period")``.

    Through plain lists: zipping pandas string columns directly costs a Python call per cell.

    Examples
    --------
    >>> row_keys(pd.DataFrame({"a": ["x"], "b": ["y"]}), "a", "b")
    [('x', 'y')]
    """
    return list(zip(*(frame[c].tolist() for c in columns)))

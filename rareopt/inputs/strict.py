"""Checks on a portfolio's tables as given, before defaults fill them in.

A field left out (or a blank CSV cell) takes its documented default; a field given must mean
what it says. So, before any default is applied:

- an explicit NaN (``.nan`` in YAML, ``float("nan")`` in a record, "nan" as text) is an error,
  never a default;
- a field a table does not have is an error with a "did you mean" suggestion (the suppliers
  table keeps extra columns, as documented);
- a row that is not a mapping of fields is an error;
- the ``capacity`` table names each (supplier, element, period) once.

Examples
--------
>>> row = {"supplier": "A", "element": "Nd", "price_usd_per_t": 9, "prise_usd_per_t": 1}
>>> issue, = raw_issues("offers", [row])
>>> issue.field, "did you mean price_usd_per_t?" in issue.allowed
('prise_usd_per_t', True)
>>> raw_issues("stockpile", [{"element": "Nd", "initial_t": float("nan")}])[0].field
'initial_t'
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from rareopt.exceptions import ValidationIssue

__all__ = [
    "ROW_FIELDS",
    "REQUIRED_FIELDS",
    "LABEL_FIELDS",
    "UNIQUE_KEYS",
    "MAPPING_TABLES",
    "raw_issues",
    "blocking",
]

MAPPING_TABLES = ("demand",)
"""Tables that may also be given as a mapping (``demand: {Nd: 500}``)."""

_ORIGINS = ("mined_in", "separated_in", "metal_in", "magnet_in")

ROW_FIELDS: dict[str, tuple[str, ...] | None] = {
    "demand": ("element", "period", "demand_t"),
    "suppliers": None,  # extra columns are kept (notes, say), as documented
    "offers": (
        "supplier",
        "element",
        "price_usd_per_t",
        "capacity_t",
        "freight_usd_per_t",
        "contract_usd_per_year",
        "min_order_t",
        "stage",
        *_ORIGINS,
        "lead_periods",
    ),
    "capacity": ("supplier", "element", "period", "capacity_t"),
    "stockpile": (
        "element",
        "initial_t",
        "target_days",
        "capacity_t",
        "holding_usd_per_t",
        "shortfall_penalty_usd_per_t",
    ),
    "concentrates": (
        "supplier",
        "product",
        "price_usd_per_t",
        "freight_usd_per_t",
        "capacity_t",
        "composition",
    ),
    "projects": ("supplier", "capital_usd", "earliest_start", "build_periods", "ramp"),
    "facilities": (
        "facility",
        "stage",
        "country",
        "capacity_t",
        "yield",
        "fee_usd_per_t",
        "elements",
        "lead_periods",
    ),
    "in_transit": ("element", "period", "volume_t"),
    "country_caps": ("country", "element", "max_share", "stage"),
    "supplier_caps": ("supplier", "element", "max_share", "stage"),
    "group_caps": ("group", "countries", "element", "max_share", "stage"),
    "group_floors": ("group", "countries", "element", "min_share"),
    "stage_caps": ("country", "supplier", "group", "countries", "element", "stage", "max_share"),
    "stage_hhi_caps": ("element", "stage", "max_hhi"),
    "hhi_cap": ("element", "stage", "max_hhi"),
}
"""The fields a row of each table (or policy record list) may have; None: any."""

REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "demand": ("element", "demand_t"),
    "suppliers": ("supplier", "country", "kind"),
    "offers": ("supplier", "element", "price_usd_per_t"),
    "capacity": ("supplier", "element", "period", "capacity_t"),
    "stockpile": ("element",),
    "concentrates": ("supplier", "product", "price_usd_per_t", "composition"),
    "projects": ("supplier", "capital_usd"),
    "country_caps": ("max_share",),
    "supplier_caps": ("max_share",),
    "group_caps": ("countries", "max_share"),
    "group_floors": ("countries", "min_share"),
    "stage_caps": ("stage", "max_share"),
    "stage_hhi_caps": ("stage", "max_hhi"),
    "hhi_cap": ("max_hhi",),
    "facilities": ("facility", "stage", "country"),
    "in_transit": ("element", "period", "volume_t"),
}
"""The fields every row of a table must give (a CSV file: a column, blank cells aside)."""

LABEL_FIELDS = (
    "supplier",
    "element",
    "country",
    "kind",
    "period",
    "facility",
    "stage",
    "product",
    "group",
    *_ORIGINS,
)
"""Fields holding a name: text (or a whole number, read as text), never a list or a mapping."""

MISSING = "missing"
REQUIRED = "a value (required)"
A_NAME = "a name (text)"
COUNTRY_LIST = "a list of country codes (text)"
ONCE = "each key once"


def blocking(issues: list[ValidationIssue]) -> bool:
    """Whether the tables cannot be read further (so nothing else is checked).

    Rows that are not mappings, a required field or column missing, a name that is a list or a
    mapping, a key given twice.
    """
    return any(
        i.field == ""
        or i.value == MISSING
        or i.allowed in (A_NAME, COUNTRY_LIST)
        or i.allowed.startswith(ONCE)
        for i in issues
    )


UNIQUE_KEYS = {"suppliers": ("supplier",), "capacity": ("supplier", "element", "period")}
"""Keys a table names once, checked as given (later steps index the table by them)."""


def _is_nan(value: Any) -> bool:
    """An explicit not-a-number: a float NaN, or text that reads as one."""
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    return isinstance(value, str) and value.strip().lower() == "nan"


SUPPLIER_FIELDS = ("supplier", "country", "kind", "risk_score")
"""The suppliers table's own fields; other columns are kept as notes."""


def _near_miss(name: str, field: str) -> str | None:
    """For a table that keeps extra columns: a column that looks like a misspelt own field."""
    if name != "suppliers" or field in SUPPLIER_FIELDS:
        return None
    close = difflib.get_close_matches(field, SUPPLIER_FIELDS, n=1, cutoff=0.8)
    if not close:
        return None
    return f"{close[0]} (a notes column must not look like a field of the suppliers table)"


def _fields_hint(name: str, field: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(field, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"a field of the {name} table{hint}: {', '.join(sorted(allowed))}"


def raw_issues(
    name: str, table: Any, *, blank_is_absent: bool | None = None
) -> list[ValidationIssue]:
    """Problems of one table as given: explicit NaNs, unknown fields, rows that are not mappings.

    Parameters
    ----------
    name : str
        The table's name (a key of :data:`ROW_FIELDS`).
    table : records, DataFrame or None
        As given to :class:`~rareopt.Portfolio` (a mapping form, e.g. ``demand: {Nd: 10}``, is
        checked elsewhere and passes here).
    blank_is_absent : bool, optional
        Whether a NaN cell means a blank (absent) field: true for a DataFrame (a CSV file's blank
        cell), false for records, where a field is absent by being left out. Default: by type.

    Returns
    -------
    list of ValidationIssue
        Errors naming the table, row and field; a missing required field or a row that is not a
        mapping has ``value`` "missing" or field "" (the tables cannot be read further).
    """
    allowed = ROW_FIELDS.get(name)
    issues: list[ValidationIssue] = []
    if table is None or (isinstance(table, Mapping) and name in MAPPING_TABLES):
        return issues
    if isinstance(table, (Mapping, str, bytes, int, float, bool)):
        shape = "a list of rows (mappings of fields)" + (
            " or a mapping {element: t per period}" if name == "demand" else ""
        )
        return [ValidationIssue(name, "table", "", table, shape)]
    if isinstance(table, pd.DataFrame):
        frame_blank = True if blank_is_absent is None else blank_is_absent
        rows = table.to_dict("records")
        labels = list(table.index)
        if allowed is not None:
            for column in table.columns:
                if column not in allowed and not str(column).startswith("_"):
                    issues.append(
                        ValidationIssue(
                            name,
                            "columns",
                            str(column),
                            str(column),
                            _fields_hint(name, str(column), allowed),
                        )
                    )
    else:
        frame_blank = bool(blank_is_absent)
        try:
            rows = list(table)
        except TypeError:
            return [
                ValidationIssue(name, "table", "", table, "a list of rows (mappings of fields)")
            ]
        labels = list(range(len(rows)))
    required = REQUIRED_FIELDS.get(name, ())
    if isinstance(table, pd.DataFrame):
        for field in required:
            if field not in table.columns:
                issues.append(ValidationIssue(name, "columns", field, MISSING, "a column"))
    for label, row in zip(labels, rows):
        where = f"row {label}"
        if not isinstance(row, Mapping):
            issues.append(ValidationIssue(name, where, "", row, "a mapping of fields"))
            continue
        if not isinstance(table, pd.DataFrame):
            for field in required:
                if row.get(field) is None:
                    issues.append(ValidationIssue(name, where, field, MISSING, REQUIRED))
        for field, value in row.items():
            near = _near_miss(name, str(field))
            if near is not None:
                issues.append(ValidationIssue(name, where, str(field), value, near))
            if field in LABEL_FIELDS and isinstance(value, (Mapping, list, tuple, set)):
                # Structural: later steps would hash or sort it.
                issues.append(ValidationIssue(name, where, str(field), value, A_NAME))
            elif field == "group" and not isinstance(value, str):
                issues.append(ValidationIssue(name, where, "group", value, A_NAME))
            elif field == "countries" and not (
                isinstance(value, (list, tuple)) and all(isinstance(c, str) for c in value)
            ):  # an empty list is validation's to name, with the row's other fields
                issues.append(ValidationIssue(name, where, "countries", value, COUNTRY_LIST))
            elif isinstance(value, (list, tuple)) and any(
                isinstance(v, (bool, np.bool_)) for v in value
            ):
                issues.append(
                    ValidationIssue(name, where, str(field), value, "numbers, not true/false")
                )
            elif isinstance(value, (bool, np.bool_)) and field not in LABEL_FIELDS:
                # A number field (YAML true/false would read as 1/0); labels that read as
                # booleans (NO for Norway) are named by validation.
                issues.append(
                    ValidationIssue(name, where, str(field), value, "a number, not true/false")
                )
            if allowed is not None and field not in allowed and not isinstance(table, pd.DataFrame):
                issues.append(
                    ValidationIssue(
                        name, where, str(field), value, _fields_hint(name, str(field), allowed)
                    )
                )
            elif _is_nan(value) and not (frame_blank and not isinstance(value, str)):
                issues.append(
                    ValidationIssue(
                        name,
                        where,
                        str(field),
                        value,
                        "a value, or leave the field out for its default (NaN is not one)",
                    )
                )
    unique = UNIQUE_KEYS.get(name)
    if unique and rows and all(isinstance(r, Mapping) for r in rows):
        seen: dict[tuple, Any] = {}
        for label, row in zip(labels, rows):
            key = tuple(str(row.get(k)) for k in unique)
            if key in seen:
                issues.append(
                    ValidationIssue(
                        name,
                        f"row {label}",
                        "+".join(unique),
                        ", ".join(key),
                        f"{ONCE} (also in row {seen[key]})",
                    )
                )
            else:
                seen[key] = label
    return issues

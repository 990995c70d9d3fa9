"""Checks on a portfolio's tables as given, before defaults fill them in.

A field left out (or a blank CSV cell) takes its documented default; a field given must mean
what it says. So, before any default is applied:

- an explicit NaN (``.nan`` in YAML, ``float("nan")`` in a record, "nan" as text) is an error,
  never a default;
- a field a table does not have is an error with a "did you mean" suggestion (the suppliers
  table keeps extra columns, as documented, unless one looks like a misspelt field);
- a row without a required field, or that is not a mapping of fields, is an error;
- a name that is a list or mapping, and true/false where a number belongs, are errors;
- ``suppliers`` names each supplier once, ``capacity`` each (supplier, element, period).

Some problems leave the tables unreadable (:attr:`Found.blocking`): nothing further is checked.

Examples
--------
>>> row = {"supplier": "A", "element": "Nd", "price_usd_per_t": 9, "prise_usd_per_t": 1}
>>> issue, = raw_issues("offers", [row]).issues
>>> issue.field, "did you mean price_usd_per_t?" in issue.allowed
('prise_usd_per_t', True)
>>> raw_issues("stockpile", [{"element": "Nd", "initial_t": float("nan")}]).issues[0].field
'initial_t'
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from rareopt.exceptions import ValidationIssue
from rareopt.inputs.concentrates import CONCENTRATE_FIELDS
from rareopt.inputs.markets import CONTRACT_FIELDS
from rareopt.inputs.projects import PROJECT_FIELDS
from rareopt.inputs.releases import RELEASE_FIELDS
from rareopt.inputs.responses import RESPONSE_FIELDS
from rareopt.inputs.stages import FACILITY_COLUMNS, ORIGIN_FIELDS

__all__ = [
    "ROW_FIELDS",
    "REQUIRED_FIELDS",
    "LABEL_FIELDS",
    "UNIQUE_KEYS",
    "MAPPING_TABLES",
    "Found",
    "raw_issues",
    "nearest",
    "fields_allowed",
]

MAPPING_TABLES = ("demand",)
"""Tables that may also be given as a mapping (``demand: {Nd: 500}``)."""

_ORIGINS = tuple(ORIGIN_FIELDS.values())

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
        *CONTRACT_FIELDS,
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
    "concentrates": CONCENTRATE_FIELDS,
    "projects": PROJECT_FIELDS,
    "facilities": tuple(FACILITY_COLUMNS),
    "in_transit": ("element", "period", "volume_t"),
    "responses": RESPONSE_FIELDS,
    "country_caps": ("country", "element", "max_share", "stage"),
    "supplier_caps": ("supplier", "element", "max_share", "stage"),
    "group_caps": ("group", "countries", "element", "max_share", "stage"),
    "group_floors": ("group", "countries", "element", "min_share"),
    "stage_caps": ("country", "supplier", "group", "countries", "element", "stage", "max_share"),
    "stage_hhi_caps": ("element", "stage", "max_hhi"),
    "hhi_cap": ("element", "stage", "max_hhi"),
    "release_rules": RELEASE_FIELDS,
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
    "responses": ("response", "element", "kind"),
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
    "pricing",
    "response",
    "decision",
    *_ORIGINS,
)
"""Fields holding a name: text (or a whole number, read as text), never a list or a mapping."""

BOOLEAN_FIELDS = ("sticky",)
"""Fields holding true or false."""

MISSING = "missing"


class Found(NamedTuple):
    """The problems of a table as given, and whether they leave it unreadable.

    ``blocking``: rows that are not mappings, a required field or column missing, a name that
    is a list or mapping, a key given twice; later steps would fail on them, so nothing else is
    checked.
    """

    issues: list[ValidationIssue]
    blocking: bool


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


def nearest(field: str, known: Any) -> str | None:
    """The known field ``field`` most likely misspells, or None.

    Examples
    --------
    >>> nearest("dayz", ["count", "days"])
    'days'
    """
    close = difflib.get_close_matches(str(field), list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def fields_allowed(what: str, field: str, known: Any) -> str:
    """What an unknown field could have been: "a field of ``what`` (did you mean ...?): ..."."""
    close = nearest(field, known)
    hint = f" (did you mean {close}?)" if close else ""
    return f"a field of {what}{hint}: {', '.join(known)}"


def raw_issues(name: str, table: Any) -> Found:
    """Problems of one table as given: explicit NaNs, unknown fields, rows that are not mappings.

    A NaN cell of a DataFrame (a CSV file's blank cell) is a field left out; in records a field
    is left out by leaving it out, so a NaN there is an explicit value.

    Parameters
    ----------
    name : str
        The table's name (a key of :data:`ROW_FIELDS`).
    table : records, DataFrame or None
        As given to :class:`~rareopt.Portfolio` (a mapping form, e.g. ``demand: {Nd: 10}``, is
        checked elsewhere and passes here).

    Returns
    -------
    Found
        Errors naming the table, row and field, and whether they leave the table unreadable.
    """
    allowed = ROW_FIELDS.get(name)
    issues: list[ValidationIssue] = []
    blocked = False

    def stop(issue: ValidationIssue) -> None:
        """Record a problem that leaves the table unreadable."""
        nonlocal blocked
        issues.append(issue)
        blocked = True

    if table is None or (isinstance(table, Mapping) and name in MAPPING_TABLES):
        return Found(issues, False)
    if isinstance(table, (Mapping, str, bytes, int, float, bool)):
        shape = "a list of rows (mappings of fields)" + (
            " or a mapping {element: t per period}" if name == "demand" else ""
        )
        return Found([ValidationIssue(name, "table", "", table, shape)], True)
    frame = isinstance(table, pd.DataFrame)
    if frame:
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
                            fields_allowed(f"the {name} table", str(column), sorted(allowed)),
                        )
                    )
    else:
        try:
            rows = list(table)
        except TypeError:
            shape = "a list of rows (mappings of fields)"
            return Found([ValidationIssue(name, "table", "", table, shape)], True)
        labels = list(range(len(rows)))
    required = REQUIRED_FIELDS.get(name, ())
    if frame:
        for field in required:
            if field not in table.columns:
                stop(ValidationIssue(name, "columns", field, MISSING, "a column"))
    for label, row in zip(labels, rows):
        where = f"row {label}"
        if not isinstance(row, Mapping):
            stop(ValidationIssue(name, where, "", row, "a mapping of fields"))
            continue
        if not frame:
            for field in required:
                if row.get(field) is None:
                    stop(ValidationIssue(name, where, field, MISSING, "a value (required)"))
        for field, value in row.items():
            near = _near_miss(name, str(field))
            if near is not None:
                issues.append(ValidationIssue(name, where, str(field), value, near))
            if field in LABEL_FIELDS and isinstance(value, (Mapping, list, tuple, set)):
                # Later steps would hash or sort it.
                stop(ValidationIssue(name, where, str(field), value, "a name (text)"))
            elif field == "group" and not isinstance(value, str):
                stop(ValidationIssue(name, where, "group", value, "a name (text)"))
            elif field == "countries" and not (
                isinstance(value, (list, tuple)) and all(isinstance(c, str) for c in value)
            ):  # an empty list is validation's to name, with the row's other fields
                stop(
                    ValidationIssue(
                        name, where, "countries", value, "a list of country codes (text)"
                    )
                )
            elif isinstance(value, (list, tuple)) and any(
                isinstance(v, (bool, np.bool_)) for v in value
            ):
                issues.append(
                    ValidationIssue(name, where, str(field), value, "numbers, not true/false")
                )
            elif (
                isinstance(value, (bool, np.bool_))
                and field not in LABEL_FIELDS
                and field not in BOOLEAN_FIELDS
            ):
                # A number field (YAML true/false would read as 1/0); labels that read as
                # booleans (NO for Norway) are named by validation.
                issues.append(
                    ValidationIssue(name, where, str(field), value, "a number, not true/false")
                )
            if allowed is not None and field not in allowed and not frame:
                issues.append(
                    ValidationIssue(
                        name,
                        where,
                        str(field),
                        value,
                        fields_allowed(f"the {name} table", str(field), sorted(allowed)),
                    )
                )
            elif _is_nan(value) and not (frame and not isinstance(value, str)):
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
                stop(
                    ValidationIssue(
                        name,
                        f"row {label}",
                        "+".join(unique),
                        ", ".join(key),
                        f"each key once (also in row {seen[key]})",
                    )
                )
            else:
                seen[key] = label
    return Found(issues, blocked)

"""Portfolios as Excel workbooks: one sheet per table, the rest on a ``settings`` sheet.

The layout is the YAML file's (:func:`rareopt.inputs.io.portfolio_to_dict`) laid out for a
spreadsheet:

- a sheet per table, a row per record, a column per field: ``periods``, ``demand`` (element,
  period, demand_t), ``suppliers``, ``offers`` (an offer whose capacity changes over the periods
  holds the list in its cell; a ``capacity`` sheet of supplier, element, period, capacity_t rows
  overrides offers' capacities, as in the CSV layout), ``stockpile``, and where the portfolio has
  them ``concentrates``, ``projects``, ``facilities``, ``in_transit``, ``responses``;
- a ``settings`` sheet of ``key`` and ``value`` rows: name, description, sources, policy and
  criticality, each value a number, a text, or a YAML text (``{country_caps: [...]}``);
- a cell holding a list or a mapping (a per-period target, a composition, a ramp) holds it as
  YAML text: ``[60, 90, 120]``.

Reading checks the tables as any other input (:class:`~rareopt.Portfolio`): a problem names the
workbook, the sheet, the row as Excel numbers it and the column. Needs openpyxl (the ``excel``
extra).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from rareopt.exceptions import PortfolioError, ValidationIssue
from rareopt.files import written_whole
from rareopt.inputs.io import TOP_LEVEL_KEYS, load_yaml, portfolio_arguments, portfolio_to_dict
from rareopt.inputs.strict import nearest

if TYPE_CHECKING:
    from rareopt.inputs.portfolio import Portfolio

__all__ = ["SETTINGS_SHEET", "read_workbook", "write_workbook", "located"]

SETTINGS_SHEET = "settings"
"""The sheet of everything that is not a table."""
_SETTINGS = ("name", "description", "sources", "policy", "criticality")
_TABLES = [k for k in TOP_LEVEL_KEYS if k not in _SETTINGS]
_FIRST_ROW = 2
"""The Excel row of a table's first record (row 1 is the header)."""


def _openpyxl() -> None:
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        raise ImportError("Excel files need openpyxl: pip install 'rareopt[excel]'") from exc


def _cell(value: Any) -> Any:
    """A value as a spreadsheet cell: lists and mappings as one-line YAML text."""
    if isinstance(value, (list, tuple, dict)):
        return yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False).strip()
    return value


def _value(value: Any) -> Any:
    """A cell read back: YAML text of a list or mapping parsed, a blank cell missing.

    A date (Excel turns a typed ``2026-01`` into one) is read back as its month, ``2026-01``,
    or as the day, ``2026-01-15``, when it is not the first of a month.
    """
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        return load_yaml(value)
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.strftime("%Y-%m" if value.day == 1 else "%Y-%m-%d")
    return value


def _read_cell(value: Any, sheet: str, row: int, column: str) -> Any:
    """:func:`_value`, with YAML that does not parse named by its sheet, row and column."""
    try:
        return _value(value)
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0]
        allowed = f"YAML text of a list or mapping ({first})"
        raise PortfolioError(
            [ValidationIssue(sheet, f"row {row}", column, value, allowed)]
        ) from None


def write_workbook(portfolio: Portfolio, path: str) -> str:
    """Write ``portfolio`` as a workbook that :func:`read_workbook` reads back the same.

    Examples
    --------
    >>> import os, tempfile
    >>> from rareopt.inputs.examples import load_example
    >>> path = write_workbook(load_example("tiny"), os.path.join(tempfile.mkdtemp(), "t.xlsx"))
    >>> sorted(pd.ExcelFile(path).sheet_names)[:3]
    ['demand', 'offers', 'periods']
    """
    _openpyxl()
    spec = portfolio_to_dict(portfolio)
    sheets: dict[str, pd.DataFrame] = {}
    settings = [{"key": k, "value": _cell(spec[k])} for k in _SETTINGS if k in spec]
    sheets[SETTINGS_SHEET] = pd.DataFrame(settings, columns=["key", "value"])
    demand = [
        {"element": element, "period": period, "demand_t": value}
        for element, values in spec["demand"].items()
        for period, value in zip(
            portfolio.period_labels,
            values if isinstance(values, list) else [values] * len(portfolio.period_labels),
        )
    ]
    sheets["periods"] = pd.DataFrame(spec["periods"])
    sheets["demand"] = pd.DataFrame(demand)
    for name in _TABLES:
        if name in sheets or not isinstance(spec.get(name), list) or not spec[name]:
            continue
        sheets[name] = pd.DataFrame([{k: _cell(v) for k, v in r.items()} for r in spec[name]])
    with written_whole(path) as part:
        with pd.ExcelWriter(part, engine="openpyxl") as writer:
            for name, table in sheets.items():
                table.to_excel(writer, sheet_name=name, index=False)
                writer.sheets[name].freeze_panes = "A2"
    return path


def read_workbook(path: str) -> dict[str, Any]:
    """:class:`~rareopt.Portfolio` arguments from a workbook in :func:`write_workbook`'s layout.

    Raises
    ------
    PortfolioError
        An unknown sheet or setting, or a table that is not a list of rows, naming the workbook
        and the sheet.

    Examples
    --------
    >>> import os, tempfile
    >>> from rareopt.inputs.examples import load_example
    >>> path = write_workbook(load_example("tiny"), os.path.join(tempfile.mkdtemp(), "t.xlsx"))
    >>> sorted(read_workbook(path))[:3]
    ['demand', 'description', 'name']
    """
    _openpyxl()
    sheets = pd.read_excel(
        path, sheet_name=None, dtype=object, keep_default_na=False, na_values=[""]
    )
    allowed = [SETTINGS_SHEET, *_TABLES]
    unknown = [name for name in sheets if name not in allowed]
    if unknown:
        raise PortfolioError(
            [
                ValidationIssue(
                    "workbook",
                    f"sheet {name}",
                    "sheet",
                    name,
                    "one of the sheets"
                    + (
                        f" (did you mean {nearest(name, allowed)}?)"
                        if nearest(name, allowed)
                        else ""
                    )
                    + f": {', '.join(allowed)}",
                )
                for name in unknown
            ]
        )
    missing = [name for name in ("periods", "demand", "suppliers", "offers") if name not in sheets]
    if missing:
        raise PortfolioError(
            [
                ValidationIssue("workbook", "sheets", "sheet", name, "a sheet of that name")
                for name in missing
            ]
        )
    spec: dict[str, Any] = {}
    settings = sheets.pop(SETTINGS_SHEET, pd.DataFrame(columns=["key", "value"]))
    for number, (key, value) in enumerate(
        zip(settings.get("key", []), settings.get("value", [])), start=_FIRST_ROW
    ):
        if key not in _SETTINGS:
            raise PortfolioError(
                [
                    ValidationIssue(
                        SETTINGS_SHEET, f"row {number}", "key", key, f"one of {list(_SETTINGS)}"
                    )
                ]
            )
        spec[key] = _read_cell(value, SETTINGS_SHEET, number, "value")
    for name, table in sheets.items():
        # Rows labelled as Excel numbers them, so that a problem names the row to look at; a
        # row left wholly blank is no record.
        table.index = range(_FIRST_ROW, _FIRST_ROW + len(table))
        table = table.dropna(how="all")
        for column in table.columns:
            table[column] = [
                _read_cell(v, name, row, str(column)) for row, v in zip(table.index, table[column])
            ]
        spec[name] = table
    return portfolio_arguments(spec)


def located(exc: PortfolioError, path: str) -> PortfolioError:
    """``exc`` with each problem's table named as the workbook's sheet that holds it.

    A table is its own sheet; the policy and criticality are on the settings sheet; problems of
    the workbook itself (its sheets) name the workbook.
    """

    def where(issue: ValidationIssue) -> ValidationIssue:
        table, row = issue.table, str(issue.row)
        first = table.split(" ")[0].split(",")[0]
        # A table read from another sheet's column (per-period capacities from the offers').
        source = row.split(" row ")[0]
        if source in _TABLES and source != first and row.startswith(f"{source} row "):
            return replace(issue, table=f"{path}: sheet {source}", row=row[len(source) + 1 :])
        if first in ("policy", "criticality"):
            return replace(issue, table=f"{path}: sheet {SETTINGS_SHEET} ({table})")
        if first == "workbook":
            return replace(issue, table=str(path))
        if first in (*_TABLES, SETTINGS_SHEET):
            return replace(issue, table=f"{path}: sheet {table}")
        return replace(issue, table=f"{path}: {table}")

    return PortfolioError([where(i) for i in exc.issues])

"""Result files an analyst opens elsewhere: the Excel workbook.

The workbook opens on a ``summary`` sheet (status, the money spent and the penalties apart, each
element's largest country share and stock in days of cover), then a supplier x period sheet of
tonnes per element (``plan Nd`` ...), then every long table. Numbers carry formats (USD without
decimals, tonnes with one, shares as percentages), header rows are frozen, columns sized to their
contents, and monthly period labels (``2026-01``) are dates.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pandas as pd

from rareopt.files import written_whole

if TYPE_CHECKING:
    from rareopt.results.result import Result

__all__ = ["write_excel", "summary_sheet"]

_FORMATS = (
    ("_usd", "#,##0"),
    ("usd", "#,##0"),
    ("hhi", "#,##0"),
    ("dual", "#,##0.00"),
    ("usd_per_t", "#,##0"),
    ("_t", "#,##0.0"),
    ("share", "0.0%"),
    ("days", "#,##0.0"),
)
"""Number formats by the end (or part) of a column's name, first match wins."""


def summary_sheet(result: Result) -> pd.DataFrame:
    """The workbook's first sheet: status, money and penalties, shares and cover per element.

    Columns section, item, value, unit.

    Examples
    --------
    >>> import rareopt
    >>> s = summary_sheet(rareopt.solve(rareopt.load_example("tiny")))
    >>> s.loc[s["item"] == "objective", "value"].item()
    26970000.0
    """
    failed = result.checks["max_excess"] > result.checks["tolerance"]
    rows: list[dict[str, Any]] = [
        {"section": "solve", "item": "status", "value": result.status.value, "unit": ""},
        {
            "section": "solve",
            "item": "independent check",
            "value": "failed" if failed.any() else "passed",
            "unit": f"{len(result.checks)} families",
        },
        {"section": "cost", "item": "objective", "value": result.objective, "unit": "USD"},
    ]
    for kind, usd in result.costs.groupby("kind", sort=False)["usd"].sum().items():
        note = "USD (priced outcomes, not payments)" if kind == "penalty" else "USD"
        rows.append({"section": "cost", "item": kind, "value": float(usd), "unit": note})
    unmet = result.unmet.groupby(level="element", sort=False)["unmet_t"].sum()
    rows.append(
        {"section": "service", "item": "unmet demand", "value": float(unmet.sum()), "unit": "t"}
    )
    shares = result.shares.xs(("*", "seller", "country"), level=("period", "stage", "by"))
    top = shares["share"].groupby(level="element", sort=False).agg(["max", "idxmax"])
    stock = result.stock
    for element in result.portfolio.elements:
        if element in top.index:
            country = top.loc[element, "idxmax"][1]
            rows.append(
                {
                    "section": element,
                    "item": f"largest country share ({country})",
                    "value": float(top.loc[element, "max"]),
                    "unit": "share",
                }
            )
        own = stock.xs(element, level="element")
        for item, value, unit in (
            ("lowest cover", own["days_of_cover"].min(), "days"),
            ("cover at the end", own["days_of_cover"].iloc[-1], "days"),
            ("target at the end", own["target_days"].iloc[-1], "days"),
            ("unmet demand", unmet.get(element, 0.0), "t"),
        ):
            rows.append({"section": element, "item": item, "value": float(value), "unit": unit})
    return pd.DataFrame(rows, columns=["section", "item", "value", "unit"])


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    """Monthly period labels (``2026-01``) as dates, in the index and the columns."""

    def convert(labels: pd.Index) -> pd.Index:
        if labels.name != "period" and not isinstance(labels, pd.MultiIndex):
            return labels
        if isinstance(labels, pd.MultiIndex):
            if "period" not in labels.names:
                return labels
            level = labels.names.index("period")
            return labels.set_levels(convert(labels.levels[level].rename("period")), level=level)
        dates = pd.to_datetime(pd.Series(labels.astype(str)), format="%Y-%m", errors="coerce")
        return pd.DatetimeIndex(dates, name="period") if dates.notna().all() else labels

    out = frame.copy()
    out.index = convert(out.index)
    if out.columns.name == "period":
        out.columns = convert(out.columns)
    if "period" in out.columns:
        converted = convert(pd.Index(out["period"], name="period"))
        out["period"] = converted
    return out


_BY_UNIT = {"USD": "#,##0", "share": "0.0%", "days": "#,##0.0", "t": "#,##0.0"}


def _format_sheet(
    sheet: Any, frame: pd.DataFrame, index_columns: int, values: str | None = None
) -> None:
    """Freeze the header row (and the index), size the columns, give numbers their formats.

    ``values``: the number format of every value cell (a pivot's), instead of by column name.
    """
    from openpyxl.utils import get_column_letter

    header_rows = frame.columns.nlevels if index_columns else 1
    sheet.freeze_panes = sheet.cell(row=header_rows + 1, column=index_columns + 1)
    names = [*([""] * index_columns), *(str(c) for c in frame.columns)]
    for position, name in enumerate(names, start=1):
        column = sheet.column_dimensions[get_column_letter(position)]
        cells = list(sheet.iter_cols(min_col=position, max_col=position, values_only=True))[0]
        width = max((len(str(v)) for v in cells[:200] if v is not None), default=8)
        column.width = min(max(width + 2, 8), 48)
        fmt = next((f for end, f in _FORMATS if name.endswith(end) or end in name), None)
        if values is not None and position > index_columns:
            fmt = values
        if fmt is not None:
            for (cell,) in sheet.iter_rows(
                min_row=header_rows + 1, min_col=position, max_col=position
            ):
                cell.number_format = fmt
        for (cell,) in sheet.iter_rows(min_col=position, max_col=position):
            if hasattr(cell.value, "year"):
                cell.number_format = "yyyy-mm"


def write_excel(result: Result, path: str) -> str:
    """Write ``result`` as a formatted workbook (needs openpyxl: the ``excel`` extra).

    A ``summary`` sheet first (:func:`summary_sheet`), then per element a supplier x period sheet
    of tonnes bought, then every long table of :meth:`Result.export_tables`. Without a plan it
    raises :class:`~rareopt.exceptions.NoPlanError` before any file is made; the file is written
    whole or not at all.

    Examples
    --------
    >>> import os, tempfile, rareopt
    >>> r = rareopt.solve(rareopt.load_example("tiny"))
    >>> path = write_excel(r, os.path.join(tempfile.mkdtemp(), "tiny.xlsx"))
    >>> pd.ExcelFile(path).sheet_names[:3]
    ['summary', 'plan Nd', 'plan Dy']
    """
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        raise ImportError("to_excel needs openpyxl: pip install 'rareopt[excel]'") from exc
    tables = result.export_tables()  # NoPlanError before any file is made
    sheets: dict[str, tuple[pd.DataFrame, bool]] = {"summary": (summary_sheet(result), False)}
    pivots: set[str] = set()
    plan = result.plan["volume_t"]
    for element in result.portfolio.elements:
        if element in plan.index.get_level_values("element"):
            pivot = plan.xs(element, level="element").unstack("period").fillna(0.0)
            pivot = pivot.reindex(columns=result.portfolio.period_labels, fill_value=0.0)
            pivot.columns.name = "period"
            pivot.index.name = "supplier (t bought)"
            sheets[f"plan {element}"[:31]] = (_dated(pivot), True)
            pivots.add(f"plan {element}"[:31])
    for name, table in tables.items():
        # Long tables with every key in its own filled column (Excel's filters and pivots need
        # them), and no unlabelled row numbers.
        flat = table.reset_index() if table.index.names != [None] else table
        sheets[name[:31]] = (_dated(flat), False)
    with written_whole(path) as part:
        writer = pd.ExcelWriter(part, engine="openpyxl")
        try:
            for name, (table, with_index) in sheets.items():
                table.to_excel(writer, sheet_name=name, index=with_index)
                levels = table.index.nlevels if with_index else 0
                sheet = writer.sheets[name]
                _format_sheet(sheet, table, levels, "#,##0.0" if name in pivots else None)
            for row in writer.sheets["summary"].iter_rows(min_row=2):
                # The value column holds each row's own unit: USD, a share or days.
                unit = str(row[3].value or "").split(" ")[0]
                row[2].number_format = _BY_UNIT.get(unit, "General")
        except BaseException:
            # Closing a half-written workbook raises openpyxl's own error over the real one.
            with contextlib.suppress(Exception):
                writer.close()
            raise
        writer.close()
    return path

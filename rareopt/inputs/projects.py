"""Investment projects: suppliers that exist only if the buyer's side invests in them.

A new mine, a processing joint venture, a recycling plant, seabed mud. A project names a supplier
of the portfolio (whose offers and concentrates are then its output), a capital cost, the
earliest period construction can start, the build time in periods and a capacity ramp (share of
the offers' capacity in each period after it comes on stream; the last value holds). The model
chooses whether and when to start it (``invest[j, t]`` in {0, 1}, at most one start); the capital
is paid when construction starts, discounted at the policy's ``discount_rate`` (per year).

Symbols of ``docs/formulation.md``: ``project_capacity[kind, e or product, s, p]``: x (or the
concentrate) <= capacity x sum_t ramp(p - t - build) invest[s, t], kind "offer" or "concentrate".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rareopt.exceptions import ValidationIssue
from rareopt.inputs.derived import DAYS_PER_YEAR
from rareopt.inputs.tables import table_frame

__all__ = [
    "PROJECT_FIELDS",
    "project_table",
    "project_issues",
    "start_options",
    "online_share",
    "discount_factors",
]


PROJECT_FIELDS = ("supplier", "capital_usd", "earliest_start", "build_periods", "ramp")
"""The fields of a project row."""


def project_table(records: Any) -> pd.DataFrame:
    """Normalise project records: supplier, capital_usd, earliest_start, build_periods, ramp.

    Examples
    --------
    >>> project_table([{"supplier": "JP-Mud", "capital_usd": 5e8}])["ramp"].tolist()
    [(1.0,)]
    """
    columns = list(PROJECT_FIELDS)
    frame = table_frame(records, columns)
    defaults = {
        "supplier": None,
        "capital_usd": 0.0,
        "earliest_start": 1,
        "build_periods": 0,
        "ramp": (1.0,),
    }
    for column, default in defaults.items():
        if column not in frame:
            frame[column] = [default] * len(frame)
    frame["ramp"] = [
        tuple(r) if isinstance(r, (list, tuple)) else (r,) if r is not None else (1.0,)
        for r in frame["ramp"]
    ]
    return frame[columns].reset_index(drop=True)


def project_issues(portfolio) -> list[ValidationIssue]:
    """Problems in the projects table.

    Unknown supplier, duplicates, bad numbers or ramp, and unlimited capacity on a project
    supplier's offers or concentrates.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> project_issues(load_example("tiny"))
    []
    """
    labels = portfolio.period_labels
    suppliers = set(portfolio.suppliers["supplier"])
    issues = []
    for label, row in portfolio.projects.iterrows():
        where = f"row {label} (supplier={row['supplier']})"

        def add(field, value, allowed, severity="error", where=where):
            issues.append(ValidationIssue("projects", where, field, value, allowed, severity))

        if row["supplier"] not in suppliers:
            add("supplier", row["supplier"], "a supplier in the suppliers table")
        capital = row["capital_usd"]
        if (
            not isinstance(capital, (int, float, np.number))
            or not np.isfinite(capital)
            or (capital < 0)
        ):
            add("capital_usd", capital, "a number >= 0 (USD)")
        start = row["earliest_start"]
        if not (
            start in labels or (isinstance(start, (int, np.integer)) and 1 <= start <= len(labels))
        ):
            add("earliest_start", start, f"a period number 1..{len(labels)} or a period label")
        build = row["build_periods"]
        if not (isinstance(build, (int, np.integer)) and build >= 0):
            add("build_periods", build, "a whole number of periods >= 0")
        ramp = row["ramp"]
        if not ramp or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in ramp):
            add("ramp", list(ramp), "a list of shares from 0 to 1 (the last one holds)")
    # The project scales its offers' and concentrates' capacity, which must then be finite.
    project_suppliers = set(portfolio.projects["supplier"])
    for table, frame, key in (
        ("offers", portfolio.capacity, "element"),
        ("concentrates", portfolio.concentrate_capacity, "product"),
    ):
        values = pd.to_numeric(frame["capacity_t"], errors="coerce")
        unlimited = frame[frame["supplier"].isin(project_suppliers) & ~np.isfinite(values)]
        for supplier, item in (
            unlimited[["supplier", key]].drop_duplicates().itertuples(index=False)
        ):
            issues.append(
                ValidationIssue(
                    table,
                    f"supplier={supplier}, {key}={item}",
                    "capacity_t",
                    float("inf"),
                    f"a finite capacity for a project's {table} (the project scales it)",
                )
            )
    duplicated = portfolio.projects["supplier"].duplicated()
    for label in portfolio.projects.index[duplicated]:
        issues.append(
            ValidationIssue(
                "projects",
                f"row {label}",
                "supplier",
                portfolio.projects.at[label, "supplier"],
                "each supplier once",
            )
        )
    return issues


def _start_index(start, labels) -> int:
    return labels.index(start) if isinstance(start, str) else int(start) - 1


def online_share(project: pd.Series, start: int, period: int) -> float:
    """Share of capacity on stream in ``period`` (0-based) if construction starts in ``start``.

    Examples
    --------
    >>> row = pd.Series({"build_periods": 2, "ramp": (0.5, 1.0)})
    >>> [online_share(row, 0, p) for p in range(5)]
    [0.0, 0.0, 0.5, 1.0, 1.0]
    """
    k = period - start - int(project["build_periods"])
    if k < 0:
        return 0.0
    ramp = project["ramp"]
    return float(ramp[min(k, len(ramp) - 1)])


def discount_factors(portfolio) -> np.ndarray:
    """Discount factor of each period's start: (1 + rate) ** -(years since the horizon began).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> discount_factors(load_example("tiny")).tolist()
    [1.0, 1.0, 1.0]
    """
    days = portfolio.periods["days"].to_numpy(float)
    years = (np.cumsum(days) - days) / DAYS_PER_YEAR
    return (1.0 + portfolio.policy.discount_rate) ** -years


def start_options(portfolio) -> list[tuple[str, int]]:
    """(project supplier, start period index) pairs: starts that come on stream in the horizon."""
    labels = portfolio.period_labels
    out = []
    for _, project in portfolio.projects.iterrows():
        first = _start_index(project["earliest_start"], labels)
        last = len(labels) - 1 - int(project["build_periods"])
        out += [(project["supplier"], t) for t in range(first, last + 1)]
    return out

"""Co-produced concentrates: products that supply several elements in fixed proportions.

Rare earths come bundled: a tonne of bastnaesite concentrate (t REO) is about half cerium and a
quarter lanthanum, with a little neodymium. A concentrate offer names a supplier, a product, a
price and capacity per t REO, and a composition (share of each element, summing to at most 1; the
rest is elements the portfolio does not model). Buying it supplies every element in proportion;
what an element's balance cannot use goes to stock if there is room, or is sold at the policy's
``salvage_usd_per_t`` (negative: a disposal cost).

This module normalises and validates the table; :mod:`rareopt.model.formulation` builds it,
:mod:`rareopt.checks.plan` checks it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rareopt.exceptions import ValidationIssue
from rareopt.inputs.tables import expand_per_period, table_frame

__all__ = ["CONCENTRATE_FIELDS", "concentrate_tables", "concentrate_issues", "TYPICAL_COMPOSITIONS"]

TYPICAL_COMPOSITIONS = {
    "bastnaesite (Mountain Pass)": {
        "La": 0.338,
        "Ce": 0.496,
        "Pr": 0.041,
        "Nd": 0.112,
        "Y": 0.001,
    },
    "monazite (Mount Weld)": {
        "La": 0.255,
        "Ce": 0.467,
        "Pr": 0.053,
        "Nd": 0.185,
        "Tb": 0.001,
        "Dy": 0.002,
        "Y": 0.003,
    },
    "ion-adsorption clay, high Y (Longnan)": {
        "La": 0.018,
        "Ce": 0.004,
        "Pr": 0.007,
        "Nd": 0.030,
        "Tb": 0.013,
        "Dy": 0.067,
        "Y": 0.650,
    },
}
"""Approximate shares of total REO in typical deposits, the commonly tabulated values (Long et al.,
USGS Scientific Investigations Report 2010-5220); elements not listed make up the rest."""


CONCENTRATE_FIELDS = (
    "supplier",
    "product",
    "price_usd_per_t",
    "freight_usd_per_t",
    "capacity_t",
    "composition",
)
"""The fields of a concentrate row."""


def concentrate_tables(records: Any, periods: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Normalise concentrate offers into long tables.

    ``concentrates`` (supplier, product, price_usd_per_t, freight_usd_per_t),
    ``concentrate_capacity`` (supplier, product, period, capacity_t) and ``composition``
    (supplier, product, element, share); ``bad_capacity`` lists rows whose per-period capacity
    list has the wrong length.

    Examples
    --------
    >>> t = concentrate_tables([{"supplier": "A", "product": "ore", "price_usd_per_t": 9000,
    ...     "capacity_t": 10, "composition": {"Ce": 0.5, "La": 0.3}}], ["P1", "P2"])
    >>> t["composition"]["share"].tolist(), len(t["concentrate_capacity"])
    ([0.5, 0.3], 2)
    """
    columns = ["supplier", "product", "price_usd_per_t", "freight_usd_per_t"]
    frame = table_frame(records, list(CONCENTRATE_FIELDS))
    for column, default in (
        ("freight_usd_per_t", 0.0),
        ("capacity_t", np.nan),
        ("composition", None),
        ("product", None),
        ("supplier", None),
        ("price_usd_per_t", np.nan),
    ):
        if column not in frame:
            frame[column] = default
    frame["freight_usd_per_t"] = frame["freight_usd_per_t"].fillna(0.0)
    capacity, bad = expand_per_period(
        frame, "capacity_t", ["supplier", "product"], periods, "concentrates"
    )
    composition = [
        {"supplier": s, "product": p, "element": e, "share": v, "_source": f"concentrates row {i}"}
        for i, (s, p, mix) in enumerate(
            zip(frame["supplier"], frame["product"], frame["composition"])
        )
        if isinstance(mix, Mapping)
        for e, v in mix.items()
    ]
    malformed = [
        i for i, mix in enumerate(frame["composition"]) if not isinstance(mix, Mapping) or not mix
    ]
    return {
        "concentrates": frame[columns].assign(
            _composition_ok=[i not in malformed for i in range(len(frame))]
        ),
        "concentrate_capacity": capacity,
        "composition": pd.DataFrame(
            composition, columns=["supplier", "product", "element", "share", "_source"]
        ),
        "bad_capacity": bad,
    }


def concentrate_issues(portfolio, suppliers: Sequence[str], elements: Sequence[str]) -> list:
    """Problems in the concentrate tables (errors and warnings), as :class:`ValidationIssue`.

    Errors: unknown supplier, duplicate (supplier, product), a missing or empty composition, a
    share outside [0, 1], shares summing above 1, bad price, freight or capacity. Warning: an
    element not in the demand table (its share is not modelled).
    """
    issues = []
    offers, mix = portfolio.concentrates, portfolio.composition

    def add(row, field, value, allowed, severity="error"):
        issues.append(ValidationIssue("concentrates", row, field, value, allowed, severity))

    for label, row in offers.iterrows():
        where = f"row {label} (supplier={row['supplier']}, product={row['product']})"
        if row["supplier"] not in suppliers:
            add(where, "supplier", row["supplier"], "a supplier in the suppliers table")
        if not isinstance(row["product"], str) or not row["product"]:
            add(where, "product", row["product"], "a product name")
        for field in ("price_usd_per_t", "freight_usd_per_t"):
            value = row[field]
            if (
                not isinstance(value, (int, float, np.number))
                or not np.isfinite(value)
                or value < 0
            ):
                add(where, field, value, "a number >= 0")
        if not row["_composition_ok"]:
            add(where, "composition", None, "a mapping of element to share of the product's REO")
    if offers.duplicated(["supplier", "product"]).any():
        for label in offers.index[offers.duplicated(["supplier", "product"])]:
            add(f"row {label}", "supplier+product", offers.at[label, "product"], "each key once")
    for _, row in mix.iterrows():
        where = row["_source"].removeprefix("concentrates ")
        share = row["share"]
        if (
            not isinstance(share, (int, float, np.number))
            or isinstance(share, bool)
            or not (0 <= share <= 1)
        ):
            add(where, f"composition {row['element']}", share, "a share from 0 to 1")
        elif row["element"] not in elements:
            add(
                where,
                f"composition {row['element']}",
                share,
                f"an element in the demand table: {list(elements)} (not modelled)",
                "warning",
            )
    numeric = pd.to_numeric(mix["share"], errors="coerce")
    totals = numeric.groupby([mix["supplier"], mix["product"]]).sum()
    for (supplier, product), total in totals.items():
        if total > 1 + 1e-9:
            add(
                f"supplier={supplier}, product={product}",
                "composition",
                round(total, 6),
                "shares summing to at most 1",
            )
    capacity = portfolio.concentrate_capacity
    values = pd.to_numeric(capacity["capacity_t"], errors="coerce")
    for label in capacity.index[~(values >= 0)]:
        add(
            capacity.at[label, "_source"].removeprefix("concentrates "),
            "capacity_t",
            capacity.at[label, "capacity_t"],
            "a number >= 0 (.inf for unlimited)",
        )
    issues += _unbounded_issues(portfolio, numeric, values)
    return issues


def _unbounded_issues(portfolio, shares: pd.Series, capacity_t: pd.Series) -> list:
    """A concentrate whose surplus earns more than it costs, with unlimited capacity somewhere.

    Its every tonne then pays (the surplus sold at the policy's salvage values), so the cost has
    no lower bound: an input error rather than an unbounded solve.
    """
    salvage = portfolio.policy.salvage_usd_per_t or {}
    mix = portfolio.composition.assign(share=shares)
    price = pd.to_numeric(mix["element"].map(salvage), errors="coerce").fillna(0.0)
    earned = (mix["share"] * price.clip(lower=0.0)).groupby([mix["supplier"], mix["product"]]).sum()
    unlimited = portfolio.concentrate_capacity.assign(capacity_t=capacity_t)
    unlimited = unlimited[np.isinf(unlimited["capacity_t"].to_numpy(float))]
    issues = []
    for label, row in portfolio.concentrates.iterrows():
        key = (row["supplier"], row["product"])
        cost = pd.to_numeric(
            pd.Series([row["price_usd_per_t"], row["freight_usd_per_t"]]), errors="coerce"
        ).sum()
        pays = earned.get(key, 0.0) > cost
        open_ended = ((unlimited["supplier"] == key[0]) & (unlimited["product"] == key[1])).any()
        if pays and open_ended:
            issues.append(
                ValidationIssue(
                    "concentrates",
                    f"row {label} (supplier={key[0]}, product={key[1]})",
                    "capacity_t",
                    "unlimited",
                    f"a finite capacity: its surplus earns {earned[key]:,.0f} USD a t at the "
                    f"policy's salvage values, more than its {cost:,.0f} USD a t, so the cost "
                    "would have no lower bound",
                )
            )
    return issues


def concentrate_records(portfolio) -> list[dict]:
    """The concentrate offers as the records the constructor reads.

    Capacity per period as a list, composition as a mapping: the inverse of
    :func:`concentrate_tables`.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> concentrate_records(load_example("tiny"))
    []
    """
    out = []
    capacity = portfolio.concentrate_capacity
    mix = portfolio.composition
    order = {p: i for i, p in enumerate(portfolio.period_labels)}
    for row in portfolio.concentrates.to_dict("records"):
        key = (capacity["supplier"] == row["supplier"]) & (capacity["product"] == row["product"])
        values = capacity[key].sort_values("period", key=lambda s: s.map(order))["capacity_t"]
        values = [float(v) for v in values]
        share = mix[(mix["supplier"] == row["supplier"]) & (mix["product"] == row["product"])]
        out.append(
            {
                "supplier": row["supplier"],
                "product": row["product"],
                "price_usd_per_t": float(row["price_usd_per_t"]),
                "freight_usd_per_t": float(row["freight_usd_per_t"]),
                "capacity_t": values[0] if len(set(values)) == 1 else values,
                "composition": {e: float(v) for e, v in zip(share["element"], share["share"])},
            }
        )
    return out

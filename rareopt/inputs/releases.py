"""Stockpile release rules: how fast, how deep and when a scenario may draw on the stockpile.

A strategic stockpile is not drawn at will: Korea aims to release within 30 days, and within 8 in
an emergency; Japan's JOGMEC releases at the ministry's request. ``policy.release_rules`` records
say, per element (or ``"*"``), for the recourse of every scenario:

- ``max_release_t`` or ``max_release_days``: the most a scenario may draw on the stock beyond what
  the plan draws, per period (t, or days of that period's demand);
- ``floor_days``: a floor (days of that period's demand) the stock stays at or above except in an
  emergency; outside one, stock below the floor is priced like unmet demand and reported;
- ``trigger_share``: a scenario draws beyond the plan only in an emergency, a period in which the
  element's deliveries fall below this share of what its offers would deliver undisturbed.

An emergency is a period whose delivered share (:func:`delivered_shares`) is below the trigger,
or below 1 (any cut) without one. The plan itself, which plans for no disruption, is not bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rareopt.exceptions import ValidationIssue
from rareopt.inputs.tables import ALL, MAX_TARGET_DAYS, MAX_TONNES, is_number, table_frame

if TYPE_CHECKING:
    from rareopt.inputs.portfolio import Portfolio

__all__ = [
    "RELEASE_FIELDS",
    "release_table",
    "release_limits",
    "release_issues",
    "delivered_shares",
]

RELEASE_FIELDS = ("element", "max_release_t", "max_release_days", "floor_days", "trigger_share")
"""The fields of a release rule."""


def release_table(records: Any) -> pd.DataFrame:
    """Normalise release-rule records: element ``"*"`` by default, other fields NaN when left out.

    Examples
    --------
    >>> release_table([{"max_release_days": 10}])[["element", "max_release_days"]].values.tolist()
    [['*', 10]]
    """
    if records is None or (isinstance(records, pd.DataFrame) and records.empty):
        return pd.DataFrame(columns=list(RELEASE_FIELDS))
    frame = table_frame(records, list(RELEASE_FIELDS))
    for column in RELEASE_FIELDS:
        if column not in frame:
            frame[column] = np.nan
    frame["element"] = [
        ALL if e is None or (isinstance(e, float) and np.isnan(e)) else e for e in frame["element"]
    ]
    return frame[list(RELEASE_FIELDS)].reset_index(drop=True)


def release_limits(portfolio: Portfolio) -> pd.DataFrame:
    """Per (element, period) with a rule: max_release_t, floor_t and trigger_share.

    The element's own rule, else the ``"*"`` rule. ``max_release_t`` is inf without a limit
    (days become tonnes at that period's daily demand), ``floor_t`` 0 without a floor,
    ``trigger_share`` NaN without a trigger.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> tiny = load_example("tiny").with_policy(release_rules=[{"max_release_days": 10}])
    >>> release_limits(tiny).query("element == 'Nd'")["max_release_t"].round(2).tolist()
    [30.0, 30.0, 30.0]
    """
    rules = portfolio.policy.release_rules
    columns = ["element", "period", "max_release_t", "floor_t", "trigger_share"]
    if not len(rules):
        return pd.DataFrame(columns=columns)
    named = rules.set_index("element")
    rows = []
    demand = portfolio.demand.merge(portfolio.periods[["period", "days"]], on="period")
    for element, period, need, days in demand[["element", "period", "demand_t", "days"]].itertuples(
        index=False
    ):
        if element in named.index:
            rule = named.loc[element]
        elif ALL in named.index:
            rule = named.loc[ALL]
        else:
            continue
        daily = need / days
        by_days = rule["max_release_days"]
        limit = rule["max_release_t"] if pd.notna(rule["max_release_t"]) else by_days * daily
        floor = rule["floor_days"] * daily if pd.notna(rule["floor_days"]) else 0.0
        rows.append(
            {
                "element": element,
                "period": period,
                "max_release_t": float(limit) if pd.notna(limit) else np.inf,
                "floor_t": float(floor),
                "trigger_share": float(rule["trigger_share"]),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def delivered_shares(
    portfolio: Portfolio,
    purchases: pd.DataFrame,
    fractions: np.ndarray,
    limits: pd.DataFrame,
) -> np.ndarray:
    """The share of each (element, period) of ``limits`` delivered in each scenario.

    Each purchase variable (``purchases``: element, arrival period, capacity_t) weighs by its
    capacity (an unlimited one by the period's demand) and counts in the period it arrives:
    ``sum f x capacity / sum capacity``; 1 where the element has no purchase arriving.
    Scenarios x rows of ``limits``.

    Examples
    --------
    >>> p = pd.DataFrame({"element": ["Nd", "Nd"], "arrival": ["P1", "P1"], "capacity_t": [30.0, 10.0]})
    >>> limits = pd.DataFrame({"element": ["Nd"], "period": ["P1"]})
    >>> delivered_shares(None, p, np.array([[0.0, 1.0]]), limits).tolist()
    [[0.25]]
    """
    keys = pd.MultiIndex.from_frame(limits[["element", "period"]])
    cell = keys.get_indexer(pd.MultiIndex.from_frame(purchases[["element", "arrival"]]))
    known = cell >= 0
    capacity = purchases["capacity_t"].to_numpy(float)
    if not np.isfinite(capacity).all():
        demand = portfolio.demand.set_index(["element", "period"])["demand_t"]
        need = demand.reindex(pd.MultiIndex.from_frame(purchases[["element", "arrival"]]))
        capacity = np.where(np.isfinite(capacity), capacity, need.fillna(1.0).to_numpy(float))
    n_w, n_cells = fractions.shape[0], len(limits)
    total = np.bincount(cell[known], weights=capacity[known], minlength=n_cells)
    share = np.ones((n_w, n_cells))
    for w in range(n_w):
        got = np.bincount(cell[known], weights=(fractions[w] * capacity)[known], minlength=n_cells)
        share[w] = np.where(total > 0, got / np.where(total > 0, total, 1.0), 1.0)
    return share


def release_issues(portfolio: Portfolio) -> list[ValidationIssue]:
    """Problems with ``policy.release_rules``, naming the record and field.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> release_issues(load_example("tiny"))
    []
    """
    rules = portfolio.policy.release_rules
    out: list[ValidationIssue] = []

    def add(label, field, value, allowed):
        out.append(
            ValidationIssue("policy release_rules", f"record {label}", field, value, allowed)
        )

    def given(value) -> bool:
        return not (value is None or (isinstance(value, float) and np.isnan(value)))

    for label, rule in rules.iterrows():
        element = rule["element"]
        if element != ALL and element not in portfolio.elements:
            add(label, "element", element, f"'*' or an element: {portfolio.elements}")
        tonnes, days = rule["max_release_t"], rule["max_release_days"]
        if given(tonnes) and given(days):
            add(label, "max_release_t", tonnes, "one of max_release_t and max_release_days")
        if given(tonnes) and not (is_number(tonnes, finite=True) and 0 <= tonnes <= MAX_TONNES):
            add(label, "max_release_t", tonnes, f"a number from 0 to {MAX_TONNES:g} (t a period)")
        for field in ("max_release_days", "floor_days"):
            value = rule[field]
            if given(value) and not (
                is_number(value, finite=True) and 0 <= value <= MAX_TARGET_DAYS
            ):
                add(label, field, value, f"a number from 0 to {MAX_TARGET_DAYS:g} (days)")
        trigger = rule["trigger_share"]
        if given(trigger) and not (is_number(trigger, finite=True) and 0 < trigger <= 1):
            add(label, "trigger_share", trigger, "a number above 0 and at most 1")
        if not any(given(rule[f]) for f in RELEASE_FIELDS[1:]):
            add(label, "max_release_t", None, "at least one of " + ", ".join(RELEASE_FIELDS[1:]))
    elements = rules["element"]
    for element in elements[elements.duplicated()].unique():
        out.append(
            ValidationIssue(
                "policy release_rules", "records", "element", element, "each element once"
            )
        )
    return out

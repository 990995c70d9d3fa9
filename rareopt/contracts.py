"""Discrete sourcing decisions: contracts, minimum order quantities, supplier and country counts.

Added to a model by :func:`rareopt.model.build` when the portfolio asks for them; they make it a
MIP. Symbols of ``docs/formulation.md``:

- ``contract[e, s]`` in {0, 1}: the offer of s for e is contracted; every purchase needs it
  (``contract_link[e, s, p]``: x <= capacity x contract) and it costs ``contract_usd_per_year``
  times the horizon in years;
- ``order[e, s, p]`` in {0, 1} for offers with a minimum order: ``min_order[e, s, p]``:
  x >= minimum x order and ``order_link[e, s, p]``: x <= capacity x order (buy nothing or at
  least the minimum), order <= contract;
- ``supplier_count[e]``: sum_s contract <= the policy's maximum;
- ``country_used[e, c]`` in {0, 1} with ``country_floor[e, c]``: the country's purchases over the
  horizon >= floor share x the element's, when used; ``country_count[e]``: sum_c used >= minimum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from rareopt.keys import row_keys

__all__ = ["needs_contracts", "contract_rows", "add_contracts", "horizon_years"]


def horizon_years(portfolio) -> float:
    """The planning horizon in years (days / 365.25).

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> round(horizon_years(load_example("japan")), 2)
    2.0
    """
    return float(portfolio.periods["days"].sum()) / 365.25


def needs_contracts(portfolio) -> bool:
    """Whether the portfolio has any discrete contract decision."""
    offers, policy = portfolio.offers, portfolio.policy
    return bool(
        (offers["contract_usd_per_year"] > 0).any()
        or (offers["min_order_t"] > 0).any()
        or policy.max_suppliers_per_element is not None
        or policy.min_countries_per_element is not None
    )


def contract_rows(portfolio, buy: pd.DataFrame) -> pd.DataFrame:
    """One row per offer with purchase variables.

    Columns: element, supplier, country, min_order_t and contract_usd (over the horizon).

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> from rareopt.model import make_layout
    >>> p = load_example("tiny")
    >>> len(contract_rows(p, make_layout(p).buy))
    6
    """
    pairs = buy[["element", "supplier", "country"]].drop_duplicates()
    offers = portfolio.offers[["supplier", "element", "contract_usd_per_year", "min_order_t"]]
    rows = pairs.merge(offers, on=["supplier", "element"], how="left")
    rows["contract_usd"] = rows.pop("contract_usd_per_year") * horizon_years(portfolio)
    return rows.reset_index(drop=True)


def add_contracts(m: pyo.ConcreteModel, layout, buy_vars: list) -> pyo.Expression:
    """Add the binary contract components to ``m``; return the contract cost (USD)."""
    portfolio, buy = layout.portfolio, layout.buy
    policy = portfolio.policy
    rows = contract_rows(portfolio, buy)
    keys = list(zip(rows["element"], rows["supplier"]))
    m.contract = pyo.Var(keys, domain=pyo.Binary)
    capacity = buy["capacity_t"].to_numpy()
    finite_cap = np.where(np.isfinite(capacity), capacity, _big_m(layout))
    link = {}
    for i, (e, s, p) in enumerate(row_keys(buy, "element", "supplier", "period")):
        link[e, s, p] = buy_vars[i] - finite_cap[i] * m.contract[e, s] <= 0
    m.contract_link = pyo.Constraint(list(link), rule=lambda m, *k: link[k])

    minimum = dict(zip(keys, rows["min_order_t"]))
    moq = [
        (i, (e, s, p))
        for i, (e, s, p) in enumerate(row_keys(buy, "element", "supplier", "period"))
        if minimum[e, s] > 0
    ]
    m.order = pyo.Var([k for _, k in moq], domain=pyo.Binary)
    m.min_order = pyo.Constraint(
        [k for _, k in moq],
        rule=lambda m, e, s, p: m.buy[e, s, p] - minimum[e, s] * m.order[e, s, p] >= 0,
    )
    order_cap = {k: finite_cap[i] for i, k in moq}
    m.order_link = pyo.Constraint(
        [k for _, k in moq],
        rule=lambda m, e, s, p: m.buy[e, s, p] - order_cap[e, s, p] * m.order[e, s, p] <= 0,
    )
    m.order_contract = pyo.Constraint(
        [k for _, k in moq], rule=lambda m, e, s, p: m.order[e, s, p] <= m.contract[e, s]
    )

    elements = list(dict.fromkeys(rows["element"]))
    limit = policy.max_suppliers_per_element
    m.supplier_count = pyo.Constraint(
        elements if limit is not None else [],
        rule=lambda m, e: sum(m.contract[e, s] for (el, s) in keys if el == e) <= limit,
    )
    _add_country_floor(m, layout, buy_vars, elements)
    cost = dict(zip(keys, rows["contract_usd"]))
    return pyo.Expression(expr=sum(cost[k] * m.contract[k] for k in keys if cost[k] > 0))


def _big_m(layout) -> float:
    """A bound on what any element's purchases can usefully reach over the horizon.

    Demand over the horizon plus the storage room (or, with unlimited room, the largest stock
    target: stock beyond every target only costs). Used where an offer's capacity is unlimited.
    """
    ep = layout.element_period
    by_element = ep.groupby("element")
    room = by_element["stock_capacity_t"].max()
    room = room.where(np.isfinite(room), by_element["target_t"].max())
    return float((by_element["demand_t"].sum() + room).max()) or 1.0


def _add_country_floor(m, layout, buy_vars: list, elements: list) -> None:
    """Countries counted as supplying an element: at least the floor share of its purchases."""
    policy = layout.portfolio.policy
    minimum, share = policy.min_countries_per_element, policy.country_floor_share
    buy = layout.buy
    pairs = (
        buy[["element", "country"]].drop_duplicates().itertuples(index=False)
        if minimum is not None
        else []
    )
    pairs = [tuple(p) for p in pairs]
    m.country_used = pyo.Var(pairs, domain=pyo.Binary)
    by_pair = buy.groupby(["element", "country"]).indices
    by_element = buy.groupby("element").indices
    capacity = buy["capacity_t"].to_numpy()
    bound = _big_m(layout)

    def floor(m, e, c):
        mine = sum(buy_vars[i] for i in by_pair[e, c])
        total = sum(buy_vars[i] for i in by_element[e])
        big = share * min(float(np.nansum(np.minimum(capacity[by_element[e]], bound))), bound)
        return mine - share * total + big * (1 - m.country_used[e, c]) >= 0

    m.country_floor = pyo.Constraint(pairs, rule=floor)
    m.country_count = pyo.Constraint(
        [e for e in elements if minimum is not None],
        rule=lambda m, e: sum(m.country_used[e, c] for (el, c) in pairs if el == e) >= minimum,
    )

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
    >>> from rareopt.layout import make_layout
    >>> p = load_example("tiny")
    >>> len(contract_rows(p, make_layout(p).buy))
    6
    """
    pairs = buy[["element", "supplier", "country"]].drop_duplicates()
    offers = portfolio.offers[["supplier", "element", "contract_usd_per_year", "min_order_t"]]
    rows = pairs.merge(offers, on=["supplier", "element"], how="left")
    rows["contract_usd"] = rows.pop("contract_usd_per_year") * horizon_years(portfolio)
    return rows.reset_index(drop=True)


def add_contracts(
    m: pyo.ConcreteModel, layout, buy_vars: list, supply_vars: list
) -> pyo.Expression:
    """Add the binary contract components to ``m``; return the contract cost (USD).

    ``buy_vars`` are the purchase variables in ``layout.buy`` order; ``supply_vars`` those and
    the concentrate variables, in the order ``layout.supply``'s ``pos`` refers to.
    """
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
    _add_country_floor(m, layout, supply_vars, elements)
    cost = dict(zip(keys, rows["contract_usd"]))
    return pyo.Expression(expr=sum(cost[k] * m.contract[k] for k in keys if cost[k] > 0))


def _big_m(layout) -> float:
    """A bound on what any element's purchases can reach over the horizon at an optimum.

    Demand over the horizon, plus the storage room (or, with unlimited room, the largest stock
    target: stock beyond every target only costs), plus every minimum order of the element in
    every period (a minimum order can force buying beyond need). Used where an offer's capacity
    is unlimited.
    """
    ep = layout.element_period
    by_element = ep.groupby("element")
    room = by_element["stock_capacity_t"].max()
    room = room.where(np.isfinite(room), by_element["target_t"].max())
    buy = layout.buy
    offers = layout.portfolio.offers.set_index(["supplier", "element"])["min_order_t"]
    orders = offers.reindex(row_keys(buy, "supplier", "element")).fillna(0.0).to_numpy()
    forced = pd.Series(orders, index=buy["element"].to_numpy()).groupby(level=0).sum()
    total = by_element["demand_t"].sum() + room + forced.reindex(room.index).fillna(0.0)
    return float(total.max()) or 1.0


def _add_country_floor(m, layout, supply_vars: list, elements: list) -> None:
    """Countries counted as supplying an element: at least the floor share of its purchases.

    Purchases include the element's tonnes in concentrates (``layout.supply``), as the caps do.
    """
    policy = layout.portfolio.policy
    minimum, share = policy.min_countries_per_element, policy.country_floor_share
    supply = layout.supply
    pairs = (
        []
        if minimum is None
        else row_keys(supply.drop_duplicates(["element", "country"]), "element", "country")
    )
    m.country_used = pyo.Var(pairs, domain=pyo.Binary)
    by_pair = supply.groupby(["element", "country"]).indices
    by_element = supply.groupby("element").indices
    pos, coef = supply["pos"].to_numpy(), supply["coef"].to_numpy(float)
    # Bundled tonnes can exceed any need (surplus): the bound adds what concentrates can bring.
    n_buy = len(layout.buy)
    conc_cap = layout.concentrate["capacity_t"].to_numpy(float)
    bundled = np.zeros(len(pos))
    in_bundle = pos >= n_buy
    bundled[in_bundle] = coef[in_bundle] * conc_cap[pos[in_bundle] - n_buy]
    if minimum is not None and not np.isfinite(bundled).all():
        raise ValueError(
            "min_countries_per_element with a concentrate of unlimited capacity_t: give the "
            "concentrate a finite capacity_t"
        )
    extra = pd.Series(bundled, index=supply["element"].to_numpy()).groupby(level=0).sum()
    bound = _big_m(layout)

    def floor(m, e, c):
        mine = sum(coef[i] * supply_vars[pos[i]] for i in by_pair[e, c])
        total = sum(coef[i] * supply_vars[pos[i]] for i in by_element[e])
        big = share * (bound + float(extra.get(e, 0.0)))
        return mine - share * total + big * (1 - m.country_used[e, c]) >= 0

    m.country_floor = pyo.Constraint(pairs, rule=floor)
    m.country_count = pyo.Constraint(
        [e for e in elements if minimum is not None],
        rule=lambda m, e: sum(m.country_used[e, c] for (el, c) in pairs if el == e) >= minimum,
    )

"""Facts derived from a portfolio's tables that the model and the independent checks share.

One home for the year length, the horizon in years, the replacement (floor) price of a tonne and whether
a portfolio has discrete contract decisions, so that the formulation, the checks and the reports
cannot drift apart on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rareopt.inputs.markets import contract_terms, contract_unit_prices
from rareopt.inputs.stages import route_table

if TYPE_CHECKING:
    from rareopt.inputs.portfolio import Portfolio
    from rareopt.inputs.scenarios import ScenarioSet

__all__ = [
    "DAYS_PER_YEAR",
    "horizon_years",
    "needs_contracts",
    "has_discrete_decisions",
    "replacement_prices",
    "scenario_replacement_prices",
]

DAYS_PER_YEAR = 365.25
"""Days in a year (the Julian year): contract fees per year, discounting and disruption rates."""


def horizon_years(portfolio: Portfolio) -> float:
    """The planning horizon in years: the periods' days / :data:`DAYS_PER_YEAR`.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> round(horizon_years(load_example("tiny")), 2)  # three 30-day periods
    0.25
    """
    return float(portfolio.periods["days"].sum()) / DAYS_PER_YEAR


def needs_contracts(portfolio: Portfolio) -> bool:
    """Whether the portfolio has any discrete contract decision.

    A contract fee, a minimum order, a limit on suppliers per element or a minimum number of
    countries.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> needs_contracts(load_example("tiny")), needs_contracts(load_example("bundles"))
    (False, False)
    """
    offers, policy = portfolio.offers, portfolio.policy
    return bool(
        (offers["contract_usd_per_year"] > 0).any()
        or (offers["min_order_t"] > 0).any()
        or policy.max_suppliers_per_element is not None
        or policy.min_countries_per_element is not None
    )


def has_discrete_decisions(portfolio: Portfolio) -> bool:
    """Whether the model is a MIP: contract decisions (:func:`needs_contracts`) or projects.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> has_discrete_decisions(load_example("tiny"))
    False
    """
    return needs_contracts(portfolio) or len(portfolio.projects) > 0


def replacement_prices(portfolio: Portfolio) -> dict[str, float]:
    """USD/t that a tonne a disruption takes away costs to replace, per element: the floor price.

    The dearest purchase cost of a tonne delivered among the element's routes: an offer's unit
    cost (price + freight) over the route's yield (1 for an offer at the demand's stage;
    processing fees are not refunded, so they do not count). A scenario refunds an undelivered
    tonne at its contract's unit cost per tonne bought, which per tonne delivered is never above
    this; so that a delivery disruption
    can never make a plan cheaper, every way a scenario replaces the tonne costs at least this
    much: spot purchases, extra unmet demand and stock missing at the horizon's end against the
    nominal plan (``docs/formulation.md``, "Recourse cost").

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> replacement_prices(load_example("tiny"))["Nd"]
    70000.0
    """
    offers = portfolio.offers
    unit = contract_unit_prices(contract_terms(offers))
    cost = dict(zip(zip(offers["supplier"], offers["element"]), unit))
    routes, _ = route_table(portfolio)
    delivered = [
        cost[(s, e)] / max(y, 1e-12)
        for s, e, y in zip(routes["supplier"], routes["element"], routes["yield"])
    ]
    per_route = pd.Series(delivered, index=routes["element"], dtype=float)
    return {e: float(v) for e, v in per_route.groupby(level=0).max().items()}


def scenario_replacement_prices(
    portfolio: Portfolio, scenarios: ScenarioSet, only: list[str] | None = None
) -> np.ndarray:
    """The floor price (USD/t) of each element in each scenario: scenarios x elements.

    As :func:`replacement_prices`, with each contract priced at the scenario's market in every
    period (:mod:`rareopt.inputs.markets`): an indexed contract refunds an undelivered tonne at
    what it would have cost then, so a replacement must cost at least the dearest of those, and
    never less than today's floor. Elements in ``portfolio.elements`` order; 0 for an element
    with no offer.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.inputs.scenarios import ScenarioSet
    >>> s = ScenarioSet([{"name": "calm", "probability": 1}])
    >>> scenario_replacement_prices(load_example("tiny"), s).tolist()[0][0]
    70000.0
    """
    today = replacement_prices(portfolio)
    elements = portfolio.elements
    nominal = np.array([today.get(e, 0.0) for e in elements])
    chosen = scenarios.chosen(only)
    floors = np.repeat(nominal[None, :], len(chosen), axis=0)
    if not any(s.prices for s in chosen):
        return floors
    routes, _ = route_table(portfolio)
    labels = portfolio.period_labels
    rows = routes[["supplier", "element", "yield"]].merge(
        pd.DataFrame({"period": labels}), how="cross"
    )
    terms = contract_terms(portfolio.offers, rows)
    factors = scenarios.price_factors(portfolio, rows, only)
    per_t = contract_unit_prices(terms, factors) / np.maximum(rows["yield"].to_numpy(float), 1e-12)
    code = pd.Categorical(rows["element"], categories=elements).codes
    np.maximum.at(floors.T, code, per_t.T)
    return floors

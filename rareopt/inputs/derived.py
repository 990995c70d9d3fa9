"""Facts derived from a portfolio's tables that the model and the independent checks share.

One home for the year length, the horizon in years, the replacement (floor) price of a tonne and whether
a portfolio has discrete contract decisions, so that the formulation, the checks and the reports
cannot drift apart on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from rareopt.inputs.stages import route_table

if TYPE_CHECKING:
    from rareopt.inputs.portfolio import Portfolio

__all__ = [
    "DAYS_PER_YEAR",
    "horizon_years",
    "needs_contracts",
    "has_discrete_decisions",
    "replacement_prices",
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
    unit = (offers["price_usd_per_t"] + offers["freight_usd_per_t"]).to_numpy(float)
    cost = dict(zip(zip(offers["supplier"], offers["element"]), unit))
    routes, _ = route_table(portfolio)
    delivered = [
        cost[(s, e)] / max(y, 1e-12)
        for s, e, y in zip(routes["supplier"], routes["element"], routes["yield"])
    ]
    per_route = pd.Series(delivered, index=routes["element"], dtype=float)
    return {e: float(v) for e, v in per_route.groupby(level=0).max().items()}

"""The two-stage (extensive-form) model: contracts first, recourse per disruption scenario.

The first stage is the deterministic model of :func:`rareopt.model.build` unchanged: contracts
``buy[e, s, p]`` and the nominal stock path, with caps, targets and their costs. Each scenario w
adds its recourse: deliveries ``f[w, e, s, p] * buy`` (``f`` the delivered fraction), emergency
``spot[w, e, s, p]`` purchases from undisrupted supply, its own stock ``scenario_stock[w, e, p]``
(drawn below target if need be: targets shape the plan, not the emergency) and
``scenario_unmet[w, e, p]``, demand left unmet beyond the nominal plan's. The recourse cost
``recourse[w]`` is what the scenario costs beyond the nominal plan. Symbols and the
non-anticipativity assumption: ``docs/formulation.md``.

One scenario's part can be built on its own (``only=[name]``), which is what a decomposition
engine such as mpi-sppy needs from a ``scenario_creator``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from rareopt.exceptions import PortfolioError, ValidationIssue
from rareopt.keys import row_keys
from rareopt.model import _linear, build, layout_of
from rareopt.risk import CVaR, Expectation
from rareopt.scenarios import ScenarioSet

if TYPE_CHECKING:
    from rareopt.layout import ModelLayout
    from rareopt.portfolio import Portfolio

__all__ = [
    "build_two_stage",
    "ScenarioLayout",
    "scenario_layout_of",
    "delivered_fractions",
    "replacement_prices",
    "fix_contracts",
]


@dataclass(frozen=True)
class ScenarioLayout:
    """Index data behind a two-stage model, aligned with the first stage's ``buy`` rows.

    Attributes
    ----------
    scenario_set : ScenarioSet or None
        The scenarios (None for a set made from raw fractions, e.g. the expected-value problem).
    names : list of str
        Scenario names in model order.
    probabilities : ndarray
        One per scenario.
    fractions : ndarray
        Delivered fraction of each purchase variable, shape (scenarios, purchase variables).
    spot : DataFrame
        One row per spot variable: scenario (position), buy (row of the layout's ``buy``),
        limit_t, unit_cost_usd_per_t.
    spot_premium, spot_share : float
        The emergency market's terms.
    risk : Expectation or CVaR
        The risk measure in the objective.
    """

    scenario_set: ScenarioSet | None
    names: list
    probabilities: np.ndarray
    fractions: np.ndarray
    spot: pd.DataFrame
    spot_premium: float
    spot_share: float
    risk: Expectation | CVaR


def scenario_layout_of(model: pyo.ConcreteModel) -> ScenarioLayout | None:
    """The :class:`ScenarioLayout` of a two-stage model, None for a deterministic one.

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> scenario_layout_of(build(load_example("tiny"))) is None
    True
    """
    return getattr(model, "_rareopt_scenarios", None)


def delivered_fractions(
    portfolio: Portfolio, buy: pd.DataFrame, scenario_set: ScenarioSet
) -> np.ndarray:
    """Delivered fraction of each purchase variable in each scenario (1 = undisturbed).

    Several disruptions hitting the same offer in the same period multiply.

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> from rareopt.layout import make_layout
    >>> p = load_example("tiny")
    >>> s = ScenarioSet([{"name": "cut", "probability": 1,
    ...                   "disruptions": [{"country": "CN", "start": 2, "delivered_fraction": 0.5}]}])
    >>> f = delivered_fractions(p, make_layout(p).buy, s)
    >>> sorted(set(f[0].tolist()))
    [0.5, 1.0]
    """
    scenario_set.check(portfolio)
    labels = portfolio.period_labels
    position = pd.Series(range(len(labels)), index=labels)
    period = position[buy["period"]].to_numpy()
    elements, suppliers, countries = (buy[c].to_numpy() for c in ("element", "supplier", "country"))
    fractions = np.ones((len(scenario_set), len(buy)))
    for w, scenario in enumerate(scenario_set.scenarios):
        for d in scenario.disruptions:
            hit_periods = d.periods(labels)
            mask = np.isin(period, hit_periods)
            if d.supplier is not None:
                mask &= suppliers == d.supplier
            elif d.country != "*":
                mask &= countries == d.country
            if d.elements != "*":
                mask &= np.isin(elements, list(d.elements))
            fractions[w, mask] *= d.delivered_fraction
    return fractions


def replacement_prices(portfolio: Portfolio) -> dict[str, float]:
    """USD/t at which a scenario's stock gap at the end is valued, per element.

    The mean unit cost (price + freight) of the element's offers.

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> replacement_prices(load_example("tiny"))["Nd"]
    60000.0
    """
    offers = portfolio.offers
    unit = offers["price_usd_per_t"] + offers["freight_usd_per_t"]
    return {e: float(v) for e, v in unit.groupby(offers["element"]).mean().items()}


def _spot_rows(
    layout: ModelLayout, fractions: np.ndarray, spot_share: float, spot_premium: float
) -> pd.DataFrame:
    """Spot variables: offers still delivering, from an element's first disrupted period on.

    Spot buying starts only once a scenario's disruption of that element has begun: before it the
    recourse could otherwise stock up on a disruption it cannot yet know about.
    """
    buy = layout.buy
    columns = ["scenario", "buy", "limit_t", "unit_cost_usd_per_t"]
    if spot_share <= 0 or not len(buy):
        return pd.DataFrame(columns=columns)
    # A project sells nothing before it is built; its spot offers would not know that.
    projects = set(layout.portfolio.projects["supplier"])
    labels = layout.portfolio.period_labels
    period = pd.Series(range(len(labels)), index=labels)[buy["period"]].to_numpy()
    element_codes, _ = pd.factorize(buy["element"])
    disrupted = fractions < 1.0
    start = np.full((len(fractions), element_codes.max() + 1), np.iinfo(np.int64).max)
    for w in range(len(fractions)):
        np.minimum.at(start[w], element_codes[disrupted[w]], period[disrupted[w]])
    eligible = (period[None, :] >= start[:, element_codes]) & (fractions > 0)
    eligible &= ~buy["supplier"].isin(projects).to_numpy()[None, :]
    scenario, row = np.nonzero(eligible)
    capacity = buy["capacity_t"].to_numpy()[row]
    return pd.DataFrame(
        {
            "scenario": scenario,
            "buy": row,
            "limit_t": spot_share * fractions[scenario, row] * capacity,
            "unit_cost_usd_per_t": buy["unit_cost_usd_per_t"].to_numpy()[row] * (1 + spot_premium),
        }
    )


def fix_contracts(model: pyo.ConcreteModel, volumes: Mapping[tuple, float]) -> None:
    """Fix every ``buy[e, s, p]`` at ``volumes`` (keys left out buy nothing).

    Raises
    ------
    PortfolioError
        Naming keys the model has no purchase variable for (no offer with capacity then).

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> m = build(load_example("tiny"))
    >>> fix_contracts(m, {("Nd", "CN-Mine", "P1"): 72.0})
    >>> m.buy["Nd", "CN-Mine", "P1"].value, m.buy["Nd", "AU-Lynas", "P1"].fixed
    (72.0, True)
    """
    unknown = [k for k in volumes if k not in model.buy]
    if unknown:
        raise PortfolioError(
            [
                ValidationIssue(
                    "plan",
                    str(k),
                    "element/supplier/period",
                    k,
                    "an offer with capacity in that period",
                )
                for k in unknown[:20]
            ]
        )
    for key, var in model.buy.items():
        var.fix(float(volumes.get(key, 0.0)))


def build_two_stage(
    portfolio: Portfolio,
    scenarios: ScenarioSet,
    risk: Expectation | CVaR | None = None,
    only: list[str] | None = None,
    fractions: np.ndarray | None = None,
) -> pyo.ConcreteModel:
    """Build the extensive form: the first-stage model plus every scenario's recourse.

    Components beyond :func:`rareopt.build`'s (symbols of ``docs/formulation.md``):

    - ``scenario_stock[w, e, p]``, ``scenario_unmet[w, e, p]`` (beyond the nominal ``unmet``),
      ``spot[w, e, s, p]`` (t)
    - ``scenario_balance[w, e, p]``: sum_s f x + sum_s spot + stock[w, p-1] - stock[w, p]
      + unmet + scenario_unmet[w] = demand
    - ``spot_room[w, e, s, p]``: f x + spot <= f capacity
    - ``recourse[w]`` (Expression, USD): undelivered contracts not paid for, spot bought, holding
      beyond the nominal plan's, the extra unmet demand at the shortage penalty, and the stock
      missing at the end against the nominal plan (``restock[w, e]`` >= nominal - scenario
      level, ``restock_gap``) at the replacement price
    - ``scenario_unmet_room[w, e, p]``: unmet + scenario_unmet <= demand
    - with CVaR: ``cvar_level`` (eta) and ``cvar_excess[w]`` >= recourse[w] - eta
    - objective ``two_stage_cost``: first stage + sum_w p_w recourse[w] (+ weight x CVaR)

    Parameters
    ----------
    portfolio : Portfolio
        The portfolio.
    scenarios : ScenarioSet
        The scenarios (checked against the portfolio).
    risk : Expectation or CVaR, optional
        Default :class:`~rareopt.risk.Expectation`.
    only : list of str, optional
        Build these scenarios only, each weighted 1 in the objective (for a scenario creator).
    fractions : ndarray, optional
        Delivered fractions to use instead of the scenarios' (shape scenarios x purchases), e.g.
        their probability-weighted mean for the expected-value problem.

    Returns
    -------
    pyomo.environ.ConcreteModel
        Solve it with :func:`rareopt.solve`; add constraints of your own first if you like.

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> s = ScenarioSet([{"name": "calm", "probability": 0.9},
    ...                  {"name": "cut", "probability": 0.1,
    ...                   "disruptions": [{"country": "CN", "start": 2, "duration": 1}]}])
    >>> m = build_two_stage(load_example("tiny"), s)
    >>> len(m.recourse), m.two_stage_cost.active, m.total_cost.active
    (2, True, False)
    """
    risk = Expectation() if risk is None else risk
    if len(portfolio.concentrates):
        raise ValueError(
            "scenarios with concentrates: not built yet (a disrupted concentrate would cut "
            "several elements at once); solve the scenarios without the concentrates table"
        )
    m = build(portfolio)
    layout = layout_of(m)
    buy, ep = layout.buy, layout.element_period
    if fractions is None:
        fractions = delivered_fractions(portfolio, buy, scenarios)
    names, probabilities = scenarios.names, scenarios.probabilities
    if only is not None:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise ValueError(f"only: unknown scenario(s) {unknown}; allowed: {names}")
        keep = [names.index(n) for n in only]
        names, probabilities, fractions = list(only), np.ones(len(keep)), fractions[keep]
    spot = _spot_rows(layout, fractions, scenarios.spot_share, scenarios.spot_premium)
    m._rareopt_scenarios = ScenarioLayout(
        scenario_set=scenarios,
        names=list(names),
        probabilities=np.asarray(probabilities, dtype=float),
        fractions=fractions,
        spot=spot,
        spot_premium=scenarios.spot_premium,
        spot_share=scenarios.spot_share,
        risk=risk,
    )

    buy_keys = list(row_keys(buy, "element", "supplier", "period"))
    buy_vars = [m.buy[k] for k in buy_keys]
    ep_keys = list(row_keys(ep, "element", "period"))
    first_period = portfolio.period_labels[0]
    w_ep = [(w, e, p) for w in names for e, p in ep_keys]
    stock_cap = np.tile(ep["stock_capacity_t"].replace(np.inf, np.nan).to_numpy(), len(names))
    demand = np.tile(ep["demand_t"].to_numpy(), len(names))
    m.scenario_stock = pyo.Var(w_ep, domain=pyo.NonNegativeReals)
    m.scenario_unmet = pyo.Var(w_ep, domain=pyo.NonNegativeReals)
    for k, (level, unmet) in enumerate(zip(m.scenario_stock.values(), m.scenario_unmet.values())):
        level.setub(None if np.isnan(stock_cap[k]) else stock_cap[k])
        unmet.setub(demand[k])
    spot_keys = [(names[w], *buy_keys[b]) for w, b in zip(spot["scenario"], spot["buy"])]
    m.spot = pyo.Var(spot_keys, domain=pyo.NonNegativeReals)
    spot_vars = list(m.spot.values())
    for var, limit in zip(spot_vars, spot["limit_t"]):
        var.setub(limit)

    capacity = buy["capacity_t"].to_numpy()
    room = {
        key: _linear([fractions[w, b], 1.0], [buy_vars[b], var]) <= fractions[w, b] * capacity[b]
        for key, var, w, b in zip(spot_keys, spot_vars, spot["scenario"], spot["buy"])
    }
    m.spot_room = pyo.Constraint(spot_keys, rule=lambda m, *k: room[k])

    by_ep = buy.groupby(["element", "period"], sort=False).indices
    spot_scenario, spot_buy = spot["scenario"].to_numpy(int), spot["buy"].to_numpy(int)
    spot_by = (
        pd.DataFrame(
            {
                "w": spot_scenario,
                "e": buy["element"].to_numpy()[spot_buy],
                "p": buy["period"].to_numpy()[spot_buy],
            }
        )
        .groupby(["w", "e", "p"], sort=False)
        .indices
    )
    spot_of = pd.Series(spot_scenario).groupby(spot_scenario).indices
    spot_cost = spot["unit_cost_usd_per_t"].to_numpy(float)
    initial = ep["initial_t"].to_numpy()
    holding = ep["holding_usd_per_t"].to_numpy()
    demand_of = dict(zip(ep_keys, ep["demand_t"].to_numpy()))
    penalty = [portfolio.policy.shortage_penalty_usd_per_t] * len(ep_keys)
    unit_cost = buy["unit_cost_usd_per_t"].to_numpy()
    nominal = [m.stock[k] for k in ep_keys]
    # Stock drawn in an emergency is not free: what is missing at the end, against the nominal
    # plan, is bought back at the element's replacement price. A surplus earns nothing (crediting
    # it would make a disruption pay: store spot purchases or unmet demand, sell at the end).
    replacement = replacement_prices(portfolio)
    last = np.flatnonzero(ep["period"].to_numpy() == portfolio.period_labels[-1])
    last_elements = ep["element"].to_numpy()[last].tolist()
    restock = [replacement.get(e, 0.0) for e in last_elements]
    m.restock = pyo.Var([(w, e) for w in names for e in last_elements], domain=pyo.NonNegativeReals)
    restock_rows = {}
    balance, recourse = {}, {}
    for w, name in enumerate(names):
        f = fractions[w]
        levels = [m.scenario_stock[name, e, p] for e, p in ep_keys]
        unmet = [m.scenario_unmet[name, e, p] for e, p in ep_keys]
        for row, (e, p) in enumerate(ep_keys):
            idx = by_ep.get((e, p), [])
            if np.all(f[idx] == 1.0):
                coefs, terms = [1.0], [m.bought[e, p]]
            else:
                coefs, terms = list(f[idx]), [buy_vars[i] for i in idx]
            for s in spot_by.get((w, e, p), ()):
                coefs.append(1.0)
                terms.append(spot_vars[s])
            coefs += [1.0, 1.0, -1.0]
            terms += [m.unmet[e, p], unmet[row], levels[row]]
            if p != first_period:
                coefs.append(1.0)
                terms.append(levels[row - 1])
            balance[name, e, p] = (
                _linear(coefs, terms, constant=initial[row]) == ep["demand_t"].iat[row]
            )
        for i, e in zip(last, last_elements):
            restock_rows[name, e] = m.restock[name, e] + levels[i] - nominal[i] >= 0
        cut = np.flatnonzero(f < 1.0)
        mine = spot_of.get(w, [])
        recourse[name] = _linear(
            [
                *(unit_cost[cut] * (f[cut] - 1.0)),
                *spot_cost[mine],
                *holding,
                *penalty,
                *(-holding),
                *restock,
            ],
            [
                *(buy_vars[b] for b in cut),
                *(spot_vars[s] for s in mine),
                *levels,
                *unmet,
                *nominal,
                *(m.restock[name, e] for e in last_elements),
            ],
        )
    m.scenario_balance = pyo.Constraint(w_ep, rule=lambda m, *k: balance[k])
    m.restock_gap = pyo.Constraint(list(restock_rows), rule=lambda m, *k: restock_rows[k])
    # Unmet demand in a scenario, nominal plus extra, is at most the demand.
    m.scenario_unmet_room = pyo.Constraint(
        w_ep, rule=lambda m, w, e, p: m.unmet[e, p] + m.scenario_unmet[w, e, p] <= demand_of[e, p]
    )
    m.recourse = pyo.Expression(list(names), rule=lambda m, w: recourse[w])

    probability = dict(zip(names, m._rareopt_scenarios.probabilities))
    expected = sum(probability[w] * m.recourse[w] for w in names)
    objective = m.total_cost.expr + expected
    if risk.weight > 0:
        m.cvar_level = pyo.Var(domain=pyo.Reals)
        m.cvar_excess = pyo.Var(list(names), domain=pyo.NonNegativeReals)
        m.cvar_excess_row = pyo.Constraint(
            list(names), rule=lambda m, w: m.cvar_excess[w] - m.recourse[w] + m.cvar_level >= 0
        )
        cvar = m.cvar_level + sum(probability[w] * m.cvar_excess[w] for w in names) / (
            1.0 - risk.alpha
        )
        objective = objective + risk.weight * cvar
    m.total_cost.deactivate()
    m.two_stage_cost = pyo.Objective(expr=objective, sense=pyo.minimize)
    return m

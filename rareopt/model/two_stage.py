"""The two-stage (extensive-form) model: contracts first, recourse per disruption scenario.

The first stage is the deterministic model of :func:`rareopt.model.pyomo_view.build` unchanged: contracts
``buy[e, s, p]`` and the nominal stock path, with caps, targets and their costs. Each scenario w
adds its recourse: deliveries ``f[w, e, s, p] * buy`` (``f`` the delivered fraction), emergency
``spot[w, e, s, p]`` purchases from undisrupted supply, its own stock ``scenario_stock[w, e, p]``
(held to the stock targets as the nominal plan is, softly: ``scenario_shortfall[w, e, p]`` is stock
below target beyond the nominal plan's) and ``scenario_unmet[w, e, p]``, demand left unmet beyond
the nominal plan's. The recourse cost ``recourse[w]`` is what the scenario costs beyond the nominal
plan, and a delivery disruption never makes it negative. Symbols and the
non-anticipativity assumption: ``docs/formulation.md``.

One scenario's part can be built on its own (``only=[name]``), which is what a decomposition
engine such as mpi-sppy needs from a ``scenario_creator``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from rareopt.exceptions import NotSupportedError, PortfolioError, ValidationIssue
from rareopt.inputs.derived import scenario_replacement_prices
from rareopt.inputs.markets import contract_unit_prices
from rareopt.inputs.releases import delivered_shares, release_limits
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.inputs.stages import offer_stages
from rareopt.inputs.tables import ALL, row_keys
from rareopt.model.formulation import base_builder, ep_index, sticky_pairs
from rareopt.model.lp import Block, LinearProgram, triplets
from rareopt.model.risk import CVaR, Expectation, cvar_excess_costs

if TYPE_CHECKING:
    from rareopt.inputs.portfolio import Portfolio
    from rareopt.model.layout import ModelLayout

__all__ = [
    "unknown_offers_error",
    "assemble_two_stage",
    "scenario_layout",
    "SCENARIO_COLUMNS",
    "SCENARIO_ROWS",
    "ScenarioLayout",
    "delivered_fractions",
    "route_fractions",
    "least_fractions",
    "first_disruption",
    "fix_first_stage",
    "first_stage_columns",
    "fix_whole_first_stage",
    "recourse_cost_ranges",
    "start_at_first_disruption",
]


SCENARIO_COLUMNS = (
    "scenario_stock",
    "scenario_unmet",
    "scenario_shortfall",
    "spot",
    "restock",
    "scenario_unused",
    "scenario_response",
    "floor_breach",
    "cvar_level",
    "cvar_excess",
)
"""Column families the scenarios add to the base model (CVaR ones only with a CVaR weight)."""

SCENARIO_ROWS = (
    "spot_room",
    "scenario_balance",
    "scenario_target",
    "restock_gap",
    "scenario_unmet_room",
    "scenario_response_sticky",
    "scenario_take_or_pay",
    "release_cap",
    "release_floor",
    "cvar_excess_row",
)
"""Row families the scenarios add."""


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
    route_fractions : ndarray
        Delivered fraction of each route variable (a purchase converted by facilities), shape
        (scenarios, routes): its purchase's, times any disruption of a stage on the route.
    first_disrupted : ndarray
        The first period (position) a disruption cuts each element in each scenario
        (:func:`first_disruption`, scenarios x elements).
    spot : DataFrame
        One row per spot variable: scenario (position), buy (row of the layout's ``buy``),
        limit_t, unit_cost_usd_per_t.
    spot_premium, spot_share : float
        The emergency market's terms (the set's premium; ``spot_premiums`` per scenario).
    risk : Expectation or CVaR
        The risk measure in the objective.
    prices : ndarray or None
        USD paid per tonne bought of each purchase variable in each scenario under its contract
        terms (scenarios x purchases); None where no scenario moves a price (today's unit costs).
    spot_premiums : ndarray
        The spot premium of each scenario.
    floors : ndarray
        Floor price (USD/t) of each element in each scenario (scenarios x elements):
        :func:`~rareopt.inputs.derived.scenario_replacement_prices`.
    releases : DataFrame
        The (element, period) cells a stockpile release rule covers
        (:func:`~rareopt.inputs.releases.release_limits`), with ``ep``.
    delivered_shares : ndarray
        Each cell's share of deliveries in each scenario (scenarios x cells).
    emergency : ndarray
        Whether each cell is an emergency in each scenario: its delivered share below the rule's
        trigger (below 1 without one).
    """

    scenario_set: ScenarioSet | None
    names: list[str]
    probabilities: np.ndarray
    fractions: np.ndarray
    route_fractions: np.ndarray
    first_disrupted: np.ndarray
    spot: pd.DataFrame
    spot_premium: float
    spot_share: float
    risk: Expectation | CVaR
    prices: np.ndarray | None
    spot_premiums: np.ndarray
    floors: np.ndarray
    releases: pd.DataFrame
    delivered_shares: np.ndarray
    emergency: np.ndarray

    def paid(self, unit_cost: np.ndarray) -> np.ndarray:
        """USD per tonne bought of each purchase in each scenario (scenarios x purchases)."""
        if self.prices is None:
            return np.broadcast_to(unit_cost[None, :], self.fractions.shape)
        return self.prices


def delivered_fractions(
    portfolio: Portfolio,
    buy: pd.DataFrame,
    scenario_set: ScenarioSet,
    only: list[str] | None = None,
) -> np.ndarray:
    """Delivered fraction of each purchase variable in each scenario (1 = undisturbed).

    Several disruptions hitting the same offer in the same period multiply. With ``only`` (names),
    the rows of those scenarios alone, in that order (a scenario creator builds one at a time).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
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
    # Where each purchase passed each stage (None: not passed), for disruptions of a stage.
    origins = buy[["supplier", "element"]].merge(
        offer_stages(portfolio), on=["supplier", "element"], how="left"
    )
    by_name = {s.name: s for s in scenario_set.scenarios}
    chosen = scenario_set.scenarios if only is None else [by_name[n] for n in only]
    fractions = np.ones((len(chosen), len(buy)))
    for w, scenario in enumerate(chosen):
        for d in scenario.disruptions:
            if d.facility is not None:  # routes through it: see route_fractions
                continue
            if d.supplier is not None:
                mask = suppliers == d.supplier
            elif d.stage is not None:
                at = origins[d.stage].to_numpy(object)
                mask = (at == d.country) if d.country != ALL else pd.notna(at)
            elif d.country != ALL:
                mask = countries == d.country
            else:
                mask = np.ones(len(buy), dtype=bool)
            if d.elements != ALL:
                mask &= np.isin(elements, list(d.elements))
            for position, fraction in d.by_period(labels):
                fractions[w, mask & (period == position)] *= fraction
    return fractions


def route_fractions(
    layout: ModelLayout,
    scenario_set: ScenarioSet,
    fractions: np.ndarray,
    only: list[str] | None = None,
) -> np.ndarray:
    """Delivered fraction of each route variable in each scenario (scenarios x routes).

    A route inherits its purchase's fraction (``fractions``, from :func:`delivered_fractions`),
    times that of every disruption of a stage whose facility on the route is in the disrupted
    country (a stage disruption in China holds up Myanmar feed separated in China, not that
    separated in Japan) and of every disruption of a facility on the route.
    """
    route = layout.route
    out = fractions[:, route["buy"].to_numpy(np.int64)].copy()
    if not len(route):
        return out
    labels = layout.portfolio.period_labels
    n_fixed = len(layout.buy) + len(layout.concentrate)
    legs = layout.stage_supply[layout.stage_supply["pos"] >= n_fixed]
    leg_route = legs["pos"].to_numpy(np.int64) - n_fixed
    facility = legs["facility"].isin(layout.portfolio.facilities["facility"]).to_numpy()
    position = pd.Series(range(len(labels)), index=labels)
    # A facility's leg is hit in the period the tonnes reach it (not yet through it).
    reached = position[legs["reached"]].to_numpy()
    elements = route["element"].to_numpy(object)
    by_name = {s.name: s for s in scenario_set.scenarios}
    chosen = scenario_set.scenarios if only is None else [by_name[n] for n in only]
    for w, scenario in enumerate(chosen):
        for d in scenario.disruptions:
            if d.facility is not None:
                at_stage = legs["facility"].to_numpy(object) == d.facility
            elif d.stage is not None:
                at_stage = facility & (legs["stage"].to_numpy(object) == d.stage)
                if d.country != ALL:
                    at_stage &= legs["country"].to_numpy(object) == d.country
            else:
                continue
            # A route is cut once per disruption, at the fraction of the first period one of
            # its legs reaches a hit stage or facility in.
            done = np.zeros(len(route), dtype=bool)
            if d.elements != ALL:
                done |= ~np.isin(elements, list(d.elements))
            for position, fraction in d.by_period(labels):
                hit = np.zeros(len(route), dtype=bool)
                hit[leg_route[at_stage & (reached == position)]] = True
                hit &= ~done
                out[w, hit] *= fraction
                done |= hit
    return out


def least_fractions(
    layout: ModelLayout, fractions: np.ndarray, route_fractions: np.ndarray
) -> np.ndarray:
    """Per scenario and purchase, the least delivered fraction: its own or one of its routes'.

    Below 1 where a disruption cuts the purchase, directly or on a route (a stage or facility
    disruption); shape (scenarios, purchases).
    """
    least = fractions.copy()
    np.minimum.at(least.T, layout.route["buy"].to_numpy(np.int64), route_fractions.T)
    return least


def first_disruption(
    layout: ModelLayout, fractions: np.ndarray, route_fractions: np.ndarray
) -> np.ndarray:
    """Per scenario and element: the first period (position) a disruption cuts it.

    Shape (scenarios, elements), ``len(periods)`` where nothing of the element is cut. A
    disruption begins in the period a purchase it cuts (or a route of one) is bought in.
    """
    buy = layout.buy
    labels = layout.portfolio.period_labels
    started = least_fractions(layout, fractions, route_fractions)
    element = pd.Categorical(buy["element"], categories=layout.portfolio.elements).codes
    period = pd.Categorical(buy["period"], categories=labels).codes
    first = np.full((len(started), len(layout.portfolio.elements)), len(labels))
    w, b = np.nonzero(started < 1.0)
    np.minimum.at(first, (w, element[b]), period[b])
    return first


def _spot_rows(
    layout: ModelLayout,
    terms: pd.DataFrame,
    fractions: np.ndarray,
    first: np.ndarray,
    spot_share: float,
    premiums: np.ndarray,
    floors: np.ndarray,
    factors: np.ndarray | None,
) -> pd.DataFrame:
    """Spot variables: offers still delivering, from an element's first disrupted period on.

    Spot buying starts only once a scenario's disruption of that element has begun: before it the
    recourse could otherwise stock up on a disruption it cannot yet know about. A spot tonne costs
    (1 + the scenario's premium) x the offer's market price and freight (the market price: today's
    ``price_usd_per_t`` times the scenario's price factor), and never less than the element's floor
    price in the scenario (:func:`~rareopt.inputs.derived.scenario_replacement_prices`): a cheap
    supplier outside the caps must not make a disruption of a dear one pay.
    """
    buy = layout.buy
    columns = ["scenario", "buy", "limit_t", "unit_cost_usd_per_t"]
    if spot_share <= 0 or not len(buy):
        return pd.DataFrame(columns=columns)
    # A project sells nothing before it is built; its spot offers would not know that.
    projects = set(layout.portfolio.projects["supplier"])
    period = pd.Categorical(buy["period"], categories=layout.portfolio.period_labels).codes
    element = pd.Categorical(buy["element"], categories=layout.portfolio.elements).codes
    eligible = (period[None, :] >= first[:, element]) & (fractions > 0)
    eligible &= ~buy["supplier"].isin(projects).to_numpy()[None, :]
    # Feed that needs converting is no emergency supply: the spot market sells the demand's form.
    converted = np.zeros(len(buy), dtype=bool)
    converted[layout.route["buy"].to_numpy(np.int64)] = True
    eligible &= ~converted[None, :]
    scenario, row = np.nonzero(eligible)
    capacity = buy["capacity_t"].to_numpy()[row]
    factor = 1.0 if factors is None else factors[scenario, row]
    market = terms["price_usd_per_t"].to_numpy(float)[row] * factor
    market += terms["freight_usd_per_t"].to_numpy(float)[row]
    return pd.DataFrame(
        {
            "scenario": scenario,
            "buy": row,
            "limit_t": spot_share * fractions[scenario, row] * capacity,
            "unit_cost_usd_per_t": np.maximum(
                market * (1 + premiums[scenario]), floors[scenario, element[row]]
            ),
        }
    )


def unknown_offers_error(keys: list[tuple[Any, ...]]) -> PortfolioError:
    """The error naming plan keys (element, supplier, period) that have no purchase column."""
    return PortfolioError(
        [
            ValidationIssue(
                "plan",
                str(k),
                "element/supplier/period",
                k,
                "an offer with capacity in that period",
            )
            for k in keys[:20]
        ]
    )


def fix_first_stage(lp: LinearProgram, volumes: Mapping[tuple[Any, ...], float]) -> None:
    """Fix the LP's purchase columns at ``volumes`` (keys left out buy nothing), by their bounds.

    The arrays' counterpart of :func:`fix_contracts`, for a stress test without a Pyomo model.

    Raises
    ------
    PortfolioError
        Naming keys the LP has no purchase column for.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> from rareopt.model.formulation import assemble
    >>> lp = assemble(make_layout(load_example("tiny")))
    >>> fix_first_stage(lp, {("Nd", "CN-Mine", "P1"): 72.0})
    >>> sorted(set(lp.col_upper[lp.col_blocks["buy"].positions].tolist()))
    [0.0, 72.0]
    """
    block = lp.col_blocks["buy"]
    column = dict(zip(block.keys(), block.positions))
    unknown = [k for k in volumes if k not in column]
    if unknown:
        raise unknown_offers_error(unknown)
    value = np.array([float(volumes.get(k, 0.0)) for k in column])
    lp.col_lower[block.positions] = value
    lp.col_upper[block.positions] = value


def first_stage_columns(lp: LinearProgram) -> int:
    """How many columns the first stage has: a two-stage LP's first ones (all of a one-stage LP).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> from rareopt.model.formulation import assemble
    >>> layout = make_layout(load_example("tiny"))
    >>> s = ScenarioSet([{"name": "calm", "probability": 1.0}])
    >>> first_stage_columns(assemble_two_stage(layout, scenario_layout(layout, s))) == len(
    ...     assemble(layout).cost)
    True
    """
    starts = [
        int(block.positions[block.positions >= 0].min())
        for family, block in lp.col_blocks.items()
        if family in SCENARIO_COLUMNS and (block.positions >= 0).any()
    ]
    return min(starts) if starts else lp.matrix.shape[1]


def fix_whole_first_stage(lp: LinearProgram, values: np.ndarray) -> None:
    """Fix every first-stage column of a two-stage LP at ``values`` (purchases and nominal path).

    ``values`` is the first stage's solution, column by column (e.g. the one-stage LP's, whose
    columns are the two-stage LP's first ones). With the whole first stage fixed the scenarios
    share nothing and solve one by one (:mod:`rareopt.solving.scenario_blocks`).

    Raises
    ------
    ValueError
        When ``values`` does not have one value per first-stage column.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> layout = make_layout(load_example("tiny"))
    >>> s = ScenarioSet([{"name": "calm", "probability": 1.0}])
    >>> lp = assemble_two_stage(layout, scenario_layout(layout, s))
    >>> fix_whole_first_stage(lp, np.ones(first_stage_columns(lp)))
    >>> float(lp.col_upper[lp.col_blocks["stock"].positions].max())
    1.0
    """
    n = first_stage_columns(lp)
    values = np.asarray(values, dtype=float)
    if values.shape != (n,):
        raise ValueError(
            f"fix_whole_first_stage: got {values.shape[0] if values.ndim else 0} values; "
            f"the first stage has {n} columns"
        )
    lp.col_lower[:n] = values
    lp.col_upper[:n] = values


def conditional_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """Probabilities of a group of scenarios given that one of them occurs.

    A group of probability zero is weighted evenly, so that its model still has an objective.

    Examples
    --------
    >>> conditional_probabilities(np.array([0.1, 0.3])).round(6).tolist()
    [0.25, 0.75]
    >>> conditional_probabilities(np.array([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """
    probabilities = np.asarray(probabilities, dtype=float)
    total = probabilities.sum()
    if total > 0:
        return probabilities / total
    return np.full(len(probabilities), 1.0 / len(probabilities))


def scenario_layout(
    layout: ModelLayout,
    scenarios: ScenarioSet,
    risk: Expectation | CVaR | None = None,
    only: list[str] | None = None,
    fractions: np.ndarray | tuple[np.ndarray, np.ndarray] | None = None,
) -> ScenarioLayout:
    """The :class:`ScenarioLayout` of ``scenarios`` over a first stage's layout.

    Parameters are those of :func:`build_two_stage`.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> s = ScenarioSet([{"name": "calm", "probability": 1.0}])
    >>> scenario_layout(make_layout(load_example("tiny")), s).names
    ['calm']
    """
    portfolio = layout.portfolio
    risk = Expectation() if risk is None else risk
    if len(portfolio.concentrates):
        raise NotSupportedError(
            "scenarios with concentrates: not built yet (a disrupted concentrate would cut "
            "several elements at once); solve the scenarios without the concentrates table"
        )
    names, probabilities = scenarios.names, scenarios.probabilities
    if only is not None:
        position = {n: i for i, n in enumerate(names)}
        unknown = [n for n in only if n not in position]
        if unknown:
            raise ValueError(f"only: unknown scenario(s) {unknown}; allowed: {names}")
        keep = [position[n] for n in only]
        names, probabilities = list(only), conditional_probabilities(probabilities[keep])
        if isinstance(fractions, tuple):
            fractions = (fractions[0][keep], fractions[1][keep])
        elif fractions is not None:
            fractions = fractions[keep]
    if fractions is None:
        fractions = delivered_fractions(portfolio, layout.buy, scenarios, only)
        routed = route_fractions(layout, scenarios, fractions, only)
    elif isinstance(fractions, tuple):
        fractions, routed = fractions
    else:
        routed = fractions[:, layout.route["buy"].to_numpy(np.int64)]
    # A route held up counts for when the element's disruption starts (spot buying opens).
    first = first_disruption(layout, fractions, routed)
    factors = prices = None
    terms = layout.buy_terms
    if scenarios.moves_prices():
        factors = scenarios.price_factors(portfolio, layout.buy, only)
        prices = contract_unit_prices(terms, factors)
    premiums = scenarios.spot_premiums(only)
    floors = scenario_replacement_prices(portfolio, scenarios, only)
    releases = release_limits(portfolio)
    releases["ep"] = ep_index(layout, releases)
    # A purchase cut on any of its routes counts as cut, in the period its tonnes arrive.
    shares = (
        delivered_shares(
            portfolio, layout.buy, least_fractions(layout, fractions, routed), releases
        )
        if len(releases)
        else np.ones((len(fractions), 0))
    )
    trigger = releases["trigger_share"].fillna(1.0).to_numpy(float)
    return ScenarioLayout(
        scenario_set=scenarios,
        names=list(names),
        probabilities=np.asarray(probabilities, dtype=float),
        fractions=fractions,
        route_fractions=routed,
        first_disrupted=first,
        spot=_spot_rows(
            layout, terms, fractions, first, scenarios.spot_share, premiums, floors, factors
        ),
        spot_premium=scenarios.spot_premium,
        spot_share=scenarios.spot_share,
        risk=risk,
        prices=prices,
        spot_premiums=premiums,
        floors=floors,
        releases=releases,
        delivered_shares=shares,
        emergency=shares < trigger[None, :] * (1 - 1e-12),
    )


def _per_scenario(
    scenario: np.ndarray,
    table: pd.DataFrame,
    columns: tuple[str, ...],
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """A family's keys: scenario, then ``table``'s ``columns``, for (scenario, row) ``pairs``.

    Without ``pairs``, every row of ``table`` in every scenario, scenario-major.
    """
    if pairs is None:
        n = len(table)
        pairs = (np.repeat(np.arange(len(scenario)), n), np.tile(np.arange(n), len(scenario)))
    w, i = pairs
    keys = {c: table[c].to_numpy(object)[i] for c in columns}
    return pd.DataFrame({"scenario": scenario[w], **keys})


def assemble_two_stage(layout: ModelLayout, slayout: ScenarioLayout) -> LinearProgram:
    """The extensive form as HiGHS's arrays: the base model's, then every scenario's families.

    Returns
    -------
    LinearProgram
        Column families beyond the base model's: ``scenario_stock``, ``scenario_unmet``
        (scenario, element, period), ``scenario_shortfall`` (scenario, element, period with a
        stock target), ``spot`` (scenario, element, supplier, period), ``restock`` (scenario,
        element), with CVaR ``cvar_level`` and ``cvar_excess`` (scenario); row families
        ``spot_room``, ``scenario_balance``, ``scenario_target``, ``restock_gap``,
        ``scenario_unmet_room`` and with CVaR ``cvar_excess_row``. ``cost_terms`` are the
        first stage's; ``recourse`` the recourse cost (USD) per scenario as a linear function of
        the columns (a CSR matrix, one row per scenario).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> s = ScenarioSet([{"name": "calm", "probability": 0.9},
    ...                  {"name": "cut", "probability": 0.1,
    ...                   "disruptions": [{"country": "CN", "start": 2, "duration": 1}]}])
    >>> layout = make_layout(load_example("tiny"))
    >>> lp = assemble_two_stage(layout, scenario_layout(layout, s))
    >>> lp.recourse.shape[0], len(lp.row_blocks["scenario_balance"].positions)
    (2, 12)
    """
    portfolio, buy, ep = layout.portfolio, layout.buy, layout.element_period
    b, terms = base_builder(layout)
    base = dict(b.start)
    names, f, spot = slayout.names, slayout.fractions, slayout.spot
    n_w, n_ep, n_spot = len(names), len(ep), len(spot)
    scenario = np.asarray(names, dtype=object)
    elements, periods = ep["element"].to_numpy(object), ep["period"].to_numpy(object)

    w_ep = pd.DataFrame(
        {
            "scenario": np.repeat(scenario, n_ep),
            "element": np.tile(elements, n_w),
            "period": np.tile(periods, n_w),
        }
    )
    wep_key = ("scenario", "element", "period")
    stock_cap = np.tile(ep["stock_capacity_t"].to_numpy(float), n_w)
    level = b.columns("scenario_stock", w_ep, wep_key, 0.0, stock_cap)
    demand = np.tile(ep["demand_t"].to_numpy(float), n_w)
    # Demand goes unmet beyond the nominal plan's only from the element's first disrupted
    # period on: before it the scenario cannot know what is coming, and shorting demand early to
    # hoard stock for the event would anticipate it (as spot buying would; see _spot_rows).
    first = slayout.first_disrupted
    ep_element = pd.Categorical(ep["element"], categories=portfolio.elements).codes
    ep_period = pd.Categorical(ep["period"], categories=portfolio.period_labels).codes
    known = ep_period[None, :] >= first[:, ep_element]
    short = b.columns("scenario_unmet", w_ep, wep_key, 0.0, np.where(known.ravel(), demand, 0.0))
    targets = layout.stock_targets
    n_t = len(targets)
    w_target = _per_scenario(scenario, targets, ("element", "period"))
    target_t = np.tile(targets["target_t"].to_numpy(float), n_w)
    below = b.columns("scenario_shortfall", w_target, wep_key, 0.0, target_t)
    sw, sb = spot["scenario"].to_numpy(np.int64), spot["buy"].to_numpy(np.int64)
    spot_frame = _per_scenario(scenario, buy, ("element", "supplier", "period"), (sw, sb))
    spot_key = ("scenario", "element", "supplier", "period")
    spot_col = b.columns("spot", spot_frame, spot_key, 0.0, spot["limit_t"].to_numpy(float))
    last = np.flatnonzero(periods == portfolio.period_labels[-1])
    n_last = len(last)
    restock_frame = pd.DataFrame(
        {"scenario": np.repeat(scenario, n_last), "element": np.tile(elements[last], n_w)}
    )
    restock = b.columns("restock", restock_frame, ("scenario", "element"), 0.0, np.inf)
    # A take-or-pay minimum is paid in every scenario whether delivered or not.
    top = layout.take_or_pay
    n_top = len(top)
    top_buy = top["buy"].to_numpy(np.int64)
    top_frame = _per_scenario(scenario, top, ("element", "supplier", "period"))
    top_key = ("scenario", "element", "supplier", "period")
    unused = b.columns("scenario_unused", top_frame, top_key, 0.0, np.inf)
    top_w = np.repeat(np.arange(n_w), n_top)
    top_b = np.tile(top_buy, n_w)
    # Demand response decided in a scenario: from the element's first disrupted period plus its
    # lead time (it cannot anticipate the disruption).
    later = layout.recourse_response
    later_element = pd.Categorical(later["element"], categories=portfolio.elements).codes
    later_period = pd.Categorical(later["period"], categories=portfolio.period_labels).codes
    opens = first[:, later_element] + later["lead_periods"].to_numpy(float)[None, :]
    resp_w, resp_i = np.nonzero(later_period[None, :] >= opens)
    resp_frame = _per_scenario(scenario, later, ("element", "response", "period"), (resp_w, resp_i))
    resp_key = ("scenario", "element", "response", "period")
    resp_col = b.columns(
        "scenario_response", resp_frame, resp_key, 0.0, later["limit_t"].to_numpy(float)[resp_i]
    )
    n_resp = len(resp_frame)
    resp_ep = later["ep"].to_numpy(np.int64)[resp_i]
    # Stockpile release rules: outside an emergency the stock keeps its floor, or pays for
    # each tonne below it as for unmet demand.
    rel = slayout.releases
    rel_ep = rel["ep"].to_numpy(np.int64)
    floor_t = rel["floor_t"].to_numpy(float)
    calm_w_rel, calm_l = np.nonzero(~slayout.emergency & (floor_t[None, :] > 0))
    breach_frame = _per_scenario(scenario, rel, ("element", "period"), (calm_w_rel, calm_l))
    breach = b.columns("floor_breach", breach_frame, wep_key, 0.0, floor_t[calm_l])
    n_breach = len(breach_frame)

    # Recourse per scenario: undelivered contracts not paid for; every way of making up for
    # them (spot purchases, extra unmet demand, stock missing at the end against the nominal
    # plan) at no less than the element's floor price, the dearest contract's unit cost, so that
    # a delivery disruption never pays; and stock below target beyond the nominal plan's at the
    # target penalty. A surplus at the end earns nothing (crediting it would let a scenario store
    # spot purchases or unmet demand to sell later), and holding is the plan's (storage is booked
    # for the nominal path; drawing it down in an emergency saves nothing).
    # A purchase converted by facilities is cut (and refunded) route by route.
    route_buy = layout.route["buy"].to_numpy(np.int64)
    converted = np.zeros(len(buy), dtype=bool)
    converted[route_buy] = True
    g = slayout.route_fractions
    cut_w, cut_b = np.nonzero((f < 1.0) & ~converted[None, :])
    cut_gw, cut_gr = np.nonzero(g < 1.0)
    unit_cost = buy["unit_cost_usd_per_t"].to_numpy(float)
    # Each tonne delivered is paid at the scenario's contract price, what is not delivered not
    # at all; the first stage paid today's price for every tonne bought.
    paid = slayout.paid(unit_cost)
    moved = paid != unit_cost[None, :]
    pay_w, pay_b = np.nonzero(((f < 1.0) | moved) & ~converted[None, :])
    pay_gw, pay_gr = np.nonzero((g < 1.0) | moved[:, route_buy])
    every_w = np.repeat(np.arange(n_w), n_ep)
    every_i = np.tile(np.arange(n_ep), n_w)
    row_of = np.arange(n_w * n_ep)
    floor = slayout.floors[:, ep_element]  # scenarios x element-periods
    unmet_cost = np.maximum(portfolio.policy.shortage_penalty_usd_per_t, floor)
    target_penalty = ep["shortfall_penalty_usd_per_t"].to_numpy(float)[targets["ep"].to_numpy()]
    rw, rc, rv = triplets(
        (pay_w, base["buy"] + pay_b, paid[pay_w, pay_b] * f[pay_w, pay_b] - unit_cost[pay_b]),
        (
            pay_gw,
            base["route"] + pay_gr,
            paid[pay_gw, route_buy[pay_gr]] * g[pay_gw, pay_gr] - unit_cost[route_buy[pay_gr]],
        ),
        (sw, spot_col + np.arange(n_spot), spot["unit_cost_usd_per_t"].to_numpy(float)),
        (every_w, short + row_of, unmet_cost.ravel()),
        (
            np.repeat(np.arange(n_w), n_t),
            below + np.arange(n_w * n_t),
            np.tile(target_penalty, n_w),
        ),
        (
            np.repeat(np.arange(n_w), n_last),
            restock + np.arange(n_w * n_last),
            floor[:, last].ravel(),
        ),
        (top_w, unused + np.arange(n_w * n_top), paid[top_w, top_b]),
        # At least the floor price a tonne, as every other way of making up for a tonne a
        # disruption takes: a cheap emergency substitute must not make a disruption pay.
        (
            resp_w,
            resp_col + np.arange(n_resp),
            np.maximum(
                later["cost_usd_per_t"].to_numpy(float)[resp_i],
                slayout.floors[resp_w, later_element[resp_i]],
            ),
        ),
        (calm_w_rel, breach + np.arange(n_breach), unmet_cost[calm_w_rel, rel_ep[calm_l]]),
        (top_w, base["unused"] + np.tile(np.arange(n_top), n_w), -unit_cost[top_b]),
    )
    weight, p = slayout.risk.weight, slayout.probabilities
    one_per_scenario = pd.DataFrame({"scenario": scenario})
    if weight > 0:
        # The level in units of ``level_unit_usd`` (1 USD unless bounded): t = unit x column.
        lowest, highest = getattr(slayout.risk, "level_bounds", None) or (-np.inf, np.inf)
        unit = getattr(slayout.risk, "level_unit_usd", 1.0)
        eta = b.columns(
            "cvar_level", pd.DataFrame(index=[0]), (), lowest / unit, highest / unit, weight * unit
        )
        excess = b.columns(
            "cvar_excess",
            one_per_scenario,
            ("scenario",),
            0.0,
            np.inf,
            cvar_excess_costs(slayout.risk, p),
        )

    b.rows(
        "spot_room",
        spot_frame,
        spot_key,
        -np.inf,
        f[sw, sb] * buy["capacity_t"].to_numpy(float)[sb],
        (np.arange(n_spot), base["buy"] + sb, f[sw, sb]),
        (np.arange(n_spot), spot_col + np.arange(n_spot), 1.0),
    )
    # Where nothing of an element is disrupted in a period, the scenario receives the first
    # stage's total purchases X (one term) rather than every contract's delivery. A purchase
    # converted by facilities delivers through its routes: f x (its routes' yields) each.
    # Deliveries count where they arrive (a purchase's lead time later).
    buy_ep = ep_index(layout, buy[["element", "arrival"]].rename(columns={"arrival": "period"}))
    route_ep = ep_index(
        layout, layout.route[["element", "arrival"]].rename(columns={"arrival": "period"})
    )
    hit = np.zeros((n_w, n_ep), dtype=bool)
    hit[cut_w, buy_ep[cut_b]] = True
    hit[cut_gw, route_ep[cut_gr]] = True
    dw, db = np.nonzero(hit[:, buy_ep] & ~converted[None, :])
    route_w, route_r = np.nonzero(hit[:, route_ep])
    route_yield = layout.route["yield"].to_numpy(float)
    calm_w, calm_i = np.nonzero(~hit)
    carried = np.flatnonzero(np.tile(periods != portfolio.period_labels[0], n_w))
    rhs = np.tile(
        ep[["demand_t", "initial_t", "arriving_t"]].to_numpy(float) @ np.array([1.0, -1.0, -1.0]),
        n_w,
    )
    plan_resp_ep = layout.response["ep"].to_numpy(np.int64)
    n_plan_resp = len(plan_resp_ep)
    b.rows(
        "scenario_balance",
        w_ep,
        wep_key,
        rhs,
        rhs,
        (dw * n_ep + buy_ep[db], base["buy"] + db, f[dw, db]),
        (
            route_w * n_ep + route_ep[route_r],
            base["route"] + route_r,
            g[route_w, route_r] * route_yield[route_r],
        ),
        (calm_w * n_ep + calm_i, base["bought"] + calm_i, 1.0),
        (sw * n_ep + buy_ep[sb], spot_col + np.arange(n_spot), 1.0),
        (row_of, base["unmet"] + every_i, 1.0),
        (row_of, short + row_of, 1.0),
        (row_of, level + row_of, -1.0),
        (carried, level + carried - 1, 1.0),
        # The plan's demand response acts in every scenario; the scenario's own from its start.
        (
            np.repeat(np.arange(n_w), n_plan_resp) * n_ep + np.tile(plan_resp_ep, n_w),
            base["response"] + np.tile(np.arange(n_plan_resp), n_w),
            1.0,
        ),
        (resp_w * n_ep + resp_ep, resp_col + np.arange(n_resp), 1.0),
    )
    # The stock targets hold in every scenario as in the nominal plan, soft (an emergency may
    # draw the stockpile below target, at the target penalty for what it adds to the nominal
    # shortfall): h[w] + v + v[w] >= T. The last period's target is the terminal condition.
    at = np.tile(targets["ep"].to_numpy(), n_w)
    one_target = np.arange(n_w * n_t)
    b.rows(
        "scenario_target",
        w_target,
        wep_key,
        target_t,
        np.inf,
        (one_target, level + np.repeat(np.arange(n_w) * n_ep, n_t) + at, 1.0),
        (one_target, base["shortfall"] + at, 1.0),
        (one_target, below + one_target, 1.0),
    )
    gap = np.arange(n_w * n_last)
    b.rows(
        "restock_gap",
        restock_frame,
        ("scenario", "element"),
        0.0,
        np.inf,
        (gap, restock + gap, 1.0),
        (gap, level + np.repeat(np.arange(n_w) * n_ep, n_last) + np.tile(last, n_w), 1.0),
        (gap, base["stock"] + np.tile(last, n_w), -1.0),
    )
    # Unmet demand in a scenario, nominal plus extra, and demand cut are at most the demand.
    plan_cut = np.flatnonzero(layout.response["cut"].to_numpy(bool))
    resp_cut = np.flatnonzero(later["cut"].to_numpy(bool)[resp_i])
    b.rows(
        "scenario_unmet_room",
        w_ep,
        wep_key,
        -np.inf,
        demand,
        (row_of, base["unmet"] + every_i, 1.0),
        (row_of, short + row_of, 1.0),
        (
            np.repeat(np.arange(n_w), len(plan_cut)) * n_ep + np.tile(plan_resp_ep[plan_cut], n_w),
            base["response"] + np.tile(plan_cut, n_w),
            1.0,
        ),
        (resp_w[resp_cut] * n_ep + resp_ep[resp_cut], resp_col + resp_cut, 1.0),
    )
    # A sticky response in a scenario keeps its share of demand (or its tonnes) once made.
    pairs, now, before, d_now, d_before = sticky_pairs(
        later.iloc[resp_i].assign(scenario=resp_w).reset_index(drop=True), ep, by="scenario"
    )
    b.rows(
        "scenario_response_sticky",
        resp_frame.iloc[now],
        resp_key,
        0.0,
        np.inf,
        (pairs, resp_col + now, d_before),
        (pairs, resp_col + before, -d_now),
    )
    b.rows(
        "scenario_take_or_pay",
        top_frame,
        top_key,
        np.tile(top["minimum_t"].to_numpy(float), n_w),
        np.inf,
        (np.arange(n_w * n_top), base["buy"] + top_b, f[top_w, top_b]),
        (np.arange(n_w * n_top), unused + np.arange(n_w * n_top), 1.0),
    )
    # Release beyond the plan's own draw: (h_w[p-1] - h_w[p]) - (h[p-1] - h[p]) <= R in an
    # emergency, <= 0 outside one when the rule has a trigger.
    limit = rel["max_release_t"].to_numpy(float)
    has_trigger = rel["trigger_share"].notna().to_numpy()
    bound = np.where(slayout.emergency, limit[None, :], np.where(has_trigger, 0.0, limit)[None, :])
    cap_w, cap_l = np.nonzero(np.isfinite(bound))
    cap_ep = rel_ep[cap_l]
    cap_frame = _per_scenario(scenario, rel, ("element", "period"), (cap_w, cap_l))
    n_cap = len(cap_frame)
    later_than_first = periods[cap_ep] != portfolio.period_labels[0]
    before = np.flatnonzero(later_than_first)
    b.rows(
        "release_cap",
        cap_frame,
        wep_key,
        -np.inf,
        bound[cap_w, cap_l],
        (np.arange(n_cap), level + cap_w * n_ep + cap_ep, -1.0),
        (before, level + cap_w[before] * n_ep + cap_ep[before] - 1, 1.0),
        (np.arange(n_cap), base["stock"] + cap_ep, 1.0),
        (before, base["stock"] + cap_ep[before] - 1, -1.0),
    )
    b.rows(
        "release_floor",
        breach_frame,
        wep_key,
        floor_t[calm_l],
        np.inf,
        (np.arange(n_breach), level + calm_w_rel * n_ep + rel_ep[calm_l], 1.0),
        (np.arange(n_breach), breach + np.arange(n_breach), 1.0),
    )
    if weight > 0:
        b.rows(
            "cvar_excess_row",
            one_per_scenario,
            ("scenario",),
            0.0,
            np.inf,
            (np.arange(n_w), excess + np.arange(n_w), 1.0),
            (np.arange(n_w), eta, unit),
            (rw, rc, -rv),
        )
    recourse = sp.csr_matrix((rv, (rw, rc)), shape=(n_w, b.n_cols))
    recourse.sum_duplicates()
    lp = b.build(terms)
    lp.cost = lp.cost + np.asarray(recourse.T @ p).ravel()
    lp.recourse = recourse
    return lp


def _before_first_disruption(
    block: Block, layout: ModelLayout, slayout: ScenarioLayout
) -> np.ndarray:
    """Whether each member of a (scenario, element[, period]) family precedes the disruption.

    That is, comes before its scenario's first disruption of its element; without a period,
    whether the scenario never cuts the element.
    """
    portfolio, frame = layout.portfolio, block.frame
    w = frame["scenario"].map({n: i for i, n in enumerate(slayout.names)}).to_numpy(np.int64)
    e = pd.Categorical(frame["element"], categories=portfolio.elements).codes
    last = len(portfolio.period_labels) - 1
    p = (
        pd.Categorical(frame["period"], categories=portfolio.period_labels).codes
        if "period" in block.key
        else np.full(len(frame), last)
    )
    return p < slayout.first_disrupted[w, e]


def _row_signatures(
    matrix: sp.csr_matrix, lower: np.ndarray, upper: np.ndarray, rows: np.ndarray
) -> list[tuple[bytes, bytes, float, float]]:
    """Rows ``rows`` of a CSR matrix (sorted indices): (columns, coefficients, bounds)."""
    start, end = matrix.indptr[rows], matrix.indptr[rows + 1]
    return [
        (matrix.indices[a:b].tobytes(), matrix.data[a:b].tobytes(), float(lo), float(hi))
        for a, b, lo, hi in zip(start, end, lower[rows], upper[rows])
    ]


def _implied_by_bounds(
    matrix: sp.csr_matrix,
    lower: np.ndarray,
    upper: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
) -> np.ndarray:
    """Rows that every point within the columns' bounds satisfies (their activity's range)."""
    coo = matrix.tocoo()
    at_low, at_high = coo.data * col_lower[coo.col], coo.data * col_upper[coo.col]
    least = np.bincount(coo.row, np.minimum(at_low, at_high), minlength=matrix.shape[0])
    most = np.bincount(coo.row, np.maximum(at_low, at_high), minlength=matrix.shape[0])
    with np.errstate(invalid="ignore"):
        return (least >= lower - 1e-9) & (most <= upper + 1e-9)


def _remap_blocks(blocks: dict[str, Block], where: np.ndarray) -> dict[str, Block]:
    """Families over a reduced LP: ``where`` maps old positions to new, -1 for members gone."""
    out = {}
    for name, block in blocks.items():
        pos = where[block.positions]
        present = pos >= 0
        out[name] = Block(block.frame[present].reset_index(drop=True), block.key, pos[present])
    return out


def start_at_first_disruption(
    lp: LinearProgram, layout: ModelLayout, slayout: ScenarioLayout
) -> LinearProgram:
    """The two-stage LP with each scenario written from its first disruption of each element on.

    Before scenario w's first disruption of element e nothing differs from the nominal plan: its
    balance rows are the nominal ones (no cut delivery arrives, no spot market is open, extra
    unmet demand is held at 0), so its stock ``scenario_stock[w, e, p]`` equals the nominal
    ``stock[e, p]``. Here those columns are replaced by the nominal ones; the extra unmet demand
    and the extra stock shortfall before the disruption, and the restock of an element the
    scenario never cuts, are left out at 0; and the rows that then repeat a nominal row or hold
    whatever the columns' bounds (the scenario's balance, target, unmet-room and release rows
    before the disruption, the restock row of an uncut element) are dropped. Each row dropped
    is checked to be one of those; a scenario and element whose rows are not are kept whole.

    Every first stage keeps each scenario's least recourse cost, so the optimum, the first-stage
    optima and a decomposition's bounds are unchanged, with fewer columns and rows: on
    ``medium`` single-disruption samples, about 30% fewer scenario columns and rows. The
    families keep only the members left; ``parameters`` are not carried (no sweep edits this
    LP).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> s = ScenarioSet([{"name": "cut", "probability": 1.0,
    ...                   "disruptions": [{"country": "CN", "start": 2, "duration": 1}]}])
    >>> layout = make_layout(load_example("tiny"))
    >>> slayout = scenario_layout(layout, s)
    >>> lp = assemble_two_stage(layout, slayout)
    >>> small = start_at_first_disruption(lp, layout, slayout)
    >>> len(lp.row_blocks["scenario_balance"].positions), len(small.row_blocks["scenario_balance"].positions)
    (6, 4)
    """
    n_cols = len(lp.cost)
    cols, rows = lp.col_blocks, lp.row_blocks
    if any((block.positions < 0).any() for block in (*cols.values(), *rows.values())):
        raise ValueError(
            "start_at_first_disruption: every family member must be in the LP, as in "
            "assemble_two_stage's; this LP was compiled with members left out"
        )
    stock = cols["stock"]
    nominal_stock = dict(zip(stock.keys(), stock.positions))

    def reduce(skip: set[tuple[str, str]]) -> tuple[LinearProgram, set[tuple[str, str]]]:
        def early(name: str, blocks: dict[str, Block]) -> tuple[Block, np.ndarray]:
            block = blocks[name]
            mask = _before_first_disruption(block, layout, slayout)
            if skip:
                pairs = zip(block.frame["scenario"].tolist(), block.frame["element"].tolist())
                mask &= np.fromiter((pair not in skip for pair in pairs), bool, len(mask))
            return block, mask

        target = np.arange(n_cols)
        level, merged = early("scenario_stock", cols)
        keys = row_keys(level.frame[merged], "element", "period")
        target[level.positions[merged]] = [nominal_stock[k] for k in keys]
        failed: set[tuple[str, str]] = set()
        dropped = []
        for name in ("scenario_unmet", "scenario_shortfall", "restock"):
            block, drop = early(name, cols)
            at = block.positions[drop]
            target[at] = -1
            # Left out at 0: at its lower bound, costing nothing below 0 in the objective or
            # the recourse, and held at 0 by its bounds (unmet) or helping only rows that are
            # dropped below (checked there) and the CVaR rows, which 0 loosens.
            fine = (lp.col_lower[at] == 0) & (lp.cost[at] >= 0)
            if lp.recourse is not None:
                fine &= lp.recourse[:, at].min(axis=0).toarray().ravel() >= 0
            if name == "scenario_unmet":
                fine &= lp.col_upper[at] == 0
            bad = block.frame[drop][~fine]
            failed |= set(zip(bad["scenario"].tolist(), bad["element"].tolist()))
            if name != "scenario_unmet":  # fixed at 0 by its bounds: out of any row
                dropped.append((block, drop, at))
        kept = target == np.arange(n_cols)
        new = np.cumsum(kept) - 1
        mapped = target >= 0
        select = sp.csc_matrix(
            (np.ones(mapped.sum()), (np.flatnonzero(mapped), new[target[mapped]])),
            shape=(n_cols, int(kept.sum())),
        )
        matrix = (lp.matrix @ select).tocsr()
        matrix.eliminate_zeros()
        matrix.sort_indices()
        col_lower = np.full(select.shape[1], -np.inf)
        col_upper = np.full(select.shape[1], np.inf)
        np.maximum.at(col_lower, new[target[mapped]], lp.col_lower[mapped])
        np.minimum.at(col_upper, new[target[mapped]], lp.col_upper[mapped])
        # Dropped rows: the scenario's nominal copies, and rows its bounds already hold.
        candidates = np.zeros(len(lp.row_lower), dtype=bool)
        nominal = {
            signature
            for name in ("balance", "stock_target", "demand_room")
            if name in rows
            for signature in _row_signatures(
                matrix, lp.row_lower, lp.row_upper, rows[name].positions
            )
        }
        implied = _implied_by_bounds(matrix, lp.row_lower, lp.row_upper, col_lower, col_upper)
        for name in (
            "scenario_balance",
            "scenario_target",
            "scenario_unmet_room",
            "restock_gap",
            "release_cap",
        ):
            block, early_rows = early(name, rows)
            where = block.positions[early_rows]
            candidates[where] = True
            signatures = _row_signatures(matrix, lp.row_lower, lp.row_upper, where)
            ok = np.fromiter((sig in nominal for sig in signatures), bool, len(where))
            # A balance row must be the nominal one: that is what makes the stock the nominal.
            if name != "scenario_balance":
                ok |= implied[where]
            bad = block.frame[early_rows][~ok]
            failed |= set(zip(bad["scenario"].tolist(), bad["element"].tolist()))
        keep_rows = ~candidates
        # A column left out at 0 that its bounds do not fix there may appear only in inequality
        # rows dropped (which hold without it: a nominal copy, or implied by bounds), or with a
        # coefficient <= 0 in a CVaR row (e + t - R >= 0: less recourse only loosens it); never
        # in an equality.
        loose = np.zeros(len(lp.row_lower), dtype=bool)
        if "cvar_excess_row" in rows:
            loose[rows["cvar_excess_row"].positions] = True
        equality = lp.row_lower == lp.row_upper
        csc = lp.matrix.tocsc()
        for block, drop, at in dropped:
            part = csc[:, at].tocoo()
            binding = keep_rows[part.row] & ~(loose[part.row] & (part.data <= 0))
            binding |= equality[part.row]
            members = np.flatnonzero(drop)[np.unique(part.col[binding])]
            bad = block.frame.iloc[members]
            failed |= set(zip(bad["scenario"].tolist(), bad["element"].tolist()))
        matrix = matrix[np.flatnonzero(keep_rows)].tocsc()
        recourse = None
        if lp.recourse is not None:
            recourse = (lp.recourse @ select).tocsr()
            recourse.eliminate_zeros()
        col_map = np.where(kept, new, -1)
        row_map = np.cumsum(keep_rows) - 1
        row_map[~keep_rows] = -1

        reduced = LinearProgram(
            cost=select.T @ lp.cost,
            offset=lp.offset,
            matrix=matrix,
            col_lower=col_lower,
            col_upper=col_upper,
            row_lower=lp.row_lower[keep_rows],
            row_upper=lp.row_upper[keep_rows],
            integrality=lp.integrality[kept],
            col_blocks=_remap_blocks(cols, col_map),
            row_blocks=_remap_blocks(rows, row_map),
            cost_terms=(
                None
                if lp.cost_terms is None
                else {k: select.T @ v for k, v in lp.cost_terms.items()}
            ),
            cost_offsets=lp.cost_offsets,
            recourse=recourse,
        )
        return reduced, failed

    reduced, failed = reduce(set())
    if failed:
        reduced, again = reduce(failed)
        if again:
            raise RuntimeError(
                f"start_at_first_disruption: rows not redundant for {sorted(again)[:3]}"
            )
    return reduced


def recourse_cost_ranges(layout: ModelLayout, lp: LinearProgram) -> np.ndarray:
    """Each scenario's recourse cost (USD) at an optimum lies in [low, high]: rows (low, high).

    The recourse cost is linear in the columns, ``r_w = R_w z``; at an optimum each column lies
    within its bounds, so ``r_w`` lies within the sum of ``min`` (and ``max``) of ``R_wj l_j``
    and ``R_wj u_j``. Two families have no finite upper bound of their own and get one that
    holds at an optimum: a route's tonnes are part of its purchase's (at most the offer's
    capacity), and a restock column, costed at the floor price, is what the scenario's stock
    ends below the nominal plan's, at most the element's stock capacity. A range is infinite
    where a column with a recourse cost has no such bound.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> layout = make_layout(load_example("tiny"))
    >>> s = ScenarioSet([{"name": "cut", "probability": 1,
    ...                   "disruptions": [{"country": "CN", "start": 2}]}])
    >>> low, high = recourse_cost_ranges(layout, assemble_two_stage(layout, scenario_layout(layout, s)))[0]
    >>> bool(low < 0 < high)
    True
    """
    upper = lp.col_upper.copy()
    route = layout.route
    if len(route):
        positions = lp.col_blocks["route"].positions
        capacity = layout.buy["capacity_t"].to_numpy(float)[route["buy"].to_numpy(np.int64)]
        upper[positions] = np.minimum(upper[positions], capacity)
    restock = lp.col_blocks["restock"]
    if len(restock.frame):
        ep = layout.element_period
        last = ep[ep["period"] == layout.portfolio.period_labels[-1]]
        room = dict(zip(last["element"], last["stock_capacity_t"].to_numpy(float)))
        cap = restock.frame["element"].map(room).to_numpy(float)
        upper[restock.positions] = np.minimum(upper[restock.positions], cap)
    recourse = cast(sp.csr_matrix, lp.recourse).tocoo()
    with np.errstate(invalid="ignore"):  # 0 x inf does not arise: stored entries are nonzero
        at_lower = recourse.data * lp.col_lower[recourse.col]
        at_upper = recourse.data * upper[recourse.col]
    n_w = recourse.shape[0]
    low = np.bincount(recourse.row, np.minimum(at_lower, at_upper), minlength=n_w)
    high = np.bincount(recourse.row, np.maximum(at_lower, at_upper), minlength=n_w)
    return np.column_stack([low, high])

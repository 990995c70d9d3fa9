"""Stress tests of a fixed plan, and what hedging is worth (EVPI and VSS).

:func:`stress_test` keeps a plan's contracts and re-optimises only the recourse in each scenario
(spot purchases, stock draws, unmet demand). :func:`value_of_stochastic_solution` compares the
two-stage optimum (RP) with the wait-and-see bound (WS) and with the expected-value plan evaluated
on the scenarios (EEV): EVPI = RP - WS, VSS = EEV - RP, both >= 0.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import PriceShock, Scenario, ScenarioSet
from rareopt.model.layout import make_layout
from rareopt.model.risk import Expectation
from rareopt.model.two_stage import delivered_fractions, route_fractions
from rareopt.progress import Stages
from rareopt.results.outcomes import ScenarioOutcome
from rareopt.results.result import Result
from rareopt.results.solve import solve_in_stages, solve_prepared
from rareopt.solving.highs import SolveOptions
from rareopt.solving.pipeline import prepare, prepare_fixed

__all__ = ["stress_test", "value_of_stochastic_solution", "plan_volumes"]


def plan_volumes(plan: pd.DataFrame) -> dict:
    """A plan table's volume per (element, supplier, period): the purchases to fix.

    Examples
    --------
    >>> import rareopt
    >>> volumes = plan_volumes(rareopt.solve(rareopt.load_example("tiny")).plan)
    >>> volumes[("Nd", "CN-Mine", "P1")]
    72.0
    """
    return plan.reset_index().set_index(["element", "supplier", "period"])["volume_t"].to_dict()


def stress_test(
    plan: Result | pd.DataFrame,
    scenarios: ScenarioSet,
    portfolio: Portfolio | None = None,
    alpha: float = 0.95,
    **options,
) -> ScenarioOutcome:
    """Evaluate a fixed plan on scenarios: only the recourse is optimised.

    Parameters
    ----------
    plan : Result or DataFrame
        A result with a plan, or a plan table (element, supplier, period, volume_t; rows left out
        buy nothing).
    scenarios : ScenarioSet
        The scenarios.
    portfolio : Portfolio, optional
        Needed with a plan table; a result carries its own.
    alpha : float
        Level of the VaR and CVaR reported.
    **options
        Solve options (see :func:`rareopt.solve`).

    Returns
    -------
    ScenarioOutcome
        Per scenario and element: lowest days of cover, unmet demand, extra cost; distributions
        with ``distribution()``; ``summary()``.

    Examples
    --------
    >>> import rareopt
    >>> plan = rareopt.solve(rareopt.load_example("tiny"))
    >>> out = rareopt.stress_test(plan, rareopt.event_scenarios(["china-japan-2010"]))
    >>> bool(out.cost.loc["china-japan-2010", "unmet_t"] > 0)
    True
    """
    if isinstance(plan, Result):
        portfolio = plan.portfolio if portfolio is None else portfolio
        plan = plan.plan
    if portfolio is None:
        raise TypeError("stress_test: a plan table needs portfolio=...")
    volumes = plan_volumes(plan)
    result = solve_in_stages(
        "stress test",
        lambda: prepare_fixed(portfolio, volumes, scenarios, Expectation(alpha)),
        SolveOptions.from_keywords(options),
    )
    return result.raise_for_status().scenarios


def _expected_scenario(portfolio: Portfolio, scenarios: ScenarioSet) -> Scenario:
    """The expected-value scenario's prices: each offer's expected price factor per period.

    Its delivered fractions are passed as arrays (see below); its spot premium is the
    probability-weighted mean of the scenarios'.
    """
    p = scenarios.probabilities
    premium = float(p @ scenarios.spot_premiums())
    if not scenarios.moves_prices():
        return Scenario("expected value", 1.0, spot_premium=premium)
    labels = portfolio.period_labels
    rows = portfolio.offers[["supplier", "element"]].merge(
        pd.DataFrame({"period": labels}), how="cross"
    )
    expected = (p @ scenarios.price_factors(portfolio, rows)).reshape(-1, len(labels))
    offers = rows.drop_duplicates(["supplier", "element"])
    shocks = [
        PriceShock(supplier=s, elements=(e,), start=1, factor=tuple(expected[k]))
        for k, (s, e) in enumerate(zip(offers["supplier"], offers["element"]))
    ]
    return Scenario("expected value", 1.0, prices=tuple(shocks), spot_premium=premium)


def value_of_stochastic_solution(
    portfolio: Portfolio, scenarios: ScenarioSet, **options
) -> pd.Series:
    """EVPI and VSS of a scenario set for a portfolio (risk-neutral).

    - RP: the two-stage optimum (first stage + expected recourse).
    - WS (wait and see): the probability-weighted optimum of each scenario known in advance.
    - EV: the optimum for a single scenario with the expected delivered fractions (and expected
      price factors and spot premium, where scenarios move them); EEV: its plan
      evaluated on the scenarios.
    - EVPI = RP - WS (what perfect foresight would be worth), VSS = EEV - RP (what planning for
      the scenarios, rather than for their average, is worth).

    Solves ``len(scenarios) + 3`` LPs.

    Returns
    -------
    Series
        USD: rp, ws, ev, eev, evpi, vss.

    Examples
    --------
    >>> import rareopt
    >>> s = rareopt.event_scenarios(["china-japan-2010"], baseline=0.9)
    >>> v = value_of_stochastic_solution(rareopt.load_example("tiny"), s)
    >>> bool(v["evpi"] >= -1e-6 and v["vss"] >= -1e-6)
    True
    """
    given = SolveOptions.from_keywords(options)
    # One bar over the len(scenarios) + 3 solves, none within each.
    settings = replace(given, progress=False)
    bar = Stages(
        given.progress,
        "EVPI and VSS",
        ["two-stage", *(f"knowing {s}" for s in scenarios.names), "expected value", "its plan"],
    )

    def solved(problem) -> Result:
        result = solve_prepared(problem, settings).raise_for_status()
        bar.next()
        return result

    with bar:
        rp = solved(prepare(portfolio, scenarios))
        p = scenarios.probabilities
        market = {"spot_premium": scenarios.spot_premium, "spot_share": scenarios.spot_share}
        ws = 0.0
        for scenario, probability in zip(scenarios.scenarios, p):
            alone = ScenarioSet([replace(scenario, probability=1.0)], **market)
            ws += probability * solved(prepare(portfolio, alone)).objective
        layout = make_layout(portfolio)
        mean = ScenarioSet([_expected_scenario(portfolio, scenarios)], **market)
        per_buy = delivered_fractions(portfolio, layout.buy, scenarios)
        per_route = route_fractions(layout, scenarios, per_buy)
        ev = solved(
            prepare(portfolio, mean, fractions=((p @ per_buy)[None, :], (p @ per_route)[None, :]))
        )
        eev = solved(prepare_fixed(portfolio, plan_volumes(ev.plan), scenarios))
    values = {"rp": rp.objective, "ws": ws, "ev": ev.objective, "eev": eev.objective}
    values["evpi"] = values["rp"] - values["ws"]
    values["vss"] = values["eev"] - values["rp"]
    return pd.Series(values, name="usd", dtype=float)

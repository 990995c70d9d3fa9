"""A priori bounds on the CVaR level (issue 17): they hold its optimum and change no answer."""

import numpy as np
import pytest

import rareopt
from rareopt.exceptions import PlanCheckError
from rareopt.inputs.synthetic import disruptions, generate_size
from rareopt.model.risk import CVaR, conditional_value_at_risk, value_at_risk
from rareopt.solving.cvar_bounds import cvar_level_bounds


def cases():
    # The bounds hold the optimum of the whole objective (goals weighted, as progressive
    # hedging solves it).
    tiny = rareopt.load_example("tiny").with_policy(priorities="weighted")
    small = generate_size("small").with_policy(priorities="weighted")
    return [
        (tiny, rareopt.generate_scenarios(tiny, 30, {"CN": 0.6}, price_volatility=0.3, seed=3)),
        (small, disruptions(small, 25, seed=2)),
    ]


@pytest.mark.parametrize("case", range(2))
@pytest.mark.parametrize("alpha", [0.5, 0.9])
def test_bounds_hold_the_value_at_risk_and_change_no_optimum(case, alpha):
    portfolio, scenarios = cases()[case]
    low, high = cvar_level_bounds(portfolio, scenarios, CVaR(alpha, 1.0), batch_size=7)
    free = rareopt.solve(portfolio, scenarios=scenarios, risk=CVaR(alpha, 1.0))
    bounded = rareopt.solve(
        portfolio, scenarios=scenarios, risk=CVaR(alpha, 1.0, level_bounds=(low, high))
    )
    assert bounded.objective == pytest.approx(free.objective, rel=1e-9)
    recourse = free.scenarios.cost["recourse_usd"].to_numpy()
    p = free.scenarios.cost["probability"].to_numpy()
    # The level at the optimum is a value at risk: at least the cheapest scenario, at most the
    # CVaR, which the upper bound bounds (not every scenario's cost: the worst may exceed it).
    assert low <= recourse.min()
    assert low <= value_at_risk(recourse, p, alpha) <= high
    assert conditional_value_at_risk(recourse, p, alpha) <= high


def test_bounds_that_cut_off_the_value_at_risk_fail_the_independent_check():
    # The bound matters: a level held above every scenario's recourse makes the model's CVaR
    # term the level itself, not the CVaR the check recomputes from the scenarios' costs.
    portfolio, scenarios = cases()[0]
    free = rareopt.solve(portfolio, scenarios=scenarios, risk=CVaR(0.9, 1.0))
    worst = free.scenarios.cost["recourse_usd"].max()
    above = (worst + 1e6, worst + 2e6)
    with pytest.raises(PlanCheckError, match="objective"):
        rareopt.solve(portfolio, scenarios=scenarios, risk=CVaR(0.9, 1.0, level_bounds=above))


def test_bad_level_bounds_are_named():
    with pytest.raises(ValueError, match="level_bounds: got \\(2, 1\\)"):
        CVaR(0.9, 1.0, level_bounds=(2, 1))
    with pytest.raises(ValueError, match="finite"):
        CVaR(0.9, 1.0, level_bounds=(0, np.inf))

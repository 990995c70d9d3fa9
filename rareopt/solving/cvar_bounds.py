"""Bounds on the CVaR level that hold its optimum, for progressive hedging.

With ``CVaR(alpha, weight=beta)`` the level t is a first-stage variable: at an optimum it is a
value at risk of the recourse costs (an alpha-quantile), so it is at least the lowest scenario's
cost and at most the CVaR itself. Both ends are bounded a priori (the derivation is in
``docs/formulation.md``, "Bounds on the CVaR level"):

- below, ``L = min_w low_w``, each scenario's recourse cost over its columns' bounds
  (:func:`rareopt.model.two_stage.recourse_cost_ranges`);
- above, from any plan z: the optimum costs at most the plan's cost F(z), and its first stage
  plus expected recourse is at least ``D + sum_w p_w low_w`` (D a proven lower bound on the
  one-stage model: its optimum, or a MIP's dual bound), so ``beta CVaR* <= F(z) - D - sum_w p_w
  low_w``. With z the one-stage solution, whose first stage costs c(z),
  ``U = CVaR(r(z)) + (c(z) - D + E r(z) - sum_w p_w low_w) / beta``, r(z) each scenario's
  recourse cost with z fixed (solved scenario by scenario,
  :mod:`rareopt.solving.scenario_blocks`), and no more than the largest ``high_w``.

Bounding t to [L, U] changes no optimum; it makes each bundle's part of the model bounded on its
own, whatever multiplier progressive hedging's Lagrangian puts on t, and the tighter [L, U] is,
the less such a multiplier can move the Lagrangian bound.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.model.layout import make_layout
from rareopt.model.risk import CVaR, conditional_value_at_risk
from rareopt.model.two_stage import fix_whole_first_stage, recourse_cost_ranges
from rareopt.solving.highs import HighsSession, SolveOptions
from rareopt.solving.pipeline import prepare
from rareopt.solving.scenario_blocks import run_by_scenario
from rareopt.status import SolveStatus

__all__ = ["cvar_level_bounds"]


def cvar_level_bounds(
    portfolio: Portfolio,
    scenarios: ScenarioSet,
    risk: CVaR,
    options: SolveOptions | None = None,
    batch_size: int = 200,
) -> tuple[float, float] | None:
    """Bounds (USD) on the CVaR level that hold its optimum (see the module docstring).

    Solves the one-stage model once and each scenario's recourse with its plan fixed, ``batch_size``
    scenarios at a time. None when the risk has no weight, a range is infinite, or a solve
    gives no plan.

    Parameters
    ----------
    portfolio : Portfolio
        The portfolio.
    scenarios : ScenarioSet
        The scenarios.
    risk : CVaR
        Its ``alpha`` and ``weight``.
    options : SolveOptions, optional
        HiGHS settings.
    batch_size : int
        Scenarios built at a time.

    Returns
    -------
    (float, float) or None

    Examples
    --------
    >>> import rareopt
    >>> s = rareopt.event_scenarios(["china-japan-2010"], baseline=0.9)
    >>> low, high = cvar_level_bounds(rareopt.load_example("tiny"), s, CVaR(0.9))
    >>> bool(low <= 0 <= high)
    True
    """
    if risk.weight <= 0:
        return None
    settings = replace(options or SolveOptions(), progress=False)
    layout = make_layout(portfolio)
    one_stage = HighsSession(prepare(portfolio, layout=layout).lp, settings).run()
    # The bound needs D, a proven lower bound on every plan's first stage: an optimum, or a
    # MIP's dual bound (its incumbent z then costs objective - D more, which U makes room for).
    if one_stage.status != SolveStatus.OPTIMAL or one_stage.x is None:
        return None
    cost = float(one_stage.objective)  # type: ignore[arg-type]
    least = cost if one_stage.mip_dual_bound is None else float(one_stage.mip_dual_bound)
    probabilities = scenarios.probabilities
    lows, costs = [], []
    for start in range(0, len(scenarios), batch_size):
        part = scenarios.part(start, start + batch_size)
        ready = prepare(portfolio, part, layout=layout)
        lows.append(recourse_cost_ranges(layout, ready.lp))
        fix_whole_first_stage(ready.lp, one_stage.x)
        run = run_by_scenario(ready, settings)
        if run.output.x is None:
            return None
        costs.append(ready.lp.recourse @ run.output.x)
    ranges = np.vstack(lows)
    recourse = np.concatenate(costs)
    low = float(ranges[:, 0].min())
    slack = cost - least + float(probabilities @ recourse - probabilities @ ranges[:, 0])
    high = conditional_value_at_risk(recourse, probabilities, risk.alpha) + slack / risk.weight
    high = min(high, float(ranges[:, 1].max()))
    return (low, high) if np.isfinite(low) and np.isfinite(high) else None

"""The solver side of the pipeline: prepare the arrays, run HiGHS (with HHI cuts), explain failures.

validate (on Portfolio construction) -> :func:`prepare` (the formulation's arrays, or your Pyomo
model compiled) -> :func:`run_prepared` (HiGHS, the HHI cut loop, an IIS when infeasible) -> a
:class:`SolveRun`, which :mod:`rareopt.results` turns into a checked :class:`~rareopt.Result`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.model.formulation import assemble
from rareopt.model.layout import ModelLayout, make_layout
from rareopt.model.lp import LinearProgram, SolverOutput, fix_integers
from rareopt.model.pyomo_view import compile_built, layout_of, scenario_layout_of
from rareopt.model.risk import CVaR, Expectation
from rareopt.model.two_stage import (
    ScenarioLayout,
    assemble_two_stage,
    fix_first_stage,
    scenario_layout,
)
from rareopt.solving.goals import run_in_order
from rareopt.solving.highs import HighsSession, SolveOptions
from rareopt.solving.infeasibility import explain_infeasibility, infeasible_status
from rareopt.status import SolveStatus

__all__ = [
    "Prepared",
    "prepare",
    "prepare_fixed",
    "SolveRun",
    "run_prepared",
    "fixed_integer_duals",
]


@dataclass
class Prepared:
    """A problem made ready for HiGHS: its LP, and what reads the solution back.

    Attributes
    ----------
    model : ConcreteModel or None
        Your Pyomo model, when you passed one (it gets the solution and any HHI cuts).
    layout : ModelLayout
        The first stage's index tables.
    scenarios : ScenarioLayout or None
        For a two-stage model, its scenarios' index data.
    lp : LinearProgram
        The arrays handed to HiGHS.
    timings : dict
        ``build_seconds`` and ``handoff_seconds`` (compiling a Pyomo model) so far.
    """

    model: pyo.ConcreteModel | None
    layout: ModelLayout
    scenarios: ScenarioLayout | None
    lp: LinearProgram
    timings: dict[str, float] = field(default_factory=dict)


def prepare(
    problem: Portfolio | pyo.ConcreteModel,
    scenarios: ScenarioSet | None = None,
    risk: Expectation | CVaR | None = None,
    fractions: np.ndarray | tuple[np.ndarray, np.ndarray] | None = None,
    layout: ModelLayout | None = None,
) -> Prepared:
    """The LP of a portfolio (straight from its layout, no Pyomo) or of your built model.

    ``fractions`` replaces the scenarios' delivered fractions (scenarios x purchases), e.g. their
    mean for the expected-value problem. ``layout`` is the portfolio's, when already made (the
    batches of one sample share it).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> ready = prepare(load_example("tiny"))
    >>> ready.model is None, len(ready.lp.col_blocks["buy"].positions) == len(ready.layout.buy)
    (True, True)
    """
    start = time.perf_counter()
    if isinstance(problem, Portfolio):
        if layout is None:
            layout = make_layout(problem)
        elif layout.portfolio is not problem:
            raise ValueError("prepare: the layout given is another portfolio's")
        slayout = None
        if scenarios is None:
            lp = assemble(layout)
        else:
            slayout = scenario_layout(layout, scenarios, risk, fractions=fractions)
            lp = assemble_two_stage(layout, slayout)
        seconds = time.perf_counter() - start
        return Prepared(
            None, layout, slayout, lp, {"build_seconds": seconds, "handoff_seconds": 0.0}
        )
    if scenarios is not None or risk is not None:
        raise TypeError(
            "scenarios and risk go with a Portfolio; for a built model pass them to "
            "rareopt.build(portfolio, scenarios, risk)"
        )
    layout = layout_of(problem)
    built = time.perf_counter()
    lp = compile_built(problem)
    timings = {"build_seconds": built - start, "handoff_seconds": time.perf_counter() - built}
    return Prepared(problem, layout, scenario_layout_of(problem), lp, timings)


def prepare_fixed(
    portfolio: Portfolio,
    volumes: Mapping[tuple[Any, ...], float],
    scenarios: ScenarioSet | None,
    risk: Expectation | CVaR | None = None,
) -> Prepared:
    """The two-stage LP with the first stage's purchases fixed at ``volumes`` (t).

    ``volumes`` maps (element, supplier, period) to tonnes; offers left out buy nothing. Only the
    recourse (and any discrete decision the purchases imply) is left to optimise. Without
    scenarios, the one-stage LP: what is left is the nominal path the purchases imply.

    Examples
    --------
    >>> import rareopt
    >>> ready = prepare_fixed(rareopt.load_example("tiny"), {}, rareopt.event_scenarios(["china-japan-2010"]))
    >>> float(ready.lp.col_upper[ready.lp.col_blocks["buy"].positions].max())
    0.0
    """
    ready = prepare(portfolio, scenarios, risk)
    fix_first_stage(ready.lp, volumes)
    return ready


@dataclass
class SolveRun:
    """What the solver side hands to the results: HiGHS's output and what explains it.

    Attributes
    ----------
    ready : Prepared
        The problem that was solved.
    output : SolverOutput
        HiGHS's last solve.
    status : SolveStatus
        The typed status (the HHI loop may turn an optimal LP into ``limit_no_plan``).
    explanation : str or None
        Why there is no plan, in words, where known beyond the status's own text.
    conflicts : DataFrame or None
        An infeasible problem's conflicting caps, targets and capacities.
    relaxation : DataFrame or None
        The smallest total relaxation of those that restores a plan.
    solver : dict
        Sizes, iterations, MIP gap and bound, HHI loop figures.
    hhi_log : DataFrame or None
        The HHI cut loop's iterations.
    """

    ready: Prepared
    output: SolverOutput
    status: SolveStatus
    explanation: str | None
    conflicts: pd.DataFrame | None
    relaxation: pd.DataFrame | None
    solver: dict[str, Any]
    hhi_log: pd.DataFrame | None


def run_prepared(
    ready: Prepared, options: SolveOptions, waiting: Callable[[], None] | None = None
) -> SolveRun:
    """Hand a prepared problem to HiGHS, run it (with HHI cuts), explain an infeasible one.

    ``waiting`` is called while HiGHS runs (a progress bar's tick), unless HiGHS prints its log.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> run_prepared(prepare(load_example("tiny")), SolveOptions()).status.value
    'optimal'
    """
    layout, lp, timings = ready.layout, ready.lp, ready.timings
    start = time.perf_counter()
    session = HighsSession(lp, options)
    session.waiting = None if options.log else waiting
    timings["handoff_seconds"] = timings.get("handoff_seconds", 0.0) + time.perf_counter() - start
    start = time.perf_counter()
    output, hhi_log, goals = run_in_order(session, layout, ready.model)
    timings["solve_seconds"] = (
        time.perf_counter() - start if hhi_log is not None else output.solve_seconds
    )
    solver: dict[str, Any] = {
        "rows": int(lp.matrix.shape[0]),
        "columns": int(lp.matrix.shape[1]),
        "nonzeros": int(lp.matrix.nnz),
        "iterations": output.iterations,
        "mip_gap": output.mip_gap,
        "mip_dual_bound": output.mip_dual_bound,
        "mip_nodes": output.mip_nodes,
        "max_primal_infeasibility": output.max_primal_infeasibility,
    }
    if goals is not None:
        # Each goal's optimum in its scaled units (0: met in full).
        solver["goal_optima"] = {str(g): float(v) for g, v in goals["optimum"].items()}
    status, explanation, conflicts, relaxation = output.status, None, None, None
    if hhi_log is not None and len(hhi_log):
        excess = float(hhi_log["max_hhi_excess"].iloc[-1])
        solver.update(
            hhi_iterations=len(hhi_log),
            hhi_cuts=int(hhi_log["cuts_added"].sum()),
            hhi_max_excess=excess,
        )
        if status.is_ok and excess > layout.portfolio.policy.hhi_tolerance:
            status = SolveStatus.LIMIT_NO_PLAN
            explanation = (
                f"the HHI cut loop stopped after {len(hhi_log)} solves with an HHI "
                f"{excess:,.1f} points over its cap; raise the policy's hhi_max_iterations or "
                "hhi_tolerance"
            )
    if infeasible_status(status):
        explained = explain_infeasibility(layout, lp)
        if explained is not None:
            explanation, conflicts = explained.text, explained.conflicts
            relaxation = explained.relaxation
    return SolveRun(ready, output, status, explanation, conflicts, relaxation, solver, hhi_log)


def fixed_integer_duals(lp: LinearProgram, x: np.ndarray) -> tuple[LinearProgram, SolverOutput]:
    """The LP of a MIP with its integer decisions fixed at ``x``, solved for its duals.

    Its duals are the marginal values of the continuous decisions given the discrete ones.

    Examples
    --------
    >>> import rareopt
    >>> p = rareopt.load_example("tiny")
    >>> p = p.replace_tables(offers=p.offers.assign(min_order_t=10.0), capacity=p.capacity)
    >>> ready = prepare(p)
    >>> run = run_prepared(ready, SolveOptions())
    >>> fixed, output = fixed_integer_duals(ready.lp, run.output.x)
    >>> fixed.is_mip, output.row_dual is not None
    (False, True)
    """
    fixed = fix_integers(lp, x)
    return fixed, HighsSession(fixed).run()

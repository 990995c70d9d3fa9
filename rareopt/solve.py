"""``rareopt.solve``: portfolio -> model -> HiGHS -> checked result.

The pipeline, one direction: validate (on Portfolio construction) -> build -> the user's own
constraints (when a built model is passed) -> hand-off -> HiGHS -> copy back only a usable plan ->
independent check -> Result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import pyomo.environ as pyo

from rareopt.check import check_plan
from rareopt.exceptions import PlanCheckError
from rareopt.hhi_cuts import run_with_hhi_caps
from rareopt.highs import CompiledLP, SolveOptions, fix_integers, make_highs, run
from rareopt.infeasibility import explain_infeasibility, infeasible_status
from rareopt.layout import ModelLayout, make_layout
from rareopt.model import build, compile_built, layout_of, uses_pyomo_parts
from rareopt.outcomes import ScenarioOutcome, extract_outcome
from rareopt.portfolio import Portfolio
from rareopt.results import Result, duals_table, extract
from rareopt.risk import CVaR, Expectation, conditional_value_at_risk
from rareopt.scenario_check import check_objective
from rareopt.scenarios import ScenarioSet
from rareopt.standard_form import assemble
from rareopt.status import SolveStatus
from rareopt.two_stage import (
    ScenarioLayout,
    assemble_two_stage,
    build_two_stage,
    scenario_layout,
    scenario_layout_of,
)

__all__ = ["solve", "solve_prepared", "prepare", "Prepared", "checked_solution", "CheckedSolution"]


def solve(
    problem: Portfolio | pyo.ConcreteModel,
    scenarios: ScenarioSet | None = None,
    risk: Expectation | CVaR | None = None,
    engine: str = "highs",
    method: str = "ef",
    ph: dict | None = None,
    **options,
) -> Result:
    """Solve a portfolio (or a model built by :func:`rareopt.build`) with HiGHS.

    Parameters
    ----------
    problem : Portfolio or pyomo.environ.ConcreteModel
        A portfolio, or a model from :func:`rareopt.build` or
        :func:`rareopt.two_stage.build_two_stage` to which you may have added Pyomo constraints of
        your own.
    scenarios : ScenarioSet, optional
        Disruption scenarios: the plan is then the first stage of the two-stage model, priced
        against each scenario's recourse (``result.scenarios`` holds the outcomes).
    risk : Expectation or CVaR, optional
        How recourse costs enter the objective (default: their expectation).
    engine : {"highs", "mpisppy"}
        ``"mpisppy"`` solves the scenarios with mpi-sppy (the ``mpi`` extra); see
        :mod:`rareopt.mpisppy_engine`.
    method : {"ef", "ph"}
        With mpi-sppy: extensive form, or progressive hedging (run under ``mpiexec``).
    ph : dict, optional
        Overrides of :data:`rareopt.mpisppy_engine.PH_DEFAULTS` (rho, iterations, gap).
    **options
        :class:`~rareopt.highs.SolveOptions`: ``time_limit`` (s), ``mip_rel_gap``, ``threads``,
        ``presolve``, ``lp_algorithm`` ("choose", "simplex", "ipm", "pdlp"), ``random_seed``,
        ``log``. An unknown option raises ``TypeError`` naming the allowed ones.

    Returns
    -------
    Result
        Its ``status`` says whether there is a plan; when there is, the plan has passed the
        independent check (:mod:`rareopt.check`). Without a plan, tables raise ``NoPlanError``.

    Raises
    ------
    PlanCheckError
        If HiGHS returns a plan that violates the portfolio's constraints beyond tolerance.

    Examples
    --------
    >>> import rareopt
    >>> r = rareopt.solve(rareopt.load_example("tiny"), time_limit=60)
    >>> r.status.value
    'optimal'
    """
    allowed = set(SolveOptions.__dataclass_fields__)
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise TypeError(f"unknown solve option(s) {unknown}; allowed: {sorted(allowed)}")
    if engine not in ("highs", "mpisppy"):
        raise ValueError(f"engine: got {engine!r}; allowed: 'highs' or 'mpisppy'")
    if engine == "mpisppy":
        if scenarios is None or not isinstance(problem, Portfolio):
            raise TypeError("engine='mpisppy' solves a Portfolio with scenarios=ScenarioSet(...)")
        from rareopt.mpisppy_engine import solve_mpisppy

        return solve_mpisppy(problem, scenarios, risk, method=method, ph=ph, **options)
    SolveOptions(**options)  # bad options fail before anything is built
    return solve_prepared(prepare(problem, scenarios, risk), **options)


def solve_prepared(ready: Prepared, **options) -> Result:
    """Solve a :class:`Prepared` problem (see :func:`solve`, which prepares and calls this).

    For callers that change the arrays before solving, e.g. a stress test fixing the first stage
    at a plan's volumes (:func:`rareopt.two_stage.fix_first_stage`).

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> solve_prepared(prepare(load_example("tiny"))).status.value
    'optimal'
    """
    settings = SolveOptions(**options)
    model, layout, lp, timings = ready.model, ready.layout, ready.lp, ready.timings
    start = time.perf_counter()
    highs = make_highs(lp, settings)
    timings["handoff_seconds"] += time.perf_counter() - start

    start = time.perf_counter()
    output, hhi_log = run_with_hhi_caps(highs, lp, layout, model)
    timings["solve_seconds"] = (
        time.perf_counter() - start if hhi_log is not None else (output.solve_seconds)
    )
    solver = {
        "rows": int(lp.matrix.shape[0]),
        "columns": int(lp.matrix.shape[1]),
        "nonzeros": int(lp.matrix.nnz),
        "iterations": output.iterations,
        "mip_gap": output.mip_gap,
        "mip_dual_bound": output.mip_dual_bound,
        "mip_nodes": output.mip_nodes,
        "max_primal_infeasibility": output.max_primal_infeasibility,
    }
    result = Result(
        status=output.status,
        solver_message=output.message,
        portfolio=layout.portfolio,
        timings=timings,
        solver=solver,
    )
    if hhi_log is not None and len(hhi_log):
        result.solver.update(
            hhi_iterations=len(hhi_log),
            hhi_cuts=int(hhi_log["cuts_added"].sum()),
            hhi_max_excess=float(hhi_log["max_hhi_excess"].iloc[-1]),
        )
        if (
            output.status.is_ok
            and hhi_log["max_hhi_excess"].iloc[-1] > layout.portfolio.policy.hhi_tolerance
        ):
            result.status = SolveStatus.LIMIT_NO_PLAN
            result.explanation = (
                f"the HHI cut loop stopped after {len(hhi_log)} solves with an HHI "
                f"{hhi_log['max_hhi_excess'].iloc[-1]:,.1f} points over its cap; raise the "
                "policy's hhi_max_iterations or hhi_tolerance"
            )
            return result
    if infeasible_status(output.status):
        explained = explain_infeasibility(layout, lp)
        if explained is not None:
            result.explanation = explained.text
            result.conflicts = explained.conflicts
    if not output.status.is_ok:
        return result

    start = time.perf_counter()
    checked = checked_solution(ready, output)
    timings["extract_seconds"] = time.perf_counter() - start
    result.objective = output.objective
    result.cost_terms = checked.cost_terms
    result.tables = checked.tables
    result.checks = checked.checks
    result.scenarios = checked.scenarios
    if hhi_log is not None:
        result.tables["hhi_cuts"] = hhi_log
    return result


@dataclass
class Prepared:
    """A problem made ready for HiGHS: its LP, and what reads the solution back.

    Attributes
    ----------
    model : ConcreteModel or None
        The Pyomo model, where one was needed (yours, or one with contracts or projects).
    layout : ModelLayout
        The first stage's index tables.
    scenarios : ScenarioLayout or None
        For a two-stage model, its scenarios' index data.
    lp : CompiledLP
        The arrays handed to HiGHS.
    timings : dict
        ``build_seconds`` and ``handoff_seconds`` (compiling a Pyomo model) so far.
    """

    model: pyo.ConcreteModel | None
    layout: ModelLayout
    scenarios: ScenarioLayout | None
    lp: CompiledLP
    timings: dict


def prepare(
    problem: Portfolio | pyo.ConcreteModel,
    scenarios: ScenarioSet | None = None,
    risk: Expectation | CVaR | None = None,
) -> Prepared:
    """The LP of a portfolio or a built model, by the shortest route.

    A portfolio without contracts or projects goes straight from its layout to arrays
    (:func:`rareopt.standard_form.assemble`, or :func:`rareopt.two_stage.assemble_two_stage`
    with scenarios), with no Pyomo model; otherwise the Pyomo model is built (or taken as given)
    and compiled.

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> ready = prepare(load_example("tiny"))
    >>> ready.model is None, len(ready.lp.col_blocks["buy"].positions) == len(ready.layout.buy)
    (True, True)
    """
    start = time.perf_counter()
    if isinstance(problem, Portfolio) and not uses_pyomo_parts(problem):
        layout = make_layout(problem)
        slayout = None
        if scenarios is None:
            lp = assemble(layout)
        else:
            slayout = scenario_layout(layout, scenarios, risk)
            lp, _ = assemble_two_stage(layout, slayout)
        seconds = time.perf_counter() - start
        return Prepared(
            None, layout, slayout, lp, {"build_seconds": seconds, "handoff_seconds": 0.0}
        )
    if isinstance(problem, Portfolio):
        model = build(problem) if scenarios is None else build_two_stage(problem, scenarios, risk)
    else:
        if scenarios is not None or risk is not None:
            raise TypeError(
                "scenarios and risk go with a Portfolio; for a built model pass them to "
                "rareopt.two_stage.build_two_stage(portfolio, scenarios, risk)"
            )
        model = problem
    layout = layout_of(model)
    built = time.perf_counter()
    lp = compile_built(model)
    timings = {"build_seconds": built - start, "handoff_seconds": time.perf_counter() - built}
    return Prepared(model, layout, scenario_layout_of(model), lp, timings)


def _fixed_integer_duals(lp, output, layout, plan) -> pd.DataFrame | None:
    """Duals of the LP with the MIP's integer decisions fixed, labelled as such."""
    fixed = fix_integers(lp, output.x)
    again = run(make_highs(fixed, SolveOptions()), fixed)
    if again.row_dual is None:
        return None
    table = duals_table(layout, fixed, again, plan)
    return table.assign(basis="LP with the integer decisions fixed")


@dataclass
class CheckedSolution:
    """Result tables of one HiGHS solution that passed the independent checks."""

    tables: dict
    cost_terms: pd.Series
    checks: pd.DataFrame
    scenarios: ScenarioOutcome | None


def checked_solution(
    ready: Prepared, output, layout: ModelLayout | None = None, duals: bool = True
) -> CheckedSolution:
    """Tables, cost terms and checks of a solved problem; raise if the plan fails the check.

    ``layout`` is the portfolio the solution must satisfy (a frontier point's own; default the
    problem's). A Pyomo model gets the solution into its variables (so that your model holds the
    plan, and a two-stage model's first-stage cost can be read from its ``total_cost``). For a
    two-stage model the scenario outcomes are checked too. ``duals=False`` skips the marginal
    values (a frontier does not report them).
    """
    model, lp, slayout = ready.model, ready.lp, ready.scenarios
    if model is not None:
        for variable, value in zip(lp.columns, output.x):
            variable.set_value(value, skip_validation=True)
    layout = ready.layout if layout is None else layout
    duals = duals and slayout is None
    tables = extract(layout, lp, output, model, duals=duals)
    if slayout is None:
        first_stage = output.objective
    elif model is not None:
        first_stage = pyo.value(model.total_cost.expr)
    else:
        first_stage = float(sum(lp.cost_terms.values()) @ output.x)
    checks, violations = check_plan(
        layout.portfolio,
        tables["plan"],
        tables["stock"],
        tables["unmet"],
        first_stage,
        tables["contracts"],
        None
        if tables["concentrates"] is None
        else {"concentrates": tables["concentrates"], "surplus": tables["surplus"]},
        tables["projects"],
    )
    if not violations.empty:
        raise PlanCheckError(violations)
    cost_terms = tables.pop("cost_terms")
    if slayout is None:
        if lp.is_mip and duals:
            plan = tables["plan"]
            tables.defer("duals", lambda: _fixed_integer_duals(lp, output, layout, plan))
        return CheckedSolution(tables, cost_terms, checks, None)
    outcome, violations, recourse = extract_outcome(
        layout,
        slayout,
        lp,
        output.x,
        tables["plan"],
        tables["stock"],
        tables["unmet"],
        float(cost_terms.sum()),
    )
    p, measure = slayout.probabilities, slayout.risk
    cost_terms["expected_recourse"] = float(p @ recourse)
    cost_terms["risk_measure"] = (
        measure.weight * conditional_value_at_risk(recourse, p, measure.alpha)
        if measure.weight > 0
        else 0.0
    )
    row, failed = check_objective(float(cost_terms.sum()), output.objective)
    checks = pd.concat([checks, outcome.checks, pd.DataFrame([row])], ignore_index=True)
    if not violations.empty or failed:
        raise PlanCheckError(violations if not violations.empty else pd.DataFrame([row]))
    return CheckedSolution(tables, cost_terms, checks, outcome)

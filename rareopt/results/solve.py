"""``rareopt.solve``: portfolio -> arrays -> HiGHS -> checked :class:`~rareopt.Result`.

The pipeline, one direction: validate (on Portfolio construction) -> prepare the arrays (or
compile your Pyomo model) -> HiGHS (:mod:`rareopt.solving.pipeline`) -> copy back only a usable
plan -> independent check (:mod:`rareopt.checks`) -> a Result, built once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from rareopt.checks.plan import check_plan
from rareopt.checks.scenarios import check_objective
from rareopt.exceptions import PlanCheckError
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.model.formulation import totals_by_kind
from rareopt.model.layout import ModelLayout
from rareopt.model.risk import CVaR, Expectation, risk_measure
from rareopt.model.two_stage import fix_whole_first_stage
from rareopt.progress import Stages
from rareopt.results.outcomes import ScenarioOutcome, extract_outcome
from rareopt.results.result import LazyTables, Result
from rareopt.results.tables import duals_table, extract
from rareopt.solving.highs import SolveOptions
from rareopt.solving.mpisppy import is_root_rank, solve_mpisppy
from rareopt.solving.pipeline import (
    Prepared,
    SolveRun,
    fixed_integer_duals,
    prepare,
    prepare_fixed,
    run_prepared,
)
from rareopt.solving.scenario_blocks import run_by_scenario
from rareopt.status import SolveStatus

__all__ = [
    "solve",
    "solve_prepared",
    "evaluate_plan",
    "nominal_first_stage",
    "solve_by_scenario",
    "checked_solution",
    "CheckedSolution",
]


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
        A portfolio, or a model from :func:`rareopt.build` to which you may have added Pyomo
        constraints of your own.
    scenarios : ScenarioSet, optional
        Disruption scenarios: the plan is then the first stage of the two-stage model, priced
        against each scenario's recourse (``result.scenarios`` holds the outcomes).
    risk : Expectation or CVaR, optional
        How recourse costs enter the objective (default: their expectation).
    engine : {"highs", "mpisppy"}
        ``"mpisppy"`` solves the scenarios with mpi-sppy (the ``mpi`` extra); see
        :mod:`rareopt.solving.mpisppy`.
    method : {"ef", "ph"}
        With mpi-sppy: extensive form, or progressive hedging (run under ``mpiexec``).
    ph : dict, optional
        Overrides of :data:`rareopt.solving.mpisppy.PH_DEFAULTS` (rho, iterations, gap).
    **options
        :class:`~rareopt.SolveOptions`: ``time_limit`` (s), ``mip_rel_gap``, ``threads``,
        ``presolve``, ``lp_algorithm`` ("choose", "simplex", "ipm", "pdlp"), ``random_seed``,
        ``log``. An unknown option raises ``TypeError`` naming the allowed ones.

    Returns
    -------
    Result
        Its ``status`` says whether there is a plan; when there is, the plan has passed the
        independent check (:mod:`rareopt.checks`). Without a plan, tables raise ``NoPlanError``.

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
    settings = SolveOptions.from_keywords(options)  # bad options fail before anything is built
    if engine not in ("highs", "mpisppy"):
        raise ValueError(f"engine: got {engine!r}; allowed: 'highs' or 'mpisppy'")
    if engine == "mpisppy":
        if scenarios is None or not isinstance(problem, Portfolio):
            raise TypeError("engine='mpisppy' solves a Portfolio with scenarios=ScenarioSet(...)")
        return _solve_mpisppy(problem, scenarios, risk, method, ph, settings)
    if scenarios is None:
        return solve_prepared(prepare(problem), settings)
    return solve_in_stages("two-stage solve", lambda: prepare(problem, scenarios, risk), settings)


def _solve_mpisppy(portfolio, scenarios, risk, method, ph, settings) -> Result | None:
    """mpi-sppy's plan, evaluated by rareopt's own two-stage model with the purchases fixed.

    mpi-sppy decomposes one objective: the goals weighted (``priorities: weighted``). Goals in
    order are a sequence of solves it cannot split, so the plan is evaluated with the goals
    weighted too, and the Result says so: its cost and the engine's bounds are of one objective.
    """
    in_order = portfolio.policy.priorities != "weighted"
    if in_order:
        portfolio = portfolio.with_policy(priorities="weighted")
    engine = {"engine": "mpisppy", "method": method, "goals_weighted_from_in_order": in_order}
    # The recourse can always leave demand unmet, so the two-stage model has a plan exactly when
    # the one-stage model has: that one LP (on every rank alike) says why not before mpi-sppy
    # starts, rather than an infeasible subproblem stopping some ranks and hanging the others.
    nominal = solve_prepared(prepare(portfolio), settings)
    if not nominal.ok:
        return nominal.with_solver_info(engine) if is_root_rank() else None
    found = solve_mpisppy(portfolio, scenarios, risk, method=method, ph=ph, options=settings)
    if found is None:  # an MPI rank other than 0
        return None
    volumes, info = found
    info = {**info, **engine}
    result = solve_prepared(prepare_fixed(portfolio, volumes, scenarios, risk), settings)
    if method != "ph" or not result.ok:
        return result.with_solver_info(info)
    inner = info["inner_bound"]
    if not np.isfinite(inner) or result.objective < inner:
        # The plan as rareopt evaluates it (its nominal path re-optimised with the purchases)
        # is feasible: its cost bounds the optimum above, and is the plan reported.
        inner = float(result.objective)
        gap = abs(inner - info["outer_bound"]) / max(abs(inner), 1.0)
        info.update(inner_bound=inner, bound_gap=gap, inner_bound_from="rareopt's evaluation")
    result = result.with_solver_info(info)
    if info["bound_gap"] <= info["rel_gap_target"]:
        return result
    return replace(
        result,
        status=SolveStatus.LIMIT_WITH_PLAN,
        solver_message=(
            f"PH: {info['ph_iterations']} iteration{'s' if info['ph_iterations'] != 1 else ''}, "
            f"bounds {info['bound_gap']:.2%} apart"
        ),
        explanation=(
            f"Progressive hedging stopped with its bounds {info['bound_gap']:.2%} apart, above "
            f"the {info['rel_gap_target']:.2%} asked: the plan is feasible and checked, not "
            "certified optimal. Raise ph={'max_iterations': ...}, run 3 ranks (or a multiple) "
            "for the spokes' bounds, or solve the extensive form (method='ef')."
        ),
    )


def evaluate_plan(
    portfolio: Portfolio, volumes: dict, scenarios: ScenarioSet, risk=None, **options
) -> Result:
    """The two-stage model with the purchases fixed at ``volumes``, solved and checked.

    ``volumes`` maps (element, supplier, period) to tonnes; offers left out buy nothing. Only the
    recourse is optimised. The Result's status is whatever HiGHS reports.

    Examples
    --------
    >>> import rareopt
    >>> p = rareopt.load_example("tiny")
    >>> s = rareopt.event_scenarios(["china-japan-2010"])
    >>> evaluate_plan(p, {}, s).status.value  # buy nothing: all demand unmet, still a plan
    'optimal'
    """
    return solve_prepared(
        prepare_fixed(portfolio, volumes, scenarios, risk), SolveOptions.from_keywords(options)
    )


def nominal_first_stage(
    portfolio: Portfolio, volumes: dict, options: SolveOptions | None = None
) -> np.ndarray:
    """The whole first stage of a plan: its purchases and the nominal path they imply.

    The one-stage model with the purchases fixed at ``volumes`` (t), solved and checked; its
    solution, column by column, is what :func:`solve_by_scenario` fixes (the columns a two-stage
    model's first stage has, in the same order).

    Raises
    ------
    NoPlanError
        When the purchases leave the one-stage model no plan (e.g. they break a cap).

    Examples
    --------
    >>> import rareopt
    >>> from rareopt.analysis.stress import plan_volumes
    >>> tiny = rareopt.load_example("tiny")
    >>> x = nominal_first_stage(tiny, plan_volumes(rareopt.solve(tiny).plan))
    >>> x.ndim, bool((x >= 0).all())
    (1, True)
    """
    run = run_prepared(prepare_fixed(portfolio, volumes, None), options or SolveOptions())
    result_of(run).raise_for_status()
    return np.asarray(run.output.x, dtype=float)


def solve_by_scenario(
    portfolio: Portfolio,
    first_stage: np.ndarray,
    scenarios: ScenarioSet,
    options: SolveOptions | None = None,
    layout: ModelLayout | None = None,
) -> Result:
    """The two-stage model with its whole first stage fixed, solved scenario by scenario, checked.

    With the first stage fixed the scenarios share nothing; each is an LP of its own
    (:mod:`rareopt.solving.scenario_blocks`), and the result is read and checked as the extensive
    form's (no duals).

    Parameters
    ----------
    portfolio : Portfolio
        The portfolio.
    first_stage : ndarray
        From :func:`nominal_first_stage`.
    scenarios : ScenarioSet
        The scenarios, each solved on its own.
    options : SolveOptions, optional
        HiGHS settings for every scenario.
    layout : ModelLayout, optional
        The portfolio's layout, when already made (a sample's batches share it).

    Examples
    --------
    >>> import rareopt
    >>> from rareopt.analysis.stress import plan_volumes
    >>> tiny = rareopt.load_example("tiny")
    >>> x = nominal_first_stage(tiny, plan_volumes(rareopt.solve(tiny).plan))
    >>> s = rareopt.event_scenarios(["china-japan-2010"], baseline=0.9)
    >>> solve_by_scenario(tiny, x, s).scenarios.cost.index.tolist()
    ['no disruption', 'china-japan-2010']
    """
    ready = prepare(portfolio, scenarios, layout=layout)
    fix_whole_first_stage(ready.lp, first_stage)
    return result_of(run_by_scenario(ready, options or SolveOptions(progress=False)))


def solve_prepared(ready: Prepared, options: SolveOptions | None = None) -> Result:
    """Solve a :class:`~rareopt.solving.pipeline.Prepared` problem into a checked Result.

    For callers that change the arrays before solving, e.g. a stress test fixing the first stage
    at a plan's volumes (:func:`rareopt.model.two_stage.fix_first_stage`).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> solve_prepared(prepare(load_example("tiny"))).status.value
    'optimal'
    """
    run = run_prepared(ready, SolveOptions() if options is None else options)
    return result_of(run)


def solve_in_stages(label: str, build: Callable[[], Prepared], options: SolveOptions) -> Result:
    """Build, solve and check, with a progress bar over the stages (``options.progress``).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> quiet = SolveOptions(progress=False)
    >>> solve_in_stages("solve", lambda: prepare(load_example("tiny")), quiet).status.value
    'optimal'
    """
    with Stages(options.progress, label, ("building", "solving", "checking")) as stages:
        ready = build()
        stages.next()
        run = run_prepared(ready, options, stages.tick)
        stages.next()
        result = result_of(run)
        stages.next()
    return result


def result_of(run: SolveRun) -> Result:
    """The :class:`Result` of a solver run: checked tables when there is a plan."""
    ready, output = run.ready, run.output
    common = {
        "status": run.status,
        "solver_message": output.message,
        "portfolio": ready.layout.portfolio,
        "timings": ready.timings,
        "solver": run.solver,
        "explanation": run.explanation or "",
        "conflicts": run.conflicts,
        "relaxation": run.relaxation,
    }
    if not run.status.is_ok:
        return Result(**common)
    start = time.perf_counter()
    checked = checked_solution(ready, output)
    ready.timings["extract_seconds"] = time.perf_counter() - start
    tables = checked.tables
    if run.hhi_log is not None:
        tables.put("hhi_cuts", run.hhi_log)
    return Result(
        **common,
        objective=output.objective,
        cost_terms=checked.cost_terms,
        tables=tables,
        checks=checked.checks,
        scenarios=checked.scenarios,
    )


def _fixed_integer_duals(lp, x, layout, plan) -> pd.DataFrame | None:
    """Duals of the LP with the MIP's integer decisions fixed, labelled as such."""
    fixed, again = fixed_integer_duals(lp, x)
    if again.row_dual is None:
        return None
    table = duals_table(layout, fixed, again, plan)
    return table.assign(basis="LP with the integer decisions fixed")


@dataclass
class CheckedSolution:
    """Result tables of one HiGHS solution that passed the independent checks."""

    tables: LazyTables
    cost_terms: pd.Series
    checks: pd.DataFrame
    scenarios: ScenarioOutcome | None


def checked_solution(
    ready: Prepared, output, layout: ModelLayout | None = None, duals: bool = True
) -> CheckedSolution:
    """Tables, cost terms and checks of a solved problem; raise if the plan fails the check.

    ``layout`` is the portfolio the solution must satisfy (a frontier point's own; default the
    problem's). Your Pyomo model, if you passed one, gets the solution into its variables. For a
    two-stage model the scenario outcomes are checked too. ``duals=False`` skips the marginal
    values (a frontier does not report them).
    """
    model, lp, slayout = ready.model, ready.lp, ready.scenarios
    if model is not None:
        for variable, value in zip(lp.columns, output.x):
            variable.set_value(value, skip_validation=True)
    layout = ready.layout if layout is None else layout
    # A two-stage LP's duals on the first stage's rows are marginal values with the recourse
    # re-optimised: what one more tonne or one point of cap is worth, expected over scenarios.
    tables = extract(layout, lp, output, duals=duals)
    first_stage = float(sum(lp.cost_term_values(output.x).values()))
    checks, violations = check_plan(
        layout.portfolio,
        tables["plan"],
        tables["stock"],
        tables["unmet"],
        first_stage if slayout is not None else output.objective,
        tables["contracts"],
        None
        if tables["concentrates"] is None
        else {"concentrates": tables["concentrates"], "surplus": tables["surplus"]},
        tables["projects"],
        tables["routes"],
        tables["responses"],
    )
    if not violations.empty:
        raise PlanCheckError(violations)
    cost_terms = tables.take("cost_terms")
    if lp.is_mip and duals:
        plan = tables["plan"]
        tables.defer("duals", lambda: _fixed_integer_duals(lp, output.x, layout, plan))
    if slayout is None:
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
        totals_by_kind(cost_terms.to_dict()).get("spend", 0.0),
        tables["responses"],
        output.row_dual if duals else None,
    )
    p = slayout.probabilities
    cost_terms["expected_recourse"] = float(p @ recourse)
    cost_terms["risk_measure"] = risk_measure(slayout.risk, recourse, p)
    row, failed = check_objective(float(cost_terms.sum()), output.objective)
    checks = pd.concat([checks, outcome.checks, pd.DataFrame([row])], ignore_index=True)
    if not violations.empty or failed:
        raise PlanCheckError(violations if not violations.empty else pd.DataFrame([row]))
    return CheckedSolution(tables, cost_terms, checks, outcome)

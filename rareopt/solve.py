"""``rareopt.solve``: portfolio -> model -> HiGHS -> checked result.

The pipeline, one direction: validate (on Portfolio construction) -> build -> the user's own
constraints (when a built model is passed) -> hand-off -> HiGHS -> copy back only a usable plan ->
independent check -> Result.
"""

from __future__ import annotations

import time

import pyomo.environ as pyo

from rareopt.check import check_plan
from rareopt.exceptions import PlanCheckError
from rareopt.highs import SolveOptions, compile_model, make_highs, run
from rareopt.infeasibility import explain_infeasibility, infeasible_status
from rareopt.model import build, layout_of
from rareopt.portfolio import Portfolio
from rareopt.results import Result, extract

__all__ = ["solve"]


def solve(problem: Portfolio | pyo.ConcreteModel, **options) -> Result:
    """Solve a portfolio (or a model built by :func:`rareopt.build`) with HiGHS.

    Parameters
    ----------
    problem : Portfolio or pyomo.environ.ConcreteModel
        A portfolio, or a model from :func:`rareopt.build` to which you may have added Pyomo
        constraints of your own.
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
    settings = SolveOptions(**options)
    timings = {}

    if isinstance(problem, Portfolio):
        start = time.perf_counter()
        model = build(problem)
        timings["build_seconds"] = time.perf_counter() - start
    else:
        model = problem
    layout = layout_of(model)

    start = time.perf_counter()
    lp = compile_model(model)
    highs = make_highs(lp, settings)
    timings["handoff_seconds"] = time.perf_counter() - start

    output = run(highs, lp)
    timings["solve_seconds"] = output.solve_seconds
    solver = {
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
    if infeasible_status(output.status):
        explained = explain_infeasibility(layout, lp)
        if explained is not None:
            result.explanation = explained.text
            result.conflicts = explained.conflicts
    if not output.status.is_ok:
        return result

    start = time.perf_counter()
    for variable, value in zip(lp.columns, output.x):
        variable.set_value(value, skip_validation=True)
    tables = extract(layout, lp, output, model)
    checks, violations = check_plan(
        layout.portfolio, tables["plan"], tables["stock"], tables["unmet"], output.objective
    )
    if not violations.empty:
        raise PlanCheckError(violations)
    timings["extract_seconds"] = time.perf_counter() - start
    result.objective = output.objective
    result.cost_terms = tables.pop("cost_terms")
    result.tables = tables
    result.checks = checks
    return result

"""Goals met in order: demand, then stock targets, then cost (``policy.priorities``).

Each goal before cost is minimised on its own, and its ``priority[goal]`` row
(:mod:`rareopt.model.priorities`) is then bounded by its optimum plus a tolerance while the later
goals are minimised; the last solve minimises the whole objective, so ``Result.objective`` is
still the total of the cost terms. A first solve tries every goal at zero (no unmet demand, no
stock below target), which is the lexicographic optimum whenever it is feasible: an LP then costs
one solve, as with ``priorities: weighted``. Each solve runs the HHI cut loop, so every bound
holds with the HHI caps in force. Stated in ``docs/formulation.md``, "Priorities".
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from rareopt.model.layout import ModelLayout
from rareopt.model.lp import LinearProgram, SolverOutput
from rareopt.model.priorities import goals_in_order
from rareopt.solving.hhi_cuts import run_with_hhi_caps
from rareopt.solving.highs import HighsSession

__all__ = ["GOAL_TOLERANCE", "run_in_order"]

GOAL_TOLERANCE = (1e-9, 1e-12)
"""(absolute, relative): a goal is kept within absolute + relative x its optimum of it.

Goals are in scaled units (a tonne of the goal's least penalised element), so the absolute part
is at most a billionth of a tonne of any element. The bound is the value at the goal's own
optimal plan plus this, so that plan stays feasible for the later solves whatever the rounding."""


def run_in_order(
    session: HighsSession, layout: ModelLayout, model: pyo.ConcreteModel | None = None
) -> tuple[SolverOutput, pd.DataFrame | None, pd.DataFrame | None]:
    """Solve the goals in order, then the whole objective with each goal held at its optimum.

    Returns
    -------
    output : SolverOutput
        The last solve's (the whole objective), or the first that gave no plan. ``iterations``
        and ``solve_seconds`` add up every solve.
    hhi_log : DataFrame or None
        The HHI cut loop's iterations over every solve.
    goals : DataFrame or None
        Per goal (index ``goal``): ``optimum``, in scaled units (0: met in full, and then held
        at exactly 0 by its columns' bounds); None without goals (``priorities: weighted``).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> from rareopt.model.formulation import assemble
    >>> layout = make_layout(load_example("tiny"))
    >>> output, _, goals = run_in_order(HighsSession(assemble(layout)), layout)
    >>> output.status.value, goals["optimum"].tolist()
    ('optimal', [0.0, 0.0])
    """
    lp = session.lp
    block = lp.row_blocks.get("priority")
    goals = goals_in_order(layout.portfolio.policy)
    if block is None or not goals or (block.positions < 0).any():
        output, log = run_with_hhi_caps(session, layout, model)
        return output, log, None
    row = dict(zip((k[0] for k in block.keys()), block.positions))
    vectors = {g: lp.matrix[[row[g]], :].toarray().ravel() for g in goals}
    # Start from rows that cannot bind (a goal's largest value at the current bounds), so that a
    # session edited between runs (a frontier's next point) forgets the last run's optima.
    finite_upper = np.where(np.isfinite(lp.col_upper), lp.col_upper, 0.0)
    loose = [float(np.abs(vectors[g]) @ np.abs(finite_upper)) + 1.0 for g in goals]
    rows = [row[g] for g in goals]
    session.set_row_bounds(rows, np.full(len(rows), -np.inf), loose)
    whole = lp.cost.copy()
    every = np.arange(len(whole))
    runs: list[SolverOutput] = []
    logs: list[pd.DataFrame] = []
    zeroed: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def run() -> SolverOutput:
        output, log = run_with_hhi_caps(session, layout, model)
        runs.append(output)
        if log is not None:
            logs.append(log)
        return output

    def hold(goal: str, optimum: float) -> None:
        """Keep ``goal`` at ``optimum``: by its row, and exactly at 0 by its columns' bounds."""
        absolute, relative = GOAL_TOLERANCE
        session.set_row_bounds([row[goal]], [-np.inf], [optimum + absolute + relative * optimum])
        if optimum <= absolute:
            # Met in full: the goal's columns (unmet demand, shortfall) are fixed at 0 so that
            # no tolerance's worth of them is traded for cost in the later solves.
            cols = np.flatnonzero(vectors[goal] > 0)
            zeroed[goal] = (cols, lp.col_upper[cols].copy())
            session.set_col_bounds(cols, lp.col_lower[cols], np.zeros(len(cols)))

    def release(goal: str) -> None:
        cols, upper = zeroed.pop(goal)
        session.set_col_bounds(cols, lp.col_lower[cols], upper)
        session.set_row_bounds([row[goal]], [-np.inf], [loose[goals.index(goal)]])

    def finish(
        output: SolverOutput, optima: dict[str, float] | None
    ) -> tuple[SolverOutput, pd.DataFrame | None, pd.DataFrame | None]:
        for goal in list(zeroed):  # the session's bounds as they came (a frontier goes on)
            cols, upper = zeroed.pop(goal)
            session.set_col_bounds(cols, lp.col_lower[cols], upper)
        session.set_costs(every, whole)
        total = replace(
            output,
            iterations=sum(r.iterations for r in runs),
            solve_seconds=sum(r.solve_seconds for r in runs),
        )
        table = None
        if optima is not None:
            table = pd.DataFrame({"optimum": pd.Series(optima, dtype=float)})
            table.index.name = "goal"
        log = pd.concat(logs, ignore_index=True) if logs else None
        return total, log, table

    hard_targets = layout.portfolio.policy.hard_stock_targets
    if not lp.is_mip and not hard_targets:
        # Every goal met in full: when that is feasible it is the lexicographic optimum, in one
        # solve. Otherwise the goals go in order.
        for goal in goals:
            hold(goal, 0.0)
        output = run()
        if output.status.is_ok:
            return finish(output, dict.fromkeys(goals, 0.0))
        for goal in goals:
            release(goal)

    optima: dict[str, float] = {}
    for goal in goals:
        soft = _soften_targets(session, lp) if hard_targets else None
        session.set_costs(every, vectors[goal])
        output = run()
        if soft is not None:
            session.set_col_bounds(soft, np.zeros(len(soft)), np.zeros(len(soft)))
        if output.x is None:
            return finish(output, None)
        optima[goal] = float(vectors[goal] @ output.x)
        hold(goal, optima[goal])
    session.set_costs(every, whole)
    return finish(run(), optima)


def _soften_targets(session: HighsSession, lp: LinearProgram) -> np.ndarray:
    """Let hard targets fall short (up to the target) for one solve; return the columns.

    The demand that hard targets may not short is what the model meets with the targets soft.
    """
    rows = lp.row_blocks["stock_target"]
    columns = lp.col_blocks["shortfall"].positions[rows.frame["ep"].to_numpy()]
    target = lp.row_lower[rows.positions]
    session.set_col_bounds(columns, np.zeros(len(columns)), target)
    return columns

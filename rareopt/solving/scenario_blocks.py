"""A two-stage LP with its whole first stage fixed, solved scenario by scenario.

Once every first-stage column is fixed (the plan's purchases and the nominal path they imply),
the extensive form falls apart: each scenario's rows hold only its own columns and the fixed
first stage, and the objective is the first stage's cost plus the probability-weighted sum of
the scenarios' recourse costs. Each scenario's block is then an LP of its own, a few hundred
columns: its columns, its rows with the first stage's contribution moved into their bounds, and
its recourse cost (USD, unweighted) as the objective. Solving the blocks one after the other
gives the extensive form's optimum (the sum of the blocks' optima, weighted) in far less time
than one LP of them all, and in the memory of one block.

The goal rows (``priority``) and every first-stage row hold only first-stage columns, so with
the first stage fixed they are constants; they are checked, not solved. A CVaR objective couples
the scenarios (its level is shared) and is not split.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from rareopt.exceptions import NotSupportedError
from rareopt.model.lp import LinearProgram, SolverOutput
from rareopt.model.two_stage import SCENARIO_COLUMNS, SCENARIO_ROWS, first_stage_columns
from rareopt.solving.highs import HighsSession, SolveOptions
from rareopt.solving.pipeline import Prepared, SolveRun
from rareopt.status import SolveStatus

__all__ = ["ScenarioBlocks", "scenario_blocks", "run_by_scenario"]

_FEASIBILITY_TOLERANCE = 1e-6
"""Largest violation of a first-stage row at the fixed first stage, relative to the row's bound
(at least 1 t or USD)."""


@dataclass(frozen=True)
class ScenarioBlocks:
    """A fixed-first-stage two-stage LP's scenario blocks, ready to solve one by one.

    Attributes
    ----------
    lp : LinearProgram
        The whole LP.
    first_stage : ndarray
        The fixed first stage's values, one per first-stage column (the LP's first columns).
    columns, rows : list of ndarray
        Each scenario's columns and rows in the LP, in model order.
    matrices : list of csc_matrix
        Each scenario's rows over its columns.
    shifts : list of ndarray
        What the fixed first stage contributes to each scenario's rows.
    first_stage_violation : float
        The largest violation of a first-stage or goal row at the fixed first stage, relative to
        the row's bound (at least 1).
    """

    lp: LinearProgram
    first_stage: np.ndarray
    columns: list[np.ndarray]
    rows: list[np.ndarray]
    matrices: list[sp.csc_matrix]
    shifts: list[np.ndarray]
    first_stage_violation: float

    def block(self, k: int) -> LinearProgram:
        """Scenario ``k``'s LP: min its recourse cost (USD) over its own columns.

        Examples
        --------
        >>> import rareopt
        >>> from rareopt.solving.pipeline import prepare
        >>> from rareopt.model.two_stage import first_stage_columns, fix_whole_first_stage
        >>> tiny = rareopt.load_example("tiny")
        >>> ready = prepare(tiny, rareopt.event_scenarios(["china-japan-2010"]))
        >>> fix_whole_first_stage(ready.lp, np.zeros(first_stage_columns(ready.lp)))
        >>> one = scenario_blocks(ready.lp).block(0)
        >>> one.matrix.shape[1] < ready.lp.matrix.shape[1]
        True
        """
        lp, cols, rows, shift = self.lp, self.columns[k], self.rows[k], self.shifts[k]
        n_first = len(self.first_stage)
        recourse = lp.recourse[k]  # type: ignore[index]  # a two-stage LP has its recourse
        cost = recourse[:, cols].toarray().ravel()
        offset = float((recourse[:, :n_first] @ self.first_stage)[0])
        return LinearProgram(
            cost=cost,
            offset=offset,
            matrix=self.matrices[k],
            col_lower=lp.col_lower[cols].copy(),
            col_upper=lp.col_upper[cols].copy(),
            row_lower=lp.row_lower[rows] - shift,
            row_upper=lp.row_upper[rows] - shift,
            integrality=np.zeros(len(cols), dtype=np.int32),
        )


def _members(lp: LinearProgram, families: tuple[str, ...], rows: bool, names: dict) -> np.ndarray:
    """Each column (or row) of the LP's scenario ``families``: its scenario's position, else -1."""
    blocks = lp.row_blocks if rows else lp.col_blocks
    size = lp.matrix.shape[0 if rows else 1]
    owner = np.full(size, -1, dtype=np.int64)
    for family in families:
        block = blocks.get(family)
        if block is None or not len(block.frame):
            continue
        if "scenario" not in block.frame:
            # A family shared by the scenarios (the CVaR level) couples them.
            raise NotSupportedError(
                f"solving scenario by scenario: the family {family!r} is shared by the "
                "scenarios (a CVaR objective); evaluate with the expected cost"
            )
        at = block.positions >= 0
        owner[block.positions[at]] = block.frame["scenario"].map(names).to_numpy(np.int64)[at]
    return owner


def scenario_blocks(lp: LinearProgram) -> ScenarioBlocks:
    """Split a two-stage LP whose first stage is fixed into its scenarios' blocks.

    Parameters
    ----------
    lp : LinearProgram
        From :func:`rareopt.model.two_stage.assemble_two_stage`, with every first-stage column
        fixed (:func:`rareopt.model.two_stage.fix_whole_first_stage`).

    Returns
    -------
    ScenarioBlocks

    Raises
    ------
    ValueError
        When a first-stage column is not fixed, or a scenario's row reaches another scenario's
        columns.

    Examples
    --------
    >>> import rareopt
    >>> from rareopt.solving.pipeline import prepare
    >>> from rareopt.model.two_stage import first_stage_columns, fix_whole_first_stage
    >>> s = rareopt.event_scenarios(["china-japan-2010"], baseline=0.9)
    >>> ready = prepare(rareopt.load_example("tiny"), s)
    >>> fix_whole_first_stage(ready.lp, np.zeros(first_stage_columns(ready.lp)))
    >>> len(scenario_blocks(ready.lp).columns)
    2
    """
    if lp.recourse is None:
        raise ValueError("scenario_blocks: not a two-stage LP (it has no recourse costs)")
    n_w = lp.recourse.shape[0]
    n_first = first_stage_columns(lp)
    first = slice(0, n_first)
    if not np.array_equal(lp.col_lower[first], lp.col_upper[first]):
        raise ValueError("scenario_blocks: fix every first-stage column first")
    x_first = lp.col_lower[first].copy()
    names = {n: k for k, n in enumerate(_scenario_names(lp))}
    col_owner = _members(lp, SCENARIO_COLUMNS, False, names)
    row_owner = _members(lp, SCENARIO_ROWS, True, names)
    if (col_owner[:n_first] >= 0).any() or (col_owner[n_first:] < 0).any():
        raise ValueError("scenario_blocks: the first-stage columns must come first")
    csr = lp.matrix.tocsr()
    shift_all = csr[:, first] @ x_first
    # The rows no scenario owns hold first-stage columns only: constants now, to be checked.
    shared = np.flatnonzero(row_owner < 0)
    if csr[shared][:, n_first:].nnz:
        raise ValueError("scenario_blocks: a first-stage row reaches scenario columns")
    activity = shift_all[shared]
    # Relative to the row's size: a row of 10^6 t holds to a millionth of it, as HiGHS's own.
    lower, upper = lp.row_lower[shared], lp.row_upper[shared]
    size = np.maximum.reduce(
        [np.ones(len(shared)), np.abs(np.where(np.isfinite(lower), lower, 0.0)),
         np.abs(np.where(np.isfinite(upper), upper, 0.0))]
    )  # fmt: skip
    violation = np.maximum(lower - activity, activity - upper) / size
    col_order = np.argsort(col_owner, kind="stable")
    row_order = np.argsort(row_owner, kind="stable")
    col_edges = np.searchsorted(col_owner[col_order], np.arange(n_w + 1))
    row_edges = np.searchsorted(row_owner[row_order], np.arange(n_w + 1))
    # The scenarios' rows in scenario order, their columns likewise: each block is a run of rows
    # (cheap to take from CSR) and, within it, a run of columns.
    own = csr[row_order[row_edges[0] :]][:, col_order]
    columns, rows, matrices, shifts = [], [], [], []
    nnz = 0
    for k in range(n_w):
        cols = col_order[col_edges[k] : col_edges[k + 1]]
        rws = row_order[row_edges[k] : row_edges[k + 1]]
        rows_k = own[row_edges[k] - row_edges[0] : row_edges[k + 1] - row_edges[0]]
        part = rows_k[:, col_edges[k] : col_edges[k + 1]].tocsc()
        nnz += part.nnz
        columns.append(cols)
        rows.append(rws)
        matrices.append(part)
        shifts.append(shift_all[rws])
    if nnz != own.nnz - own[:, :n_first].nnz:
        raise ValueError("scenario_blocks: a scenario's row reaches another scenario's columns")
    return ScenarioBlocks(
        lp,
        x_first,
        columns,
        rows,
        matrices,
        shifts,
        float(violation.max()) if len(violation) else 0.0,
    )


def _scenario_names(lp: LinearProgram) -> list[str]:
    """The scenarios in model order, from the one-per-scenario ``scenario_balance`` rows."""
    frame = lp.row_blocks["scenario_balance"].frame
    return list(dict.fromkeys(frame["scenario"]))


def run_by_scenario(ready: Prepared, options: SolveOptions) -> SolveRun:
    """Solve a fixed-first-stage two-stage problem scenario by scenario.

    Each block is handed to HiGHS and solved on its own; the solutions go back into the LP's
    columns, so that the result is read and checked as the extensive form's would be. There are
    no duals (each block's would be the scenario's alone, unweighted).

    Parameters
    ----------
    ready : Prepared
        A two-stage problem with every first-stage column fixed.
    options : SolveOptions
        HiGHS settings for every block.

    Returns
    -------
    SolveRun
        Status ``optimal`` with every block solved; otherwise the first block's failure, naming
        the scenario.

    Examples
    --------
    >>> import rareopt
    >>> from rareopt.solving.pipeline import prepare
    >>> from rareopt.model.two_stage import first_stage_columns, fix_whole_first_stage
    >>> from rareopt.solving.pipeline import run_prepared
    >>> tiny = rareopt.load_example("tiny")
    >>> nominal = run_prepared(prepare(tiny), SolveOptions()).output.x  # the one-stage optimum
    >>> ready = prepare(tiny, rareopt.event_scenarios(["china-japan-2010"], baseline=0.9))
    >>> fix_whole_first_stage(ready.lp, nominal)
    >>> run_by_scenario(ready, SolveOptions()).status.value
    'optimal'
    >>> fix_whole_first_stage(ready.lp, np.zeros(first_stage_columns(ready.lp)))
    >>> run_by_scenario(ready, SolveOptions()).explanation  # buying nothing, meeting all demand
    'the fixed first stage breaks its own rows by 1 of their bounds'
    """
    started = time.perf_counter()
    lp = ready.lp
    blocks = scenario_blocks(lp)
    x = lp.col_lower.copy()
    iterations, seconds = 0, 0.0
    solver: dict[str, Any] = {
        "rows": int(lp.matrix.shape[0]),
        "columns": int(lp.matrix.shape[1]),
        "nonzeros": int(lp.matrix.nnz),
        "scenario_blocks": len(blocks.columns),
    }
    names = _scenario_names(lp)
    settings = replace(options, progress=False)

    def failed(status: SolveStatus, message: str, explanation: str) -> SolveRun:
        output = SolverOutput(status, message, None, None, None, None, seconds)
        return SolveRun(ready, output, status, explanation, None, None, solver, None)

    if blocks.first_stage_violation > _FEASIBILITY_TOLERANCE:
        return failed(
            SolveStatus.INFEASIBLE,
            "first stage infeasible",
            "the fixed first stage breaks its own rows by "
            f"{blocks.first_stage_violation:.3g} of their bounds",
        )
    session: HighsSession | None = None
    worst = 0.0
    for k in range(len(blocks.columns)):
        block = blocks.block(k)
        if session is None:
            session = HighsSession(block, settings)
        else:
            session.load(block)
        # A block solves in milliseconds: in this thread (Ctrl-C is seen between blocks).
        try:
            output = session.run(in_thread=False)
        except KeyboardInterrupt:
            return failed(SolveStatus.INTERRUPTED, "interrupted by the user", "interrupted")
        iterations += output.iterations
        seconds += output.solve_seconds
        # Only a proven optimum per block: one stopped at a limit would pass off its recourse
        # as the least (a time limit applies to each block).
        if output.status != SolveStatus.OPTIMAL or output.x is None:
            return failed(
                output.status,
                output.message,
                f"scenario {names[k]!r}: {output.message} with the first stage fixed",
            )
        worst = max(worst, output.max_primal_infeasibility)
        x[blocks.columns[k]] = output.x
    objective = float(lp.cost @ x + lp.offset)
    solver["iterations"] = iterations
    solver["max_primal_infeasibility"] = worst
    ready.timings["solve_seconds"] = time.perf_counter() - started
    output = SolverOutput(
        SolveStatus.OPTIMAL, "Optimal (scenario by scenario)", objective, x, None, None, seconds,
        iterations=iterations,
    )  # fmt: skip
    return SolveRun(ready, output, SolveStatus.OPTIMAL, None, None, None, solver, None)

"""Hand-off to HiGHS: compile a Pyomo model to matrices, pass them to ``highspy``, read back.

This is the only module that talks to HiGHS. The route is Pyomo's ``LinearStandardFormCompiler``
(mixed form: rows keep their <=, = or >= sense) into ``highspy.Highs.passModel`` with column-wise
arrays, which avoids Pyomo's per-component solver interfaces. The :class:`CompiledLP` is kept so that
callers can change bounds and costs in place and re-solve with a warm start.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import highspy
import numpy as np
import pandas as pd
import pyomo.environ as pyo
import scipy.sparse  # noqa: F401 - the compiler imports it lazily; load it now, not in the first hand-off
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from rareopt.keys import row_keys
from rareopt.status import SolveStatus, status_from_highs

__all__ = [
    "SolveOptions",
    "Block",
    "CompiledLP",
    "SolverOutput",
    "compile_model",
    "make_highs",
    "run",
]

LP_ALGORITHMS = ("choose", "simplex", "ipm", "pdlp")


@dataclass(frozen=True)
class SolveOptions:
    """Solver settings, checked when made.

    Parameters
    ----------
    time_limit : float, optional
        Seconds of HiGHS time before it stops with the best plan so far.
    mip_rel_gap : float, optional
        Relative MIP gap at which HiGHS stops (only for models with integer variables).
    threads : int, optional
        HiGHS threads (the process's HiGHS thread pool is rebuilt to this size).
    presolve : bool
        Run HiGHS's presolve.
    lp_algorithm : {"choose", "simplex", "ipm", "pdlp"}
        LP method. Not allowed with integer variables (HiGHS would drop integrality).
    random_seed : int, optional
        HiGHS's random seed.
    log : bool
        Print HiGHS's log.

    Examples
    --------
    >>> SolveOptions(lp_algorithm="ipm").highs_options(is_mip=False)["solver"]
    'ipm'
    """

    time_limit: float | None = None
    mip_rel_gap: float | None = None
    threads: int | None = None
    presolve: bool = True
    lp_algorithm: str = "choose"
    random_seed: int | None = None
    log: bool = False

    def __post_init__(self) -> None:
        problems = []
        if self.time_limit is not None and not (
            isinstance(self.time_limit, (int, float)) and self.time_limit > 0
        ):
            problems.append(f"time_limit: got {self.time_limit!r}; allowed: seconds > 0")
        if self.mip_rel_gap is not None and not (
            isinstance(self.mip_rel_gap, (int, float)) and 0 <= self.mip_rel_gap < 1
        ):
            problems.append(f"mip_rel_gap: got {self.mip_rel_gap!r}; allowed: 0 <= gap < 1")
        if self.threads is not None and not (isinstance(self.threads, int) and self.threads >= 1):
            problems.append(f"threads: got {self.threads!r}; allowed: an integer >= 1")
        if not isinstance(self.presolve, bool):
            problems.append(f"presolve: got {self.presolve!r}; allowed: True or False")
        if self.lp_algorithm not in LP_ALGORITHMS:
            problems.append(
                f"lp_algorithm: got {self.lp_algorithm!r}; allowed: {list(LP_ALGORITHMS)}"
            )
        if self.random_seed is not None and not isinstance(self.random_seed, int):
            problems.append(f"random_seed: got {self.random_seed!r}; allowed: an integer")
        if problems:
            raise ValueError("invalid solve option(s): " + "; ".join(problems))

    def highs_options(self, is_mip: bool) -> dict[str, Any]:
        """HiGHS option names and values for these settings."""
        if is_mip and self.lp_algorithm != "choose":
            raise ValueError(
                f"lp_algorithm: got {self.lp_algorithm!r} for a model with integer variables; "
                "allowed: 'choose' (HiGHS would otherwise solve the LP relaxation)"
            )
        options: dict[str, Any] = {
            "output_flag": bool(self.log),
            "presolve": "on" if self.presolve else "off",
            "solver": self.lp_algorithm,
        }
        if self.time_limit is not None:
            options["time_limit"] = float(self.time_limit)
        if self.mip_rel_gap is not None:
            options["mip_rel_gap"] = float(self.mip_rel_gap)
        if self.threads is not None:
            options["threads"] = int(self.threads)
        if self.random_seed is not None:
            options["random_seed"] = int(self.random_seed)
        return options


@dataclass(frozen=True)
class Block:
    """A family of columns (``buy``, ``stock`` ...) or rows (``balance``, ``country_cap`` ...).

    Attributes
    ----------
    frame : DataFrame
        One row per member, labelled (a table of the model's layout).
    key : tuple of str
        The columns of ``frame`` that name a member, e.g. ("element", "supplier", "period").
    positions : ndarray of int
        The member's column (or row) in the LP; -1 where it is absent (a Pyomo variable that was
        fixed, or appears nowhere; a constraint that was deactivated or trivial).
    absent : ndarray, optional
        For columns: the value of each absent member (its fixed value, or 0).
    """

    frame: pd.DataFrame
    key: tuple
    positions: np.ndarray
    absent: np.ndarray | None = None

    def keys(self) -> list[tuple]:
        """Each member's key tuple, in order (empty tuples for a family without key columns)."""
        return row_keys(self.frame, *self.key) if self.key else [()] * len(self.frame)

    def values(self, vector: np.ndarray, absent: np.ndarray | float = 0.0) -> np.ndarray:
        """The members' entries of a column- (or row-) aligned vector; ``absent`` where absent."""
        pos = self.positions
        out = vector[np.maximum(pos, 0)] if len(vector) else np.zeros(len(pos))
        missing = pos < 0
        return np.where(missing, absent, out) if missing.any() else out


@dataclass
class CompiledLP:
    """A linear model as HiGHS's arrays: min cost @ x + offset, row_lower <= A x <= row_upper.

    Attributes
    ----------
    col_blocks, row_blocks : dict of str to Block
        Where each named family of the sourcing model sits among the columns and rows; results
        are read through these, whichever route built the LP.
    columns : list of VarData, optional
        For an LP compiled from a Pyomo model: the Pyomo variable of each column (fixed variables
        are folded into the bounds and offset).
    rows : list of (ConstraintData, int), optional
        For an LP compiled from a Pyomo model: the constraint of each row and its sense: -1 (>=),
        0 (=), 1 (<=). A ranged constraint gives two rows.
    cost_terms : dict of str to ndarray, optional
        The objective split into its named terms (USD per unit of each column), where known.
    """

    cost: np.ndarray
    offset: float
    matrix: Any
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    integrality: np.ndarray
    col_blocks: dict = field(default_factory=dict)
    row_blocks: dict = field(default_factory=dict)
    columns: list | None = None
    rows: list | None = None
    cost_terms: dict | None = None
    _positions: dict = field(default_factory=dict, repr=False)
    _row_positions: dict = field(default_factory=dict, repr=False)

    @property
    def is_mip(self) -> bool:
        """True when some column is integer."""
        return bool(self.integrality.any())

    def values(self, family: str, x: np.ndarray) -> np.ndarray:
        """Solution values of a column family, in its layout order (absent members: fixed or 0)."""
        block = self.col_blocks[family]
        return block.values(x, 0.0 if block.absent is None else block.absent)

    def positions(self, variables) -> np.ndarray:
        """Column of each Pyomo variable in ``variables``; -1 for a variable absent from the LP.

        A variable is absent when it is fixed or appears in no constraint and not in the objective.
        """
        if not self._positions:
            self._positions.update((id(v), j) for j, v in enumerate(self.columns or ()))
        get = self._positions.get
        return np.fromiter((get(id(v), -1) for v in variables), dtype=np.int64)

    def row_positions(self, constraints) -> np.ndarray:
        """Row of each Pyomo constraint; -1 for one not in the LP (trivial or deactivated)."""
        if not self._row_positions:
            self._row_positions.update((id(con), i) for i, (con, _) in enumerate(self.rows or ()))
        get = self._row_positions.get
        return np.fromiter((get(id(c), -1) for c in constraints), dtype=np.int64)

    def _label(self, blocks: dict, index: int, pyomo: list | None, kind: str):
        """Family, key and printable name of row or column ``index`` (family "" if none)."""
        for name, block in blocks.items():
            hit = np.flatnonzero(block.positions == index)
            if len(hit):
                key = tuple(block.frame[c].iat[hit[0]] for c in block.key)
                return name, key, f"{name}[{','.join(map(str, key))}]"
        return "", (), pyomo[index].name if pyomo is not None else f"{kind} {index}"

    def row_label(self, r: int) -> tuple[str, tuple, str]:
        """Family, key and a printable name of row ``r`` (family "" for a user's own row)."""
        rows = None if self.rows is None else [con for con, _ in self.rows]
        return self._label(self.row_blocks, r, rows, "row")

    def col_label(self, j: int) -> tuple[str, tuple, str]:
        """Family, key and a printable name of column ``j`` (family "" for a user's own)."""
        return self._label(self.col_blocks, j, self.columns, "column")


def compile_model(model: pyo.ConcreteModel) -> CompiledLP:
    """Compile a linear Pyomo model with one active objective into :class:`CompiledLP`.

    Examples
    --------
    >>> import pyomo.environ as pyo
    >>> m = pyo.ConcreteModel()
    >>> m.x = pyo.Var(bounds=(0, 4))
    >>> m.c = pyo.Constraint(expr=m.x >= 1)
    >>> m.o = pyo.Objective(expr=2 * m.x)
    >>> lp = compile_model(m)
    >>> lp.cost.tolist(), lp.row_lower.tolist(), lp.col_upper.tolist()
    ([2.0], [1.0], [4.0])
    """
    info = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=pyo.minimize)
    n_cols = len(info.columns)
    cost = np.asarray(info.c.todense()).ravel()[:n_cols] if info.c.shape[0] else np.zeros(n_cols)
    sense = np.array([s for _, s in info.rows], dtype=np.int64)
    rhs = np.asarray(info.rhs, dtype=float)
    lower = np.array([-np.inf if v.lb is None else v.lb for v in info.columns], dtype=float)
    upper = np.array([np.inf if v.ub is None else v.ub for v in info.columns], dtype=float)
    integrality = np.array([1 if v.is_integer() else 0 for v in info.columns], dtype=np.int32)
    offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
    return CompiledLP(
        columns=list(info.columns),
        rows=list(info.rows),
        cost=cost.astype(float),
        offset=offset,
        matrix=info.A.tocsc(),
        col_lower=lower,
        col_upper=upper,
        row_lower=np.where(sense <= 0, rhs, -np.inf),
        row_upper=np.where(sense >= 0, rhs, np.inf),
        integrality=integrality,
    )


def fix_integers(lp: CompiledLP, x: np.ndarray) -> CompiledLP:
    """The LP of a MIP with every integer column fixed at its (rounded) value in ``x``.

    Its duals are the marginal values of the continuous decisions given the discrete ones.

    Examples
    --------
    >>> import pyomo.environ as pyo
    >>> m = pyo.ConcreteModel()
    >>> m.y = pyo.Var(domain=pyo.Binary)
    >>> m.x = pyo.Var(bounds=(0, 4))
    >>> m.c = pyo.Constraint(expr=m.x <= 4 * m.y)
    >>> m.o = pyo.Objective(expr=m.y - m.x)
    >>> lp = compile_model(m)
    >>> fixed = fix_integers(lp, np.array([1.0, 4.0]))
    >>> fixed.is_mip, fixed.col_lower.tolist(), fixed.col_upper.tolist()
    (False, [1.0, 0.0], [1.0, 4.0])
    """
    integer = lp.integrality.astype(bool)
    value = np.round(x)
    return replace(
        lp,
        col_lower=np.where(integer, value, lp.col_lower),
        col_upper=np.where(integer, value, lp.col_upper),
        integrality=np.zeros_like(lp.integrality),
        _positions={},
    )


def make_highs(lp: CompiledLP, options: SolveOptions) -> highspy.Highs:
    """A ``highspy.Highs`` holding ``lp`` with ``options`` applied."""
    if options.threads is not None:
        # HiGHS keeps one thread pool per process, sized at its first solve; a solve asking for
        # a thread count needs the pool rebuilt, or HiGHS refuses the option and fails.
        highspy.Highs.resetGlobalScheduler(True)
    h = highspy.Highs()
    for name, value in options.highs_options(lp.is_mip).items():
        h.setOptionValue(name, value)
    a = lp.matrix
    n_rows, n_cols = a.shape
    status = h.passModel(
        n_cols,
        n_rows,
        int(a.nnz),
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        lp.offset,
        lp.cost,
        lp.col_lower,
        lp.col_upper,
        lp.row_lower,
        lp.row_upper,
        a.indptr.astype(np.int32),
        a.indices.astype(np.int32),
        a.data.astype(float),
        lp.integrality,
    )
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS rejected the compiled model (passModel returned kError)")
    return h


@dataclass
class SolverOutput:
    """What HiGHS returned, in arrays aligned with a :class:`CompiledLP`.

    ``x`` is None without a feasible plan; ``row_dual``/``col_dual`` are None for a MIP or when
    HiGHS holds no valid dual solution. ``row_dual[i]`` is the change in objective (USD) per unit
    increase of row i's active bound; ``col_dual[j]`` the same for column j's bound.
    """

    status: SolveStatus
    message: str
    objective: float | None
    x: np.ndarray | None
    row_dual: np.ndarray | None
    col_dual: np.ndarray | None
    solve_seconds: float
    mip_gap: float | None = None
    mip_dual_bound: float | None = None
    mip_nodes: int | None = None
    iterations: int = 0
    max_primal_infeasibility: float = 0.0


def run(h: highspy.Highs, lp: CompiledLP) -> SolverOutput:
    """Run HiGHS and collect its status, solution and duals."""
    start = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - start
    model_status = h.getModelStatus()
    info = h.getInfo()
    has_point = info.primal_solution_status == 2
    status = status_from_highs(model_status, has_point)
    solution = h.getSolution()
    x = np.asarray(solution.col_value, dtype=float) if status.is_ok else None
    duals_ok = status.is_ok and not lp.is_mip and info.dual_solution_status == 2
    return SolverOutput(
        status=status,
        message=h.modelStatusToString(model_status),
        objective=float(info.objective_function_value) if status.is_ok else None,
        x=x,
        row_dual=np.asarray(solution.row_dual, dtype=float) if duals_ok else None,
        col_dual=np.asarray(solution.col_dual, dtype=float) if duals_ok else None,
        solve_seconds=seconds,
        mip_gap=float(info.mip_gap) if lp.is_mip else None,
        mip_dual_bound=float(info.mip_dual_bound) if lp.is_mip else None,
        mip_nodes=int(info.mip_node_count) if lp.is_mip else None,
        iterations=int(info.simplex_iteration_count) + max(int(info.ipm_iteration_count), 0),
        max_primal_infeasibility=float(info.max_primal_infeasibility),
    )

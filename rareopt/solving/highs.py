"""The only module that talks to HiGHS: options, hand-off, run, status map, edits, IIS.

A :class:`~rareopt.model.lp.LinearProgram` goes to ``highspy.Highs.passModel`` as column-wise
arrays. A :class:`HighsSession` keeps it in HiGHS so that sweeps (frontiers, HHI cuts) change
costs, coefficients and bounds in place and re-solve warm from the previous basis.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np

from rareopt.model.lp import LinearProgram, SolverOutput
from rareopt.status import SolveStatus

__all__ = [
    "SolveOptions",
    "HighsSession",
    "IIS",
    "Ranging",
    "ranging",
    "status_from_highs",
    "LP_ALGORITHMS",
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
    progress : bool, optional
        Show a progress bar over a two-stage solve's or a stress test's stages (building,
        solving, checking); default: only on a terminal. Not a HiGHS option.

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
    progress: bool | None = None

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
        if self.progress is not None and not isinstance(self.progress, bool):
            problems.append(f"progress: got {self.progress!r}; allowed: True, False or None")
        if self.random_seed is not None and not isinstance(self.random_seed, int):
            problems.append(f"random_seed: got {self.random_seed!r}; allowed: an integer")
        if problems:
            raise ValueError("invalid solve option(s): " + "; ".join(problems))

    @classmethod
    def from_keywords(cls, options: Mapping[str, Any]) -> SolveOptions:
        """Settings from ``solve(..., **options)``; an unknown name is a TypeError naming the allowed.

        Examples
        --------
        >>> SolveOptions.from_keywords({"time_limit": 60}).time_limit
        60
        >>> SolveOptions.from_keywords({"timelimit": 60})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: unknown solve option(s) ['timelimit']; allowed: ['log', 'lp_algorithm', ...]
        """
        allowed = set(cls.__dataclass_fields__)
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise TypeError(f"unknown solve option(s) {unknown}; allowed: {sorted(allowed)}")
        return cls(**options)

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


_MS = highspy.HighsModelStatus
_LIMITS = {
    _MS.kTimeLimit,
    _MS.kIterationLimit,
    _MS.kSolutionLimit,
    _MS.kInterrupt,
    _MS.kObjectiveBound,
    _MS.kObjectiveTarget,
    _MS.kHighsInterrupt,  # type: ignore[attr-defined]  # in highspy, not in its stubs
}
_DIRECT = {
    _MS.kOptimal: SolveStatus.OPTIMAL,
    _MS.kModelEmpty: SolveStatus.OPTIMAL,
    _MS.kInfeasible: SolveStatus.INFEASIBLE,
    _MS.kUnbounded: SolveStatus.UNBOUNDED,
    _MS.kUnboundedOrInfeasible: SolveStatus.INFEASIBLE_OR_UNBOUNDED,
    _MS.kUnknown: SolveStatus.NUMERICAL_TROUBLE,
    _MS.kSolveError: SolveStatus.NUMERICAL_TROUBLE,
    _MS.kPostsolveError: SolveStatus.NUMERICAL_TROUBLE,
    _MS.kNotset: SolveStatus.ERROR,
    _MS.kLoadError: SolveStatus.ERROR,
    _MS.kModelError: SolveStatus.ERROR,
    _MS.kPresolveError: SolveStatus.ERROR,
    _MS.kMemoryLimit: SolveStatus.ERROR,
}


def status_from_highs(
    model_status: highspy.HighsModelStatus, has_feasible_point: bool
) -> SolveStatus:
    """Map a HiGHS model status onto a :class:`SolveStatus`.

    Limits (time, iterations, solutions, interrupts) split on whether HiGHS holds a feasible point.

    Examples
    --------
    >>> status_from_highs(highspy.HighsModelStatus.kTimeLimit, True)
    <SolveStatus.LIMIT_WITH_PLAN: 'limit_with_plan'>
    """
    if model_status in _LIMITS:
        return SolveStatus.LIMIT_WITH_PLAN if has_feasible_point else SolveStatus.LIMIT_NO_PLAN
    return _DIRECT.get(model_status, SolveStatus.ERROR)


try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None)
except (OSError, TypeError):  # no C library to flush by name (e.g. Windows): Python's flush must do
    _LIBC = None


def _flush_c_stdout() -> None:
    if _LIBC is not None:
        _LIBC.fflush(None)


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    """Send the process's standard output (file descriptor 1) to the null device for a moment.

    Nothing is silenced where there is no file descriptor 1 to redirect (a daemon, pythonw).
    """
    if sys.stdout is not None:
        sys.stdout.flush()
    _flush_c_stdout()  # what C code buffered before goes where it was meant to
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        _flush_c_stdout()  # HiGHS's buffered banner goes to the null device
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def _keep_the_banner_off_stdout() -> None:
    """Make the process's first ``Highs`` object now, with standard output silenced.

    highspy prints its banner from C++ when the first ``Highs`` object of a process is made
    (later ones print nothing), before any option (``output_flag``) can be set, and a library
    must not print unless asked. Doing it once on import, before any thread of the caller's can
    be solving, means standard output is never redirected while the caller's code runs.
    """
    with _stdout_silenced():
        highspy.Highs()


_keep_the_banner_off_stdout()


def _make_highs(lp: LinearProgram, options: SolveOptions) -> highspy.Highs:
    """A ``highspy.Highs`` holding ``lp`` with ``options`` applied."""
    if options.threads is not None:
        # HiGHS keeps one thread pool per process, sized at its first solve; a solve asking for
        # a thread count needs the pool rebuilt, or HiGHS refuses the option and fails.
        highspy.Highs.resetGlobalScheduler(True)
    h = highspy.Highs()
    for name, value in options.highs_options(lp.is_mip).items():
        h.setOptionValue(name, value)
    _pass_model(h, lp)
    return h


def _pass_model(h: highspy.Highs, lp: LinearProgram) -> None:
    """Hand ``lp`` to ``h`` (replacing any model it held; its options stay)."""
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


def _run(
    h: highspy.Highs,
    lp: LinearProgram,
    waiting: Callable[[], None] | None = None,
    in_thread: bool = True,
) -> SolverOutput:
    """Run HiGHS and collect its status, solution and duals.

    HiGHS runs in a thread of its own so that Ctrl-C reaches Python at once: it then asks HiGHS
    to stop (``cancelSolve``, checked at HiGHS's interrupt callbacks, switched on then), waits
    for it, and reports the solve ``interrupted`` with no plan. ``in_thread=False`` runs it in
    this thread, for LPs of milliseconds (a scenario's block), where starting the thread would
    cost more than the solve; Ctrl-C is then seen when the solve returns.
    """
    start = time.perf_counter()
    interrupted = False
    if in_thread:
        interrupted = _solve_in_thread(h, waiting)
    else:
        h.run()
    seconds = time.perf_counter() - start
    if interrupted:
        return SolverOutput(
            status=SolveStatus.INTERRUPTED,
            message="interrupted by the user",
            objective=None,
            x=None,
            row_dual=None,
            col_dual=None,
            solve_seconds=seconds,
        )
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
        basis=_saved_basis(h, lp) if duals_ok else None,
    )


def _solve_in_thread(h: highspy.Highs, waiting: Callable[[], None] | None) -> bool:
    """Run HiGHS in its own thread until it is done; True when Ctrl-C stopped it."""
    interrupted = False
    h.startSolve()
    while True:
        try:
            done, _ = h.wait(0.05)
        except KeyboardInterrupt:
            # Only now does HiGHS check for a stop request at its interrupt callbacks: checking
            # throughout would slow every solve by some 10%.
            interrupted = True
            h.HandleUserInterrupt = True
            h.cancelSolve()
            continue
        if done:
            return interrupted
        if waiting is not None:
            waiting()


@dataclass(frozen=True)
class _Basis:
    """HiGHS's optimal basis, with the LP's costs and bounds as solved and any rows beyond its own.

    ``cuts`` is None or (lower, upper, starts, columns, values): the HHI cuts HiGHS held, row-wise.
    """

    basis: highspy.HighsBasis
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    cuts: tuple[np.ndarray, ...] | None


def _saved_basis(h: highspy.Highs, lp: LinearProgram) -> _Basis:
    """What :func:`ranging` needs to rebuild the optimum later without HiGHS's object.

    Copies of the basis, costs and bounds take well under a millisecond; ranging itself (a second
    hand-off) is left to the few results whose duals are read. The LP's own arrays may be edited
    after the solve (the goal loop restores the bounds it tightened), hence the copies.
    """
    own = lp.matrix.shape[0]
    extra = h.getNumRow() - own
    cuts = None
    if extra > 0:
        rows = np.arange(own, own + extra, dtype=np.int32)
        _, _, lower, upper, _ = h.getRows(extra, rows)
        _, starts, columns, values = h.getRowsEntries(extra, rows)
        cuts = (lower, upper, starts, columns, values)
    return _Basis(
        h.getBasis(),
        lp.cost.copy(),
        lp.col_lower.copy(),
        lp.col_upper.copy(),
        lp.row_lower.copy(),
        lp.row_upper.copy(),
        cuts,
    )


@dataclass(frozen=True)
class Ranging:
    """How far each bound of an optimal LP may move while its basis, so every dual, stays optimal.

    Attributes
    ----------
    row_from, row_to : ndarray
        Per row of the LP, the lowest and highest value of its right-hand side (the bound it
        sits at) for which the duals hold. A row off its bounds (dual 0) keeps its dual until
        its bound crosses the row's activity: its upper bound from the activity up without
        limit, its lower bound from the activity down, an equality's only at the activity.
    col_from, col_to : ndarray
        Per column, the same for its upper bound (a column below it: from its value up).
    """

    row_from: np.ndarray
    row_to: np.ndarray
    col_from: np.ndarray
    col_to: np.ndarray


_AT_BOUND = (int(highspy.HighsBasisStatus.kLower), int(highspy.HighsBasisStatus.kUpper))


def _statuses(statuses: list[highspy.HighsBasisStatus], count: int) -> np.ndarray:
    """The first ``count`` basis statuses as HiGHS's codes."""
    return np.fromiter(map(int, statuses[:count]), dtype=np.int8, count=count)


def ranging(lp: LinearProgram, output: SolverOutput) -> Ranging | None:
    """HiGHS's ranging (``Highs.getRanging``) at the optimal basis ``output`` kept.

    ``lp``, with the costs and bounds and any HHI cuts it was solved with, goes to a fresh HiGHS
    started from that basis: optimal, so HiGHS runs no iteration, and ranges it. None when
    ``output`` kept no basis (a MIP, or no LP duals), or when HiGHS cannot range that basis (it
    had to move from it: the ranges would be another basis's).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> lp = LinearProgram(cost=np.array([1.0]), offset=0.0, matrix=sp.csc_matrix([[1.0]]),
    ...     col_lower=np.ones(1), col_upper=np.array([10.0]), row_lower=np.array([2.0]),
    ...     row_upper=np.array([np.inf]), integrality=np.zeros(1, dtype=np.int32))
    >>> r = ranging(lp, HighsSession(lp).run())  # x >= 2 costs 1 per unit while 1 <= rhs <= 10
    >>> r.row_from.tolist(), r.row_to.tolist()
    ([1.0], [10.0])
    """
    saved = output.basis
    if saved is None:
        return None
    lp = replace(
        lp,
        cost=saved.cost,
        col_lower=saved.col_lower,
        col_upper=saved.col_upper,
        row_lower=saved.row_lower,
        row_upper=saved.row_upper,
    )
    h = _make_highs(lp, SolveOptions(presolve=False, lp_algorithm="simplex"))
    if saved.cuts is not None:
        lower, upper, starts, columns, values = saved.cuts
        h.addRows(len(lower), lower, upper, len(values), starts, columns, values)
    h.setBasis(saved.basis)
    h.run()
    if (
        h.getModelStatus() != highspy.HighsModelStatus.kOptimal
        or h.getInfo().simplex_iteration_count > 0
    ):
        return None
    status, found = h.getRanging()
    if status != highspy.HighsStatus.kOk or not found.valid:
        return None
    n_rows, n_cols = lp.matrix.shape
    basis, solution = h.getBasis(), h.getSolution()
    activity = np.asarray(solution.row_value, dtype=float)[:n_rows]
    x = np.asarray(solution.col_value, dtype=float)
    # HiGHS ranges a variable off its bounds by forcing its value, not by moving a bound; the
    # bound of such a row or column is free to move up to its value.
    row_at = np.isin(_statuses(basis.row_status, n_rows), _AT_BOUND)
    col_at = _statuses(basis.col_status, n_cols) == int(highspy.HighsBasisStatus.kUpper)
    row_dn = np.asarray(found.row_bound_dn.value_, dtype=float)[:n_rows]
    row_up = np.asarray(found.row_bound_up.value_, dtype=float)[:n_rows]
    finite_upper, finite_lower = np.isfinite(lp.row_upper), np.isfinite(lp.row_lower)
    return Ranging(
        row_from=np.where(row_at, row_dn, np.where(finite_upper, activity, -np.inf)),
        row_to=np.where(row_at, row_up, np.where(finite_lower, activity, np.inf)),
        col_from=np.where(col_at, np.asarray(found.col_bound_dn.value_, dtype=float), x),
        col_to=np.where(col_at, np.asarray(found.col_bound_up.value_, dtype=float), np.inf),
    )


@dataclass(frozen=True)
class IIS:
    """An irreducible infeasible subset: rows, and columns with the bound that is in it.

    ``col_bounds`` holds ``"lower"``, ``"upper"`` or ``"boxed"`` per column of ``cols``.
    """

    rows: list[int]
    cols: list[int]
    col_bounds: list[str]


_IIS_BOUNDS = {2: "lower", 3: "upper", 4: "boxed"}  # HiGHS's IisBoundStatus values in an IIS


class HighsSession:
    """One :class:`~rareopt.model.lp.LinearProgram` held by HiGHS, solved and edited in place.

    Edits keep HiGHS's basis, so the next :meth:`run` starts warm from the last optimum.

    Parameters
    ----------
    lp : LinearProgram
        The arrays to hand over (``passModel``, column-wise).
    options : SolveOptions, optional
        Default ``SolveOptions()``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> lp = LinearProgram(cost=np.array([1.0]), offset=0.0, matrix=sp.csc_matrix([[1.0]]),
    ...     col_lower=np.zeros(1), col_upper=np.array([10.0]), row_lower=np.array([2.0]),
    ...     row_upper=np.array([np.inf]), integrality=np.zeros(1, dtype=np.int32))
    >>> session = HighsSession(lp)
    >>> session.run().objective
    2.0
    >>> session.set_row_bounds([0], [3.0], [np.inf])
    >>> session.run().objective
    3.0
    """

    def __init__(self, lp: LinearProgram, options: SolveOptions | None = None) -> None:
        self.lp = lp
        self.options = SolveOptions() if options is None else options
        self._highs = _make_highs(lp, self.options)
        self.waiting: Callable[[], None] | None = None

    def run(self, in_thread: bool = True) -> SolverOutput:
        """Solve (warm after edits) and return the status, solution and duals.

        ``waiting``, when set, is called about every 50 ms while HiGHS runs (a progress bar's
        tick). ``in_thread=False`` runs HiGHS in this thread: for LPs of milliseconds, where
        Ctrl-C may wait for the solve to return.
        """
        return _run(self._highs, self.lp, self.waiting, in_thread)

    def load(self, lp: LinearProgram) -> None:
        """Hold ``lp`` instead (a scenario's block after another's), with the same options.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> def one(bound):
        ...     return LinearProgram(cost=np.array([1.0]), offset=0.0,
        ...         matrix=sp.csc_matrix([[1.0]]), col_lower=np.zeros(1),
        ...         col_upper=np.array([10.0]), row_lower=np.array([bound]),
        ...         row_upper=np.array([np.inf]), integrality=np.zeros(1, dtype=np.int32))
        >>> session = HighsSession(one(2.0))
        >>> session.load(one(5.0))
        >>> session.run(in_thread=False).objective
        5.0
        """
        if lp.is_mip != self.lp.is_mip:
            raise ValueError("load: an LP and a MIP take different options; start a new session")
        self.lp = lp
        _pass_model(self._highs, lp)

    def set_costs(
        self, columns: Sequence[int] | np.ndarray, costs: Sequence[float] | np.ndarray
    ) -> None:
        """Set the objective coefficients (USD per unit) of ``columns``, in HiGHS and the LP."""
        columns = np.asarray(columns, dtype=np.int32)
        costs = np.asarray(costs, dtype=float)
        self.lp.cost[columns] = costs
        if len(columns):
            self._highs.changeColsCost(len(columns), columns, costs)

    def set_coefficients(self, rows: np.ndarray, columns: np.ndarray, values: np.ndarray) -> None:
        """Set existing matrix entries (row, column) to ``values``, in HiGHS and the LP."""
        matrix = self.lp.matrix
        for r, j, v in zip(np.asarray(rows), np.asarray(columns), np.asarray(values, dtype=float)):
            start, end = matrix.indptr[j], matrix.indptr[j + 1]
            matrix.data[start + np.flatnonzero(matrix.indices[start:end] == r)] = v
            self._highs.changeCoeff(int(r), int(j), float(v))

    def set_row_bounds(
        self,
        rows: Sequence[int] | np.ndarray,
        lower: Sequence[float] | np.ndarray,
        upper: Sequence[float] | np.ndarray,
    ) -> None:
        """Set the bounds of ``rows``, in HiGHS and the LP."""
        rows = np.asarray(rows, dtype=np.int32)
        lower = np.broadcast_to(np.asarray(lower, dtype=float), rows.shape).copy()
        upper = np.broadcast_to(np.asarray(upper, dtype=float), rows.shape).copy()
        self.lp.row_lower[rows], self.lp.row_upper[rows] = lower, upper
        if len(rows):
            # In highspy since 1.7; its type stubs do not list it.
            self._highs.changeRowsBounds(len(rows), rows, lower, upper)  # type: ignore[attr-defined]

    def set_col_bounds(
        self,
        columns: Sequence[int] | np.ndarray,
        lower: Sequence[float] | np.ndarray,
        upper: Sequence[float] | np.ndarray,
    ) -> None:
        """Set the bounds of ``columns``, in HiGHS and the LP."""
        columns = np.asarray(columns, dtype=np.int32)
        lower = np.broadcast_to(np.asarray(lower, dtype=float), columns.shape).copy()
        upper = np.broadcast_to(np.asarray(upper, dtype=float), columns.shape).copy()
        self.lp.col_lower[columns], self.lp.col_upper[columns] = lower, upper
        if len(columns):
            self._highs.changeColsBounds(len(columns), columns, lower, upper)

    def add_row(self, upper: float, columns: Sequence[int], values: Sequence[float]) -> None:
        """Add a row ``values . x[columns] <= upper`` (after the model's own rows).

        Held by HiGHS only (an HHI cut): the LP's arrays keep the model's own rows.
        """
        self._highs.addRow(
            -np.inf,
            float(upper),
            len(columns),
            np.asarray(columns, dtype=np.int32),
            np.asarray(values, dtype=float),
        )

    def write_model(self, path: str) -> None:
        """Write the held LP to a file HiGHS reads back (e.g. ``.mps``), for solver-alone timings."""
        self._highs.writeModel(path)

    def iis(self) -> IIS | None:
        """An irreducible infeasible subset of the held LP, or None if HiGHS finds none."""
        h = self._highs
        h.setOptionValue("iis_strategy", int(highspy.IisStrategy.kIisStrategyIrreducible))
        h.run()
        status, iis = h.getIis()
        if status == highspy.HighsStatus.kError or not iis.valid_:
            return None
        kept = [
            (j, _IIS_BOUNDS[b]) for j, b in zip(iis.col_index_, iis.col_bound_) if b in _IIS_BOUNDS
        ]
        return IIS(
            rows=[int(r) for r in iis.row_index_],
            cols=[int(j) for j, _ in kept],
            col_bounds=[b for _, b in kept],
        )

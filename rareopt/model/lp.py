"""The solver-neutral linear program: arrays, named families, and what a solver returns.

The model layer writes a :class:`LinearProgram` (:mod:`rareopt.model.formulation`); the solving
layer hands it to a solver (:mod:`rareopt.solving.highs`, the only module that talks to HiGHS) and
returns a :class:`SolverOutput` aligned with it. Neither needs to know the other's internals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike

from rareopt.inputs.tables import row_keys
from rareopt.status import SolveStatus

if TYPE_CHECKING:
    from pyomo.core.base.constraint import ConstraintData
    from pyomo.core.base.var import VarData

__all__ = ["Block", "LinearProgram", "SolverOutput", "LPBuilder", "triplets", "fix_integers"]


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
    key: tuple[str, ...]
    positions: np.ndarray
    absent: np.ndarray | None = None

    def keys(self) -> list[tuple[Any, ...]]:
        """Each member's key tuple, in order (empty tuples for a family without key columns)."""
        return row_keys(self.frame, *self.key) if self.key else [()] * len(self.frame)

    def values(self, vector: np.ndarray, absent: np.ndarray | float = 0.0) -> np.ndarray:
        """The members' entries of a column- (or row-) aligned vector; ``absent`` where absent."""
        pos = self.positions
        out = vector[np.maximum(pos, 0)] if len(vector) else np.zeros(len(pos))
        missing = pos < 0
        return np.where(missing, absent, out) if missing.any() else out


@dataclass
class LinearProgram:
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
    cost_offsets : dict of str to float, optional
        Constant part of each cost term (USD): columns fixed before the hand-off.
    parameters : dict
        The coefficient maps a sweep edits, as the formulation located them (see
        :mod:`rareopt.model.formulation`).
    recourse : scipy.sparse.csr_matrix, optional
        For a two-stage model: each scenario's recourse cost (USD) as a linear function of the
        columns, one row per scenario.
    """

    cost: np.ndarray
    offset: float
    matrix: sp.csc_matrix
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    integrality: np.ndarray
    col_blocks: dict[str, Block] = field(default_factory=dict)
    row_blocks: dict[str, Block] = field(default_factory=dict)
    columns: list[VarData] | None = None
    rows: list[tuple[ConstraintData, int]] | None = None
    cost_terms: dict[str, np.ndarray] | None = None
    cost_offsets: dict[str, float] | None = None
    recourse: sp.csr_matrix | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    _positions: dict[int, int] = field(default_factory=dict, repr=False)
    _row_positions: dict[int, int] = field(default_factory=dict, repr=False)

    @property
    def is_mip(self) -> bool:
        """True when some column is integer."""
        return bool(self.integrality.any())

    def set_cost_term(self, name: str, vector: np.ndarray) -> np.ndarray:
        """Replace cost term ``name`` (and the total cost with it); return the columns changed.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> lp = LinearProgram(cost=np.array([2.0, 1.0]), offset=0.0, matrix=sp.csc_matrix((0, 2)),
        ...     col_lower=np.zeros(2), col_upper=np.ones(2), row_lower=np.zeros(0),
        ...     row_upper=np.zeros(0), integrality=np.zeros(2, dtype=np.int32),
        ...     cost_terms={"a": np.array([2.0, 0.0]), "b": np.array([0.0, 1.0])})
        >>> lp.set_cost_term("a", np.array([5.0, 0.0])).tolist(), lp.cost.tolist()
        ([0], [5.0, 1.0])
        """
        terms = self.cost_terms if self.cost_terms is not None else {}
        old = terms[name]
        vector = np.asarray(vector, dtype=float)
        changed = np.flatnonzero(vector != old)
        self.cost[changed] += vector[changed] - old[changed]
        terms[name] = vector
        return changed

    def cost_term_values(self, x: np.ndarray) -> dict[str, float]:
        """Each cost term (USD) at the solution ``x``: the formulation's own cost vectors.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> lp = LinearProgram(cost=np.array([2.0, 1.0]), offset=0.0, matrix=sp.csc_matrix((0, 2)),
        ...     col_lower=np.zeros(2), col_upper=np.ones(2), row_lower=np.zeros(0),
        ...     row_upper=np.zeros(0), integrality=np.zeros(2, dtype=np.int32),
        ...     cost_terms={"a": np.array([2.0, 0.0]), "b": np.array([0.0, 1.0])})
        >>> lp.cost_term_values(np.array([1.0, 3.0]))
        {'a': 2.0, 'b': 3.0}
        """
        offsets = self.cost_offsets or {}
        return {
            name: float(vector @ x) + offsets.get(name, 0.0)
            for name, vector in (self.cost_terms or {}).items()
        }

    def values(self, family: str, x: np.ndarray) -> np.ndarray:
        """Solution values of a column family, in its layout order (absent members: fixed or 0)."""
        block = self.col_blocks[family]
        return block.values(x, 0.0 if block.absent is None else block.absent)

    def positions(self, variables: Iterable[VarData]) -> np.ndarray:
        """Column of each Pyomo variable in ``variables``; -1 for a variable absent from the LP.

        A variable is absent when it is fixed or appears in no constraint and not in the objective.
        """
        if not self._positions:
            self._positions.update((id(v), j) for j, v in enumerate(self.columns or ()))
        get = self._positions.get
        return np.fromiter((get(id(v), -1) for v in variables), dtype=np.int64)

    def row_positions(self, constraints: Iterable[ConstraintData]) -> np.ndarray:
        """Row of each Pyomo constraint; -1 for one not in the LP (trivial or deactivated)."""
        if not self._row_positions:
            self._row_positions.update((id(con), i) for i, (con, _) in enumerate(self.rows or ()))
        get = self._row_positions.get
        return np.fromiter((get(id(c), -1) for c in constraints), dtype=np.int64)

    def _label(
        self, blocks: dict[str, Block], index: int, pyomo: list[Any] | None, kind: str
    ) -> tuple[str, tuple[Any, ...], str]:
        """Family, key and printable name of row or column ``index`` (family "" if none)."""
        for name, block in blocks.items():
            hit = np.flatnonzero(block.positions == index)
            if len(hit):
                key = tuple(block.frame[c].iat[hit[0]] for c in block.key)
                return name, key, f"{name}[{','.join(map(str, key))}]"
        return "", (), pyomo[index].name if pyomo is not None else f"{kind} {index}"

    def row_label(self, r: int) -> tuple[str, tuple[Any, ...], str]:
        """Family, key and a printable name of row ``r`` (family "" for a user's own row)."""
        rows = None if self.rows is None else [con for con, _ in self.rows]
        return self._label(self.row_blocks, r, rows, "row")

    def col_label(self, j: int) -> tuple[str, tuple[Any, ...], str]:
        """Family, key and a printable name of column ``j`` (family "" for a user's own)."""
        return self._label(self.col_blocks, j, self.columns, "column")


@dataclass
class SolverOutput:
    """What HiGHS returned, in arrays aligned with a :class:`LinearProgram`.

    ``x`` is None without a feasible plan; ``row_dual``/``col_dual`` are None for a MIP or when
    HiGHS holds no valid dual solution. ``row_dual[i]`` is the change in objective (USD) per unit
    increase of row i's active bound; ``col_dual[j]`` the same for column j's bound. ``basis`` is
    kept with the duals: the solver's optimal basis, opaque to all but the solving layer, which
    ranges the duals from it when they are read (:func:`rareopt.solving.highs.ranging`).
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
    basis: Any = None


def fix_integers(lp: LinearProgram, x: np.ndarray) -> LinearProgram:
    """The LP of a MIP with every integer column fixed at its (rounded) value in ``x``.

    Its duals are the marginal values of the continuous decisions given the discrete ones.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> lp = LinearProgram(cost=np.array([1.0, -1.0]), offset=0.0,
    ...     matrix=sp.csc_matrix([[-4.0, 1.0]]), col_lower=np.zeros(2), col_upper=np.array([1.0, 4.0]),
    ...     row_lower=np.array([-np.inf]), row_upper=np.array([0.0]), integrality=np.array([1, 0]))
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


def triplets(
    *terms: tuple[ArrayLike, ArrayLike, ArrayLike],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenated (row, column, coefficient) arrays of terms; a scalar coefficient is repeated.

    Examples
    --------
    >>> [a.tolist() for a in triplets(([0, 1], [2, 3], 1.0), ([1], [0], [-2.0]))]
    [[0, 1, 1], [2, 3, 0], [1.0, 1.0, -2.0]]
    """
    rows, cols, coefs = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
    for row, col, coef in terms:
        row = np.asarray(row, dtype=np.int64)
        rows.append(row)
        cols.append(np.broadcast_to(np.asarray(col, dtype=np.int64), row.shape))
        coefs.append(np.broadcast_to(np.asarray(coef, dtype=float), row.shape))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(coefs)


class LPBuilder:
    """Columns and rows added family by family, then made into one :class:`LinearProgram`.

    Examples
    --------
    >>> import pandas as pd
    >>> b = LPBuilder()
    >>> x = b.columns("x", pd.DataFrame({"i": [1, 2]}), ("i",), 0.0, 4.0, cost=[1.0, 2.0])
    >>> b.rows("sum", pd.DataFrame({"i": [0]}), ("i",), 3.0, np.inf, ([0, 0], [x, x + 1], 1.0))
    >>> lp = b.build()
    >>> lp.matrix.toarray().tolist(), lp.row_lower.tolist()
    ([[1.0, 1.0]], [3.0])
    """

    def __init__(self) -> None:
        self.n_cols = 0
        self.n_rows = 0
        self.entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.col_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.integer_parts: list[np.ndarray] = []
        self.row_parts: list[tuple[np.ndarray, np.ndarray]] = []
        self.col_blocks: dict[str, Block] = {}
        self.row_blocks: dict[str, Block] = {}
        self.start: dict[str, int] = {}
        self.parameters: dict[str, Any] = {}

    def columns(
        self,
        name: str,
        frame: pd.DataFrame,
        key: tuple[str, ...],
        lower: ArrayLike,
        upper: ArrayLike,
        cost: ArrayLike = 0.0,
        integer: bool = False,
    ) -> int:
        """Add one column per row of ``frame``; return the first column's index.

        ``integer`` makes the family integer (with bounds 0 and 1: binary).
        """
        start, count = self.n_cols, len(frame)

        def full(v: ArrayLike) -> np.ndarray:
            return np.broadcast_to(np.asarray(v, dtype=float), (count,))

        self.col_parts.append((full(lower), full(upper), full(cost)))
        self.integer_parts.append(np.full(count, int(integer), dtype=np.int32))
        self.col_blocks[name] = Block(frame, key, start + np.arange(count))
        self.start[name] = start
        self.n_cols += count
        return start

    def rows(
        self,
        name: str,
        frame: pd.DataFrame,
        key: tuple[str, ...],
        lower: ArrayLike,
        upper: ArrayLike,
        *terms: tuple[ArrayLike, ArrayLike, ArrayLike],
    ) -> None:
        """Add one row per row of ``frame``; each term is (row in family, column, coefficient)."""
        count = len(frame)
        row, col, coef = triplets(*terms)
        self.entries.append((row + self.n_rows, col, coef))
        self.row_parts.append(
            (
                np.broadcast_to(np.asarray(lower, dtype=float), (count,)),
                np.broadcast_to(np.asarray(upper, dtype=float), (count,)),
            )
        )
        self.row_blocks[name] = Block(frame, key, self.n_rows + np.arange(count))
        self.n_rows += count

    def add_entries(self, family: str, row: ArrayLike, column: ArrayLike, coef: ArrayLike) -> None:
        """Add entries to rows of an existing family (``row``: position within the family)."""
        positions = self.row_blocks[family].positions
        rows, columns, values = triplets((row, column, coef))
        self.entries.append((positions[rows], columns, values))

    def build(self, cost_terms: dict[str, np.ndarray] | None = None) -> LinearProgram:
        """The LP: cost = the columns' own + the sum of ``cost_terms``.

        Each cost term is a vector over a first part of the columns, padded with zeros.
        """
        lower, upper, cost = (np.concatenate(part) for part in zip(*self.col_parts))
        row, col, coef = triplets(*self.entries)
        matrix = sp.csc_matrix((coef, (row, col)), shape=(self.n_rows, self.n_cols))
        matrix.sum_duplicates()
        terms = None
        if cost_terms is not None:
            terms = {
                k: np.concatenate([v, np.zeros(self.n_cols - len(v))])
                for k, v in cost_terms.items()
            }
            cost = cost + sum(terms.values())
        return LinearProgram(
            cost=np.array(cost),
            offset=0.0,
            matrix=matrix,
            col_lower=np.array(lower),
            col_upper=np.array(upper),
            row_lower=np.concatenate([lo for lo, _ in self.row_parts]),
            row_upper=np.concatenate([hi for _, hi in self.row_parts]),
            integrality=np.concatenate([np.zeros(0, np.int32), *self.integer_parts]),
            col_blocks=self.col_blocks,
            row_blocks=self.row_blocks,
            cost_terms=terms,
            parameters=dict(self.parameters),
        )

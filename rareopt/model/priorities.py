"""Goals met in order: the ``priority`` rows that hold each goal at its optimum.

``policy.priorities`` (default ``("demand", "stock_targets", "cost")``) orders the goals. The
solving layer (:mod:`rareopt.solving.goals`) minimises them one after the other; after each, its
``priority[goal]`` row keeps the goal within a tolerance of its optimum while the later goals are
minimised, and the last solve minimises the whole objective. A goal is its penalty term as a
vector over the columns, scaled so that its smallest coefficient is 1: within a goal the penalty
fields weigh one element or period against another (a tonne of Dy short against a tonne of Ce),
and a penalty of 0 takes an element out of the goal. The rows are written like every other family
(so the Pyomo view has them too); until the solver sets them their upper bound is the goal's
largest possible value, which never binds. Symbols: ``docs/formulation.md``, "Priorities".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rareopt.inputs.tables import WEIGHTED

if TYPE_CHECKING:
    from rareopt.inputs.portfolio import Policy
    from rareopt.model.lp import LPBuilder

__all__ = [
    "GOAL_ROWS",
    "GOAL_TERMS",
    "goals_in_order",
    "needs_goal_rows",
    "goal_vector",
    "add_goal_rows",
]

GOAL_ROWS = ("priority",)
"""The row family the goals add."""

GOAL_TERMS = {"demand": "shortage_penalty", "stock_targets": "target_penalty"}
"""The cost term that measures each goal before cost."""


def goals_in_order(policy: Policy) -> tuple[str, ...]:
    """The goals minimised, one after the other, before the whole objective.

    Lexicographic priorities give their goals before ``cost`` (a hard goal, being a constraint,
    needs no solve); ``weighted`` gives none. With hard stock targets, demand is met first as far
    as it can be with the targets soft, whatever the order: hard targets must never be met by
    leaving demand unmet.

    Examples
    --------
    >>> from rareopt.inputs.portfolio import Policy
    >>> goals_in_order(Policy()), goals_in_order(Policy(priorities="weighted"))
    (('demand', 'stock_targets'), ())
    >>> goals_in_order(Policy(hard_stock_targets=True, priorities="weighted"))
    ('demand',)
    """
    if policy.hard_stock_targets:
        return ("demand",)
    if policy.priorities == WEIGHTED:
        return ()
    hard = {"demand": policy.hard_demand, "stock_targets": False}
    return tuple(g for g in policy.priorities if g != "cost" and not hard[g])


def needs_goal_rows(policy: Policy) -> bool:
    """Whether the model carries ``priority`` rows (some goal is solved before the objective).

    Examples
    --------
    >>> from rareopt.inputs.portfolio import Policy
    >>> needs_goal_rows(Policy()), needs_goal_rows(Policy(priorities="weighted"))
    (True, False)
    """
    return bool(goals_in_order(policy))


def goal_vector(terms: dict[str, np.ndarray], goal: str) -> np.ndarray:
    """A goal as a vector over the columns: its penalty term scaled to a smallest entry of 1.

    A goal's unit is then a tonne of its least penalised element, so that the solver's
    tolerances on the goal's row are at most that many tonnes of any element.

    Examples
    --------
    >>> goal_vector({"shortage_penalty": np.array([0.0, 2e6, 1e6])}, "demand").tolist()
    [0.0, 2.0, 1.0]
    """
    term = np.asarray(terms[GOAL_TERMS[goal]], dtype=float)
    positive = term[term > 0]
    return term / positive.min() if len(positive) else term


def add_goal_rows(
    b: LPBuilder, terms: dict[str, np.ndarray], col_upper: np.ndarray, goals: tuple[str, ...]
) -> None:
    """Add the ``priority[goal]`` rows (one per goal), not yet binding.

    ``col_upper`` are the columns' upper bounds so far: a goal's largest value, the bound the row
    starts with, is its vector times them (finite, as unmet demand and shortfall are bounded).
    """
    # Terms cover the columns that existed when they were made: later families cost nothing.
    vectors = [np.pad(v, (0, b.n_cols - len(v))) for v in (goal_vector(terms, g) for g in goals)]
    entries = [
        (np.full(len(c), i), c, v[c]) for i, v in enumerate(vectors) for c in [np.flatnonzero(v)]
    ]
    largest = [float(v @ np.where(np.isfinite(col_upper), col_upper, 0.0)) for v in vectors]
    b.rows(
        GOAL_ROWS[0],
        pd.DataFrame({"goal": list(goals)}),
        ("goal",),
        -np.inf,
        np.asarray(largest) + 1.0,
        *entries,
    )

"""Typed solve statuses and what each means, shared by every layer (solver-neutral).

The map from HiGHS's own statuses onto these is in :mod:`rareopt.solving.highs`.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["SolveStatus", "EXPLANATIONS"]


class SolveStatus(StrEnum):
    """What a solve produced.

    ``is_ok`` is true when there is a plan to read: proven optimal, or a feasible plan found before
    a time or iteration limit (read its gap before trusting it as optimal).

    Examples
    --------
    >>> SolveStatus.OPTIMAL.is_ok, SolveStatus.INFEASIBLE.is_ok
    (True, False)
    """

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    LIMIT_WITH_PLAN = "limit_with_plan"
    LIMIT_NO_PLAN = "limit_no_plan"
    NUMERICAL_TROUBLE = "numerical_trouble"
    INTERRUPTED = "interrupted"
    ERROR = "error"

    @property
    def is_ok(self) -> bool:
        """True when the result holds a plan."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.LIMIT_WITH_PLAN)


EXPLANATIONS = {
    SolveStatus.OPTIMAL: "HiGHS proved the plan optimal.",
    SolveStatus.LIMIT_WITH_PLAN: (
        "HiGHS stopped at a limit with a feasible plan; it passed the independent check but may "
        "not be optimal (see the gap)."
    ),
    SolveStatus.LIMIT_NO_PLAN: (
        "HiGHS stopped at a limit before finding any feasible plan; raise time_limit."
    ),
    SolveStatus.INFEASIBLE: (
        "No plan satisfies every constraint. Unmet demand and stock shortfalls are priced, so the "
        "usual causes are hard stock targets above stock capacity or supply, or a constraint you "
        "added to the model."
    ),
    SolveStatus.UNBOUNDED: (
        "The cost can fall without limit; rareopt's own model is bounded, so look at constraints "
        "or variables you added."
    ),
    SolveStatus.INFEASIBLE_OR_UNBOUNDED: (
        "HiGHS's presolve found the model infeasible or unbounded; re-solve with presolve=False "
        "to tell which."
    ),
    SolveStatus.NUMERICAL_TROUBLE: (
        "HiGHS ran into numerical difficulty. Check for very large or very small numbers (prices, "
        "penalties, capacities far apart in scale) and try lp_algorithm='ipm' or presolve=False."
    ),
    SolveStatus.INTERRUPTED: (
        "Stopped by the user (Ctrl-C) before HiGHS finished; no plan is reported. Run again "
        "with a time_limit to get the best plan found in a given time."
    ),
    SolveStatus.ERROR: "HiGHS could not load or solve the model (or ran out of memory).",
}

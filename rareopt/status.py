"""Typed solve statuses and the explicit map from HiGHS's model statuses onto them."""

from __future__ import annotations

from enum import StrEnum

import highspy

__all__ = ["SolveStatus", "status_from_highs"]


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
    ERROR = "error"

    @property
    def is_ok(self) -> bool:
        """True when the result holds a plan."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.LIMIT_WITH_PLAN)


_MS = highspy.HighsModelStatus
_LIMITS = {
    _MS.kTimeLimit,
    _MS.kIterationLimit,
    _MS.kSolutionLimit,
    _MS.kInterrupt,
    _MS.kObjectiveBound,
    _MS.kObjectiveTarget,
    _MS.kHighsInterrupt,
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
    SolveStatus.ERROR: "HiGHS could not load or solve the model (or ran out of memory).",
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

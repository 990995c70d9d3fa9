"""Typed errors raised by rareopt.

Every error carries enough context for an analyst to act on it: validation errors list each
problem with its table, row, field, bad value and what is allowed; solve errors carry the typed
status and HiGHS's own message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rareopt.status import SolveStatus

__all__ = [
    "RareoptError",
    "ValidationIssue",
    "PortfolioError",
    "ScenarioError",
    "SolveError",
    "NoPlanError",
    "PlanCheckError",
    "NotSupportedError",
]


class RareoptError(Exception):
    """Base class of every error rareopt raises on purpose."""


@dataclass(frozen=True)
class ValidationIssue:
    """One problem found in a portfolio.

    Attributes
    ----------
    table : str
        Table the problem is in (``"offers"``, ``"demand"``, ``"policy"`` ...).
    row : str
        The row (index label and key columns) or key the problem is at.
    field : str
        The column or setting.
    value : Any
        The offending value as given.
    allowed : str
        What would be accepted.
    severity : str
        ``"error"`` (the portfolio is rejected) or ``"warning"`` (accepted, but probably a mistake).

    Examples
    --------
    >>> str(ValidationIssue("offers", "row 2 (supplier=X, element=Nd)", "capacity_t", -5, "a number >= 0"))
    'offers, row 2 (supplier=X, element=Nd), field capacity_t: got -5; allowed: a number >= 0'
    """

    table: str
    row: str
    field: str
    value: Any
    allowed: str
    severity: str = "error"

    def __str__(self) -> str:
        return (
            ("warning: " if self.severity == "warning" else "")
            + f"{self.table}, {self.row}, field {self.field}: got {self.value!r}; "
            f"allowed: {self.allowed}"
        )


class PortfolioError(RareoptError, ValueError):
    """A portfolio failed validation; ``issues`` lists every problem found, not just the first.

    Errors come first, then any warnings found on the way (``issue.severity``).
    """

    subject = "the portfolio"

    def __init__(self, issues: list[ValidationIssue]):
        self.issues = list(issues)
        errors = sum(issue.severity == "error" for issue in self.issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"{self.subject} has {errors} problem(s):\n{lines}")


class ScenarioError(PortfolioError):
    """A scenario set failed validation (on its own or against a portfolio); see ``issues``."""

    subject = "the scenario set"


class SolveError(RareoptError):
    """A solve did not produce a usable plan.

    Attributes
    ----------
    status : SolveStatus
        The typed status.
    solver_message : str
        HiGHS's own model-status text.
    explanation : str
        What the status means for this portfolio and what to try.
    """

    def __init__(self, status: SolveStatus, solver_message: str, explanation: str):
        self.status = status
        self.solver_message = solver_message
        self.explanation = explanation
        super().__init__(f"status {status.value} (HiGHS: {solver_message}). {explanation}")


class NoPlanError(SolveError):
    """A result's tables were asked for, but the solve produced no plan (infeasible, error ...)."""


class NotSupportedError(RareoptError, ValueError):
    """A combination of features rareopt does not model (yet); the message says which and why."""


class PlanCheckError(RareoptError):
    """A plan returned by the solver violates the portfolio's constraints beyond tolerance.

    ``violations`` is a DataFrame with one row per violated constraint.
    """

    def __init__(self, violations):
        self.violations = violations
        shown = violations.head(10).to_string(index=False)
        super().__init__(
            f"the solver's plan fails the independent check in {len(violations)} place(s):\n{shown}"
        )

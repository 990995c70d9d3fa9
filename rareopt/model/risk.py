"""Risk measures of the recourse cost: what the two-stage objective adds to the first stage.

``Expectation()`` adds the expected recourse cost; ``CVaR(alpha, weight)`` adds the expectation
plus ``weight`` times the conditional value at risk at level ``alpha`` (the mean of the worst
``1 - alpha`` of the probability mass), in the linear form of Rockafellar and Uryasev (2000):

    CVaR_alpha(R) = min_eta  eta + 1 / (1 - alpha) * sum_w p_w * max(R_w - eta, 0).

:func:`value_at_risk` and :func:`conditional_value_at_risk` compute the same quantities for a
discrete distribution directly, for reports and for checking the model's value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["Expectation", "CVaR", "value_at_risk", "conditional_value_at_risk"]


@dataclass(frozen=True)
class Expectation:
    """Risk-neutral: first-stage cost + expected recourse cost.

    Examples
    --------
    >>> Expectation().alpha
    0.95
    """

    alpha: float = 0.95
    """Level at which VaR and CVaR are reported (not optimised)."""

    weight = 0.0


@dataclass(frozen=True)
class CVaR:
    """Risk-averse: first-stage cost + expected recourse + ``weight`` x CVaR_alpha(recourse).

    Parameters
    ----------
    alpha : float
        Level in [0, 1): 0 gives the expectation, values near 1 the worst scenario.
    weight : float
        USD of objective per USD of CVaR (>= 0).
    level_bounds : (float, float), optional
        Bounds (USD) on the level eta, the value at risk at the optimum; default free. Bounds
        that hold the optimal eta change nothing but make every scenario's part of the model
        bounded on its own (progressive hedging's Lagrangian bound needs it):
        :func:`rareopt.solving.cvar_bounds.cvar_level_bounds` derives them.

    Examples
    --------
    >>> CVaR(alpha=0.9, weight=1.0)
    CVaR(alpha=0.9, weight=1.0, level_bounds=None)
    """

    alpha: float = 0.95
    weight: float = 1.0
    level_bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.alpha, (int, float)) and 0 <= self.alpha < 1):
            raise ValueError(f"CVaR alpha: got {self.alpha!r}; allowed: a number in [0, 1)")
        if not (isinstance(self.weight, (int, float)) and self.weight >= 0):
            raise ValueError(f"CVaR weight: got {self.weight!r}; allowed: a number >= 0")
        bounds = self.level_bounds
        if bounds is not None and not (
            len(bounds) == 2
            and all(isinstance(b, (int, float)) and np.isfinite(b) for b in bounds)
            and bounds[0] <= bounds[1]
        ):
            raise ValueError(
                f"CVaR level_bounds: got {bounds!r}; allowed: (lower, upper) in USD, finite, "
                "lower <= upper"
            )

    @property
    def level_unit_usd(self) -> float:
        """USD in one unit of the model's ``cvar_level`` column.

        1, or with ``level_bounds`` a power of ten that puts the bounds within about +-10^4 units.
        A level of 10^8 USD under a linearised proximal term (progressive hedging) squares to
        10^16, beyond what a solver's tolerances handle; counted in units of 10^5 USD it is
        10^3. The model's value is the same: every coefficient of the column is scaled with it.

        Examples
        --------
        >>> CVaR(0.9).level_unit_usd, CVaR(0.9, level_bounds=(-3e7, 3.3e8)).level_unit_usd
        (1.0, 100000.0)
        """
        if self.level_bounds is None:
            return 1.0
        largest = max(abs(self.level_bounds[0]), abs(self.level_bounds[1]), 1.0)
        return float(10.0 ** max(0, int(np.floor(np.log10(largest))) - 3))


def value_at_risk(values: ArrayLike, probabilities: ArrayLike, alpha: float) -> float:
    """Smallest v with P(R <= v) >= alpha, for a discrete distribution.

    Examples
    --------
    >>> value_at_risk([0, 10, 100], [0.5, 0.4, 0.1], 0.9)
    10.0
    """
    values, probabilities = np.asarray(values, float), np.asarray(probabilities, float)
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(probabilities[order])
    position = cast(int, np.searchsorted(cumulative, alpha - 1e-12, side="left"))  # an np.intp
    return float(values[order][min(position, len(values) - 1)])


def conditional_value_at_risk(values: ArrayLike, probabilities: ArrayLike, alpha: float) -> float:
    """Mean of the worst ``1 - alpha`` of the probability mass (Rockafellar-Uryasev).

    Equals the expectation at ``alpha = 0`` and the worst value as ``alpha`` nears 1.

    Examples
    --------
    >>> round(conditional_value_at_risk([0, 10, 100], [0.5, 0.4, 0.1], 0.8), 9)
    55.0
    >>> conditional_value_at_risk([0, 10, 100], [0.5, 0.4, 0.1], 0.0)
    14.0
    """
    values, probabilities = np.asarray(values, float), np.asarray(probabilities, float)
    eta = value_at_risk(values, probabilities, alpha)
    excess = probabilities @ np.maximum(values - eta, 0.0)
    return float(eta + excess / (1.0 - alpha))


def cvar_excess_costs(risk: Expectation | CVaR, probabilities: ArrayLike) -> np.ndarray:
    """Objective coefficient of each scenario's CVaR excess: weight x p_w / (1 - alpha).

    With the level's coefficient ``weight``, these make ``weight x CVaR_alpha`` of the recourse
    (Rockafellar-Uryasev); the two-stage model and the CVaR frontier both take them from here.

    Examples
    --------
    >>> cvar_excess_costs(CVaR(alpha=0.5, weight=2.0), [0.25, 0.75]).tolist()
    [1.0, 3.0]
    """
    return risk.weight * np.asarray(probabilities, dtype=float) / (1.0 - risk.alpha)


def risk_measure(risk: Expectation | CVaR, values: ArrayLike, probabilities: ArrayLike) -> float:
    """The risk term of the objective at given recourse costs: weight x CVaR (0 without weight).

    Examples
    --------
    >>> round(risk_measure(CVaR(alpha=0.8, weight=0.5), [0, 10, 100], [0.5, 0.4, 0.1]), 9)
    27.5
    >>> risk_measure(Expectation(), [0, 10], [0.5, 0.5])
    0.0
    """
    if risk.weight <= 0:
        return 0.0
    return risk.weight * conditional_value_at_risk(values, probabilities, risk.alpha)

"""The concentration measure, written once: the Herfindahl-Hirschman index (HHI).

HHI = 10,000 x sum_c share_c^2 over the holders c (countries or suppliers) of an element's
purchases, shares as fractions: 10,000 for one holder, 10,000 / n for n equal ones. The model's
HHI cuts, the independent check, the result tables, the frontier and the criticality indicators
all take it from here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["HHI_SCALE", "ROUND_OFF_T", "TOL_REL", "hhi_terms", "hhi_points", "volume_tolerance"]

HHI_SCALE = 10_000.0
"""HHI points of a single holder (share 1)."""
ROUND_OFF_T = 1e-9
"""Tonnes below which a solution's value is the solver's round-off: a plan reads it as 0."""
TOL_REL = 1e-6
"""Relative tolerance of the checks: of the largest tonnage (volumes), of the objective (USD)."""


def volume_tolerance(portfolio: Any) -> float:
    """Absolute tolerance in tonnes for this portfolio: ``TOL_REL`` x its largest tonnage.

    The largest finite demand, capacity or stock (at least 1 t). Volumes within it of zero are
    round-off: the independent check accepts a violation within it, and an element's purchases
    that total no more than it have no shares (so no HHI) in the check and the HHI cut loop.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> bool(volume_tolerance(load_example("tiny")) > 0)
    True
    """
    sizes = [
        portfolio.demand["demand_t"],
        portfolio.capacity["capacity_t"],
        portfolio.stockpile["capacity_t"],
        portfolio.stockpile["initial_t"],
    ]
    finite = [s[np.isfinite(s)].abs().max() for s in sizes if len(s)]
    return TOL_REL * max([1.0, *[v for v in finite if np.isfinite(v)]])


def hhi_terms(shares: Any) -> Any:
    """Each holder's contribution to the HHI: 10,000 x share^2 (same shape as ``shares``).

    Examples
    --------
    >>> import numpy as np
    >>> hhi_terms(np.array([0.5, 0.5])).tolist()
    [2500.0, 2500.0]
    """
    return HHI_SCALE * shares**2


def hhi_points(shares: Any) -> Any:
    """The HHI (0-10,000) of shares along the last axis (a DataFrame: of each row).

    Examples
    --------
    >>> import numpy as np
    >>> float(hhi_points(np.array([0.6, 0.4])))
    5200.0
    >>> import pandas as pd
    >>> hhi_points(pd.DataFrame({"CN": [1.0, 0.5], "AU": [0.0, 0.5]}, index=["Nd", "Dy"])).tolist()
    [10000.0, 5000.0]
    """
    axis = 1 if hasattr(shares, "columns") else -1
    return hhi_terms(shares).sum(axis=axis)

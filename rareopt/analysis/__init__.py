"""Analysis built on solves: frontiers, stress tests, EVPI/VSS, marginal values, indicators.

Also the solver-settings benchmark (:mod:`rareopt.analysis.bench`).
"""

from rareopt.deprecation import moved_names as _moved_names  # noqa: E402

# The names rareopt 0.1's module ``rareopt.analysis`` had, until 0.3.
__getattr__ = _moved_names(
    "rareopt.analysis",
    {
        "cost_of_diversification": "rareopt.analysis.marginal:cost_of_diversification",
        "marginal_cost": "rareopt.analysis.marginal:marginal_cost",
    },
)

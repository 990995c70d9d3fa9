"""Trade-offs read off a solved LP: the cost of diversification and the marginal cost of supply."""

from __future__ import annotations

import pandas as pd

from rareopt.results.result import Result

__all__ = ["cost_of_diversification", "marginal_cost"]


def cost_of_diversification(result: Result, tol: float = 1e-9) -> pd.DataFrame:
    """What one more percentage point of each country cap costs, from the LP duals.

    Parameters
    ----------
    result : Result
        An optimal LP result.
    tol : float
        Duals smaller than this in magnitude count as not binding.

    Returns
    -------
    DataFrame
        Index (country, element, period) (period ``"*"`` for horizon caps); columns
        ``usd_per_point_tighter`` (first-order cost, USD, of lowering the cap by one point),
        ``dual_usd_per_t`` (cost change per tonne of extra headroom) and ``binding``. Sorted with
        the dearest first.

    Examples
    --------
    >>> import rareopt
    >>> table = cost_of_diversification(rareopt.solve(rareopt.load_example("tiny")))
    >>> bool(table["usd_per_point_tighter"].ge(0).all())
    True
    """
    caps = result.duals.xs("country_cap", level="constraint")
    out = pd.DataFrame(
        {
            "usd_per_point_tighter": caps["usd_per_point_tighter"],
            "dual_usd_per_t": caps["dual"],
            "binding": caps["dual"].abs() > tol,
        }
    )
    out = out.rename_axis(["element", "period", "country"]).reorder_levels(
        ["country", "element", "period"]
    )
    return out.sort_values("usd_per_point_tighter", ascending=False)


def marginal_cost(result: Result) -> pd.DataFrame:
    """Marginal cost (USD/t) of one more tonne of each element's demand, per period.

    Examples
    --------
    >>> import rareopt
    >>> m = marginal_cost(rareopt.solve(rareopt.load_example("tiny")))
    >>> list(m.columns)
    ['Nd', 'Dy']
    """
    balance = result.duals.xs("balance", level="constraint").droplevel("holder")["dual"]
    table = balance.unstack("element")
    return table.reindex(
        index=result.portfolio.period_labels, columns=result.portfolio.elements
    ).rename_axis(columns="element")

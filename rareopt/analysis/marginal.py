"""Trade-offs read off a solved LP: the cost of diversification and the marginal cost of supply.

The duals give first-order figures, valid within the ranges HiGHS's ranging gives
(``Result.duals``); :func:`cost_of_next_points` re-solves to show what larger moves of a cap cost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rareopt.analysis.frontier import frontier
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.inputs.tables import ALL
from rareopt.model.risk import CVaR, Expectation
from rareopt.results.result import Result
from rareopt.results.solve import solve

__all__ = ["cost_of_diversification", "cost_of_next_points", "marginal_cost"]


def cost_of_diversification(result: Result, tol: float = 1e-9) -> pd.DataFrame:
    """What one more percentage point of each country cap costs, to first order, from the duals.

    A marginal figure: it holds while the cap stays between ``valid_from_pct`` and
    ``valid_to_pct`` (HiGHS's ranging of the cap row); beyond, tightening costs more per point
    than it says. :func:`cost_of_next_points` re-solves point by point to show how much more.

    Parameters
    ----------
    result : Result
        An optimal LP result (a MIP's figures are those of its LP with the integers fixed).
    tol : float
        Duals smaller than this in magnitude count as not binding.

    Returns
    -------
    DataFrame
        Index (country, element, period) (period ``"*"`` for horizon caps); columns
        ``usd_per_point_tighter`` (marginal, first-order cost, USD, of lowering the cap by one
        point), ``dual_usd_per_t`` (marginal cost change per tonne of extra headroom),
        ``binding``, and ``valid_from_pct`` / ``valid_to_pct`` (the caps, in %, between which
        both marginal figures hold). Sorted with the dearest first.

    Examples
    --------
    >>> import rareopt
    >>> table = cost_of_diversification(rareopt.solve(rareopt.load_example("tiny")))
    >>> bool(table["usd_per_point_tighter"].ge(0).all())
    True
    >>> float(table.loc[("CN", "Nd", "P1"), "valid_from_pct"])  # holds down to a 50% cap
    50.0
    """
    caps = result.duals.xs("country_cap", level="constraint")
    out = pd.DataFrame(
        {
            "usd_per_point_tighter": caps["usd_per_point_tighter"],
            "dual_usd_per_t": caps["dual"],
            "binding": caps["dual"].abs() > tol,
            "valid_from_pct": caps["valid_from_pct"],
            "valid_to_pct": caps["valid_to_pct"],
        }
    )
    out = out.rename_axis(["element", "period", "country"]).reorder_levels(
        ["country", "element", "period"]
    )
    return out.sort_values("usd_per_point_tighter", ascending=False)


def _caps_of(portfolio: Portfolio, stage: str | None) -> pd.DataFrame:
    """The country caps, or the stage caps at ``stage`` (country, element, max_share)."""
    if stage is None:
        return portfolio.policy.country_caps
    caps = portfolio.policy.stage_caps
    caps = caps[(caps["stage"] == stage) & (caps["by"] == "country")]
    return caps.rename(columns={"holder": "country"})[["country", "element", "max_share"]]


def _current_cap(
    portfolio: Portfolio, country: str, element: str | None, stage: str | None = None
) -> float:
    """The share (0-1) of the policy row that caps ``country`` (for ``element``, or every one)."""
    caps = _caps_of(portfolio, stage)
    mine = caps[caps["country"] == country].set_index("element")["max_share"]
    for scope in ([element] if element is not None else []) + [ALL]:
        if scope in mine.index:
            return float(mine[scope])
    capped = sorted(set(caps["country"]))
    raise ValueError(f"country: {country!r} has no cap to tighten; capped countries: {capped}")


def _governed(
    portfolio: Portfolio, country: str, element: str | None, stage: str | None = None
) -> list[str]:
    """The elements whose cap on ``country`` the varied policy row sets (see the frontier)."""
    if element is not None:
        return [element]
    caps = _caps_of(portfolio, stage)
    own = set(caps.loc[(caps["country"] == country) & (caps["element"] != ALL), "element"])
    return [e for e in portfolio.elements if e not in own]


def cost_of_next_points(
    base: Result | Portfolio,
    country: str,
    element: str | None = None,
    k: int = 5,
    step: float = 1.0,
    *,
    stage: str | None = None,
    scenarios: ScenarioSet | None = None,
    risk: Expectation | CVaR | None = None,
    **options,
) -> pd.DataFrame:
    """What each of the next ``k`` steps of tightening a country cap costs, by warm re-solves.

    The cap of ``country`` (for ``element``, or the policy row for every element) is lowered
    ``step`` percentage points at a time, ``k`` times, through :func:`rareopt.frontier` (one
    model in HiGHS, each point started from the last one's optimum), and each step's cost is set
    beside the marginal estimate the duals give at the start (:func:`cost_of_diversification`,
    summed over the periods the cap governs). The estimate holds while the cap stays within
    every governed row's range (``within_dual_range``); past it each point costs more than the
    estimate. For an LP the cost is convex in a right-hand
    side, so the steps' costs rise; a cap is a coefficient on the element's purchases X, so
    this holds exactly while X stays put (where demand, not the cap, sets X). With goals met in
    order (``policy.priorities``) every step meets them in order again, while the duals price a
    move with each goal held at its optimum: where a tighter cap would change a goal, the
    estimate holds for no step and may be far above the re-solved cost.

    Parameters
    ----------
    base : Result or Portfolio
        The plan to start from (a Portfolio is solved first, for its duals), with the cap in
        force: its policy's row for (``country``, ``element``), else for (``country``, ``"*"``).
    country : str
        The capped country.
    element : str, optional
        Tighten only this element's cap (default: the policy row for every element).
    k : int
        Steps to take (>= 1).
    step : float
        Percentage points per step (> 0); the last cap, current - k x step, must be >= 0.
    stage : str, optional
        Tighten the country's cap at this processing stage (a stage cap of the policy) instead
        of its share of purchases; the marginal estimate is then the stage caps' duals.
    scenarios, risk : optional
        For a two-stage plan: the scenarios (and risk measure) it was solved with.
    **options
        Solver options, as for :func:`rareopt.solve`.

    Returns
    -------
    DataFrame
        Index ``points_tighter`` (0, step, ..., k x step; 0 is the current cap, re-solved);
        columns ``cap_pct``, ``status``, ``objective_usd``, ``spend_usd``, ``penalty_usd``
        (and ``recourse_usd`` with scenarios), ``step_cost_usd`` (the objective's increase over
        the previous step), ``total_cost_usd`` (over the current cap), ``unmet_t``,
        ``shortfall_t`` (stock below target, summed over the periods),
        ``marginal_step_usd`` and ``marginal_total_usd`` (the duals' first-order estimates of
        the same, at the start) and ``within_dual_range`` (whether the cap is still within the
        range where the duals hold, converted at the start's purchases).

    Raises
    ------
    ValueError
        If ``country`` has no cap, ``k`` or ``step`` is out of range, or a two-stage result
        comes without its ``scenarios``.

    Examples
    --------
    >>> import rareopt
    >>> table = cost_of_next_points(rareopt.solve(rareopt.load_example("tiny")), "CN", k=2)
    >>> table["cap_pct"].tolist()
    [60.0, 59.0, 58.0]
    >>> bool((table["step_cost_usd"].iloc[1:] >= table["marginal_step_usd"].iloc[1:] - 1).all())
    True
    """
    portfolio = base.portfolio if isinstance(base, Result) else base
    cap_pct = 100.0 * _current_cap(portfolio, country, element, stage)
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise ValueError(f"k: got {k!r}; allowed: an integer >= 1")
    if not (step > 0 and cap_pct - k * step >= 0):
        raise ValueError(
            f"step: got {step!r} with k={k} from a {cap_pct:g}% cap; allowed: step > 0 with "
            f"k x step <= {cap_pct:g}"
        )
    if isinstance(base, Result):
        result = base.raise_for_status()
        if result.scenarios is not None and scenarios is None:
            raise ValueError(
                "a two-stage result: pass scenarios= (and risk=) as it was solved with"
            )
    else:
        result = solve(base, scenarios=scenarios, risk=risk, **options).raise_for_status()
    points = step * np.arange(k + 1)
    # Rounded so that 50 - 3 x 1 is the 47% the portfolio would state, not 0.47000000000000003.
    caps = np.round(cap_pct - points, 9)
    swept = frontier(
        portfolio,
        "country_cap",
        list(caps / 100.0),
        country=country,
        element=element,
        stage=stage,
        progress=False,
        scenarios=scenarios,
        risk=risk,
        **options,
    )
    family = "country_cap" if stage is None else "stage_cap"
    holder = country if stage is None else f"{country} at {stage}"
    rows = result.duals.xs(family, level="constraint")
    rows = rows[
        (rows.index.get_level_values("holder") == holder)
        & rows.index.get_level_values("element").isin(_governed(portfolio, country, element, stage))
    ]
    per_point = float(rows["usd_per_point_tighter"].sum())
    # The cap can fall to the highest of its rows' lower limits before some row's dual changes.
    lowest = float(rows["valid_from_pct"].max())
    kinds = [c for c in ("spend_usd", "penalty_usd", "recourse_usd") if c in swept]
    objective = swept["objective_usd"].to_numpy(float)
    out = pd.DataFrame(
        {
            "cap_pct": caps,
            "status": swept["status"].to_numpy(),
            "objective_usd": objective,
            **{c: swept[c].to_numpy(float) for c in kinds},
            "step_cost_usd": np.r_[np.nan, np.diff(objective)],
            "total_cost_usd": objective - objective[0],
            "unmet_t": swept["unmet_t"].to_numpy(float),
            "shortfall_t": swept["shortfall_t"].to_numpy(float),
            "marginal_step_usd": np.r_[np.nan, np.full(k, step * per_point)],
            "marginal_total_usd": points * per_point,
            "within_dual_range": caps >= lowest - 1e-9,
        },
        index=pd.Index(points, name="points_tighter"),
    )
    return out


def marginal_cost(result: Result) -> pd.DataFrame:
    """Marginal cost (USD/t) of one more tonne of each element's demand, per period.

    First-order: each figure holds while that demand stays within the ``balance`` row's
    ``valid_from_t`` to ``valid_to_t`` in ``result.duals``.

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

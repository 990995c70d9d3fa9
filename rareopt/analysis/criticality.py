"""Criticality indicators of a plan and of the market a portfolio describes.

Per element, from tonnes by country: the Herfindahl-Hirschman index of country shares (0-10,000,
shares in %), the largest and the three largest country shares, net import reliance against the
buyer's home country, and the governance-weighted HHI of the EU supply-risk method,

    HHI_WGI = sum_c s_c^2 x WGI_c x t_c,

with shares ``s_c`` as fractions, ``WGI_c = (2.5 - raw WGI) x 2`` (0 = best governed, 10 = worst)
and ``t_c`` the trade parameter (1.0 by default). rareopt ships no WGI scores: they come from the
portfolio's ``criticality`` settings or the ``wgi`` argument; without them ``hhi_wgi`` is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rareopt.exceptions import PortfolioError
from rareopt.inputs.measures import hhi_points
from rareopt.inputs.portfolio import Criticality, Portfolio
from rareopt.inputs.stages import SELLER, STAGES
from rareopt.inputs.tables import ALL
from rareopt.inputs.validation import criticality_issues

if TYPE_CHECKING:
    from rareopt.results.result import Result

__all__ = [
    "indicators",
    "plan_indicators",
    "market_indicators",
    "criticality_overview",
    "TRADE_DEFAULT",
]

TRADE_DEFAULT = 1.0
"""Trade parameter of a country without one (the EU method's neutral value)."""


def indicators(
    volumes: pd.DataFrame,
    home_country: str | None = None,
    wgi: Mapping[str, float] | None = None,
    trade: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Criticality indicators per element from tonnes by element and country.

    Parameters
    ----------
    volumes : DataFrame
        Columns element, country, volume_t (t REO; several rows per country are summed).
    home_country : str, optional
        Volumes from this country are domestic supply; ``net_import_reliance`` is the share of the
        rest (no exports are modelled). Without it the column is left out.
    wgi : mapping, optional
        Raw WGI score per country (-2.5 to 2.5), one for every country in ``volumes``; gives
        ``hhi_wgi`` (0-10).
    trade : mapping, optional
        Trade parameter per country (default 1.0).

    Returns
    -------
    DataFrame
        Indexed by element: ``total_t``, ``hhi``, ``top1_country``, ``top1_share``,
        ``top3_share`` (fractions), and ``net_import_reliance``, ``hhi_wgi`` when asked for.

    Raises
    ------
    PortfolioError
        If a WGI score is missing or out of range, or a trade parameter is not positive.

    Examples
    --------
    >>> v = pd.DataFrame({"element": ["Nd", "Nd"], "country": ["CN", "AU"], "volume_t": [60.0, 40.0]})
    >>> row = indicators(v, home_country="AU", wgi={"CN": -0.5, "AU": 1.5}).loc["Nd"]
    >>> float(row["hhi"]), float(row["top1_share"]), float(row["net_import_reliance"])
    (5200.0, 0.6, 0.6)
    >>> round(float(row["hhi_wgi"]), 3)  # 0.6^2 x 6 + 0.4^2 x 2
    2.48
    """
    settings = Criticality(home_country, dict(wgi or {}), dict(trade or {}))
    by_country = volumes.groupby(["element", "country"], sort=False)["volume_t"].sum()
    countries = by_country.index.get_level_values("country")
    errors = [i for i in criticality_issues(settings, list(countries)) if i.severity == "error"]
    if errors:
        raise PortfolioError(errors)
    total = by_country.groupby(level="element", sort=False).sum()
    share = (by_country / by_country.index.get_level_values("element").map(total)).fillna(0.0)
    rows = {}
    for element, shares in share.groupby(level="element", sort=False):
        ranked = shares.droplevel("element").sort_values(ascending=False, kind="stable")
        rows[element] = {
            "total_t": total[element],
            # Nothing bought has no concentration (0 would read as perfectly diversified).
            "hhi": float(hhi_points(ranked.to_numpy())) if total[element] > 0 else np.nan,
            "top1_country": ranked.index[0] if total[element] > 0 else "",
            "top1_share": float(ranked.iloc[:1].sum()),
            "top3_share": float(ranked.iloc[:3].sum()),
        }
        if home_country is not None:
            rows[element]["net_import_reliance"] = (
                1.0 - float(ranked.get(home_country, 0.0)) if total[element] > 0 else np.nan
            )
        if settings.wgi:
            scaled = np.array([(2.5 - settings.wgi[c]) * 2 for c in ranked.index])
            t = np.array([settings.trade.get(c, TRADE_DEFAULT) for c in ranked.index])
            rows[element]["hhi_wgi"] = float((ranked.to_numpy() ** 2 * scaled * t).sum())
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("element")


def plan_indicators(result: Result, stage: str = SELLER, **settings) -> pd.DataFrame:
    """Indicators of a plan's tonnes over the horizon, per element (see :func:`indicators`).

    Parameters
    ----------
    result : Result
        A solved plan.
    stage : str
        Whose countries: ``seller`` (default; the sellers', as a cap without a stage counts) or
        a processing stage (mining, separation, metal, magnet: the countries that did it, of the
        element's tonnes at that stage), from :attr:`Result.shares`.
    **settings
        Home country, WGI scores and trade parameters; they default to the portfolio's
        ``criticality`` settings.

    Examples
    --------
    >>> import rareopt
    >>> r = rareopt.solve(rareopt.load_example("tiny"))
    >>> ind = plan_indicators(r, home_country="JP")
    >>> ind["top1_country"].tolist(), round(float(ind.loc["Dy", "net_import_reliance"]), 3)
    (['CN', 'CN'], 0.881)
    >>> round(float(plan_indicators(r, stage="separation").loc["Nd", "top1_share"]), 2)
    0.6
    """
    if stage not in (SELLER, *STAGES):
        raise ValueError(f"stage {stage!r}: allowed are {', '.join((SELLER, *STAGES))}")
    # The tonnes delivered (after any facility's yield), as the caps and shares count them.
    shares = result.shares
    level = shares.index.get_level_values
    at = shares[(level("period") == ALL) & (level("stage") == stage) & (level("by") == "country")]
    volumes = at.reset_index()[["element", "holder", "volume_t"]].rename(
        columns={"holder": "country"}
    )
    return _with_settings(volumes, result.portfolio, settings)


def market_indicators(portfolio: Portfolio, **settings) -> pd.DataFrame:
    """Indicators of the supply on offer: capacity over the horizon by country, per element.

    Concentrates count with their share of each element. Offers with unlimited capacity have no
    share to count; they raise an error naming them.

    Examples
    --------
    >>> import rareopt
    >>> m = market_indicators(rareopt.load_example("tiny"))
    >>> float(m.loc["Dy", "top1_share"]) > 0.5  # China holds most heavy rare-earth capacity
    True
    """
    capacity = portfolio.capacity.merge(portfolio.suppliers[["supplier", "country"]], on="supplier")
    unlimited = capacity.loc[~np.isfinite(capacity["capacity_t"]), ["supplier", "element"]]
    if not unlimited.empty:
        offers = sorted({f"{s}/{e}" for s, e in unlimited.itertuples(index=False)})
        raise ValueError(
            f"market indicators: offers {offers} have unlimited capacity_t, so no market share; "
            "allowed: a finite capacity_t for every offer"
        )
    bundled = portfolio.concentrate_capacity.merge(
        portfolio.composition, on=["supplier", "product"]
    )
    bundled = bundled.merge(portfolio.suppliers[["supplier", "country"]], on="supplier")
    bundled = bundled[np.isfinite(bundled["capacity_t"])]
    columns = ["element", "country", "volume_t"]
    volumes = pd.concat(
        [
            capacity.rename(columns={"capacity_t": "volume_t"})[columns],
            bundled.assign(volume_t=bundled["capacity_t"] * bundled["share"])[columns],
        ]
    )
    volumes = volumes[volumes["element"].isin(portfolio.elements)]
    return _with_settings(volumes, portfolio, settings)


def _with_settings(volumes: pd.DataFrame, portfolio: Portfolio, overrides: dict) -> pd.DataFrame:
    base = portfolio.criticality
    settings = {"home_country": base.home_country, "wgi": base.wgi, "trade": base.trade}
    settings.update(overrides)
    return indicators(volumes, **settings).reindex(portfolio.elements)


def criticality_overview(result: Result) -> pd.DataFrame:
    """The plan's indicators beside those of the market on offer and the plan's cost, per element.

    Columns: ``cost_usd`` (purchase cost), the plan's indicators (see :func:`indicators`), and the
    same for capacity on offer prefixed ``market_`` (left out when some offer has unlimited
    capacity). Shares are fractions.

    Examples
    --------
    >>> import rareopt
    >>> table = criticality_overview(rareopt.solve(rareopt.load_example("tiny")))
    >>> bool((table["hhi"] <= table["market_hhi"]).all())  # the China cap spreads purchases
    True
    """
    plan = plan_indicators(result)
    cost = result.plan["cost_usd"].groupby(level="element", sort=False).sum()
    out = pd.concat([cost.rename("cost_usd"), plan], axis=1).reindex(result.portfolio.elements)
    if np.isfinite(result.portfolio.capacity["capacity_t"]).all():
        market = market_indicators(result.portfolio).drop(columns="total_t")
        out = out.join(market.add_prefix("market_"))
    return out.rename_axis("element")

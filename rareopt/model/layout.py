"""The model's index tables: which variables and rows exist, with their labels and data.

:func:`make_layout` turns a validated portfolio into tidy tables (one row per purchase variable,
per element and period, per cap row ...), once, with pandas. Everything downstream (the formulation's
arrays, the Pyomo view, results, checks) is aligned to these tables' row order. Only offers with
positive capacity in a period get a purchase variable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.tables import ALL

__all__ = ["ModelLayout", "make_layout"]


@dataclass(frozen=True)
class ModelLayout:
    """Index tables behind a built model, in the model's own order.

    Attributes
    ----------
    portfolio : Portfolio
        The portfolio the model was built from.
    buy : DataFrame
        One row per purchase variable x[e,s,p]: element, supplier, country, period,
        capacity_t, unit_cost_usd_per_t (price + freight), risk_score, price_usd_per_t.
    element_period : DataFrame
        One row per (element, period): demand_t, days, target_t, stock_capacity_t,
        holding_usd_per_t, shortfall_penalty_usd_per_t (the policy's where the stockpile leaves it
        blank), initial_t (stock before the period's first day, first period only).
    country_caps : DataFrame
        One row per country-cap constraint: element, country, period (``"*"`` over the horizon),
        max_share, and cap_element: the element the governing policy row names (``"*"`` for a
        country's cap on every element), so that a sweep of that row finds the rows it governs.
    supplier_caps : DataFrame
        Same for supplier caps: element, supplier, period, max_share.
    group_buy : DataFrame
        Purchase rows by country group (a row per group its country is in): element, group,
        period, pos (row of ``buy``).
    group_caps, group_floors : DataFrame
        Group-share rows: element, group, period, max_share (min_share).
    concentrate : DataFrame
        One row per concentrate purchase variable q[s, k, p]: supplier, product, country, period,
        capacity_t, unit_cost_usd_per_t, risk_score.
    supply : DataFrame
        Where each element's tonnes come from: element, supplier, country, period, pos (the
        variable: a row of ``buy``, or ``len(buy)`` + a row of ``concentrate``) and coef (t of the
        element per unit of the variable).
    stock_targets : DataFrame
        The rows of ``element_period`` with a positive stock target (element, period, target_t),
        with ``ep``, their row in ``element_period``.
    surplus : DataFrame
        The (element, period) pairs some concentrate brings, in ``element_period`` order, with
        ``ep``: where a bundled surplus r[e, p] can arise.
    """

    portfolio: Portfolio
    buy: pd.DataFrame
    element_period: pd.DataFrame
    country_caps: pd.DataFrame
    supplier_caps: pd.DataFrame
    group_buy: pd.DataFrame
    group_caps: pd.DataFrame
    group_floors: pd.DataFrame
    concentrate: pd.DataFrame
    supply: pd.DataFrame
    stock_targets: pd.DataFrame
    surplus: pd.DataFrame


def _element_periods(portfolio: Portfolio) -> pd.DataFrame:
    """Demand, target tonnes and stock limits per (element, period), in element-then-period order."""
    labels = portfolio.period_labels
    ep = portfolio.demand[["element", "period", "demand_t"]].copy()
    ep["element"] = pd.Categorical(ep["element"], categories=portfolio.elements)
    ep["period"] = pd.Categorical(ep["period"], categories=labels)
    ep = ep.sort_values(["element", "period"]).astype({"element": str, "period": str})
    ep = ep.merge(portfolio.periods, on="period", how="left")
    ep = ep.merge(portfolio.stock_target, on=["element", "period"], how="left")
    ep = ep.merge(portfolio.stockpile, on="element", how="left")
    no_stockpile = ep["capacity_t"].isna()
    ep["target_days"] = ep["target_days"].fillna(0.0)
    ep["target_t"] = ep["target_days"] * ep["demand_t"] / ep["days"]
    ep["stock_capacity_t"] = ep["capacity_t"].where(~no_stockpile, 0.0)
    ep["holding_usd_per_t"] = ep["holding_usd_per_t"].fillna(0.0)
    ep["shortfall_penalty_usd_per_t"] = ep["shortfall_penalty_usd_per_t"].fillna(
        portfolio.policy.target_shortfall_penalty_usd_per_t
    )
    first = ep["period"] == labels[0]
    ep["initial_t"] = ep["initial_t"].fillna(0.0).where(first, 0.0)
    columns = [
        "element",
        "period",
        "demand_t",
        "days",
        "target_days",
        "target_t",
        "stock_capacity_t",
        "holding_usd_per_t",
        "shortfall_penalty_usd_per_t",
        "initial_t",
    ]
    return ep[columns].reset_index(drop=True)


def _purchases(portfolio: Portfolio) -> pd.DataFrame:
    """Purchase variables: offers x periods with positive capacity, element-major order."""
    offers = portfolio.offers.merge(portfolio.suppliers, on="supplier")
    buy = portfolio.capacity.merge(offers, on=["supplier", "element"])
    buy = buy[buy["capacity_t"] > 0].copy()
    buy["unit_cost_usd_per_t"] = buy["price_usd_per_t"] + buy["freight_usd_per_t"]
    buy["element"] = pd.Categorical(buy["element"], categories=portfolio.elements)
    buy["period"] = pd.Categorical(buy["period"], categories=portfolio.period_labels)
    buy = buy.sort_values(["element", "period", "supplier"]).astype({"element": str, "period": str})
    columns = [
        "element",
        "supplier",
        "country",
        "period",
        "capacity_t",
        "unit_cost_usd_per_t",
        "risk_score",
        "price_usd_per_t",
    ]
    return buy[columns].reset_index(drop=True)


def _most_specific(caps: pd.DataFrame, key: str, pairs: pd.DataFrame) -> pd.DataFrame:
    """For each (key, element) pair, the cap row that names it most specifically.

    Named element beats ``"*"``; for supplier caps a named supplier also beats ``"*"``. The
    column ``cap_element`` is the element the governing policy row names (``"*"`` or the element).
    """
    candidates = []
    key_all, element_all = caps[key].eq(ALL).to_numpy(), caps["element"].eq(ALL).to_numpy()
    for key_any in (False, True):
        for element_any in (False, True):
            shaped = caps[(key_all == key_any) & (element_all == element_any)]
            if shaped.empty:  # no cap row of this shape: nothing to look up
                continue
            left = pairs.assign(
                _k=ALL if key_any else pairs[key], _e=ALL if element_any else pairs["element"]
            )
            hit = left.merge(shaped.rename(columns={key: "_k", "element": "_e"}), on=["_k", "_e"])
            hit["_rank"] = 2 * key_any + element_any
            candidates.append(hit)
    if not candidates:
        return pd.DataFrame(columns=[key, "element", "max_share", "cap_element"])
    found = pd.concat(candidates).sort_values("_rank", kind="stable")
    found = found.drop_duplicates([key, "element"], keep="first")
    return found.rename(columns={"_e": "cap_element"})[[key, "element", "max_share", "cap_element"]]


def _cap_rows(portfolio: Portfolio, buy: pd.DataFrame, key: str) -> pd.DataFrame:
    """Cap constraints that can bind: share < 1 on a (key, element) that has purchase variables."""
    caps = getattr(portfolio.policy, f"{key}_caps")
    pairs = buy[[key, "element"]].drop_duplicates()
    effective = _most_specific(caps, key, pairs)
    effective = effective[effective["max_share"] < 1.0]
    if portfolio.policy.cap_basis == "horizon":
        rows = effective.assign(period=ALL)
    else:
        # In the supply table's order (element-major): an inner merge keeps the left order.
        periods = buy[[key, "element", "period"]].drop_duplicates()
        rows = periods.merge(effective, on=[key, "element"])
    return rows[["element", key, "period", "max_share", "cap_element"]].reset_index(drop=True)


def _group_buy(portfolio: Portfolio, supply: pd.DataFrame) -> pd.DataFrame:
    """Supply rows labelled with each country group (caps and floors) their country is in."""
    policy = portfolio.policy
    members = {}
    for table in (policy.group_caps, policy.group_floors):
        for group, countries in zip(table["group"], table["countries"]):
            members[group] = set(countries)
    columns = ["element", "group", "period", "pos", "coef"]
    frames = [
        supply.loc[supply["country"].isin(countries), ["element", "period", "pos", "coef"]].assign(
            group=group
        )
        for group, countries in members.items()
    ]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _group_rows(
    portfolio: Portfolio, buy: pd.DataFrame, group_buy: pd.DataFrame, share: str
) -> pd.DataFrame:
    """Group cap (or floor) rows for every element with purchase variables.

    A row for a named element overrides the group's ``"*"`` row. Caps of 1 and floors of 0 are
    not written.
    """
    table = getattr(portfolio.policy, "group_caps" if share == "max_share" else "group_floors")
    columns = ["element", "group", "period", share]
    if table.empty:
        return pd.DataFrame(columns=columns)
    pairs = pd.DataFrame(
        [(g, e) for g in table["group"].unique() for e in buy["element"].unique()],
        columns=["group", "element"],
    )
    effective = _most_specific(
        table.drop(columns="countries").rename(columns={share: "max_share"}), "group", pairs
    ).rename(columns={"max_share": share})
    keep = effective[share] < 1.0 if share == "max_share" else effective[share] > 0.0
    effective = effective[keep]
    if portfolio.policy.cap_basis == "horizon":
        rows = effective.assign(period=ALL)
    else:
        periods = buy[["element", "period"]].drop_duplicates()
        rows = effective.merge(periods, on="element")
    rows["element"] = pd.Categorical(rows["element"], categories=portfolio.elements)
    # A floor over a group with no offer for the element still binds (on total purchases).
    rows = rows.sort_values(["element", "group", "period"]).astype({"element": str})
    return rows[columns].reset_index(drop=True)


def make_layout(portfolio: Portfolio) -> ModelLayout:
    """Precompute every index table the model needs (see :class:`ModelLayout`).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> len(make_layout(load_example("tiny")).element_period)
    6
    """
    buy = _purchases(portfolio)
    concentrate = _concentrate_purchases(portfolio)
    supply = _supply(portfolio, buy, concentrate)
    group_buy = _group_buy(portfolio, supply)
    ep = _element_periods(portfolio)
    ep_row = ep[["element", "period"]].assign(ep=np.arange(len(ep)))
    has_target = ep["target_t"].to_numpy() > 0
    targets = ep_row[has_target].assign(target_t=ep["target_t"].to_numpy()[has_target])
    bundled = supply.loc[supply["pos"] >= len(buy), ["element", "period"]].drop_duplicates()
    surplus = ep_row.merge(bundled, on=["element", "period"]).sort_values("ep")
    return ModelLayout(
        portfolio=portfolio,
        buy=buy,
        element_period=ep,
        country_caps=_cap_rows(portfolio, supply, "country"),
        supplier_caps=_cap_rows(portfolio, supply, "supplier"),
        group_buy=group_buy,
        group_caps=_group_rows(portfolio, supply, group_buy, "max_share"),
        group_floors=_group_rows(portfolio, supply, group_buy, "min_share"),
        concentrate=concentrate,
        supply=supply,
        stock_targets=targets.reset_index(drop=True).astype({"ep": np.int64}),
        surplus=surplus.reset_index(drop=True).astype({"ep": np.int64}),
    )


def _concentrate_purchases(portfolio: Portfolio) -> pd.DataFrame:
    """Concentrate purchase variables: offers x periods with positive capacity."""
    columns = [
        "supplier",
        "product",
        "country",
        "period",
        "capacity_t",
        "unit_cost_usd_per_t",
        "risk_score",
    ]
    if portfolio.concentrates.empty:
        numeric = ("capacity_t", "unit_cost_usd_per_t", "risk_score")
        return pd.DataFrame(
            {c: pd.Series(dtype=float if c in numeric else object) for c in columns}
        )
    offers = portfolio.concentrates.merge(
        portfolio.suppliers[["supplier", "country", "risk_score"]], on="supplier"
    )
    rows = portfolio.concentrate_capacity.merge(offers, on=["supplier", "product"])
    rows = rows[rows["capacity_t"] > 0].copy()
    rows["unit_cost_usd_per_t"] = rows["price_usd_per_t"] + rows["freight_usd_per_t"]
    rows["period"] = pd.Categorical(rows["period"], categories=portfolio.period_labels)
    rows = rows.sort_values(["supplier", "product", "period"]).astype({"period": str})
    return rows[columns].reset_index(drop=True)


def _supply(portfolio: Portfolio, buy: pd.DataFrame, concentrate: pd.DataFrame) -> pd.DataFrame:
    """Every source of an element's tonnes: purchases (coef 1) and concentrates (coef share)."""
    columns = ["element", "supplier", "country", "period", "pos", "coef"]
    direct = buy[["element", "supplier", "country", "period"]].assign(
        pos=np.arange(len(buy)), coef=1.0
    )
    mix = portfolio.composition[portfolio.composition["element"].isin(portfolio.elements)]
    bundled = concentrate.assign(pos=len(buy) + np.arange(len(concentrate))).merge(
        mix, on=["supplier", "product"]
    )
    bundled = bundled[bundled["share"] > 0].rename(columns={"share": "coef"})
    return pd.concat([direct, bundled[columns]], ignore_index=True)[columns]

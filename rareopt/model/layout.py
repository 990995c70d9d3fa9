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

from rareopt.exceptions import NotSupportedError
from rareopt.inputs.markets import contract_terms, contract_unit_prices
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.responses import response_limits
from rareopt.inputs.stages import ANY_STAGE, arrivals, route_table
from rareopt.inputs.tables import ALL

__all__ = ["ModelLayout", "make_layout", "stage_cap_groups", "stage_source"]


@dataclass(frozen=True)
class ModelLayout:
    """Index tables behind a built model, in the model's own order.

    Attributes
    ----------
    portfolio : Portfolio
        The portfolio the model was built from.
    buy : DataFrame
        One row per purchase variable x[e,s,p]: element, supplier, country, period (bought in),
        arrival (the period it arrives in: ``offers.lead_periods`` later), capacity_t,
        unit_cost_usd_per_t (price + freight), risk_score, price_usd_per_t.
    element_period : DataFrame
        One row per (element, period): demand_t, days, target_t, stock_capacity_t,
        holding_usd_per_t, shortfall_penalty_usd_per_t (the policy's where the stockpile leaves it
        blank), initial_t (stock before the period's first day, first period only), arriving_t
        (shipments in transit at the start that arrive in the period).
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
        Where each element's tonnes come from: element, supplier, country (the seller's),
        period, pos (the variable: a row of ``buy``, ``len(buy)`` + a row of ``concentrate``, or
        ``len(buy) + len(concentrate)`` + a row of ``route``), coef (t of the element delivered
        per unit of the variable) and source ("buy", "concentrate" or "route"). A purchase
        converted by facilities delivers through its routes, not directly.
    route : DataFrame
        One row per route variable: a purchase converted by facilities on one route
        (:func:`rareopt.inputs.stages.route_table`): element, supplier, route, period (bought
        in), arrival (the offer's lead time and each facility's later), buy (its row of
        ``buy``), yield (t delivered per t bought), fee_usd_per_t (per t bought) and
        lead_periods.
    stage_supply : DataFrame
        The tonnes at each stage: element, stage, country, period (the variable's arrival),
        bought_in, reached (the period the tonnes reach that stage: bought in for the offer's
        own stages), pos, coef (t at that stage per unit of the variable) and facility (the
        supplier up to the offer's stage), for every purchase delivered directly and every
        route.
    stage_caps : DataFrame
        One row per stage-cap constraint: element, stage, by (country, supplier or group),
        holder, period (``"*"`` over the horizon), max_share, cap_element; stage ``any`` caps
        the tonnes that touch the holder.
    facility_periods : DataFrame
        One row per (facility, period) some route passes with a finite capacity: facility,
        period, capacity_t.
    facility_use : DataFrame
        Which route variables use which facility row: row (of ``facility_periods``), pos, coef
        (t of the facility's output per t bought).
    stock_targets : DataFrame
        The rows of ``element_period`` with a positive stock target (element, period, target_t),
        with ``ep``, their row in ``element_period``.
    surplus : DataFrame
        The (element, period) pairs some concentrate brings, in ``element_period`` order, with
        ``ep``: where a bundled surplus r[e, p] can arise.
    buy_terms : DataFrame
        The contract terms of each purchase variable, aligned with ``buy``
        (:func:`~rareopt.inputs.markets.contract_terms`).
    take_or_pay : DataFrame
        The purchases whose offer pays a minimum whether taken or not (``take_or_pay_t`` > 0):
        element, supplier, period, buy (row of ``buy``), minimum_t.
    response : DataFrame
        One row per demand-response variable of the plan (``decision: plan``), in the periods it
        works (from period ``lead_periods + 1``): element, response, period, kind, limit_t,
        cost_usd_per_t, sticky, cut (True for substitution and thrifting, which cut demand;
        False for recycling, which supplies), ep (row of ``element_period``).
    recourse_response : DataFrame
        The same for every period of each ``decision: recourse`` response, with lead_periods
        (a scenario keeps those from its disruption's start + the lead).
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
    route: pd.DataFrame
    stage_supply: pd.DataFrame
    stage_caps: pd.DataFrame
    facility_periods: pd.DataFrame
    facility_use: pd.DataFrame
    buy_terms: pd.DataFrame
    take_or_pay: pd.DataFrame
    response: pd.DataFrame
    recourse_response: pd.DataFrame


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
    transit = portfolio.in_transit.groupby(["element", "period"])["volume_t"].sum()
    ep["arriving_t"] = (
        transit.reindex(pd.MultiIndex.from_frame(ep[["element", "period"]]))
        .fillna(0.0)
        .to_numpy(float)
    )
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
        "arriving_t",
    ]
    return ep[columns].reset_index(drop=True)


def _purchases(portfolio: Portfolio) -> pd.DataFrame:
    """Purchase variables: offers x periods with positive capacity, element-major order."""
    offers = portfolio.offers.merge(portfolio.suppliers, on="supplier")
    buy = portfolio.capacity.merge(offers, on=["supplier", "element"])
    buy = buy[buy["capacity_t"] > 0].copy()
    # Today's price of each tonne under the offer's contract terms (a floor may lift it).
    buy["unit_cost_usd_per_t"] = contract_unit_prices(contract_terms(buy))
    buy["element"] = pd.Categorical(buy["element"], categories=portfolio.elements)
    buy["period"] = pd.Categorical(buy["period"], categories=portfolio.period_labels)
    buy = buy.sort_values(["element", "period", "supplier"]).astype({"element": str, "period": str})
    # A purchase arrives its offer's lead time later; one that would arrive after the horizon
    # has no variable (it could serve no demand).
    buy["arrival"] = arrivals(portfolio, buy).to_numpy()
    buy = buy[buy["arrival"].notna()]
    columns = [
        "element",
        "supplier",
        "country",
        "period",
        "arrival",
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
    buy, route, legs = _routes(portfolio, buy)
    supply = _supply(portfolio, buy, concentrate, route)
    stage_supply, stage_caps, facility_periods, facility_use = _stage_tables(
        portfolio, buy, route, legs, len(concentrate)
    )
    group_buy = _group_buy(portfolio, supply)
    ep = _element_periods(portfolio)
    ep_row = ep[["element", "period"]].assign(ep=np.arange(len(ep)))
    has_target = ep["target_t"].to_numpy() > 0
    targets = ep_row[has_target].assign(target_t=ep["target_t"].to_numpy()[has_target])
    bundled = supply.loc[supply["source"] == "concentrate", ["element", "period"]].drop_duplicates()
    surplus = ep_row.merge(bundled, on=["element", "period"]).sort_values("ep")
    terms = contract_terms(portfolio.offers, buy)
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
        route=route.drop(columns="route_id"),
        stage_supply=stage_supply,
        stage_caps=stage_caps,
        facility_periods=facility_periods,
        facility_use=facility_use,
        buy_terms=terms,
        take_or_pay=_take_or_pay(buy, terms, route),
        response=_responses(portfolio, ep_row, "plan"),
        recourse_response=_responses(portfolio, ep_row, "recourse"),
    )


def _responses(portfolio: Portfolio, ep_row: pd.DataFrame, decision: str) -> pd.DataFrame:
    """Demand-response variables of one decision (see :class:`ModelLayout`)."""
    rows = response_limits(portfolio, decision)
    rows["cut"] = rows["kind"].isin(["substitution", "thrifting"])
    rows["sticky"] = rows["sticky"].astype(bool)
    position = pd.Categorical(rows["period"], categories=portfolio.period_labels).codes
    if decision == "plan":  # a plan's response works from period lead_periods + 1
        rows = rows[position >= rows["lead_periods"].to_numpy(float)]
    rows = rows.merge(ep_row, on=["element", "period"], how="left")
    columns = [
        "element",
        "response",
        "period",
        "kind",
        "limit_t",
        "cost_usd_per_t",
        "sticky",
        "cut",
    ]
    columns += ["ep"] if decision == "plan" else ["lead_periods", "ep"]
    return rows[columns].reset_index(drop=True).astype({"ep": np.int64})


def _take_or_pay(buy: pd.DataFrame, terms: pd.DataFrame, route: pd.DataFrame) -> pd.DataFrame:
    """Purchases with a take-or-pay minimum: element, supplier, period, buy, minimum_t."""
    minimum = terms["take_or_pay_t"].to_numpy(float)
    rows = np.flatnonzero(minimum > 0)
    converted = np.intersect1d(rows, route["buy"].to_numpy(np.int64))
    if len(converted):
        offers = sorted(set(zip(buy["supplier"].iloc[converted], buy["element"].iloc[converted])))
        raise NotSupportedError(
            f"take-or-pay on feed converted by facilities (offers {offers}): not built yet (what "
            "a disrupted route leaves of the minimum is not defined); give the minimum on an "
            "offer at the demand's stage"
        )
    return pd.DataFrame(
        {
            "element": buy["element"].to_numpy(object)[rows],
            "supplier": buy["supplier"].to_numpy(object)[rows],
            "period": buy["period"].to_numpy(object)[rows],
            "buy": rows.astype(np.int64),
            "minimum_t": minimum[rows],
        }
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


def _supply(
    portfolio: Portfolio, buy: pd.DataFrame, concentrate: pd.DataFrame, route: pd.DataFrame
) -> pd.DataFrame:
    """Every source of an element's tonnes, with the tonnes per unit of its variable.

    Purchases delivered as bought (coef 1), concentrates (coef share) and routes through
    facilities (coef the route's yield).
    """
    columns = ["element", "supplier", "country", "period", "pos", "coef", "source"]
    converted = np.zeros(len(buy), dtype=bool)
    converted[route["buy"].to_numpy(np.int64)] = True
    # Tonnes count in the period they arrive: the balance's and every share's.
    direct = buy[["element", "supplier", "country", "arrival"]].rename(
        columns={"arrival": "period"}
    )
    direct = direct.assign(pos=np.arange(len(buy)), coef=1.0, source="buy")[~converted]
    mix = portfolio.composition[portfolio.composition["element"].isin(portfolio.elements)]
    bundled = concentrate.assign(pos=len(buy) + np.arange(len(concentrate))).merge(
        mix, on=["supplier", "product"]
    )
    bundled = bundled[bundled["share"] > 0].rename(columns={"share": "coef"})
    routed = route.assign(
        period=route["arrival"].to_numpy(object),
        country=buy["country"].to_numpy(object)[route["buy"].to_numpy(np.int64)],
        pos=len(buy) + len(concentrate) + np.arange(len(route)),
        coef=route["yield"],
        source="route",
    )
    return pd.concat(
        [direct, bundled.assign(source="concentrate")[columns], routed[columns]],
        ignore_index=True,
    )[columns]


def _routes(
    portfolio: Portfolio, buy: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Route variables (converted purchases x periods) and every supply variable's stage legs.

    Returns the purchases (less those converted by facilities whose every route would arrive
    after the horizon), the ``route`` table and, per purchase delivered directly (by its row of
    ``buy``) or route variable (by ``len(buy)`` + its row, to be shifted past the concentrates),
    its legs: key (that position), stage, facility, country, factor, lead_periods (from
    purchase to the leg).
    """
    routes, legs = route_table(portfolio)
    routes = routes.assign(route_id=np.arange(len(routes)))
    converted = routes[routes["converted"]]
    route = converted.merge(buy[["element", "supplier", "period"]], on=["element", "supplier"])
    # A route arrives when its last leg does; one arriving after the horizon has no variable,
    # and a converted purchase with no route left has none either.
    route["arrival"] = arrivals(portfolio, route, route["lead_periods"].to_numpy(int)).to_numpy()
    route = route[route["arrival"].notna()]
    offer, bought = ["element", "supplier"], ["element", "supplier", "period"]
    is_converted = pd.MultiIndex.from_frame(buy[offer]).isin(
        pd.MultiIndex.from_frame(converted[offer])
    )
    has_route = pd.MultiIndex.from_frame(buy[bought]).isin(pd.MultiIndex.from_frame(route[bought]))
    buy = buy[~is_converted | has_route].reset_index(drop=True)
    offer_of_buy = buy[["element", "supplier", "period"]].assign(buy=np.arange(len(buy)))
    route = route.merge(offer_of_buy, on=["element", "supplier", "period"])
    route = route.sort_values(["buy", "route_id"], kind="stable").reset_index(drop=True)
    direct_routes = routes[~routes["converted"]][["element", "supplier", "route_id"]]
    direct = offer_of_buy.merge(direct_routes, on=["element", "supplier"])
    keys = pd.concat(
        [
            direct[["buy", "route_id"]].rename(columns={"buy": "key"}),
            pd.DataFrame({"key": len(buy) + np.arange(len(route)), "route_id": route["route_id"]}),
        ],
        ignore_index=True,
    )
    stage_legs = keys.merge(legs, left_on="route_id", right_on="route")
    columns = ["element", "supplier", "route", "period", "arrival", "buy", "yield"]
    return (
        buy,
        route[[*columns, "fee_usd_per_t", "lead_periods", "route_id"]],
        stage_legs[["key", "stage", "facility", "country", "factor", "lead_periods"]],
    )


def _stage_tables(
    portfolio: Portfolio,
    buy: pd.DataFrame,
    route: pd.DataFrame,
    legs: pd.DataFrame,
    n_concentrate: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stage supply and stage-cap rows; facility rows and which route variables use them."""
    key = legs["key"].to_numpy(np.int64)
    is_route = key >= len(buy)
    buy_row = np.where(
        is_route,
        route["buy"].to_numpy(np.int64)[np.maximum(key - len(buy), 0)] if len(route) else 0,
        key,
    )
    pos = np.where(is_route, key + n_concentrate, key)
    # Tonnes count where they arrive (a route's arrival); a facility works them in the period
    # they reach it.
    arrival = buy["arrival"].to_numpy(object)[buy_row]
    if len(route):
        on_route = route["arrival"].to_numpy(object)[np.maximum(key - len(buy), 0)]
        arrival = np.where(is_route, on_route, arrival)
    labels = np.asarray(portfolio.period_labels, dtype=object)
    bought = pd.Categorical(buy["period"].to_numpy(object)[buy_row], categories=labels).codes
    reached = labels[bought + legs["lead_periods"].to_numpy(np.int64)]
    stage_supply = pd.DataFrame(
        {
            "element": buy["element"].to_numpy(object)[buy_row],
            "stage": legs["stage"].to_numpy(object),
            "country": legs["country"].to_numpy(object),
            "period": arrival,
            "bought_in": buy["period"].to_numpy(object)[buy_row],
            "reached": reached,
            "pos": pos,
            "coef": legs["factor"].to_numpy(float),
            "facility": legs["facility"].to_numpy(object),
        }
    )
    caps = portfolio.policy.stage_caps
    groups = stage_cap_groups(caps)
    columns = ["element", "stage", "by", "holder", "period", "max_share", "cap_element"]
    frames = []
    for (stage, by), at_stage in caps.groupby(["stage", "by"], sort=False):
        source = stage_source(stage_supply, str(stage), str(by), groups)
        pairs = source[["holder", "element"]].drop_duplicates()
        effective = _most_specific(at_stage[["holder", "element", "max_share"]], "holder", pairs)
        effective = effective[effective["max_share"] < 1.0]
        if portfolio.policy.cap_basis == "horizon":
            rows = effective.assign(period=ALL)
        else:
            rows = (
                source[["holder", "element", "period"]]
                .drop_duplicates()
                .merge(effective, on=["holder", "element"])
            )
        frames.append(rows.assign(stage=stage, by=by))
    stage_caps = (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )
    facilities = portfolio.facilities.set_index("facility")
    used = stage_supply[stage_supply["facility"].isin(facilities.index)]
    used = used.assign(
        capacity_t=used["facility"].map(facilities["capacity_t"]).astype(float),
        period=used["reached"],
    )
    used = used[np.isfinite(used["capacity_t"].to_numpy())]
    facility_periods = (
        used[["facility", "period", "capacity_t"]]
        .drop_duplicates(["facility", "period"])
        .reset_index(drop=True)
    )
    row = facility_periods.reset_index().rename(columns={"index": "row"})
    use = used.merge(row[["facility", "period", "row"]], on=["facility", "period"])
    return (
        stage_supply,
        stage_caps.reset_index(drop=True),
        facility_periods,
        use[["row", "pos", "coef"]].reset_index(drop=True),
    )


def stage_cap_groups(caps: pd.DataFrame) -> dict[str, tuple]:
    """The countries of each group a stage cap names (group name -> countries).

    Examples
    --------
    >>> from rareopt.inputs.portfolio import Policy
    >>> caps = Policy(stage_caps=[{"countries": ["CN", "MM"], "stage": "mining",
    ...                            "max_share": 0.6}]).stage_caps
    >>> stage_cap_groups(caps)
    {'CN+MM': ('CN', 'MM')}
    """
    groups = caps[caps["by"] == "group"]
    return dict(zip(groups["holder"], groups["countries"]))


def stage_source(
    stage_supply: pd.DataFrame,
    stage: str,
    by: str = "country",
    groups: dict[str, tuple] | None = None,
) -> pd.DataFrame:
    """The tonnes a cap at ``stage`` counts, per variable and holder (column ``holder``).

    The holder ``by`` country is the country doing the stage; by supplier, the supplier or the
    facility doing it; by group, each of ``groups`` (name -> countries) that country is in. For
    stage ``any``, per variable and each holder it touches at some stage, the tonnes it delivers
    (its factor at its last, deepest, stage), once per holder.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> layout = make_layout(load_example("tiny"))
    >>> len(stage_source(layout.stage_supply, "any")) == len(layout.buy)
    True
    """
    source = stage_supply
    if stage == ANY_STAGE:
        last = stage_supply.groupby("pos", sort=False)["coef"].transform("last")
        source = stage_supply.assign(coef=last)
    else:
        source = stage_supply[stage_supply["stage"] == stage]
    if by == "group":
        members = (groups or {}).items()
        source = pd.concat(
            [source.iloc[:0].assign(holder="")]
            + [source[source["country"].isin(c)].assign(holder=g) for g, c in members],
            ignore_index=True,
        )
    else:
        source = source.assign(holder=source["facility" if by == "supplier" else "country"])
    if stage == ANY_STAGE:
        source = source.drop_duplicates(["pos", "holder"])
    return source

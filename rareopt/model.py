"""Build the sourcing LP as a Pyomo ``ConcreteModel`` from a validated portfolio.

The symbols follow ``docs/formulation.md``. All index sets are precomputed as tidy tables (the
:class:`ModelLayout`) once, with pandas; constraint bodies are assembled from those position arrays,
never by scanning every supplier for every row. Only offers with positive capacity in a period get a
purchase variable.

The model is returned to the caller, who may add Pyomo components of their own before solving it
with :func:`rareopt.solve`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from rareopt.contracts import add_contracts, needs_contracts
from rareopt.keys import row_keys
from rareopt.portfolio import Portfolio
from rareopt.projects import add_projects
from rareopt.validation import ALL

__all__ = ["build", "ModelLayout", "layout_of", "COST_TERMS"]

COST_TERMS = (
    "purchase_cost",
    "contract_cost",
    "capital_cost",
    "holding_cost",
    "risk_penalty",
    "shortage_penalty",
    "target_penalty",
    "surplus_cost",
)
"""The objective's terms, each a named Pyomo ``Expression`` on the model (USD)."""


@dataclass(frozen=True)
class ModelLayout:
    """Index tables behind a built model, in the model's own order.

    Attributes
    ----------
    portfolio : Portfolio
        The portfolio the model was built from.
    buy : DataFrame
        One row per purchase variable x[e,s,p]: element, supplier, country, period,
        capacity_t, unit_cost_usd_per_t (price + freight), risk_score.
    element_period : DataFrame
        One row per (element, period): demand_t, days, target_t, stock_capacity_t,
        holding_usd_per_t, shortfall_penalty_usd_per_t (the policy's where the stockpile leaves it
        blank), initial_t (stock before the period's first day, first period only).
    country_caps : DataFrame
        One row per country-cap constraint: element, country, period (``"*"`` over the horizon),
        max_share.
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


def layout_of(model: pyo.ConcreteModel) -> ModelLayout:
    """The :class:`ModelLayout` of a model made by :func:`build`.

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> layout_of(build(load_example("tiny"))).buy.columns[:4].tolist()
    ['element', 'supplier', 'country', 'period']
    """
    layout = getattr(model, "_rareopt_layout", None)
    if layout is None:
        raise TypeError(
            "this Pyomo model was not built by rareopt.build(portfolio); "
            "pass a Portfolio or a model made by rareopt.build"
        )
    return layout


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
    ]
    return buy[columns].reset_index(drop=True)


def _most_specific(caps: pd.DataFrame, key: str, pairs: pd.DataFrame) -> pd.DataFrame:
    """For each (key, element) pair, the cap row that names it most specifically.

    Named element beats ``"*"``; for supplier caps a named supplier also beats ``"*"``.
    """
    candidates = []
    for key_any in (False, True):
        for element_any in (False, True):
            left = pairs.assign(
                _k=ALL if key_any else pairs[key], _e=ALL if element_any else pairs["element"]
            )
            hit = left.merge(caps.rename(columns={key: "_k", "element": "_e"}), on=["_k", "_e"])
            hit["_rank"] = 2 * key_any + element_any
            candidates.append(hit)
    found = pd.concat(candidates).sort_values("_rank")
    found = found.drop_duplicates([key, "element"], keep="first")
    return found[[key, "element", "max_share"]]


def _cap_rows(portfolio: Portfolio, buy: pd.DataFrame, key: str) -> pd.DataFrame:
    """Cap constraints that can bind: share < 1 on a (key, element) that has purchase variables."""
    caps = getattr(portfolio.policy, f"{key}_caps")
    pairs = buy[[key, "element"]].drop_duplicates()
    effective = _most_specific(caps, key, pairs)
    effective = effective[effective["max_share"] < 1.0]
    if portfolio.policy.cap_basis == "horizon":
        rows = effective.assign(period=ALL)
    else:
        periods = buy[[key, "element", "period"]].drop_duplicates()
        rows = effective.merge(periods, on=[key, "element"])
    rows["element"] = pd.Categorical(rows["element"], categories=portfolio.elements)
    rows = rows.sort_values(["element", key, "period"]).astype({"element": str})
    return rows[["element", key, "period", "max_share"]].reset_index(drop=True)


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
    >>> from rareopt.examples import load_example
    >>> len(make_layout(load_example("tiny")).element_period)
    6
    """
    buy = _purchases(portfolio)
    concentrate = _concentrate_purchases(portfolio)
    supply = _supply(portfolio, buy, concentrate)
    group_buy = _group_buy(portfolio, supply)
    return ModelLayout(
        portfolio=portfolio,
        buy=buy,
        element_period=_element_periods(portfolio),
        country_caps=_cap_rows(portfolio, supply, "country"),
        supplier_caps=_cap_rows(portfolio, supply, "supplier"),
        group_buy=group_buy,
        group_caps=_group_rows(portfolio, supply, group_buy, "max_share"),
        group_floors=_group_rows(portfolio, supply, group_buy, "min_share"),
        concentrate=concentrate,
        supply=supply,
    )


def _concentrate_purchases(portfolio: Portfolio) -> pd.DataFrame:
    """Concentrate purchase variables: offers x periods with positive capacity."""
    offers = portfolio.concentrates.merge(
        portfolio.suppliers[["supplier", "country", "risk_score"]], on="supplier"
    )
    rows = portfolio.concentrate_capacity.merge(offers, on=["supplier", "product"])
    rows = rows[rows["capacity_t"] > 0].copy()
    rows["unit_cost_usd_per_t"] = rows["price_usd_per_t"] + rows["freight_usd_per_t"]
    rows["period"] = pd.Categorical(rows["period"], categories=portfolio.period_labels)
    rows = rows.sort_values(["supplier", "product", "period"]).astype({"period": str})
    columns = [
        "supplier",
        "product",
        "country",
        "period",
        "capacity_t",
        "unit_cost_usd_per_t",
        "risk_score",
    ]
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


def _linear(coefs, variables, constant: float = 0.0) -> LinearExpression:
    """A Pyomo linear expression from parallel lists, without operator overloading per term."""
    return LinearExpression(
        constant=constant, linear_coefs=list(map(float, coefs)), linear_vars=list(variables)
    )


def _cap_constraints(
    buy_vars: list,
    buy: pd.DataFrame,
    bought: pyo.Var,
    rows: pd.DataFrame,
    key: str,
    floor: bool = False,
) -> pyo.Constraint:
    """Share caps  sum_{s in group} x - kappa * X <= 0,  X the element's purchases ``bought``.

    With ``floor``, the rows are minimum shares (>= 0). ``buy`` is a supply table (see
    :class:`ModelLayout`): its ``pos`` column names each row's variable and ``coef`` the tonnes of
    the element per unit of it (1 for a purchase, the share for a concentrate).
    Writing the total through ``bought`` keeps each cap row short (the group's own purchases plus
    one total) instead of repeating every supplier of the element in every cap row.
    """
    horizon = rows["period"].eq(ALL).all()
    scope = ["element", key] if horizon else ["element", key, "period"]
    positions = buy.groupby(scope, sort=False).indices
    pos, coef = buy["pos"].to_numpy(), buy["coef"].to_numpy(float)
    totals: dict = {}
    for element, period in bought:
        totals.setdefault(element if horizon else (element, period), []).append(
            bought[element, period]
        )
    body = {}
    for element, group, period, share in rows.itertuples(index=False):
        idx = positions.get((element, group) if horizon else (element, group, period), [])
        total = totals[element if horizon else (element, period)]
        body[element, group, period] = _linear(
            [*coef[idx], *([-share] * len(total))], [buy_vars[i] for i in pos[idx]] + total
        )
    if floor:
        return pyo.Constraint(list(body), rule=lambda m, e, g, p: body[e, g, p] >= 0)
    return pyo.Constraint(list(body), rule=lambda m, e, g, p: body[e, g, p] <= 0)


def build(portfolio: Portfolio) -> pyo.ConcreteModel:
    """Build the sourcing LP for ``portfolio`` as a Pyomo ``ConcreteModel``.

    Components (symbols of ``docs/formulation.md``):

    - ``buy[e, s, p]`` x, t REO bought of element e from supplier s in period p (0 <= x <= capacity)
    - ``stock[e, p]`` h, t at the end of period p (0 <= h <= stock capacity)
    - ``unmet[e, p]`` u, t of demand not met (0 <= u <= demand)
    - ``shortfall[e, p]`` v, t below the stock target (fixed at 0 with hard targets)
    - ``bought[e, p]`` X, t bought of e in p from all suppliers
    - ``purchases[e, p]``: sum_s x - X = 0
    - ``concentrate[s, k, p]`` q, t REO of concentrate k bought from s (0 <= q <= capacity);
      purchases then count ``share[k, e] * q`` towards X and every cap
    - ``surplus[e, p]`` r, t of an element that came bundled and is sold or disposed of
      (``surplus_limit``: r <= sum_k share x q), priced in ``surplus_cost`` at minus the salvage
    - ``balance[e, p]``: X + h[p-1] - h[p] + u - r = d
    - ``stock_target[e, p]``: h + v >= target (only where the target is positive)
    - ``country_cap[e, c, p]`` and ``supplier_cap[e, s, p]``: sum_{s in group} x - kappa X <= 0
      (p = ``"*"`` over the horizon, with X summed over the periods)
    - ``group_cap[e, g, p]`` and ``group_floor[e, g, p]``: the same for a group of countries,
      <= 0 for a cap and >= 0 (with the minimum share) for a floor
    - with contract costs, minimum orders or supplier / country counts, the binary components
      of :mod:`rareopt.contracts`; with projects, those of :mod:`rareopt.projects` (``invest``,
      ``project_capacity``, ``capital_cost``); the model is then a MIP
    - Expressions ``purchase_cost``, ``contract_cost``, ``holding_cost``, ``risk_penalty``,
      ``shortage_penalty``, ``target_penalty`` (USD) and the objective ``total_cost``, their sum,
      minimised.

    Parameters
    ----------
    portfolio : Portfolio
        A validated portfolio.

    Returns
    -------
    pyomo.environ.ConcreteModel
        Add constraints of your own, then pass it to :func:`rareopt.solve`.

    Examples
    --------
    >>> import pyomo.environ as pyo
    >>> from rareopt.examples import load_example
    >>> m = build(load_example("tiny"))
    >>> m.min_recycling = pyo.Constraint(expr=sum(m.buy[k] for k in m.buy if k[1] == "JP-Recycling") >= 10)
    >>> sorted(m.buy)[0]
    ('Dy', 'AU-Lynas', 'P1')
    """
    layout = make_layout(portfolio)
    buy, ep = layout.buy, layout.element_period
    policy = portfolio.policy
    m = pyo.ConcreteModel(name=f"rareopt:{portfolio.name}")
    m._rareopt_layout = layout

    buy_index = list(row_keys(buy, "element", "supplier", "period"))
    capacity = dict(zip(buy_index, buy["capacity_t"]))
    m.buy = pyo.Var(buy_index, domain=pyo.NonNegativeReals, bounds=lambda m, *k: (0, capacity[k]))
    ep_index = list(row_keys(ep, "element", "period"))
    stock_cap = dict(zip(ep_index, ep["stock_capacity_t"].replace(np.inf, None)))
    demand = dict(zip(ep_index, ep["demand_t"]))
    m.stock = pyo.Var(ep_index, bounds=lambda m, e, p: (0, stock_cap[e, p]))
    m.unmet = pyo.Var(ep_index, bounds=lambda m, e, p: (0, demand[e, p]))
    m.shortfall = pyo.Var(ep_index, domain=pyo.NonNegativeReals)
    if policy.hard_stock_targets:
        m.shortfall.fix(0.0)

    buy_vars = [m.buy[k] for k in buy_index]
    conc = layout.concentrate
    conc_index = list(zip(conc["supplier"], conc["product"], conc["period"]))
    conc_cap = dict(zip(conc_index, conc["capacity_t"].replace(np.inf, None)))
    m.concentrate = pyo.Var(conc_index, bounds=lambda m, *k: (0, conc_cap[k]))
    supply_vars = buy_vars + [m.concentrate[k] for k in conc_index]
    supply = layout.supply
    stock_vars = [m.stock[k] for k in ep_index]
    m.bought = pyo.Var(ep_index, domain=pyo.NonNegativeReals)
    by_ep = supply.groupby(["element", "period"], sort=False).indices
    pos, coef = supply["pos"].to_numpy(), supply["coef"].to_numpy(float)
    purchases = {}
    for key in ep_index:
        idx = by_ep.get(key, [])
        purchases[key] = _linear(
            [*coef[idx], -1.0], [supply_vars[i] for i in pos[idx]] + [m.bought[key]]
        )
    m.purchases = pyo.Constraint(ep_index, rule=lambda m, e, p: purchases[e, p] == 0)
    # Concentrate surplus: tonnes of an element that came bundled and are sold or disposed of.
    bundled = supply[supply["pos"] >= len(buy)]
    surplus_keys = [k for k in ep_index if k in set(zip(bundled["element"], bundled["period"]))]
    m.surplus = pyo.Var(surplus_keys, domain=pyo.NonNegativeReals)
    by_bundle = bundled.groupby(["element", "period"], sort=False).indices
    b_pos, b_coef = bundled["pos"].to_numpy(), bundled["coef"].to_numpy(float)
    limit = {
        k: _linear(
            [1.0, *(-b_coef[by_bundle[k]])],
            [m.surplus[k], *(supply_vars[i] for i in b_pos[by_bundle[k]])],
        )
        <= 0
        for k in surplus_keys
    }
    m.surplus_limit = pyo.Constraint(surplus_keys, rule=lambda m, e, p: limit[e, p])

    first_period = ep["initial_t"].to_numpy()
    balance = {}
    for row, key in enumerate(ep_index):
        terms = [m.bought[key], m.unmet[key], stock_vars[row]]
        coefs = [1.0, 1.0, -1.0]
        if key in m.surplus:
            terms.append(m.surplus[key])
            coefs.append(-1.0)
        if ep["period"].iat[row] != portfolio.period_labels[0]:
            terms.append(stock_vars[row - 1])
            coefs.append(1.0)
        balance[key] = _linear(coefs, terms, constant=first_period[row]) == demand[key]
    m.balance = pyo.Constraint(ep_index, rule=lambda m, e, p: balance[e, p])

    targets = dict(zip(ep_index, ep["target_t"]))
    has_target = ep["target_t"].to_numpy() > 0
    positive = [k for k, flag in zip(ep_index, has_target) if flag]
    m.stock_target = pyo.Constraint(
        positive, rule=lambda m, e, p: m.stock[e, p] + m.shortfall[e, p] >= targets[e, p]
    )
    m.country_cap = _cap_constraints(supply_vars, supply, m.bought, layout.country_caps, "country")
    m.supplier_cap = _cap_constraints(
        supply_vars, supply, m.bought, layout.supplier_caps, "supplier"
    )
    m.group_cap = _cap_constraints(
        supply_vars, layout.group_buy, m.bought, layout.group_caps, "group"
    )
    m.group_floor = _cap_constraints(
        supply_vars, layout.group_buy, m.bought, layout.group_floors, "group", floor=True
    )

    if len(portfolio.projects):
        m.capital_cost = add_projects(m, layout, supply_vars)
    else:
        m.capital_cost = pyo.Expression(expr=0.0)
    if needs_contracts(portfolio):
        m.contract_cost = add_contracts(m, layout, buy_vars, supply_vars)
    else:
        m.contract_cost = pyo.Expression(expr=0.0)
    unit_cost = np.concatenate([buy["unit_cost_usd_per_t"], conc["unit_cost_usd_per_t"]])
    risk = np.concatenate([buy["risk_score"], conc["risk_score"]]) * policy.risk_weight_usd_per_t
    m.purchase_cost = pyo.Expression(expr=_linear(unit_cost, supply_vars))
    m.holding_cost = pyo.Expression(expr=_linear(ep["holding_usd_per_t"], stock_vars))
    m.risk_penalty = pyo.Expression(expr=_linear(risk, supply_vars))
    salvage = policy.salvage_usd_per_t
    m.surplus_cost = pyo.Expression(
        expr=_linear([-salvage.get(e, 0.0) for e, _ in surplus_keys], list(m.surplus.values()))
    )
    m.shortage_penalty = pyo.Expression(
        expr=_linear(
            [policy.shortage_penalty_usd_per_t] * len(ep_index), [m.unmet[k] for k in ep_index]
        )
    )
    m.target_penalty = pyo.Expression(
        expr=_linear(
            ep["shortfall_penalty_usd_per_t"].to_numpy()[has_target],
            [m.shortfall[k] for k in positive],
        )
    )
    m.total_cost = pyo.Objective(
        expr=sum(getattr(m, term) for term in COST_TERMS), sense=pyo.minimize
    )
    return m

"""rareopt's sourcing LP written with linopy, for the ``vs_linopy`` benchmark.

Same variables, constraints and objective as ``docs/formulation.md`` for the portfolios
``rareopt.inputs.synthetic.generate`` makes (period caps: country and a flat supplier cap; stockpile rows
for every element), as labelled arrays over (element, supplier, period); with scenarios, the
two-stage extensive form (risk-neutral) over (scenario, element, supplier, period). The scenario
data (delivered fractions, which offers may sell spot) comes from rareopt's own helpers, so that
both sides solve the same problem; the modelling is linopy's. Needs ``linopy``.
"""

from __future__ import annotations

import time

import numpy as np
import xarray as xr


def _grid(portfolio):
    elements, suppliers = portfolio.elements, portfolio.suppliers["supplier"].tolist()
    periods = portfolio.period_labels
    capacity = portfolio.capacity.pivot_table(
        index=["element", "supplier"], columns="period", values="capacity_t"
    )
    full = np.zeros((len(elements), len(suppliers), len(periods)))
    for (e, s), row in capacity.iterrows():
        full[elements.index(e), suppliers.index(s)] = row[periods].to_numpy()
    coords = {"element": elements, "supplier": suppliers, "period": periods}
    return coords, xr.DataArray(full, coords=coords, dims=list(coords))


def solve_with_linopy(portfolio, scenarios=None) -> dict:
    """Build with linopy, hand to HiGHS directly, solve; return objective and timings (s)."""
    import linopy

    start = time.perf_counter()
    policy = portfolio.policy
    coords, cap = _grid(portfolio)
    e_p = {"element": coords["element"], "period": coords["period"]}
    offers = portfolio.offers.merge(portfolio.suppliers, on="supplier")
    unit = xr.zeros_like(cap.isel(period=0, drop=True))
    risk = xr.zeros_like(unit)
    for row in offers.itertuples(index=False):
        unit.loc[row.element, row.supplier] = row.price_usd_per_t + row.freight_usd_per_t
        risk.loc[row.element, row.supplier] = row.risk_score * policy.risk_weight_usd_per_t
    demand = portfolio.demand.pivot(index="element", columns="period", values="demand_t")
    demand = xr.DataArray(
        demand.loc[coords["element"], coords["period"]].to_numpy(),
        coords=e_p,
        dims=["element", "period"],
    )
    days = xr.DataArray(
        portfolio.periods.set_index("period").loc[coords["period"], "days"].to_numpy(),
        coords={"period": coords["period"]},
        dims=["period"],
    )
    targets = portfolio.stock_target.pivot(index="element", columns="period", values="target_days")
    target_t = (
        xr.DataArray(
            targets.loc[coords["element"], coords["period"]].to_numpy(),
            coords=e_p,
            dims=["element", "period"],
        )
        * demand
        / days
    )
    stockpile = portfolio.stockpile.set_index("element").loc[coords["element"]]
    element_da = {"element": coords["element"]}
    room = xr.DataArray(stockpile["capacity_t"].to_numpy(), coords=element_da, dims=["element"])
    initial = xr.DataArray(stockpile["initial_t"].to_numpy(), coords=element_da, dims=["element"])
    holding = xr.DataArray(
        stockpile["holding_usd_per_t"].to_numpy(), coords=element_da, dims=["element"]
    )
    penalty = stockpile["shortfall_penalty_usd_per_t"].fillna(
        policy.target_shortfall_penalty_usd_per_t
    )
    penalty = xr.DataArray(penalty.to_numpy(), coords=element_da, dims=["element"])

    m = linopy.Model()
    buy = m.add_variables(lower=0, upper=cap, mask=cap > 0, name="buy")
    stock = m.add_variables(lower=0, upper=room.broadcast_like(demand), name="stock")
    unmet = m.add_variables(lower=0, upper=demand, name="unmet")
    short = m.add_variables(lower=0, coords=demand.coords, name="shortfall")
    bought = m.add_variables(lower=0, coords=demand.coords, name="bought")
    m.add_constraints(buy.sum("supplier") - bought == 0, name="purchases")
    first = xr.DataArray(np.arange(len(coords["period"])) == 0, coords={"period": coords["period"]})
    previous = stock.shift(period=1)
    m.add_constraints(
        bought + previous + unmet - stock == demand - initial.where(first, 0.0), name="balance"
    )
    m.add_constraints(stock + short >= target_t, mask=target_t > 0, name="stock_target")
    country = xr.DataArray(
        portfolio.suppliers["country"].to_numpy(),
        coords={"supplier": coords["supplier"]},
        dims=["supplier"],
    )
    for c, share in zip(policy.country_caps["country"], policy.country_caps["max_share"]):
        members = (country == c).astype(float)
        m.add_constraints(
            (buy * members).sum("supplier") - share * bought <= 0, name=f"country_cap_{c}"
        )
    supplier_share = float(policy.supplier_caps["max_share"].iloc[0])
    m.add_constraints(buy - supplier_share * bought <= 0, mask=cap > 0, name="supplier_cap")
    objective = (
        ((unit + risk) * buy).sum()
        + (holding * stock).sum()
        + policy.shortage_penalty_usd_per_t * unmet.sum()
        + (penalty * short.where(target_t > 0)).sum()
    )
    if scenarios is not None:
        objective = objective + _add_scenarios(
            m,
            portfolio,
            scenarios,
            coords,
            cap,
            unit,
            demand,
            initial,
            room,
            first,
            target_t,
            penalty,
        )
    m.add_objective(objective)
    built = time.perf_counter() - start
    status, _ = m.solve(solver_name="highs", io_api="direct", log_to_console=False)
    total = time.perf_counter() - start
    return {
        "objective": float(m.objective.value),
        "build_s": built,
        "end_to_end_s": total,
        "status": status,
    }


def _add_scenarios(
    m, portfolio, scenarios, coords, cap, unit, demand, initial, room, first, target_t, penalty
):
    """The scenarios' recourse variables and rows; returns the expected recourse cost."""
    from rareopt.inputs.derived import replacement_prices
    from rareopt.model.layout import make_layout
    from rareopt.model.two_stage import delivered_fractions, scenario_layout

    layout = make_layout(portfolio)
    buy_rows = layout.buy
    names = scenarios.names
    w_coords = {"scenario": names, **coords}
    shape = [len(names), len(coords["element"]), len(coords["supplier"]), len(coords["period"])]
    e = buy_rows["element"].map({v: i for i, v in enumerate(coords["element"])}).to_numpy()
    s = buy_rows["supplier"].map({v: i for i, v in enumerate(coords["supplier"])}).to_numpy()
    p = buy_rows["period"].map({v: i for i, v in enumerate(coords["period"])}).to_numpy()
    fractions = np.ones(shape)
    fractions[:, e, s, p] = delivered_fractions(portfolio, buy_rows, scenarios)
    spot_rows = scenario_layout(layout, scenarios).spot
    limit = np.zeros(shape)
    b = spot_rows["buy"].to_numpy(int)
    limit[spot_rows["scenario"].to_numpy(int), e[b], s[b], p[b]] = spot_rows["limit_t"].to_numpy()
    dims = list(w_coords)
    f = xr.DataArray(fractions, coords=w_coords, dims=dims)
    spot_limit = xr.DataArray(limit, coords=w_coords, dims=dims)
    probability = xr.DataArray(
        scenarios.probabilities, coords={"scenario": names}, dims=["scenario"]
    )

    buy, stock, unmet = m.variables["buy"], m.variables["stock"], m.variables["unmet"]
    nominal_short = m.variables["shortfall"]
    w_ep = {"scenario": names, "element": coords["element"], "period": coords["period"]}
    level = m.add_variables(
        lower=0,
        upper=room.broadcast_like(demand).expand_dims(scenario=names),
        coords=w_ep,
        name="scenario_stock",
    )
    short = m.add_variables(
        lower=0, upper=demand.expand_dims(scenario=names), coords=w_ep, name="scenario_unmet"
    )
    below = m.add_variables(
        lower=0,
        upper=target_t.expand_dims(scenario=names),
        coords=w_ep,
        mask=(target_t > 0).expand_dims(scenario=names),
        name="scenario_shortfall",
    )
    spot = m.add_variables(lower=0, upper=spot_limit, mask=spot_limit > 0, name="spot")
    restock = m.add_variables(
        lower=0, coords={"scenario": names, "element": coords["element"]}, name="restock"
    )
    m.add_constraints(f * buy + spot <= f * cap, mask=spot_limit > 0, name="spot_room")
    m.add_constraints(
        (f * buy).sum("supplier")
        + spot.sum("supplier")
        + level.shift(period=1)
        + unmet
        + short
        - level
        == demand - initial.where(first, 0.0),
        name="scenario_balance",
    )
    last = coords["period"][-1]
    m.add_constraints(
        restock + level.sel(period=last) - stock.sel(period=last) >= 0, name="restock_gap"
    )
    m.add_constraints(unmet + short <= demand, name="scenario_unmet_room")
    m.add_constraints(
        level + nominal_short + below >= target_t,
        mask=(target_t > 0).expand_dims(scenario=names),
        name="scenario_target",
    )
    replacement = replacement_prices(portfolio)
    price = xr.DataArray(
        [replacement.get(v, 0.0) for v in coords["element"]],
        coords={"element": coords["element"]},
        dims=["element"],
    )
    # Every replacement of an undelivered tonne costs at least the element's floor price.
    spot_cost = np.maximum(unit * (1 + scenarios.spot_premium), price)
    unmet_cost = np.maximum(portfolio.policy.shortage_penalty_usd_per_t, price)
    # Undelivered contracts are not paid for: expected refund per unit bought, summed over
    # the scenarios once, rather than a term per scenario and purchase.
    refund = (probability * (f - 1.0)).sum("scenario") * unit
    return (
        (refund * buy).sum()
        + (probability * spot_cost * spot).sum()
        + (probability * unmet_cost * short).sum()
        + (probability * penalty * below).sum()
        + (probability * price * restock).sum()
    )

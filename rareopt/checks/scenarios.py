"""Independent check of every scenario's recourse against the portfolio and the scenarios.

Recomputed from the portfolio's tables (demand, initial stock, stock room, prices, capacities,
penalties) and the delivered fractions: each scenario's stock balance from the initial stock
forward, stock and unmet bounds, spot limits and room, and the recourse cost per scenario and
element. Tolerances are those of :mod:`rareopt.checks.plan`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rareopt.checks.plan import TOL_REL, check_responses, stock_targets, tolerance
from rareopt.inputs.derived import replacement_prices, scenario_replacement_prices
from rareopt.inputs.markets import contract_terms, contract_unit_prices
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.releases import release_limits
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.inputs.stages import arrivals, route_table

__all__ = ["check_recourse"]


def check_recourse(
    portfolio: Portfolio,
    plan: pd.DataFrame,
    fractions: np.ndarray,
    arriving: np.ndarray,
    nominal: pd.DataFrame,
    flows: pd.DataFrame,
    spot: pd.DataFrame,
    spot_share: float,
    spot_premium: float,
    routes: pd.DataFrame | None = None,
    route_arriving: np.ndarray | None = None,
    scenarios: ScenarioSet | None = None,
    responses: pd.DataFrame | None = None,
    plan_responses: pd.DataFrame | None = None,
    first: np.ndarray | None = None,
    emergency: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Check scenario flows; recompute the recourse cost.

    Parameters
    ----------
    portfolio : Portfolio
        The portfolio.
    plan : DataFrame
        First-stage purchases, one row per purchase variable in the order of ``fractions``'
        columns: element, supplier, period, volume_t (bought) and optionally delivered_t (what
        it brings at the demand's stage, when converted by facilities).
    fractions : ndarray
        Share of each purchase delivered (and paid for) per scenario (rows, in the order of
        ``flows``): the delivered fraction, or for a purchase converted by facilities the share
        of it its routes still deliver.
    arriving : ndarray
        t of each purchase arriving at the demand's stage per scenario (same shape): the
        fraction times the tonnes, or what a converted purchase's routes deliver.
    nominal : DataFrame
        Nominal plan per (element, period): level_t, shortfall_t, unmet_t.
    flows : DataFrame
        Per (scenario, element, period): spot_t, unmet_t, level_t, shortfall_t (stock below
        target beyond the nominal plan's).
    spot : DataFrame
        Spot rows: scenario, element, supplier, period, spot_t.
    spot_share, spot_premium : float
        The emergency market's terms.
    routes : DataFrame, optional
        The routes of purchases converted by facilities: element, supplier, route (its label),
        period (bought in). Their purchases then arrive route by route, each when its route
        does (recomputed here from the offers' and facilities' lead times), not all at once.
    route_arriving : ndarray, optional
        t arriving through each route per scenario (scenarios x routes).
    scenarios : ScenarioSet, optional
        The scenarios by name (those of ``flows``): their price shocks and spot premiums. Without
        it, today's prices and ``spot_premium`` throughout.
    responses : DataFrame, optional
        Demand response decided in the scenarios: scenario, element, response, period, volume_t.
        Each checked against its limit, its lead time after ``first``, and its stickiness; it
        counts in the balance and its cost in the recourse.
    plan_responses : DataFrame, optional
        The plan's (element, response, period -> volume_t), acting in every scenario.
    first : ndarray, optional
        Per scenario and element, the first disrupted period (0-based; the number of periods
        where none): when the scenario's own responses may start counting their lead time.
    emergency : ndarray, optional
        Per scenario and cell of :func:`~rareopt.inputs.releases.release_limits` (recomputed
        here from the policy's release rules), whether the cell is an emergency (from the
        delivered fractions, as ``fractions`` are). The release beyond the plan's draw is
        checked against the rule's limit (0 outside an emergency with a trigger), and stock
        below the floor outside an emergency is priced like unmet demand.

    Returns
    -------
    checks, violations, recourse : DataFrame
        Rows checked and largest excess per family; rows beyond tolerance; and the recomputed
        recourse per (scenario, element): ``extra_cost_usd``, split into ``extra_spend_usd``
        (refunds, spot purchases, end stock bought back; may be negative) and
        ``extra_penalty_usd`` (extra unmet demand, extra stock below target).
    """
    tol = tolerance(portfolio)
    labels, elements = portfolio.period_labels, portfolio.elements
    suppliers = portfolio.suppliers["supplier"].tolist()
    names = list(dict.fromkeys(flows["scenario"]))
    n_w, n_e, n_s, n_p = len(names), len(elements), len(suppliers), len(labels)
    checks, found = [], []

    def record(name, keys: pd.DataFrame, excess) -> None:
        excess = np.asarray(excess, dtype=float)
        checks.append(
            {
                "check": name,
                "rows_checked": int(excess.size),
                "max_excess": float(excess.max(initial=0.0)),
                "tolerance": tol,
            }
        )
        for i in np.flatnonzero(excess > tol):
            found.append({"check": name, **keys.iloc[i].to_dict(), "excess": float(excess[i])})

    # Every table's labels as integer codes, so that the checks below are array arithmetic on
    # dense grids (scenario x element x period, element x supplier x period).
    def code(values, categories) -> np.ndarray:
        return pd.Categorical(np.asarray(values, dtype=object), categories=categories).codes.astype(
            np.int64
        )

    def offer_cell(table) -> np.ndarray:
        return code(table["element"], elements) * n_s + code(table["supplier"], suppliers)

    unit_grid, price_grid, freight_grid = (np.full(n_e * n_s, np.nan) for _ in range(3))
    offers = portfolio.offers
    unit_grid[offer_cell(offers)] = contract_unit_prices(contract_terms(offers))
    price_grid[offer_cell(offers)] = offers["price_usd_per_t"].to_numpy(float)
    freight_grid[offer_cell(offers)] = offers["freight_usd_per_t"].to_numpy(float)
    cap_grid = np.zeros(n_e * n_s * n_p)
    capacity = portfolio.capacity
    cap_grid[offer_cell(capacity) * n_p + code(capacity["period"], labels)] = capacity[
        "capacity_t"
    ].to_numpy(float)

    plan_offer = offer_cell(plan)
    plan_period = code(plan["period"], labels)
    unit = unit_grid[plan_offer]
    x = plan["volume_t"].to_numpy(float)
    # Deliveries count where they arrive, their offer's lead time after purchase.
    plan_cell = code(plan["element"], elements) * n_p + code(
        arrivals(portfolio, plan).fillna(labels[-1]), labels
    )
    cells = n_e * n_p

    def per_cell(w: np.ndarray, cell: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Sums over (scenario, element, period) cells, as a scenarios x cells array."""
        return np.bincount(w * cells + cell, weights=weights, minlength=n_w * cells).reshape(
            n_w, cells
        )

    # Deliveries and the refund of what is not delivered, per scenario, element and period.
    every_w = np.repeat(np.arange(n_w), len(plan))
    every_cell = np.tile(plan_cell, n_w)
    arriving = np.asarray(arriving, dtype=float)
    route_in = np.zeros((n_w, cells))
    if routes is not None and route_arriving is not None and len(routes):
        # A converted purchase arrives route by route: the offer's lead time and then each
        # facility's on the route, from the portfolio's own tables.
        lead = route_table(portfolio)[0].set_index(["supplier", "element", "route"])
        lead = lead[~lead.index.duplicated()]["lead_periods"]
        route_lead = lead.reindex(
            pd.MultiIndex.from_frame(routes[["supplier", "element", "route"]])
        ).fillna(0)
        route_cell = code(routes["element"], elements) * n_p + code(
            arrivals(portfolio, routes, route_lead.to_numpy(int)).fillna(labels[-1]), labels
        )
        route_in = per_cell(
            np.repeat(np.arange(n_w), len(routes)),
            np.tile(route_cell, n_w),
            np.asarray(route_arriving, dtype=float).ravel(),
        )
        converted = pd.MultiIndex.from_frame(plan[["element", "supplier", "period"]]).isin(
            pd.MultiIndex.from_frame(routes[["element", "supplier", "period"]])
        )
        arriving = arriving * ~converted[None, :]
    delivered = per_cell(every_w, every_cell, arriving.ravel()) + route_in
    # Each tonne delivered is paid at the scenario's price under its contract's terms, the rest
    # not at all, against today's price paid for every tonne in the first stage.
    moves = scenarios is not None and scenarios.moves_prices()
    factors = scenarios.price_factors(portfolio, plan, names) if moves else None
    terms = contract_terms(portfolio.offers, plan)
    paid = contract_unit_prices(terms, factors) if moves else unit[None, :]
    refund = per_cell(every_w, every_cell, (fractions * x * paid - x * unit).ravel())
    # A take-or-pay minimum is paid whether delivered or not: in the scenario on what its
    # deliveries leave of it, against what the first stage paid on the tonnes not bought.
    minimum = terms["take_or_pay_t"].to_numpy(float)
    if (minimum > 0).any():
        short = np.maximum(minimum[None, :] - fractions * x[None, :], 0.0) * paid
        refund += per_cell(
            every_w,
            every_cell,
            (short - (np.maximum(minimum - x, 0.0) * unit)[None, :]).ravel(),
        )

    spot_w = code(spot["scenario"], names)
    spot_offer = offer_cell(spot)
    spot_period = code(spot["period"], labels)
    plan_row = np.full(n_e * n_s * n_p, -1, dtype=np.int64)
    plan_row[plan_offer * n_p + plan_period] = np.arange(len(plan))
    row = plan_row[spot_offer * n_p + spot_period]
    known = row >= 0
    f_spot = np.where(known, fractions[spot_w, np.maximum(row, 0)], 0.0)
    x_spot = np.where(known, x[np.maximum(row, 0)], 0.0)
    cap_spot = cap_grid[spot_offer * n_p + spot_period]
    # Every replacement of an undelivered tonne costs at least the element's floor price in
    # the scenario; a spot tonne costs the market price and freight plus the scenario's premium.
    if scenarios is not None:
        floor = scenario_replacement_prices(portfolio, scenarios, names)
        premiums = scenarios.spot_premiums(names)
    else:
        today = replacement_prices(portfolio)
        floor = np.repeat(np.array([[today.get(e, 0.0) for e in elements]]), n_w, axis=0)
        premiums = np.full(n_w, spot_premium)
    market_spot = price_grid[spot_offer] * (
        1.0 if factors is None else np.where(known, factors[spot_w, np.maximum(row, 0)], 1.0)
    )
    unit_spot = np.maximum(
        (market_spot + freight_grid[spot_offer]) * (1.0 + premiums[spot_w]),
        floor[spot_w, code(spot["element"], elements)],
    )
    spot_t = spot["spot_t"].to_numpy(float)
    where = spot[["scenario", "element", "supplier", "period"]].reset_index(drop=True)
    record("spot >= 0", where, -spot_t)
    record("spot <= share x delivered capacity", where, spot_t - spot_share * f_spot * cap_spot)
    record("deliveries + spot <= capacity", where, f_spot * x_spot + spot_t - f_spot * cap_spot)
    spot_cell = code(spot["element"], elements) * n_p + code(
        arrivals(portfolio, spot).fillna(labels[-1]), labels
    )
    spot_in = per_cell(spot_w, spot_cell, spot_t)
    spot_cost = per_cell(spot_w, spot_cell, spot_t * unit_spot)

    # The scenarios' flows on the full grid (every element has a demand in every period).
    flow_index = (
        code(flows["scenario"], names) * cells
        + code(flows["element"], elements) * n_p
        + code(flows["period"], labels)
    )
    level, unmet, short = (np.zeros(n_w * cells) for _ in range(3))
    level[flow_index] = flows["level_t"].to_numpy(float)
    unmet[flow_index] = flows["unmet_t"].to_numpy(float)
    short[flow_index] = flows["shortfall_t"].to_numpy(float)
    level, unmet, short = (a.reshape(n_w, n_e, n_p) for a in (level, unmet, short))
    demand = np.zeros(cells)
    demand[
        code(portfolio.demand["element"], elements) * n_p + code(portfolio.demand["period"], labels)
    ] = portfolio.demand["demand_t"].to_numpy(float)
    demand = demand.reshape(n_e, n_p)
    stockpile = portfolio.stockpile.set_index("element").reindex(elements)
    room = stockpile["capacity_t"].fillna(0.0).to_numpy(float)
    initial = stockpile["initial_t"].fillna(0.0).to_numpy(float)
    previous = np.concatenate(
        [np.broadcast_to(initial[None, :, None], (n_w, n_e, 1)), level[:, :, :-1]], axis=2
    )
    shape = (n_w, n_e, n_p)
    delivered, refund = delivered.reshape(shape), refund.reshape(shape)
    spot_in, spot_cost = spot_in.reshape(shape), spot_cost.reshape(shape)
    transit = np.zeros(cells)
    in_transit = portfolio.in_transit
    np.add.at(
        transit,
        code(in_transit["element"], elements) * n_p + code(in_transit["period"], labels),
        in_transit["volume_t"].to_numpy(float),
    )

    # Demand response: the plan's in every scenario, each scenario's own checked here.
    def ignore(*_args, **_kwargs) -> None:
        return None

    plan_in, plan_cut, _, _ = check_responses(
        portfolio, plan_responses, "plan", ignore, tol, demand.ravel()
    )
    response_in = np.repeat(plan_in.reshape(1, n_e, n_p), n_w, axis=0)
    response_cut = np.repeat(plan_cut.reshape(1, n_e, n_p), n_w, axis=0)
    response_cost, response_uplift = np.zeros(shape), np.zeros(shape)
    if len(portfolio.responses):
        never = np.full(n_e, n_p)
        # Each scenario's rows of a check are gathered, then recorded as one check.
        gathered: dict[str, list] = {}
        for w, name in enumerate(names):
            own = None if responses is None else responses[responses["scenario"] == name]

            def in_scenario(check, element, period, holder, _value, _limit, excess, name=name):
                keys = pd.DataFrame(
                    {"scenario": name, "element": element, "period": period, "supplier": holder}
                )
                gathered.setdefault(f"scenario {check}", []).append((keys, np.asarray(excess)))

            supplied, cut, cost, uplift = check_responses(
                portfolio,
                own,
                "recourse",
                in_scenario,
                tol,
                demand.ravel(),
                never if first is None else first[w],
                floor[w],
            )
            response_in[w] += supplied.reshape(n_e, n_p)
            response_cut[w] += cut.reshape(n_e, n_p)
            response_cost[w] = cost.reshape(n_e, n_p)
            response_uplift[w] = uplift.reshape(n_e, n_p)
        for check, parts in gathered.items():
            record(
                check,
                pd.concat([k for k, _ in parts], ignore_index=True),
                np.concatenate([e for _, e in parts]),
            )
    residual = previous + delivered + spot_in + unmet + transit.reshape(n_e, n_p)[None] - level
    residual += response_in
    residual -= demand[None]
    grid = pd.DataFrame(
        {
            "scenario": np.repeat(names, cells),
            "element": np.tile(np.repeat(elements, n_p), n_w),
            "period": np.tile(labels, n_w * n_e),
        }
    )
    record("scenario stock balance", grid, np.abs(residual).ravel())
    record("scenario stock >= 0", grid, -level.ravel())
    record("scenario stock <= capacity", grid, (level - room[None, :, None]).ravel())
    record(
        "scenario unmet in [0, demand]",
        grid,
        np.maximum(-unmet, unmet - demand[None]).ravel(),
    )
    record(
        "scenario demand cut + unmet within demand",
        grid,
        np.where(response_cut > 0, response_cut + unmet - demand[None], 0.0).ravel(),
    )

    base = nominal.reindex(pd.MultiIndex.from_product([elements, labels]))
    base_level = base["level_t"].to_numpy(float).reshape(1, n_e, n_p)
    base_unmet = base["unmet_t"].to_numpy(float).reshape(1, n_e, n_p)
    base_short = base["shortfall_t"].to_numpy(float).reshape(1, n_e, n_p)
    record("scenario unmet >= nominal unmet", grid, (base_unmet - unmet).ravel())
    # The stock targets hold in every scenario, softly: stock below target beyond the nominal
    # plan's shortfall is the scenario's, in [0, target].
    target, target_penalty = stock_targets(portfolio)
    has_target = np.broadcast_to(target[None] > 0, shape)
    record(
        "scenario stock + shortfall >= target",
        grid,
        np.where(has_target, target[None] - level - base_short - short, 0.0).ravel(),
    )
    record(
        "scenario shortfall in [0, target]",
        grid,
        np.maximum(-short, short - np.where(has_target, target[None], 0.0)).ravel(),
    )
    unmet_cost = np.maximum(portfolio.policy.shortage_penalty_usd_per_t, floor)
    below_floor = _check_releases(portfolio, emergency, level, base_level, names, record)
    # Spend: refunds, spot purchases and the end stock bought back; penalties: extra unmet demand
    # and extra stock below target.
    missing = np.maximum(base_level[:, :, -1] - level[:, :, -1], 0.0)
    spend = (refund + spot_cost + response_cost).sum(axis=2) + floor * missing
    penalty = (
        unmet_cost[:, :, None] * (unmet - base_unmet + below_floor)
        + np.where(has_target, target_penalty[None] * short, 0.0)
        + response_uplift
    ).sum(axis=2)
    recourse = pd.DataFrame(
        {
            "extra_cost_usd": (spend + penalty).ravel(),
            "extra_spend_usd": spend.ravel(),
            "extra_penalty_usd": penalty.ravel(),
        },
        index=pd.MultiIndex.from_product([names, elements], names=["scenario", "element"]),
    )
    columns = ["check", "scenario", "element", "period", "supplier", "excess"]
    violations = pd.DataFrame(found).reindex(columns=columns)
    return pd.DataFrame(checks), violations, recourse


def _releases(portfolio, emergency, level, base_level) -> dict | None:
    """The release rules' cells and, per scenario, the release, its bound and t below the floor.

    The cells are ``release_limits``'s; the release is the scenario's draw beyond the plan's,
    bounded by the rule's limit (0 outside an emergency with a trigger); the floor counts outside
    an emergency.
    """
    limits = release_limits(portfolio)
    if not len(limits):
        return None
    elements, labels = portfolio.elements, portfolio.period_labels
    n_w, n_e, _ = level.shape
    emergency = np.zeros((n_w, len(limits)), dtype=bool) if emergency is None else emergency
    e = pd.Categorical(limits["element"], categories=elements).codes.astype(np.int64)
    p = pd.Categorical(limits["period"], categories=labels).codes.astype(np.int64)
    stockpile = portfolio.stockpile.set_index("element")["initial_t"].reindex(elements)
    initial = stockpile.fillna(0.0).to_numpy(float)

    def drawn(stock: np.ndarray) -> np.ndarray:
        """Stock drawn in each period: the previous period's level (the initial stock) less."""
        start = np.broadcast_to(initial[:, None], stock.shape[:-2] + (n_e, 1))
        return np.concatenate([start, stock[..., :-1]], axis=-1) - stock

    release = (drawn(level) - drawn(base_level))[:, e, p]
    limit = limits["max_release_t"].to_numpy(float)
    has_trigger = limits["trigger_share"].notna().to_numpy()
    bound = np.where(emergency, limit[None, :], np.where(has_trigger, 0.0, limit)[None, :])
    floor = limits["floor_t"].to_numpy(float)
    below = np.where(~emergency, np.maximum(floor[None, :] - level[:, e, p], 0.0), 0.0)
    return {
        "limits": limits,
        "e": e,
        "p": p,
        "emergency": emergency,
        "release": release,
        "bound": bound,
        "below": below,
    }


def _check_releases(portfolio, emergency, level, base_level, names, record) -> np.ndarray:
    """Check the release rules; t below the floor outside an emergency per (scenario, e, p)."""
    below = np.zeros_like(level)
    found = _releases(portfolio, emergency, level, base_level)
    if found is None:
        return below
    limits, bound = found["limits"], found["bound"]
    keys = pd.DataFrame(
        {
            "scenario": np.repeat(np.asarray(names, dtype=object), len(limits)),
            "element": np.tile(limits["element"].to_numpy(object), len(names)),
            "period": np.tile(limits["period"].to_numpy(object), len(names)),
        }
    )
    record(
        "release beyond the plan within the rule's limit",
        keys,
        np.where(np.isfinite(bound), found["release"] - bound, 0.0).ravel(),
    )
    below[:, found["e"], found["p"]] = found["below"]
    return below


def release_table(
    portfolio: Portfolio,
    emergency: np.ndarray,
    shares: np.ndarray,
    level: np.ndarray,
    base_level: np.ndarray,
    names: list[str],
    tol: float,
) -> pd.DataFrame:
    """Per (scenario, element, period) a release rule covers: what was drawn and what bound it.

    ``level`` and ``base_level`` are the scenarios' and the plan's stock (scenarios or 1 x
    elements x periods). Columns emergency, delivered_share, release_t (drawn beyond the plan's
    own draw), limit_t (the rule's limit there: its maximum release in an emergency; 0 outside
    one with a trigger; inf where none), at_limit (the release at its limit: the rule bound),
    floor_t and below_floor_t (outside an emergency, priced like unmet demand).
    """
    keys = ["scenario", "element", "period"]
    found = _releases(portfolio, emergency, level, base_level)
    if found is None:
        return pd.DataFrame(columns=keys).set_index(keys)
    limits, release, bound = found["limits"], found["release"], found["bound"]
    n_w = len(names)
    table = pd.DataFrame(
        {
            "scenario": np.repeat(np.asarray(names, dtype=object), len(limits)),
            "element": np.tile(limits["element"].to_numpy(object), n_w),
            "period": np.tile(limits["period"].to_numpy(object), n_w),
            "emergency": found["emergency"].ravel(),
            "delivered_share": shares.ravel(),
            "release_t": release.ravel(),
            "limit_t": bound.ravel(),
            "at_limit": (np.isfinite(bound) & (release >= bound - tol)).ravel(),
            "floor_t": np.tile(limits["floor_t"].to_numpy(float), n_w),
            "below_floor_t": found["below"].ravel(),
        }
    )
    return table.set_index(keys)


def check_objective(recomputed: float, reported: float) -> tuple[dict, bool]:
    """One check row comparing the recomputed two-stage objective with HiGHS's; True if it fails.

    Examples
    --------
    >>> check_objective(100.0, 100.0)[1]
    False
    """
    excess = abs(recomputed - reported)
    row = {
        "check": "two-stage objective",
        "rows_checked": 1,
        "max_excess": excess,
        "tolerance": TOL_REL,
    }
    return row, excess > TOL_REL * max(1.0, abs(recomputed))

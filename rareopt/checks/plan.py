"""Independent check of a plan against the portfolio, not against the Pyomo model.

Everything here is recomputed from the portfolio's own tables: capacities, stock balances from the
initial stock forward, stock limits, targets, caps (with the cap precedence rule applied afresh) and
the objective. A plan that fails any of these beyond tolerance is an error, never a result.

Tolerance: ``TOL_REL`` times the largest tonnage in the portfolio (demand, capacity, stock), at
least ``TOL_REL`` t, for volumes; ``TOL_REL`` relative for the objective.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rareopt.inputs.derived import horizon_years, needs_contracts
from rareopt.inputs.markets import contract_terms, contract_unit_prices
from rareopt.inputs.measures import TOL_REL, hhi_terms, volume_tolerance
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.projects import discount_factors, online_share
from rareopt.inputs.responses import response_limits
from rareopt.inputs.stages import ANY_STAGE, STAGES, arrivals, lead_periods, offer_stages
from rareopt.inputs.tables import ALL

__all__ = ["check_plan", "stock_targets", "tolerance", "TOL_REL"]

tolerance = volume_tolerance
"""The volume tolerance (t) of the checks: :func:`rareopt.inputs.measures.volume_tolerance`."""


def _codes(values, categories) -> np.ndarray:
    """Position of each value in ``categories`` (-1 where absent)."""
    return pd.Index(categories).get_indexer(np.asarray(values, dtype=object)).astype(np.int64)


def _cap_grid(caps: pd.DataFrame, key: str, holders: list, elements: list) -> np.ndarray:
    """Max share per (element, holder), by the documented precedence, applied afresh.

    (key, element) > (key, *) > (*, element) > (*, *); 1 where no cap names the pair. Rows are
    written from the least to the most specific, each overwriting what it covers.

    Examples
    --------
    >>> caps = pd.DataFrame({"country": ["CN", "*"], "element": ["*", "Dy"], "max_share": [0.5, 0.3]})
    >>> _cap_grid(caps, "country", ["CN", "AU"], ["Dy", "Nd"]).tolist()
    [[0.5, 0.3], [0.5, 1.0]]
    """
    grid = np.ones((len(elements), len(holders)))
    everything = {ALL: slice(None)}
    holder_at = {**{h: i for i, h in enumerate(holders)}, **everything}
    element_at = {**{e: i for i, e in enumerate(elements)}, **everything}
    rows = list(zip(caps[key], caps["element"], caps["max_share"]))
    for holder, element, share in sorted(rows, key=lambda r: (r[0] != ALL, r[1] != ALL)):
        if holder in holder_at and element in element_at:
            grid[element_at[element], holder_at[holder]] = share
    return grid


def stock_targets(portfolio: Portfolio) -> tuple[np.ndarray, np.ndarray]:
    """Stock targets (t) and their shortfall penalties (USD/t per period), element x period.

    A target in days becomes tonnes at the period's own consumption rate (demand / days); an
    element whose stockpile row leaves the penalty blank takes the policy's.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> target, penalty = stock_targets(load_example("tiny"))
    >>> target.shape == penalty.shape == (2, 3)
    True
    """
    elements, labels = portfolio.elements, portfolio.period_labels
    target = np.zeros((len(elements), len(labels)))
    st = portfolio.stock_target
    target[_codes(st["element"], elements), _codes(st["period"], labels)] = st[
        "target_days"
    ].to_numpy(float)
    demand = np.zeros_like(target)
    dm = portfolio.demand
    demand[_codes(dm["element"], elements), _codes(dm["period"], labels)] = dm["demand_t"].to_numpy(
        float
    )
    days = portfolio.periods.set_index("period")["days"].reindex(labels).to_numpy(float)
    penalty = (
        portfolio.stockpile.set_index("element")["shortfall_penalty_usd_per_t"]
        .reindex(elements)
        .fillna(portfolio.policy.target_shortfall_penalty_usd_per_t)
        .to_numpy(float)
    )
    return target * demand / days[None, :], np.repeat(penalty[:, None], len(labels), axis=1)


def check_plan(
    portfolio: Portfolio,
    plan: pd.DataFrame,
    stock: pd.DataFrame,
    unmet: pd.DataFrame,
    objective: float | None = None,
    contracts: pd.DataFrame | None = None,
    bundles: dict | None = None,
    projects: pd.DataFrame | None = None,
    routes: pd.DataFrame | None = None,
    responses: pd.DataFrame | None = None,
    emergency: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check a plan against every constraint of the portfolio.

    Parameters
    ----------
    portfolio : Portfolio
        The portfolio the plan is for.
    plan : DataFrame
        Columns (or index levels) element, supplier, period, volume_t.
    stock : DataFrame
        element, period, level_t, shortfall_t.
    unmet : DataFrame
        element, period, unmet_t.
    objective : float, optional
        Total cost reported by the solver (USD), compared with the cost recomputed here.
    contracts : DataFrame, optional
        The solver's contract decisions (element, supplier -> contracted); without them an offer
        counts as contracted when anything is bought from it.
    routes : DataFrame, optional
        The tonnes at each stage of each route (element, supplier, route, period, stage ->
        facility, country, volume_t), as ``Result.routes``: each leg recomputed from the previous
        with the facility's yield, the routes of a purchase adding up to it, facility capacities,
        stage caps cell by cell, and the tonnes delivered in place of those bought.
    bundles : dict, optional
        With concentrates: ``concentrates`` (supplier, product, period -> volume_t) and
        ``surplus`` (element, period -> surplus_t); the plan's ``bundled_t`` column is then the
        part of ``volume_t`` that came in concentrates.
    projects : DataFrame, optional
        The solver's investment decisions (supplier -> invested, start_period); without them no
        project is built.
    responses : DataFrame, optional
        The plan's demand response (element, response, period -> volume_t); without it none. Each
        checked against its limit and lead time recomputed from the responses table, its
        stickiness, and demand cut plus unmet demand within the demand; it counts in the balance
        and costs its ``cost_usd_per_t``.
    emergency : DataFrame, optional
        Emergency (spot) purchases beside the plan, as a rolling simulation makes them (element,
        supplier, period bought in, volume_t): in the balance where they arrive, outside every
        cap, and within what the offer's capacity leaves after the plan's purchase.

    Returns
    -------
    checks : DataFrame
        One row per constraint family: rows_checked, max_excess, tolerance.
    violations : DataFrame
        One row per violated constraint: check, element, period, holder, value, limit, excess.
        Empty when the plan passes.

    Examples
    --------
    >>> import rareopt
    >>> p = rareopt.load_example("tiny")
    >>> r = rareopt.solve(p)
    >>> checks, violations = check_plan(p, r.plan, r.stock, r.unmet, r.objective)
    >>> violations.empty
    True
    """
    tol = tolerance(portfolio)
    policy = portfolio.policy
    labels = portfolio.period_labels
    plan = plan.reset_index()
    plan = plan.assign(bundled_t=plan["bundled_t"] if "bundled_t" in plan else 0.0)
    plan = plan[["element", "supplier", "period", "volume_t", "bundled_t"]]
    plan["plain_t"] = plan["volume_t"] - plan["bundled_t"]
    found: list[dict] = []
    checks: list[dict] = []

    def record(name: str, element, period, holder, value, limit, excess) -> None:
        excess = np.asarray(excess, dtype=float)
        checks.append(
            {
                "check": name,
                "rows_checked": int(excess.size),
                "max_excess": float(excess.max(initial=0.0)),
                "tolerance": tol,
            }
        )
        bad = excess > tol
        for i in np.flatnonzero(bad):
            found.append(
                {
                    "check": name,
                    "element": np.asarray(element)[i],
                    "period": np.asarray(period)[i],
                    "holder": np.asarray(holder)[i],
                    "value": float(np.asarray(value)[i]),
                    "limit": float(np.asarray(limit)[i]),
                    "excess": float(excess[i]),
                }
            )

    # Labels as integer codes: the checks are array arithmetic on dense grids.
    elements, suppliers = portfolio.elements, portfolio.suppliers["supplier"].tolist()
    countries = list(dict.fromkeys(portfolio.suppliers["country"]))
    n_e, n_s, n_p = len(elements), len(suppliers), len(labels)
    plan_e, plan_s, plan_p = (
        _codes(plan[c], v)
        for c, v in (("element", elements), ("supplier", suppliers), ("period", labels))
    )
    # A row naming an element, supplier or period the portfolio does not have is a violation
    # in itself, and is left out of the grids below (its code, -1, would index another cell).
    known = (plan_e >= 0) & (plan_s >= 0) & (plan_p >= 0)
    record(
        "plan labels known to the portfolio",
        plan["element"],
        plan["period"],
        plan["supplier"],
        plan["volume_t"],
        0.0 * known,
        np.where(known, 0.0, 2 * tol + plan["volume_t"].abs().to_numpy(float)),
    )
    if not known.all():
        plan = plan[known].reset_index(drop=True)
        plan_e, plan_s, plan_p = plan_e[known], plan_s[known], plan_p[known]
    for name, table in (("stock", stock), ("unmet", unmet)):
        keys = table.index.to_frame(index=False) if "element" in table.index.names else table
        ok = (_codes(keys["element"], elements) >= 0) & (_codes(keys["period"], labels) >= 0)
        record(
            f"{name} labels known to the portfolio",
            keys["element"],
            keys["period"],
            np.full(len(keys), ""),
            np.zeros(len(keys)),
            np.zeros(len(keys)),
            np.where(ok, 0.0, 2 * tol + 1.0),
        )
    capacity = portfolio.capacity
    cap_grid = np.zeros(n_e * n_s * n_p)
    cap_grid[
        (_codes(capacity["element"], elements) * n_s + _codes(capacity["supplier"], suppliers))
        * n_p
        + _codes(capacity["period"], labels)
    ] = capacity["capacity_t"].to_numpy(float)
    cap_of = cap_grid[(plan_e * n_s + plan_s) * n_p + plan_p]
    vol = plan["plain_t"].to_numpy(dtype=float)
    record(
        "non-negative purchase",
        plan["element"],
        plan["period"],
        plan["supplier"],
        vol,
        0.0 * vol,
        -vol,
    )
    record(
        "supplier capacity",
        plan["element"],
        plan["period"],
        plan["supplier"],
        vol,
        cap_of,
        vol - cap_of,
    )

    surplus, bundle_cost = _check_bundles(portfolio, plan, bundles, record)
    # Converted purchases count as their routes deliver (yields below 1 lose tonnes), in the
    # balance and in every share; capacities and prices stay on the tonnes bought (plain_t).
    conversion, processing_cost, through_routes = _check_routes(portfolio, plan, routes, record)
    if len(conversion):
        gain = conversion.reindex(pd.MultiIndex.from_frame(plan[["element", "supplier", "period"]]))
        plan["volume_t"] = plan["volume_t"] + gain.fillna(0.0).to_numpy()
    # From here on a purchase counts where it arrives, its offer's lead time after it is bought
    # (in the balance and every share); one that would arrive after the horizon is a violation.
    arrival = arrivals(portfolio, plan)
    late = arrival.isna().to_numpy() & (plan["volume_t"].abs().to_numpy(float) > 0)
    record(
        "purchase arrives within the horizon",
        plan["element"],
        plan["period"],
        plan["supplier"],
        plan["volume_t"],
        0.0 * plan["volume_t"],
        np.where(late, 2 * tol + plan["volume_t"].abs().to_numpy(float), 0.0),
    )
    purchases = plan  # in the periods bought in: minimum orders and projects' ramps
    plan = plan.assign(period=arrival.fillna(labels[-1]).to_numpy(object))
    if len(through_routes):
        # A converted purchase arrives route by route, each after its facilities' transit.
        late = through_routes["arrival"].eq("").to_numpy() & (
            through_routes["volume_t"].abs().to_numpy(float) > 0
        )
        record(
            "route arrives within the horizon",
            through_routes["element"],
            through_routes["period"],
            through_routes["supplier"],
            through_routes["volume_t"],
            0.0 * through_routes["volume_t"],
            np.where(late, 2 * tol + through_routes["volume_t"].abs().to_numpy(float), 0.0),
        )
        keys = ["element", "supplier", "period"]
        sent = through_routes.groupby(keys)["volume_t"].sum()
        sent = sent.reindex(pd.MultiIndex.from_frame(purchases[keys])).fillna(0.0)
        plan["volume_t"] = plan["volume_t"] - sent.to_numpy()
        arriving = through_routes.assign(
            period=through_routes["arrival"].where(~late, labels[-1]).replace("", labels[-1]),
            plain_t=0.0,
            bundled_t=0.0,
        ).drop(columns="arrival")
        plan = pd.concat([plan, arriving[arriving["volume_t"] != 0]], ignore_index=True)
        plan_e, plan_s = _codes(plan["element"], elements), _codes(plan["supplier"], suppliers)
    plan_p = _codes(plan["period"], labels)
    # Every (element, period) in order, each balance recomputed from the previous period's
    # reported level (the initial stock for the first) and what arrived, as arrays.
    volume = plan["volume_t"].to_numpy(float)
    bought = np.bincount(plan_e * n_p + plan_p, weights=volume, minlength=n_e * n_p)
    bought = bought + _check_emergency(portfolio, purchases, emergency, cap_grid, record)
    if not surplus.empty:
        cells = _codes(surplus.index.get_level_values("element"), elements) * n_p + _codes(
            surplus.index.get_level_values("period"), labels
        )
        np.subtract.at(bought, cells, surplus.to_numpy(float))

    def on_grid(table: pd.DataFrame, column: str) -> np.ndarray:
        """A column of a table keyed (as columns or index levels) by element and period."""
        out = np.zeros(n_e * n_p)
        indexed = "element" in table.index.names

        def labels_of(name: str):
            return table.index.get_level_values(name) if indexed else table[name]

        e, p = _codes(labels_of("element"), elements), _codes(labels_of("period"), labels)
        ok = (e >= 0) & (p >= 0)  # rows with unknown labels are reported above
        out[(e * n_p + p)[ok]] = table[column].to_numpy(float)[ok]
        return out

    d = on_grid(portfolio.demand, "demand_t")
    u = on_grid(unmet, "unmet_t")
    responded, cut, response_cost, _ = check_responses(portfolio, responses, "plan", record, tol, d)
    level = on_grid(stock, "level_t")
    stockpile = portfolio.stockpile.set_index("element").reindex(elements)
    first = np.tile(np.arange(n_p) == 0, n_e)
    initial = np.repeat(stockpile["initial_t"].fillna(0.0).to_numpy(float), n_p)
    previous = np.where(first, initial, np.roll(level, 1))
    grid_elements = np.repeat(np.asarray(elements, dtype=object), n_p)
    target, target_penalty = stock_targets(portfolio)
    r = {
        "element": grid_elements,
        "period": np.tile(np.asarray(labels, dtype=object), n_e),
        "u": u,
        "d": d,
        "level": level,
        "expected": previous
        + bought
        + responded
        + on_grid(portfolio.in_transit, "volume_t")
        - (d - u),
        "cap": np.repeat(stockpile["capacity_t"].fillna(0.0).to_numpy(float), n_p),
        "target": target.ravel(),
        "psi": target_penalty.ravel(),
        "short": on_grid(stock, "shortfall_t"),
    }
    blank = np.full(len(r["u"]), "")
    record(
        "demand cut + unmet within demand",
        r["element"],
        r["period"],
        blank,
        cut + u,
        d,
        np.where(cut > 0, cut + u - d, 0.0),
    )
    record(
        "unmet demand within [0, demand]",
        r["element"],
        r["period"],
        blank,
        r["u"],
        r["d"],
        np.maximum(-r["u"], r["u"] - r["d"]),
    )
    record(
        "stock balance",
        r["element"],
        r["period"],
        blank,
        r["level"],
        r["expected"],
        np.abs(r["level"] - r["expected"]),
    )
    record(
        "stock within [0, capacity]",
        r["element"],
        r["period"],
        blank,
        r["level"],
        r["cap"],
        np.maximum(-r["level"], r["level"] - r["cap"]),
    )
    if policy.hard_stock_targets:
        record(
            "hard stock target",
            r["element"],
            r["period"],
            blank,
            r["level"],
            r["target"],
            r["target"] - r["level"],
        )
    else:
        record(
            "target shortfall",
            r["element"],
            r["period"],
            blank,
            r["short"],
            r["target"],
            np.maximum(-r["short"], (r["target"] - r["level"]) - r["short"]),
        )

    plan["country"] = plan["supplier"].map(portfolio.supplier_country())
    scoped = plan if policy.cap_basis == "period" else plan.assign(period=ALL)
    # Caps per (element, scope, holder): the scope a period, or the horizon (one scope).
    n_scope = n_p if policy.cap_basis == "period" else 1
    scope = plan_p if n_scope > 1 else np.zeros_like(plan_p)
    scope_labels = labels if n_scope > 1 else [ALL]
    total = np.bincount(plan_e * n_scope + scope, weights=volume, minlength=n_e * n_scope)
    for key, holders, h in (
        ("country", countries, _codes(plan["country"], countries)),
        ("supplier", suppliers, plan_s),
    ):
        n_h = len(holders)
        cell = (plan_e * n_scope + scope) * n_h + h
        present = np.flatnonzero(np.bincount(cell, minlength=n_e * n_scope * n_h))
        held = np.bincount(cell, weights=volume, minlength=n_e * n_scope * n_h)[present]
        cell_e, rest = np.divmod(present, n_scope * n_h)
        cell_scope, cell_h = np.divmod(rest, n_h)
        limit = _cap_grid(getattr(policy, f"{key}_caps"), key, holders, elements)[cell_e, cell_h]
        totals = total[cell_e * n_scope + cell_scope]
        record(
            f"{key} cap",
            np.asarray(elements, dtype=object)[cell_e],
            np.asarray(scope_labels, dtype=object)[cell_scope],
            np.asarray(holders, dtype=object)[cell_h],
            held,
            limit * totals,
            held - limit * totals,
        )

    for table, share, sign in (("group_caps", "max_share", 1), ("group_floors", "min_share", -1)):
        groups = getattr(policy, table)
        found_rows = []
        for element in portfolio.elements if len(groups) else ():
            named = groups[groups["element"] == element]
            general = groups[(groups["element"] == ALL) & ~groups["group"].isin(named["group"])]
            mine = scoped[scoped["element"] == element]
            totals = mine.groupby("period")["volume_t"].sum()
            for group, countries, limit in pd.concat([named, general])[
                ["group", "countries", share]
            ].itertuples(index=False):
                held = mine[mine["country"].isin(countries)].groupby("period")["volume_t"].sum()
                held = held.reindex(totals.index, fill_value=0.0)
                for period, h, t in zip(totals.index, held, totals):
                    found_rows.append((element, period, group, h, limit * t))
        e, p, g, held, limit = (list(c) for c in zip(*found_rows)) if found_rows else ([],) * 5
        held, limit = np.asarray(held, dtype=float), np.asarray(limit, dtype=float)
        name = "group cap" if sign > 0 else "group floor"
        record(name, e, p, g, held, limit, sign * (held - limit))

    if contracts is None and not needs_contracts(portfolio):
        contracted = pd.Series(dtype=bool)  # no contract constraints, no contract costs
    else:
        contracted = _check_contracts(portfolio, purchases, scoped, contracts, tol, record)
    capital = _check_projects(portfolio, purchases, bundles, projects, record)
    _check_hhi(portfolio, scoped, record)

    if objective is not None:
        recomputed = (
            _recompute_cost(portfolio, plan, r, plan_e, plan_s)
            + (_contract_cost(portfolio, contracted) if len(contracted) else 0.0)
            + bundle_cost
            + capital
            + processing_cost
            + _take_or_pay_cost(portfolio, purchases)
            + float(response_cost.sum())
        )
        excess = abs(recomputed - objective) - TOL_REL * max(1.0, abs(recomputed))
        excess = excess if np.isfinite(excess) else np.inf  # a cost that cannot be recomputed fails
        checks.append(
            {
                "check": "objective",
                "rows_checked": 1,
                "max_excess": abs(recomputed - objective),
                "tolerance": TOL_REL,
            }
        )
        if excess > 0:
            found.append(
                {
                    "check": "objective",
                    "element": "",
                    "period": "",
                    "holder": "",
                    "value": objective,
                    "limit": recomputed,
                    "excess": excess,
                }
            )
    columns = ["check", "element", "period", "holder", "value", "limit", "excess"]
    return pd.DataFrame(checks), pd.DataFrame(found, columns=columns)


def _check_routes(
    portfolio: Portfolio, plan: pd.DataFrame, routes: pd.DataFrame | None, record
) -> tuple[pd.Series, float]:
    """Routes against the offers' stages and the facilities.

    Returns (delivered - bought) per (element, supplier, period) of the converted purchases, and
    the processing fees (USD).
    """
    nothing = pd.Series(dtype=float), 0.0, pd.DataFrame()
    if routes is None:
        if len(portfolio.facilities):
            record("routes given", [""], [""], [""], [0.0], [0.0], [np.inf])
        return nothing
    flat = routes.reset_index()
    policy = portfolio.policy
    if flat.empty or (
        portfolio.facilities.empty and policy.stage_caps.empty and policy.stage_hhi_caps.empty
    ):
        # No facility, no stage cap: every route is a purchase delivered as bought, which the
        # plan's own checks cover.
        return nothing
    rank = {s: i for i, s in enumerate(STAGES)}
    stages = offer_stages(portfolio).set_index(["supplier", "element"])["stage"]
    facilities = portfolio.facilities.set_index("facility")
    flat["rank"] = flat["stage"].map(rank)
    flat = flat.sort_values(["element", "supplier", "route", "period", "rank"], kind="stable")
    key = ["element", "supplier", "route", "period"]
    offer_rank = stages.map(rank).reindex(pd.MultiIndex.from_frame(flat[["supplier", "element"]]))
    own = flat["rank"].to_numpy() <= offer_rank.fillna(-1).to_numpy()
    # Each leg after the offer's own stage: a facility of that stage, taking the element, whose
    # output is the previous leg's tonnes times its yield.
    previous = flat.groupby(key, sort=False)["volume_t"].shift(1).to_numpy()
    known = flat["facility"].isin(facilities.index).to_numpy()
    recovery = flat["facility"].map(facilities["yield"]).to_numpy(float)
    fee = flat["facility"].map(facilities["fee_usd_per_t"]).fillna(0.0).to_numpy(float)
    stage_ok = flat["facility"].map(facilities["stage"]).to_numpy(object) == flat["stage"].to_numpy(
        object
    )
    accepts = [
        known[i]
        and (facilities.at[f, "elements"] == ALL or e in tuple(facilities.at[f, "elements"]))
        for i, (f, e) in enumerate(zip(flat["facility"], flat["element"]))
    ]
    converted = ~own
    expected = np.where(converted, previous * recovery, flat["volume_t"].to_numpy(float))
    volume = flat["volume_t"].to_numpy(float)
    wrong_place = converted & ~(known & stage_ok & np.asarray(accepts, dtype=bool))
    record(
        "route leg through a facility of its stage that takes the element",
        flat["element"],
        flat["period"],
        flat["route"],
        volume,
        0.0 * volume,
        np.where(wrong_place, np.abs(volume) + 1.0, 0.0),
    )
    record(
        "route leg = previous leg x yield",
        flat["element"],
        flat["period"],
        flat["route"],
        volume,
        np.nan_to_num(expected),
        np.where(converted & ~wrong_place, np.abs(volume - np.nan_to_num(expected)), 0.0),
    )
    # The routes of a purchase add up to it.
    start = flat[own].groupby(key, sort=False)["volume_t"].last()
    routed = start.groupby(level=["element", "supplier", "period"]).sum()
    bought = plan.set_index(["element", "supplier", "period"])["plain_t"]
    both = pd.concat([bought.rename("bought"), routed.rename("routed")], axis=1).fillna(0.0)
    record(
        "routes of a purchase add up to it",
        both.index.get_level_values("element"),
        both.index.get_level_values("period"),
        both.index.get_level_values("supplier"),
        both["routed"],
        both["bought"],
        np.abs(both["routed"] - both["bought"]),
    )
    # When the tonnes reach each leg and arrive: the offer's own stages when bought, the first
    # facility its offer's lead time later, each next one (and the buyer) a facility's later.
    offer_lead = lead_periods(portfolio)
    offer_lead = offer_lead[~offer_lead.index.duplicated()]
    lead = (
        offer_lead.reindex(pd.MultiIndex.from_frame(flat[["supplier", "element"]]))
        .fillna(0)
        .to_numpy(int)
    )
    transit = np.where(
        converted & known,
        pd.to_numeric(flat["facility"].map(facilities["lead_periods"]), errors="coerce")
        .fillna(0)
        .to_numpy(float),
        0.0,
    ).astype(int)
    before = pd.Series(transit, index=flat.index).groupby([flat[k] for k in key], sort=False)
    reached_lead = np.where(converted, lead + (before.cumsum() - transit).to_numpy(), 0)
    route_lead = lead + before.transform("sum").to_numpy()
    labels = np.asarray(portfolio.period_labels, dtype=object)
    bought_at = pd.Categorical(flat["period"], categories=labels).codes
    reach = bought_at + reached_lead
    flat["reached"] = np.where(reach < len(labels), labels[np.minimum(reach, len(labels) - 1)], "")
    flat["arrival"] = arrivals(portfolio, flat, route_lead).fillna("").to_numpy(object)
    # Facility output within its capacity, per period it works the tonnes.
    at_facility = flat[converted & known]
    output = at_facility.groupby(["facility", "reached"])["volume_t"].sum()
    limit = output.index.get_level_values("facility").map(facilities["capacity_t"]).to_numpy(float)
    record(
        "facility capacity",
        np.full(len(output), ""),
        output.index.get_level_values("reached"),
        output.index.get_level_values("facility"),
        output.to_numpy(),
        limit,
        output.to_numpy() - limit,
    )
    arrived = flat.assign(period=flat["arrival"])
    _check_stage_caps(portfolio, arrived, key, record)
    for stage in dict.fromkeys(policy.stage_hhi_caps["stage"]):
        at = arrived[arrived["stage"] == stage]
        if policy.cap_basis == "horizon":
            at = at.assign(period=ALL)
        caps = policy.hhi_caps(portfolio.elements, stage)
        _record_hhi(portfolio, at, caps, f"HHI cap at {stage}", record)
    # Delivered (the last leg) less bought (the offer's own stage), per (element, period).
    last = flat.groupby(key, sort=False)["volume_t"].last()
    gain = (
        (last - start.reindex(last.index).fillna(0.0))
        .groupby(level=["element", "supplier", "period"])
        .sum()
    )
    # Each converted route's delivery where it arrives (its own transit after the purchase).
    through = flat[converted].drop_duplicates(key)[[*key, "arrival"]]
    moved = through.join(last.rename("volume_t"), on=key).drop(columns="route")
    return gain, float((fee * volume)[converted & known].sum()), moved


def _check_stage_caps(portfolio: Portfolio, flat: pd.DataFrame, key: list[str], record) -> None:
    """Every stage cap, with the cap precedence re-applied, from the routes' tonnes.

    A holder is the country doing a stage, the supplier or facility doing it (``facility`` in
    the routes), or a group of countries; at stage ``any``, the tonnes delivered that touch it.
    """
    caps = portfolio.policy.stage_caps
    if caps.empty:
        return
    # Each route (a purchase's path in its period) and what it delivers: its last leg.
    flat = flat.assign(
        route_id=flat.groupby(key, sort=False).ngroup(),
        delivered_t=flat.groupby(key, sort=False)["volume_t"].transform("last"),
    )
    if portfolio.policy.cap_basis == "horizon":
        flat = flat.assign(period=ALL)
    total_at = flat.groupby(["element", "stage", "period"])["volume_t"].sum()
    routes = flat.drop_duplicates("route_id")
    total_any = routes.groupby(["element", "period"])["delivered_t"].sum()
    groups = caps[caps["by"] == "group"]
    holders = {
        "country": [flat.assign(holder=flat["country"])],
        "supplier": [flat.assign(holder=flat["facility"])],
        "group": [
            flat[flat["country"].isin(members)].assign(holder=name)
            for name, members in zip(groups["holder"], groups["countries"])
        ],
    }
    # The cap on (holder, element) at a stage: a named holder beats "*" (each one), then a row
    # naming the element beats "*".
    given = {
        (st, by, h, e): float(v)
        for st, by, h, e, v in zip(
            caps["stage"], caps["by"], caps["holder"], caps["element"], caps["max_share"]
        )
    }
    rows = []
    for by, frames in holders.items():
        if not frames:
            continue
        at = pd.concat(frames, ignore_index=True)
        touching = at.drop_duplicates(["route_id", "holder"])
        tonnes = pd.concat(
            [at, touching.assign(stage=ANY_STAGE, volume_t=touching["delivered_t"])],
            ignore_index=True,
        )
        held = tonnes.groupby(["element", "stage", "period", "holder"])["volume_t"].sum()
        for (element, stage, period, holder), value in held.items():
            share = next(
                (
                    given[k]
                    for k in (
                        (stage, by, holder, element),
                        (stage, by, holder, ALL),
                        (stage, by, ALL, element),
                        (stage, by, ALL, ALL),
                    )
                    if k in given
                ),
                None,
            )
            if share is None or share >= 1:
                continue
            total = (
                total_any[(element, period)]
                if stage == ANY_STAGE
                else total_at[(element, stage, period)]
            )
            rows.append((element, period, f"{holder} at {stage}", value, share * total))
    e, p, h, v, lim = (list(c) for c in zip(*rows)) if rows else ([],) * 5
    v, lim = np.asarray(v, dtype=float), np.asarray(lim, dtype=float)
    record("stage cap", e, p, h, v, lim, v - lim)


def _check_contracts(portfolio, plan, scoped, contracts, tol, record) -> pd.Series:
    """Purchases only under contract, minimum orders, supplier and country counts.

    Returns whether each offer (supplier, element) is contracted.
    """
    policy = portfolio.policy
    offers = portfolio.offers.set_index(["supplier", "element"])
    used = plan.groupby(["supplier", "element"])["plain_t"].sum() > tol
    if contracts is None:
        contracted = used
    else:
        flags = contracts.reset_index().set_index(["supplier", "element"])["contracted"]
        contracted = flags.astype(bool).reindex(flags.index.union(used.index), fill_value=False)
    needs = used.index[used.to_numpy()]
    record(
        "purchase under contract",
        [k[1] for k in needs],
        [""] * len(needs),
        [k[0] for k in needs],
        used[needs].astype(float),
        contracted.reindex(needs).astype(float),
        (~contracted.reindex(needs, fill_value=False)).astype(float) * (1 + tol),
    )
    minimum = offers["min_order_t"].reindex(list(zip(plan["supplier"], plan["element"])))
    vol = plan["plain_t"].to_numpy()
    short = np.where(vol > tol, np.maximum(minimum.to_numpy() - vol, 0.0), 0.0)
    record(
        "minimum order",
        plan["element"],
        plan["period"],
        plan["supplier"],
        vol,
        minimum.to_numpy(),
        short,
    )
    counts = []
    if policy.max_suppliers_per_element is not None:
        signed = contracted[contracted].groupby(level="element").size()
        counts.append(("suppliers per element", signed, policy.max_suppliers_per_element, 1))
    if policy.min_countries_per_element is not None:
        horizon = plan.assign(country=plan["supplier"].map(portfolio.supplier_country()))
        by_country = horizon.groupby(["element", "country"])["volume_t"].sum()
        total = by_country.groupby(level="element").transform("sum")
        floor = policy.country_floor_share * total - tol
        counted = (by_country >= floor).groupby(level="element").sum()
        counts.append(
            (
                "countries per element",
                counted.reindex(portfolio.elements, fill_value=0),
                policy.min_countries_per_element,
                -1,
            )
        )
    for name, count, limit, sign in counts:  # sign 1: at most the limit; -1: at least
        value = count.to_numpy(float)
        record(
            name,
            count.index,
            [ALL] * len(count),
            [""] * len(count),
            value,
            np.full(len(count), limit),
            sign * (value - limit),
        )
    return contracted


def _check_bundles(portfolio, plan, bundles, record) -> tuple[pd.Series, float]:
    """Concentrates: capacity, bundled tonnes = share x concentrate, surplus in [0, bundled].

    Returns the surplus per (element, period) and the concentrates' cost (price, freight, risk)
    less the surplus's salvage (USD).
    """
    if bundles is None or portfolio.concentrates.empty:
        return pd.Series(dtype=float), 0.0
    policy = portfolio.policy
    q = bundles["concentrates"].reset_index()
    capacity = portfolio.concentrate_capacity.set_index(["supplier", "product", "period"])
    cap = capacity["capacity_t"].reindex(list(zip(q["supplier"], q["product"], q["period"])))
    cap = cap.fillna(0.0).to_numpy()
    volume = q["volume_t"].to_numpy(float)
    record(
        "concentrate capacity",
        [""] * len(q),
        q["period"],
        q["supplier"],
        volume,
        cap,
        np.maximum(-volume, volume - cap),
    )
    mix = portfolio.composition[portfolio.composition["element"].isin(portfolio.elements)]
    supplied = q.merge(mix, on=["supplier", "product"])
    supplied["bundled_t"] = supplied["volume_t"] * supplied["share"]
    expected = supplied.groupby(["element", "supplier", "period"])["bundled_t"].sum()
    reported = plan.set_index(["element", "supplier", "period"])["bundled_t"]
    keys = expected.index.union(reported.index)
    gap = (reported.reindex(keys, fill_value=0.0) - expected.reindex(keys, fill_value=0.0)).abs()
    record(
        "bundled tonnes",
        keys.get_level_values(0),
        keys.get_level_values(2),
        keys.get_level_values(1),
        reported.reindex(keys, fill_value=0.0).to_numpy(),
        expected.reindex(keys, fill_value=0.0).to_numpy(),
        gap.to_numpy(),
    )
    surplus = bundles["surplus"]["surplus_t"]
    room = expected.groupby(level=["element", "period"]).sum().reindex(surplus.index).fillna(0.0)
    record(
        "surplus within [0, bundled]",
        surplus.index.get_level_values(0),
        surplus.index.get_level_values(1),
        [""] * len(surplus),
        surplus.to_numpy(),
        room.to_numpy(),
        np.maximum(-surplus.to_numpy(), (surplus - room).to_numpy()),
    )
    offers = portfolio.concentrates.merge(portfolio.suppliers[["supplier", "risk_score"]])
    priced = q.merge(offers, on=["supplier", "product"], how="left")
    unit = (
        priced["price_usd_per_t"]
        + priced["freight_usd_per_t"]
        + policy.risk_weight_usd_per_t * priced["risk_score"]
    )
    salvage = surplus.index.get_level_values("element").map(
        lambda e: policy.salvage_usd_per_t.get(e, 0.0)
    )
    return surplus, float((unit * priced["volume_t"]).sum() - (salvage * surplus).sum())


def _check_projects(portfolio, plan, bundles, projects, record) -> float:
    """A project's offers and concentrates within the capacity on stream.

    Returns the capital cost (USD, discounted) of the projects started.
    """
    table = portfolio.projects
    if table.empty:
        return 0.0
    labels = portfolio.period_labels
    position = {p: i for i, p in enumerate(labels)}
    started = {}
    if projects is not None:
        chosen = projects[projects["invested"]]
        started = {s: position[p] for s, p in zip(chosen.index, chosen["start_period"])}
    rows = plan[plan["supplier"].isin(table["supplier"])][
        ["supplier", "element", "period", "plain_t"]
    ]
    capacity = portfolio.capacity.set_index(["supplier", "element", "period"])["capacity_t"]
    limits = capacity.reindex(list(zip(rows["supplier"], rows["element"], rows["period"])))
    volumes = [rows["plain_t"].to_numpy(float)]
    frames = [rows.assign(limit=limits.to_numpy())]
    if bundles is not None:
        q = bundles["concentrates"].reset_index()
        q = q[q["supplier"].isin(table["supplier"])]
        cap = portfolio.concentrate_capacity.set_index(["supplier", "product", "period"])
        frames.append(
            q.assign(
                element=q["product"],
                plain_t=q["volume_t"],
                limit=cap["capacity_t"]
                .reindex(list(zip(q["supplier"], q["product"], q["period"])))
                .to_numpy(),
            )
        )
        volumes.append(q["volume_t"].to_numpy(float))
    rows = pd.concat(frames, ignore_index=True)
    projects_by = table.set_index("supplier")
    share = np.array(
        [
            online_share(projects_by.loc[s], started[s], position[p]) if s in started else 0.0
            for s, p in zip(rows["supplier"], rows["period"])
        ]
    )
    limit = rows["limit"].to_numpy(float) * share
    volume = rows["plain_t"].to_numpy(float)
    record(
        "project capacity on stream",
        rows["element"],
        rows["period"],
        rows["supplier"],
        volume,
        limit,
        volume - limit,
    )
    factor = discount_factors(portfolio)
    return float(sum(projects_by.at[s, "capital_usd"] * factor[t] for s, t in started.items()))


def _check_hhi(portfolio, scoped: pd.DataFrame, record) -> None:
    """HHI of each capped element's purchases by country: at most the cap plus the tolerance.

    Per period or over the horizon as the caps; both in HHI points.
    """
    policy = portfolio.policy
    caps = policy.hhi_caps(portfolio.elements)
    if not caps:
        return
    _record_hhi(portfolio, scoped, caps, "HHI cap", record)


def _record_hhi(portfolio, scoped: pd.DataFrame, caps: dict, check: str, record) -> None:
    """HHI of each capped element's tonnes in ``scoped`` by country, against ``caps``."""
    policy = portfolio.policy
    held = scoped.groupby(["element", "period", "country"])["volume_t"].sum()
    total = held.groupby(level=["element", "period"]).transform("sum")
    # Purchases within the volume tolerance of zero have no meaningful shares (a solver's 1e-13 t).
    share = (held / total.where(total > tolerance(portfolio))).fillna(0.0)
    hhi = hhi_terms(share).groupby(level=["element", "period"]).sum()
    hhi = hhi[hhi.index.get_level_values("element").isin(list(caps))]
    limit = np.array([float(caps[e]) for e in hhi.index.get_level_values("element")])
    record(
        check,
        hhi.index.get_level_values("element"),
        hhi.index.get_level_values("period"),
        [""] * len(hhi),
        hhi.to_numpy(),
        limit,
        hhi.to_numpy() - limit - policy.hhi_tolerance,
    )


def _contract_cost(portfolio, contracted: pd.Series) -> float:
    """Contract costs (USD over the horizon) of the contracted offers."""
    years = horizon_years(portfolio)
    fee = portfolio.offers.set_index(["supplier", "element"])["contract_usd_per_year"]
    chosen = contracted.index[contracted.to_numpy(bool)]
    return float(fee.reindex(chosen).fillna(0.0).sum() * years)


def _check_emergency(portfolio, purchases, emergency, cap_grid, record) -> np.ndarray:
    """Emergency purchases: >= 0, within capacity after the plan's; t per (element, arrival)."""
    elements, labels = portfolio.elements, portfolio.period_labels
    suppliers = portfolio.suppliers["supplier"].tolist()
    n_e, n_s, n_p = len(elements), len(suppliers), len(labels)
    if emergency is None or not len(emergency):
        return np.zeros(n_e * n_p)
    rows = emergency.reset_index()
    e, s = _codes(rows["element"], elements), _codes(rows["supplier"], suppliers)
    p = _codes(rows["period"], labels)
    y = rows["volume_t"].to_numpy(float)
    cell = (e * n_s + s) * n_p + p
    planned = np.zeros(n_e * n_s * n_p)
    np.add.at(
        planned,
        (_codes(purchases["element"], elements) * n_s + _codes(purchases["supplier"], suppliers))
        * n_p
        + _codes(purchases["period"], labels),
        purchases["plain_t"].to_numpy(float),
    )
    record(
        "non-negative emergency purchase",
        rows["element"],
        rows["period"],
        rows["supplier"],
        y,
        0 * y,
        -y,
    )
    record(
        "emergency purchase within capacity",
        rows["element"],
        rows["period"],
        rows["supplier"],
        planned[cell] + y,
        cap_grid[cell],
        planned[cell] + y - cap_grid[cell],
    )
    arrival = arrivals(portfolio, rows).fillna(labels[-1])
    return np.bincount(e * n_p + _codes(arrival, labels), weights=y, minlength=n_e * n_p)


def check_responses(
    portfolio: Portfolio,
    responses: pd.DataFrame | None,
    decision: str,
    record,
    tol: float,
    demand: np.ndarray,
    first: np.ndarray | None = None,
    floor: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Check one set of demand responses; their tonnes and cost per (element, period) cell.

    ``responses``: element, response, period, volume_t (one scenario's or the plan's).
    ``decision``: which responses may act (``plan``, from period ``lead_periods + 1``; or
    ``recourse`` in a scenario, from ``first`` (0-based period per element: the scenario's first
    disrupted period, ``len(periods)`` where none) plus the lead). ``demand`` is the (element,
    period) grid, element-major. ``floor``: per element, the floor price a scenario's response
    counts at least (:func:`~rareopt.inputs.derived.scenario_replacement_prices`).

    Returns
    -------
    supplied, cut, cost, uplift : ndarray
        Per (element, period) cell: t of every response, t of the demand-cutting ones, USD at
        each response's ``cost_usd_per_t`` (money), and USD by which the floor price exceeds it
        (a penalty; zero without ``floor``).
    """
    elements, labels = portfolio.elements, portfolio.period_labels
    n_e, n_p = len(elements), len(labels)
    limits = response_limits(portfolio)
    if not len(limits) and (responses is None or not len(responses)):
        return tuple(np.zeros(n_e * n_p) for _ in range(4))  # type: ignore[return-value]
    volume = pd.Series(0.0, index=pd.MultiIndex.from_frame(limits[["response", "period"]]))
    if responses is not None and len(responses):
        given = responses.reset_index()
        known = pd.MultiIndex.from_frame(given[["response", "period"]]).isin(volume.index)
        record(
            f"{decision} responses known to the portfolio",
            given["element"],
            given["period"],
            given["response"],
            given["volume_t"],
            0.0 * given["volume_t"],
            np.where(known, 0.0, 2 * tol + given["volume_t"].abs().to_numpy(float)),
        )
        given = given[known]
        volume.loc[pd.MultiIndex.from_frame(given[["response", "period"]])] = given[
            "volume_t"
        ].to_numpy(float)
    v = volume.to_numpy(float)
    position = _codes(limits["period"], labels)
    element = _codes(limits["element"], elements)
    lead = limits["lead_periods"].to_numpy(float)
    opens = lead if decision == "plan" else (first[element] + lead if first is not None else n_p)
    usable = (limits["decision"].to_numpy(object) == decision) & (position >= opens)
    limit = np.where(usable, limits["limit_t"].to_numpy(float), 0.0)
    record(
        f"{decision} response within [0, limit]",
        limits["element"],
        limits["period"],
        limits["response"],
        v,
        limit,
        np.maximum(-v, v - limit),
    )
    cell = element * n_p + position
    is_cut = limits["kind"].isin(["substitution", "thrifting"]).to_numpy()
    supplied = np.bincount(cell, weights=v, minlength=n_e * n_p)
    cut = np.bincount(cell, weights=v * is_cut, minlength=n_e * n_p)
    # A sticky response keeps its share of demand (a cut) or its tonnes (recycling).
    same = limits["response"].to_numpy(object)
    pair = (
        np.flatnonzero(
            (same[1:] == same[:-1])
            & (position[1:] == position[:-1] + 1)
            & limits["sticky"].to_numpy(bool)[1:]
            & usable[:-1]
        )
        + 1
    )
    d_cell = demand[cell]
    share = np.where(is_cut, v / np.where(d_cell > 0, d_cell, 1.0), v)
    record(
        f"{decision} sticky response",
        limits["element"].to_numpy(object)[pair],
        limits["period"].to_numpy(object)[pair],
        limits["response"].to_numpy(object)[pair],
        v[pair],
        v[pair - 1],
        (share[pair - 1] - share[pair]) * np.where(is_cut[pair], d_cell[pair], 1.0),
    )
    per_t = limits["cost_usd_per_t"].to_numpy(float)
    cost = np.bincount(cell, weights=per_t * v, minlength=n_e * n_p)
    above = np.zeros(len(v)) if floor is None else np.maximum(floor[element] - per_t, 0.0)
    uplift = np.bincount(cell, weights=above * v, minlength=n_e * n_p)
    return supplied, cut, cost, uplift


def _take_or_pay_cost(portfolio: Portfolio, purchases: pd.DataFrame) -> float:
    """USD paid for take-or-pay minimums not bought: max(minimum - bought, 0) x the price.

    ``purchases``: one row per purchase (element, supplier, period bought in, plain_t).
    """
    terms = contract_terms(portfolio.offers, purchases)
    minimum = terms["take_or_pay_t"].fillna(0.0).to_numpy(float)
    if not (minimum > 0).any():
        return 0.0
    unused = np.maximum(minimum - purchases["plain_t"].to_numpy(float), 0.0)
    return float(np.nansum(contract_unit_prices(terms) * unused))


def _recompute_cost(
    portfolio: Portfolio, plan: pd.DataFrame, r: dict, element: np.ndarray, supplier: np.ndarray
) -> float:
    """Total cost (USD) of a plan from the portfolio's prices, penalties and the stock path.

    ``element`` and ``supplier`` are the plan rows' positions in the portfolio's lists.
    """
    policy = portfolio.policy
    offers = portfolio.offers.merge(portfolio.suppliers[["supplier", "risk_score"]], on="supplier")
    elements, suppliers = portfolio.elements, portfolio.suppliers["supplier"].tolist()
    unit = np.full((len(elements), len(suppliers)), np.nan)
    unit[_codes(offers["element"], elements), _codes(offers["supplier"], suppliers)] = (
        contract_unit_prices(contract_terms(offers))
        + policy.risk_weight_usd_per_t * offers["risk_score"].to_numpy(float)
    )
    plain = plan["plain_t"].to_numpy(float)
    bought = plain != 0
    per_row = unit[element, supplier]
    holding = portfolio.stockpile.set_index("element")["holding_usd_per_t"]
    holding_cost = float(
        holding.reindex(pd.Index(r["element"])).fillna(0.0).to_numpy() @ r["level"]
    )
    per_t = r["psi"]
    shortfall_cost = float((per_t * r["short"])[r["target"] > 0].sum())
    return float(
        # A purchase with no offer has no price: the capacity check reports it; here it adds 0.
        np.nansum(per_row[bought] * plain[bought])
        + holding_cost
        + policy.shortage_penalty_usd_per_t * r["u"].sum()
        + shortfall_cost
    )

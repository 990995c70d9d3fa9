"""Result tables from a solution: the plan, stock, unmet demand, shares, HHI, duals, decisions.

:func:`extract` reads the solution through the LP's named families (vectorised, no per-variable
Pyomo calls); the cost terms are the formulation's own cost vectors applied to the solution.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rareopt.inputs.measures import ROUND_OFF_T, hhi_terms, volume_tolerance
from rareopt.inputs.stages import ANY_STAGE, SELLER, STAGES
from rareopt.inputs.tables import ALL, row_keys
from rareopt.model.formulation import COST_TERMS
from rareopt.model.layout import ModelLayout
from rareopt.model.lp import LinearProgram, SolverOutput
from rareopt.results.result import LazyTables
from rareopt.solving.highs import ranging

__all__ = ["extract", "shares_table", "hhi_table", "duals_table"]


def shares_table(plan: pd.DataFrame, routes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Shares of each element's tonnes by country and by supplier: as sold, and at each stage.

    Parameters
    ----------
    plan : DataFrame
        Columns element, supplier, country, period, volume_t (the tonnes delivered, in the
        period they arrive, as the caps count them).
    routes : DataFrame, optional
        :attr:`Result.routes <rareopt.results.result.Result.routes>`: each route's tonnes at each
        stage. Without it, only the sellers' shares.

    Returns
    -------
    DataFrame
        Index (element, period, stage, by, holder) with period ``"*"`` for the horizon; ``stage``
        ``seller`` (the seller's country or supplier, what a cap without a stage counts), a
        processing stage (mining, separation, metal, magnet: the country or supplier/facility
        that did that stage, of the element's tonnes at it), or ``any`` (the tonnes delivered
        that touch the holder at some stage, of all tonnes delivered); ``by`` in {"country",
        "supplier"}. Columns volume_t and share (0-1; 0 where nothing is bought).

    Examples
    --------
    >>> plan = pd.DataFrame({"element": ["Nd", "Nd"], "supplier": ["A", "B"],
    ...                      "country": ["CN", "AU"], "period": ["P1", "P1"], "volume_t": [60.0, 40.0]})
    >>> shares_table(plan).loc[("Nd", "P1", "seller", "country", "CN"), "share"]
    np.float64(0.6)
    """
    sold = plan[["element", "period", "country", "supplier", "volume_t"]].assign(stage=SELLER)
    frames = [_by_holder(sold, "supplier")]
    delivered = sold[["element", "period", "volume_t"]]
    if routes is not None and len(routes):
        flat, touching, delivered = _route_tonnes(routes)
        frames += [_by_holder(flat, "facility"), touching]
    frame = pd.concat(frames, ignore_index=True)
    frame = pd.concat([frame, frame.assign(period=ALL)], ignore_index=True)
    frame["holder"] = frame["holder"].astype(object)
    keys = ["element", "period", "stage", "by", "holder"]
    volume = frame.groupby(keys, sort=False)["volume_t"].sum()
    total = volume.groupby(level=["element", "period", "stage", "by"], sort=False).transform("sum")
    # At stage "any" the holders' tonnes overlap: the share is of every tonne delivered.
    delivered = pd.concat([delivered, delivered.assign(period=ALL)], ignore_index=True)
    delivered = delivered.groupby(["element", "period"])["volume_t"].sum()
    is_any = volume.index.get_level_values("stage") == ANY_STAGE
    at = volume.index.droplevel(["stage", "by", "holder"])
    total = np.where(is_any, delivered.reindex(at).fillna(0.0).to_numpy(), total.to_numpy())
    share = np.divide(volume.to_numpy(), total, out=np.zeros(len(volume)), where=total > 0)
    out = pd.DataFrame({"volume_t": volume, "share": share}, index=volume.index)
    # Readable order: elements and periods as they come, stages down the chain.
    level = out.index.get_level_values
    stage_rank = {s: k for k, s in enumerate((SELLER, *STAGES, ANY_STAGE))}
    order = np.lexsort(
        (
            pd.factorize(level("holder"))[0],
            pd.factorize(level("by"))[0],
            level("stage").map(stage_rank).to_numpy(),
            pd.factorize(level("period"))[0],
            pd.factorize(level("element"))[0],
        )
    )
    return out.iloc[order]


def _by_holder(frame: pd.DataFrame, supplier: str) -> pd.DataFrame:
    """Long rows element, period, stage, by, holder, volume_t: by country and by ``supplier``."""
    columns = ["element", "period", "stage", "by", "holder", "volume_t"]
    return pd.concat(
        [
            frame.assign(by="country", holder=frame["country"])[columns],
            frame.assign(by="supplier", holder=frame[supplier])[columns],
        ],
        ignore_index=True,
    )


def _route_tonnes(routes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Routes' tonnes per stage, the tonnes touching each holder, and the tonnes delivered.

    Counted in the period the tonnes arrive, as the caps do. A route delivers its tonnes at its
    last stage (the demand's); ``any`` counts those for every country and supplier or facility
    on the route, once each.
    """
    flat = routes.reset_index().drop(columns="period").rename(columns={"arrival": "period"})
    key = ["element", "supplier", "route", "period"]
    rank = pd.Categorical(flat["stage"], categories=list(STAGES), ordered=True).codes
    last = flat.assign(rank=rank).sort_values("rank").groupby(key, sort=False)["volume_t"].last()
    touching = []
    for by, column in (("country", "country"), ("supplier", "facility")):
        touched = flat[[*key, column]].drop_duplicates().join(last, on=key)
        touching.append(
            touched.assign(stage=ANY_STAGE, by=by, holder=touched[column])[
                ["element", "period", "stage", "by", "holder", "volume_t"]
            ]
        )
    delivered = last.reset_index()[["element", "period", "volume_t"]]
    return flat, pd.concat(touching, ignore_index=True), delivered


def hhi_table(shares: pd.DataFrame, round_off_t: float = 0.0) -> pd.DataFrame:
    """Herfindahl-Hirschman index (0-10,000) of country shares per element, period and stage.

    Stage ``seller`` is the sellers' countries (what an HHI cap counts); a processing stage, the
    countries doing it (``any`` is left out: its shares overlap). NaN where nothing of the
    element is bought in the period, or no more than ``round_off_t`` t (round-off, as in the
    independent check): no purchases have no concentration (0 would read as perfectly
    diversified).

    Examples
    --------
    >>> plan = pd.DataFrame({"element": ["Nd", "Nd", "Nd"], "supplier": ["A", "B", "A"],
    ...     "country": ["CN", "AU", "CN"], "period": ["P1", "P1", "P2"], "volume_t": [60.0, 40.0, 0.0]})
    >>> hhi_table(shares_table(plan))["hhi"].tolist()
    [5200.0, nan, 5200.0]
    """
    level = shares.index.get_level_values
    country = shares[(level("by") == "country") & (level("stage") != ANY_STAGE)].droplevel("by")
    cells = ["element", "period", "stage"]
    by_cell = country.groupby(level=cells, sort=False)
    hhi = hhi_terms(country["share"]).groupby(level=cells, sort=False).sum()
    return hhi.where(by_cell["volume_t"].sum() > round_off_t).to_frame("hhi")


def duals_table(layout: ModelLayout, lp: LinearProgram, output: SolverOutput, plan) -> pd.DataFrame:
    """Marginal values: d(total cost)/d(right-hand side) per constraint, and where each holds.

    For a MIP, pass the LP with the integer decisions fixed (:func:`rareopt.model.lp.fix_integers`).
    For a two-stage LP they are the first stage's, with the recourse re-optimised: demand also
    sits in every scenario's balance, a stock target in every scenario's target row and capacity
    in every scenario's spot room, so those rows' duals are added to the demand's, the target's
    and the capacity's (a capacity counts f times in a scenario that delivers a fraction f of it).

    A dual is marginal: it holds while its right-hand side stays within ``valid_from_t`` to
    ``valid_to_t`` (the others fixed), the range HiGHS's ranging gives at the optimal basis
    (:func:`rareopt.solving.highs.ranging`: the LP handed to HiGHS again from that basis, so
    only a result whose duals are read pays for it: 0.2 s on a two-stage model of 65,000 rows
    that solves in 4 s). A two-stage model's demand, target and capacity duals have no such
    range (NaN): moving one moves a right-hand side in every scenario at once, which one row's
    ranging does not cover.

    Returns
    -------
    DataFrame
        Index (constraint, element, period, holder); columns ``dual`` (USD per unit of
        ``unit``), ``unit`` (what the marginal value is per), ``usd_per_point_tighter`` (share
        rows: the first-order cost of one percentage point tighter, i.e. a cap one point lower
        or a floor one point higher: -dual x X / 100 for a cap, dual x X / 100 for a floor, X the
        element's purchases in the row's period or over the horizon), ``valid_from_t`` and
        ``valid_to_t`` (t of demand, target, cap headroom, floor or capacity: the right-hand
        side's range within which ``dual`` holds; a share row's headroom is 0 at its share) and,
        for share rows, ``valid_from_pct`` and ``valid_to_pct`` (the same range as the share
        itself, in %: share + headroom / X at the plan's X, within 0-100; first-order, as X
        may move with the share).

    Examples
    --------
    >>> import rareopt
    >>> duals = rareopt.solve(rareopt.load_example("tiny")).duals
    >>> cap = duals.loc[("country_cap", "Nd", "P1", "CN")]
    >>> bool(cap["valid_from_pct"] <= 60.0 <= cap["valid_to_pct"])
    True
    """
    families = (
        ("balance", "marginal USD per t of demand"),
        ("stock_target", "marginal USD per t of target"),
        ("country_cap", "marginal USD per t of cap headroom"),
        ("supplier_cap", "marginal USD per t of cap headroom"),
        ("group_cap", "marginal USD per t of cap headroom"),
        ("group_floor", "marginal USD per t of floor"),
    )
    two_stage = "scenario_balance" in lp.row_blocks
    in_scenarios = {"balance": "scenario_balance", "stock_target": "scenario_target"}
    ranges = ranging(lp, output)
    # X, the element's purchases as the caps count them: delivered, in the period they arrive.
    flat = plan.reset_index() if "element" in plan.index.names else plan
    flat = flat.assign(
        period=flat["arrival"] if "arrival" in flat else flat["period"],
        volume_t=flat["delivered_t"] if "delivered_t" in flat else flat["volume_t"],
    )
    totals = flat.groupby(["element", "period"])["volume_t"].sum()
    horizon = flat.groupby("element")["volume_t"].sum()
    frames = []
    for name, unit in families:
        block = lp.row_blocks[name]
        shared = name.endswith(("_cap", "_floor"))
        keys = block.frame[list(block.key)].set_axis(
            ["element", "holder", "period"] if shared else ["element", "period"], axis=1
        )
        dual = block.values(output.row_dual)
        copies = in_scenarios.get(name, "")
        if copies in lp.row_blocks:
            dual = dual + _summed_over_scenarios(lp, copies, output, keys)
        frame = keys.assign(constraint=name, dual=dual, unit=unit)
        frame["valid_from_t"], frame["valid_to_t"] = _row_range(
            block, None if copies in lp.row_blocks else ranges
        )
        if name == "balance":
            # The row reads ... = d - h0 in the first period: its range is one of demand once
            # the initial stock is added back.
            demand = block.frame["demand_t"].to_numpy(float)
            rhs = block.values(lp.row_lower, np.nan)
            frame["valid_from_t"] += demand - rhs
            frame["valid_to_t"] += demand - rhs
        if not shared:
            frame["holder"] = ""
        if shared:
            per_period = totals.reindex(pd.MultiIndex.from_frame(frame[["element", "period"]]))
            over_horizon = horizon.reindex(frame["element"]).to_numpy()
            scope = np.where(frame["period"] == ALL, over_horizon, per_period.to_numpy())
            scope = np.nan_to_num(scope)
            # Tighter is a lower cap (less headroom) but a higher floor (more of it).
            tighter = 1.0 if name == "group_floor" else -1.0
            frame["usd_per_point_tighter"] = tighter * frame["dual"] * scope / 100.0
            share = block.frame["min_share" if name == "group_floor" else "max_share"]
            for end in ("from", "to"):
                headroom = frame[f"valid_{end}_t"].to_numpy(float)
                points = np.divide(
                    100.0 * headroom, scope, out=np.full(len(scope), np.nan), where=scope > 0
                )
                frame[f"valid_{end}_pct"] = np.clip(100.0 * share.to_numpy(float) + points, 0, 100)
        frames.append(frame)
    if "stage_cap" in lp.row_blocks:
        frames.append(_stage_cap_duals(lp, output, ranges))
    buy = layout.buy
    # A column's reduced cost is the value of its upper bound only where it is negative (at the
    # bound); a positive reduced cost belongs to the lower bound, and capacity is then worth 0.
    capacity_value = np.minimum(lp.col_blocks["buy"].values(output.col_dual), 0.0)
    if "spot_room" in lp.row_blocks:
        capacity_value = capacity_value + _spot_room_value(lp, output, buy)
    capacity_from = capacity_to = np.full(len(buy), np.nan)
    if ranges is not None and not two_stage:
        capacity_from = lp.col_blocks["buy"].values(ranges.col_from, np.nan)
        capacity_to = lp.col_blocks["buy"].values(ranges.col_to, np.nan)
    frames.append(
        pd.DataFrame(
            {
                "constraint": "capacity",
                "element": buy["element"],
                "period": buy["period"],
                "holder": buy["supplier"],
                "dual": capacity_value,
                "unit": "marginal USD per t of capacity",
                "valid_from_t": capacity_from,
                "valid_to_t": capacity_to,
            }
        )
    )
    out = pd.concat(frames, ignore_index=True)
    columns = ["dual", "unit", "usd_per_point_tighter", "valid_from_t", "valid_to_t"]
    columns += ["valid_from_pct", "valid_to_pct"]
    return out.set_index(["constraint", "element", "period", "holder"])[columns]


def _row_range(block, ranges) -> tuple[np.ndarray, np.ndarray]:
    """The right-hand side's range within which each row of ``block`` keeps its dual (NaN: none)."""
    if ranges is None:
        missing = np.full(len(block.frame), np.nan)
        return missing, missing
    return block.values(ranges.row_from, np.nan), block.values(ranges.row_to, np.nan)


def _stage_cap_duals(lp: LinearProgram, output: SolverOutput, ranges) -> pd.DataFrame:
    """Stage caps' marginal values: per point tighter, -dual x the stage's tonnes / 100.

    The tonnes are the row's own total at the solution (the element's tonnes at the stage, or
    its purchases X for stage ``any``), read through the share entries the sweeps edit.
    """
    block = lp.row_blocks["stage_cap"]
    frame = block.frame
    member, column = lp.parameters["share_entries"]["stage_cap"]
    scope = np.bincount(member, weights=output.x[column], minlength=len(frame))
    out = pd.DataFrame(
        {
            "constraint": "stage_cap",
            "element": frame["element"].to_numpy(object),
            "period": frame["period"].to_numpy(object),
            "holder": (frame["holder"] + " at " + frame["stage"]).to_numpy(object),
            "dual": block.values(output.row_dual),
            "unit": "marginal USD per t of stage-cap headroom",
        }
    )
    out["usd_per_point_tighter"] = -out["dual"] * scope / 100.0
    out["valid_from_t"], out["valid_to_t"] = _row_range(block, ranges)
    for end in ("from", "to"):
        headroom = out[f"valid_{end}_t"].to_numpy(float)
        points = np.divide(
            100.0 * headroom, scope, out=np.full(len(scope), np.nan), where=scope > 0
        )
        out[f"valid_{end}_pct"] = np.clip(
            100.0 * frame["max_share"].to_numpy(float) + points, 0, 100
        )
    return out


def _summed_over_scenarios(lp, family, output, keys: pd.DataFrame) -> np.ndarray:
    """A scenario row family's duals summed over the scenarios, per row of ``keys``."""
    block = lp.row_blocks[family]
    cells = list(keys.columns)
    summed = (
        block.frame[cells].assign(dual=block.values(output.row_dual)).groupby(cells)["dual"].sum()
    )
    return summed.reindex(pd.MultiIndex.from_frame(keys)).fillna(0.0).to_numpy()


def _spot_room_value(lp, output, buy: pd.DataFrame) -> np.ndarray:
    """Per purchase column: what one more tonne of capacity is worth in the scenarios' spot market.

    A spot room row reads f x + spot <= f capacity, so one more tonne raises its right-hand side
    by f (the row's own coefficient on the purchase column); and the spot column's own limit,
    spot_share x f x capacity, rises by that limit / capacity (its reduced cost where negative).
    """
    block = lp.row_blocks["spot_room"]
    rows = block.positions
    of_buy = pd.MultiIndex.from_frame(buy[["element", "supplier", "period"]]).get_indexer(
        pd.MultiIndex.from_frame(block.frame[["element", "supplier", "period"]])
    )
    columns = lp.col_blocks["buy"].positions[of_buy]
    fraction = np.asarray(lp.matrix.tocsr()[rows, columns]).ravel()
    value = np.zeros(len(buy))
    np.add.at(value, of_buy, output.row_dual[rows] * fraction)
    spot = lp.col_blocks["spot"]
    spot_cols = spot.positions
    capacity = lp.col_upper[columns]
    per_tonne = np.divide(
        lp.col_upper[spot_cols], capacity, out=np.zeros(len(capacity)), where=capacity > 0
    )
    np.add.at(value, of_buy, np.minimum(output.col_dual[spot_cols], 0.0) * per_tonne)
    return value


def _bundles(layout, lp, x) -> dict | None:
    """Concentrate purchases, the tonnes of each element they bring, and the surplus."""
    conc = layout.concentrate
    if conc.empty:
        return None
    q = lp.values("concentrate", x)
    supply = layout.supply
    bundled = supply[supply["pos"] >= len(layout.buy)]
    bundled = (
        bundled.assign(
            bundled_t=bundled["coef"].to_numpy() * q[bundled["pos"].to_numpy() - len(layout.buy)]
        )
        .groupby(["element", "supplier", "country", "period"], as_index=False, sort=False)[
            "bundled_t"
        ]
        .sum()
    )
    surplus_keys = row_keys(layout.surplus, "element", "period")
    r = lp.values("surplus", x)
    salvage = layout.portfolio.policy.salvage_usd_per_t
    per_element = bundled.groupby(["element", "period"])["bundled_t"].sum()
    surplus = layout.surplus[["element", "period"]].assign(
        bundled_t=per_element.reindex(surplus_keys).to_numpy(), surplus_t=r
    )
    surplus["salvage_usd"] = surplus["surplus_t"] * surplus["element"].map(
        lambda e: salvage.get(e, 0.0)
    )
    concentrates = conc[
        ["supplier", "product", "country", "period", "unit_cost_usd_per_t", "risk_score"]
    ].assign(volume_t=q, cost_usd=q * conc["unit_cost_usd_per_t"])
    return {
        "concentrates": concentrates.set_index(["supplier", "product", "period"]),
        "bundled": bundled,
        "surplus": surplus.set_index(["element", "period"]),
    }


def _with_bundled(plan: pd.DataFrame, bundled: pd.DataFrame) -> pd.DataFrame:
    """The plan with each element's tonnes from concentrates added.

    ``bundled_t`` is the part of ``volume_t`` that came in concentrates; rows only concentrates
    supply get a unit cost of 0 (they are priced per concentrate).
    """
    keys = ["element", "supplier", "country", "period"]
    merged = plan.drop(columns="bundled_t").merge(bundled, on=keys, how="outer")
    merged = merged.fillna(
        {"unit_cost_usd_per_t": 0.0, "volume_t": 0.0, "cost_usd": 0.0, "bundled_t": 0.0}
    )
    merged["volume_t"] = merged["volume_t"] + merged["bundled_t"]
    return merged


def _responses(layout, lp, x) -> pd.DataFrame | None:
    """The plan's demand response: (element, response, period) -> kind, volume_t, cost_usd.

    ``volume_t``: t of demand cut (substitution, thrifting) or recovered (recycling). None for a
    portfolio without plan responses.
    """
    response = layout.response
    if not len(response):
        return None
    volume = lp.values("response", x)
    table = response[["element", "response", "period", "kind"]].assign(
        volume_t=volume, cost_usd=volume * response["cost_usd_per_t"].to_numpy(float)
    )
    return table.set_index(["element", "response", "period"])


def _projects(layout, lp, x) -> pd.DataFrame | None:
    """Investment decisions per project supplier.

    Columns: invested, start_period, online_period, capital_usd (discounted to the horizon's
    start: the ``capital_cost`` term's coefficient of the chosen start).
    """
    block = lp.col_blocks.get("invest")
    if block is None:
        return None
    portfolio = layout.portfolio
    labels = portfolio.period_labels
    chosen = np.round(lp.values("invest", x)) > 0.5
    starts = block.frame[chosen].set_index("supplier")
    paid = starts["capital_usd"]  # the capital_cost coefficient: discounted to the horizon's start
    rows = []
    for project in portfolio.projects.to_dict("records"):
        supplier = project["supplier"]
        start = starts["period"].get(supplier)
        online = None
        if start is not None:
            online = labels[
                min(labels.index(start) + int(project["build_periods"]), len(labels) - 1)
            ]
        rows.append(
            {
                "supplier": supplier,
                "invested": start is not None,
                "start_period": start,
                "online_period": online,
                "capital_usd": float(paid.get(supplier, 0.0)),
            }
        )
    return pd.DataFrame(rows).set_index("supplier")


def _contracts(layout, lp, x, plan) -> pd.DataFrame | None:
    """Contract decisions of a MIP: element, supplier -> country, contracted, cost_usd, bought_t."""
    block = lp.col_blocks.get("contract")
    if block is None:
        return None
    rows = block.frame
    keys = list(zip(rows["element"], rows["supplier"]))
    contracted = np.round(lp.values("contract", x)) > 0.5
    bought = plan.groupby(["element", "supplier"], sort=False)["volume_t"].sum()
    return rows.assign(
        contracted=contracted,
        cost_usd=np.where(contracted, rows["contract_usd"], 0.0),
        bought_t=bought.reindex(keys).to_numpy(),
    ).set_index(["element", "supplier"])[
        ["country", "contracted", "cost_usd", "bought_t", "min_order_t"]
    ]


def routes_table(layout: ModelLayout, lp: LinearProgram, x: np.ndarray) -> pd.DataFrame:
    """Tonnes at each stage of each route the plan uses (rows with tonnes only).

    Index element, supplier, route (the supplier, then each facility, joined by ``>``), period
    (bought in), stage; columns facility (the supplier up to the offer's own stage), country,
    volume_t (t of the element at that stage: bought up to the offer's stage, then each
    facility's output) and arrival (the period the tonnes arrive in). A purchase delivered as
    bought is a route of its own, named by its supplier.
    """
    values = np.concatenate(
        [lp.values("buy", x), lp.values("concentrate", x), lp.values("route", x)]
    )
    legs = layout.stage_supply
    n_buy, n_conc = len(layout.buy), len(layout.concentrate)
    pos = legs["pos"].to_numpy(np.int64)
    routed = pos >= n_buy + n_conc
    label = layout.buy["supplier"].to_numpy(object)[np.where(routed, 0, pos)]
    if routed.any():
        label[routed] = layout.route["route"].to_numpy(object)[pos[routed] - n_buy - n_conc]
    supplier = np.where(
        routed,
        layout.route["supplier"].to_numpy(object)[np.maximum(pos - n_buy - n_conc, 0)]
        if len(layout.route)
        else None,
        layout.buy["supplier"].to_numpy(object)[np.minimum(pos, n_buy - 1)] if n_buy else None,
    )
    table = pd.DataFrame(
        {
            "element": legs["element"].to_numpy(object),
            "supplier": supplier,
            "route": label,
            "period": legs["bought_in"].to_numpy(object),
            "stage": legs["stage"].to_numpy(object),
            "facility": legs["facility"].to_numpy(object),
            "country": legs["country"].to_numpy(object),
            "volume_t": legs["coef"].to_numpy(float) * values[pos],
            "arrival": legs["period"].to_numpy(object),
        }
    )
    table = table[table["volume_t"] > ROUND_OFF_T]
    return table.set_index(["element", "supplier", "route", "period", "stage"])


def extract(
    layout: ModelLayout, lp: LinearProgram, output: SolverOutput, duals: bool = True
) -> LazyTables:
    """Result tables from HiGHS's solution, aligned by the model's layout.

    Returns
    -------
    dict
        ``plan``, ``stock``, ``unmet``, ``shares``, ``hhi``, ``duals`` (None without LP duals or
        when not asked for), ``contracts`` and ``projects`` (the discrete decisions, None
        without them), ``concentrates`` and ``surplus`` (None without concentrates) and
        ``cost_terms`` (Series, USD: the formulation's cost vectors at the solution).
    """
    buy, ep = layout.buy, layout.element_period
    # Round-off (a solver's 1e-13 t, or -1e-12 t) is no purchase.
    volume = lp.values("buy", output.x)
    volume = np.where(np.abs(volume) < ROUND_OFF_T, 0.0, volume)
    level = lp.values("stock", output.x)
    unmet = lp.values("unmet", output.x)
    shortfall = lp.values("shortfall", output.x)

    # What each purchase delivers at the demand's stage: as bought, or through its routes.
    delivered = volume.copy()
    route = layout.route
    labels = np.asarray(layout.portfolio.period_labels, dtype=object)
    arrival = pd.Categorical(buy["arrival"], categories=labels).codes.astype(np.int64)
    if len(route):
        through = lp.values("route", output.x) * route["yield"].to_numpy(float)
        at = route["buy"].to_numpy(np.int64)
        delivered[np.unique(at)] = 0.0
        np.add.at(delivered, at, through)
        # A converted purchase has arrived when its last route with tonnes has.
        used = through > ROUND_OFF_T
        route_arrival = pd.Categorical(route["arrival"], categories=labels).codes
        np.maximum.at(arrival, at[used], route_arrival[used])
    # Tonnes a take-or-pay minimum pays for without their being bought are paid all the same.
    unused = np.zeros(len(buy))
    unused[layout.take_or_pay["buy"].to_numpy(np.int64)] = np.maximum(
        lp.values("unused", output.x), 0.0
    )
    plan = buy[["element", "supplier", "country", "period", "unit_cost_usd_per_t"]].assign(
        volume_t=volume,
        cost_usd=(volume + unused) * buy["unit_cost_usd_per_t"],
        bundled_t=0.0,
        delivered_t=delivered,
        arrival=labels[arrival],
    )
    if len(layout.take_or_pay):
        plan["paid_not_taken_t"] = unused
    bundles = _bundles(layout, lp, output.x)
    if bundles is not None:
        plan = _with_bundled(plan, bundles["bundled"])
    daily = ep["demand_t"] / ep["days"]
    stock = ep[["element", "period", "target_days", "target_t", "stock_capacity_t"]].assign(
        level_t=level,
        shortfall_t=shortfall,
        days_of_cover=np.where(daily > 0, level / daily.where(daily > 0, 1.0), np.inf),
    )
    unmet_t = ep[["element", "period", "demand_t"]].assign(unmet_t=unmet)
    contracts = _contracts(layout, lp, output.x, plan)
    projects = _projects(layout, lp, output.x)
    conc = None if bundles is None else bundles["concentrates"]
    cost_terms = pd.Series(lp.cost_term_values(output.x), name="usd")[list(COST_TERMS)]
    tables = LazyTables(
        {
            "plan": plan.set_index(["element", "supplier", "period"]),
            "stock": stock.set_index(["element", "period"]),
            "unmet": unmet_t.set_index(["element", "period"]),
            "duals": None,
            "contracts": contracts,
            "projects": projects,
            "concentrates": None if conc is None else conc.drop(columns="risk_score"),
            "surplus": None if bundles is None else bundles["surplus"],
            "cost_terms": cost_terms,
            "responses": _responses(layout, lp, output.x),
        }
    )
    routes = routes_table(layout, lp, output.x)
    tables.put("routes", routes)
    # Shares count purchases as the caps do: the tonnes delivered, in the period they arrive (a
    # converted purchase's route by route: their facilities' transit may differ).
    arrived = plan.assign(
        period=plan["arrival"].fillna(plan["period"]),
        volume_t=plan["delivered_t"].fillna(plan["volume_t"]),
    )
    if len(route):
        by_route = buy.iloc[route["buy"].to_numpy(np.int64)][["element", "supplier", "country"]]
        by_route = by_route.assign(period=route["arrival"].to_numpy(object), volume_t=through)
        converted = np.zeros(len(buy), dtype=bool)
        converted[route["buy"].to_numpy(np.int64)] = True
        arrived = pd.concat([arrived[~converted], by_route], ignore_index=True)
    tables.defer("shares", lambda: shares_table(arrived, routes))
    tables.defer("hhi", lambda: hhi_table(tables["shares"], volume_tolerance(layout.portfolio)))
    if duals and output.row_dual is not None:
        tables.defer("duals", lambda: duals_table(layout, lp, output, plan))
    return tables

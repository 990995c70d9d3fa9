"""The sourcing LP assembled straight into HiGHS's arrays from the layout, with NumPy.

This is the formulation of ``docs/formulation.md``, written once: every coefficient of the base model
comes from here. :func:`rareopt.solve` hands the arrays to HiGHS directly; :func:`rareopt.build`
wraps the same arrays in a Pyomo model (:mod:`rareopt.model.pyomo_view`) for users who add constraints of
their own; the discrete decisions (:mod:`rareopt.model.discrete`) and the scenarios
(:mod:`rareopt.model.two_stage`) go into the same builder.

Columns, in this order (each a :class:`~rareopt.model.lp.Block` of the layout's table):

- ``buy`` x[e,s,p], t bought (0 <= x <= capacity); ``concentrate`` q[s,k,p], t of concentrate
  (0 <= q <= capacity). Together they are the *supply* columns: column ``pos`` of
  ``layout.supply``.
- ``stock`` h[e,p] (0 <= h <= stock capacity), ``unmet`` u[e,p] (0 <= u <= demand), ``shortfall``
  v[e,p] (0 <= v <= target where there is a soft target, else 0), ``bought`` X[e,p] (>= 0),
  ``surplus`` r[e,p] (>= 0, where a concentrate brings e).

Rows: ``purchases`` sum coef x - X = 0; ``surplus_limit`` r - sum share q <= 0; ``balance``
X + h[p-1] - h + u - r = d - h0; ``stock_target`` h + v >= target; ``country_cap``,
``supplier_cap``, ``group_cap`` sum_{s in g} coef x - kappa X <= 0 and ``group_floor`` (>= 0),
with X summed over the periods for caps over the horizon.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from rareopt.inputs.markets import contract_unit_prices
from rareopt.inputs.stages import ANY_STAGE
from rareopt.inputs.tables import ALL
from rareopt.model.discrete import add_discrete_families
from rareopt.model.layout import ModelLayout, stage_cap_groups, stage_source
from rareopt.model.lp import LinearProgram, LPBuilder
from rareopt.model.priorities import add_goal_rows, goals_in_order

__all__ = [
    "COST_KINDS",
    "totals_by_kind",
    "assemble",
    "base_builder",
    "risk_penalty_costs",
    "purchase_costs",
    "share_coefficients",
    "target_bounds",
    "ep_index",
    "COST_TERMS",
    "COLUMN_FAMILIES",
    "ROW_FAMILIES",
    "STAGE_COLUMNS",
    "STAGE_ROWS",
]

COST_TERMS = (
    "purchase_cost",
    "contract_cost",
    "capital_cost",
    "holding_cost",
    "risk_penalty",
    "shortage_penalty",
    "target_penalty",
    "surplus_cost",
    "processing_cost",
    "response_cost",
)
"""The objective's terms (USD), reported separately."""

COST_KINDS = {
    "purchase_cost": "spend",
    "contract_cost": "spend",
    "capital_cost": "spend",
    "holding_cost": "spend",
    "surplus_cost": "spend",
    "processing_cost": "spend",
    "response_cost": "spend",
    "risk_penalty": "penalty",
    "shortage_penalty": "penalty",
    "target_penalty": "penalty",
    "expected_recourse": "recourse",
    "risk_measure": "recourse",
}
"""What each objective term is: ``spend`` is money paid (purchases with freight, contract fees,
capital, holding; surplus sold is negative spend); ``penalty`` is a price put on an outcome, not a
payment (unmet demand, stock below target, the supplier-risk penalty); ``recourse`` is a two-stage
model's expected recourse and its weighted CVaR, each a mix of spend and penalties per scenario
(``result.scenarios`` splits them)."""


def totals_by_kind(cost_terms: Mapping[str, float]) -> dict[str, float]:
    """The objective's terms summed by kind (:data:`COST_KINDS`): spend, penalty (and recourse).

    Examples
    --------
    >>> totals_by_kind({"purchase_cost": 10.0, "holding_cost": 2.0, "shortage_penalty": 5.0})
    {'spend': 12.0, 'penalty': 5.0}
    """
    totals = {"spend": 0.0, "penalty": 0.0}
    for term, value in cost_terms.items():
        kind = COST_KINDS[term]
        totals[kind] = totals.get(kind, 0.0) + float(value)
    return totals


_EP = ("element", "period")
COLUMN_FAMILIES = {
    "buy": ("buy", ("element", "supplier", "period")),
    "concentrate": ("concentrate", ("supplier", "product", "period")),
    "route": ("route", ("element", "supplier", "route", "period")),
    "stock": ("element_period", _EP),
    "unmet": ("element_period", _EP),
    "shortfall": ("element_period", _EP),
    "bought": ("element_period", _EP),
    "surplus": ("surplus", _EP),
    "unused": ("take_or_pay", ("element", "supplier", "period")),
    "response": ("response", ("element", "response", "period")),
}
"""Column families, in column order: name -> (the layout table listing the members, key columns)."""

ROW_FAMILIES = {
    "purchases": ("element_period", _EP),
    "surplus_limit": ("surplus", _EP),
    "balance": ("element_period", _EP),
    "stock_target": ("stock_targets", _EP),
    "country_cap": ("country_caps", ("element", "country", "period")),
    "supplier_cap": ("supplier_caps", ("element", "supplier", "period")),
    "group_cap": ("group_caps", ("element", "group", "period")),
    "group_floor": ("group_floors", ("element", "group", "period")),
    "take_or_pay": ("take_or_pay", ("element", "supplier", "period")),
    "demand_room": ("element_period", _EP),
    "response_sticky": ("response", ("element", "response", "period")),
}
"""Row families, in row order: name -> (the layout table listing the rows, key columns)."""

STAGE_COLUMNS = ("stage_total",)
"""Column families processing stages add (besides ``route``, a base family)."""
STAGE_ROWS = ("routing", "facility_capacity", "stage_tonnes", "stage_cap")
"""Row families processing stages add (each only where the portfolio needs it)."""

_Terms = tuple[ArrayLike, ArrayLike, ArrayLike]
_Triplets = tuple[np.ndarray, np.ndarray, np.ndarray]


def ep_index(layout: ModelLayout, frame: pd.DataFrame) -> np.ndarray:
    """Row of ``element_period`` for each (element, period) of ``frame`` (-1 where none).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> layout = make_layout(load_example("tiny"))
    >>> ep_index(layout, pd.DataFrame({"element": ["Dy", "Nd"], "period": ["P1", "P3"]})).tolist()
    [3, 2]
    """
    portfolio = layout.portfolio
    n_periods = len(portfolio.period_labels)
    ep = layout.element_period

    def flat(table: pd.DataFrame) -> np.ndarray:
        e = pd.Categorical(table["element"], categories=portfolio.elements).codes.astype(np.int64)
        p = pd.Categorical(table["period"], categories=portfolio.period_labels).codes
        return e * n_periods + p

    lookup = np.full(len(portfolio.elements) * n_periods, -1, dtype=np.int64)
    lookup[flat(ep)] = np.arange(len(ep))
    return lookup[flat(frame)]


def _share_terms(
    layout: ModelLayout,
    rows: pd.DataFrame,
    source: pd.DataFrame,
    key: str,
    bought: int,
    floor: bool,
) -> tuple[_Triplets, _Triplets]:
    """Terms of share rows: the group's supply (coef) and -share x the element's total purchases.

    Rows and supply are matched on integer codes of (element, holder[, period]): one cap row per
    code, so a dense lookup finds each supply row's cap row.
    """
    portfolio = layout.portfolio
    n_p = len(portfolio.period_labels)
    horizon = len(rows) > 0 and bool(rows["period"].eq(ALL).all())
    share = rows["min_share" if floor else "max_share"].to_numpy(float)
    n_h: Any  # the holders' labels, then their number
    holders, n_h = pd.factorize(pd.concat([rows[key], source[key]], ignore_index=True))
    row_h, source_h = holders[: len(rows)], holders[len(rows) :]
    n_h = len(n_h)

    def cell(frame: pd.DataFrame, h: np.ndarray) -> np.ndarray:
        element = pd.Categorical(frame["element"], categories=portfolio.elements).codes
        code = element.astype(np.int64) * n_h + h
        if horizon:
            return code
        period = pd.Categorical(frame["period"], categories=portfolio.period_labels).codes
        return code * n_p + period

    row_of = np.full(len(portfolio.elements) * n_h * (1 if horizon else n_p), -1, dtype=np.int64)
    row_of[cell(rows, row_h)] = np.arange(len(rows))
    hit = row_of[cell(source, source_h)]
    mine = hit >= 0
    supply_terms = (
        hit[mine],
        source["pos"].to_numpy()[mine],
        source["coef"].to_numpy(float)[mine],
    )
    # Total purchases X of the row's element: in its period, or in every period (the horizon).
    if horizon:
        each = np.repeat(np.arange(len(rows)), n_p)
        every_period = pd.DataFrame(
            {
                "element": rows["element"].to_numpy(object)[each],
                "period": np.tile(np.asarray(portfolio.period_labels, dtype=object), len(rows)),
            }
        )
        cols = ep_index(layout, every_period)
    else:
        each, cols = np.arange(len(rows)), ep_index(layout, rows)
    return supply_terms, (each, bought + cols, -share[each])


def assemble(layout: ModelLayout) -> LinearProgram:
    """The base sourcing LP of ``layout`` as HiGHS's arrays, with its column and row families.

    Parameters
    ----------
    layout : ModelLayout
        From :func:`rareopt.model.layout.make_layout`.

    Returns
    -------
    LinearProgram
        With ``col_blocks`` / ``row_blocks`` for every family of :data:`COLUMN_FAMILIES` and
        :data:`ROW_FAMILIES` and ``cost_terms`` for each of :data:`COST_TERMS` (USD per unit).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> lp = assemble(make_layout(load_example("tiny")))
    >>> lp.matrix.shape == (len(lp.row_lower), len(lp.cost))
    True
    >>> lp.row_blocks["balance"].keys()[0]
    ('Nd', 'P1')
    """
    builder, terms = base_builder(layout)
    return builder.build(terms)


def base_builder(layout: ModelLayout) -> tuple[LPBuilder, dict[str, np.ndarray]]:
    """The base model's columns and rows in a :class:`LPBuilder`, and its cost terms.

    The two-stage model (:mod:`rareopt.model.two_stage`) goes on adding its scenarios' families.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> builder, terms = base_builder(make_layout(load_example("tiny")))
    >>> builder.start["stock"], sorted(terms)[:2]
    (18, ['capital_cost', 'contract_cost'])
    """
    portfolio, policy = layout.portfolio, layout.portfolio.policy
    buy, conc, ep = layout.buy, layout.concentrate, layout.element_period
    supply, surplus, targets = layout.supply, layout.surplus, layout.stock_targets
    n_ep, n_supply = len(ep), len(buy) + len(conc)
    b = LPBuilder()

    def columns(name: str, upper: ArrayLike) -> int:
        table, key = COLUMN_FAMILIES[name]
        return b.columns(name, getattr(layout, table), key, 0.0, upper)

    def rows(name: str, lower: ArrayLike, upper: ArrayLike, *terms: _Terms) -> None:
        table, key = ROW_FAMILIES[name]
        b.rows(name, getattr(layout, table), key, lower, upper, *terms)

    # A shortfall column is free only where a soft target exists, and never exceeds the target
    # (stock is not negative). The bound changes no optimum; it keeps the LP bounded when a
    # decomposition prices shortfall (PH's Lagrangian subproblems put a multiplier on it).
    shortfall_room = np.zeros(n_ep)
    if not policy.hard_stock_targets:
        shortfall_room[targets["ep"].to_numpy()] = targets["target_t"].to_numpy(float)
    columns("buy", buy["capacity_t"].to_numpy(float))
    columns("concentrate", conc["capacity_t"].to_numpy(float))
    route_col = columns("route", np.inf)
    stock = columns("stock", ep["stock_capacity_t"].to_numpy(float))
    unmet = columns("unmet", 0.0 if policy.hard_demand else ep["demand_t"].to_numpy(float))
    shortfall = columns("shortfall", shortfall_room)
    bought = columns("bought", np.inf)
    surplus_col = columns("surplus", np.inf)
    unused = columns("unused", np.inf)
    response = layout.response
    response_col = columns("response", response["limit_t"].to_numpy(float))
    top = layout.take_or_pay
    top_buy = top["buy"].to_numpy(np.int64)

    terms = {name: np.zeros(b.n_cols) for name in COST_TERMS}
    terms["purchase_cost"][:n_supply] = np.concatenate(
        [buy["unit_cost_usd_per_t"], conc["unit_cost_usd_per_t"]]
    )
    terms["risk_penalty"][:n_supply] = policy.risk_weight_usd_per_t * np.concatenate(
        [buy["risk_score"], conc["risk_score"]]
    )
    terms["holding_cost"][stock : stock + n_ep] = ep["holding_usd_per_t"].to_numpy(float)
    terms["shortage_penalty"][unmet : unmet + n_ep] = policy.shortage_penalty_usd_per_t
    penalty = ep["shortfall_penalty_usd_per_t"].to_numpy(float)
    terms["target_penalty"][shortfall : shortfall + n_ep] = np.where(
        shortfall_room > 0, penalty, 0.0
    )
    fees = layout.route["fee_usd_per_t"].to_numpy(float)
    terms["processing_cost"][route_col : route_col + len(fees)] = fees
    salvage = policy.salvage_usd_per_t
    terms["surplus_cost"][surplus_col : surplus_col + len(surplus)] = [
        -salvage.get(e, 0.0) for e in surplus["element"]
    ]
    terms["response_cost"][response_col : response_col + len(response)] = response[
        "cost_usd_per_t"
    ].to_numpy(float)
    # Tonnes paid for under a take-or-pay minimum but not bought cost the contract's price.
    terms["purchase_cost"][unused : unused + len(top)] = buy["unit_cost_usd_per_t"].to_numpy(float)[
        top_buy
    ]

    every = np.arange(n_ep)
    rows(
        "purchases",
        0.0,
        0.0,
        (ep_index(layout, supply), supply["pos"].to_numpy(), supply["coef"].to_numpy(float)),
        (every, bought + every, -1.0),
    )
    bundled = supply[supply["source"].to_numpy() == "concentrate"]
    surplus_of_ep = np.full(n_ep, -1, dtype=np.int64)
    surplus_of_ep[surplus["ep"].to_numpy()] = np.arange(len(surplus))
    rows(
        "surplus_limit",
        -np.inf,
        0.0,
        (np.arange(len(surplus)), surplus_col + np.arange(len(surplus)), 1.0),
        (
            surplus_of_ep[ep_index(layout, bundled)],
            bundled["pos"].to_numpy(),
            -bundled["coef"].to_numpy(float),
        ),
    )
    carried = np.flatnonzero(ep["period"].to_numpy() != portfolio.period_labels[0])
    rhs = ep[["demand_t", "initial_t", "arriving_t"]].to_numpy(float) @ np.array([1.0, -1.0, -1.0])
    rows(
        "balance",
        rhs,
        rhs,
        (every, bought + every, 1.0),
        (every, unmet + every, 1.0),
        (every, stock + every, -1.0),
        (carried, stock + carried - 1, 1.0),
        (surplus["ep"].to_numpy(), surplus_col + np.arange(len(surplus)), -1.0),
        # Demand cut or scrap recovered stands in for tonnes bought.
        (response["ep"].to_numpy(), response_col + np.arange(len(response)), 1.0),
    )
    at = targets["ep"].to_numpy()
    rows(
        "stock_target",
        targets["target_t"].to_numpy(float),
        np.inf,
        (np.arange(len(at)), stock + at, 1.0),
        (np.arange(len(at)), shortfall + at, 1.0),
    )
    share_entries: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, source in (
        ("country_cap", supply),
        ("supplier_cap", supply),
        ("group_cap", layout.group_buy),
        ("group_floor", layout.group_buy),
    ):
        table, (_, holder, _) = ROW_FAMILIES[name]
        floor = name == "group_floor"
        low, high = (0.0, np.inf) if floor else (-np.inf, 0.0)
        supply_terms, total_terms = _share_terms(
            layout, getattr(layout, table), source, holder, bought, floor
        )
        rows(name, low, high, supply_terms, total_terms)
        share_entries[name] = (total_terms[0], total_terms[1])
    # A take-or-pay minimum is paid whether taken or not: x + unused >= minimum.
    rows(
        "take_or_pay",
        top["minimum_t"].to_numpy(float),
        np.inf,
        (np.arange(len(top)), top_buy, 1.0),
        (np.arange(len(top)), unused + np.arange(len(top)), 1.0),
    )
    _response_rows(b, layout, unmet, response_col)
    share_entries.update(_stage_families(b, layout, bought))
    add_discrete_families(b, layout, terms, bought)
    goals = goals_in_order(policy)
    if goals:
        upper = np.concatenate([hi for _, hi, _ in b.col_parts])
        add_goal_rows(b, terms, upper, goals)
    # The coefficient maps a sweep edits (see the module docstring), located once here.
    risk_score = np.zeros(b.n_cols)
    risk_score[:n_supply] = np.concatenate([buy["risk_score"], conc["risk_score"]])
    b.parameters.update(
        purchase_cost=terms["purchase_cost"].copy(),
        buy_terms=layout.buy_terms,
        unused_columns=(unused + np.arange(len(top)), top_buy),
        risk_score=risk_score,
        share_entries=share_entries,
        target_rate_t_per_day=(ep["demand_t"] / ep["days"]).to_numpy(float)[
            targets["ep"].to_numpy()
        ],
        soft_targets=not policy.hard_stock_targets,
    )
    return b, terms


def _response_rows(b: LPBuilder, layout: ModelLayout, unmet: int, response_col: int) -> None:
    """``demand_room`` and ``response_sticky`` rows of the plan's demand response.

    Demand cut and demand left unmet together are at most the demand (else a cut beyond it would
    make stock from nothing); a sticky response never falls once made: its share of demand
    (cuts) or its tonnes (recycling) in a period are at least the period before's.
    """
    response, ep = layout.response, layout.element_period
    cut = response[response["cut"].to_numpy(bool)]
    rooms = np.unique(cut["ep"].to_numpy(np.int64))
    room_of = np.full(len(ep), -1, dtype=np.int64)
    room_of[rooms] = np.arange(len(rooms))
    b.rows(
        "demand_room",
        ep.iloc[rooms],
        _EP,
        -np.inf,
        ep["demand_t"].to_numpy(float)[rooms],
        (np.arange(len(rooms)), unmet + rooms, 1.0),
        (room_of[cut["ep"].to_numpy(np.int64)], response_col + cut.index.to_numpy(), 1.0),
    )
    rows, now, before, d_now, d_before = sticky_pairs(response, ep)
    key = ("element", "response", "period")
    n = len(rows)
    b.rows(
        "response_sticky",
        response.iloc[now],
        key,
        0.0,
        np.inf,
        (np.arange(n), response_col + now, d_before),
        (np.arange(n), response_col + before, -d_now),
    )


def sticky_pairs(
    response: pd.DataFrame, ep: pd.DataFrame, by: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Consecutive periods of each sticky response: (pairs, now, before, d_now, d_before).

    ``now`` and ``before`` are rows of ``response`` one period apart (of the same response, and
    the same ``by`` value: a scenario's); a cut's coefficients are the demands (c_now d_before -
    c_before d_now >= 0 keeps its share from falling), recycling's are 1 (its tonnes never fall).
    """
    labels = list(dict.fromkeys(ep["period"]))
    period = pd.Categorical(response["period"], categories=labels).codes.astype(np.int64)
    same = response["response"].to_numpy(object)[1:] == response["response"].to_numpy(object)[:-1]
    if by is not None:
        group = response[by].to_numpy()
        same &= group[1:] == group[:-1]
    same &= period[1:] == period[:-1] + 1
    same &= response["sticky"].to_numpy(bool)[1:]
    now = np.flatnonzero(same) + 1
    before = now - 1
    demand = ep["demand_t"].to_numpy(float)[response["ep"].to_numpy(np.int64)]
    cut = response["cut"].to_numpy(bool)[now]
    d_now = np.where(cut, demand[now], 1.0)
    d_before = np.where(cut, demand[before], 1.0)
    return np.arange(len(now)), now, before, d_now, d_before


def _stage_families(
    b: LPBuilder, layout: ModelLayout, bought: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Routes, facilities and stage caps (``docs/formulation.md``, "Processing stages").

    ``routing[e, s, p]``: a converted purchase goes down its routes (sum of route - buy = 0);
    ``facility_capacity[facility, p]``: the output of every route through a facility within its
    capacity; ``stage_total[stage, e, p]`` (columns) with ``stage_tonnes`` rows: the element's
    tonnes at a capped stage; ``stage_cap[e, stage, by, holder, p]``: a country's, supplier's or
    group's tonnes at the stage within its share of the stage's total (of total purchases X for
    stage ``any``). Returns the
    stage caps' share entries, for sweeps.
    """
    route, buy = layout.route, layout.buy
    first_route = b.start["route"]
    if len(route):
        converted, at = np.unique(route["buy"].to_numpy(np.int64), return_inverse=True)
        frame = buy.iloc[converted][["element", "supplier", "period"]].reset_index(drop=True)
        b.rows(
            "routing",
            frame,
            ("element", "supplier", "period"),
            0.0,
            0.0,
            (at, first_route + np.arange(len(route)), 1.0),
            (np.arange(len(converted)), converted, -1.0),
        )
    use = layout.facility_use
    if len(layout.facility_periods):
        b.rows(
            "facility_capacity",
            layout.facility_periods[["facility", "period"]],
            ("facility", "period"),
            -np.inf,
            layout.facility_periods["capacity_t"].to_numpy(float),
            (use["row"].to_numpy(), use["pos"].to_numpy(), use["coef"].to_numpy(float)),
        )
    caps = layout.stage_caps
    if caps.empty:
        return {}
    ep, n_ep = layout.element_period, len(layout.element_period)
    capped = [s for s in dict.fromkeys(caps["stage"]) if s != ANY_STAGE]
    totals = pd.concat(
        [pd.DataFrame(columns=["element", "period"])]
        + [ep[["element", "period"]].assign(stage=s) for s in capped],
        ignore_index=True,
    ).reindex(columns=["stage", "element", "period"])
    first_total = b.columns(
        "stage_total",
        totals[["stage", "element", "period"]],
        ("stage", "element", "period"),
        0.0,
        np.inf,
    )
    tonnes: list[_Terms] = []
    for k, stage in enumerate(capped):
        source = stage_source(layout.stage_supply, stage)
        tonnes += [
            (
                k * n_ep + ep_index(layout, source),
                source["pos"].to_numpy(),
                source["coef"].to_numpy(float),
            ),
            (k * n_ep + np.arange(n_ep), first_total + k * n_ep + np.arange(n_ep), -1.0),
        ]
    if capped:
        b.rows(
            "stage_tonnes",
            totals[["stage", "element", "period"]],
            ("stage", "element", "period"),
            0.0,
            0.0,
            *tonnes,
        )
    supply_terms, total_terms, offset = [], [], 0
    ordered = []
    groups = stage_cap_groups(layout.portfolio.policy.stage_caps)
    for (name, by), rows in caps.groupby(["stage", "by"], sort=False):
        stage = str(name)
        total = bought if stage == ANY_STAGE else first_total + capped.index(stage) * n_ep
        source = stage_source(layout.stage_supply, stage, str(by), groups)
        mine, whole = _share_terms(
            layout, rows.reset_index(drop=True), source, "holder", total, False
        )
        supply_terms.append((mine[0] + offset, mine[1], mine[2]))
        total_terms.append((whole[0] + offset, whole[1], whole[2]))
        ordered.append(rows)
        offset += len(rows)
    frame = pd.concat(ordered, ignore_index=True)
    b.rows(
        "stage_cap",
        frame[["element", "stage", "by", "holder", "period", "max_share", "cap_element"]],
        ("element", "stage", "by", "holder", "period"),
        -np.inf,
        0.0,
        *supply_terms,
        *total_terms,
    )
    member = np.concatenate([t[0] for t in total_terms])
    column = np.concatenate([t[1] for t in total_terms])
    return {"stage_cap": (member, column)}


def risk_penalty_costs(lp: LinearProgram, weight_usd_per_t: float) -> np.ndarray:
    """The ``risk_penalty`` cost vector at another risk weight (USD/t per unit of risk score).

    Every supply column: purchases and concentrates alike.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> lp = assemble(make_layout(load_example("tiny")))
    >>> bool((risk_penalty_costs(lp, 0.0) == 0).all())
    True
    """
    return weight_usd_per_t * lp.parameters["risk_score"]


def purchase_costs(lp: LinearProgram, price_multiplier: np.ndarray) -> np.ndarray:
    """The ``purchase_cost`` vector with each purchase's market price scaled (freight is not).

    ``price_multiplier`` has one factor per ``buy`` column, in the family's order. Each purchase
    (and the tonnes a take-or-pay minimum pays for without buying) is priced under its contract's
    terms at that market (:func:`~rareopt.inputs.markets.contract_unit_prices`): a fixed-price
    contract's cost moves with its price as given, an indexed one's within its floor and cap.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> lp = assemble(make_layout(load_example("tiny")))
    >>> n = len(lp.col_blocks["buy"].positions)
    >>> bool((purchase_costs(lp, np.ones(n)) == lp.cost_terms["purchase_cost"]).all())
    True
    """
    cost = lp.parameters["purchase_cost"].copy()
    terms = lp.parameters["buy_terms"]
    # A sweep scales the offer's price as given, for any contract (what the portfolio at that
    # point says): the terms' pricing applies to the scaled price.
    scaled = terms.assign(price_usd_per_t=terms["price_usd_per_t"] * price_multiplier)
    unit = contract_unit_prices(scaled)
    cost[lp.col_blocks["buy"].positions] = unit
    columns, rows = lp.parameters["unused_columns"]
    cost[columns] = unit[rows]
    return cost


def share_coefficients(
    lp: LinearProgram, family: str, members: np.ndarray, share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matrix entries (rows, columns, values) that set share rows' share to ``share``.

    The -share coefficients on total purchases X of the ``members`` (a boolean mask over the
    family's rows) of ``country_cap``, ``supplier_cap``, ``group_cap`` or ``group_floor``.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> lp = assemble(make_layout(load_example("tiny")))
    >>> n = len(lp.row_blocks["country_cap"].positions)
    >>> rows, cols, values = share_coefficients(lp, "country_cap", np.ones(n, bool), 0.4)
    >>> sorted(set(values.tolist()))
    [-0.4]
    """
    member, column = lp.parameters["share_entries"][family]
    keep = np.asarray(members, dtype=bool)[member]
    rows = lp.row_blocks[family].positions[member[keep]]
    return rows, column[keep], np.full(int(keep.sum()), -float(share))


def target_bounds(
    lp: LinearProgram, members: np.ndarray, days: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stock targets of ``days`` of demand for the ``members`` of ``stock_target`` (a mask).

    Returns the rows and their lower bounds (target t = days x demand / period days), and the
    shortfall columns and their upper bounds (the target with soft targets, else 0); in a
    two-stage model also every scenario's ``scenario_target`` rows and ``scenario_shortfall``
    columns.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> lp = assemble(make_layout(load_example("tiny")))
    >>> n = len(lp.row_blocks["stock_target"].positions)
    >>> rows, lower, cols, upper = target_bounds(lp, np.ones(n, bool), 30.0)
    >>> len(rows) == n, bool((lower >= 0).all())
    (True, True)
    """
    members = np.asarray(members, dtype=bool)
    block = lp.row_blocks["stock_target"]
    target = days * lp.parameters["target_rate_t_per_day"][members]
    at = block.frame["ep"].to_numpy()[members]
    rows = [block.positions[members]]
    lower = [target]
    cols = [lp.col_blocks["shortfall"].positions[at]]
    upper = [target if lp.parameters["soft_targets"] else np.zeros(len(target))]
    if "scenario_target" in lp.row_blocks and len(members):
        # The same targets in every scenario (scenario-major, in the targets' order), always soft.
        n_w = len(lp.row_blocks["scenario_target"].positions) // len(members)
        each = np.tile(members, n_w)
        rows.append(lp.row_blocks["scenario_target"].positions[each])
        cols.append(lp.col_blocks["scenario_shortfall"].positions[each])
        lower.append(np.tile(target, n_w))
        upper.append(np.tile(target, n_w))
    return (
        np.concatenate(rows),
        np.concatenate(lower),
        np.concatenate(cols),
        np.concatenate(upper),
    )

"""The sourcing LP assembled straight into HiGHS's arrays from the layout, with NumPy.

This is the formulation of ``docs/formulation.md``, written once: every coefficient of the base model
comes from here. :func:`rareopt.solve` hands the arrays to HiGHS directly; :func:`rareopt.build`
wraps the same arrays in a Pyomo model (:mod:`rareopt.model`) for users who add constraints of
their own, and for the MIP and two-stage extensions that are written in Pyomo.

Columns, in this order (each a :class:`~rareopt.highs.Block` of the layout's table):

- ``buy`` x[e,s,p], t bought (0 <= x <= capacity); ``concentrate`` q[s,k,p], t of concentrate
  (0 <= q <= capacity). Together they are the *supply* columns: column ``pos`` of
  ``layout.supply``.
- ``stock`` h[e,p] (0 <= h <= stock capacity), ``unmet`` u[e,p] (0 <= u <= demand), ``shortfall``
  v[e,p] (>= 0 where there is a soft target, else 0), ``bought`` X[e,p] (>= 0), ``surplus``
  r[e,p] (>= 0, where a concentrate brings e).

Rows: ``purchases`` sum coef x - X = 0; ``surplus_limit`` r - sum share q <= 0; ``balance``
X + h[p-1] - h + u - r = d - h0; ``stock_target`` h + v >= target; ``country_cap``,
``supplier_cap``, ``group_cap`` sum_{s in g} coef x - kappa X <= 0 and ``group_floor`` (>= 0),
with X summed over the periods for caps over the horizon.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from rareopt.highs import Block, CompiledLP
from rareopt.layout import ModelLayout
from rareopt.validation import ALL

__all__ = ["assemble", "COST_TERMS", "COLUMN_FAMILIES", "ROW_FAMILIES"]

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
"""The objective's terms (USD), reported separately."""

_EP = ("element", "period")
COLUMN_FAMILIES = (
    ("buy", "buy", ("element", "supplier", "period")),
    ("concentrate", "concentrate", ("supplier", "product", "period")),
    ("stock", "element_period", _EP),
    ("unmet", "element_period", _EP),
    ("shortfall", "element_period", _EP),
    ("bought", "element_period", _EP),
    ("surplus", "surplus", _EP),
)
"""Column families: name, the layout table that lists the members, the key columns."""

ROW_FAMILIES = (
    ("purchases", "element_period", _EP),
    ("surplus_limit", "surplus", _EP),
    ("balance", "element_period", _EP),
    ("stock_target", "stock_targets", _EP),
    ("country_cap", "country_caps", ("element", "country", "period")),
    ("supplier_cap", "supplier_caps", ("element", "supplier", "period")),
    ("group_cap", "group_caps", ("element", "group", "period")),
    ("group_floor", "group_floors", ("element", "group", "period")),
)
"""Row families: name, the layout table that lists the rows, the key columns."""


class _Rows:
    """Triplets and bounds of the rows, appended family by family."""

    def __init__(self) -> None:
        self.n = 0
        self.entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.start: dict[str, int] = {}

    def add(self, name: str, count: int, lower, upper, *terms) -> None:
        """Rows ``name``: ``count`` of them; each term is (row in family, column, coefficient)."""
        self.start[name] = self.n
        for row, col, coef in terms:
            row, col = np.asarray(row, dtype=np.int64), np.asarray(col, dtype=np.int64)
            coef = np.broadcast_to(np.asarray(coef, dtype=float), row.shape)
            self.entries.append((row + self.n, col, coef))
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (count,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (count,)))
        self.n += count


def _ep_index(layout: ModelLayout, frame: pd.DataFrame) -> np.ndarray:
    """Row of ``element_period`` for each (element, period) of ``frame`` (-1 where none)."""
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
):
    """Terms of share rows: the group's supply (coef) and -share x the element's total purchases."""
    horizon = len(rows) > 0 and bool(rows["period"].eq(ALL).all())
    scope = ["element", key] if horizon else ["element", key, "period"]
    numbered = rows.assign(_row=np.arange(len(rows)))
    share_col = "min_share" if floor else "max_share"
    hit = numbered[[*scope, "_row"]].merge(source[[*scope, "pos", "coef"]], on=scope)
    ep = layout.element_period[["element", "period"]].assign(
        _col=bought + np.arange(len(layout.element_period))
    )
    total_on = ["element"] if horizon else ["element", "period"]
    totals = numbered[[*total_on, "_row", share_col]].merge(ep, on=total_on)
    return (
        (hit["_row"].to_numpy(), hit["pos"].to_numpy(), hit["coef"].to_numpy(float)),
        (totals["_row"].to_numpy(), totals["_col"].to_numpy(), -totals[share_col].to_numpy(float)),
    )


def assemble(layout: ModelLayout) -> CompiledLP:
    """The base sourcing LP of ``layout`` as HiGHS's arrays, with its column and row families.

    Parameters
    ----------
    layout : ModelLayout
        From :func:`rareopt.layout.make_layout`.

    Returns
    -------
    CompiledLP
        With ``col_blocks`` / ``row_blocks`` for every family of :data:`COLUMN_FAMILIES` and
        :data:`ROW_FAMILIES` and ``cost_terms`` for each of :data:`COST_TERMS` (USD per unit).

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> from rareopt.layout import make_layout
    >>> lp = assemble(make_layout(load_example("tiny")))
    >>> lp.matrix.shape == (len(lp.row_lower), len(lp.cost))
    True
    >>> lp.row_blocks["balance"].keys()[0]
    ('Nd', 'P1')
    """
    portfolio, policy = layout.portfolio, layout.portfolio.policy
    buy, conc, ep = layout.buy, layout.concentrate, layout.element_period
    supply, surplus, targets = layout.supply, layout.surplus, layout.stock_targets
    n_ep = len(ep)
    sizes = {
        "buy": len(buy),
        "concentrate": len(conc),
        "stock": n_ep,
        "unmet": n_ep,
        "shortfall": n_ep,
        "bought": n_ep,
        "surplus": len(surplus),
    }
    col_start, n_cols = {}, 0
    for name, _, _ in COLUMN_FAMILIES:
        col_start[name] = n_cols
        n_cols += sizes[name]
    stock, unmet = col_start["stock"], col_start["unmet"]
    shortfall, bought, surplus_col = (
        col_start["shortfall"],
        col_start["bought"],
        col_start["surplus"],
    )

    # Bounds. A shortfall column is free only where a soft target exists.
    soft = np.zeros(n_ep, dtype=bool)
    if not policy.hard_stock_targets:
        soft[targets["ep"].to_numpy()] = True
    lower = np.zeros(n_cols)
    upper = np.concatenate(
        [
            buy["capacity_t"].to_numpy(float),
            conc["capacity_t"].to_numpy(float),
            ep["stock_capacity_t"].to_numpy(float),
            ep["demand_t"].to_numpy(float),
            np.where(soft, np.inf, 0.0),
            np.full(n_ep, np.inf),
            np.full(len(surplus), np.inf),
        ]
    )

    # Cost terms, each a vector over all columns.
    n_supply = len(buy) + len(conc)
    unit_cost = np.concatenate([buy["unit_cost_usd_per_t"], conc["unit_cost_usd_per_t"]])
    risk = np.concatenate([buy["risk_score"], conc["risk_score"]]) * policy.risk_weight_usd_per_t
    terms = {name: np.zeros(n_cols) for name in COST_TERMS}
    terms["purchase_cost"][:n_supply] = unit_cost
    terms["risk_penalty"][:n_supply] = risk
    terms["holding_cost"][stock : stock + n_ep] = ep["holding_usd_per_t"].to_numpy(float)
    terms["shortage_penalty"][unmet : unmet + n_ep] = policy.shortage_penalty_usd_per_t
    penalty = ep["shortfall_penalty_usd_per_t"].to_numpy(float)
    terms["target_penalty"][shortfall : shortfall + n_ep] = np.where(soft, penalty, 0.0)
    salvage = policy.salvage_usd_per_t
    terms["surplus_cost"][surplus_col:] = [-salvage.get(e, 0.0) for e in surplus["element"]]

    rows = _Rows()
    supply_ep = _ep_index(layout, supply)
    every = np.arange(n_ep)
    rows.add(
        "purchases",
        n_ep,
        0.0,
        0.0,
        (supply_ep, supply["pos"].to_numpy(), supply["coef"].to_numpy(float)),
        (every, bought + every, -1.0),
    )
    bundled = supply[supply["pos"].to_numpy() >= len(buy)]
    surplus_of_ep = np.full(n_ep, -1, dtype=np.int64)
    surplus_of_ep[surplus["ep"].to_numpy()] = np.arange(len(surplus))
    rows.add(
        "surplus_limit",
        len(surplus),
        -np.inf,
        0.0,
        (np.arange(len(surplus)), surplus_col + np.arange(len(surplus)), 1.0),
        (
            surplus_of_ep[_ep_index(layout, bundled)],
            bundled["pos"].to_numpy(),
            -bundled["coef"].to_numpy(float),
        ),
    )
    first = ep["period"].to_numpy() == portfolio.period_labels[0]
    carried = np.flatnonzero(~first)
    rhs = ep["demand_t"].to_numpy(float) - ep["initial_t"].to_numpy(float)
    rows.add(
        "balance",
        n_ep,
        rhs,
        rhs,
        (every, bought + every, 1.0),
        (every, unmet + every, 1.0),
        (every, stock + every, -1.0),
        (carried, stock + carried - 1, 1.0),
        (surplus["ep"].to_numpy(), surplus_col + np.arange(len(surplus)), -1.0),
    )
    at = targets["ep"].to_numpy()
    rows.add(
        "stock_target",
        len(targets),
        targets["target_t"].to_numpy(float),
        np.inf,
        (np.arange(len(at)), stock + at, 1.0),
        (np.arange(len(at)), shortfall + at, 1.0),
    )
    for name, table, key, source, floor in (
        ("country_cap", layout.country_caps, "country", supply, False),
        ("supplier_cap", layout.supplier_caps, "supplier", supply, False),
        ("group_cap", layout.group_caps, "group", layout.group_buy, False),
        ("group_floor", layout.group_floors, "group", layout.group_buy, True),
    ):
        terms_of = _share_terms(layout, table, source, key, bought, floor)
        low, high = (0.0, np.inf) if floor else (-np.inf, 0.0)
        rows.add(name, len(table), low, high, *terms_of)

    row, col, coef = (np.concatenate(part) for part in zip(*rows.entries))
    matrix = sp.csc_matrix((coef, (row, col)), shape=(rows.n, n_cols))
    matrix.sum_duplicates()
    col_blocks = {
        name: Block(getattr(layout, table), key, col_start[name] + np.arange(sizes[name]))
        for name, table, key in COLUMN_FAMILIES
    }
    row_blocks = {}
    for name, table, key in ROW_FAMILIES:
        frame = getattr(layout, table)
        row_blocks[name] = Block(frame, key, rows.start[name] + np.arange(len(frame)))
    return CompiledLP(
        cost=sum(terms.values()),
        offset=0.0,
        matrix=matrix,
        col_lower=lower,
        col_upper=upper,
        row_lower=np.concatenate(rows.lower),
        row_upper=np.concatenate(rows.upper),
        integrality=np.zeros(n_cols, dtype=np.int32),
        col_blocks=col_blocks,
        row_blocks=row_blocks,
        cost_terms=terms,
    )

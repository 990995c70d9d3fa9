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
  v[e,p] (0 <= v <= target where there is a soft target, else 0), ``bought`` X[e,p] (>= 0),
  ``surplus`` r[e,p] (>= 0, where a concentrate brings e).

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

__all__ = [
    "assemble",
    "base_builder",
    "LPBuilder",
    "triplets",
    "ep_index",
    "COST_TERMS",
    "COLUMN_FAMILIES",
    "ROW_FAMILIES",
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
)
"""The objective's terms (USD), reported separately."""

_EP = ("element", "period")
COLUMN_FAMILIES = {
    "buy": ("buy", ("element", "supplier", "period")),
    "concentrate": ("concentrate", ("supplier", "product", "period")),
    "stock": ("element_period", _EP),
    "unmet": ("element_period", _EP),
    "shortfall": ("element_period", _EP),
    "bought": ("element_period", _EP),
    "surplus": ("surplus", _EP),
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
}
"""Row families, in row order: name -> (the layout table listing the rows, key columns)."""


def triplets(*terms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenated (row, column, coefficient) arrays of terms; a scalar coefficient is repeated.

    Examples
    --------
    >>> [a.tolist() for a in triplets(([0, 1], [2, 3], 1.0), ([1], [0], [-2.0]))]
    [[0, 1, 1], [2, 3, 0], [1.0, 1.0, -2.0]]
    """
    rows, cols, coefs = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
    for row, col, coef in terms:
        row = np.asarray(row, dtype=np.int64)
        rows.append(row)
        cols.append(np.broadcast_to(np.asarray(col, dtype=np.int64), row.shape))
        coefs.append(np.broadcast_to(np.asarray(coef, dtype=float), row.shape))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(coefs)


class LPBuilder:
    """Columns and rows added family by family, then made into one :class:`CompiledLP`.

    Examples
    --------
    >>> import pandas as pd
    >>> b = LPBuilder()
    >>> x = b.columns("x", pd.DataFrame({"i": [1, 2]}), ("i",), 0.0, 4.0, cost=[1.0, 2.0])
    >>> b.rows("sum", pd.DataFrame({"i": [0]}), ("i",), 3.0, np.inf, ([0, 0], [x, x + 1], 1.0))
    >>> lp = b.build()
    >>> lp.matrix.toarray().tolist(), lp.row_lower.tolist()
    ([[1.0, 1.0]], [3.0])
    """

    def __init__(self) -> None:
        self.n_cols = 0
        self.n_rows = 0
        self.entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.col_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.row_parts: list[tuple[np.ndarray, np.ndarray]] = []
        self.col_blocks: dict[str, Block] = {}
        self.row_blocks: dict[str, Block] = {}
        self.start: dict[str, int] = {}

    def columns(self, name: str, frame: pd.DataFrame, key: tuple, lower, upper, cost=0.0) -> int:
        """Add one column per row of ``frame``; return the first column's index."""
        start, count = self.n_cols, len(frame)

        def full(v):
            return np.broadcast_to(np.asarray(v, dtype=float), (count,))

        self.col_parts.append((full(lower), full(upper), full(cost)))
        self.col_blocks[name] = Block(frame, key, start + np.arange(count))
        self.start[name] = start
        self.n_cols += count
        return start

    def rows(self, name: str, frame: pd.DataFrame, key: tuple, lower, upper, *terms) -> None:
        """Add one row per row of ``frame``; each term is (row in family, column, coefficient)."""
        count = len(frame)
        row, col, coef = triplets(*terms)
        self.entries.append((row + self.n_rows, col, coef))
        self.row_parts.append(
            (
                np.broadcast_to(np.asarray(lower, dtype=float), (count,)),
                np.broadcast_to(np.asarray(upper, dtype=float), (count,)),
            )
        )
        self.row_blocks[name] = Block(frame, key, self.n_rows + np.arange(count))
        self.n_rows += count

    def build(self, cost_terms: dict | None = None) -> CompiledLP:
        """The LP: cost = the columns' own + the sum of ``cost_terms``.

        Each cost term is a vector over a first part of the columns, padded with zeros.
        """
        lower, upper, cost = (np.concatenate(part) for part in zip(*self.col_parts))
        row, col, coef = triplets(*self.entries)
        matrix = sp.csc_matrix((coef, (row, col)), shape=(self.n_rows, self.n_cols))
        matrix.sum_duplicates()
        terms = None
        if cost_terms is not None:
            terms = {
                k: np.concatenate([v, np.zeros(self.n_cols - len(v))])
                for k, v in cost_terms.items()
            }
            cost = cost + sum(terms.values())
        return CompiledLP(
            cost=np.array(cost),
            offset=0.0,
            matrix=matrix,
            col_lower=np.array(lower),
            col_upper=np.array(upper),
            row_lower=np.concatenate([lo for lo, _ in self.row_parts]),
            row_upper=np.concatenate([hi for _, hi in self.row_parts]),
            integrality=np.zeros(self.n_cols, dtype=np.int32),
            col_blocks=self.col_blocks,
            row_blocks=self.row_blocks,
            cost_terms=terms,
        )


def ep_index(layout: ModelLayout, frame: pd.DataFrame) -> np.ndarray:
    """Row of ``element_period`` for each (element, period) of ``frame`` (-1 where none).

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> from rareopt.layout import make_layout
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
):
    """Terms of share rows: the group's supply (coef) and -share x the element's total purchases.

    Rows and supply are matched on integer codes of (element, holder[, period]): one cap row per
    code, so a dense lookup finds each supply row's cap row.
    """
    portfolio = layout.portfolio
    n_p = len(portfolio.period_labels)
    horizon = len(rows) > 0 and bool(rows["period"].eq(ALL).all())
    share = rows["min_share" if floor else "max_share"].to_numpy(float)
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
    builder, terms = base_builder(layout)
    return builder.build(terms)


def base_builder(layout: ModelLayout) -> tuple[LPBuilder, dict[str, np.ndarray]]:
    """The base model's columns and rows in a :class:`LPBuilder`, and its cost terms.

    The two-stage model (:mod:`rareopt.two_stage`) goes on adding its scenarios' families.

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> from rareopt.layout import make_layout
    >>> builder, terms = base_builder(make_layout(load_example("tiny")))
    >>> builder.start["stock"], sorted(terms)[:2]
    (18, ['capital_cost', 'contract_cost'])
    """
    portfolio, policy = layout.portfolio, layout.portfolio.policy
    buy, conc, ep = layout.buy, layout.concentrate, layout.element_period
    supply, surplus, targets = layout.supply, layout.surplus, layout.stock_targets
    n_ep, n_supply = len(ep), len(buy) + len(conc)
    b = LPBuilder()

    def columns(name: str, upper) -> int:
        table, key = COLUMN_FAMILIES[name]
        return b.columns(name, getattr(layout, table), key, 0.0, upper)

    def rows(name: str, lower, upper, *terms) -> None:
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
    stock = columns("stock", ep["stock_capacity_t"].to_numpy(float))
    unmet = columns("unmet", ep["demand_t"].to_numpy(float))
    shortfall = columns("shortfall", shortfall_room)
    bought = columns("bought", np.inf)
    surplus_col = columns("surplus", np.inf)

    terms = {name: np.zeros(b.n_cols) for name in COST_TERMS}
    terms["purchase_cost"][:n_supply] = np.concatenate(
        [buy["unit_cost_usd_per_t"], conc["unit_cost_usd_per_t"]]
    )
    terms["risk_penalty"][:n_supply] = (
        np.concatenate([buy["risk_score"], conc["risk_score"]]) * policy.risk_weight_usd_per_t
    )
    terms["holding_cost"][stock : stock + n_ep] = ep["holding_usd_per_t"].to_numpy(float)
    terms["shortage_penalty"][unmet : unmet + n_ep] = policy.shortage_penalty_usd_per_t
    penalty = ep["shortfall_penalty_usd_per_t"].to_numpy(float)
    terms["target_penalty"][shortfall : shortfall + n_ep] = np.where(
        shortfall_room > 0, penalty, 0.0
    )
    salvage = policy.salvage_usd_per_t
    terms["surplus_cost"][surplus_col:] = [-salvage.get(e, 0.0) for e in surplus["element"]]

    every = np.arange(n_ep)
    rows(
        "purchases",
        0.0,
        0.0,
        (ep_index(layout, supply), supply["pos"].to_numpy(), supply["coef"].to_numpy(float)),
        (every, bought + every, -1.0),
    )
    bundled = supply[supply["pos"].to_numpy() >= len(buy)]
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
    rhs = ep["demand_t"].to_numpy(float) - ep["initial_t"].to_numpy(float)
    rows(
        "balance",
        rhs,
        rhs,
        (every, bought + every, 1.0),
        (every, unmet + every, 1.0),
        (every, stock + every, -1.0),
        (carried, stock + carried - 1, 1.0),
        (surplus["ep"].to_numpy(), surplus_col + np.arange(len(surplus)), -1.0),
    )
    at = targets["ep"].to_numpy()
    rows(
        "stock_target",
        targets["target_t"].to_numpy(float),
        np.inf,
        (np.arange(len(at)), stock + at, 1.0),
        (np.arange(len(at)), shortfall + at, 1.0),
    )
    for name, source in (
        ("country_cap", supply),
        ("supplier_cap", supply),
        ("group_cap", layout.group_buy),
        ("group_floor", layout.group_buy),
    ):
        table, (_, holder, _) = ROW_FAMILIES[name]
        floor = name == "group_floor"
        low, high = (0.0, np.inf) if floor else (-np.inf, 0.0)
        rows(
            name,
            low,
            high,
            *_share_terms(layout, getattr(layout, table), source, holder, bought, floor),
        )
    return b, terms

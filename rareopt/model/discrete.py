"""The discrete decisions as integer column families of the one LP builder.

Added by :func:`rareopt.model.formulation.base_builder` when the portfolio asks for them; they make
the model a MIP whose integrality is handed to HiGHS. Symbols of ``docs/formulation.md``:

- ``contract[e, s]`` in {0, 1}: the offer of s for e is contracted; every purchase needs it
  (``contract_link[e, s, p]``: x - M contract <= 0) and it costs ``contract_usd_per_year`` times
  the horizon in years (cost term ``contract_cost``);
- ``order[e, s, p]`` in {0, 1} for offers with a minimum order: ``min_order[e, s, p]``:
  x - minimum order >= 0 and ``order_link[e, s, p]``: x - M order <= 0 (buy nothing or at least
  the minimum), ``order_contract[e, s, p]``: order - contract <= 0;
- ``supplier_count[e]``: sum_s contract <= the policy's maximum;
- ``country_used[e, c]`` in {0, 1} with ``country_floor[e, c]``: the country's purchases over the
  horizon >= floor share x the element's, when used; ``country_count[e]``: sum_c used >= minimum;
- ``invest[s, t]`` in {0, 1}: project s starts construction in period t (``project_start[s]``:
  at most once), paying its capital discounted to the horizon's start (cost term
  ``capital_cost``); ``project_capacity[kind, item, s, p]``: x (or the concentrate) <=
  capacity x sum_t online(p - t) invest[s, t].

M is the offer's capacity where it is finite, else :func:`big_m`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from rareopt.inputs.derived import horizon_years, needs_contracts
from rareopt.inputs.projects import discount_factors, online_share, start_options
from rareopt.inputs.tables import row_keys
from rareopt.model.layout import ModelLayout
from rareopt.model.lp import LPBuilder

if TYPE_CHECKING:
    from rareopt.inputs.portfolio import Portfolio

__all__ = [
    "contract_rows",
    "add_discrete_families",
    "big_m",
    "DISCRETE_COLUMNS",
    "DISCRETE_ROWS",
]

DISCRETE_COLUMNS = ("contract", "order", "country_used", "invest")
"""Integer column families (all binary), in column order after the base model's."""

DISCRETE_ROWS = (
    "contract_link",
    "min_order",
    "order_link",
    "order_contract",
    "supplier_count",
    "country_floor",
    "country_count",
    "project_start",
    "project_capacity",
)
"""Row families of the discrete decisions, in row order after the base model's."""


def contract_rows(portfolio: Portfolio, buy: pd.DataFrame) -> pd.DataFrame:
    """One row per offer with purchase variables.

    Columns: element, supplier, country, min_order_t and contract_usd (over the horizon).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> p = load_example("tiny")
    >>> len(contract_rows(p, make_layout(p).buy))
    6
    """
    pairs = buy[["element", "supplier", "country"]].drop_duplicates()
    offers = portfolio.offers[["supplier", "element", "contract_usd_per_year", "min_order_t"]]
    rows = pairs.merge(offers, on=["supplier", "element"], how="left")
    rows["contract_usd"] = rows.pop("contract_usd_per_year") * horizon_years(portfolio)
    return rows.reset_index(drop=True)


def big_m(layout: ModelLayout) -> float:
    """A bound on what any element's purchases can reach over the horizon at an optimum.

    Demand over the horizon, plus the storage room (or, with unlimited room, the largest stock
    target: stock beyond every target only costs), plus every minimum order of the element in
    every period (a minimum order can force buying beyond need). Used where an offer's capacity
    is unlimited.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> big_m(make_layout(load_example("tiny"))) > 0
    True
    """
    ep = layout.element_period
    by_element = ep.groupby("element")
    room = by_element["stock_capacity_t"].max()
    room = room.where(np.isfinite(room), by_element["target_t"].max())
    buy = layout.buy
    offers = layout.portfolio.offers.set_index(["supplier", "element"])["min_order_t"]
    orders = offers.reindex(row_keys(buy, "supplier", "element")).fillna(0.0).to_numpy()
    forced = pd.Series(orders, index=buy["element"].to_numpy()).groupby(level=0).sum()
    total = by_element["demand_t"].sum() + room + forced.reindex(room.index).fillna(0.0)
    return float(total.max()) or 1.0


def add_discrete_families(
    b: LPBuilder, layout: ModelLayout, terms: dict[str, np.ndarray], bought: int
) -> None:
    """Add the integer families the portfolio asks for, and their cost terms, to ``b``.

    ``terms`` (cost term -> vector over the columns so far) gains the contract and capital
    costs; ``bought`` is the first column of the ``bought`` family (the balance's X).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.formulation import assemble
    >>> from rareopt.model.layout import make_layout
    >>> p = load_example("tiny")
    >>> p = p.replace_tables(offers=p.offers.assign(min_order_t=10.0), capacity=p.capacity)
    >>> lp = assemble(make_layout(p))
    >>> lp.is_mip, len(lp.col_blocks["contract"].positions), len(lp.row_blocks["min_order"].positions)
    (True, 6, 18)
    """
    portfolio = layout.portfolio
    start = b.n_cols
    if needs_contracts(portfolio):
        _contracts(b, layout)
        if portfolio.policy.min_countries_per_element is not None:
            _country_floor(b, layout)
    if len(portfolio.projects):
        _projects(b, layout)
    added = b.n_cols - start
    if not added:
        return
    for name in terms:
        terms[name] = np.concatenate([terms[name], np.zeros(b.n_cols - len(terms[name]))])
    if "contract" in b.col_blocks:
        block = b.col_blocks["contract"]
        terms["contract_cost"][block.positions] = block.frame["contract_usd"].to_numpy(float)
    if "invest" in b.col_blocks:
        block = b.col_blocks["invest"]
        terms["capital_cost"][block.positions] = block.frame["capital_usd"].to_numpy(float)


def _finite_capacity(layout: ModelLayout) -> np.ndarray:
    """Each purchase variable's capacity, or :func:`big_m` where it is unlimited."""
    capacity = layout.buy["capacity_t"].to_numpy(float)
    return np.where(np.isfinite(capacity), capacity, big_m(layout))


def _contracts(b: LPBuilder, layout: ModelLayout) -> None:
    """``contract`` and ``order`` columns; link, minimum-order and supplier-count rows."""
    portfolio, buy = layout.portfolio, layout.buy
    rows = contract_rows(portfolio, buy)
    contract = b.columns("contract", rows, ("element", "supplier"), 0.0, 1.0, integer=True)
    pair = pd.MultiIndex.from_frame(rows[["element", "supplier"]])
    of_buy = pair.get_indexer(pd.MultiIndex.from_frame(buy[["element", "supplier"]]))
    capacity = _finite_capacity(layout)
    n_buy = len(buy)
    every = np.arange(n_buy)
    b.rows(
        "contract_link",
        buy,
        ("element", "supplier", "period"),
        -np.inf,
        0.0,
        (every, every, 1.0),
        (every, contract + of_buy, -capacity),
    )
    minimum = rows["min_order_t"].to_numpy(float)[of_buy]
    moq = np.flatnonzero(minimum > 0)
    order_frame = buy.iloc[moq].reset_index(drop=True)
    key = ("element", "supplier", "period")
    order = b.columns("order", order_frame, key, 0.0, 1.0, integer=True)
    k = np.arange(len(moq))
    b.rows("min_order", order_frame, key, 0.0, np.inf, (k, moq, 1.0), (k, order + k, -minimum[moq]))
    b.rows(
        "order_link", order_frame, key, -np.inf, 0.0, (k, moq, 1.0), (k, order + k, -capacity[moq])
    )
    b.rows(
        "order_contract",
        order_frame,
        key,
        -np.inf,
        0.0,
        (k, order + k, 1.0),
        (k, contract + of_buy[moq], -1.0),
    )
    limit = portfolio.policy.max_suppliers_per_element
    elements = pd.DataFrame({"element": list(dict.fromkeys(rows["element"]))})
    if limit is None:
        elements = elements.iloc[:0]
    element_row = pd.Index(elements["element"]).get_indexer(rows["element"])
    mine = np.flatnonzero(element_row >= 0)
    b.rows(
        "supplier_count",
        elements,
        ("element",),
        -np.inf,
        float(limit or 0),
        (element_row[mine], contract + mine, 1.0),
    )


def _country_floor(b: LPBuilder, layout: ModelLayout) -> None:
    """Countries counted as supplying an element: at least the floor share of its purchases.

    Purchases include the element's tonnes in concentrates (``layout.supply``), as the caps do.
    ``country_floor[e, c]``: V_c - share X_e - M_e used >= -M_e, with M_e the floor share of
    :func:`big_m` plus what the element's concentrates can bring (bundled tonnes can exceed any
    need).
    """
    policy = layout.portfolio.policy
    minimum, share = policy.min_countries_per_element, policy.country_floor_share
    supply = layout.supply
    pos, coef = supply["pos"].to_numpy(), supply["coef"].to_numpy(float)
    n_buy = len(layout.buy)
    conc_cap = layout.concentrate["capacity_t"].to_numpy(float)
    bundled = np.zeros(len(pos))
    in_bundle = pos >= n_buy
    bundled[in_bundle] = coef[in_bundle] * conc_cap[pos[in_bundle] - n_buy]
    if not np.isfinite(bundled).all():
        raise ValueError(
            "min_countries_per_element with a concentrate of unlimited capacity_t: give the "
            "concentrate a finite capacity_t"
        )
    pairs = supply[["element", "country"]].drop_duplicates().reset_index(drop=True)
    used = b.columns("country_used", pairs, ("element", "country"), 0.0, 1.0, integer=True)
    pair_of = pd.MultiIndex.from_frame(pairs).get_indexer(
        pd.MultiIndex.from_frame(supply[["element", "country"]])
    )
    extra = pd.Series(bundled, index=supply["element"].to_numpy()).groupby(level=0).sum()
    big = share * (big_m(layout) + extra.reindex(pairs["element"]).fillna(0.0).to_numpy())
    # Each supply row counts for its own (element, country) row and, times -share, for every
    # row of its element (the element's total X_e).
    element_of_pair = pairs["element"].to_numpy()
    same = supply["element"].to_numpy()[:, None] == element_of_pair[None, :]
    total_i, total_r = np.nonzero(same)
    every = np.arange(len(pairs))
    b.rows(
        "country_floor",
        pairs,
        ("element", "country"),
        -big,
        np.inf,
        (pair_of, pos, coef),
        (total_r, pos[total_i], -share * coef[total_i]),
        (every, used + every, -big),
    )
    elements = pd.DataFrame({"element": list(dict.fromkeys(layout.buy["element"]))})
    element_row = pd.Index(elements["element"]).get_indexer(pairs["element"])
    counted = np.flatnonzero(element_row >= 0)
    b.rows(
        "country_count",
        elements,
        ("element",),
        float(cast(int, minimum)),  # set: add_discrete_families checks
        np.inf,
        (element_row[counted], used + counted, 1.0),
    )


def _projects(b: LPBuilder, layout: ModelLayout) -> None:
    """``invest`` columns; ``project_start`` and ``project_capacity`` rows."""
    portfolio = layout.portfolio
    labels = portfolio.period_labels
    projects = portfolio.projects.set_index("supplier")
    options = start_options(portfolio)
    factor = discount_factors(portfolio)
    invest_frame = pd.DataFrame(
        {
            "supplier": [s for s, _ in options],
            "period": [labels[t] for _, t in options],
            "start": [t for _, t in options],
            "capital_usd": [
                float(cast(float, projects.at[s, "capital_usd"])) * factor[t] for s, t in options
            ],
        }
    )
    invest = b.columns("invest", invest_frame, ("supplier", "period"), 0.0, 1.0, integer=True)
    starts = pd.DataFrame({"supplier": list(projects.index)})
    project_row = pd.Index(starts["supplier"]).get_indexer(invest_frame["supplier"])
    b.rows(
        "project_start",
        starts,
        ("supplier",),
        -np.inf,
        1.0,
        (project_row, invest + np.arange(len(invest_frame)), 1.0),
    )
    buy, conc = layout.buy, layout.concentrate

    def supply_rows(kind: str, table: pd.DataFrame, item: str, first: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "kind": kind,
                "item": table[item].to_numpy(object),
                "supplier": table["supplier"].to_numpy(object),
                "period": table["period"].to_numpy(object),
                "capacity_t": table["capacity_t"].to_numpy(float),
                "pos": first + np.arange(len(table)),
            }
        )

    supply = pd.concat(
        [
            supply_rows("offer", buy, "element", 0),
            supply_rows("concentrate", conc, "product", len(buy)),
        ],
        ignore_index=True,
    )
    rows = supply[supply["supplier"].isin(projects.index)].reset_index(drop=True)
    position = {p: i for i, p in enumerate(labels)}
    r_terms, c_terms, v_terms = [], [], []
    for i, (supplier, period, capacity) in enumerate(
        zip(rows["supplier"], rows["period"], rows["capacity_t"])
    ):
        for j in np.flatnonzero(invest_frame["supplier"].to_numpy() == supplier):
            share = online_share(
                projects.loc[supplier],
                # pandas-stubs: .iat takes an int (j is an np.intp) and returns any scalar
                int(invest_frame["start"].iat[j]),  # type: ignore[arg-type, index]
                position[period],
            )
            if share > 0:
                r_terms.append(i)
                c_terms.append(invest + j)
                v_terms.append(-share * capacity)
    every = np.arange(len(rows))
    b.rows(
        "project_capacity",
        rows,
        ("kind", "item", "supplier", "period"),
        -np.inf,
        0.0,
        (every, rows["pos"].to_numpy(), 1.0),
        (r_terms, c_terms, v_terms),
    )

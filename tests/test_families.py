"""A golden tiny LP per family, at the array level, so that a failure points at its family.

Every column and row family of the assembled arrays (base model, discrete decisions, two-stage
scenarios) is checked on a hand-made portfolio of 1-2 elements, 1-3 suppliers and 1-3 periods
against what ``docs/formulation.md`` says it holds: for a column family its keys (in order),
bounds, integrality and entries in each cost term; for a row family its keys (in order), row
bounds and the exact row of the matrix as ``{column label: coefficient}``. Every expected value
is a literal derived by hand (the arithmetic in a comment), never computed with rareopt code.

Column labels are those of ``LinearProgram.col_label``: ``family[key,...]``.
"""

import numpy as np
import pytest
from helpers import chain as chain_of
from helpers import offer, supplier

import rareopt
from rareopt.model.formulation import assemble
from rareopt.model.layout import make_layout
from rareopt.model.rolling import assemble_rolling
from rareopt.model.two_stage import assemble_two_stage, scenario_layout

INF = np.inf


# ---------------------------------------------------------------------------------------------
# Reading the arrays by family
# ---------------------------------------------------------------------------------------------


def _label(family, key):
    return f"{family}[{','.join(map(str, key))}]"


def col_labels(lp, family):
    """Labels of a column family's members, in the family's order."""
    return [lp.col_label(int(j))[2] for j in lp.col_blocks[family].positions]


def row_keys(lp, family):
    return lp.row_blocks[family].keys()


def _row_index(lp, family, key):
    block = lp.row_blocks[family]
    keys = block.keys()
    assert key in keys, f"{family}: no row {key}; rows: {keys}"
    return int(block.positions[keys.index(key)])


def row_of(lp, family, key):
    """The row ``family[key]`` of the matrix as {column label: coefficient} (stored entries)."""
    row = lp.matrix.tocsr()[_row_index(lp, family, key)]
    return {lp.col_label(int(j))[2]: float(v) for j, v in zip(row.indices, row.data)}


def bounds_of(lp, family, key):
    """(lower, upper) of the row ``family[key]``."""
    i = _row_index(lp, family, key)
    return float(lp.row_lower[i]), float(lp.row_upper[i])


def cost_entries(lp, family):
    """{cost term: {column label: coefficient}}: the family's nonzero entries in each term."""
    positions = lp.col_blocks[family].positions
    labels = col_labels(lp, family)
    out = {}
    for term, vector in lp.cost_terms.items():
        entries = {lab: float(vector[j]) for lab, j in zip(labels, positions) if vector[j] != 0}
        if entries:
            out[term] = entries
    return out


def objective_entries(lp, family):
    """{column label: coefficient of the LP's total cost} for the family's nonzero entries."""
    positions = lp.col_blocks[family].positions
    return {
        lab: float(lp.cost[j])
        for lab, j in zip(col_labels(lp, family), positions)
        if lp.cost[j] != 0
    }


def assert_columns(lp, family, bounds, costs, integer=False):
    """Keys in order, bounds {label: (lower, upper)}, integrality and cost-term entries."""
    positions = lp.col_blocks[family].positions
    assert col_labels(lp, family) == list(bounds), family
    lower = {lab: float(lp.col_lower[j]) for lab, j in zip(bounds, positions)}
    upper = {lab: float(lp.col_upper[j]) for lab, j in zip(bounds, positions)}
    assert lower == pytest.approx({lab: lo for lab, (lo, _) in bounds.items()}), family
    assert upper == pytest.approx({lab: hi for lab, (_, hi) in bounds.items()}), family
    assert lp.integrality[positions].tolist() == [int(integer)] * len(positions), family
    got = cost_entries(lp, family)
    assert set(got) == set(costs), (family, got)
    for term, entries in costs.items():
        assert got[term] == pytest.approx(entries, rel=1e-12), (family, term)


def assert_rows(lp, family, expected):
    """Keys in order and, per row, bounds and exact entries: {key: (lower, upper, {col: coef})}."""
    assert row_keys(lp, family) == list(expected), family
    for key, (lower, upper, entries) in expected.items():
        assert bounds_of(lp, family, key) == pytest.approx((lower, upper)), (family, key)
        assert row_of(lp, family, key) == pytest.approx(entries, rel=1e-12), (family, key)


# ---------------------------------------------------------------------------------------------
# Portfolios
# ---------------------------------------------------------------------------------------------


def base_portfolio(**policy):
    """Nd and Dy over two 30-day periods; A (CN, risk 0.6), B (AU, risk 0.2).

    Nd: demand 90, 60; A 50,000 + 1,000 freight, cap 200; B 60,000, cap 40 in P1 and 0 in P2
    (no column in P2). Dy: demand 10; A only, 250,000, cap 20. Stockpile Nd: 30 t, 20 days,
    room 120, holding 500, shortfall 70,000. Dy: 2 t, 0 then 15 days, room 10, holding 2,500,
    shortfall blank (the policy's 400,000). CN capped at 60%, B at 30% of Nd, per period.
    """
    return rareopt.Portfolio(
        periods={"count": 2, "days": 30},
        demand={"Nd": [90, 60], "Dy": 10},
        suppliers=[supplier("A", "CN", risk=0.6), supplier("B", "AU", risk=0.2)],
        offers=[
            offer("A", "Nd", 50_000, 200, freight=1_000),
            offer("B", "Nd", 60_000, [40, 0]),
            offer("A", "Dy", 250_000, 20),
        ],
        stockpile=[
            {
                "element": "Nd",
                "initial_t": 30,
                "target_days": 20,
                "capacity_t": 120,
                "holding_usd_per_t": 500,
                "shortfall_penalty_usd_per_t": 70_000,
            },
            {
                "element": "Dy",
                "initial_t": 2,
                "target_days": [0, 15],
                "capacity_t": 10,
                "holding_usd_per_t": 2_500,
            },
        ],
        policy={
            "country_caps": {"CN": 0.6},
            "supplier_caps": [{"supplier": "B", "element": "Nd", "max_share": 0.3}],
            "risk_weight_usd_per_t": 1_000,
            "shortage_penalty_usd_per_t": 1e6,
            "target_shortfall_penalty_usd_per_t": 400_000,
            **policy,
        },
    )


def groups_portfolio():
    """Nd and Dy, one period, no stockpile; A (CN), B (MM), C (AU); C sells no Dy.

    Group CN+MM at most 70% (Dy exempted with a share of 1); partners (AU) at least 10%, 40% of Nd.
    """
    return rareopt.Portfolio(
        periods=1,
        demand={"Nd": 100, "Dy": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "MM"), supplier("C", "AU")],
        offers=[
            offer("A", "Nd", 50_000, 100),
            offer("B", "Nd", 55_000, 100),
            offer("C", "Nd", 60_000, 100),
            offer("A", "Dy", 250_000, 10),
        ],
        policy={
            "group_caps": [
                {"group": "CN+MM", "countries": ["CN", "MM"], "max_share": 0.7},
                {"group": "CN+MM", "countries": ["CN", "MM"], "max_share": 1.0, "element": "Dy"},
            ],
            "group_floors": [
                {"group": "partners", "countries": ["AU"], "min_share": 0.1},
                {"group": "partners", "countries": ["AU"], "min_share": 0.4, "element": "Nd"},
            ],
        },
    )


def horizon_portfolio():
    """Nd 100 t in each of two periods; A (CN), B (MM), C (AU, nothing in P1); caps on totals."""
    return rareopt.Portfolio(
        periods=2,
        demand={"Nd": 100},
        suppliers=[supplier("A", "CN"), supplier("B", "MM"), supplier("C", "AU")],
        offers=[
            offer("A", "Nd", 50, 100),
            offer("B", "Nd", 55, 100),
            offer("C", "Nd", 60, [0, 100]),
        ],
        policy={
            "cap_basis": "horizon",
            "country_caps": {"CN": 0.5},
            "supplier_caps": {"B": 0.4},
            "group_caps": [{"group": "CN+MM", "countries": ["CN", "MM"], "max_share": 0.7}],
            "group_floors": [{"group": "partners", "countries": ["AU"], "min_share": 0.1}],
        },
    )


def concentrate_portfolio():
    """Nd 10 t a period, Ce 0 then 5 t; A (CN) sells Nd at 600; B (AU, risk 0.4) a concentrate
    at 100 + 5 freight, 20% Nd and 50% Ce, 100 t in P1 and none in P2. Ce surplus sells at 50;
    AU capped at 50%; risk weight 10."""
    return rareopt.Portfolio(
        periods={"count": 2, "days": 30},
        demand={"Nd": 10, "Ce": [0, 5]},
        suppliers=[supplier("A", "CN"), supplier("B", "AU", risk=0.4)],
        offers=[offer("A", "Nd", 600, 100)],
        concentrates=[
            {
                "supplier": "B",
                "product": "bast",
                "price_usd_per_t": 100,
                "freight_usd_per_t": 5,
                "capacity_t": [100, 0],
                "composition": {"Nd": 0.2, "Ce": 0.5},
            }
        ],
        policy={
            "salvage_usd_per_t": {"Ce": 50},
            "country_caps": {"AU": 0.5},
            "risk_weight_usd_per_t": 10,
        },
    )


def contracts_portfolio():
    """Nd 50 t in each of two 365.25-day periods (a 2-year horizon), no stockpile.

    A (CN) 100 USD/t, cap 40, contract fee 1,000 a year; B (AU) 120, cap 100, minimum order 30;
    C (IN) 150, unlimited. At most two suppliers.
    """
    return rareopt.Portfolio(
        periods={"count": 2, "days": 365.25},
        demand={"Nd": 50},
        suppliers=[supplier("A", "CN"), supplier("B", "AU"), supplier("C", "IN")],
        offers=[
            {**offer("A", "Nd", 100, 40), "contract_usd_per_year": 1_000, "min_order_t": 0},
            {**offer("B", "Nd", 120, 100), "contract_usd_per_year": 0, "min_order_t": 30},
            {**offer("C", "Nd", 150, INF), "contract_usd_per_year": 0, "min_order_t": 0},
        ],
        policy={"max_suppliers_per_element": 2},
    )


def countries_portfolio():
    """Nd 100 t and Dy 10 t in each of two periods, no stockpile; A (CN) sells both (cap 100 Nd,
    20 Dy), B (AU) Nd only (cap 100). At least 2 countries each with 10% of the horizon."""
    return rareopt.Portfolio(
        periods={"count": 2, "days": 30},
        demand={"Nd": 100, "Dy": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[offer("A", "Nd", 10, 100), offer("B", "Nd", 20, 100), offer("A", "Dy", 30, 20)],
        policy={"min_countries_per_element": 2, "country_floor_share": 0.1},
    )


def project_portfolio():
    """Nd 10 t in each of three 365.25-day periods; imports A (CN) 100 USD/t cap 100, or a project
    P (JP) at 20 USD/t, cap 10, and a concentrate of P (8 t, 25% Nd): capital 1,000, from P1,
    one period to build, ramp 0.5 then 1; capital discounted at 10% a year."""
    return rareopt.Portfolio(
        periods={"count": 3, "days": 365.25},
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("P", "JP")],
        offers=[offer("A", "Nd", 100, 100), offer("P", "Nd", 20, 10)],
        concentrates=[
            {
                "supplier": "P",
                "product": "mud",
                "price_usd_per_t": 30,
                "capacity_t": 8,
                "composition": {"Nd": 0.25},
            }
        ],
        projects=[
            {
                "supplier": "P",
                "capital_usd": 1_000,
                "earliest_start": 1,
                "build_periods": 1,
                "ramp": [0.5, 1.0],
            }
        ],
        policy={"discount_rate": 0.1},
    )


def two_stage_inputs():
    """Nd 40 t in each of two 30-day periods; A (CN) 100 + 10 freight, cap 20; B (AU) 150, cap 15.
    Stock: 5 t, room 50, holding 2, target 15 days (20 t) at 300 a tonne-period; shortage 1,000.
    Scenarios: calm (0.75) and cut (0.25): CN delivers half in P2. Spot market: premium 50%, 20%
    of capacity. CVaR alpha 0.8, weight 0.5."""
    portfolio = rareopt.Portfolio(
        periods={"count": 2, "days": 30},
        demand={"Nd": 40},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[offer("A", "Nd", 100, 20, freight=10), offer("B", "Nd", 150, 15)],
        stockpile=[
            {
                "element": "Nd",
                "initial_t": 5,
                "capacity_t": 50,
                "holding_usd_per_t": 2,
                "target_days": 15,
                "shortfall_penalty_usd_per_t": 300,
            }
        ],
        policy={"shortage_penalty_usd_per_t": 1_000},
    )
    scenarios = rareopt.ScenarioSet(
        [
            {"name": "calm", "probability": 0.75},
            {
                "name": "cut",
                "probability": 0.25,
                "disruptions": [{"country": "CN", "start": 2, "delivered_fraction": 0.5}],
            },
        ],
        spot_premium=0.5,
        spot_share=0.2,
    )
    return portfolio, scenarios, rareopt.CVaR(alpha=0.8, weight=0.5)


def _lp(portfolio):
    return assemble(make_layout(portfolio))


@pytest.fixture(scope="module")
def base():
    return _lp(base_portfolio())


@pytest.fixture(scope="module")
def hard():
    return _lp(base_portfolio(hard_stock_targets=True))


@pytest.fixture(scope="module")
def groups():
    return _lp(groups_portfolio())


@pytest.fixture(scope="module")
def horizon():
    return _lp(horizon_portfolio())


@pytest.fixture(scope="module")
def bundles():
    return _lp(concentrate_portfolio())


@pytest.fixture(scope="module")
def contracts():
    return _lp(contracts_portfolio())


@pytest.fixture(scope="module")
def countries():
    return _lp(countries_portfolio())


@pytest.fixture(scope="module")
def project():
    return _lp(project_portfolio())


def chain_portfolio():
    """helpers.chain in one period: CN at most 50% of separation, the tonnes touching MM at
    most 90% of purchases, CN-Sep at most 80% of separation, and the tonnes touching CN or JP
    at most 95% of purchases."""
    return chain_of(
        periods=1,
        stage_caps=[
            {"country": "CN", "stage": "separation", "max_share": 0.5},
            {"country": "MM", "stage": "any", "max_share": 0.9},
            {"supplier": "CN-Sep", "stage": "separation", "max_share": 0.8},
            {"countries": ["CN", "JP"], "stage": "any", "max_share": 0.95},
        ],
    )


@pytest.fixture(scope="module")
def chain():
    return _lp(chain_portfolio())


@pytest.fixture(scope="module")
def two_stage():
    portfolio, scenarios, risk = two_stage_inputs()
    layout = make_layout(portfolio)
    return assemble_two_stage(layout, scenario_layout(layout, scenarios, risk))


def market_inputs():
    """Nd 10 t in each of two 30-day periods, no stock; A (CN) fixed 100, cap 20; B (AU) indexed
    at 90 with a floor of 80 and a cap of 150, a take-or-pay minimum of 4 t a period, cap 20.
    Scenarios: calm (0.5) and spike (0.5): CN delivers half in P2 and every price doubles in P2,
    the spike's spot premium 1.0 (the set's 0.5)."""
    portfolio = rareopt.Portfolio(
        periods={"count": 2, "days": 30},
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[
            offer("A", "Nd", 100, 20),
            {
                **offer("B", "Nd", 90, 20),
                "pricing": "indexed",
                "floor_usd_per_t": 80,
                "cap_usd_per_t": 150,
                "take_or_pay_t": 4,
            },
        ],
    )
    scenarios = rareopt.ScenarioSet(
        [
            {"name": "calm", "probability": 0.5},
            {
                "name": "spike",
                "probability": 0.5,
                "disruptions": [{"country": "CN", "start": 2, "delivered_fraction": 0.5}],
                "prices": [{"country": "*", "start": 2, "factor": 2.0}],
                "spot_premium": 1.0,
            },
        ],
        spot_premium=0.5,
        spot_share=0.2,
    )
    return portfolio, scenarios


@pytest.fixture(scope="module")
def market():
    portfolio, scenarios = market_inputs()
    layout = make_layout(portfolio)
    return assemble_two_stage(layout, scenario_layout(layout, scenarios))


def response_inputs():
    """Nd 10 t in each of two 30-day periods; A (CN) at 100, cap 20. Plan responses: thrift
    (thrifting, 30% of demand, 50 a tonne, sticky) and scrap (recycling, 8 t at yield 0.5, 60 a
    tonne, lead 1); recourse: sub (substitution, 50%, 900 a tonne, sticky). Scenarios: calm
    (0.5) and embargo (0.5): CN delivers nothing in P1 and P2."""
    portfolio = rareopt.Portfolio(
        periods={"count": 2, "days": 30},
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN")],
        offers=[offer("A", "Nd", 100, 20)],
        responses=[
            {
                "response": "thrift",
                "element": "Nd",
                "kind": "thrifting",
                "max_share": 0.3,
                "cost_usd_per_t": 50,
                "sticky": True,
            },
            {
                "response": "scrap",
                "element": "Nd",
                "kind": "recycling",
                "capacity_t": 8,
                "yield": 0.5,
                "cost_usd_per_t": 60,
                "lead_periods": 1,
            },
            {
                "response": "sub",
                "element": "Nd",
                "kind": "substitution",
                "max_share": 0.5,
                "cost_usd_per_t": 900,
                "sticky": True,
                "decision": "recourse",
            },
        ],
    )
    scenarios = rareopt.ScenarioSet(
        [
            {"name": "calm", "probability": 0.5},
            {
                "name": "embargo",
                "probability": 0.5,
                "disruptions": [{"country": "CN", "start": 1, "duration": 2}],
            },
        ],
    )
    return portfolio, scenarios


@pytest.fixture(scope="module")
def responses():
    portfolio, scenarios = response_inputs()
    layout = make_layout(portfolio)
    return assemble_two_stage(layout, scenario_layout(layout, scenarios))


def release_inputs():
    """Nd 10 t in each of three 30-day periods; A (CN) at 100; 30 t in stock (room 100). Release
    rule: at most 4 t beyond the plan's draw, a 75-day floor (25 t), trigger 50%. Scenarios calm
    (0.5) and cut (0.5): CN delivers nothing in P2 (an emergency: 0 < 50%)."""
    portfolio = rareopt.Portfolio(
        periods={"count": 3, "days": 30},
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN")],
        offers=[offer("A", "Nd", 100, 100)],
        stockpile=[{"element": "Nd", "initial_t": 30, "capacity_t": 100}],
        policy={
            "shortage_penalty_usd_per_t": 1000,
            "release_rules": [{"max_release_t": 4, "floor_days": 75, "trigger_share": 0.5}],
        },
    )
    scenarios = rareopt.ScenarioSet(
        [
            {"name": "calm", "probability": 0.5},
            {"name": "cut", "probability": 0.5, "disruptions": [{"country": "CN", "start": 2}]},
        ],
        spot_share=0,
    )
    return portfolio, scenarios


@pytest.fixture(scope="module")
def releases():
    portfolio, scenarios = release_inputs()
    layout = make_layout(portfolio)
    return assemble_two_stage(layout, scenario_layout(layout, scenarios))


# ---------------------------------------------------------------------------------------------
# Base column families
# ---------------------------------------------------------------------------------------------


def test_family_buy(base):
    # Only (e, s, p) with capacity > 0: B has no Nd column in P2. Element, period, supplier order.
    assert_columns(
        base,
        "buy",
        {
            "buy[Nd,A,P1]": (0, 200),
            "buy[Nd,B,P1]": (0, 40),
            "buy[Nd,A,P2]": (0, 200),
            "buy[Dy,A,P1]": (0, 20),
            "buy[Dy,A,P2]": (0, 20),
        },
        {
            # price + freight: A Nd 50,000 + 1,000; B Nd 60,000; A Dy 250,000
            "purchase_cost": {
                "buy[Nd,A,P1]": 51_000,
                "buy[Nd,B,P1]": 60_000,
                "buy[Nd,A,P2]": 51_000,
                "buy[Dy,A,P1]": 250_000,
                "buy[Dy,A,P2]": 250_000,
            },
            # w rho: 1,000 x 0.6 (A), 1,000 x 0.2 (B)
            "risk_penalty": {
                "buy[Nd,A,P1]": 600,
                "buy[Nd,B,P1]": 200,
                "buy[Nd,A,P2]": 600,
                "buy[Dy,A,P1]": 600,
                "buy[Dy,A,P2]": 600,
            },
        },
    )
    assert not base.is_mip


def test_family_concentrate(bundles):
    # B's concentrate only in P1 (capacity 0 in P2); cost 100 + 5 freight; risk 10 x 0.4.
    assert_columns(
        bundles,
        "concentrate",
        {"concentrate[B,bast,P1]": (0, 100)},
        {
            "purchase_cost": {"concentrate[B,bast,P1]": 105},
            "risk_penalty": {"concentrate[B,bast,P1]": 4},
        },
    )
    assert col_labels(bundles, "buy") == ["buy[Nd,A,P1]", "buy[Nd,A,P2]"]


def test_family_stock(base, groups):
    # 0 <= h <= room: Nd 120, Dy 10; holding 500 and 2,500 USD/t per period.
    assert_columns(
        base,
        "stock",
        {
            "stock[Nd,P1]": (0, 120),
            "stock[Nd,P2]": (0, 120),
            "stock[Dy,P1]": (0, 10),
            "stock[Dy,P2]": (0, 10),
        },
        {
            "holding_cost": {
                "stock[Nd,P1]": 500,
                "stock[Nd,P2]": 500,
                "stock[Dy,P1]": 2_500,
                "stock[Dy,P2]": 2_500,
            }
        },
    )
    # Without a stockpile row an element holds no stock: room 0.
    assert_columns(groups, "stock", {"stock[Nd,P1]": (0, 0), "stock[Dy,P1]": (0, 0)}, {})


def test_family_unmet(base):
    # 0 <= u <= d (Nd 90, 60; Dy 10, 10), priced at phi = 1e6.
    assert_columns(
        base,
        "unmet",
        {
            "unmet[Nd,P1]": (0, 90),
            "unmet[Nd,P2]": (0, 60),
            "unmet[Dy,P1]": (0, 10),
            "unmet[Dy,P2]": (0, 10),
        },
        {
            "shortage_penalty": {
                "unmet[Nd,P1]": 1e6,
                "unmet[Nd,P2]": 1e6,
                "unmet[Dy,P1]": 1e6,
                "unmet[Dy,P2]": 1e6,
            }
        },
    )


def test_family_shortfall_soft_targets(base):
    # T = tau d / delta: Nd 20 x 90 / 30 = 60, 20 x 60 / 30 = 40; Dy 0 (no target), 15 x 10 / 30 = 5.
    # Penalty psi: Nd its own 70,000; Dy blank -> the policy's 400,000; none without a target.
    assert_columns(
        base,
        "shortfall",
        {
            "shortfall[Nd,P1]": (0, 60),
            "shortfall[Nd,P2]": (0, 40),
            "shortfall[Dy,P1]": (0, 0),
            "shortfall[Dy,P2]": (0, 5),
        },
        {
            "target_penalty": {
                "shortfall[Nd,P1]": 70_000,
                "shortfall[Nd,P2]": 70_000,
                "shortfall[Dy,P2]": 400_000,
            }
        },
    )


def test_family_priority(base):
    # One row per goal before cost, each its penalty term over its smallest penalty, bounded by
    # the goal's largest value + 1 until the solver sets it. demand: phi 1e6 everywhere -> 1 on
    # each u, bound 90 + 60 + 10 + 10 + 1 = 171; stock_targets: Nd 70,000 / 70,000 = 1, Dy P2
    # 400,000 / 70,000 = 40 / 7, bound 60 + 40 + 5 x 40 / 7 + 1 = 129.571...
    assert_rows(
        base,
        "priority",
        {
            ("demand",): (
                -INF,
                171,
                {f"unmet[{e},{p}]": 1 for e in ("Nd", "Dy") for p in ("P1", "P2")},
            ),
            ("stock_targets",): (
                -INF,
                101 + 200 / 7,
                {"shortfall[Nd,P1]": 1, "shortfall[Nd,P2]": 1, "shortfall[Dy,P2]": 40 / 7},
            ),
        },
    )


def test_family_priority_with_hard_targets(hard):
    # Hard targets: demand is the only goal (met as far as it is with the targets soft).
    assert list(hard.row_blocks["priority"].frame["goal"]) == ["demand"]


def test_family_shortfall_hard_targets(hard):
    # hard_stock_targets: v == 0 everywhere, and so no target penalty.
    assert_columns(
        hard,
        "shortfall",
        {
            "shortfall[Nd,P1]": (0, 0),
            "shortfall[Nd,P2]": (0, 0),
            "shortfall[Dy,P1]": (0, 0),
            "shortfall[Dy,P2]": (0, 0),
        },
        {},
    )


def test_family_bought(base):
    # X >= 0, no cost of its own.
    assert_columns(
        base,
        "bought",
        {
            "bought[Nd,P1]": (0, INF),
            "bought[Nd,P2]": (0, INF),
            "bought[Dy,P1]": (0, INF),
            "bought[Dy,P2]": (0, INF),
        },
        {},
    )


def test_family_surplus(bundles, base):
    # Only where a concentrate brings e: (Nd, P1), (Ce, P1). Priced at -salvage: Ce -50, Nd 0.
    assert_columns(
        bundles,
        "surplus",
        {"surplus[Nd,P1]": (0, INF), "surplus[Ce,P1]": (0, INF)},
        {"surplus_cost": {"surplus[Ce,P1]": -50}},
    )
    assert col_labels(base, "surplus") == []


# ---------------------------------------------------------------------------------------------
# Base row families
# ---------------------------------------------------------------------------------------------


def test_family_purchases(base):
    # sum_s x - X = 0
    assert_rows(
        base,
        "purchases",
        {
            ("Nd", "P1"): (0, 0, {"buy[Nd,A,P1]": 1, "buy[Nd,B,P1]": 1, "bought[Nd,P1]": -1}),
            ("Nd", "P2"): (0, 0, {"buy[Nd,A,P2]": 1, "bought[Nd,P2]": -1}),
            ("Dy", "P1"): (0, 0, {"buy[Dy,A,P1]": 1, "bought[Dy,P1]": -1}),
            ("Dy", "P2"): (0, 0, {"buy[Dy,A,P2]": 1, "bought[Dy,P2]": -1}),
        },
    )


def test_family_purchases_with_concentrate(bundles):
    # a_{k,e} q counts towards X: 0.2 for Nd, 0.5 for Ce; Ce in P2 has no supply at all.
    assert_rows(
        bundles,
        "purchases",
        {
            ("Nd", "P1"): (
                0,
                0,
                {"buy[Nd,A,P1]": 1, "concentrate[B,bast,P1]": 0.2, "bought[Nd,P1]": -1},
            ),
            ("Nd", "P2"): (0, 0, {"buy[Nd,A,P2]": 1, "bought[Nd,P2]": -1}),
            ("Ce", "P1"): (0, 0, {"concentrate[B,bast,P1]": 0.5, "bought[Ce,P1]": -1}),
            ("Ce", "P2"): (0, 0, {"bought[Ce,P2]": -1}),
        },
    )


def test_family_surplus_limit(bundles):
    # r - sum_k a_{k,e} q <= 0
    assert_rows(
        bundles,
        "surplus_limit",
        {
            ("Nd", "P1"): (-INF, 0, {"surplus[Nd,P1]": 1, "concentrate[B,bast,P1]": -0.2}),
            ("Ce", "P1"): (-INF, 0, {"surplus[Ce,P1]": 1, "concentrate[B,bast,P1]": -0.5}),
        },
    )


def test_family_balance(base):
    # X + h[p-1] - h + u = d, with h0 on the right in P1: Nd 90 - 30 = 60; Dy 10 - 2 = 8.
    assert_rows(
        base,
        "balance",
        {
            ("Nd", "P1"): (
                60,
                60,
                {"bought[Nd,P1]": 1, "unmet[Nd,P1]": 1, "stock[Nd,P1]": -1},
            ),
            ("Nd", "P2"): (
                60,
                60,
                {
                    "bought[Nd,P2]": 1,
                    "unmet[Nd,P2]": 1,
                    "stock[Nd,P2]": -1,
                    "stock[Nd,P1]": 1,
                },
            ),
            ("Dy", "P1"): (8, 8, {"bought[Dy,P1]": 1, "unmet[Dy,P1]": 1, "stock[Dy,P1]": -1}),
            ("Dy", "P2"): (
                10,
                10,
                {
                    "bought[Dy,P2]": 1,
                    "unmet[Dy,P2]": 1,
                    "stock[Dy,P2]": -1,
                    "stock[Dy,P1]": 1,
                },
            ),
        },
    )


def test_family_balance_with_surplus(bundles):
    # X + h[p-1] - h + u - r = d; no stockpile, no initial stock: Ce P1 rhs 0, Nd P1 rhs 10.
    assert row_of(bundles, "balance", ("Ce", "P1")) == pytest.approx(
        {"bought[Ce,P1]": 1, "unmet[Ce,P1]": 1, "stock[Ce,P1]": -1, "surplus[Ce,P1]": -1}
    )
    assert bounds_of(bundles, "balance", ("Ce", "P1")) == (0, 0)
    assert row_of(bundles, "balance", ("Nd", "P1")) == pytest.approx(
        {"bought[Nd,P1]": 1, "unmet[Nd,P1]": 1, "stock[Nd,P1]": -1, "surplus[Nd,P1]": -1}
    )
    assert bounds_of(bundles, "balance", ("Nd", "P1")) == (10, 10)


@pytest.mark.parametrize("fixture", ["base", "hard"])
def test_family_stock_target(fixture, request):
    # h + v >= T where T > 0: Nd 60, 40; Dy P2 5 (none in P1). Same rows with hard targets
    # (there v is held at 0 by its bounds).
    lp = request.getfixturevalue(fixture)
    assert_rows(
        lp,
        "stock_target",
        {
            ("Nd", "P1"): (60, INF, {"stock[Nd,P1]": 1, "shortfall[Nd,P1]": 1}),
            ("Nd", "P2"): (40, INF, {"stock[Nd,P2]": 1, "shortfall[Nd,P2]": 1}),
            ("Dy", "P2"): (5, INF, {"stock[Dy,P2]": 1, "shortfall[Dy,P2]": 1}),
        },
    )


def test_family_country_cap(base):
    # sum_{c(s)=CN} x - 0.6 X <= 0, per period, for every element CN offers.
    assert_rows(
        base,
        "country_cap",
        {
            ("Nd", "CN", "P1"): (-INF, 0, {"buy[Nd,A,P1]": 1, "bought[Nd,P1]": -0.6}),
            ("Nd", "CN", "P2"): (-INF, 0, {"buy[Nd,A,P2]": 1, "bought[Nd,P2]": -0.6}),
            ("Dy", "CN", "P1"): (-INF, 0, {"buy[Dy,A,P1]": 1, "bought[Dy,P1]": -0.6}),
            ("Dy", "CN", "P2"): (-INF, 0, {"buy[Dy,A,P2]": 1, "bought[Dy,P2]": -0.6}),
        },
    )


def test_family_country_cap_horizon(horizon):
    # Over the horizon (period "*"): sum_p x_A - 0.5 sum_p X <= 0.
    assert_rows(
        horizon,
        "country_cap",
        {
            ("Nd", "CN", "*"): (
                -INF,
                0,
                {
                    "buy[Nd,A,P1]": 1,
                    "buy[Nd,A,P2]": 1,
                    "bought[Nd,P1]": -0.5,
                    "bought[Nd,P2]": -0.5,
                },
            )
        },
    )


def test_family_country_cap_counts_concentrates(bundles):
    # AU at most 50% of each element: the concentrate counts 0.2 towards Nd, 0.5 towards Ce.
    assert_rows(
        bundles,
        "country_cap",
        {
            ("Nd", "AU", "P1"): (
                -INF,
                0,
                {"concentrate[B,bast,P1]": 0.2, "bought[Nd,P1]": -0.5},
            ),
            ("Ce", "AU", "P1"): (
                -INF,
                0,
                {"concentrate[B,bast,P1]": 0.5, "bought[Ce,P1]": -0.5},
            ),
        },
    )


def test_family_supplier_cap(base):
    # x_B - 0.3 X <= 0 for Nd, only in P1 (B has no Nd column in P2).
    assert_rows(
        base,
        "supplier_cap",
        {("Nd", "B", "P1"): (-INF, 0, {"buy[Nd,B,P1]": 1, "bought[Nd,P1]": -0.3})},
    )


def test_family_supplier_cap_horizon(horizon):
    # sum_p x_B - 0.4 sum_p X <= 0
    assert_rows(
        horizon,
        "supplier_cap",
        {
            ("Nd", "B", "*"): (
                -INF,
                0,
                {
                    "buy[Nd,B,P1]": 1,
                    "buy[Nd,B,P2]": 1,
                    "bought[Nd,P1]": -0.4,
                    "bought[Nd,P2]": -0.4,
                },
            )
        },
    )


def test_family_group_cap(groups):
    # CN+MM: x_A + x_B - 0.7 X <= 0 for Nd; Dy exempted (share 1 is not written).
    assert_rows(
        groups,
        "group_cap",
        {
            ("Nd", "CN+MM", "P1"): (
                -INF,
                0,
                {"buy[Nd,A,P1]": 1, "buy[Nd,B,P1]": 1, "bought[Nd,P1]": -0.7},
            )
        },
    )


def test_family_group_cap_horizon(horizon):
    # sum_p (x_A + x_B) - 0.7 sum_p X <= 0
    assert_rows(
        horizon,
        "group_cap",
        {
            ("Nd", "CN+MM", "*"): (
                -INF,
                0,
                {
                    "buy[Nd,A,P1]": 1,
                    "buy[Nd,B,P1]": 1,
                    "buy[Nd,A,P2]": 1,
                    "buy[Nd,B,P2]": 1,
                    "bought[Nd,P1]": -0.7,
                    "bought[Nd,P2]": -0.7,
                },
            )
        },
    )


def test_family_group_floor(groups):
    # partners: x_C - 0.4 X >= 0 for Nd (its own row); Dy 10% but AU sells no Dy: -0.1 X >= 0.
    # DOCS (silent, reported): such a floor forces X[Dy] = 0, i.e. no Dy can be bought at all;
    # layout.py says this is deliberate, formulation.md does not mention it.
    assert_rows(
        groups,
        "group_floor",
        {
            ("Nd", "partners", "P1"): (0, INF, {"buy[Nd,C,P1]": 1, "bought[Nd,P1]": -0.4}),
            ("Dy", "partners", "P1"): (0, INF, {"bought[Dy,P1]": -0.1}),
        },
    )


def test_family_group_floor_horizon(horizon):
    # sum_p x_C - 0.1 sum_p X >= 0; C has no column in P1.
    assert_rows(
        horizon,
        "group_floor",
        {
            ("Nd", "partners", "*"): (
                0,
                INF,
                {"buy[Nd,C,P2]": 1, "bought[Nd,P1]": -0.1, "bought[Nd,P2]": -0.1},
            )
        },
    )


def test_base_model_has_no_empty_or_discrete_extras(base):
    # Families the base portfolio does not ask for are empty (base) or absent (discrete).
    for family in ("surplus_limit", "group_cap", "group_floor"):
        assert row_keys(base, family) == []
    for family in ("contract", "order", "country_used", "invest"):
        assert family not in base.col_blocks


# ---------------------------------------------------------------------------------------------
# Discrete column families
# ---------------------------------------------------------------------------------------------


def test_family_contract(contracts):
    # Binary per offer; contract_cost = fee x horizon years: 1,000 x (2 x 365.25 / 365.25) = 2,000.
    assert_columns(
        contracts,
        "contract",
        {"contract[Nd,A]": (0, 1), "contract[Nd,B]": (0, 1), "contract[Nd,C]": (0, 1)},
        {"contract_cost": {"contract[Nd,A]": 2_000}},
        integer=True,
    )
    assert contracts.is_mip


def test_family_order(contracts):
    # Binary per (e, s, p) of an offer with a minimum order: B only.
    assert_columns(
        contracts,
        "order",
        {"order[Nd,B,P1]": (0, 1), "order[Nd,B,P2]": (0, 1)},
        {},
        integer=True,
    )


def test_family_country_used(countries):
    # Binary per (element, country) with supply.
    assert_columns(
        countries,
        "country_used",
        {
            "country_used[Nd,CN]": (0, 1),
            "country_used[Nd,AU]": (0, 1),
            "country_used[Dy,CN]": (0, 1),
        },
        {},
        integer=True,
    )


def test_family_invest(project):
    # Starts from P1 that come on stream within 3 periods after 1 to build: P1, P2.
    # capital_cost = 1,000 x 1.1^-(years to the start): P1 1,000; P2 1,000 / 1.1 = 909.0909...
    assert_columns(
        project,
        "invest",
        {"invest[P,P1]": (0, 1), "invest[P,P2]": (0, 1)},
        {"capital_cost": {"invest[P,P1]": 1_000, "invest[P,P2]": 1_000 / 1.1}},
        integer=True,
    )


# ---------------------------------------------------------------------------------------------
# Discrete row families
# ---------------------------------------------------------------------------------------------


def test_family_contract_link(contracts):
    # x - M z <= 0 with M = the capacity (A 40, B 100) or, for C (unlimited), big M =
    # horizon demand 50 + 50 + storage room 0 + every minimum order (B: 30 in each period) = 160.
    # (docs/formulation.md, "Discrete decisions": M is big_m where the capacity is unlimited.)
    rows = {}
    for p in ("P1", "P2"):
        for s, m in (("A", 40), ("B", 100), ("C", 160)):
            rows[("Nd", s, p)] = (-INF, 0, {f"buy[Nd,{s},{p}]": 1, f"contract[Nd,{s}]": -m})
    assert_rows(contracts, "contract_link", rows)


def test_family_min_order(contracts):
    # x - m o >= 0, m = 30
    assert_rows(
        contracts,
        "min_order",
        {
            ("Nd", "B", "P1"): (0, INF, {"buy[Nd,B,P1]": 1, "order[Nd,B,P1]": -30}),
            ("Nd", "B", "P2"): (0, INF, {"buy[Nd,B,P2]": 1, "order[Nd,B,P2]": -30}),
        },
    )


def test_family_order_link(contracts):
    # x - xbar o <= 0, xbar = 100
    assert_rows(
        contracts,
        "order_link",
        {
            ("Nd", "B", "P1"): (-INF, 0, {"buy[Nd,B,P1]": 1, "order[Nd,B,P1]": -100}),
            ("Nd", "B", "P2"): (-INF, 0, {"buy[Nd,B,P2]": 1, "order[Nd,B,P2]": -100}),
        },
    )


def test_family_order_contract(contracts):
    # o - z <= 0
    assert_rows(
        contracts,
        "order_contract",
        {
            ("Nd", "B", "P1"): (-INF, 0, {"order[Nd,B,P1]": 1, "contract[Nd,B]": -1}),
            ("Nd", "B", "P2"): (-INF, 0, {"order[Nd,B,P2]": 1, "contract[Nd,B]": -1}),
        },
    )


def test_family_supplier_count(contracts, countries):
    # sum_s z <= N = 2
    assert_rows(
        contracts,
        "supplier_count",
        {("Nd",): (-INF, 2, {"contract[Nd,A]": 1, "contract[Nd,B]": 1, "contract[Nd,C]": 1})},
    )
    # Without max_suppliers_per_element: no row.
    assert row_keys(countries, "supplier_count") == []


def test_family_country_floor(countries):
    # sum_p sum_{c(s)=c} x - 0.1 sum_p X_e - M k >= -M, X_e written as the element's purchases
    # (sum_p sum_s x): x of the country itself 1 - 0.1 = 0.9, others -0.1.
    # DOCS vs CODE (equivalent, reported): formulation.md writes -theta sum_p X_{e,p} (the bought
    # columns) and +M(1 - k) >= 0; the code expands X into the supply columns and puts -M in the
    # row's lower bound. These assertions pin the code's form.
    # M = theta x big M = 0.1 x max(Nd 100 + 100, Dy 10 + 10) = 20 (no stock room, no orders).
    assert_rows(
        countries,
        "country_floor",
        {
            ("Nd", "CN"): (
                -20,
                INF,
                {
                    "buy[Nd,A,P1]": 0.9,
                    "buy[Nd,B,P1]": -0.1,
                    "buy[Nd,A,P2]": 0.9,
                    "buy[Nd,B,P2]": -0.1,
                    "country_used[Nd,CN]": -20,
                },
            ),
            ("Nd", "AU"): (
                -20,
                INF,
                {
                    "buy[Nd,A,P1]": -0.1,
                    "buy[Nd,B,P1]": 0.9,
                    "buy[Nd,A,P2]": -0.1,
                    "buy[Nd,B,P2]": 0.9,
                    "country_used[Nd,AU]": -20,
                },
            ),
            ("Dy", "CN"): (
                -20,
                INF,
                {"buy[Dy,A,P1]": 0.9, "buy[Dy,A,P2]": 0.9, "country_used[Dy,CN]": -20},
            ),
        },
    )


def test_family_country_count(countries):
    # sum_c k >= K = 2
    assert_rows(
        countries,
        "country_count",
        {
            ("Nd",): (2, INF, {"country_used[Nd,CN]": 1, "country_used[Nd,AU]": 1}),
            ("Dy",): (2, INF, {"country_used[Dy,CN]": 1}),
        },
    )


def test_family_project_start(project):
    # sum_t y <= 1
    assert_rows(
        project,
        "project_start",
        {("P",): (-INF, 1, {"invest[P,P1]": 1, "invest[P,P2]": 1})},
    )


def test_family_project_capacity(project):
    # x - xbar sum_t rho(p - t - b) y <= 0, xbar 10, b 1, rho(0) 0.5, rho(k >= 1) 1, rho(k < 0) 0:
    # P1: nothing on stream; P2: start P1 at 0.5 (5); P3: start P1 at 1 (10), start P2 at 0.5 (5).
    # The project's concentrate likewise, xbar 8: P2 0.5 x 8 = 4; P3 8 and 4.
    assert_rows(
        project,
        "project_capacity",
        {
            ("offer", "Nd", "P", "P1"): (-INF, 0, {"buy[Nd,P,P1]": 1}),
            ("offer", "Nd", "P", "P2"): (-INF, 0, {"buy[Nd,P,P2]": 1, "invest[P,P1]": -5}),
            ("offer", "Nd", "P", "P3"): (
                -INF,
                0,
                {"buy[Nd,P,P3]": 1, "invest[P,P1]": -10, "invest[P,P2]": -5},
            ),
            ("concentrate", "mud", "P", "P1"): (-INF, 0, {"concentrate[P,mud,P1]": 1}),
            ("concentrate", "mud", "P", "P2"): (
                -INF,
                0,
                {"concentrate[P,mud,P2]": 1, "invest[P,P1]": -4},
            ),
            ("concentrate", "mud", "P", "P3"): (
                -INF,
                0,
                {"concentrate[P,mud,P3]": 1, "invest[P,P1]": -8, "invest[P,P2]": -4},
            ),
        },
    )


# ---------------------------------------------------------------------------------------------
# Processing stages: routes, facilities, stage caps
# ---------------------------------------------------------------------------------------------
CN_ROUTE, JP_ROUTE = "route[Dy,M,M>CN-Sep,P1]", "route[Dy,M,M>JP-Sep,P1]"


def test_family_route(chain):
    # One column per route of a converted purchase (M's feed through each separation plant),
    # unbounded (the purchase bounds it); fees per t bought: 20 x 0.9 = 18, 60 x 0.8 = 48.
    assert_columns(
        chain,
        "route",
        {CN_ROUTE: (0, INF), JP_ROUTE: (0, INF)},
        {"processing_cost": {CN_ROUTE: 18, JP_ROUTE: 48}},
    )


def test_family_routing(chain):
    # sum of routes - buy = 0 for the converted purchase only.
    assert_rows(
        chain,
        "routing",
        {("Dy", "M", "P1"): (0, 0, {CN_ROUTE: 1, JP_ROUTE: 1, "buy[Dy,M,P1]": -1})},
    )


def test_family_purchases_with_routes(chain):
    # A converted purchase delivers through its routes, at their yields.
    assert_rows(
        chain,
        "purchases",
        {
            ("Dy", "P1"): (
                0,
                0,
                {"buy[Dy,A,P1]": 1, CN_ROUTE: 0.9, JP_ROUTE: 0.8, "bought[Dy,P1]": -1},
            )
        },
    )


def test_family_facility_capacity(chain):
    # Output of every route through a facility <= its capacity.
    assert_rows(
        chain,
        "facility_capacity",
        {
            ("CN-Sep", "P1"): (-INF, 100, {CN_ROUTE: 0.9}),
            ("JP-Sep", "P1"): (-INF, 5, {JP_ROUTE: 0.8}),
        },
    )


def test_family_stage_total(chain):
    # The element's tonnes at each capped stage (not for "any": that is total purchases X).
    assert_columns(chain, "stage_total", {"stage_total[separation,Dy,P1]": (0, INF)}, {})


def test_family_stage_tonnes(chain):
    # sum of tonnes at the stage - T = 0: A's oxide 1, each route's output.
    assert_rows(
        chain,
        "stage_tonnes",
        {
            ("separation", "Dy", "P1"): (
                0,
                0,
                {
                    "buy[Dy,A,P1]": 1,
                    CN_ROUTE: 0.9,
                    JP_ROUTE: 0.8,
                    "stage_total[separation,Dy,P1]": -1,
                },
            )
        },
    )


def test_family_stage_cap(chain):
    # CN's tonnes at separation (A's own, CN-Sep's output) - 0.5 T <= 0; the tonnes delivered
    # that touch MM (both routes) - 0.9 X <= 0; CN-Sep's output - 0.8 T <= 0; the tonnes
    # delivered that touch CN or JP (every route, each once) - 0.95 X <= 0.
    total = "stage_total[separation,Dy,P1]"
    assert_rows(
        chain,
        "stage_cap",
        {
            ("Dy", "separation", "country", "CN", "P1"): (
                -INF,
                0,
                {"buy[Dy,A,P1]": 1, CN_ROUTE: 0.9, total: -0.5},
            ),
            ("Dy", "any", "country", "MM", "P1"): (
                -INF,
                0,
                {CN_ROUTE: 0.9, JP_ROUTE: 0.8, "bought[Dy,P1]": -0.9},
            ),
            ("Dy", "separation", "supplier", "CN-Sep", "P1"): (
                -INF,
                0,
                {CN_ROUTE: 0.9, total: -0.8},
            ),
            ("Dy", "any", "group", "CN+JP", "P1"): (
                -INF,
                0,
                {"buy[Dy,A,P1]": 1, CN_ROUTE: 0.9, JP_ROUTE: 0.8, "bought[Dy,P1]": -0.95},
            ),
        },
    )


# ---------------------------------------------------------------------------------------------
# Scenario column families (two-stage, CVaR)
# ---------------------------------------------------------------------------------------------
# Recourse R_w = sum pi (f - 1) x + sum max((1 + mu) pi, r) y + max(phi, r) sum u_w
#               + psi sum v_w + sum r g, with p = (calm 0.75, cut 0.25), phi 1,000, psi 300,
# mu 0.5, r = the dearest unit cost of Nd's offers = max(110, 150) = 150 (the floor price).
# No holding: the scenario's stock path changes no holding cost. Scenario columns sit in no cost
# term (those are the first stage's); their objective is sum_w p_w R_w (+ the CVaR terms).


def recourse_of(lp, scenario):
    """{column label: coefficient} of scenario ``scenario``'s (position) recourse cost."""
    row = lp.recourse.tocsr()[scenario]
    return {lp.col_label(int(j))[2]: float(v) for j, v in zip(row.indices, row.data)}


def test_family_scenario_stock(two_stage):
    # 0 <= h_w <= room 50; no objective (holding is the nominal plan's).
    labels = [f"scenario_stock[{w},Nd,{p}]" for w in ("calm", "cut") for p in ("P1", "P2")]
    assert_columns(two_stage, "scenario_stock", {lab: (0, 50) for lab in labels}, {})
    assert objective_entries(two_stage, "scenario_stock") == {}


def test_family_scenario_shortfall(two_stage):
    # 0 <= v_w <= T = 15 x 40 / 30 = 20; objective p_w x psi: 0.75 x 300 = 225, 0.25 x 300 = 75.
    labels = [f"scenario_shortfall[{w},Nd,{p}]" for w in ("calm", "cut") for p in ("P1", "P2")]
    assert_columns(two_stage, "scenario_shortfall", {lab: (0, 20) for lab in labels}, {})
    assert objective_entries(two_stage, "scenario_shortfall") == pytest.approx(
        dict(zip(labels, [225, 225, 75, 75]))
    )


def test_family_scenario_unmet(two_stage):
    # 0 <= u_w <= d = 40 from the element's first disrupted period on, else 0 (the scenario
    # cannot short demand for an event it does not yet know of): only cut's P2. Objective
    # p_w x phi: 750, 250.
    labels = [f"scenario_unmet[{w},Nd,{p}]" for w in ("calm", "cut") for p in ("P1", "P2")]
    bounds = dict(zip(labels, [(0, 0), (0, 0), (0, 0), (0, 40)]))
    assert_columns(two_stage, "scenario_unmet", bounds, {})
    assert objective_entries(two_stage, "scenario_unmet") == pytest.approx(
        dict(zip(labels, [750, 750, 250, 250]))
    )


def test_family_spot(two_stage):
    # Only in cut, from Nd's first disrupted period (P2), where f > 0: A (f 0.5) and B (f 1).
    # Bounds lambda f xbar: 0.2 x 0.5 x 20 = 2; 0.2 x 1 x 15 = 3.
    # Price (1 + mu) pi: 1.5 x 110 = 165, 1.5 x 150 = 225; objective x 0.25: 41.25, 56.25.
    assert_columns(
        two_stage,
        "spot",
        {"spot[cut,Nd,A,P2]": (0, 2), "spot[cut,Nd,B,P2]": (0, 3)},
        {},
    )
    assert objective_entries(two_stage, "spot") == pytest.approx(
        {"spot[cut,Nd,A,P2]": 41.25, "spot[cut,Nd,B,P2]": 56.25}
    )


def test_family_restock(two_stage):
    # g >= 0 per (scenario, element); objective p_w x r: 0.75 x 150 = 112.5, 0.25 x 150 = 37.5.
    assert_columns(
        two_stage, "restock", {"restock[calm,Nd]": (0, INF), "restock[cut,Nd]": (0, INF)}, {}
    )
    assert objective_entries(two_stage, "restock") == pytest.approx(
        {"restock[calm,Nd]": 112.5, "restock[cut,Nd]": 37.5}
    )


def test_family_cvar_level(two_stage):
    # t free, one column without a key; objective beta = 0.5.
    assert_columns(two_stage, "cvar_level", {"cvar_level[]": (-INF, INF)}, {})
    assert objective_entries(two_stage, "cvar_level") == {"cvar_level[]": 0.5}


def test_family_cvar_excess(two_stage):
    # e_w >= 0; objective beta p_w / (1 - alpha): 0.5 x 0.75 / 0.2 = 1.875, 0.5 x 0.25 / 0.2 = 0.625.
    assert_columns(
        two_stage,
        "cvar_excess",
        {"cvar_excess[calm]": (0, INF), "cvar_excess[cut]": (0, INF)},
        {},
    )
    assert objective_entries(two_stage, "cvar_excess") == pytest.approx(
        {"cvar_excess[calm]": 1.875, "cvar_excess[cut]": 0.625}
    )


def test_two_stage_recourse_rows(two_stage):
    # R_calm: max(phi, r) = 1,000 on u_w, psi on v_w, r on g. R_cut adds the refund of A's
    # undelivered half in P2, 110 x (0.5 - 1) = -55, and the spot prices max(165, 150) = 165 and
    # max(225, 150) = 225.
    calm = {
        "scenario_unmet[calm,Nd,P1]": 1_000,
        "scenario_unmet[calm,Nd,P2]": 1_000,
        "scenario_shortfall[calm,Nd,P1]": 300,
        "scenario_shortfall[calm,Nd,P2]": 300,
        "restock[calm,Nd]": 150,
    }
    cut = {
        "buy[Nd,A,P2]": -55,
        "spot[cut,Nd,A,P2]": 165,
        "spot[cut,Nd,B,P2]": 225,
        "scenario_unmet[cut,Nd,P1]": 1_000,
        "scenario_unmet[cut,Nd,P2]": 1_000,
        "scenario_shortfall[cut,Nd,P1]": 300,
        "scenario_shortfall[cut,Nd,P2]": 300,
        "restock[cut,Nd]": 150,
    }
    assert two_stage.recourse.shape[0] == 2
    assert recourse_of(two_stage, 0) == pytest.approx(calm)
    assert recourse_of(two_stage, 1) == pytest.approx(cut)
    # First-stage objective: own cost terms + sum_w p_w R_w. buy[Nd,A,P2]: 110 - 0.25 x 55 =
    # 96.25; stock: its holding 2 (a scenario's stock path adds none).
    assert objective_entries(two_stage, "buy") == pytest.approx(
        {"buy[Nd,A,P1]": 110, "buy[Nd,B,P1]": 150, "buy[Nd,A,P2]": 96.25, "buy[Nd,B,P2]": 150}
    )
    assert cost_entries(two_stage, "stock") == {
        "holding_cost": {"stock[Nd,P1]": 2, "stock[Nd,P2]": 2}
    }
    assert objective_entries(two_stage, "stock") == {"stock[Nd,P1]": 2, "stock[Nd,P2]": 2}


# ---------------------------------------------------------------------------------------------
# Scenario row families
# ---------------------------------------------------------------------------------------------


def test_family_spot_room(two_stage):
    # f x + y <= f xbar: A 0.5 x + y <= 10; B x + y <= 15.
    assert_rows(
        two_stage,
        "spot_room",
        {
            ("cut", "Nd", "A", "P2"): (
                -INF,
                10,
                {"buy[Nd,A,P2]": 0.5, "spot[cut,Nd,A,P2]": 1},
            ),
            ("cut", "Nd", "B", "P2"): (
                -INF,
                15,
                {"buy[Nd,B,P2]": 1, "spot[cut,Nd,B,P2]": 1},
            ),
        },
    )


def test_family_scenario_balance(two_stage):
    # sum_s f x (X where nothing of e is hit) + sum_s y + h_w[p-1] - h_w + u + u_w = d - h0 (P1):
    # rhs 40 - 5 = 35 in P1, 40 in P2.
    def calm_like(w, p):
        entries = {
            f"bought[Nd,{p}]": 1,
            f"unmet[Nd,{p}]": 1,
            f"scenario_unmet[{w},Nd,{p}]": 1,
            f"scenario_stock[{w},Nd,{p}]": -1,
        }
        if p == "P2":
            entries[f"scenario_stock[{w},Nd,P1]"] = 1
        return entries

    assert_rows(
        two_stage,
        "scenario_balance",
        {
            ("calm", "Nd", "P1"): (35, 35, calm_like("calm", "P1")),
            ("calm", "Nd", "P2"): (40, 40, calm_like("calm", "P2")),
            ("cut", "Nd", "P1"): (35, 35, calm_like("cut", "P1")),
            ("cut", "Nd", "P2"): (
                40,
                40,
                {
                    "buy[Nd,A,P2]": 0.5,
                    "buy[Nd,B,P2]": 1,
                    "spot[cut,Nd,A,P2]": 1,
                    "spot[cut,Nd,B,P2]": 1,
                    "unmet[Nd,P2]": 1,
                    "scenario_unmet[cut,Nd,P2]": 1,
                    "scenario_stock[cut,Nd,P2]": -1,
                    "scenario_stock[cut,Nd,P1]": 1,
                },
            ),
        },
    )


def test_family_scenario_target(two_stage):
    # h_w + v + v_w >= T = 20: the targets hold in every scenario, softly.
    assert_rows(
        two_stage,
        "scenario_target",
        {
            (w, "Nd", p): (
                20,
                INF,
                {
                    f"scenario_stock[{w},Nd,{p}]": 1,
                    f"shortfall[Nd,{p}]": 1,
                    f"scenario_shortfall[{w},Nd,{p}]": 1,
                },
            )
            for w in ("calm", "cut")
            for p in ("P1", "P2")
        },
    )


def test_family_restock_gap(two_stage):
    # g - h[pn] + h_w[pn] >= 0
    assert_rows(
        two_stage,
        "restock_gap",
        {
            (w, "Nd"): (
                0,
                INF,
                {f"restock[{w},Nd]": 1, f"scenario_stock[{w},Nd,P2]": 1, "stock[Nd,P2]": -1},
            )
            for w in ("calm", "cut")
        },
    )


def test_family_scenario_unmet_room(two_stage):
    # u + u_w <= d = 40
    assert_rows(
        two_stage,
        "scenario_unmet_room",
        {
            (w, "Nd", p): (
                -INF,
                40,
                {f"unmet[Nd,{p}]": 1, f"scenario_unmet[{w},Nd,{p}]": 1},
            )
            for w in ("calm", "cut")
            for p in ("P1", "P2")
        },
    )


def test_family_cvar_excess_row(two_stage):
    # e_w + t - R_w >= 0 (R_w as in test_two_stage_recourse_rows, negated).
    calm = {
        "cvar_excess[calm]": 1,
        "cvar_level[]": 1,
        "scenario_unmet[calm,Nd,P1]": -1_000,
        "scenario_unmet[calm,Nd,P2]": -1_000,
        "scenario_shortfall[calm,Nd,P1]": -300,
        "scenario_shortfall[calm,Nd,P2]": -300,
        "restock[calm,Nd]": -150,
    }
    cut = {
        "cvar_excess[cut]": 1,
        "cvar_level[]": 1,
        "buy[Nd,A,P2]": 55,
        "spot[cut,Nd,A,P2]": -165,
        "spot[cut,Nd,B,P2]": -225,
        "scenario_unmet[cut,Nd,P1]": -1_000,
        "scenario_unmet[cut,Nd,P2]": -1_000,
        "scenario_shortfall[cut,Nd,P1]": -300,
        "scenario_shortfall[cut,Nd,P2]": -300,
        "restock[cut,Nd]": -150,
    }
    assert_rows(
        two_stage,
        "cvar_excess_row",
        {("calm",): (0, INF, calm), ("cut",): (0, INF, cut)},
    )


# ---------------------------------------------------------------------------------------------
# Coverage: every family of the code has a golden test above
# ---------------------------------------------------------------------------------------------


def test_every_family_is_covered():
    from rareopt.model.discrete import DISCRETE_COLUMNS, DISCRETE_ROWS
    from rareopt.model.formulation import COLUMN_FAMILIES, ROW_FAMILIES, STAGE_COLUMNS, STAGE_ROWS
    from rareopt.model.priorities import GOAL_ROWS
    from rareopt.model.rolling import ROLLING_COLUMNS, ROLLING_ROWS
    from rareopt.model.two_stage import SCENARIO_COLUMNS, SCENARIO_ROWS

    families = {*COLUMN_FAMILIES, *ROW_FAMILIES, *DISCRETE_COLUMNS, *DISCRETE_ROWS}
    families |= {*SCENARIO_COLUMNS, *SCENARIO_ROWS, *GOAL_ROWS, *STAGE_COLUMNS, *STAGE_ROWS}
    families |= {*ROLLING_COLUMNS, *ROLLING_ROWS}
    tested = {
        name.removeprefix("test_family_") for name in globals() if name.startswith("test_family_")
    }
    # A family is covered by test_family_<family> or by a variant test_family_<family>_<case>.
    missing = {f for f in families if not any(t == f or t.startswith(f + "_") for t in tested)}
    assert not missing, missing


# ---------------------------------------------------------------------------------------------
# Markets: contract prices, take-or-pay and price scenarios
# ---------------------------------------------------------------------------------------------


def test_family_unused(market):
    # o >= 0 where take_or_pay_t > 0 (B only), paid at B's price today: min(max(90, 80), 150).
    assert_columns(
        market,
        "unused",
        {"unused[Nd,B,P1]": (0, INF), "unused[Nd,B,P2]": (0, INF)},
        {"purchase_cost": {"unused[Nd,B,P1]": 90, "unused[Nd,B,P2]": 90}},
    )


def test_family_take_or_pay(market):
    # x + o >= 4
    assert_rows(
        market,
        "take_or_pay",
        {
            ("Nd", "B", p): (4, INF, {f"buy[Nd,B,{p}]": 1, f"unused[Nd,B,{p}]": 1})
            for p in ("P1", "P2")
        },
    )


def test_family_scenario_unused(market):
    # o_w >= 0; objective p_w x the scenario's price: 0.5 x 90 = 45; spike P2: B's market 180,
    # capped at 150: 0.5 x 150 = 75.
    bounds = {
        f"scenario_unused[{w},Nd,B,{p}]": (0, INF) for w in ("calm", "spike") for p in ("P1", "P2")
    }
    assert_columns(market, "scenario_unused", bounds, {})
    assert objective_entries(market, "scenario_unused") == pytest.approx(
        {
            "scenario_unused[calm,Nd,B,P1]": 45,
            "scenario_unused[calm,Nd,B,P2]": 45,
            "scenario_unused[spike,Nd,B,P1]": 45,
            "scenario_unused[spike,Nd,B,P2]": 75,
        }
    )


def test_family_scenario_take_or_pay(market):
    # f x + o_w >= 4 (AU is never cut: f = 1)
    assert_rows(
        market,
        "scenario_take_or_pay",
        {
            (w, "Nd", "B", p): (
                4,
                INF,
                {f"buy[Nd,B,{p}]": 1, f"scenario_unused[{w},Nd,B,{p}]": 1},
            )
            for w in ("calm", "spike")
            for p in ("P1", "P2")
        },
    )


def test_market_recourse_rows(market):
    # Spike, P2: A (fixed 100) delivers half: 100 x 0.5 - 100 = -50; B pays min(180, 150) = 150
    # for each tonne: 150 - 90 = 60; its minimum at 150 in the scenario against 90 paid today.
    # Floor in the spike: the dearest of A's 100 and B's 150 = 150. Spot at the market plus the
    # spike's premium of 1.0: A 2 x 100 x 2 = 400, B 2 x 90 x 2 = 360. Unmet: max(phi, 150).
    spike = recourse_of(market, 1)
    assert {k: v for k, v in spike.items() if not k.startswith("scenario_unmet")} == pytest.approx(
        {
            "buy[Nd,A,P2]": -50,
            "buy[Nd,B,P2]": 60,
            "unused[Nd,B,P1]": -90,
            "unused[Nd,B,P2]": -90,
            "scenario_unused[spike,Nd,B,P1]": 90,
            "scenario_unused[spike,Nd,B,P2]": 150,
            "spot[spike,Nd,A,P2]": 400,
            "spot[spike,Nd,B,P2]": 360,
            "restock[spike,Nd]": 150,
        }
    )
    assert spike["scenario_unmet[spike,Nd,P2]"] == pytest.approx(1_000_000)
    calm = recourse_of(market, 0)
    assert {k: v for k, v in calm.items() if "unused" in k} == pytest.approx(
        {
            "unused[Nd,B,P1]": -90,
            "unused[Nd,B,P2]": -90,
            "scenario_unused[calm,Nd,B,P1]": 90,
            "scenario_unused[calm,Nd,B,P2]": 90,
        }
    )


# ---------------------------------------------------------------------------------------------
# Demand response
# ---------------------------------------------------------------------------------------------


def test_family_response(responses):
    # The plan's: thrift 0.3 x 10 = 3 t in P1 and P2; scrap 8 x 0.5 = 4 t from P2 (lead 1).
    assert_columns(
        responses,
        "response",
        {
            "response[Nd,thrift,P1]": (0, 3),
            "response[Nd,thrift,P2]": (0, 3),
            "response[Nd,scrap,P2]": (0, 4),
        },
        {
            "response_cost": {
                "response[Nd,thrift,P1]": 50,
                "response[Nd,thrift,P2]": 50,
                "response[Nd,scrap,P2]": 60,
            }
        },
    )
    # They stand in for purchases in the balance: X + h[p-1] - h + u + responses = d.
    row = row_of(responses, "balance", ("Nd", "P2"))
    assert row["response[Nd,thrift,P2]"] == 1 and row["response[Nd,scrap,P2]"] == 1


def test_family_demand_room(responses):
    # u + cuts <= d = 10 (recycling is not a cut)
    assert_rows(
        responses,
        "demand_room",
        {
            ("Nd", p): (-INF, 10, {f"unmet[Nd,{p}]": 1, f"response[Nd,thrift,{p}]": 1})
            for p in ("P1", "P2")
        },
    )


def test_family_response_sticky(responses):
    # c[P2] d[P1] - c[P1] d[P2] >= 0: 10 c[P2] - 10 c[P1] >= 0
    assert_rows(
        responses,
        "response_sticky",
        {
            ("Nd", "thrift", "P2"): (
                0,
                INF,
                {"response[Nd,thrift,P2]": 10, "response[Nd,thrift,P1]": -10},
            )
        },
    )


def test_family_scenario_response(responses):
    # Only in the embargo, from its first period; objective p x cost = 0.5 x 900.
    assert_columns(
        responses,
        "scenario_response",
        {
            "scenario_response[embargo,Nd,sub,P1]": (0, 5),
            "scenario_response[embargo,Nd,sub,P2]": (0, 5),
        },
        {},
    )
    assert objective_entries(responses, "scenario_response") == pytest.approx(
        {"scenario_response[embargo,Nd,sub,P1]": 450, "scenario_response[embargo,Nd,sub,P2]": 450}
    )
    row = row_of(responses, "scenario_balance", ("embargo", "Nd", "P2"))
    assert row["scenario_response[embargo,Nd,sub,P2]"] == 1
    assert row["response[Nd,thrift,P2]"] == 1 and row["response[Nd,scrap,P2]"] == 1
    room = row_of(responses, "scenario_unmet_room", ("embargo", "Nd", "P2"))
    assert room == {
        "unmet[Nd,P2]": 1,
        "scenario_unmet[embargo,Nd,P2]": 1,
        "response[Nd,thrift,P2]": 1,
        "scenario_response[embargo,Nd,sub,P2]": 1,
    }


def test_family_scenario_response_sticky(responses):
    assert_rows(
        responses,
        "scenario_response_sticky",
        {
            ("embargo", "Nd", "sub", "P2"): (
                0,
                INF,
                {
                    "scenario_response[embargo,Nd,sub,P2]": 10,
                    "scenario_response[embargo,Nd,sub,P1]": -10,
                },
            )
        },
    )


# ---------------------------------------------------------------------------------------------
# Stockpile release rules
# ---------------------------------------------------------------------------------------------


def _release_entries(w, p):
    """-h_w[p] + h_w[p-1] + h[p] - h[p-1] (the first period's previous stock is a constant)."""
    entries = {f"scenario_stock[{w},Nd,{p}]": -1, f"stock[Nd,{p}]": 1}
    if p != "P1":
        before = f"P{int(p[1]) - 1}"
        entries.update({f"scenario_stock[{w},Nd,{before}]": 1, f"stock[Nd,{before}]": -1})
    return entries


def test_family_release_cap(releases):
    # <= 4 in the emergency (cut, P2); <= 0 elsewhere (the trigger).
    expected = {
        (w, "Nd", p): (-INF, 4 if (w, p) == ("cut", "P2") else 0, _release_entries(w, p))
        for w in ("calm", "cut")
        for p in ("P1", "P2", "P3")
    }
    assert_rows(releases, "release_cap", expected)


def test_family_floor_breach(releases):
    # Outside the emergency, t below the 25 t floor, at most 25; objective p x max(phi, floor
    # price) = 0.5 x 1,000.
    cells = [("calm", "P1"), ("calm", "P2"), ("calm", "P3"), ("cut", "P1"), ("cut", "P3")]
    assert_columns(
        releases, "floor_breach", {f"floor_breach[{w},Nd,{p}]": (0, 25) for w, p in cells}, {}
    )
    assert objective_entries(releases, "floor_breach") == pytest.approx(
        {f"floor_breach[{w},Nd,{p}]": 500 for w, p in cells}
    )


def test_family_release_floor(releases):
    # h_w + breach >= 25 outside the emergency
    cells = [("calm", "P1"), ("calm", "P2"), ("calm", "P3"), ("cut", "P1"), ("cut", "P3")]
    assert_rows(
        releases,
        "release_floor",
        {
            (w, "Nd", p): (
                25,
                INF,
                {f"scenario_stock[{w},Nd,{p}]": 1, f"floor_breach[{w},Nd,{p}]": 1},
            )
            for w, p in cells
        },
    )


# ---------------------------------------------------------------------------------------------
# The rolling model (rareopt.simulate)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rolling():
    portfolio, _, _ = two_stage_inputs()
    return assemble_rolling(make_layout(portfolio))


def test_family_emergency(rolling):
    # One spot column per purchase, closed (0, 0) until a simulation opens it, no cost of its own;
    # in the balance where the purchase arrives, and not in total purchases X (outside caps).
    labels = [f"emergency[Nd,{s},{p}]" for p in ("P1", "P2") for s in ("A", "B")]
    assert_columns(rolling, "emergency", {lab: (0, 0) for lab in labels}, {})
    assert row_of(rolling, "balance", ("Nd", "P2"))["emergency[Nd,A,P2]"] == 1
    assert "emergency[Nd,A,P2]" not in row_of(rolling, "purchases", ("Nd", "P2"))


def test_family_emergency_room(rolling):
    # x + y <= capacity (a simulation sets what the period delivers): A 20, B 15.
    assert_rows(
        rolling,
        "emergency_room",
        {
            ("Nd", s, p): (-INF, cap, {f"buy[Nd,{s},{p}]": 1, f"emergency[Nd,{s},{p}]": 1})
            for p in ("P1", "P2")
            for s, cap in (("A", 20), ("B", 15))
        },
    )

"""Small instances whose optimum is derived by hand in each test's docstring."""

import pyomo.environ as pyo
import pytest
from helpers import offer, supplier, two_supplier

import rareopt
from rareopt import NoPlanError, SolveStatus


def test_binding_country_cap_splits_volume_exactly():
    """Demand 100 t/period, A (CN) 50,000 USD/t, B (AU) 60,000 USD/t, CN capped at 60%.

    Cheapest first: A takes its cap, 60 t; B the rest, 40 t. Per period
    60 x 50,000 + 40 x 60,000 = 5,400,000 USD; two periods: 10,800,000 USD.
    """
    r = rareopt.solve(two_supplier(cap=0.6))
    assert r.status is SolveStatus.OPTIMAL
    assert r.objective == pytest.approx(10_800_000)
    volume = r.plan["volume_t"]
    assert volume["Nd", "A", "P1"] == pytest.approx(60)
    assert volume["Nd", "B", "P2"] == pytest.approx(40)
    assert r.shares.loc[("Nd", "P1", "seller", "country", "CN"), "share"] == pytest.approx(0.6)
    assert r.hhi.loc[("Nd", "P1", "seller"), "hhi"] == pytest.approx(60**2 + 40**2)


def test_cap_dual_matches_resolve_with_cap_moved():
    """Loosening the CN cap by one point moves 1 t/period from B to A: saves 10,000 USD a period.

    The model reports the dual per tonne of cap headroom (-10,000 USD/t) and the cost of one point
    tighter (10,000 USD per period); a re-solve at 59% must cost exactly that much more.
    """
    base = rareopt.solve(two_supplier(cap=0.6))
    caps = base.duals.xs("country_cap", level="constraint")
    assert caps["dual"].to_numpy() == pytest.approx([-10_000, -10_000])
    tighter = rareopt.solve(two_supplier(cap=0.59))
    assert tighter.objective - base.objective == pytest.approx(caps["usd_per_point_tighter"].sum())
    assert caps["usd_per_point_tighter"].sum() == pytest.approx(20_000)


def test_demand_dual_matches_resolve_with_one_more_tonne():
    """One more tonne of demand is bought 60% from A and 40% from B: 54,000 USD."""
    base = rareopt.solve(two_supplier(cap=0.6))
    dual = base.duals.loc[("balance", "Nd", "P1", ""), "dual"]
    assert dual == pytest.approx(54_000)
    bigger = rareopt.solve(two_supplier(cap=0.6, demand=101))
    assert bigger.objective - base.objective == pytest.approx(2 * dual)


def test_supplier_cap_fills_cheapest_first():
    """Three suppliers at 10, 20, 30 kUSD/t, supplier cap 40%, demand 100: 40 + 40 + 20 t.

    Cost 40 x 10,000 + 40 x 20,000 + 20 x 30,000 = 1,800,000 USD.
    """
    p = rareopt.Portfolio(
        periods=1,
        demand={"Dy": 100},
        suppliers=[supplier("S1", "CN"), supplier("S2", "MM"), supplier("S3", "AU")],
        offers=[
            offer("S1", "Dy", 10_000, 500),
            offer("S2", "Dy", 20_000, 500),
            offer("S3", "Dy", 30_000, 500),
        ],
        policy={"supplier_caps": 0.4},
    )
    r = rareopt.solve(p)
    assert r.objective == pytest.approx(1_800_000)
    assert r.plan["volume_t"].droplevel(["element", "period"]).to_dict() == pytest.approx(
        {"S1": 40, "S2": 40, "S3": 20}
    )


def test_capacity_shortage_is_priced_unmet_demand():
    """Capacity 80 t against demand 100 t: 20 t unmet at 1,000,000 USD/t."""
    p = rareopt.Portfolio(
        periods=1,
        demand={"Tb": 100},
        suppliers=[supplier("A", "CN")],
        offers=[offer("A", "Tb", 800_000, 80)],
    )
    r = rareopt.solve(p)
    assert r.unmet.loc[("Tb", "P1"), "unmet_t"] == pytest.approx(20)
    assert r.cost_terms["shortage_penalty"] == pytest.approx(20 * 1_000_000)
    assert r.objective == pytest.approx(80 * 800_000 + 20_000_000)


def test_buy_ahead_when_capacity_disappears():
    """Capacity 200 t in P1 and none in P2, demand 100 t each: buy 200 t in P1 and hold 100 t.

    Cost 200 x 50,000 + 100 t held one period x 10 USD/t = 10,001,000 USD.
    """
    p = rareopt.Portfolio(
        periods=2,
        demand={"Nd": 100},
        suppliers=[supplier("A", "AU")],
        offers=[offer("A", "Nd", 50_000, [200, 0])],
        stockpile=[{"element": "Nd", "initial_t": 0, "capacity_t": 500, "holding_usd_per_t": 10}],
    )
    r = rareopt.solve(p)
    assert r.stock.loc[("Nd", "P1"), "level_t"] == pytest.approx(100)
    assert r.objective == pytest.approx(10_001_000)
    assert ("Nd", "A", "P2") not in r.plan.index  # no capacity, no variable


@pytest.mark.parametrize("penalty, builds", [(51_000, True), (49_000, False)])
def test_stock_target_built_only_when_penalty_outweighs_price_and_holding(penalty, builds):
    """One 30-day period, demand 100 t, target 30 days = 100 t, price 50,000, holding 500 USD/t.

    With ``priorities: weighted`` a tonne bought for the stockpile costs 50,500 USD and saves the
    penalty: worth it iff the penalty exceeds 50,500. At 51,000: buy 200 t, 100 x 50,000 + 100 x
    50,500 = 10,050,000 USD. At 49,000: buy 100 t and pay the shortfall, 5,000,000 + 100 x 49,000
    = 9,900,000 USD. With the default priorities the target comes before cost: 200 t bought at
    either penalty, 10,050,000 USD.
    """
    p = rareopt.Portfolio(
        periods={"count": 1, "days": 30},
        demand={"Nd": 100},
        suppliers=[supplier("A", "AU")],
        offers=[offer("A", "Nd", 50_000, 1_000)],
        stockpile=[
            {
                "element": "Nd",
                "initial_t": 0,
                "target_days": 30,
                "capacity_t": 1_000,
                "holding_usd_per_t": 500,
            }
        ],
        policy={"target_shortfall_penalty_usd_per_t": penalty, "priorities": "weighted"},
    )
    in_order = rareopt.solve(p.with_policy(priorities=["demand", "stock_targets", "cost"]))
    assert in_order.objective == pytest.approx(10_050_000)
    assert in_order.stock["shortfall_t"].sum() == pytest.approx(0, abs=1e-6)
    r = rareopt.solve(p)
    if builds:
        assert r.objective == pytest.approx(10_050_000)
        assert r.stock.loc[("Nd", "P1"), "level_t"] == pytest.approx(100)
    else:
        assert r.objective == pytest.approx(9_900_000)
        assert r.stock.loc[("Nd", "P1"), "shortfall_t"] == pytest.approx(100)


@pytest.mark.parametrize("weight, riskier_bought", [(2_800, True), (2_900, False)])
def test_risk_weight_switches_supplier_at_hand_derived_threshold(weight, riskier_bought):
    """A: 50,000 USD/t, risk 0.8; B: 52,000 USD/t, risk 0.1. A stays cheaper while
    50,000 + 0.8 w < 52,000 + 0.1 w, i.e. w < 2,000 / 0.7 = 2,857 USD/t."""
    p = rareopt.Portfolio(
        periods=1,
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN", risk=0.8), supplier("B", "AU", risk=0.1)],
        offers=[offer("A", "Nd", 50_000, 100), offer("B", "Nd", 52_000, 100)],
        policy={"risk_weight_usd_per_t": weight},
    )
    r = rareopt.solve(p)
    bought_from_a = r.plan.loc[("Nd", "A", "P1"), "volume_t"]
    assert bought_from_a == pytest.approx(10 if riskier_bought else 0)
    risk = (0.8 if riskier_bought else 0.1) * weight * 10
    assert r.cost_terms["risk_penalty"] == pytest.approx(risk)


def test_hard_target_above_stock_capacity_is_infeasible_with_explanation():
    """A hard 60-day target (200 t) with room for 50 t cannot be met: no plan, typed status."""
    p = rareopt.Portfolio(
        periods={"count": 1, "days": 30},
        demand={"Nd": 100},
        suppliers=[supplier("A", "AU")],
        offers=[offer("A", "Nd", 50_000, 1_000)],
        stockpile=[{"element": "Nd", "target_days": 60, "capacity_t": 50}],
        policy={"hard_stock_targets": True},
    )
    r = rareopt.solve(p)
    assert r.status in (SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE_OR_UNBOUNDED)
    assert not r.ok
    with pytest.raises(NoPlanError, match="hard stock target 200.0 t"):
        r.plan
    assert "storage room 50.0 t" in r.explanation
    assert "infeasible" in r.summary()


def test_user_constraint_added_to_built_model_is_honoured():
    """Force at least 70 t from B in P1: cost rises by 30 t x (60,000 - 50,000) = 300,000 USD."""
    base = rareopt.solve(two_supplier(cap=0.6))
    m = rareopt.build(two_supplier(cap=0.6))
    m.min_from_b = pyo.Constraint(expr=m.buy["Nd", "B", "P1"] >= 70)
    r = rareopt.solve(m)
    assert r.plan.loc[("Nd", "B", "P1"), "volume_t"] == pytest.approx(70)
    assert r.objective - base.objective == pytest.approx(300_000)
    assert pyo.value(m.buy["Nd", "B", "P1"]) == pytest.approx(70)


def test_horizon_caps_let_a_cheap_period_carry_the_share():
    """Over the horizon, CN may take 100% in P1 if P2 is all AU: CN capacity 100 t in P1 only,
    AU 200 t in P2 only; demand 50 t each period, stock free. Per-period caps (50%) would need AU
    in P1; horizon caps only need CN <= 50% of 100 t. Optimum: buy CN 50 t in P1, AU 50 t in P2."""
    p = rareopt.Portfolio(
        periods=2,
        demand={"Nd": 50},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[offer("A", "Nd", 50_000, [100, 0]), offer("B", "Nd", 60_000, [0, 200])],
        stockpile=[{"element": "Nd", "capacity_t": 1_000}],
        policy={"country_caps": {"CN": 0.5}, "cap_basis": "horizon"},
    )
    r = rareopt.solve(p)
    assert r.objective == pytest.approx(50 * 50_000 + 50 * 60_000)
    assert r.unmet["unmet_t"].sum() == pytest.approx(0)
    per_period = rareopt.solve(p.with_policy(cap_basis="period"))
    assert per_period.unmet["unmet_t"].sum() == pytest.approx(50)


def test_per_element_shortfall_penalty_overrides_the_policy():
    """Same one-period instance as above, weighted, with the policy at 49,000 (no build) but Nd's
    own penalty at 51,000: Nd's stock is built, 10,050,000 USD."""
    p = rareopt.Portfolio(
        periods={"count": 1, "days": 30},
        demand={"Nd": 100},
        suppliers=[supplier("A", "AU")],
        offers=[offer("A", "Nd", 50_000, 1_000)],
        stockpile=[
            {
                "element": "Nd",
                "target_days": 30,
                "capacity_t": 1_000,
                "holding_usd_per_t": 500,
                "shortfall_penalty_usd_per_t": 51_000,
            }
        ],
        policy={"target_shortfall_penalty_usd_per_t": 49_000, "priorities": "weighted"},
    )
    assert rareopt.solve(p).objective == pytest.approx(10_050_000)
    blank = p.replace_tables(stockpile=p.stockpile.assign(shortfall_penalty_usd_per_t=None))
    assert rareopt.solve(blank).objective == pytest.approx(9_900_000)


def test_capacity_dual_matches_resolve_with_more_capacity():
    """Weighted: capacity 80 t against demand 100 t at price 800,000 and shortage 1,000,000: one
    more tonne of capacity saves 200,000 USD; the unused capacity of a dearer offer is worth 0."""
    p = rareopt.Portfolio(
        periods=1,
        demand={"Tb": 100},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[offer("A", "Tb", 800_000, 80), offer("B", "Tb", 1_500_000, 50)],
        policy={"priorities": "weighted"},
    )
    r = rareopt.solve(p)
    duals = r.duals.xs("capacity", level="constraint")["dual"]
    assert duals["Tb", "P1", "A"] == pytest.approx(-200_000)
    assert duals["Tb", "P1", "B"] == pytest.approx(0)
    more = p.replace_tables(capacity=p.capacity.assign(capacity_t=[81.0, 50.0]))
    assert rareopt.solve(more).objective - r.objective == pytest.approx(-200_000)

"""Goals met in order (policy.priorities), hard goals, the terminal condition, and a recourse that a
delivery disruption can never make negative (docs/formulation.md, "Priorities" and "Recourse")."""

import numpy as np
import pytest
from helpers import offer, supplier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rareopt
from rareopt import SolveStatus
from rareopt.inputs.synthetic import disruptions, generate

DEFAULT = ["demand", "stock_targets", "cost"]


def short_capacity(**policy):
    """Tb 100 t in one period; A (CN) sells 80 t at 800,000 USD/t, B (AU) 50 t at 1,500,000.

    The shortage penalty, 1,000,000 USD/t, is below B's price.
    """
    return rareopt.Portfolio(
        periods=1,
        demand={"Tb": 100},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[offer("A", "Tb", 800_000, 80), offer("B", "Tb", 1_500_000, 50)],
        policy={"shortage_penalty_usd_per_t": 1_000_000, **policy},
    )


def test_demand_comes_before_cost_whatever_the_shortage_penalty():
    # Default: 80 t from A and 20 t from B, 64,000,000 + 30,000,000 = 94,000,000 USD, none unmet.
    r = rareopt.solve(short_capacity())
    assert r.unmet["unmet_t"].sum() == pytest.approx(0, abs=1e-6)
    assert r.objective == pytest.approx(94_000_000)
    assert r.solver["goal_optima"]["demand"] == pytest.approx(0, abs=1e-6)
    # Weighted: a tonne short costs 1,000,000 < 1,500,000, so 20 t go unmet: 64,000,000 +
    # 20,000,000 = 84,000,000 USD.
    w = rareopt.solve(short_capacity(priorities="weighted"))
    assert w.unmet["unmet_t"].sum() == pytest.approx(20)
    assert w.objective == pytest.approx(84_000_000)
    assert "goal_optima" not in w.solver


def competing(**policy):
    """Nd 100 t in one 30-day period, nothing in stock, a 30-day target (100 t); A sells 150 t."""
    return rareopt.Portfolio(
        periods={"count": 1, "days": 30},
        demand={"Nd": 100},
        suppliers=[supplier("A", "AU")],
        offers=[offer("A", "Nd", 50_000, 150)],
        stockpile=[{"element": "Nd", "target_days": 30, "capacity_t": 1_000}],
        policy=policy,
    )


@pytest.mark.parametrize(
    "order, unmet, shortfall",
    [(DEFAULT, 0.0, 50.0), (["stock_targets", "demand", "cost"], 50.0, 0.0)],
)
def test_the_first_goal_wins_when_demand_and_target_compete(order, unmet, shortfall):
    r = rareopt.solve(competing(priorities=order))
    assert r.unmet["unmet_t"].sum() == pytest.approx(unmet, abs=1e-6)
    assert r.stock["shortfall_t"].sum() == pytest.approx(shortfall, abs=1e-6)


def test_hard_targets_are_never_met_by_shorting_demand():
    # 150 t cannot cover 100 t of demand and 100 t of stock: infeasible, not 50 t unmet.
    r = rareopt.solve(competing(hard_stock_targets=True))
    assert r.status is SolveStatus.INFEASIBLE
    assert "demand first" in set(r.conflicts["kind"])
    # Weighted too: hard targets always leave demand to be met first.
    assert not rareopt.solve(competing(hard_stock_targets=True, priorities="weighted")).ok
    enough = competing(hard_stock_targets=True).replace_tables(
        offers=competing().offers.assign(capacity_t=200.0), capacity=None
    )
    r = rareopt.solve(enough)
    assert r.ok and r.unmet["unmet_t"].sum() == pytest.approx(0, abs=1e-6)
    assert r.stock["level_t"].iloc[0] == pytest.approx(100)


def test_hard_demand_is_infeasible_when_capacity_is_short():
    r = rareopt.solve(
        short_capacity(hard_demand=True).replace_tables(
            offers=short_capacity().offers.assign(capacity_t=[80.0, 10.0]), capacity=None
        )
    )
    assert r.status is SolveStatus.INFEASIBLE
    assert {"capacity", "demand"} <= set(r.conflicts["kind"])
    assert rareopt.solve(short_capacity(hard_demand=True)).ok


def twelve_months(**policy):
    """Nd and Dy over 12 months, written as docs/data-format.md does, penalties as in japan."""
    return rareopt.Portfolio(
        periods={"start": "2026-01", "count": 12, "freq": "month"},
        demand={"Nd": 370, "Dy": 25},
        suppliers=[supplier("CN-Baotou", "CN"), supplier("AU-Lynas", "AU")],
        offers=[
            offer("CN-Baotou", "Nd", 56_000, 400, freight=300),
            offer("AU-Lynas", "Nd", 61_600, 400, freight=400),
            offer("CN-Baotou", "Dy", 260_000, 40, freight=300),
            offer("AU-Lynas", "Dy", 286_000, 30, freight=400),
        ],
        stockpile=[
            {
                "element": e,
                "initial_t": 2 * d,
                "target_days": {"from": 60, "to": 180, "periods": 12},
                "capacity_t": 8 * d,
                "holding_usd_per_t": h,
                "shortfall_penalty_usd_per_t": psi,
            }
            for e, d, h, psi in (("Nd", 370, 280, 2_800), ("Dy", 25, 1_300, 13_000))
        ],
        policy={"country_caps": {"CN": 0.5}, "shortage_penalty_usd_per_t": 2e6, **policy},
    )


def test_a_reachable_target_holds_to_the_end_of_the_horizon():
    r = rareopt.solve(twelve_months())
    last = r.stock.xs("2026-12", level="period")
    assert (last["level_t"] >= last["target_t"] - 1e-6).all()
    assert r.unmet["unmet_t"].sum() == pytest.approx(0, abs=1e-6)
    # With the penalties blended into one objective the same portfolio drains Dy at the end
    # (13,000 USD/t a month is below Dy's price): what the terminal priority prevents.
    w = rareopt.solve(twelve_months(priorities="weighted"))
    assert w.stock.loc[("Dy", "2026-12"), "level_t"] < w.stock.loc[("Dy", "2026-12"), "target_t"]


def test_japan_with_china_at_40_percent_leaves_no_demand_unmet():
    japan = rareopt.load_example("japan")
    r = rareopt.solve(japan.with_policy(country_caps={"CN": 0.4}))
    assert r.unmet["unmet_t"].sum() == pytest.approx(0, abs=1e-5)
    weighted = rareopt.solve(japan.with_policy(country_caps={"CN": 0.4}, priorities="weighted"))
    # The blended objective is cheaper in its own terms: it may short demand to save penalties.
    assert weighted.objective <= r.objective + 1e-6 * r.objective


def test_the_nominal_plan_of_a_two_stage_model_follows_the_priorities():
    cut = rareopt.ScenarioSet(
        [
            {"name": "calm", "probability": 0.9},
            {"name": "cut", "probability": 0.1, "disruptions": [{"country": "CN"}]},
        ]
    )
    r = rareopt.solve(short_capacity(), scenarios=cut)
    assert r.unmet["unmet_t"].sum() == pytest.approx(0, abs=1e-6)
    assert r.scenarios.cost["recourse_usd"].min() >= -1e-6


def test_priorities_that_are_not_an_order_of_the_goals_are_named():
    with pytest.raises(rareopt.PortfolioError, match="priorities.*with cost last"):
        short_capacity(priorities=["cost", "demand", "stock_targets"])
    with pytest.raises(rareopt.PortfolioError, match="priorities"):
        short_capacity(priorities="lexicographic")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 10_000),
    st.sampled_from([0.0, 0.2, 0.5]),
    st.sampled_from([0.0, 0.3, 1.0]),
    st.sampled_from(["weighted", tuple(DEFAULT)]),
)
def test_a_delivery_disruption_never_makes_a_plan_cheaper(seed, premium, share, priorities):
    """R >= 0 for every scenario that only cuts deliveries, whatever the prices and penalties."""
    p = generate(elements=2, suppliers=5, periods=4, seed=seed).with_policy(priorities=priorities)
    plan = rareopt.solve(p)
    assert plan.ok
    scenarios = disruptions(p, 8, seed=seed).with_market(spot_premium=premium, spot_share=share)
    outcome = rareopt.stress_test(plan, scenarios)
    recourse = outcome.cost["recourse_usd"].to_numpy()
    assert np.all(recourse >= -1e-7 * max(1.0, plan.objective))
    parts = outcome.cost["recourse_spend_usd"] + outcome.cost["recourse_penalty_usd"]
    assert np.allclose(parts, recourse, rtol=1e-9, atol=1e-6)
    assert (outcome.cost["recourse_penalty_usd"] >= -1e-7 * max(1.0, plan.objective)).all()

"""Two-stage model: hand-derived hedging thresholds, CVaR limits, stress tests, EVPI and VSS."""

import numpy as np
import pytest
from helpers import offer, supplier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rareopt
from rareopt import CVaR, ScenarioSet
from rareopt.inputs.synthetic import generate
from rareopt.model.risk import conditional_value_at_risk

PRICE_A, PENALTY, P_EMBARGO = 100.0, 1000.0, 0.1


def hedging_instance(premium, p=P_EMBARGO, spot_share=0.0):
    """One element, 10 t in one period; A (CN) at 100 USD/t, B (AU) at 100 + premium; CN embargo
    with probability p. Buying from A costs 100 and, with probability p, the 10 t go unmet at
    1,000 USD/t (the undelivered A tonnes are not paid for)."""
    portfolio = rareopt.Portfolio(
        periods=1,
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[offer("A", "Nd", PRICE_A, 20), offer("B", "Nd", PRICE_A + premium, 20)],
        policy={"shortage_penalty_usd_per_t": PENALTY},
    )
    scenarios = ScenarioSet(
        [
            {"name": "calm", "probability": 1 - p},
            {"name": "embargo", "probability": p, "disruptions": [{"country": "CN"}]},
        ],
        spot_share=spot_share,
    )
    return portfolio, scenarios


def from_b(result):
    return result.plan.xs("B", level="supplier")["volume_t"].sum()


@pytest.mark.parametrize("side, hedged", [(-1.0, True), (1.0, False)])
def test_plan_hedges_exactly_when_expected_shortage_cost_exceeds_the_premium(side, hedged):
    threshold = P_EMBARGO * (PENALTY - PRICE_A)  # 90 USD/t
    portfolio, scenarios = hedging_instance(threshold + side)
    result = rareopt.solve(portfolio, scenarios=scenarios)
    assert from_b(result) == pytest.approx(10.0 if hedged else 0.0, abs=1e-6)
    expected = 10 * (PRICE_A + threshold + min(side, 0.0))
    assert result.objective == pytest.approx(expected)


@pytest.mark.parametrize(
    "risk, threshold",
    [
        (CVaR(alpha=0.0, weight=1.0), 2 * P_EMBARGO * (PENALTY - PRICE_A)),  # CVaR_0 = mean
        (CVaR(alpha=0.95, weight=0.5), (P_EMBARGO + 0.5) * (PENALTY - PRICE_A)),  # worst case
    ],
    ids=["alpha0-is-expectation", "alpha95-is-worst-case"],
)
def test_cvar_moves_the_hedging_threshold_as_theory_says(risk, threshold):
    for side, hedged in ((-1.0, True), (1.0, False)):
        portfolio, scenarios = hedging_instance(threshold + side)
        result = rareopt.solve(portfolio, scenarios=scenarios, risk=risk)
        assert bool(from_b(result) > 5) is hedged


def test_cvar_metric_limits_on_a_fixed_plan():
    portfolio, scenarios = hedging_instance(200.0)
    outcome = rareopt.solve(portfolio, scenarios=scenarios).scenarios
    recourse, p = outcome.cost["recourse_usd"], outcome.cost["probability"]
    assert conditional_value_at_risk(recourse, p, 0.0) == pytest.approx(float(p @ recourse))
    assert conditional_value_at_risk(recourse, p, 0.999) == pytest.approx(recourse.max())
    assert recourse["embargo"] == pytest.approx(10 * (PENALTY - PRICE_A))


def test_spot_market_caps_the_cost_of_an_embargo():
    portfolio, scenarios = hedging_instance(1_000.0, spot_share=0.5)
    outcome = rareopt.solve(portfolio, scenarios=scenarios).scenarios
    # A is bought (B too dear); in the embargo B sells up to half its 20 t on the spot market at
    # 1,100 x 1.5 = 1,650 USD/t, dearer than the 1,000 USD/t shortage penalty: nothing is bought.
    assert outcome.cost.loc["embargo", "spot_t"] == pytest.approx(0.0)
    cheap_spot = scenarios.with_market(spot_premium=0.0)
    portfolio, _ = hedging_instance(500.0)
    outcome = rareopt.solve(portfolio, scenarios=cheap_spot).scenarios
    assert outcome.cost.loc["embargo", "spot_t"] == pytest.approx(10.0)
    assert outcome.cost.loc["embargo", "recourse_usd"] == pytest.approx(10 * (600 - PRICE_A))


def test_stress_test_equals_the_recourse_of_the_two_stage_optimum():
    japan = rareopt.load_example("japan")
    scenarios = rareopt.event_scenarios(
        ["china-japan-2010", "china-export-licensing-2025"], start=6, baseline=0.8
    )
    solved = rareopt.solve(japan, scenarios=scenarios)
    stressed = rareopt.stress_test(solved, scenarios)
    pd_cost = solved.scenarios.cost["recourse_usd"]
    np.testing.assert_allclose(stressed.cost["recourse_usd"], pd_cost, rtol=1e-6, atol=1.0)
    assert stressed.checks["max_excess"].max() <= stressed.checks["tolerance"].max()


def test_stressing_the_deterministic_plan_shows_the_embargo_and_the_stockpile_use():
    japan = rareopt.load_example("japan")
    plan = rareopt.solve(japan)
    outcome = rareopt.stress_test(plan, rareopt.event_scenarios(["china-japan-2010"], start=12))
    # China stops delivering in 2026-12 and 2027-01: the stockpile covers the gap.
    after = outcome.stock.loc[("china-japan-2010", "Nd", "2027-01")]
    nominal = plan.stock.loc[("Nd", "2027-01")]
    assert after["delivered_t"] < after["contracted_t"]
    assert after["level_t"] < nominal["level_t"] - 100
    assert outcome.cost.loc["china-japan-2010", "unmet_t"] == pytest.approx(0, abs=1e-6)
    assert outcome.cost.loc["china-japan-2010", "undelivered_t"] > 0
    assert outcome.metrics["expected_recourse_usd"] > 0


def test_two_stage_plan_costs_more_up_front_and_less_in_the_embargo():
    japan = rareopt.load_example("tiny")
    scenarios = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.7)
    plain = rareopt.stress_test(rareopt.solve(japan), scenarios)
    hedged = rareopt.solve(japan, scenarios=scenarios)
    assert hedged.scenarios.metrics["first_stage_usd"] >= plain.metrics["first_stage_usd"] - 1e-6
    plain_total = plain.metrics["first_stage_usd"] + plain.metrics["expected_recourse_usd"]
    assert hedged.objective <= plain_total + 1e-6


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), p=st.floats(0.05, 0.6))
def test_evpi_and_vss_are_non_negative_on_random_instances(seed, p):
    portfolio = generate(2, 6, 3, seed=seed)
    scenarios = rareopt.generate_scenarios(
        portfolio, 20, {"CN": p, "AU": p / 2}, duration=2, seed=seed
    )
    value = rareopt.value_of_stochastic_solution(portfolio, scenarios)
    scale = 1e-6 * max(1.0, abs(value["rp"]))
    assert value["evpi"] >= -scale
    assert value["vss"] >= -scale
    assert value["ws"] <= value["rp"] + scale <= value["eev"] + 2 * scale


def test_one_scenario_model_can_be_built_on_its_own():
    scenarios = rareopt.event_scenarios(["china-japan-2010", "pandemic-logistics-2020"])
    model = rareopt.build(rareopt.load_example("tiny"), scenarios, only=["pandemic-logistics-2020"])
    assert list(model.recourse) == ["pandemic-logistics-2020"]
    assert rareopt.solve(model).ok


def test_solve_with_scenarios_reports_recourse_in_the_summary_and_cost_terms():
    scenarios = rareopt.event_scenarios(["china-japan-2010"], baseline=0.9)
    result = rareopt.solve(rareopt.load_example("tiny"), scenarios=scenarios)
    assert result.cost_terms.sum() == pytest.approx(result.objective)
    assert "expected recourse" in result.summary()
    assert "two-stage objective" in set(result.checks["check"])


def test_period_without_offers_for_an_element_builds_and_solves():
    """Dy has no capacity in P2; a Nd disruption must not trip the scenario balance of Dy."""
    portfolio = rareopt.Portfolio(
        periods=2,
        demand={"Nd": 10, "Dy": 5},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[
            offer("A", "Nd", 100, 20),
            offer("B", "Nd", 150, 20),
            offer("A", "Dy", 300, [10, 0]),
        ],
        policy={"shortage_penalty_usd_per_t": 1000},
    )
    cut = ScenarioSet(
        [
            {"name": "calm", "probability": 0.5},
            {
                "name": "cut",
                "probability": 0.5,
                "disruptions": [{"country": "CN", "elements": ["Nd"], "start": 1}],
            },
        ],
        spot_share=0.0,
    )
    result = rareopt.solve(portfolio, scenarios=cut)
    assert result.ok and result.scenarios.cost.loc["cut", "unmet_t"] == pytest.approx(5.0)


def test_a_disruption_never_pays_and_unmet_demand_never_exceeds_demand():
    """Stock left above the nominal plan at the end earns nothing: spot purchases stored to be
    'sold' at the replacement price would make an embargo profitable. And a scenario cannot leave
    more demand unmet than there is (which would create stock from nothing)."""
    portfolio = rareopt.Portfolio(
        periods=2,
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "AU"), supplier("C", "US")],
        offers=[
            offer("A", "Nd", 100, 100),
            offer("B", "Nd", 200, 100),
            offer("C", "Nd", 3000, 100),
        ],
        stockpile=[{"element": "Nd", "initial_t": 0, "capacity_t": 1000}],
    )
    embargo = ScenarioSet(
        [
            {"name": "calm", "probability": 0.9},
            {"name": "embargo", "probability": 0.1, "disruptions": [{"country": "CN", "start": 2}]},
        ],
        spot_share=0.5,
        spot_premium=0.5,
    )
    result = rareopt.solve(portfolio, scenarios=embargo)
    assert (result.scenarios.cost["recourse_usd"] >= -1e-6).all()
    assert result.objective >= rareopt.solve(portfolio).objective - 1e-6
    flows = result.scenarios.stock
    assert (flows["unmet_t"] <= 10 + 1e-9).all()


def test_build_two_stage_still_works_with_a_deprecation_warning():
    from rareopt.model.pyomo_view import build_two_stage

    scenarios = rareopt.event_scenarios(["china-japan-2010"])
    with pytest.warns(DeprecationWarning, match="rareopt.build"):
        model = build_two_stage(rareopt.load_example("tiny"), scenarios)
    assert list(model.recourse) == ["china-japan-2010"]


def test_a_scenario_does_not_short_demand_before_its_disruption_begins():
    """No extra unmet demand (or stock hoarded by shorting it) before the event is known."""
    japan = rareopt.load_example("japan")
    cut = rareopt.ScenarioSet(
        [{"name": "cut", "probability": 1.0, "disruptions": [{"country": "CN", "start": 6}]}]
    )
    outcome = rareopt.stress_test(rareopt.solve(japan), cut)
    before = outcome.stock.xs("cut", level="scenario")
    early = before[before.index.get_level_values("period") < "2026-06"]
    assert early["extra_unmet_t"].max() == pytest.approx(0.0, abs=1e-9)

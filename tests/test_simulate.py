"""Rolling re-planning (docs/formulation.md, "Rolling re-planning")."""

import numpy as np
import pytest
from helpers import offer, supplier

import rareopt
from rareopt import ScenarioSet
from rareopt.exceptions import NotSupportedError


def one(disruptions=(), prices=(), **market):
    return ScenarioSet(
        [
            {
                "name": "known",
                "probability": 1.0,
                "disruptions": list(disruptions),
                "prices": list(prices),
            }
        ],
        **market,
    )


def test_with_nothing_happening_it_realises_the_deterministic_optimum():
    for name in ("tiny", "japan"):
        portfolio = rareopt.load_example(name)
        sim = rareopt.simulate(portfolio, one(), compare=False)
        assert sim.cost.loc["known", "total_usd"] == pytest.approx(
            rareopt.solve(portfolio).objective, rel=1e-7
        )


def test_perfect_foresight_of_a_cut_realises_the_optimum_knowing_it():
    # One scenario is perfect foresight: every re-plan sees the cut coming, so what it realises
    # is the deterministic optimum of the portfolio with the cut capacities (no spot market).
    tiny = rareopt.load_example("tiny")
    cut = {"country": "CN", "start": 2, "delivered_fraction": 0.5}
    sim = rareopt.simulate(tiny, one([cut], spot_share=0.0), compare=False)
    cn = tiny.capacity["supplier"].map(tiny.supplier_country()).eq("CN")
    halved = tiny.capacity.assign(
        capacity_t=np.where(
            cn & tiny.capacity["period"].eq("P2"),
            tiny.capacity["capacity_t"] * 0.5,
            tiny.capacity["capacity_t"],
        )
    )
    known = rareopt.solve(tiny.replace_tables(capacity=halved))
    assert sim.cost.loc["known", "total_usd"] == pytest.approx(known.objective, rel=1e-7)
    ordered = sim.orders.xs("known", level="scenario")["volume_t"]
    assert ordered.sum() == pytest.approx(known.plan["volume_t"].sum(), rel=1e-7)


def test_spend_and_penalties_add_up_and_prices_are_the_scenarios():
    # Nd 10 t a period from an indexed offer at 100: prices double in P2, known in advance.
    p = rareopt.Portfolio(
        periods={"count": 2, "days": 30},
        demand={"Nd": 10},
        suppliers=[supplier("A", "AU")],
        offers=[{**offer("A", "Nd", 100, 100), "pricing": "indexed"}],
    )
    sim = rareopt.simulate(p, one(prices=[{"country": "*", "start": 2, "factor": 2.0}]))
    cost = sim.cost.loc["known"]
    assert cost["spend_usd"] == pytest.approx(10 * 100 + 10 * 200)
    assert cost["total_usd"] == pytest.approx(cost["spend_usd"] + cost["penalty_usd"])
    assert sim.metrics["expected_spend_usd"] == pytest.approx(3000)
    assert sim.timing["solves"] == 2


def test_it_reports_the_two_stage_forecast_beside_what_it_realises():
    tiny = rareopt.load_example("tiny")
    events = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.9)
    sim = rareopt.simulate(tiny, events)
    two_stage = rareopt.solve(tiny, scenarios=events)
    assert sim.metrics["two_stage_objective_usd"] == pytest.approx(two_stage.objective)
    assert sim.cost["two_stage_total_usd"].to_dict() == pytest.approx(
        two_stage.scenarios.cost["total_usd"].to_dict()
    )
    assert (sim.cost["saved_usd"] == sim.cost["two_stage_total_usd"] - sim.cost["total_usd"]).all()
    assert "two-stage plan's forecast" in sim.summary()


def test_the_forecast_is_the_expectation_over_the_scenarios_still_possible():
    # Before P2 the planner cannot tell the two scenarios apart: its first orders are the same
    # in both; from P2 on it knows which it is in.
    tiny = rareopt.load_example("tiny")
    events = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.5)
    orders = rareopt.simulate(tiny, events, compare=False).orders["volume_t"]
    first = orders.xs("P1", level="period")
    assert first.xs("no disruption").to_dict() == pytest.approx(
        first.xs("china-japan-2010").to_dict()
    )
    later = orders.xs("P2", level="period")
    assert later.xs("no disruption").to_dict() != pytest.approx(
        later.xs("china-japan-2010").to_dict()
    )


def test_concentrates_are_not_simulated_yet():
    with pytest.raises(NotSupportedError, match="simulate with concentrates"):
        rareopt.simulate(rareopt.load_example("bundles"), one(), compare=False)

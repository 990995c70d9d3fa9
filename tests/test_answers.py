"""Answers an analyst can quote (issue 14, first part): spend apart from penalties, every output
for every result, no half-written files, no banner on stdout."""

import os
import subprocess
import sys

import numpy as np
import pytest

import rareopt
from rareopt.exceptions import NoPlanError


def short_of_supply():
    """tiny with China capped at 20%: the others cannot cover demand, so penalties appear."""
    return rareopt.load_example("tiny").with_policy(country_caps={"CN": 0.2})


def test_a_solve_without_a_standard_output_works():
    done = subprocess.run(
        [sys.executable, "-c", "import rareopt; rareopt.solve(rareopt.load_example('tiny'))"],
        check=False,
        preexec_fn=lambda: os.close(1),  # no file descriptor 1, as under a daemon
    )
    assert done.returncode == 0


def test_threads_solving_together_never_swallow_the_output():
    script = (
        "import threading, rareopt\n"
        "tiny = rareopt.load_example('tiny')\n"
        "def work():\n"
        "    for _ in range(5):\n"
        "        rareopt.solve(tiny)\n"
        "threads = [threading.Thread(target=work) for _ in range(4)]\n"
        "[t.start() for t in threads]\n"
        "[print('line', i, flush=True) for i in range(50)]\n"
        "[t.join() for t in threads]\n"
        "print('end', flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.count("line") == 50 and done.stdout.endswith("end\n")


def test_a_solve_prints_nothing():
    done = subprocess.run(
        [sys.executable, "-c", "import rareopt; rareopt.solve(rareopt.load_example('tiny'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == ""


def test_costs_split_spend_from_penalties_and_add_up_to_the_objective():
    result = rareopt.solve(short_of_supply())
    costs = result.costs.set_index("term")
    assert list(costs.index) == list(result.cost_terms.index)
    assert costs["usd"].sum() == pytest.approx(result.objective, rel=1e-9)
    assert set(costs.loc[["shortage_penalty", "target_penalty", "risk_penalty"], "kind"]) == {
        "penalty"
    }
    assert set(costs.loc[["purchase_cost", "holding_cost", "contract_cost"], "kind"]) == {"spend"}
    by_kind = costs.groupby("kind")["usd"].sum()
    assert by_kind["penalty"] > 0 and result.unmet["unmet_t"].sum() > 0
    assert "penalties" in result.summary() and "t of demand unmet" in result.summary()


def test_frontier_and_compare_show_spend_penalties_and_service_apart():
    curve = rareopt.frontier(rareopt.load_example("tiny"), "country_cap", [0.6, 0.2], country="CN")
    assert np.allclose(curve["spend_usd"] + curve["penalty_usd"], curve["objective_usd"])
    assert curve.loc[0.2, "penalty_usd"] > curve.loc[0.6, "penalty_usd"] == 0
    a, b = rareopt.solve(rareopt.load_example("tiny")), rareopt.solve(short_of_supply())
    table = rareopt.compare(a, b)
    assert table.loc[("cost", "penalty (all terms)"), "difference"] > 0
    assert table.loc[("service", "unmet demand, t"), "difference"] > 0


def test_costs_of_a_two_stage_result_add_up_with_the_recourse():
    events = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.8)
    result = rareopt.solve(rareopt.load_example("tiny"), scenarios=events, risk=rareopt.CVaR())
    costs = result.costs.set_index("term")
    assert costs.loc[["expected_recourse", "risk_measure"], "kind"].eq("recourse").all()
    assert costs["usd"].sum() == pytest.approx(result.objective, rel=1e-9)


def test_a_hedged_plan_has_duals_cost_of_diversification_and_a_briefing(tmp_path):
    """README's hedged example, on tiny: every output works for a two-stage result."""
    events = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.8)
    hedged = rareopt.solve(
        rareopt.load_example("tiny"), scenarios=events, risk=rareopt.CVaR(alpha=0.95, weight=0.5)
    )
    assert len(rareopt.cost_of_diversification(hedged)) > 0
    path = hedged.report(str(tmp_path / "hedged.html"))
    assert "Cost of diversification" in open(path, encoding="utf-8").read()
    hedged.to_excel(str(tmp_path / "hedged.xlsx"))
    assert rareopt.compare(hedged, hedged).loc[("cost", "objective"), "difference"] == 0


def test_two_stage_duals_with_one_calm_scenario_equal_the_deterministic_ones():
    """Demand and capacity sit in the scenarios' rows too; their duals are added in."""
    tiny = rareopt.load_example("tiny")
    calm = rareopt.ScenarioSet([{"name": "calm", "probability": 1.0}])
    alone, two = rareopt.solve(tiny).duals["dual"], rareopt.solve(tiny, scenarios=calm).duals
    assert np.allclose(two["dual"].reindex(alone.index), alone)


@pytest.mark.parametrize(
    "element, period, supplier",
    # the last two also raise a scenario's spot limit (spot_share x delivered x capacity)
    [("Nd", "P1", "AU-Lynas"), ("Dy", "P2", "AU-Lynas"), ("Nd", "P2", "JP-Recycling")],
)
def test_two_stage_capacity_dual_is_the_cost_change_of_one_more_tonne(element, period, supplier):
    tiny = rareopt.load_example("tiny")
    events = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.8)
    base = rareopt.solve(tiny, scenarios=events)
    key = ("capacity", element, period, supplier)
    capacity = tiny.capacity.copy()
    row = (capacity[["supplier", "element", "period"]] == [supplier, element, period]).all(axis=1)
    capacity.loc[row, "capacity_t"] += 0.01
    more = rareopt.solve(tiny.replace_tables(capacity=capacity), scenarios=events)
    assert (more.objective - base.objective) / 0.01 == pytest.approx(base.duals.loc[key, "dual"])


@pytest.mark.parametrize(
    "export",
    [
        lambda r, d: r.to_csv(str(d / "tables")),
        lambda r, d: r.to_excel(str(d / "plan.xlsx")),
        lambda r, d: r.report(str(d / "brief.html")),
        lambda r, d: r.report(str(d / "brief.md")),
    ],
)
def test_an_export_without_a_plan_raises_before_writing_anything(tmp_path, export):
    stuck = rareopt.solve(rareopt.load_example("tiny"), time_limit=1e-6)
    assert not stuck.ok
    with pytest.raises(NoPlanError):
        export(stuck, tmp_path)
    assert os.listdir(tmp_path) == []


def test_a_failed_write_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch):
    result = rareopt.solve(rareopt.load_example("tiny"))
    path = tmp_path / "plan.xlsx"
    result.to_excel(str(path))
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    import pandas as pd

    monkeypatch.setattr(pd.DataFrame, "to_excel", broken)
    with pytest.raises(OSError, match="disk full"):
        result.to_excel(str(path))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["plan.xlsx"]


def test_hhi_is_undefined_where_nothing_is_bought():
    """Dy needs no purchases while its initial stock lasts: those months have no HHI, not 0."""
    tiny = rareopt.load_example("tiny")
    dy = tiny.stockpile["element"] == "Dy"
    stock = tiny.stockpile.assign(  # no target_days column: no targets
        initial_t=tiny.stockpile["initial_t"].where(~dy, 40.0),
        capacity_t=tiny.stockpile["capacity_t"].where(~dy, 40.0),
    )
    result = rareopt.solve(tiny.replace_tables(stockpile=stock))
    bought = result.plan.groupby(["element", "period"])["volume_t"].sum()
    hhi = result.hhi["hhi"].xs("seller", level="stage").reindex(bought.index)
    assert (bought == 0).any() and (bought > 0).any()
    assert hhi[bought == 0].isna().all() and hhi[bought > 0].notna().all()


def test_generated_scenarios_say_how_many_samples_were_merged():
    tiny = rareopt.load_example("tiny")
    generated = rareopt.generate_scenarios(tiny, 200, {"CN": 0.3}, seed=1)
    assert f"200 samples merged into {len(generated)} scenarios" in generated.name
    assert len(generated) < 200


def test_scenario_probabilities_print_with_their_digits():
    tiny = rareopt.load_example("tiny")
    generated = rareopt.generate_scenarios(tiny, 500, {"CN": 0.02, "AU": 0.02}, seed=3)
    outcome = rareopt.solve(tiny, scenarios=generated).scenarios
    rare = outcome.cost["probability"].min()
    assert rare < 0.05 and f"{rare:.4g}" in outcome.summary()


def _apply(portfolio, relaxation):
    """The portfolio with a relaxation applied, as an analyst would (a hair beyond each amount)."""
    stockpile = portfolio._with_target_paths(portfolio.stockpile).copy()
    capacity = portfolio.capacity.copy()
    labels = portfolio.period_labels
    for change in relaxation.itertuples(index=False):
        if change.kind == "hard stock target":
            row = stockpile.index[stockpile["element"] == change.element][0]
            path = list(stockpile.at[row, "target_days"])
            path[labels.index(change.period)] -= change.days + 1e-6
            stockpile.at[row, "target_days"] = path
        elif change.kind == "storage room":
            row = stockpile["element"] == change.element
            stockpile.loc[row, "capacity_t"] = stockpile.loc[row, "capacity_t"].clip(
                lower=float(stockpile.loc[row, "capacity_t"].iloc[0]) + change.amount_t + 1e-6
            )
        elif change.kind == "capacity":
            row = (
                capacity[["supplier", "element", "period"]]
                == [change.holder, change.element, change.period]
            ).all(axis=1)
            capacity.loc[row, "capacity_t"] += change.amount_t + 1e-6
        else:
            raise AssertionError(f"not expected here: {change.kind}")
    return portfolio.replace_tables(stockpile=stockpile, capacity=capacity)


@pytest.mark.parametrize(
    "make",
    [
        # hard targets above the storage room in every period
        lambda p: p.replace_tables(stockpile=p.stockpile.assign(capacity_t=1.0, initial_t=0.0)),
        # hard targets of 300 days of demand: more than the suppliers can deliver in time
        lambda p: p.replace_tables(stockpile=p.stockpile.assign(target_days=300.0, capacity_t=1e6)),
    ],
)
def test_an_infeasible_multi_period_portfolio_gets_a_relaxation_that_applied_solves(make):
    portfolio = make(rareopt.load_example("tiny").with_policy(hard_stock_targets=True))
    stuck = rareopt.solve(portfolio)
    assert stuck.status.value == "infeasible" and len(stuck.relaxation) > 1
    assert "restores a plan" in stuck.explanation and "e+" not in stuck.explanation
    assert rareopt.solve(_apply(portfolio, stuck.relaxation)).ok


def test_stress_tests_show_the_damage_after_the_event_starts():
    tiny = rareopt.load_example("tiny")
    plan = rareopt.solve(tiny)
    events = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.5)
    outcome = rareopt.stress_test(plan, events)
    hit = outcome.elements.loc["china-japan-2010"]
    stock = outcome.stock.loc["china-japan-2010"]
    for element in hit.index:
        days = stock.loc[element, "days_of_cover"]
        assert hit.loc[element, "days_of_cover_after_event"] == pytest.approx(days.iloc[1:].min())
        assert hit.loc[element, "days_of_cover_at_horizon_end"] == pytest.approx(days.iloc[-1])
    calm = outcome.elements.loc["no disruption"]
    assert calm["days_of_cover_after_event"].isna().all()  # not hit: no event window
    assert (calm["extra_unmet_t"] == 0).all()
    assert outcome.metrics["probability_of_extra_unmet"] <= outcome.metrics["probability_of_unmet"]
    assert "beyond the plan's own" in outcome.summary()


def test_an_infeasible_built_model_gets_its_relaxation_too():
    portfolio = rareopt.load_example("tiny").with_policy(hard_stock_targets=True)
    portfolio = portfolio.replace_tables(
        stockpile=portfolio.stockpile.assign(capacity_t=1.0, initial_t=0.0)
    )
    stuck = rareopt.solve(rareopt.build(portfolio))
    assert stuck.status.value == "infeasible"
    targets = stuck.relaxation[stuck.relaxation["kind"] == "hard stock target"]
    assert len(targets) and targets["days"].notna().all()


def test_an_element_bought_nowhere_has_no_hhi_in_the_indicators_or_a_comparison():
    tiny = rareopt.load_example("tiny")
    demand = tiny.demand.assign(
        demand_t=tiny.demand["demand_t"].where(tiny.demand["element"] != "Dy", 0.0)
    )
    no_dy = tiny.replace_tables(demand=demand, stockpile=tiny.stockpile.query("element != 'Dy'"))
    result = rareopt.solve(no_dy)
    assert np.isnan(rareopt.plan_indicators(result).loc["Dy", "hhi"])
    table = rareopt.compare(result, rareopt.solve(tiny))
    assert np.isnan(table.loc[("hhi", "Dy"), "difference"])  # not "more diversified"


def test_probability_of_falling_below_n_days_weights_the_scenarios_where_cover_drops():
    japan = rareopt.load_example("japan")
    scenarios = rareopt.ScenarioSet(
        [
            {"name": "calm", "probability": 0.75},
            {
                "name": "embargo",
                "probability": 0.25,
                "disruptions": [{"country": "CN", "start": 6, "duration": 2}],
            },
        ]
    )
    outcome = rareopt.stress_test(rareopt.solve(japan), scenarios)
    lowest = outcome.elements["min_days_of_cover"]
    # Between the embargo's low point and the calm one only the embargo falls below (elements
    # whose lowest point is the start, before the embargo, have none between).
    dropped = [e for e in japan.elements if lowest[("embargo", e)] < lowest[("calm", e)] - 1e-6]
    assert "Nd" in dropped
    for element in dropped:
        calm, cut = lowest[("calm", element)], lowest[("embargo", element)]
        middle = (calm + cut) / 2
        assert outcome.probability_below(middle)[element] == pytest.approx(0.25)
        assert outcome.probability_below(cut - 1e-6)[element] == 0.0
        assert outcome.probability_below(calm + 1e-6)[element] == pytest.approx(1.0)
    assert "probability of falling below 45 days" in outcome.summary(below_days=45)

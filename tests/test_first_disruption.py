"""Scenarios written from their first disruption on: the lighter subproblems of PH (issue 17).

``start_at_first_disruption`` replaces each scenario's stock before its first disruption of an
element by the nominal stock and drops the rows that then repeat the nominal plan. It must keep
the optimum, and each scenario's least recourse for any fixed first stage.
"""

import numpy as np
import pytest
from helpers import offer, supplier

import rareopt
from rareopt.inputs.synthetic import disruptions, generate_size
from rareopt.model.formulation import assemble
from rareopt.model.layout import make_layout
from rareopt.model.two_stage import (
    assemble_two_stage,
    fix_first_stage,
    scenario_layout,
    start_at_first_disruption,
)
from rareopt.solving.highs import HighsSession, SolveOptions


def store_with_rules_and_responses():
    """Nd from one CN supplier, a stockpile with a triggered release rule, a recourse response."""
    portfolio = rareopt.Portfolio(
        periods={"count": 5, "days": 30},
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[offer("A", "Nd", 100, 100), offer("B", "Nd", 180, 4)],
        stockpile=[
            {
                "element": "Nd",
                "initial_t": 30,
                "capacity_t": 100,
                "target_days": 60,
                "shortfall_penalty_usd_per_t": 5,
            }
        ],
        responses=[
            {
                "response": "sub",
                "element": "Nd",
                "kind": "substitution",
                "max_share": 0.5,
                "cost_usd_per_t": 300,
                "decision": "recourse",
            }
        ],
        policy={
            "shortage_penalty_usd_per_t": 1000,
            "release_rules": [{"element": "Nd", "max_release_t": 6, "trigger_share": 0.9}],
        },
    )
    cut = rareopt.ScenarioSet(
        [
            {"name": "calm", "probability": 0.5},
            {
                "name": "late",
                "probability": 0.3,
                "disruptions": [{"country": "CN", "start": 3, "delivered_fraction": 0.2}],
            },
            {
                "name": "early",
                "probability": 0.2,
                "disruptions": [{"country": "CN", "start": 1, "duration": 2}],
            },
        ]
    )
    return portfolio, cut


def instances():
    tiny = rareopt.load_example("tiny")
    japan = rareopt.load_example("japan")
    small = generate_size("small")
    yield "tiny events", tiny, rareopt.event_scenarios(["china-japan-2010"], start=2)
    yield "tiny sample", tiny, rareopt.generate_scenarios(tiny, 30, {"CN": 0.4}, seed=2)
    yield (
        "japan prices and jumps",
        japan,
        rareopt.generate_scenarios(
            japan, 12, {"CN": 0.3, "MM": 0.3}, price_volatility=0.2, seed=3, merge=False
        ),
    )
    yield "small", small, disruptions(small, 20, seed=1)
    yield "releases and responses", *store_with_rules_and_responses()


INSTANCES = {name: (portfolio, scenarios) for name, portfolio, scenarios in instances()}


def both(portfolio, scenarios):
    layout = make_layout(portfolio)
    slayout = scenario_layout(layout, scenarios)
    whole = assemble_two_stage(layout, slayout)
    return layout, whole, start_at_first_disruption(whole, layout, slayout)


def optimum(lp):
    output = HighsSession(lp, SolveOptions()).run()
    assert output.status.is_ok, output.message
    return output.objective


@pytest.mark.parametrize("name", list(INSTANCES))
def test_the_optimum_is_the_whole_models(name):
    _, whole, reduced = both(*INSTANCES[name])
    assert len(reduced.row_lower) < len(whole.row_lower)
    assert len(reduced.cost) < len(whole.cost)
    assert optimum(reduced) == pytest.approx(optimum(whole), rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("name", list(INSTANCES))
def test_a_fixed_plan_costs_the_same_in_both(name):
    # The one-stage plan, stress-tested: the recourse of a first stage that is not the optimum's.
    portfolio, scenarios = INSTANCES[name]
    layout, whole, reduced = both(portfolio, scenarios)
    nominal = assemble(layout)
    x = HighsSession(nominal, SolveOptions()).run().x
    buy = nominal.col_blocks["buy"]
    volumes = dict(zip(buy.keys(), x[buy.positions]))
    for lp in (whole, reduced):
        fix_first_stage(lp, volumes)
    assert optimum(reduced) == pytest.approx(optimum(whole), rel=1e-9, abs=1e-6)


def test_what_goes_is_the_scenarios_past_before_its_disruption():
    portfolio, scenarios = store_with_rules_and_responses()
    _, whole, reduced = both(portfolio, scenarios)
    stock = reduced.col_blocks["scenario_stock"].frame
    kept = stock.groupby("scenario")["period"].apply(list).to_dict()
    labels = portfolio.period_labels
    # Never cut: nothing of its own; cut from period 3 (1-based) or 1: from then on.
    assert "calm" not in kept
    assert kept["late"] == labels[2:]
    assert kept["early"] == labels
    assert len(whole.col_blocks["scenario_stock"].positions) == 3 * len(labels)
    restock = reduced.col_blocks["restock"].frame["scenario"].tolist()
    assert restock == ["late", "early"]


def test_a_scenario_row_that_is_not_the_nominal_one_keeps_its_scenario_and_element_whole():
    portfolio, scenarios = store_with_rules_and_responses()
    layout = make_layout(portfolio)
    slayout = scenario_layout(layout, scenarios)
    whole = assemble_two_stage(layout, slayout)
    # Make the "late" scenario's first balance row differ from the nominal one (1 t less demand).
    block = whole.row_blocks["scenario_balance"]
    first = block.positions[
        np.flatnonzero(
            (block.frame["scenario"] == "late")
            & (block.frame["period"] == portfolio.period_labels[0])
        )[0]
    ]
    whole.row_lower[first] -= 1.0
    whole.row_upper[first] -= 1.0
    reduced = start_at_first_disruption(whole, layout, slayout)
    stock = reduced.col_blocks["scenario_stock"].frame
    assert (stock["scenario"] == "late").sum() == len(portfolio.period_labels)
    assert "calm" not in set(stock["scenario"])
    assert optimum(reduced) == pytest.approx(optimum(whole), rel=1e-9)


def test_the_pyomo_view_of_it_is_a_subproblem_that_solve_refuses():
    portfolio, scenarios = store_with_rules_and_responses()
    model = rareopt.build(portfolio, scenarios, from_first_disruption=True)
    assert "calm" not in {key[0] for key in model.scenario_stock}
    with pytest.raises(ValueError, match="from_first_disruption=True, a decomposition's"):
        rareopt.solve(model)
    with pytest.raises(TypeError, match="from_first_disruption go with scenarios"):
        rareopt.build(portfolio, from_first_disruption=True)


def test_a_column_left_out_that_a_kept_row_holds_keeps_its_scenario_and_element_whole():
    # The "late" scenario's first-period shortfall made part of its first balance row: leaving
    # the shortfall out at 0 would then change that row, so "late" and Nd stay whole.
    portfolio, scenarios = store_with_rules_and_responses()
    layout = make_layout(portfolio)
    slayout = scenario_layout(layout, scenarios)
    whole = assemble_two_stage(layout, slayout)
    first = portfolio.period_labels[0]

    def member(family, blocks):
        frame = blocks[family].frame
        hit = (frame["scenario"] == "late") & (frame["period"] == first)
        return blocks[family].positions[np.flatnonzero(hit)[0]]

    matrix = whole.matrix.tolil()
    matrix[
        member("scenario_balance", whole.row_blocks), member("scenario_shortfall", whole.col_blocks)
    ] = 1.0
    whole.matrix = matrix.tocsc()
    reduced = start_at_first_disruption(whole, layout, slayout)
    stock = reduced.col_blocks["scenario_stock"].frame
    assert (stock["scenario"] == "late").sum() == len(portfolio.period_labels)
    assert optimum(reduced) == pytest.approx(optimum(whole), rel=1e-9)

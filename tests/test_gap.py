"""The optimality gap by multiple replications (Mak, Morton and Wood)."""

import numpy as np
import pytest

import rareopt


def draws(tiny):
    return lambda n, seed: rareopt.generate_scenarios(
        tiny, n, {"CN": 0.5}, duration=1, price_volatility=0.2, seed=seed
    )


def test_the_gap_is_the_candidates_cost_less_each_replications_optimum():
    tiny = rareopt.load_example("tiny")
    draw = draws(tiny)
    plan = rareopt.solve(tiny, scenarios=draw(30, 0))
    estimate = rareopt.optimality_gap(plan, draw, n=30, replications=4, progress=False)
    table = estimate.replications
    assert (table["candidate_usd"] >= table["optimum_usd"] - 1e-6).all()
    assert table["gap_usd"].to_numpy() == pytest.approx(
        (table["candidate_usd"] - table["optimum_usd"]).clip(lower=0).to_numpy()
    )
    m = estimate.metrics
    assert m["gap_upper_usd"] >= m["gap_usd"] >= 0
    # Each replication's optimum is the two-stage optimum of its own sample.
    again = rareopt.solve(tiny, scenarios=draw(30, 1000))
    assert table.loc[1000, "optimum_usd"] == pytest.approx(again.objective)


def test_the_optimal_plan_of_the_true_distribution_has_a_small_gap_and_a_poor_one_a_large():
    # Against a plan made for no disruption at all, the gap is larger than for a hedged plan.
    tiny = rareopt.load_example("tiny")
    draw = draws(tiny)
    hedged = rareopt.solve(tiny, scenarios=draw(200, 0))
    naive = rareopt.solve(tiny)
    good = rareopt.optimality_gap(hedged, draw, n=60, replications=5, progress=False)
    poor = rareopt.optimality_gap(naive, draw, n=60, replications=5, progress=False)
    assert good.metrics["gap_usd"] < poor.metrics["gap_usd"]


@pytest.mark.slow
def test_the_lower_bound_covers_the_optimum_over_repeated_seeds():
    # The mean of replications' optima is biased low: its lower confidence bound sits below the
    # optimum of a large sample (a stand-in for the true optimum) in most runs, not just one.
    tiny = rareopt.load_example("tiny")
    draw = draws(tiny)
    reference = rareopt.solve(tiny, scenarios=draw(2000, 99)).objective
    below = []
    for start in range(5):
        plan = rareopt.solve(tiny, scenarios=draw(40, start))
        estimate = rareopt.optimality_gap(
            plan, draw, n=40, replications=6, first_seed=10_000 + 100 * start, progress=False
        )
        below.append(estimate.metrics["lower_bound_usd"] <= reference * (1 + 1e-3))
    assert np.mean(below) >= 0.6

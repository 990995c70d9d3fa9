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
    below, above = [], []
    for start in range(5):
        plan = rareopt.solve(tiny, scenarios=draw(40, start))
        estimate = rareopt.optimality_gap(
            plan,
            draw,
            n=40,
            replications=6,
            first_seed=10_000 + 100 * start,
            evaluation=400,
            progress=False,
        )
        below.append(estimate.metrics["lower_bound_usd"] <= reference * (1 + 1e-3))
        # The candidate's cost on an independent sample, plus its interval, sits above.
        above.append(estimate.metrics["upper_bound_usd"] >= reference * (1 - 1e-3))
    assert np.mean(below) >= 0.6
    assert np.mean(above) >= 0.6


def test_the_upper_bound_is_the_candidates_cost_on_an_independent_sample():
    tiny = rareopt.load_example("tiny")

    def draw(n, seed):  # no price paths: equal draws merge
        return rareopt.generate_scenarios(tiny, n, {"CN": 0.5}, duration=1, seed=seed)

    plan = rareopt.solve(tiny, scenarios=draw(30, 0))
    estimate = rareopt.optimality_gap(
        plan, draw, n=20, replications=3, first_seed=50, evaluation=200, progress=False
    )
    # Seeds 50, 51, 52 are the replications'; the evaluation sample is drawn with seed 53,
    # 200 draws merged into fewer scenarios: the interval counts the draws.
    merged = draw(200, 53)
    assert len(merged) < 200
    per = rareopt.evaluate(plan, merged, draws=200, progress=False).per_scenario
    p, cost = per["probability"].to_numpy(), per["total_usd"].to_numpy()
    mean = p @ cost
    draws_std = np.sqrt(p @ (cost - mean) ** 2 * 200 / 199)
    m = estimate.metrics
    assert m["upper_bound_usd"] == pytest.approx(mean + 1.6525467 * draws_std / np.sqrt(200))
    assert "from 200 more scenarios" in estimate.summary()


def test_sequential_mode_doubles_the_sample_until_the_gap_is_below_the_tolerance():
    tiny = rareopt.load_example("tiny")
    draw = draws(tiny)
    # A tolerance no sample meets: the sample doubles up to max_n and stops there.
    grown = rareopt.optimality_gap(
        tiny, draw, n=10, replications=3, tolerance_pct=1e-9, max_n=40, progress=False
    )
    assert grown.steps.index.tolist() == [10, 20, 40]
    assert int(grown.metrics["scenarios"]) == 40
    assert not grown.metrics["tolerance_met"] and "NOT below the tolerance" in grown.summary()
    # The candidate is the plan hedged on the last sample (seed 0).
    assert grown.plan.objective == pytest.approx(
        rareopt.solve(tiny, scenarios=draw(40, 0)).objective
    )
    # A tolerance the first sample meets: one step.
    first = grown.steps["gap_upper_pct"].iloc[0]
    once = rareopt.optimality_gap(
        tiny, draw, n=10, replications=3, tolerance_pct=first + 1.0, max_n=40, progress=False
    )
    assert once.steps.index.tolist() == [10]
    assert "samples of 10 scenarios tried" in once.summary()
    assert once.metrics["tolerance_met"] and "NOT" not in once.summary()


def test_sequential_mode_starts_from_the_plan_given_and_needs_a_positive_tolerance():
    tiny = rareopt.load_example("tiny")
    draw = draws(tiny)
    plan = rareopt.solve(tiny, scenarios=draw(10, 7))
    first = rareopt.optimality_gap(plan, draw, 10, 3, tolerance_pct=1e3, max_n=40, progress=False)
    assert first.steps.index.tolist() == [10] and first.plan is plan
    with pytest.raises(ValueError, match="tolerance_pct: got -1"):
        rareopt.optimality_gap(tiny, draw, 10, 3, tolerance_pct=-1)
    with pytest.raises(ValueError, match="candidate_seed: got 1001"):
        rareopt.optimality_gap(tiny, draw, 10, 3, candidate_seed=1001)
    with pytest.raises(ValueError, match="max_n: got 5"):
        rareopt.optimality_gap(tiny, draw, 10, 3, tolerance_pct=1.0, max_n=5)

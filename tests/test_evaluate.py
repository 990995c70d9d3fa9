"""A fixed plan evaluated on a sample, in batches and across processes (issue 17, first part)."""

import numpy as np
import pytest

import rareopt


@pytest.fixture(scope="module")
def tiny_sample():
    tiny = rareopt.load_example("tiny")
    sample = rareopt.generate_scenarios(
        tiny, 24, {"CN": 0.6}, merge=False, price_volatility=0.2, seed=4
    )
    return tiny, rareopt.solve(tiny), sample


def test_batches_give_each_scenario_its_stress_test_recourse(tiny_sample):
    tiny, plan, sample = tiny_sample
    evaluation = rareopt.evaluate(plan, sample, batch_size=5, progress=False)
    whole = rareopt.stress_test(plan, sample, progress=False).cost
    per = evaluation.per_scenario
    assert per.index.tolist() == whole.index.tolist()
    assert per["recourse_usd"].to_numpy() == pytest.approx(
        whole["recourse_usd"].to_numpy(), rel=1e-9, abs=1e-6
    )
    assert per["total_usd"].to_numpy() == pytest.approx(whole["total_usd"].to_numpy(), rel=1e-9)
    p = per["probability"].to_numpy()
    assert evaluation.metrics["expected_total_usd"] == pytest.approx(
        p @ per["total_usd"].to_numpy()
    )
    assert int(evaluation.timing["batches"]) == 5


def test_processes_give_the_same_evaluation(tiny_sample):
    _, plan, sample = tiny_sample
    one = rareopt.evaluate(plan, sample, batch_size=6, progress=False)
    two = rareopt.evaluate(plan, sample, batch_size=6, workers=2, progress=False)
    assert two.per_scenario.equals(one.per_scenario)
    assert two.metrics.equals(one.metrics)


def test_an_unmerged_sample_keeps_every_draw_as_a_scenario():
    tiny = rareopt.load_example("tiny")
    merged = rareopt.generate_scenarios(tiny, 200, {"CN": 0.3}, seed=5)
    every = rareopt.generate_scenarios(tiny, 200, {"CN": 0.3}, seed=5, merge=False)
    assert len(merged) < 10 and len(every) == 200
    assert np.allclose(every.probabilities, 1 / 200)
    # The same draws: the merged set's probabilities are the unmerged draws counted.
    counts = {}
    for scenario in every.scenarios:
        counts[scenario.disruptions] = counts.get(scenario.disruptions, 0) + 1 / 200
    assert sorted(counts.values()) == pytest.approx(sorted(merged.probabilities))


def test_the_interval_narrows_as_the_sample_grows():
    tiny = rareopt.load_example("tiny")
    plan = rareopt.solve(tiny)
    small, large = (
        rareopt.evaluate(
            plan,
            rareopt.generate_scenarios(
                tiny, n, {"CN": 0.5}, merge=False, price_volatility=0.3, seed=6
            ),
            batch_size=50,
            progress=False,
        ).metrics["total_ci_half_width_usd"]
        for n in (25, 400)
    )
    assert large < small


def test_bad_arguments_are_named(tiny_sample):
    _, plan, sample = tiny_sample
    with pytest.raises(ValueError, match="batch_size: got 0"):
        rareopt.evaluate(plan, sample, batch_size=0)
    with pytest.raises(ValueError, match="workers: got 0"):
        rareopt.evaluate(plan, sample, workers=0)

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
    assert "(5 batches, 1 worker)" in evaluation.summary()


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


def test_japan_scenario_by_scenario_equals_the_stress_test_on_a_sampled_set():
    # Persistent disruptions, price paths and jumps: every scenario's recourse from its own LP
    # equals the one stress-test LP's, and the expected cost equals its objective.
    japan = rareopt.load_example("japan")
    plan = rareopt.solve(japan)
    sample = rareopt.generate_scenarios(
        japan,
        12,
        {"CN": 0.5, "MM": 0.5},
        persistence=0.75,
        recovery_periods=2,
        price_volatility=0.3,
        price_jump=2.0,
        merge=False,
        seed=7,
    )
    evaluation = rareopt.evaluate(plan, sample, batch_size=5, progress=False)
    stress = rareopt.stress_test(plan, sample, progress=False)
    per, whole = evaluation.per_scenario, stress.cost
    assert per["unmet_t"].sum() > 0  # the sample disrupts the plan
    assert per["total_usd"].to_numpy() == pytest.approx(whole["total_usd"].to_numpy(), rel=1e-9)
    assert per["spend_usd"].to_numpy() == pytest.approx(whole["spend_usd"].to_numpy(), rel=1e-9)


def test_a_first_stage_that_breaks_its_rows_is_no_plan():
    from rareopt.model.two_stage import first_stage_columns, fix_whole_first_stage
    from rareopt.solving.highs import SolveOptions
    from rareopt.solving.pipeline import prepare
    from rareopt.solving.scenario_blocks import run_by_scenario

    tiny = rareopt.load_example("tiny")
    ready = prepare(tiny, rareopt.event_scenarios(["china-japan-2010"], baseline=0.9))
    fix_whole_first_stage(ready.lp, np.zeros(first_stage_columns(ready.lp)))
    run = run_by_scenario(ready, SolveOptions())
    assert run.status.value == "infeasible"
    assert "breaks its own rows" in run.explanation
    with pytest.raises(ValueError, match="the first stage has"):
        fix_whole_first_stage(ready.lp, np.zeros(3))


def test_a_cvar_model_is_not_split_by_scenario():
    # The CVaR level is shared by the scenarios: its model does not fall apart.
    from rareopt.exceptions import NotSupportedError
    from rareopt.model.risk import CVaR
    from rareopt.model.two_stage import first_stage_columns, fix_whole_first_stage
    from rareopt.solving.pipeline import prepare
    from rareopt.solving.scenario_blocks import scenario_blocks

    tiny = rareopt.load_example("tiny")
    ready = prepare(tiny, rareopt.event_scenarios(["china-japan-2010"], baseline=0.9), CVaR(0.9))
    fix_whole_first_stage(ready.lp, np.zeros(first_stage_columns(ready.lp)))
    with pytest.raises(NotSupportedError, match="'cvar_level' is shared by the scenarios"):
        scenario_blocks(ready.lp)


def test_a_merged_sample_counts_its_draws():
    tiny = rareopt.load_example("tiny")
    plan = rareopt.solve(tiny)
    merged = rareopt.generate_scenarios(tiny, 400, {"CN": 0.5}, duration=1, seed=3)
    every = rareopt.generate_scenarios(tiny, 400, {"CN": 0.5}, duration=1, seed=3, merge=False)
    assert len(merged) < 20
    with pytest.warns(UserWarning, match="pass draws=n"):
        wide = rareopt.evaluate(plan, merged, progress=False)
    counted = rareopt.evaluate(plan, merged, draws=400, progress=False)
    alone = rareopt.evaluate(plan, every, progress=False)
    # The same draws, merged or not: the same mean and, counted as draws, the same interval.
    assert counted.metrics["expected_total_usd"] == pytest.approx(
        alone.metrics["expected_total_usd"], rel=1e-9
    )
    assert counted.metrics["total_ci_half_width_usd"] == pytest.approx(
        alone.metrics["total_ci_half_width_usd"], rel=1e-9
    )
    assert wide.metrics["total_ci_half_width_usd"] > 2 * counted.metrics["total_ci_half_width_usd"]
    with pytest.raises(ValueError, match="draws: got 3"):
        rareopt.evaluate(plan, merged, draws=3)

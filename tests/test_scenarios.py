"""Scenario sets: validation, YAML, the generator and the library of real events."""

import numpy as np
import pytest

import rareopt
from rareopt import ScenarioSet
from rareopt.exceptions import ScenarioError
from rareopt.model.layout import make_layout
from rareopt.model.two_stage import delivered_fractions


def two(p_embargo=0.1, **disruption):
    return [
        {"name": "calm", "probability": 1 - p_embargo},
        {
            "name": "embargo",
            "probability": p_embargo,
            "disruptions": [{"country": "CN", **disruption}],
        },
    ]


def test_probabilities_must_sum_to_one_and_every_problem_is_listed():
    with pytest.raises(ScenarioError) as info:
        ScenarioSet(
            [
                {"name": "a", "probability": 0.5},
                {
                    "name": "a",
                    "probability": 0.2,
                    "disruptions": [
                        {"country": "CN", "supplier": "X", "delivered_fraction": 1.5, "duration": 0}
                    ],
                },
            ],
            spot_share=2,
        )
    text = str(info.value)
    assert text.startswith("the scenario set has 6 problem(s)")
    assert "field probability: got 0.7; allowed: probabilities summing to 1" in text
    assert "scenario a, field name: got 'a'; allowed: each name once" in text
    assert (
        "field country/supplier/facility: got ('CN', 'X', None); allowed: exactly one of the three"
        in text
    )
    assert "field delivered_fraction: got 1.5; allowed: a number from 0 to 1" in text
    assert "field duration: got 0; allowed: a whole number of periods >= 1" in text
    assert "field spot_share: got 2; allowed: a number from 0 to 1" in text


def test_checks_against_the_portfolio_name_the_scenario_and_disruption():
    tiny = rareopt.load_example("tiny")
    bad = ScenarioSet(
        [
            {
                "name": "x",
                "probability": 1.0,
                "disruptions": [
                    {"supplier": "CN-Mine", "start": 9},
                    {"country": "RU", "elements": ["Sm"]},
                ],
            }
        ]
    )
    with pytest.raises(ScenarioError) as info:
        bad.check(tiny)
    text = str(info.value)
    assert "scenario x, disruption 0, field start: got 9; allowed: a period number 1..3" in text
    assert "warning: scenarios, scenario x, disruption 1, field country: got 'RU'" in text
    assert "field elements: got 'Sm'" in text


def test_unknown_fields_are_refused_with_the_allowed_ones():
    with pytest.raises(
        ScenarioError,
        match="scenario x, disruption 0, field duraton: got 2; allowed: a field of a Disruption "
        r"\(did you mean duration\?\)",
    ):
        ScenarioSet(
            [{"name": "x", "probability": 1, "disruptions": [{"country": "CN", "duraton": 2}]}]
        )


def test_delivered_fractions_by_country_supplier_element_and_period():
    tiny = rareopt.load_example("tiny")
    buy = make_layout(tiny).buy
    scenarios = ScenarioSet(
        [
            {
                "name": "x",
                "probability": 1.0,
                "disruptions": [
                    {
                        "country": "CN",
                        "elements": ["Dy"],
                        "start": "P2",
                        "duration": 5,
                        "delivered_fraction": 0.5,
                    },
                    {"supplier": "CN-Mine", "start": 3, "delivered_fraction": 0.5},
                ],
            }
        ]
    )
    f = delivered_fractions(tiny, buy, scenarios)[0]
    expected = np.ones(len(buy))
    cn = (buy["supplier"] == "CN-Mine").to_numpy()
    expected[cn & (buy["element"] == "Dy").to_numpy() & (buy["period"] != "P1").to_numpy()] *= 0.5
    expected[cn & (buy["period"] == "P3").to_numpy()] *= 0.5  # two disruptions multiply
    np.testing.assert_allclose(f, expected)


def test_yaml_round_trip(tmp_path):
    import yaml

    scenarios = ScenarioSet(two(start=2, duration=2, elements=["Nd"]), spot_premium=0.8)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenarios.to_dict()))
    again = ScenarioSet.from_yaml(str(path))
    assert again.names == scenarios.names and again.spot_premium == 0.8
    assert again.scenarios[1].disruptions == scenarios.scenarios[1].disruptions


def test_generator_is_deterministic_merges_repeats_and_matches_the_probability():
    tiny = rareopt.load_example("tiny")  # 90 days
    a = rareopt.generate_scenarios(tiny, 4000, {"CN": 0.5, "AU": 0.2}, seed=3)
    b = rareopt.generate_scenarios(tiny, 4000, {"CN": 0.5, "AU": 0.2}, seed=3)
    assert a.names == b.names and np.array_equal(a.probabilities, b.probabilities)
    assert len(a) < 4000
    years = 90 / 365.25
    hit_cn = sum(
        p
        for s, p in zip(a.scenarios, a.probabilities)
        if any(d.country == "CN" for d in s.disruptions)
    )
    assert hit_cn == pytest.approx(1 - 0.5**years, abs=0.03)


def test_common_shock_mode_disrupts_countries_together():
    tiny = rareopt.load_example("tiny")
    probability = {"CN": 0.6, "AU": 0.6}

    def both(mode):
        s = rareopt.generate_scenarios(tiny, 3000, probability, mode=mode, correlation=0.9, seed=1)
        return sum(p for sc, p in zip(s.scenarios, s.probabilities) if len(sc.disruptions) == 2)

    assert both("common") > both("independent") + 0.05
    common = rareopt.generate_scenarios(tiny, 500, probability, mode="common", seed=2)
    for scenario in common.scenarios:
        assert len({d.start for d in scenario.disruptions}) <= 1


def test_generator_refuses_bad_arguments():
    with pytest.raises(ScenarioError, match="mode.*'independent' or 'common'"):
        rareopt.generate_scenarios(rareopt.load_example("tiny"), 10, {"CN": 0.1}, mode="both")
    with pytest.raises(ScenarioError, match="annual_probability, field CN: got 1.5"):
        rareopt.generate_scenarios(rareopt.load_example("tiny"), 10, {"CN": 1.5})


def test_event_library_has_the_real_events_with_sources_and_stated_assumptions():
    events = rareopt.list_events()
    assert {
        "china-japan-2010",
        "china-export-drop-2019",
        "pandemic-logistics-2020",
        "china-export-licensing-2025",
    } <= set(events)
    licensing = rareopt.event_scenarios(["china-export-licensing-2025"])
    cut = licensing.scenarios[0].disruptions[0]
    assert set(cut.elements) == {"Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y"}
    assert "assumption" in licensing.sources[0]
    drop = rareopt.event_scenarios(["china-export-drop-2019"]).scenarios[0].disruptions[0]
    assert drop.delivered_fraction == pytest.approx(0.84)
    with pytest.raises(ScenarioError, match="one or more of"):
        rareopt.event_scenarios(["china-2099"])


def test_the_documented_scenario_file_loads_and_fits_the_japan_example():
    from pathlib import Path

    import yaml

    doc = (Path(__file__).parent.parent / "docs" / "scenarios.md").read_text()
    block = doc.split("```yaml\n")[1].split("```")[0]
    scenarios = ScenarioSet.from_dict(yaml.safe_load(block))
    assert scenarios.check(rareopt.load_example("japan")) == []
    assert scenarios.scenarios[1].disruptions[1].elements == ("Dy", "Tb")


def test_stock_held_exactly_at_a_level_is_not_below_it():
    # tiny's calm plan holds Dy at exactly 15 days (to round-off) and Nd at 20 at its lowest.
    calm = rareopt.ScenarioSet([{"name": "calm", "probability": 1.0}])
    outcome = rareopt.solve(rareopt.load_example("tiny"), scenarios=calm).scenarios
    assert outcome.probability_below(15.0).tolist() == [0.0, 0.0]
    assert outcome.probability_below(15.01).tolist() == [0.0, 1.0]
    assert outcome.probability_below(20.01).tolist() == [1.0, 1.0]


def cn_fractions(**disruption):
    tiny = rareopt.load_example("tiny")
    layout = make_layout(tiny)
    f = delivered_fractions(tiny, layout.buy, ScenarioSet(two(1.0, **disruption)))[1]
    cn = (layout.buy["country"] == "CN").to_numpy()
    return layout.buy.loc[cn, "period"].to_numpy(), f[cn]


def test_a_profile_delivers_its_own_fraction_in_each_period_and_recovery_climbs_back():
    period, f = cn_fractions(delivered_fraction=[0.5, 0.2])
    assert {p: float(v) for p, v in zip(period, f)} == {"P1": 0.5, "P2": 0.2, "P3": 1.0}
    period, f = cn_fractions(start=2, delivered_fraction=0.0, recovery_periods=3)
    # One period at 0, then 0.25 (the first of three steps back to 1); P4 is past the horizon.
    assert {p: float(v) for p, v in zip(period, f)} == {"P1": 1.0, "P2": 0.0, "P3": 0.25}


def test_a_profile_costs_what_the_same_cuts_as_separate_disruptions_cost():
    tiny = rareopt.load_example("tiny")
    profile = ScenarioSet(two(0.3, delivered_fraction=[0.5, 0.2]))
    apart = ScenarioSet(
        [
            {"name": "calm", "probability": 0.7},
            {
                "name": "embargo",
                "probability": 0.3,
                "disruptions": [
                    {"country": "CN", "start": 1, "delivered_fraction": 0.5},
                    {"country": "CN", "start": 2, "delivered_fraction": 0.2},
                ],
            },
        ]
    )
    one, other = rareopt.solve(tiny, scenarios=profile), rareopt.solve(tiny, scenarios=apart)
    assert one.objective == pytest.approx(other.objective, rel=1e-9)
    milder = rareopt.solve(tiny, scenarios=ScenarioSet(two(0.3, delivered_fraction=[0.5, 0.5])))
    assert milder.objective <= one.objective + 1e-6


@pytest.mark.parametrize(
    "disruption, words",
    [
        ({"delivered_fraction": [0.5, 1.5]}, "delivered_fraction: got [0.5, 1.5]; allowed: a non"),
        ({"delivered_fraction": []}, "delivered_fraction: got []; allowed: a non-empty list"),
        ({"delivered_fraction": [0.5, 0.2], "duration": 3}, "duration: got 3; allowed: left out"),
        ({"recovery_periods": -1}, "recovery_periods: got -1; allowed: a whole number"),
        ({"delivered_fraction": "half"}, "delivered_fraction: got 'half'; allowed: a number"),
    ],
)
def test_a_bad_profile_is_named(disruption, words):
    with pytest.raises(ScenarioError, match=words.replace("[", r"\[").replace("]", r"\]")):
        ScenarioSet(two(**disruption))


def test_a_profile_round_trips_through_the_files_mapping():
    scenarios = ScenarioSet(two(delivered_fraction=[0.52, 0.26, 0.62], recovery_periods=2))
    again = ScenarioSet.from_dict(scenarios.to_dict())
    assert again.scenarios[1].disruptions[0].profile() == pytest.approx(
        (0.52, 0.26, 0.62, 0.62 + 0.38 / 3, 0.62 + 2 * 0.38 / 3)
    )


def test_a_persistent_disruption_lasts_one_over_one_minus_q_periods_on_average():
    q = 0.75
    long = rareopt.Portfolio(
        periods={"count": 240, "days": 30},
        demand={"Nd": 1.0},
        suppliers=[{"supplier": "A", "country": "CN", "kind": "mine"}],
        offers=[{"supplier": "A", "element": "Nd", "price_usd_per_t": 1, "capacity_t": 10}],
    )
    s = rareopt.generate_scenarios(long, 20_000, {"CN": 0.5}, persistence=q, seed=7)
    lengths, weights = [], []
    for scenario in s.scenarios:
        for d in scenario.disruptions:
            if d.start <= 120:  # far from the horizon's end: no length is cut
                lengths.append(d.duration)
                weights.append(scenario.probability)
    lengths, weights = np.array(lengths, float), np.array(weights)
    mean = weights @ lengths / weights.sum()
    # The geometric law's variance is q / (1 - q)^2 = 12; about 10,000 draws qualify.
    standard_error = np.sqrt(q / (1 - q) ** 2 / (weights.sum() * 20_000))
    assert abs(mean - 1 / (1 - q)) < 4 * standard_error
    assert max(lengths) > 10  # the tail is there, not a fixed length
    fixed = rareopt.generate_scenarios(long, 500, {"CN": 0.5}, duration=3, seed=7)
    assert {d.duration for sc in fixed.scenarios for d in sc.disruptions} == {3}


def test_the_2025_event_is_the_customs_profile_with_its_source():
    event = rareopt.event_scenarios(["china-export-licensing-2025"]).scenarios[0]
    assert event.disruptions[0].profile() == (0.52, 0.26, 0.62)
    text = rareopt.event_scenarios(["china-export-licensing-2025"]).sources[0]
    assert "customs" in text and "48%" in text and "assumption" in text

"""Stockpile release rules: a maximum release, a floor kept outside emergencies and a trigger.

One element, 30 t in stock held at a 90-day target (30 t), 10 t of demand a period from one
Chinese supplier, no spot market; a cut in P2 (docs/formulation.md, "Stockpile release rules")."""

import pytest
import yaml
from helpers import offer, supplier

import rareopt
from rareopt.exceptions import PortfolioError


def store(rules, periods=3, fraction=0.0):
    portfolio = rareopt.Portfolio(
        periods={"count": periods, "days": 30},
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN")],
        offers=[offer("A", "Nd", 100, 100)],
        stockpile=[
            {
                "element": "Nd",
                "initial_t": 30,
                "capacity_t": 100,
                "target_days": 90,
                "shortfall_penalty_usd_per_t": 1,
            }
        ],
        policy={"shortage_penalty_usd_per_t": 1000, "release_rules": rules},
    )
    cut = rareopt.ScenarioSet(
        [
            {
                "name": "cut",
                "probability": 1.0,
                "disruptions": [{"country": "CN", "start": 2, "delivered_fraction": fraction}],
            }
        ],
        spot_share=0,
    )
    return portfolio, cut


def stressed(rules, **kw):
    portfolio, cut = store(rules, **kw)
    return rareopt.stress_test(rareopt.solve(portfolio), cut)


def test_without_rules_the_stockpile_covers_the_cut():
    # 10 t drawn in P2: refund -1,000, the stock bought back at the end 10 x 100, and 10 t below
    # target for two periods at 1 a tonne-period.
    out = stressed(None)
    assert out.cost.loc["cut", "recourse_usd"] == pytest.approx(-1000 + 1000 + 20)
    assert out.releases.empty


def test_a_maximum_release_leaves_the_rest_unmet_and_says_it_bound():
    # 4 t a period at most: 6 t unmet at 1,000; 4 t bought back and 4 t below target twice.
    out = stressed([{"max_release_t": 4}])
    assert out.cost.loc["cut", "recourse_usd"] == pytest.approx(-1000 + 6000 + 400 + 8)
    p2 = out.releases.loc[("cut", "Nd", "P2")]
    assert p2["emergency"] and p2["release_t"] == pytest.approx(4) and p2["bound"]
    # One more tonne of release would save unmet demand less the tonne bought back and its
    # two periods below target: 1,000 - 100 - 2 (a marginal value, from the duals).
    assert p2["marginal_usd_per_t"] == pytest.approx(898)
    assert not out.releases.loc[("cut", "Nd", "P1"), "bound"]


def test_max_release_days_are_days_of_that_periods_demand():
    # 12 days of 10 t / 30 days = 4 t: the same as max_release_t 4.
    by_days = stressed([{"max_release_days": 12}])
    assert by_days.cost.equals(stressed([{"max_release_t": 4}]).cost)


@pytest.mark.parametrize("fraction, drawn", [(0.8, 0.0), (0.4, 6.0)])
def test_a_trigger_releases_only_when_deliveries_fall_below_its_share(fraction, drawn):
    # Delivering 80% is no emergency at a 50% trigger: 2 t go unmet. At 40% the stock covers
    # the 6 t missing.
    out = stressed([{"trigger_share": 0.5}], fraction=fraction)
    cut = out.releases.loc[("cut", "Nd", "P2")]
    assert bool(cut["emergency"]) == (fraction < 0.5)
    assert cut["release_t"] == pytest.approx(drawn)
    assert out.cost.loc["cut", "unmet_t"] == pytest.approx(10 * (1 - fraction) - drawn)


def test_outside_an_emergency_the_floor_costs_like_unmet_demand():
    # A 75-day floor (25 t) over four periods: drawing below it in P2 would leave the stock
    # below the floor in P3 and P4 (two tonne-periods at 1,000 per tonne), dearer than leaving
    # the tonne unmet (1,000): 5 t drawn, 5 t unmet.
    out = stressed([{"floor_days": 75}], periods=4)
    assert out.stock.xs(("cut", "Nd"))["level_t"].tolist() == pytest.approx([30, 25, 25, 25])
    assert out.cost.loc["cut", "recourse_usd"] == pytest.approx(-1000 + 5000 + 500 + 15)
    assert (out.releases["below_floor_t"] == 0).all()


def test_the_plan_itself_is_not_bound():
    # The plan plans for no disruption: the same with or without rules.
    plain, _ = store(None)
    ruled, _ = store([{"max_release_t": 0, "floor_days": 90, "trigger_share": 0.5}])
    assert rareopt.solve(ruled).objective == pytest.approx(rareopt.solve(plain).objective)


@pytest.mark.parametrize(
    "rule, words",
    [
        ({"max_release_t": 4, "max_release_days": 2}, "one of max_release_t and max_release_days"),
        ({"trigger_share": 0}, "trigger_share: got 0; allowed: a number above 0"),
        ({"floor_days": -1}, "floor_days: got -1; allowed: a number from 0"),
        ({"element": "Dy", "max_release_t": 1}, "element: got 'Dy'; allowed: '\\*' or an element"),
        ({"element": "Nd"}, "allowed: at least one of max_release_t"),
        ({"max_release": 4}, "field max_release: got 4; allowed: a field of the release_rules"),
    ],
)
def test_a_bad_release_rule_is_named(rule, words):
    with pytest.raises(PortfolioError, match=words):
        store([rule])


def test_release_rules_round_trip_through_yaml(tmp_path):
    portfolio, cut = store([{"max_release_days": 12, "floor_days": 75, "trigger_share": 0.5}])
    path = tmp_path / "p.yaml"
    portfolio.to_yaml(str(path))
    assert yaml.safe_load(path.read_text())["policy"]["release_rules"] == [
        {"element": "*", "max_release_days": 12, "floor_days": 75, "trigger_share": 0.5}
    ]
    again = rareopt.Portfolio.from_yaml(str(path))
    assert rareopt.solve(again, scenarios=cut).objective == pytest.approx(
        rareopt.solve(portfolio, scenarios=cut).objective
    )


def test_the_documented_release_rules_bind_the_japan_example():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "data-format.md").read_text()
    block = doc.split("### Stockpile release rules")[1].split("```yaml\n")[1].split("```")[0]
    rules = yaml.safe_load(block)["policy"]["release_rules"]
    japan = rareopt.load_example("japan")
    events = rareopt.event_scenarios(["china-japan-2010"], start=6, baseline=0.8)
    plan = rareopt.solve(japan)
    free = rareopt.stress_test(plan, events)
    ruled = rareopt.stress_test(rareopt.solve(japan.with_policy(release_rules=rules)), events)
    assert len(ruled.releases) and ruled.releases["emergency"].any()
    # Rules only restrict the recourse: the same plan costs at least as much under them.
    assert ruled.cost["recourse_usd"].max() >= free.cost["recourse_usd"].max() - 1e-6

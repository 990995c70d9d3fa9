"""Processing stages and routes: hand-worked optima, stage caps, the check, and today's answers
for portfolios whose routes are all integrated (docs/formulation.md, "Processing stages")."""

import numpy as np
import pandas as pd
import pytest
from helpers import chain, offer, supplier

import rareopt
from rareopt.checks.plan import check_plan
from rareopt.exceptions import ScenarioError

CN_SEPARATION = {"country": "CN", "element": "*", "stage": "separation", "max_share": 0.5}


def test_uncapped_feed_goes_through_the_cheapest_plant():
    # 10 t from M through CN-Sep each period: 11.11 t bought x 200 + 10 t x 20 = 2,422.2 USD.
    r = rareopt.solve(chain())
    assert r.objective == pytest.approx(2 * (200 * 10 / 0.9 + 20 * 10))
    assert r.cost_terms["processing_cost"] == pytest.approx(2 * 200)
    assert r.plan.loc[("Dy", "M", "P1"), "volume_t"] == pytest.approx(10 / 0.9)
    assert r.plan.loc[("Dy", "M", "P1"), "delivered_t"] == pytest.approx(10)
    shares = r.shares.xs(("*", "separation", "country"), level=("period", "stage", "by"))["share"]
    assert shares[("Dy", "CN")] == pytest.approx(1.0)


def test_a_binding_separation_cap_sends_half_through_japan():
    # CN may separate at most 5 t of 10: JP-Sep's 5 t (310 a t) and 5 t through CN-Sep (242.2).
    r = rareopt.solve(chain(country_caps=[CN_SEPARATION]))
    assert r.objective == pytest.approx(2 * (5 * 310 + 5 * (200 / 0.9 + 20)))
    routes = r.routes.xs("separation", level="stage")
    jp = routes[routes["facility"] == "JP-Sep"]["volume_t"]
    assert jp.tolist() == pytest.approx([5.0, 5.0])
    shares = r.shares.xs(("separation", "country", "CN"), level=("stage", "by", "holder"))["share"]
    assert (shares <= 0.5 + 1e-9).all()
    # The cap on the sellers' countries is unchanged: MM sells all of it.
    assert r.shares.xs(("*", "seller", "country", "MM"), level=("period", "stage", "by", "holder"))[
        "share"
    ].iloc[0] == (pytest.approx(1.0))


def test_the_any_stage_cap_counts_every_country_a_tonne_touches():
    # "At most 50% of Dy touches China anywhere": A and the CN-Sep route both touch CN, only
    # JP-Sep's route does not, so the optimum is the separation cap's.
    any_cap = {**CN_SEPARATION, "stage": "any"}
    r = rareopt.solve(chain(stage_caps=[any_cap]))
    assert r.objective == pytest.approx(2 * (5 * 310 + 5 * (200 / 0.9 + 20)))
    touching = r.shares.xs(("*", "any", "country", "CN"), level=("period", "stage", "by", "holder"))
    assert touching["share"].iloc[0] == pytest.approx(0.5)


def test_facility_capacity_limits_what_the_cap_can_get():
    # JP-Sep can deliver 5 t: a 40% cap on CN's separation needs 6 t elsewhere: no plan meets
    # demand in full, so 1 t goes unmet each period (demand comes before cost, and before the cap
    # there is nothing to trade).
    r = rareopt.solve(chain(stage_caps=[{**CN_SEPARATION, "max_share": 0.4}]))
    assert r.ok
    separated = r.shares.xs(("separation", "country", "CN"), level=("stage", "by", "holder"))[
        "share"
    ]
    assert (separated <= 0.4 + 1e-9).all()
    assert r.unmet["unmet_t"].sum() > 0


def test_integrated_routes_give_todays_answers_exactly():
    # Every stage in the seller's country: a stage cap is the country cap, and an unused
    # facility changes nothing.
    tiny = rareopt.load_example("tiny")
    today = rareopt.solve(tiny)
    plant = [{"facility": "JP-Sep", "stage": "separation", "country": "JP", "capacity_t": 10}]
    with_plant = rareopt.solve(tiny.replace_tables(facilities=plant))
    assert with_plant.objective == pytest.approx(today.objective, rel=1e-12)
    assert with_plant.plan["volume_t"].tolist() == pytest.approx(today.plan["volume_t"].tolist())
    as_country = rareopt.solve(tiny.with_policy(country_caps={"CN": 0.5}))
    as_stage = rareopt.solve(tiny.with_policy(country_caps=[{**CN_SEPARATION, "max_share": 0.5}]))
    assert as_stage.objective == pytest.approx(as_country.objective, rel=1e-9)


def test_the_check_catches_a_plan_that_breaks_a_stage_cap_cell_by_cell():
    free = rareopt.solve(chain())
    capped = chain(country_caps=[CN_SEPARATION])
    _, violations = check_plan(capped, free.plan, free.stock, free.unmet, routes=free.routes)
    broken = violations[violations["check"] == "stage cap"]
    assert sorted(broken["period"]) == ["P1", "P2"]
    assert (broken["holder"] == "CN at separation").all()
    assert broken["excess"].tolist() == pytest.approx([5.0, 5.0])


SEPARATION = 200 / 0.9 + 20  # a delivered tonne through CN-Sep (USD)


def test_a_supplier_cap_at_a_stage_caps_the_plant_not_the_country():
    # CN-Sep may separate at most 7 of 10 t: the other 3 come from A (300, also Chinese), not
    # JP-Sep (310). CN keeps all the separation: a country cap would not have moved a tonne.
    cap = {"supplier": "CN-Sep", "element": "Dy", "stage": "separation", "max_share": 0.7}
    r = rareopt.solve(chain(supplier_caps=[cap]))
    assert r.objective == pytest.approx(2 * (7 * SEPARATION + 3 * 300))
    by_plant = r.shares.xs(("*", "separation", "supplier"), level=("period", "stage", "by"))
    assert by_plant.loc[("Dy", "CN-Sep"), "share"] == pytest.approx(0.7)
    assert r.shares.loc[("Dy", "*", "separation", "country", "CN"), "share"] == pytest.approx(1)


def test_a_wildcard_supplier_cap_at_a_stage_caps_each_plant_and_seller():
    # At most 4 of 10 t from any one separator: CN-Sep 4, A 4, JP-Sep 2.
    cap = {"supplier": "*", "element": "*", "stage": "separation", "max_share": 0.4}
    r = rareopt.solve(chain(stage_caps=[cap]))
    assert r.objective == pytest.approx(2 * (4 * SEPARATION + 4 * 300 + 2 * 310))
    free = rareopt.solve(chain())
    _, violations = check_plan(
        chain(stage_caps=[cap]), free.plan, free.stock, free.unmet, routes=free.routes
    )
    broken = violations[violations["check"] == "stage cap"]
    assert set(broken["holder"]) == {"CN-Sep at separation"}
    assert broken["excess"].tolist() == pytest.approx([6.0, 6.0])


def test_a_group_cap_at_any_stage_counts_a_route_once_per_group():
    # CN may separate half, so JP-Sep runs full (5 t); the route M -> JP-Sep touches MM and JP
    # but counts once towards the MM+JP group's 7 t: JP-Sep 5, CN-Sep 2, A 3.
    group = {"countries": ["MM", "JP"], "element": "Dy", "stage": "any", "max_share": 0.7}
    r = rareopt.solve(chain(country_caps=[CN_SEPARATION], group_caps=[group]))
    assert r.objective == pytest.approx(2 * (5 * 310 + 2 * SEPARATION + 3 * 300))
    touching = r.shares.xs(("any", "country"), level=("stage", "by"))
    assert touching.loc[("Dy", "*", "MM"), "share"] == pytest.approx(0.7)
    assert r.unmet["unmet_t"].sum() == pytest.approx(0, abs=1e-9)


def test_the_check_recomputes_each_leg_with_the_facilitys_yield():
    r = rareopt.solve(chain())
    routes = r.routes.copy()
    separated = routes.index.get_level_values("stage") == "separation"
    routes.loc[separated, "volume_t"] *= 1.1  # a yield the facility does not have
    _, violations = check_plan(chain(), r.plan, r.stock, r.unmet, routes=routes)
    assert "route leg = previous leg x yield" in set(violations["check"])


def test_a_frontier_sweeps_a_stage_cap():
    f = rareopt.frontier(
        chain(), "country_cap", [1.0, 0.5], country="CN", stage="separation", progress=False
    )
    assert f["separation share:Dy"].tolist() == pytest.approx([1.0, 0.5])
    assert f["objective_usd"].tolist() == pytest.approx(
        [2 * (200 * 10 / 0.9 + 200), 2 * (5 * 310 + 5 * (200 / 0.9 + 20))]
    )


def test_two_stage_deliveries_go_through_the_routes():
    # An embargo on MM in P2 loses the feed: the recourse buys A's spare oxide on the spot market.
    cut = rareopt.ScenarioSet(
        [
            {"name": "calm", "probability": 0.9},
            {"name": "cut", "probability": 0.1, "disruptions": [{"country": "MM", "start": 2}]},
        ],
        spot_share=1.0,
    )
    r = rareopt.solve(chain(), scenarios=cut)
    assert r.ok
    outcome = r.scenarios.cost
    assert outcome.loc["cut", "recourse_usd"] > 0
    assert outcome["recourse_usd"].min() >= -1e-6
    stock = r.scenarios.stock.xs(("cut", "Dy", "P2"))
    assert stock["delivered_t"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"facilities": [{"facility": "X", "stage": "mining", "country": "JP"}]}, "stage"),
        (
            {
                "facilities": [
                    {"facility": "X", "stage": "separation", "country": "JP", "yield": 1.5}
                ]
            },
            "yield",
        ),
        ({"facilities": []}, "stage"),
    ],
)
def test_stage_inputs_that_cannot_work_are_named(change, field):
    base = chain()
    with pytest.raises(rareopt.PortfolioError) as caught:
        base.replace_tables(**change)
    assert field in str(caught.value)


def test_a_stage_cap_with_an_unknown_stage_is_named():
    with pytest.raises(rareopt.PortfolioError, match="stage"):
        chain(stage_caps=[{**CN_SEPARATION, "stage": "refining"}])


def test_japan_separates_more_than_half_of_dy_in_china_until_capped():
    japan = rareopt.load_example("japan")
    free = rareopt.solve(japan).shares
    dy = free.xs(
        ("Dy", "*", "separation", "country", "CN"),
        level=("element", "period", "stage", "by", "holder"),
    )
    assert dy["share"].iloc[0] > 0.5
    capped = rareopt.solve(
        japan.with_policy(
            country_caps=[
                {"country": "CN", "element": "*", "max_share": 0.5},
                {"country": "CN", "element": "*", "stage": "separation", "max_share": 0.5},
            ]
        )
    )
    shares = capped.shares.xs(("separation", "country", "CN"), level=("stage", "by", "holder"))[
        "share"
    ]
    assert (shares <= 0.5 + 1e-7).all()
    assert capped.unmet["unmet_t"].sum() == pytest.approx(0, abs=1e-6)
    assert isinstance(capped.routes, pd.DataFrame)


def test_the_data_format_example_with_stages_solves_within_its_separation_cap():
    import pathlib
    import re

    import yaml

    text = (pathlib.Path(__file__).parents[1] / "docs" / "data-format.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "facilities:" in b)
    r = rareopt.solve(rareopt.Portfolio.from_dict(yaml.safe_load(block)))
    assert r.ok and r.unmet["unmet_t"].sum() == pytest.approx(0, abs=1e-6)
    separated = r.shares.xs(("separation", "country", "CN"), level=("stage", "by", "holder"))[
        "share"
    ]
    assert (separated <= 0.5 + 1e-9).all()
    assert "MM-Kachin" in set(r.routes.index.get_level_values("supplier"))


@pytest.mark.parametrize(
    "disruption, arriving",
    [
        # China's separation stops: A's oxide (separated in CN) and the CN-Sep route; only
        # JP-Sep's 5 t arrive.
        ({"country": "CN", "stage": "separation", "start": 2}, 5.0),
        # China's suppliers stop: A only; M's feed, separated in China or Japan, still arrives.
        ({"country": "CN", "start": 2}, 5.0 + 5.0),
        # Myanmar's mines stop: M's feed on both routes; A's oxide arrives.
        ({"country": "MM", "stage": "mining", "start": 2}, 0.0),
        # JP-Sep's outage (a leg of one route): only the CN-Sep route's 5 t arrive.
        ({"facility": "JP-Sep", "start": 2}, 5.0),
        # Half of CN-Sep's output held up: 2.5 t of its 5 and JP-Sep's 5.
        ({"facility": "CN-Sep", "start": 2, "delivered_fraction": 0.5}, 2.5 + 5.0),
    ],
)
def test_a_stage_disruption_hits_the_tonnes_that_pass_that_stage_there(disruption, arriving):
    capped = chain(country_caps=[CN_SEPARATION])
    plan = rareopt.solve(capped)
    # The capped plan: 5 t through JP-Sep, 5 t through CN-Sep, nothing from A (dearer).
    assert plan.plan.loc[("Dy", "A", "P2"), "volume_t"] == pytest.approx(0, abs=1e-9)
    cut = rareopt.ScenarioSet([{"name": "cut", "probability": 1.0, "disruptions": [disruption]}])
    outcome = rareopt.stress_test(plan, cut)
    p2 = outcome.stock.xs(("cut", "Dy", "P2"))
    assert p2["delivered_t"] == pytest.approx(arriving, abs=1e-6)
    assert outcome.cost["recourse_usd"].min() >= -1e-6


def test_japan_can_be_stress_tested_with_the_2025_licences_on_chinese_separation():
    japan = rareopt.load_example("japan")
    plan = rareopt.solve(japan)
    licences = rareopt.event_scenarios(["china-export-licensing-2025"], start=6)
    assert licences.scenarios[0].disruptions[0].stage == "separation"
    outcome = rareopt.stress_test(plan, licences)
    hit = outcome.deliveries.xs("china-export-licensing-2025", level="scenario")
    # Myanmar feed is cut only where China separates it; Lynas (separated in Malaysia) is not.
    assert "AU-Lynas" not in set(hit.index.get_level_values("supplier"))
    assert (outcome.cost["recourse_usd"] >= -1e-6).all()
    dy = outcome.stock.xs(("china-export-licensing-2025", "Dy"), level=("scenario", "element"))
    assert (dy["delivered_t"] < dy["contracted_t"] - 1e-6).any()


def test_a_stage_caps_marginal_value_prices_a_point_of_looser_cap():
    # At 50% a point looser moves 0.1 t a period from JP-Sep (310 a t) to CN-Sep (242.2): the
    # objective falls by 2 x 6.78 USD, as the duals say.
    tight = rareopt.solve(chain(country_caps=[CN_SEPARATION]))
    duals = tight.duals.xs("stage_cap", level="constraint")
    assert (duals["valid_to_pct"] >= 51.0).all()
    per_point = duals["usd_per_point_tighter"]
    assert per_point.tolist() == pytest.approx([0.1 * (310 - (200 / 0.9 + 20))] * 2)
    looser = rareopt.solve(chain(country_caps=[{**CN_SEPARATION, "max_share": 0.51}]))
    assert tight.objective - looser.objective == pytest.approx(per_point.sum())


def shipped(lead=1, in_transit=None, initial=10.0):
    """Nd 10 t in each of three periods; A (CN) ships in ``lead`` periods at 100 USD/t; B (AU)
    at 150 with no lead; stock ``initial`` at the start."""
    return rareopt.Portfolio(
        periods={"count": 3, "days": 30},
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[{**offer("A", "Nd", 100, 100), "lead_periods": lead}, offer("B", "Nd", 150, 100)],
        stockpile=[{"element": "Nd", "initial_t": initial, "capacity_t": 100}],
        in_transit=in_transit,
    )


def test_a_lead_time_delays_arrivals_by_exactly_its_length():
    # P1 is covered by the stock; A's purchases in P1 and P2 arrive in P2 and P3; nothing of A
    # bought in P3 could arrive in the horizon, so there is no such purchase.
    r = rareopt.solve(shipped(lead=1))
    plan = r.plan.xs("A", level="supplier")
    assert plan["volume_t"].to_dict() == pytest.approx({("Nd", "P1"): 10.0, ("Nd", "P2"): 10.0})
    assert plan["arrival"].tolist() == ["P2", "P3"]
    assert r.objective == pytest.approx(2 * 10 * 100)
    # Two periods of lead: only the purchase of P1 arrives (in P3); P2 needs B.
    r2 = rareopt.solve(shipped(lead=2))
    assert r2.plan.xs("A", level="supplier")["arrival"].tolist() == ["P3"]
    assert r2.objective == pytest.approx(10 * 100 + 10 * 150)


def test_shipments_in_transit_at_the_start_arrive_as_given():
    # No stock, 10 t of A's arriving in P1: P1 is covered, then as before.
    r = rareopt.solve(
        shipped(lead=1, initial=0.0, in_transit=[{"element": "Nd", "period": "P1", "volume_t": 10}])
    )
    assert r.objective == pytest.approx(2 * 10 * 100)
    assert r.unmet["unmet_t"].sum() == pytest.approx(0, abs=1e-9)


def test_the_check_counts_a_purchase_where_it_arrives():
    r = rareopt.solve(shipped(lead=1))
    # The same plan read as if A had no lead time breaks the balance in P1 .. P3.
    _, violations = check_plan(shipped(lead=0), r.plan, r.stock, r.unmet)
    assert "stock balance" in set(violations["check"])
    # A purchase that would arrive after the horizon is named.
    late = r.plan.copy()
    late.loc[("Nd", "A", "P2"), "volume_t"] = 10.0
    _, violations = check_plan(shipped(lead=2), late, r.stock, r.unmet)
    assert "purchase arrives within the horizon" in set(violations["check"])


def test_a_disruption_hits_the_shipments_not_yet_left():
    # A cut of CN in P2 stops what A ships in P2 (due in P3), not what left in P1 (due in P2).
    cut = rareopt.ScenarioSet(
        [{"name": "cut", "probability": 1.0, "disruptions": [{"country": "CN", "start": 2}]}]
    )
    outcome = rareopt.stress_test(rareopt.solve(shipped(lead=1)), cut)
    stock = outcome.stock.xs(("cut", "Nd"))
    assert stock.loc["P2", "delivered_t"] == pytest.approx(10.0)
    assert stock.loc["P3", "delivered_t"] == pytest.approx(0.0, abs=1e-9)


def test_inputs_that_do_nothing_are_warned_about():
    with pytest.warns(UserWarning, match="lead_periods"):
        late = shipped(lead=3)
    assert [w.field for w in late.warnings] == ["lead_periods"]
    base = chain()
    with pytest.warns(UserWarning, match="metal_in"):
        told = base.replace_tables(offers=base.offers.assign(metal_in="JP"), capacity=base.capacity)
    assert {(w.field, w.severity) for w in told.warnings} == {("metal_in", "warning")}


def test_the_next_points_of_a_stage_cap_are_re_solved():
    # JP-Sep's 5 t are used up at 50%: with CN at most a share k of the separated tonnes D,
    # D = CN + 5 <= k D + 5, so D <= 5 / (1 - k) and 10 - 5 / (1 - k) t a period go unmet.
    r = rareopt.solve(chain(country_caps=[CN_SEPARATION]))
    steps = rareopt.cost_of_next_points(r, "CN", k=2, stage="separation")
    assert steps["cap_pct"].tolist() == [50.0, 49.0, 48.0]
    assert steps["unmet_t"].tolist() == pytest.approx(
        [2 * (10 - 5 / (1 - k)) for k in (0.5, 0.49, 0.48)], abs=1e-9
    )
    looser = rareopt.solve(chain(country_caps=[{**CN_SEPARATION, "max_share": 0.6}]))
    up = rareopt.cost_of_next_points(looser, "CN", k=1, step=5.0, stage="separation")
    assert up["total_cost_usd"].iloc[-1] == pytest.approx(
        rareopt.solve(chain(country_caps=[{**CN_SEPARATION, "max_share": 0.55}])).objective
        - looser.objective
    )


def test_the_hhi_at_a_stage_is_of_that_stages_country_shares():
    # With the separation cap binding: CN and JP separate 5 t each a period, so 5,000 at
    # separation; mining is all MM's (10,000).
    r = rareopt.solve(chain(country_caps=[CN_SEPARATION]))
    hhi = r.hhi["hhi"]
    assert hhi[("Dy", "P1", "separation")] == pytest.approx(5000.0)
    assert hhi[("Dy", "*", "mining")] == pytest.approx(10000.0)
    assert "any" not in set(r.hhi.index.get_level_values("stage"))


def test_a_stress_tests_deliveries_show_converted_feed_held_up_at_its_plant():
    # Myanmar feed separated in China is held up by the 2025 licences; its row shows what was due
    # (oxide, after the plant's yield) and what arrived.
    plan = rareopt.solve(rareopt.load_example("japan"))
    outcome = rareopt.stress_test(
        plan, rareopt.event_scenarios(["china-export-licensing-2025"], start=6)
    )
    rows = outcome.deliveries.xs(
        ("china-export-licensing-2025", "MM-Kachin"), level=("scenario", "supplier")
    )
    assert len(rows) and (rows["delivered_t"] < rows["contracted_t"] - 1e-9).all()
    due = plan.plan.xs("MM-Kachin", level="supplier")["delivered_t"]
    assert rows["contracted_t"].to_numpy() == pytest.approx(due.reindex(rows.index).to_numpy())


@pytest.mark.parametrize(
    "cap, words",
    [
        (
            {"country": "CN", "supplier": "A", "stage": "separation", "max_share": 0.5},
            ["country/supplier/group", "exactly one of country, supplier or group"],
        ),
        (
            {"supplier": "CN-Sepp", "stage": "separation", "max_share": 0.5},
            ["holder", "CN-Sepp", "'*', a supplier or a facility", "JP-Sep"],
        ),
        ({"stage": "separation", "max_share": 0.5}, ["none"]),
    ],
)
def test_a_stage_cap_that_names_no_single_holder_is_named(cap, words):
    with pytest.raises(rareopt.PortfolioError) as caught:
        chain(stage_caps=[cap])
    message = str(caught.value)
    assert "policy stage caps" in message
    for word in words:
        assert word in message


def test_supplier_and_group_stage_caps_survive_a_round_trip():
    import yaml

    p = chain(
        supplier_caps=[{"supplier": "CN-Sep", "stage": "separation", "max_share": 0.7}],
        group_caps=[{"countries": ["MM", "JP"], "stage": "any", "max_share": 0.7}],
    )
    again = rareopt.Portfolio.from_dict(yaml.safe_load(p.to_yaml()))
    pd.testing.assert_frame_equal(again.policy.stage_caps, p.policy.stage_caps)
    assert rareopt.solve(again).objective == pytest.approx(rareopt.solve(p).objective)


def test_an_hhi_cap_at_a_stage_spreads_the_stage_over_countries():
    # Separation HHI <= 5,000 with two separating countries (CN, JP) means 5 t each, as the 50%
    # cap on CN did. Cuts approach from below: within 1e-3 HHI points CN may separate 0.0002 t
    # more, about 0.3 USD cheaper.
    cap = {"element": "Dy", "stage": "separation", "max_hhi": 5000}
    r = rareopt.solve(chain(hhi_cap=[cap], hhi_tolerance=1e-3))
    assert r.objective == pytest.approx(2 * (5 * 310 + 5 * SEPARATION), rel=1e-4)
    assert r.objective <= 2 * (5 * 310 + 5 * SEPARATION)
    assert r.hhi.loc[("Dy", "P1", "separation"), "hhi"] <= 5000 + 1e-3
    assert r.solver["hhi_cuts"] >= 1
    free = rareopt.solve(chain())
    _, violations = check_plan(
        chain(stage_hhi_caps=[cap]), free.plan, free.stock, free.unmet, routes=free.routes
    )
    broken = violations[violations["check"] == "HHI cap at separation"]
    assert sorted(broken["period"]) == ["P1", "P2"]


def test_a_stage_hhi_cap_and_a_group_floor_at_a_stage_are_checked_inputs():
    with pytest.raises(rareopt.PortfolioError) as caught:
        chain(stage_hhi_caps=[{"stage": "any", "max_hhi": 5000}])
    assert "policy stage HHI caps" in str(caught.value) and "any" in str(caught.value)
    with pytest.raises(rareopt.PortfolioError) as caught:
        chain(group_floors=[{"countries": ["JP"], "min_share": 0.1, "stage": "separation"}])
    assert "group_floors, row 0, field stage" in str(caught.value)


def test_a_facility_disruption_names_a_facility_of_the_portfolio():
    cut = rareopt.ScenarioSet(
        [{"name": "cut", "probability": 1.0, "disruptions": [{"facility": "XX-Sep"}]}]
    )
    with pytest.raises(ScenarioError) as caught:
        rareopt.solve(chain(), scenarios=cut)
    assert "XX-Sep" in str(caught.value) and "CN-Sep" in str(caught.value)
    both = [{"facility": "CN-Sep", "country": "CN"}]
    with pytest.raises(ScenarioError, match="exactly one of the three"):
        rareopt.ScenarioSet([{"name": "x", "probability": 1.0, "disruptions": both}])


def lead_chain(lead=1):
    """helpers.chain with CN at most 50% of separation and JP-Sep's output ``lead`` periods on
    the way (transit to Japan and through the plant)."""
    p = chain(country_caps=[CN_SEPARATION])
    facilities = p.facilities.assign(
        lead_periods=np.where(p.facilities["facility"] == "JP-Sep", lead, 0)
    )
    return p.replace_tables(facilities=facilities)


def test_a_facilitys_transit_delays_its_routes_arrivals_by_exactly_its_length():
    # Feed separated by JP-Sep arrives a period after purchase: in P1 only Chinese separation
    # could arrive, which the cap forbids, so P1's 10 t go unmet; in P2 JP-Sep's 5 t bought in
    # P1 arrive beside 5 t through CN-Sep (what JP-Sep works in P2 would arrive after the
    # horizon, so there is no such route).
    r = rareopt.solve(lead_chain())
    assert r.unmet.loc[("Dy", "P1"), "unmet_t"] == pytest.approx(10)
    assert r.unmet.loc[("Dy", "P2"), "unmet_t"] == pytest.approx(0, abs=1e-9)
    assert r.cost_terms.drop(["shortage_penalty"]).sum() == pytest.approx(
        5 * 310 + 5 * SEPARATION, rel=1e-9
    )
    jp = r.routes.xs(("Dy", "M", "M>JP-Sep", "P1", "separation"))
    assert jp["volume_t"] == pytest.approx(5) and jp["arrival"] == "P2"
    assert r.plan.loc[("Dy", "M", "P1"), "arrival"] == "P2"
    assert ("Dy", "M", "M>JP-Sep", "P2", "separation") not in r.routes.index
    assert r.shares.loc[("Dy", "P2", "separation", "country", "CN"), "share"] == pytest.approx(0.5)


def test_the_check_recomputes_a_routes_arrival_from_the_facilitys_transit():
    # The same plan read against JP-Sep without transit: its 5 t would have arrived in P1.
    r = rareopt.solve(lead_chain())
    _, violations = check_plan(lead_chain(0), r.plan, r.stock, r.unmet, routes=r.routes)
    assert "stock balance" in set(violations["check"])


@pytest.mark.parametrize(
    "start, arriving_p2",
    [
        # JP-Sep's outage in P1 holds up the feed it works then: 5 t fewer arrive in P2.
        (1, 5.0),
        # An outage from P2 comes after those tonnes went through: P2 gets its 10 t.
        (2, 10.0),
    ],
)
def test_a_facility_disruption_hits_the_tonnes_when_they_reach_it(start, arriving_p2):
    r = rareopt.solve(lead_chain())
    cut = rareopt.ScenarioSet(
        [
            {
                "name": "cut",
                "probability": 1.0,
                "disruptions": [{"facility": "JP-Sep", "start": start, "duration": 1}],
            }
        ]
    )
    outcome = rareopt.stress_test(r, cut)
    assert outcome.stock.xs(("cut", "Dy", "P2"))["delivered_t"] == pytest.approx(arriving_p2)
    assert outcome.cost["recourse_usd"].min() >= -1e-6


def test_criticality_indicators_at_a_stage_are_of_the_countries_doing_it():
    from rareopt.analysis.criticality import plan_indicators

    r = rareopt.solve(chain(country_caps=[CN_SEPARATION]))
    sold = plan_indicators(r, home_country="JP")
    separated = plan_indicators(r, stage="separation", home_country="JP")
    # Myanmar sells all the feed; China and Japan separate half each.
    assert sold.loc["Dy", "top1_country"] == "MM" and sold.loc["Dy", "hhi"] == pytest.approx(1e4)
    assert separated.loc["Dy", "hhi"] == pytest.approx(5000)
    assert separated.loc["Dy", "net_import_reliance"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="allowed are seller, mining"):
        plan_indicators(r, stage="any")


def test_a_facility_outage_is_an_event_in_the_stress_tests_damage_table():
    r = rareopt.solve(lead_chain())
    cut = rareopt.ScenarioSet(
        [
            {
                "name": "cut",
                "probability": 1.0,
                "disruptions": [{"facility": "JP-Sep", "start": 1, "duration": 1}],
            }
        ]
    )
    damage = rareopt.stress_test(r, cut).elements.loc[("cut", "Dy")]
    assert damage[["days_of_cover_after_event", "days_of_cover_at_horizon_end"]].notna().all()

"""Demand response: substitution, thrifting and recycling, in the plan and as recourse.

Hand-worked optima on one-element portfolios (docs/formulation.md, "Demand response")."""

import pandas as pd
import pytest
import yaml
from helpers import offer, supplier

import rareopt
from rareopt import ScenarioSet
from rareopt.checks.plan import check_plan
from rareopt.exceptions import PortfolioError


def nd(responses, periods=2, capacity=100, penalty=1_000, stockpile=None):
    """Nd 10 t a period from A (CN) at 100 USD/t; no stock unless given."""
    return rareopt.Portfolio(
        periods={"count": periods, "days": 30},
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN")],
        offers=[offer("A", "Nd", 100, capacity)],
        stockpile=stockpile,
        responses=responses,
        policy={"shortage_penalty_usd_per_t": penalty, "priorities": "weighted"},
    )


def substitute(cost, **fields):
    """A recourse substitution of up to half of Nd's demand at ``cost`` a tonne."""
    return {"response": "sub", "element": "Nd", "kind": "substitution", "max_share": 0.5,
            "cost_usd_per_t": cost, "decision": "recourse", **fields}  # fmt: skip


def thrift(cost, **fields):
    return {
        "response": "thrift",
        "element": "Nd",
        "kind": "thrifting",
        "max_share": 0.3,
        "cost_usd_per_t": cost,
        **fields,
    }


@pytest.mark.parametrize("cost, used", [(99.0, 3.0), (101.0, 0.0)])
def test_a_plan_response_is_used_only_below_the_price_it_replaces(cost, used):
    # Thrifting 30% of demand at ``cost`` a tonne against buying at 100.
    r = rareopt.solve(nd([thrift(cost)]))
    volume = r.tables["responses"]["volume_t"]
    assert volume.tolist() == pytest.approx([used, used])
    assert r.objective == pytest.approx(2 * ((10 - used) * 100 + used * cost))
    assert r.cost_terms["response_cost"] == pytest.approx(2 * used * cost)
    assert r.costs.set_index("term").loc["response_cost", "kind"] == "spend"


def test_a_lead_time_keeps_a_response_out_of_the_first_periods():
    r = rareopt.solve(nd([thrift(50, lead_periods=1)], periods=3))
    volume = r.tables["responses"]["volume_t"]
    assert volume.index.get_level_values("period").tolist() == ["P2", "P3"]
    assert volume.tolist() == pytest.approx([3, 3])


def test_a_sticky_response_keeps_its_share_once_made():
    # A sells nothing in P1 (capacity 0): thrifting 3 t at 500 beats unmet demand at 1,000. In
    # P2 A is back at 100 a tonne: a free response stops, a sticky one keeps 30% of demand.
    capacity = [0, 100]
    free = rareopt.solve(nd([thrift(500)], capacity=capacity))
    assert free.tables["responses"]["volume_t"].tolist() == pytest.approx([3, 0])
    assert free.objective == pytest.approx(3 * 500 + 7 * 1_000 + 10 * 100)
    sticky = rareopt.solve(nd([thrift(500, sticky=True)], capacity=capacity))
    assert sticky.tables["responses"]["volume_t"].tolist() == pytest.approx([3, 3])
    assert sticky.objective == pytest.approx(3 * 500 + 7 * 1_000 + 3 * 500 + 7 * 100)


def test_recycling_recovers_scrap_times_its_yield():
    scrap = {
        "response": "scrap",
        "element": "Nd",
        "kind": "recycling",
        "capacity_t": 8,
        "yield": 0.5,
        "cost_usd_per_t": 60,
    }
    r = rareopt.solve(nd([scrap]))
    assert r.tables["responses"]["volume_t"].tolist() == pytest.approx([4, 4])
    assert r.objective == pytest.approx(2 * (4 * 60 + 6 * 100))


def test_cuts_never_exceed_demand_with_unmet_demand():
    # Two cheap cuts of 60% each could cut 120% of demand: together with unmet demand they stop
    # at the demand (a cut beyond it would make stock from nothing).
    cuts = [
        thrift(1, max_share=0.6),
        {**thrift(1, max_share=0.6), "response": "substitute", "kind": "substitution"},
    ]
    room = [{"element": "Nd", "capacity_t": 100}]
    r = rareopt.solve(nd(cuts, capacity=0, stockpile=room))
    assert r.tables["responses"]["volume_t"].groupby(level="period").sum().tolist() == (
        pytest.approx([10, 10])
    )
    assert r.stock["level_t"].max() == pytest.approx(0, abs=1e-9)


def embargo(p=0.5, spot_share=0.0):
    return ScenarioSet(
        [
            {"name": "calm", "probability": 1 - p},
            {"name": "embargo", "probability": p, "disruptions": [{"country": "CN", "start": 2}]},
        ],
        spot_share=spot_share,
    )


@pytest.mark.parametrize("cost, used", [(900.0, 5.0), (1_100.0, 0.0)])
def test_a_recourse_response_is_used_only_below_what_it_saves(cost, used):
    # The embargo cuts P2; no spot market; a substitution of up to half of demand, from the
    # embargo on, at ``cost``, against unmet demand at 1,000 a tonne.
    r = rareopt.solve(nd([substitute(cost)]), scenarios=embargo())
    out = r.scenarios
    assert out.stock.xs(("embargo", "Nd", "P2"))["response_t"] == pytest.approx(used)
    assert out.stock.xs(("calm", "Nd", "P2"))["response_t"] == pytest.approx(0)
    # Recourse: the refund of A's 10 t (-1,000), the response, and unmet demand at 1,000.
    recourse = -1_000 + used * cost + (10 - used) * 1_000
    assert out.cost.loc["embargo", "recourse_usd"] == pytest.approx(recourse)
    assert r.objective == pytest.approx(2 * 10 * 100 + 0.5 * recourse)
    assert "response_cost" not in r.costs.query("usd != 0")["term"].tolist()
    if used:
        assert out.responses.xs(("embargo", "Nd", "sub", "P2"))["cost_usd"] == pytest.approx(
            used * cost
        )


def test_a_recourse_response_waits_for_the_disruption_and_its_lead_time():
    late = substitute(10, lead_periods=1)
    s = ScenarioSet(
        [
            {
                "name": "embargo",
                "probability": 1.0,
                "disruptions": [{"country": "CN", "start": 2, "duration": 2}],
            }
        ],
        spot_share=0.0,
    )
    # The embargo starts in P2; the substitution works a period later, in P3.
    out = rareopt.solve(nd([late], periods=3), scenarios=s).scenarios
    assert out.stock.xs(("embargo", "Nd"))["response_t"].tolist() == pytest.approx([0, 0, 5])


def test_the_plans_response_acts_in_every_scenario():
    out = rareopt.solve(nd([thrift(50)]), scenarios=embargo()).scenarios
    assert out.stock["response_t"].tolist() == pytest.approx([3, 3, 3, 3])


def test_the_check_refuses_a_response_above_its_limit_or_before_its_lead_time():
    p = nd([thrift(50, lead_periods=1)], periods=3)
    r = rareopt.solve(p)
    ok = check_plan(p, r.plan, r.stock, r.unmet, r.objective, responses=r.tables["responses"])[1]
    assert ok.empty
    bad = r.tables["responses"].copy()
    bad.loc[("Nd", "thrift", "P2"), "volume_t"] = 4.0
    early = pd.concat(
        [
            bad,
            pd.DataFrame(
                {"kind": ["thrifting"], "volume_t": [1.0], "cost_usd": [50.0]},
                index=pd.MultiIndex.from_tuples([("Nd", "thrift", "P1")], names=bad.index.names),
            ),
        ]
    )
    found = check_plan(p, r.plan, r.stock, r.unmet, None, responses=early)[1]
    flagged = found[found["check"] == "plan response within [0, limit]"]
    assert sorted(flagged["period"]) == ["P1", "P2"]


@pytest.mark.parametrize(
    "row, words",
    [
        ({"kind": "thrift"}, "kind: got 'thrift'; allowed: one of"),
        ({"max_share": 1.5}, "max_share: got 1.5; allowed: with kind thrifting, a number from 0"),
        ({"capacity_t": 5}, "capacity_t: got 5.0; allowed: only with kind recycling"),
        ({"decision": "later"}, "decision: got 'later'; allowed: one of"),
        ({"sticky": "yes"}, "sticky: got 'yes'; allowed: true or false"),
        ({"lead_periods": 2}, "lead_periods: got 2; allowed: fewer than the 2 periods"),
        ({"element": "Zz"}, "element: got 'Zz'; allowed: an element of the demand table"),
        ({"cost": 5}, "responses, row 0, field cost: got 5; allowed: a field of the responses"),
    ],
)
def test_a_bad_response_is_named(row, words):
    with pytest.raises(PortfolioError, match=words):
        nd([{**thrift(50), **row}])


def test_recycling_needs_its_capacity_and_a_yield_above_zero():
    scrap = {"response": "scrap", "element": "Nd", "kind": "recycling", "yield": 0}
    with pytest.raises(PortfolioError) as info:
        nd([scrap])
    text = str(info.value)
    assert "capacity_t: got 'missing'; allowed: with kind recycling" in text
    assert "yield: got 0.0; allowed: a number above 0" in text


def test_responses_round_trip_through_yaml(tmp_path):
    p = nd(
        [
            thrift(50, sticky=True),
            {
                "response": "scrap",
                "element": "Nd",
                "kind": "recycling",
                "capacity_t": 8,
                "yield": 0.5,
                "decision": "recourse",
            },
        ]
    )
    path = tmp_path / "p.yaml"
    p.to_yaml(str(path))
    spec = yaml.safe_load(path.read_text())
    assert [r["response"] for r in spec["responses"]] == ["thrift", "scrap"]
    again = rareopt.Portfolio.from_yaml(str(path))
    assert again.responses.equals(p.responses)
    assert rareopt.solve(again).objective == pytest.approx(rareopt.solve(p).objective)


def test_the_documented_responses_work_on_the_japan_example():
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "data-format.md").read_text()
    section = doc.split("## responses (optional)")[1]
    block = section.split("```yaml\n")[1].split("```")[0]
    japan = rareopt.load_example("japan")
    p = japan.replace_tables(responses=yaml.safe_load(block)["responses"])
    r = rareopt.solve(
        p, scenarios=rareopt.event_scenarios(["china-japan-2010"], start=6, baseline=0.8)
    )
    assert r.ok
    assert set(r.tables["responses"].index.get_level_values("response")) == {
        "Dy thrifting",
        "magnet scrap",
    }
    assert (
        r.objective
        <= rareopt.solve(
            japan, scenarios=rareopt.event_scenarios(["china-japan-2010"], start=6, baseline=0.8)
        ).objective
        + 1e-6
    )


def test_a_cheap_emergency_substitute_does_not_make_a_disruption_pay():
    # Substituting at 10 a tonne, below the 100 the cut tonnes cost: it counts the floor price
    # (100) in the recourse, so the embargo costs -1,000 (refund) + 5 x 100 + 5 x 1,000 (unmet).
    # Its money is 5 x 10; the 90 a tonne up to the floor is a penalty, not money.
    out = rareopt.solve(nd([substitute(10)]), scenarios=embargo()).scenarios
    row = out.cost.loc["embargo"]
    assert row["recourse_usd"] == pytest.approx(-1000 + 5 * 100 + 5 * 1000)
    assert row["recourse_spend_usd"] == pytest.approx(-1000 + 5 * 10)
    assert row["recourse_penalty_usd"] == pytest.approx(5 * 90 + 5 * 1000)
    assert out.responses.xs(("embargo", "Nd", "sub", "P2"))["cost_usd"] == pytest.approx(50)

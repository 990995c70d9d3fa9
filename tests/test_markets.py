"""Markets: price scenarios, contract instruments and what they pay (docs/formulation.md,
"Prices and contracts"). Hand-worked optima on two-period portfolios."""

import numpy as np
import pytest
from helpers import offer, supplier

import rareopt
from rareopt import ScenarioSet
from rareopt.exceptions import PortfolioError, ScenarioError
from rareopt.inputs.markets import contract_terms, contract_unit_prices


def market(b_terms=None, periods=2, b_price=90.0):
    """Nd 10 t a period, no stock. A (CN) sells at a fixed 100 USD/t; B (AU) at ``b_price`` on
    ``b_terms`` (indexed, floor 80, cap 150 by default). Both 100 t a period."""
    terms = {"pricing": "indexed", "floor_usd_per_t": 80, "cap_usd_per_t": 150}
    return rareopt.Portfolio(
        periods={"count": periods, "days": 30},
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[
            offer("A", "Nd", 100, 100),
            {**offer("B", "Nd", b_price, 100), **(b_terms or terms)},
        ],
    )


def swings(spike=2.0, crash=0.5, p_spike=0.25, p_crash=0.25):
    """Calm, a spike and a crash of every price in P2."""
    return ScenarioSet(
        [
            {"name": "calm", "probability": 1 - p_spike - p_crash},
            {
                "name": "spike",
                "probability": p_spike,
                "prices": [{"country": "*", "start": 2, "factor": spike}],
            },
            {
                "name": "crash",
                "probability": p_crash,
                "prices": [{"country": "*", "start": 2, "factor": crash}],
            },
        ]
    )


def test_a_collar_pays_the_market_within_its_floor_and_cap():
    terms = contract_terms(market().offers).iloc[[1]]
    # Market 90 x factor: 45 lifts to the floor (80), 90 is paid as is, 180 is capped at 150.
    paid = contract_unit_prices(terms, np.array([[0.5], [1.0], [2.0]])).ravel()
    assert paid.tolist() == [80.0, 90.0, 150.0]
    fixed = contract_terms(market().offers).iloc[[0]]
    assert contract_unit_prices(fixed, np.array([[0.5], [2.0]])).ravel().tolist() == [100.0, 100.0]


def test_upside_sharing_returns_a_share_of_the_price_above_the_threshold():
    lynas = {"pricing": "indexed", "share_above_usd_per_t": 100, "upside_share": 0.5}
    terms = contract_terms(market(lynas).offers).iloc[[1]]
    # Market 180: 180 - 0.5 x (180 - 100) = 140; market 90 is below the threshold.
    assert contract_unit_prices(terms, np.array([[2.0], [1.0]])).ravel().tolist() == [140.0, 90.0]


def test_an_indexed_contract_is_dropped_where_its_expected_price_beats_the_fixed_one():
    # B's tonne bought in P2 costs 90 today, 150 in the spike (capped), 80 in the crash
    # (floored): 90 + 0.25 x 60 - 0.25 x 10 = 102.5 expected, above A's fixed 100. So P1 from B
    # (no shock), P2 from A: 10 x 90 + 10 x 100.
    r = rareopt.solve(market(), scenarios=swings())
    assert r.objective == pytest.approx(10 * 90 + 10 * 100)
    assert r.plan.loc[("Nd", "A", "P2"), "volume_t"] == pytest.approx(10)
    # A tighter cap (120) makes B's expected price 90 + 0.25 x 30 - 2.5 = 95: B both periods.
    capped = {"pricing": "indexed", "floor_usd_per_t": 80, "cap_usd_per_t": 120}
    r = rareopt.solve(market(capped), scenarios=swings())
    assert r.objective == pytest.approx(20 * 90 + 10 * (0.25 * 30 - 0.25 * 10))
    cost = r.scenarios.cost["recourse_usd"]
    # What the collar pays beyond today's price, in each scenario, by hand.
    assert cost.to_dict() == pytest.approx({"calm": 0.0, "spike": 300.0, "crash": -100.0})
    assert (r.scenarios.cost["recourse_penalty_usd"] == 0).all()
    spend = r.scenarios.cost["spend_usd"]
    assert spend.to_dict() == pytest.approx({"calm": 1800.0, "spike": 2100.0, "crash": 1700.0})


def test_a_floor_today_above_the_market_is_what_the_plan_pays():
    # The floor binds at today's price (63 against 110, as NdPr in 2025): the first stage pays
    # 110 a tonne and A's fixed 100 wins in both periods.
    floor = {"pricing": "indexed", "floor_usd_per_t": 110}
    r = rareopt.solve(market(floor, b_price=63))
    assert r.objective == pytest.approx(20 * 100)
    assert r.plan.xs("B", level="supplier")["volume_t"].sum() == pytest.approx(0)
    forced = market(floor, b_price=63).with_policy(country_caps={"CN": 0.0})
    r = rareopt.solve(forced)
    assert r.objective == pytest.approx(20 * 110)
    assert r.plan["unit_cost_usd_per_t"].max() == pytest.approx(110)


def test_prices_equal_to_todays_give_todays_answers_exactly():
    japan = rareopt.load_example("japan")
    events = rareopt.event_scenarios(["china-japan-2010"], start=6, baseline=0.8)
    spec = events.to_dict()
    spec["scenarios"][1]["prices"] = [{"country": "*", "start": 1, "duration": 24, "factor": 1.0}]
    same = ScenarioSet.from_dict(spec)
    assert same.moves_prices()
    one, other = rareopt.solve(japan, scenarios=events), rareopt.solve(japan, scenarios=same)
    assert one.objective == other.objective
    assert one.plan["volume_t"].equals(other.plan["volume_t"])
    assert one.scenarios.cost.equals(other.scenarios.cost)


def test_a_spike_on_fixed_contracts_costs_only_through_the_spot_market():
    tiny = rareopt.load_example("tiny")
    cut = {"country": "CN", "start": 2}
    plain = ScenarioSet(
        [
            {"name": "calm", "probability": 0.8},
            {"name": "cut", "probability": 0.2, "disruptions": [cut]},
        ]
    )
    spiked = ScenarioSet(
        [
            {"name": "calm", "probability": 0.8},
            {
                "name": "cut",
                "probability": 0.2,
                "disruptions": [cut],
                "prices": [{"country": "*", "start": 2, "factor": 3.0}],
            },
        ]
    )
    base = rareopt.solve(tiny, scenarios=plain)
    dear = rareopt.solve(tiny, scenarios=spiked)
    assert dear.objective >= base.objective - 1e-6
    # Same plan priced both ways: spot tonnes cost 3 x the market plus the premium.
    fixed = rareopt.stress_test(base, spiked)
    spot = fixed.deliveries.query("spot_t > 0")
    assert len(spot)
    assert fixed.cost.loc["cut", "recourse_usd"] > base.scenarios.cost.loc["cut", "recourse_usd"]
    # A price spike without a disruption leaves fixed contracts where they were.
    quiet = ScenarioSet(
        [
            {"name": "calm", "probability": 0.8},
            {"name": "dear", "probability": 0.2, "prices": [{"country": "*", "factor": 3.0}]},
        ]
    )
    assert rareopt.stress_test(base, quiet).cost["recourse_usd"].tolist() == pytest.approx(
        [0, 0], abs=1e-6
    )


def test_a_scenarios_own_spot_premium_prices_its_spot_tonnes():
    tiny = rareopt.load_example("tiny")
    plan = rareopt.solve(tiny)

    def priced(premium):
        s = ScenarioSet(
            [
                {
                    "name": "cut",
                    "probability": 1.0,
                    "disruptions": [{"country": "CN", "start": 2}],
                    **({} if premium is None else {"spot_premium": premium}),
                }
            ],
            spot_premium=0.5,
        )
        return rareopt.stress_test(plan, s)

    same, panic = priced(None), priced(0.5)
    assert same.cost.equals(panic.cost)
    dear = priced(2.0)
    spot_t = dear.cost.loc["cut", "spot_t"]
    assert spot_t > 0
    assert dear.cost.loc["cut", "recourse_usd"] > same.cost.loc["cut", "recourse_usd"]


def test_cost_at_risk_is_the_cvar_of_the_money_spent():
    r = rareopt.solve(market(), scenarios=swings())
    m = r.scenarios.metrics
    spend = r.scenarios.cost["spend_usd"]
    p = r.scenarios.cost["probability"]
    assert m["expected_spend_usd"] == pytest.approx(float(p @ spend))
    assert m["spend_cvar_usd"] >= m["expected_spend_usd"] - 1e-9
    assert m["spend_cvar_usd"] <= spend.max() + 1e-9
    assert "cost at risk" in r.scenarios.summary()


@pytest.mark.parametrize(
    "terms, words",
    [
        ({"pricing": "floating"}, "pricing: got 'floating'; allowed: one of"),
        ({"floor_usd_per_t": 80}, "floor_usd_per_t: got 80.0; allowed: only with pricing: indexed"),
        (
            {"pricing": "indexed", "floor_usd_per_t": 90, "cap_usd_per_t": 80},
            "cap_usd_per_t: got 80.0; allowed: at least floor_usd_per_t = 90",
        ),
        ({"pricing": "indexed", "upside_share": 0.5}, "upside_share: got 0.5; allowed: with both"),
        ({"take_or_pay_t": -2}, "take_or_pay_t: got -2.0; allowed: a number from 0 to"),
        (
            {"pricing": "indexed", "cap_usd_per_t": -1},
            "cap_usd_per_t: got -1.0; allowed: a number >= 0",
        ),
        (
            {"pricing": "indexed", "floor": 80},
            "field floor: got 80; allowed: a field of the offers table",
        ),
    ],
)
def test_bad_contract_terms_are_named(terms, words):
    with pytest.raises(PortfolioError, match=words):
        market(terms)


@pytest.mark.parametrize(
    "shock, words",
    [
        ({"country": "CN", "factor": 0}, "factor: got 0; allowed: a number above 0"),
        ({"country": "CN", "factor": [2, -1]}, r"factor: got \[2, -1\]; allowed: a non-empty list"),
        ({"factor": 2}, "country/supplier: got .*exactly one of the two"),
        (
            {"country": "CN", "factr": 2},
            r"scenario x, price shock 0, field factr: got 2; .*did you mean factor",
        ),
    ],
)
def test_a_bad_price_shock_is_named(shock, words):
    with pytest.raises(ScenarioError, match=words):
        ScenarioSet([{"name": "x", "probability": 1, "prices": [shock]}])


def test_a_price_shock_of_an_unknown_supplier_is_an_error_against_the_portfolio():
    s = ScenarioSet([{"name": "x", "probability": 1, "prices": [{"supplier": "Nobody"}]}])
    with pytest.raises(ScenarioError, match="price shock 0, field supplier: got 'Nobody'"):
        rareopt.solve(market(), scenarios=s)


def test_price_shocks_and_premiums_round_trip_through_yaml(tmp_path):
    s = ScenarioSet(
        [
            {
                "name": "spike",
                "probability": 1,
                "spot_premium": 1.5,
                "prices": [
                    {
                        "country": "CN",
                        "elements": ["Nd"],
                        "start": 2,
                        "factor": [6.37, 3.0],
                        "recovery_periods": 2,
                    }
                ],
            }
        ]
    )
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(s.to_dict()))
    again = ScenarioSet.from_yaml(str(path))
    assert again.scenarios[0].prices[0].profile() == pytest.approx((6.37, 3.0, 7 / 3, 5 / 3))
    assert again.spot_premiums().tolist() == [1.5]


def take_or_pay(minimum=4.0):
    """Nd 10 t a period, no stock: A (CN) at 100 USD/t; B (AU) at 150 with a take-or-pay
    minimum of ``minimum`` t a period."""
    return rareopt.Portfolio(
        periods={"count": 2, "days": 30},
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[
            offer("A", "Nd", 100, 100),
            {**offer("B", "Nd", 150, 100), "take_or_pay_t": minimum},
        ],
    )


def test_tonnes_a_take_or_pay_minimum_pays_for_cost_nothing_more_to_take():
    # 4 t of B are paid anyway, so they are taken; the other 6 come from A: 2 x (4 x 150 + 6 x 100).
    r = rareopt.solve(take_or_pay())
    assert r.objective == pytest.approx(2 * (4 * 150 + 6 * 100))
    assert r.plan.xs("B", level="supplier")["volume_t"].tolist() == pytest.approx([4, 4])
    # A minimum above demand is paid in full though only 10 t can be used.
    r = rareopt.solve(take_or_pay(14))
    assert r.objective == pytest.approx(2 * 14 * 150)
    assert r.plan.xs("B", level="supplier")["paid_not_taken_t"].tolist() == pytest.approx([4, 4])
    assert r.plan["cost_usd"].sum() == pytest.approx(r.objective)


def test_take_or_pay_is_paid_even_when_nothing_is_delivered():
    # AU delivers nothing in P2: the 4 t minimum is paid all the same (600), and 4 t are
    # replaced on the spot market at A's 100 x 1.5 = 150 (the floor: B's 150): 600 more.
    s = ScenarioSet(
        [
            {"name": "calm", "probability": 0.5},
            {"name": "AU out", "probability": 0.5, "disruptions": [{"country": "AU", "start": 2}]},
        ]
    )
    r = rareopt.solve(take_or_pay(), scenarios=s)
    cost = r.scenarios.cost
    assert cost.loc["AU out", "recourse_usd"] == pytest.approx(4 * 150)
    assert cost.loc["AU out", "spend_usd"] == pytest.approx(2400 + 600)
    assert r.objective == pytest.approx(2400 + 0.5 * 600)


def test_take_or_pay_on_converted_feed_is_not_built_yet():
    from helpers import chain

    from rareopt.exceptions import NotSupportedError

    portfolio = chain()
    offers = portfolio.offers.assign(take_or_pay_t=[0.0, 5.0])
    with pytest.raises(NotSupportedError, match="take-or-pay on feed converted"):
        rareopt.solve(portfolio.replace_tables(offers=offers, capacity=portfolio.capacity))


def test_the_contract_report_says_what_each_contract_earned_against_the_market():
    # B's collar (80-120) on a market of 90: the spike's P2 market is 180 (paid 120: +600
    # earned), the crash's 45 (paid the floor, 80: -350); P1 is at today's price.
    capped = {"pricing": "indexed", "floor_usd_per_t": 80, "cap_usd_per_t": 120}
    out = rareopt.solve(market(capped), scenarios=swings()).scenarios
    earned = out.contracts.xs(("Nd", "B"), level=("element", "supplier"))["earned_usd"]
    assert earned.to_dict() == pytest.approx({"calm": 0.0, "spike": 600.0, "crash": -350.0})
    value = out.contract_value().loc[("Nd", "B")]
    assert value["expected_earned_usd"] == pytest.approx(0.25 * 600 - 0.25 * 350)
    assert value["worst_earned_usd"] == pytest.approx(-350)
    assert value["probability_of_loss"] == pytest.approx(0.25)
    # A take-or-pay minimum paid without deliveries is a cost against the market.
    s = ScenarioSet(
        [{"name": "AU out", "probability": 1.0, "disruptions": [{"country": "AU", "start": 2}]}]
    )
    out = rareopt.stress_test(rareopt.solve(take_or_pay()), s)
    b = out.contracts.xs(("AU out", "Nd", "B"))
    assert b["paid_usd"] == pytest.approx(2 * 4 * 150)
    assert b["market_usd"] == pytest.approx(4 * 150)
    assert b["earned_usd"] == pytest.approx(-4 * 150)


def test_generated_price_paths_have_mean_one_and_jumps_sit_on_the_disruptions():
    tiny = rareopt.load_example("tiny")
    s = rareopt.generate_scenarios(tiny, 4000, {"CN": 0.0}, price_volatility=0.5, seed=11)
    assert len(s) == 4000  # every path is its own scenario
    rows = tiny.offers[["element", "supplier"]].assign(period="P3")
    last = s.price_factors(tiny, rows)[:, 0]
    # Three 30-day periods: sigma^2 t = 0.25 x 90 / 365.25; the lognormal's variance e^{s2 t} - 1.
    variance = np.expm1(0.25 * 90 / 365.25)
    assert abs(last.mean() - 1.0) < 4 * np.sqrt(variance / 4000)
    assert last.std() == pytest.approx(np.sqrt(variance), rel=0.1)
    jumps = rareopt.generate_scenarios(tiny, 50, {"CN": 1.0}, duration=1, price_jump=3.0, seed=2)
    rows = tiny.offers[["element", "supplier"]].merge(tiny.periods[["period"]], how="cross")
    factors = jumps.price_factors(tiny, rows)
    for w, scenario in enumerate(jumps.scenarios):
        hit = rows["period"].isin(
            [
                tiny.period_labels[i]
                for d in scenario.disruptions
                for i in d.periods(tiny.period_labels)
            ]
        )
        assert factors[w].tolist() == np.where(hit, 3.0, 1.0).tolist()


def test_the_generators_defaults_draw_todays_scenarios():
    japan = rareopt.load_example("japan")
    today = rareopt.generate_scenarios(japan, 300, {"CN": 0.2, "MM": 0.3}, seed=5)
    assert not today.moves_prices()
    spelled = rareopt.generate_scenarios(
        japan,
        300,
        {"CN": 0.2, "MM": 0.3},
        seed=5,
        persistence=None,
        recovery_periods=0,
        price_volatility=None,
        price_jump=None,
    )
    assert spelled.to_dict() == today.to_dict()
    # Persistence draws lengths but leaves who and when as they were.
    persistent = rareopt.generate_scenarios(
        japan, 300, {"CN": 0.2, "MM": 0.3}, seed=5, persistence=0.5
    )
    starts = lambda s: sorted((d.country, d.start) for sc in s.scenarios for d in sc.disruptions)  # noqa: E731
    assert set(starts(persistent)) == set(starts(today))


def test_the_documented_price_scenarios_load_and_price_the_japan_example():
    from pathlib import Path

    import yaml

    doc = (Path(__file__).parent.parent / "docs" / "scenarios.md").read_text()
    block = next(
        b.split("```")[0] for b in doc.split("```yaml\n")[1:] if "prices:" in b.split("```")[0]
    )
    scenarios = ScenarioSet.from_dict(yaml.safe_load(block))
    japan = rareopt.load_example("japan")
    assert scenarios.check(japan) == []
    out = rareopt.stress_test(rareopt.solve(japan), scenarios)
    spend = out.cost["spend_usd"]
    assert spend["embargo with a spike"] > spend["calm"] > 0
    assert out.metrics["spend_cvar_usd"] >= out.metrics["expected_spend_usd"]


def test_the_expected_value_plan_misjudges_a_collar_and_vss_says_by_how_much():
    # Expected P2 factor 1.125: B's market 101.25 sits inside the 80-120 collar, dearer than A's
    # 100, so EV buys A in P2 (1,900). In the scenarios B pays 90, 120, 80 in P2: 95 expected,
    # so the two-stage plan buys B (1,850). WS: 0.5 x 1,800 + 0.25 x 1,900 + 0.25 x 1,700.
    capped = {"pricing": "indexed", "floor_usd_per_t": 80, "cap_usd_per_t": 120}
    v = rareopt.value_of_stochastic_solution(market(capped), swings())
    assert v.to_dict() == pytest.approx(
        {"rp": 1850, "ws": 1800, "ev": 1900, "eev": 1900, "evpi": 50, "vss": 50}
    )


def test_the_documented_lynas_terms_are_a_valid_offer_of_the_japan_example():
    from pathlib import Path

    import yaml

    doc = (Path(__file__).parent.parent / "docs" / "data-format.md").read_text()
    block = doc.split("### Contract terms")[1].split("```yaml\n")[1].split("```")[0]
    (lynas,) = yaml.safe_load(block)["offers"]
    japan = rareopt.load_example("japan")
    offers = japan.offers.copy()
    row = offers.index[(offers["supplier"] == "AU-Lynas") & (offers["element"] == "Nd")][0]
    for field, value in lynas.items():
        if field != "capacity_t":
            offers.loc[row, field] = value
    capacity = japan.capacity.copy()
    at = (capacity["supplier"] == "AU-Lynas") & (capacity["element"] == "Nd")
    capacity.loc[at, "capacity_t"] = lynas["capacity_t"]
    r = rareopt.solve(japan.replace_tables(offers=offers, capacity=capacity))
    nd = r.plan.xs(("Nd", "AU-Lynas"), level=("element", "supplier"))
    # The floor is what a tonne costs today (63 USD/kg is below it), plus freight.
    assert nd["unit_cost_usd_per_t"].unique().tolist() == [
        110_000 + offers.loc[row, "freight_usd_per_t"]
    ]
    assert ((nd["volume_t"] + nd["paid_not_taken_t"]) >= 417 - 1e-6).all()

"""Sourcing decisions beyond volumes: group caps and floors, contracts, HHI caps, concentrates,
projects. Each known optimum is derived by hand in the test's docstring."""

import pytest
from helpers import offer, supplier
from hypothesis import given, settings
from hypothesis import strategies as st

import rareopt


def three_countries(**policy):
    """Nd, 100 t in one period: A (CN) 50,000 USD/t, B (MM) 55,000, C (AU) 60,000; 100 t each."""
    return rareopt.Portfolio(
        periods=1,
        demand={"Nd": 100, "Dy": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "MM"), supplier("C", "AU")],
        offers=[
            offer("A", "Nd", 50_000, 100),
            offer("B", "Nd", 55_000, 100),
            offer("C", "Nd", 60_000, 100),
            offer("A", "Dy", 250_000, 10),
            offer("C", "Dy", 300_000, 10),
        ],
        policy=policy,
    )


def volumes(result, element="Nd"):
    return result.plan.xs(element, level="element")["volume_t"].droplevel("period").to_dict()


def test_group_cap_limits_the_group_together():
    """CN+MM at most 70% of Nd: A takes 70 t (cheaper than B), C the other 30 t.
    Nd: 70 x 50,000 + 30 x 60,000 = 5,300,000 USD; Dy: C 3 t (30%), A 7 t = 2,650,000 USD."""
    group = {"group": "CN+MM", "countries": ["CN", "MM"], "max_share": 0.7}
    result = rareopt.solve(three_countries(group_caps=[group]))
    assert volumes(result) == pytest.approx({"A": 70, "B": 0, "C": 30})
    assert result.objective == pytest.approx(5_300_000 + 7 * 250_000 + 3 * 300_000)


def test_group_floor_for_one_element_overrides_the_general_floor():
    """Partners (AU) at least 10% of everything, 40% of Nd: Nd A 60, C 40 (5,400,000 USD);
    Dy A 9, C 1 (2,550,000 USD)."""
    floors = [
        {"group": "partners", "countries": ["AU"], "min_share": 0.1},
        {"group": "partners", "countries": ["AU"], "min_share": 0.4, "element": "Nd"},
    ]
    result = rareopt.solve(three_countries(group_floors=floors))
    assert volumes(result) == pytest.approx({"A": 60, "B": 0, "C": 40})
    assert volumes(result, "Dy") == pytest.approx({"A": 9, "C": 1})
    assert result.objective == pytest.approx(5_400_000 + 9 * 250_000 + 300_000)
    assert {"group floor", "group cap"} <= set(result.checks["check"])


def test_group_errors_name_the_row_and_field():
    with pytest.raises(rareopt.PortfolioError) as info:
        three_countries(group_caps=[{"countries": [], "max_share": 1.5}])
    text = str(info.value)
    assert "policy group caps" in text and "field countries: got ()" in text
    assert "field max_share: got 1.5; allowed: a number >= 0 and <= 1" in text


@settings(max_examples=15, deadline=None)
@given(loose=st.floats(0.35, 1.0), tighter_by=st.floats(0.0, 0.3))
def test_tightening_a_group_cap_never_lowers_cost(loose, tighter_by):
    def cost(share):
        group = {"countries": ["CN", "MM"], "max_share": share}
        return rareopt.solve(three_countries(group_caps=[group])).objective

    assert cost(max(loose - tighter_by, 0.0)) >= cost(loose) - 1e-6


def one_element(offers, demand=100.0, periods=1, **policy):
    """Nd only, no stockpile (purchases equal demand less unmet), shortage 1,000 USD/t."""
    countries = {"A": "CN", "B": "AU", "C": "IN", "D": "VN"}
    return rareopt.Portfolio(
        periods=periods,
        demand={"Nd": demand},
        suppliers=[supplier(s, countries[s]) for s in sorted({o["supplier"] for o in offers})],
        offers=offers,
        policy={"shortage_penalty_usd_per_t": 1_000, **policy},
    )


def test_minimum_order_rules_out_a_cheap_offer_for_a_small_need():
    """A sells at 100 USD/t but only in lots of 50 t or more; B at 150. For 30 t, A is out:
    B 30 t = 4,500 USD. For 60 t, A takes all: 6,000 USD."""
    offers = [
        {**offer("A", "Nd", 100, 100), "min_order_t": 50},
        offer("B", "Nd", 150, 100),
    ]
    small = rareopt.solve(one_element(offers, demand=30))
    assert small.objective == pytest.approx(4_500)
    assert volumes(small) == pytest.approx({"A": 0, "B": 30})
    large = rareopt.solve(one_element(offers, demand=60))
    assert large.objective == pytest.approx(6_000)
    assert large.solver["mip_gap"] == pytest.approx(0, abs=1e-6)
    assert "minimum order" in set(large.checks["check"])


def test_supplier_limit_and_country_floor_by_hand():
    """Caps 40 t each, 100 t needed, A 10 / B 20 / C 30 USD/t. Two suppliers at most: A 40 + B 40
    and 20 t unmet at 1,000: 21,200 USD (three would cost 1,800). Two countries with 10% each
    and A able to sell 100 t: A 90 + B 10 = 1,100 USD."""
    capped = [offer(s, "Nd", p, 40) for s, p in (("A", 10), ("B", 20), ("C", 30))]
    assert rareopt.solve(one_element(capped)).objective == pytest.approx(1_800)
    limited = rareopt.solve(one_element(capped, max_suppliers_per_element=2))
    assert limited.objective == pytest.approx(21_200)
    assert limited.contracts["contracted"].sum() <= 2
    roomy = [offer("A", "Nd", 10, 100), offer("B", "Nd", 20, 100)]
    spread = rareopt.solve(one_element(roomy, min_countries_per_element=2, country_floor_share=0.1))
    assert volumes(spread) == pytest.approx({"A": 90, "B": 10})
    assert spread.objective == pytest.approx(1_100)


@pytest.mark.slow
@settings(max_examples=12, deadline=None)
@given(
    prices=st.lists(st.integers(50, 150), min_size=4, max_size=4),
    capacity=st.lists(st.integers(10, 60), min_size=4, max_size=4),
    fees=st.lists(st.integers(0, 3_000), min_size=4, max_size=4),
)
def test_contract_costs_match_enumeration_of_every_set_of_contracts(prices, capacity, fees):
    """The MIP optimum equals the cheapest over all 16 sets of contracted offers of the LP
    restricted to that set plus its fees (a year, one 365.25-day period). One blended objective
    (``priorities: weighted``): with demand first, a set that leaves a tonne unmet is not
    comparable by cost (prices 50, capacities 37+13+29 < 80 and B's fee 1,543 found that)."""
    names = ["A", "B", "C", "D"]

    def offers(chosen, with_fees):
        return [
            {
                **offer(n, "Nd", prices[i], capacity[i]),
                "contract_usd_per_year": fees[i] if with_fees else 0,
            }
            for i, n in enumerate(names)
            if n in chosen
        ]

    year = {"count": 1, "days": 365.25}
    mip = rareopt.solve(
        one_element(offers(names, True), demand=80, periods=year, priorities="weighted")
    )
    best = float("inf")
    for mask in range(16):
        chosen = [n for k, n in enumerate(names) if mask >> k & 1]
        fee = sum(fees[k] for k, n in enumerate(names) if n in chosen)
        if not chosen:
            cost = 80 * 1_000
        else:
            lp = one_element(offers(chosen, False), demand=80, periods=year, priorities="weighted")
            cost = rareopt.solve(lp).objective
        best = min(best, cost + fee)
    assert mip.objective == pytest.approx(best, rel=1e-6, abs=1e-6)


def test_mip_duals_come_from_the_lp_with_integers_fixed_and_match_a_resolve():
    """With A contracted (60 t at 100 USD/t, minimum order 50), one more tonne of demand costs
    100 USD: the LP with the contract and order decisions fixed says so, labelled."""
    offers = [{**offer("A", "Nd", 100, 100), "min_order_t": 50}, offer("B", "Nd", 150, 100)]
    result = rareopt.solve(one_element(offers, demand=60))
    balance = result.duals.xs("balance", level="constraint")
    assert balance["dual"].iloc[0] == pytest.approx(100)
    assert set(result.duals["basis"]) == {"LP with the integer decisions fixed"}
    more = rareopt.solve(one_element(offers, demand=61))
    assert more.objective - result.objective == pytest.approx(balance["dual"].iloc[0])


def grid_optimum(prices, demand, cap_hhi, step=0.005):
    """min sum p_i v_i, sum v = D, 1e4 sum (v/D)^2 <= H over three countries, on a grid of the
    cheapest country's volume; for each, the second cheapest takes all the cap allows."""
    import numpy as np

    budget = cap_hhi / 1e4 * demand**2
    best = np.inf
    for a in np.arange(0.0, demand + step, step):
        rest, room = demand - a, budget - a * a
        disc = 2 * room - rest * rest
        if room < 0 or disc < 0:
            continue
        b = min((rest + np.sqrt(disc)) / 2, rest)
        best = min(best, prices[0] * a + prices[1] * b + prices[2] * (rest - b))
    return best


@pytest.mark.parametrize("cap_hhi", [3_400, 5_000, 8_000])
def test_hhi_cap_by_cuts_equals_the_quadratic_optimum_on_a_grid(cap_hhi):
    offers = [offer("A", "Nd", 10, 100), offer("B", "Nd", 20, 100), offer("C", "Nd", 30, 100)]
    result = rareopt.solve(one_element(offers, hhi_cap=cap_hhi, hhi_tolerance=0.1))
    assert result.objective == pytest.approx(grid_optimum([10, 20, 30], 100, cap_hhi), rel=2e-4)
    hhi = result.hhi["hhi"].iloc[0]
    assert hhi <= cap_hhi + 0.1
    assert result.solver["hhi_cuts"] >= 1
    assert result.tables["hhi_cuts"]["max_hhi_excess"].iloc[-1] <= 0.1


def test_hhi_loop_that_runs_out_of_iterations_says_so():
    offers = [offer("A", "Nd", 10, 100), offer("B", "Nd", 20, 100), offer("C", "Nd", 30, 100)]
    result = rareopt.solve(
        one_element(offers, hhi_cap=3_400, hhi_tolerance=1e-6, hhi_max_iterations=2)
    )
    assert result.status is rareopt.SolveStatus.LIMIT_NO_PLAN
    assert "HHI cut loop stopped after 2 solves" in result.explanation


def bundled(salvage_ce, ce_demand=0.0, capacity=100):
    """Nd 10 t and Ce in one period, no stockpile. A (CN) sells Nd at 600 USD/t; B (AU) a
    concentrate at 100 USD/t REO that is 20% Nd and 50% Ce (30% not modelled)."""
    return rareopt.Portfolio(
        periods=1,
        demand={"Nd": 10, "Ce": ce_demand},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[offer("A", "Nd", 600, 100)],
        concentrates=[
            {
                "supplier": "B",
                "product": "bastnaesite",
                "price_usd_per_t": 100,
                "capacity_t": capacity,
                "composition": {"Nd": 0.2, "Ce": 0.5},
            }
        ],
        policy={"salvage_usd_per_t": {"Ce": salvage_ce}, "shortage_penalty_usd_per_t": 10_000},
    )


def test_concentrate_with_sold_surplus_beats_the_plain_offer():
    """Per t of concentrate: 100 USD less 0.5 t Ce sold at 50 = 75 USD for 0.2 t Nd, i.e. 375 USD
    per t Nd < 600. So 50 t of concentrate: 5,000 USD less 25 t Ce x 50 = 3,750 USD; all 25 t Ce
    were bought only because they came bundled."""
    result = rareopt.solve(bundled(salvage_ce=50))
    assert result.objective == pytest.approx(3_750)
    assert result.tables["concentrates"]["volume_t"].sum() == pytest.approx(50)
    surplus = result.tables["surplus"]
    assert surplus.loc[("Ce", "P1"), "surplus_t"] == pytest.approx(25)
    assert result.plan.loc[("Nd", "B", "P1"), "bundled_t"] == pytest.approx(10)
    assert result.shares.loc[("Nd", "P1", "seller", "country", "AU"), "share"] == pytest.approx(1.0)


def test_concentrate_loses_when_its_surplus_costs_to_dispose_of():
    """Disposal at 200 USD/t Ce: 100 + 0.5 x 200 = 200 USD per t of concentrate, 1,000 per t Nd:
    A's 600 wins: 6,000 USD. With 10 t Ce needed, the concentrate (20 t: 4 t Nd, 10 t Ce) is the
    only Ce there is: 20 x 100 + 6 t Nd from A x 600 = 5,600 USD."""
    assert rareopt.solve(bundled(salvage_ce=-200)).objective == pytest.approx(6_000)
    needs_ce = rareopt.solve(bundled(salvage_ce=-200, ce_demand=10))
    assert needs_ce.objective == pytest.approx(5_600)
    assert needs_ce.tables["surplus"]["surplus_t"].sum() == pytest.approx(0, abs=1e-9)


def test_concentrate_counts_against_the_country_cap_of_each_element():
    """AU capped at 50% of Nd: at most 5 t Nd from the concentrate (25 t), the rest from A:
    25 x 100 - 12.5 x 50 + 5 x 600 = 4,875 USD. Capped at 50% of every element, Ce too (all
    its tonnes, surplus included, come from AU), the concentrate is out: 6,000 USD."""
    base = bundled(salvage_ce=50)
    nd_only = [{"country": "AU", "element": "Nd", "max_share": 0.5}]
    result = rareopt.solve(base.with_policy(country_caps=nd_only))
    assert result.objective == pytest.approx(4_875)
    assert result.shares.loc[("Nd", "P1", "seller", "country", "AU"), "share"] == pytest.approx(0.5)
    every = rareopt.solve(base.with_policy(country_caps={"AU": 0.5}))
    assert every.objective == pytest.approx(6_000)


def test_concentrate_validation_names_the_row():
    with pytest.raises(rareopt.PortfolioError) as info:
        rareopt.Portfolio(
            periods=1,
            demand={"Nd": 1},
            suppliers=[supplier("B", "AU")],
            offers=[],
            concentrates=[
                {
                    "supplier": "X",
                    "product": "ore",
                    "price_usd_per_t": -1,
                    "capacity_t": 5,
                    "composition": {"Nd": 0.7, "Ce": 0.6},
                }
            ],
        )
    text = str(info.value)
    assert "concentrates, row 0 (supplier=X, product=ore), field supplier: got 'X'" in text
    assert "field price_usd_per_t: got -1" in text
    assert "field composition: got 1.3; allowed: shares summing to at most 1" in text
    spec = dict(periods=1, demand={"Nd": 1}, suppliers=[supplier("B", "AU")], offers=[])
    with pytest.warns(UserWarning, match="composition Sm: got 0.01; allowed: an element in the"):
        rareopt.Portfolio(
            **spec,
            concentrates=[
                {
                    "supplier": "B",
                    "product": "ore",
                    "price_usd_per_t": 1,
                    "capacity_t": 5,
                    "composition": {"Nd": 0.2, "Sm": 0.01},
                }
            ],
        )


def with_project(capital, earliest=1, build=1, ramp=(0.5, 1.0), rate=0.0, periods=4):
    """Nd 10 t a period: imports at 100 USD/t, or a domestic project at 20 USD/t (10 t a period
    at full capacity) once built; no stockpile."""
    return rareopt.Portfolio(
        periods={"count": periods, "days": 365.25},
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("P", "JP", kind="mine")],
        offers=[offer("A", "Nd", 100, 100), offer("P", "Nd", 20, 10)],
        projects=[
            {
                "supplier": "P",
                "capital_usd": capital,
                "earliest_start": earliest,
                "build_periods": build,
                "ramp": list(ramp),
            }
        ],
        policy={"discount_rate": rate},
    )


def test_project_is_built_when_its_savings_repay_the_capital_and_as_early_as_allowed():
    """Started in P1 with one period to build and a half-capacity first year: P2 saves
    5 x 80 = 400 USD, P3 and P4 800 each: 2,000 USD in all. Imports alone cost 4,000 USD."""
    result = rareopt.solve(with_project(capital=1_500))
    assert result.objective == pytest.approx(4_000 - 2_000 + 1_500)
    built = result.tables["projects"].loc["P"]
    assert built["invested"] and built["start_period"] == "P1" and built["online_period"] == "P2"
    assert result.plan.loc[("Nd", "P", "P2"), "volume_t"] == pytest.approx(5)
    assert "project capacity on stream" in set(result.checks["check"])


def test_project_too_dear_or_too_late_is_not_built():
    """At 2,100 USD the savings (2,000) do not repay it; starting no earlier than P3 it saves only
    400 (half a year in P4) against 300 of capital, so it is built, in P3."""
    assert not rareopt.solve(with_project(capital=2_100)).tables["projects"].loc["P", "invested"]
    late = rareopt.solve(with_project(capital=300, earliest="P3"))
    assert late.tables["projects"].loc["P", "start_period"] == "P3"
    assert late.objective == pytest.approx(4_000 - 400 + 300)


def test_discounting_makes_a_later_start_cheaper():
    """At 50% a year, capital paid in P2 (a year on) costs two thirds. Started in P1 the project
    saves 2,000 for 1,900: built, objective 4,000 - 2,000 + 1,900 = 3,900 (purchases are not
    discounted). Allowed from P2 only, it saves 400 + 800 = 1,200 for 1,900 / 1.5 = 1,267: not
    built."""
    result = rareopt.solve(with_project(capital=1_900, rate=0.5))
    assert result.tables["projects"].loc["P", "start_period"] == "P1"
    assert result.objective == pytest.approx(3_900)
    later = rareopt.solve(with_project(capital=1_900, rate=0.5, earliest=2))
    assert not later.tables["projects"].loc["P", "invested"]


def test_project_errors_name_the_row():
    with pytest.raises(rareopt.PortfolioError) as info:
        rareopt.Portfolio(
            periods=2,
            demand={"Nd": 1},
            suppliers=[supplier("A", "CN")],
            offers=[offer("A", "Nd", 1, 10)],
            projects=[{"supplier": "Z", "capital_usd": -5, "earliest_start": 7, "ramp": [2]}],
        )
    text = str(info.value)
    assert "projects, row 0 (supplier=Z), field supplier: got 'Z'" in text
    assert "field earliest_start: got 7; allowed: a period number 1..2" in text
    assert "field ramp: got [2]" in text


def test_concentrates_projects_and_new_policy_fields_round_trip_through_yaml(tmp_path):
    source = bundled(salvage_ce=50).with_policy(
        group_caps=[{"countries": ["CN", "AU"], "max_share": 0.9}],
        hhi_cap={"Nd": 9_000},
        max_suppliers_per_element=3,
        discount_rate=0.05,
    )
    path = tmp_path / "p.yaml"
    source.to_yaml(str(path))
    again = rareopt.Portfolio.from_yaml(str(path))
    assert again.composition.equals(source.composition)
    assert again.policy.hhi_cap == {"Nd": 9_000}
    assert again.policy.group_caps.to_dict("records") == source.policy.group_caps.to_dict("records")
    project = with_project(capital=1_500, build=2, ramp=(0.25, 0.5, 1.0))
    project.to_yaml(str(path))
    assert rareopt.Portfolio.from_yaml(str(path)).projects["ramp"].tolist() == [(0.25, 0.5, 1.0)]
    assert rareopt.solve(rareopt.Portfolio.from_yaml(str(path))).objective == pytest.approx(
        rareopt.solve(project).objective
    )


def test_time_limited_mip_returns_a_checked_plan_with_its_gap_or_says_it_has_none():
    from rareopt.inputs.synthetic import generate

    portfolio = generate(6, 14, 8, seed=3)
    offers = portfolio.offers.assign(contract_usd_per_year=150_000.0, min_order_t=25.0)
    mip = portfolio.replace_tables(offers=offers, capacity=portfolio.capacity).with_policy(
        max_suppliers_per_element=4
    )
    result = rareopt.solve(mip, time_limit=0.05)
    if result.status is rareopt.SolveStatus.LIMIT_WITH_PLAN:
        assert result.solver["mip_gap"] > 0
        assert result.checks["max_excess"].max() <= result.checks["tolerance"].max()
        assert result.contracts["contracted"].groupby(level="element").sum().max() <= 4
    elif result.status is rareopt.SolveStatus.OPTIMAL:
        assert result.solver["mip_gap"] <= 1e-4
    else:
        assert result.status is rareopt.SolveStatus.LIMIT_NO_PLAN
        with pytest.raises(rareopt.NoPlanError):
            result.plan


@settings(max_examples=10, deadline=None)
@given(price=st.integers(50, 400), nd_share=st.floats(0.05, 0.6), salvage=st.integers(-100, 100))
def test_adding_a_concentrate_offer_never_raises_cost(price, nd_share, salvage):
    base = bundled(salvage_ce=salvage, capacity=0)
    offered = bundled(salvage_ce=salvage).replace_tables(
        concentrates=[
            {
                "supplier": "B",
                "product": "ore",
                "price_usd_per_t": price,
                "capacity_t": 100,
                "composition": {"Nd": nd_share, "Ce": 0.3},
            }
        ]
    )
    assert rareopt.solve(offered).objective <= rareopt.solve(base).objective + 1e-6


def test_minimum_order_on_an_unlimited_offer_is_not_cut_off_by_the_big_m():
    """A sells at 10 USD/t, unlimited, in lots of at least 25 t; 10 t needed, room to store the
    rest: buying 25 t from A (250 USD) beats 10 t from B at 100 (1,000 USD)."""
    portfolio = rareopt.Portfolio(
        periods=1,
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[
            {**offer("A", "Nd", 10, float("inf")), "min_order_t": 25},
            offer("B", "Nd", 100, 50),
        ],
        stockpile=[{"element": "Nd", "initial_t": 0}],
    )
    assert rareopt.solve(portfolio).objective == pytest.approx(250)


def test_a_group_name_names_one_set_of_countries():
    with pytest.raises(rareopt.PortfolioError, match="the same countries as the group's other"):
        three_countries(
            group_caps=[{"group": "G", "countries": ["CN"], "max_share": 0.6}],
            group_floors=[{"group": "G", "countries": ["AU"], "min_share": 0.2}],
        )


def test_project_offer_and_concentrate_named_alike_keep_their_own_capacity_rows():
    """The project's concentrate product is called 'Nd', like the element of its plain offer; an
    unbuilt project must sell neither."""
    portfolio = rareopt.Portfolio(
        periods=2,
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("P", "JP")],
        offers=[offer("A", "Nd", 100, 100), offer("P", "Nd", 20, 10)],
        concentrates=[
            {
                "supplier": "P",
                "product": "Nd",
                "price_usd_per_t": 1,
                "capacity_t": 50,
                "composition": {"Nd": 0.5},
            }
        ],
        projects=[{"supplier": "P", "capital_usd": 1e9}],
    )
    result = rareopt.solve(portfolio)
    assert not result.tables["projects"].loc["P", "invested"]
    assert result.objective == pytest.approx(2_000)

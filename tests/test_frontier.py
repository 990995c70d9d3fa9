"""Frontiers: each point equals an independent solve, and moves the way theory says."""

import pandas as pd
import pytest
from helpers import at_least, outcome

import rareopt
from rareopt.analysis.frontier import frontier
from rareopt.inputs.synthetic import generate


@pytest.fixture(scope="module")
def portfolio():
    return generate(elements=3, suppliers=10, periods=6, seed=4)


def independent(portfolio, vary, value, country):
    if vary == "country_cap":
        caps = portfolio.policy.country_caps
        caps = caps[caps["country"] != country]
        caps.loc[len(caps)] = [country, "*", value]
        return portfolio.with_policy(country_caps=caps)
    if vary == "risk_weight":
        return portfolio.with_policy(risk_weight_usd_per_t=value)
    if vary == "price":
        in_country = portfolio.offers["supplier"].map(portfolio.supplier_country()) == country
        offers = portfolio.offers.assign(
            price_usd_per_t=portfolio.offers["price_usd_per_t"].where(
                ~in_country, lambda s: s * value
            )
        )
        return portfolio.replace_tables(offers=offers, capacity=portfolio.capacity)
    stockpile = portfolio.stockpile.assign(target_days=value)
    return portfolio.replace_tables(stockpile=stockpile)


CASES = [
    ("country_cap", [0.9, 0.6, 0.45, 0.3, 1.0]),
    ("risk_weight", [0.0, 2_000.0, 10_000.0]),
    ("price", [1.0, 1.3, 2.0]),
    ("target_days", [0.0, 30.0, 90.0]),
]


@pytest.mark.parametrize("vary, values", CASES, ids=[c[0] for c in CASES])
def test_frontier_equals_independent_solves(portfolio, vary, values):
    f = frontier(portfolio, vary, values, country="CN", progress=False)
    assert list(f.index) == values
    for value in values:
        expected = rareopt.solve(independent(portfolio, vary, value, "CN")).objective
        assert f.loc[value, "objective_usd"] == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("vary, values", CASES, ids=[c[0] for c in CASES])
def test_frontier_is_monotone_where_theory_says(portfolio, vary, values):
    """Tighter caps, heavier risk weight, dearer China, higher targets: never better.

    In priority order: demand met, then stock at target, then the objective.
    """
    ordered = sorted(values, reverse=(vary == "country_cap"))
    cost = frontier(portfolio, vary, ordered, country="CN", progress=False)["objective_usd"]
    outcomes = [outcome(rareopt.solve(independent(portfolio, vary, v, "CN"))) for v in ordered]
    assert [o[-1] for o in outcomes] == pytest.approx(cost.tolist(), rel=1e-7)
    assert all(at_least(b, a) for a, b in zip(outcomes, outcomes[1:]))


def test_frontier_reports_shares_within_the_cap(portfolio):
    f = frontier(portfolio, "country_cap", [0.5, 0.4], country="CN", progress=False)
    shares = f.filter(like="share:")
    assert not shares.empty
    assert (shares.loc[0.4] <= 0.4 + 1e-7).all() and (shares.loc[0.5] <= 0.5 + 1e-7).all()


def test_frontier_shares_and_hhi_equal_the_result_tables(portfolio):
    f = frontier(portfolio, "country_cap", [0.45], country="CN", progress=False)
    r = rareopt.solve(independent(portfolio, "country_cap", 0.45, "CN"))
    horizon = r.shares.xs(("*", "seller", "country"), level=("period", "stage", "by"))["share"]
    for element in portfolio.elements:
        cn = horizon.get((element, "CN"), 0.0)
        assert f.loc[0.45, f"share:{element}"] == pytest.approx(cn, abs=1e-9)
        hhi = r.hhi.loc[(element, "*", "seller"), "hhi"]
        assert f.loc[0.45, f"hhi:{element}"] == pytest.approx(hhi, rel=1e-9)


def test_a_cap_frontier_leaves_an_elements_own_cap_alone(portfolio):
    """Varying China's '*' cap keeps a (CN, element) row, which the most specific rule keeps."""
    own = portfolio.elements[0]
    caps = pd.DataFrame(
        [
            {"country": "CN", "element": "*", "max_share": 0.6},
            {"country": "CN", "element": own, "max_share": 0.3},
        ]
    )
    base = portfolio.with_policy(country_caps=caps)
    values = [0.25, 0.1]
    f = frontier(base, "country_cap", values, country="CN", progress=False)
    for value in values:
        point = base.with_policy(country_caps=caps.assign(max_share=[value, 0.3]))
        assert f.loc[value, "objective_usd"] == pytest.approx(
            rareopt.solve(point).objective, rel=1e-7
        )
        assert f.loc[value, f"share:{own}"] <= 0.3 + 1e-7


def test_frontier_names_an_unknown_country_or_element(portfolio):
    with pytest.raises(ValueError, match="country: got 'XX'; allowed: .*'CN'"):
        frontier(portfolio, "country_cap", [0.5], country="XX")
    with pytest.raises(ValueError, match="element: got 'Zz'; allowed"):
        frontier(portfolio, "country_cap", [0.5], country="CN", element="Zz")


def test_frontier_rejects_bad_arguments(portfolio):
    with pytest.raises(ValueError, match="vary.*'cap'.*allowed"):
        frontier(portfolio, "cap", [0.5])
    with pytest.raises(ValueError, match="country: required"):
        frontier(portfolio, "country_cap", [0.5])
    with pytest.raises(ValueError, match=r"got \[1.5\].*\[0, 1\]"):
        frontier(portfolio, "country_cap", [0.5, 1.5], country="CN")


def test_cost_of_diversification_matches_a_frontier_step():
    """Summed over periods, the dual's cost per point is the frontier's slope at the cap.

    It is a first-order figure: here total purchases shrink as the cap tightens (Australian Dy
    capacity limits them to 3 / (1 - cap)), so the slope is measured with a small step."""
    from rareopt.analysis.marginal import cost_of_diversification, marginal_cost

    p = rareopt.load_example("tiny")
    r = rareopt.solve(p)
    table = cost_of_diversification(r)
    predicted = table.xs("CN", level="country")["usd_per_point_tighter"].sum()
    step = 1e-5
    f = frontier(p, "country_cap", [0.6, 0.6 - step], country="CN", progress=False)["objective_usd"]
    slope_per_point = (f.iloc[1] - f.iloc[0]) / (100 * step)
    assert slope_per_point == pytest.approx(predicted, rel=1e-3)
    assert marginal_cost(r).loc["P1", "Nd"] == pytest.approx(
        r.duals.loc[("balance", "Nd", "P1", ""), "dual"]
    )


def test_cvar_level_frontier_equals_independent_two_stage_solves_and_rises():
    p = rareopt.load_example("tiny")
    events = ["china-japan-2010", "pandemic-logistics-2020"]
    scenarios = rareopt.event_scenarios(events, start=2, baseline=0.6)
    levels = [0.0, 0.5, 0.8, 0.95]
    risk = rareopt.CVaR(alpha=0.5, weight=0.7)
    table = rareopt.frontier(p, "cvar_alpha", levels, scenarios=scenarios, risk=risk)
    for alpha in levels:
        alone = rareopt.solve(p, scenarios=scenarios, risk=rareopt.CVaR(alpha, weight=0.7))
        assert table.loc[alpha, "objective_usd"] == pytest.approx(alone.objective, rel=1e-9)
    assert table["objective_usd"].is_monotonic_increasing
    assert (table["cvar_usd"] >= table["expected_recourse_usd"] - 1e-6).all()


def test_frontier_refuses_what_it_cannot_edit_in_place_with_scenarios():
    p = rareopt.load_example("tiny")
    with pytest.raises(ValueError, match="needs scenarios"):
        rareopt.frontier(p, "cvar_alpha", [0.5])
    scenarios = rareopt.event_scenarios(["china-japan-2010"])
    with pytest.raises(ValueError, match="allowed with scenarios: country_cap"):
        rareopt.frontier(p, "price", [1.2], country="CN", scenarios=scenarios)

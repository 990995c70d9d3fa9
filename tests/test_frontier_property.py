"""Every frontier kind equals independent solves point by point, on random portfolios.

``rareopt.frontier`` builds one model, hands it to HiGHS once and edits it in place per point (a
cap coefficient, a cost term, target bounds, CVaR costs). Each point must be what
``rareopt.solve`` returns for the portfolio that point stands for, built from scratch: the same
objective and the same cost terms. The portfolios are small and random (2-3 elements, 3-5
suppliers in 2-3 countries with China among them, 2-3 periods), optionally with concentrates,
contract fees and minimum orders, and an investment project; the two-stage kinds get random
disruption scenarios wherever the portfolio supports them (not with concentrates).
"""

import pandas as pd
import pytest
from helpers import offer, supplier
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import rareopt
from rareopt.exceptions import NotSupportedError

pytestmark = [
    pytest.mark.slow,
    # A random country cap on a country without an offer of that element is expected here.
    pytest.mark.filterwarnings("ignore:.*this cap has no effect:UserWarning"),
]

ELEMENTS = ["Nd", "Dy", "Tb"]
OTHER_COUNTRIES = ["AU", "IN", "VN"]
# Non-round prices (USD/t), so that no two supply routes tie by accident: a tie would let the
# frontier and the independent solve pick different optimal plans with different cost terms.
PRICE = {"Nd": 52_310.0, "Dy": 247_130.0, "Tb": 1_013_070.0}
RISK_SCORES = [0.0, 0.23, 0.61, 0.9]

LP_REL = 1e-6
MIP_REL = 1e-4 + LP_REL  # HiGHS's default mip_rel_gap: each MIP solve may stop this far away
POINTS = 3  # at most this many values per frontier

PROPERTY = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def portfolios(draw, *, concentrates=None, full_stockpile=False):
    """A random small portfolio; ``concentrates`` forces them in or out (None: either)."""
    n_periods = draw(st.integers(2, 3))
    elements = ELEMENTS[: draw(st.integers(2, 3))]
    countries = [
        "CN",
        *draw(st.lists(st.sampled_from(OTHER_COUNTRIES), min_size=1, max_size=2, unique=True)),
    ]
    n_suppliers = draw(st.integers(3, 5))
    # Every country has a supplier; the rest go anywhere.
    homes = countries + [
        draw(st.sampled_from(countries)) for _ in range(n_suppliers - len(countries))
    ]
    names = [f"S{i}" for i in range(n_suppliers)]
    suppliers = [
        supplier(name, home, risk=draw(st.sampled_from(RISK_SCORES)))
        for name, home in zip(names, homes)
    ]
    discrete = draw(st.booleans())
    offers = []
    for k, element in enumerate(elements):
        sellers = draw(
            st.lists(st.sampled_from(names), min_size=1, max_size=n_suppliers, unique=True)
        )
        for rank, name in enumerate(sellers):
            # Distinct prices per element by construction, plus a random non-round premium.
            price = PRICE[element] * (1 + 0.0731 * rank) + 17.3 * draw(st.integers(0, 40))
            row = offer(
                name,
                element,
                price,
                # The first offer has room in P1: a plan table is never empty (a regression test below).
                [
                    draw(st.integers(1 if k == rank == 0 and p == 0 else 0, 40)) * 1.0
                    for p in range(n_periods)
                ],
                freight=11.9 * draw(st.integers(0, 30)) + 0.37 * k,
            )
            if discrete and draw(st.booleans()):
                row["contract_usd_per_year"] = 1_000.0 * draw(st.integers(1, 400)) + 3.7 * rank
            if discrete and draw(st.booleans()):
                row["min_order_t"] = float(draw(st.integers(1, 15)))
            offers.append(row)
    demand = {e: [float(draw(st.integers(0, 50))) for _ in range(n_periods)] for e in elements}
    stocked = (
        elements
        if full_stockpile
        else draw(st.lists(st.sampled_from(elements), max_size=len(elements), unique=True))
    )
    stockpile = [
        {
            "element": e,
            "initial_t": float(draw(st.integers(0, 20))),
            "target_days": draw(
                st.sampled_from([0, 10, 25, {"from": 5, "to": 30, "periods": n_periods}])
            ),
            "capacity_t": draw(st.sampled_from([60.0, float("inf")])),
            "holding_usd_per_t": 131.0 + 97.3 * ELEMENTS.index(e) + draw(st.integers(0, 50)),
        }
        for e in stocked
    ]
    caps = [{"country": "CN", "element": "*", "max_share": draw(st.sampled_from([0.4, 0.6, 1.0]))}]
    if draw(st.booleans()):
        # An element's own China cap, which a '*' cap frontier must leave alone.
        caps.append({"country": "CN", "element": elements[0], "max_share": 0.35})
    policy = {
        "country_caps": caps,
        "cap_basis": draw(st.sampled_from(["period", "horizon"])),
        "shortage_penalty_usd_per_t": 5_000_000.0,
        "target_shortfall_penalty_usd_per_t": draw(st.sampled_from([23_700.0, 3_100_000.0])),
        "risk_weight_usd_per_t": draw(st.sampled_from([0.0, 4_321.0])),
    }
    bundles = []
    if concentrates if concentrates is not None else draw(st.booleans()):
        shares = {e: draw(st.sampled_from([0.15, 0.3, 0.45])) for e in elements[:2]}
        unit = sum(PRICE[e] * s for e, s in shares.items())
        bundles.append(
            {
                "supplier": draw(st.sampled_from(names)),
                "product": "mixed concentrate",
                "price_usd_per_t": unit * draw(st.sampled_from([0.55, 0.8, 1.1])) + 7.7,
                "capacity_t": float(draw(st.integers(5, 80))),
                "composition": shares,
            }
        )
        policy["salvage_usd_per_t"] = {elements[1]: draw(st.sampled_from([-913.0, 0.0, 2_711.0]))}
    projects = []
    if draw(st.booleans()):
        projects.append(
            {
                "supplier": draw(st.sampled_from(names)),
                "capital_usd": 1_000.0 * draw(st.integers(10, 3_000)) + 0.7,
                "earliest_start": draw(st.integers(1, n_periods)),
                "build_periods": draw(st.integers(0, 1)),
                "ramp": draw(st.sampled_from([[1.0], [0.5, 1.0]])),
            }
        )
    return rareopt.Portfolio(
        periods={"count": n_periods, "days": 30},
        demand=demand,
        suppliers=suppliers,
        offers=offers,
        stockpile=stockpile or None,
        policy=policy,
        concentrates=bundles or None,
        projects=projects or None,
        name="random",
    )


@st.composite
def scenario_sets(draw, portfolio):
    """Random disruptions of the portfolio's countries: China's, maybe another's, maybe calm."""
    n = len(portfolio.period_labels)

    def disruption(country):
        return {
            "country": country,
            "start": draw(st.integers(1, n)),
            "duration": draw(st.integers(1, 2)),
            "delivered_fraction": draw(st.sampled_from([0.0, 0.4])),
        }

    # The calm scenario always has some probability: with a certain, total cut, a purchase from
    # the cut country is refunded for sure, costs nothing net, and the optimum's split between
    # purchase cost and recourse is not unique (a frontier and a fresh solve may differ in it).
    calm = draw(st.sampled_from([0.55, 0.8]))
    hit = ["CN", *draw(st.lists(st.sampled_from(portfolio.countries[1:]), max_size=1))]
    scenarios = [{"name": "calm", "probability": calm}]
    scenarios += [
        {"name": f"{c} cut", "probability": (1 - calm) / len(hit), "disruptions": [disruption(c)]}
        for c in hit
    ]
    return rareopt.ScenarioSet(
        scenarios,
        spot_premium=draw(st.sampled_from([0.3, 0.9])),
        spot_share=draw(st.sampled_from([0.0, 0.25])),
    )


def values(options):
    """Up to POINTS distinct values, in random order (each point warm-starts from the last)."""
    return st.lists(st.sampled_from(options), min_size=1, max_size=POINTS, unique=True)


def is_mip(portfolio):
    offers = portfolio.offers
    return bool(
        len(portfolio.projects)
        or offers.get("contract_usd_per_year", pd.Series(dtype=float)).gt(0).any()
        or offers.get("min_order_t", pd.Series(dtype=float)).gt(0).any()
    )


# The portfolio each point stands for, built from the input portfolio without frontier's helpers.


def with_country_cap(portfolio, country, element, share):
    scope = "*" if element is None else element
    caps = portfolio.policy.country_caps
    caps = caps[~((caps["country"] == country) & (caps["element"] == scope))]
    row = pd.DataFrame([{"country": country, "element": scope, "max_share": share}])
    return portfolio.with_policy(country_caps=pd.concat([caps, row], ignore_index=True))


def with_price(portfolio, country, multiplier):
    offers = portfolio.offers
    in_country = offers["supplier"].map(portfolio.supplier_country()) == country
    price = offers["price_usd_per_t"].where(~in_country, offers["price_usd_per_t"] * multiplier)
    return portfolio.replace_tables(
        offers=offers.assign(price_usd_per_t=price), capacity=portfolio.capacity
    )


def with_targets(portfolio, element, days):
    """``element``'s stock target (every stockpile row's when None) flat at ``days``, others kept."""
    paths = portfolio.stock_target.groupby("element", sort=False)["target_days"].agg(list)
    stockpile = portfolio.stockpile.assign(
        target_days=[
            float(days) if element in (None, e) else paths[e]
            for e in portfolio.stockpile["element"]
        ]
    )
    return portfolio.replace_tables(stockpile=stockpile)


def assert_frontier_equals_independent_solves(run_frontier, solve_point, vals, mip):
    """Each row of ``run_frontier(vals)`` against ``solve_point(value)``, solved from scratch."""
    alone = {value: solve_point(value) for value in vals}
    # An empty plan table (no capacity anywhere) breaks the frontier's shares (a regression test below).
    if any(r.status.is_ok and r.plan.empty for r in alone.values()):
        assume(False)
    table = run_frontier(vals)
    rel = MIP_REL if mip else LP_REL
    assert list(table.index) == vals
    for value, result in alone.items():
        row = table.loc[value]
        assert row["status"] == result.status.value, value
        if not result.status.is_ok:
            continue
        scale = max(1.0, abs(result.objective))
        assert row["objective_usd"] == pytest.approx(result.objective, rel=rel, abs=1e-6), value
        terms = result.cost_terms
        assert set(terms.index) <= set(table.columns)
        for term, usd in terms.items():
            assert row[term] == pytest.approx(usd, abs=rel * scale), (value, term)
        assert sum(row[t] for t in terms.index) == pytest.approx(row["objective_usd"], rel=rel)


@PROPERTY
@given(data=st.data())
def test_country_cap_frontier_equals_independent_solves(data):
    two_stage = data.draw(st.booleans(), label="two-stage")
    # Scenarios with concentrates are not supported (NotSupportedError, tested below).
    portfolio = data.draw(portfolios(concentrates=False if two_stage else None), label="portfolio")
    scenarios = data.draw(scenario_sets(portfolio), label="scenarios") if two_stage else None
    country = data.draw(st.sampled_from(portfolio.countries), label="country")
    element = data.draw(st.sampled_from([None, *portfolio.elements]), label="element")
    vals = data.draw(values([1.0, 0.7, 0.45, 0.2, 0.0]), label="values")
    assert_frontier_equals_independent_solves(
        lambda vs: rareopt.frontier(
            portfolio,
            "country_cap",
            vs,
            country=country,
            element=element,
            scenarios=scenarios,
            progress=False,
        ),
        lambda v: rareopt.solve(
            with_country_cap(portfolio, country, element, v), scenarios=scenarios
        ),
        vals,
        is_mip(portfolio),
    )


@PROPERTY
@given(data=st.data())
def test_risk_weight_frontier_equals_independent_solves(data):
    portfolio = data.draw(portfolios(), label="portfolio")
    vals = data.draw(values([0.0, 1_234.5, 9_876.5, 55_555.0]), label="values")
    assert_frontier_equals_independent_solves(
        lambda vs: rareopt.frontier(portfolio, "risk_weight", vs, progress=False),
        lambda v: rareopt.solve(portfolio.with_policy(risk_weight_usd_per_t=v)),
        vals,
        is_mip(portfolio),
    )


@PROPERTY
@given(data=st.data())
def test_price_frontier_equals_independent_solves(data):
    portfolio = data.draw(portfolios(), label="portfolio")
    country = data.draw(st.sampled_from(portfolio.countries), label="country")
    vals = data.draw(values([0.0, 0.6, 1.0, 1.37, 2.5]), label="values")
    assert_frontier_equals_independent_solves(
        lambda vs: rareopt.frontier(portfolio, "price", vs, country=country, progress=False),
        lambda v: rareopt.solve(with_price(portfolio, country, v)),
        vals,
        is_mip(portfolio),
    )


@PROPERTY
@given(data=st.data())
def test_target_days_frontier_equals_independent_solves(data):
    """Every element's target at once (every element has a stockpile row: the frontier needs it)."""
    two_stage = data.draw(st.booleans(), label="two-stage")
    # Scenarios with concentrates are not supported (NotSupportedError, tested below).
    portfolio = data.draw(
        portfolios(concentrates=False if two_stage else None, full_stockpile=True),
        label="portfolio",
    )
    scenarios = data.draw(scenario_sets(portfolio), label="scenarios") if two_stage else None
    vals = data.draw(values([0.0, 7.5, 30.0, 90.0]), label="values")
    assert_frontier_equals_independent_solves(
        lambda vs: rareopt.frontier(
            portfolio, "target_days", vs, scenarios=scenarios, progress=False
        ),
        lambda v: rareopt.solve(with_targets(portfolio, None, v), scenarios=scenarios),
        vals,
        is_mip(portfolio),
    )


@PROPERTY
@given(data=st.data())
def test_cvar_level_frontier_equals_independent_solves(data):
    portfolio = data.draw(portfolios(concentrates=False), label="portfolio")
    scenarios = data.draw(scenario_sets(portfolio), label="scenarios")
    weight = data.draw(st.sampled_from([0.3, 1.0, 2.5]), label="weight")
    vals = data.draw(values([0.0, 0.5, 0.8, 0.95]), label="values")
    assert_frontier_equals_independent_solves(
        lambda vs: rareopt.frontier(
            portfolio,
            "cvar_alpha",
            vs,
            scenarios=scenarios,
            risk=rareopt.CVaR(alpha=0.5, weight=weight),
            progress=False,
        ),
        lambda v: rareopt.solve(
            portfolio, scenarios=scenarios, risk=rareopt.CVaR(alpha=v, weight=weight)
        ),
        vals,
        is_mip(portfolio),
    )


@settings(PROPERTY, max_examples=10)
@given(data=st.data())
def test_two_stage_frontiers_refuse_concentrates_and_unsupported_kinds(data):
    """Where a combination is not supported, the frontier says so instead of solving."""
    portfolio = data.draw(portfolios(concentrates=True), label="portfolio")
    scenarios = data.draw(scenario_sets(portfolio), label="scenarios")
    with pytest.raises(NotSupportedError, match="scenarios with concentrates"):
        rareopt.frontier(portfolio, "country_cap", [0.5], country="CN", scenarios=scenarios)
    for kind in ("risk_weight", "price"):
        with pytest.raises(ValueError, match="allowed with scenarios"):
            rareopt.frontier(portfolio, kind, [1.0], country="CN", scenarios=scenarios)


# Regressions: both once failed (a target frontier for one element dropped the others' targets;
# a portfolio without capacity crashed the shares).


def test_target_days_frontier_for_one_element_keeps_the_other_elements_targets():
    tiny = rareopt.load_example("tiny")  # Nd ramps 20, 30, 30 days; Dy flat 15
    assert_frontier_equals_independent_solves(
        lambda vs: rareopt.frontier(tiny, "target_days", vs, element="Dy", progress=False),
        lambda v: rareopt.solve(with_targets(tiny, "Dy", v)),
        [5.0, 20.0],
        mip=False,
    )


def test_frontier_of_a_portfolio_without_capacity_reports_its_unmet_demand():
    nothing = rareopt.Portfolio(
        periods=2,
        demand={"Nd": 10.0},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[offer("A", "Nd", 50_000, 0.0), offer("B", "Nd", 60_000, 0.0)],
    )
    table = rareopt.frontier(nothing, "country_cap", [0.5], country="CN", progress=False)
    assert table.loc[0.5, "unmet_t"] == pytest.approx(20.0)

"""rareopt's own paths run on the arrays: no Pyomo model is constructed unless you ask for one.

``pyomo.environ.ConcreteModel.__init__`` is patched to raise; solves, frontiers and stress tests
must still return checked plans, discrete decisions (contracts, minimum orders, projects) and
concentrates included.
"""

import pyomo.environ as pyo
import pytest

import rareopt
from rareopt.exceptions import RareoptError
from tests.helpers import offer, supplier


class PyomoConstructed(AssertionError):
    pass


@pytest.fixture
def no_pyomo(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise PyomoConstructed("a Pyomo ConcreteModel was constructed")

    monkeypatch.setattr(pyo.ConcreteModel, "__init__", refuse)


def contracts_portfolio():
    """tiny with a contract fee and a minimum order on every offer: a MIP."""
    p = rareopt.load_example("tiny")
    offers = p.offers.assign(contract_usd_per_year=50_000.0, min_order_t=5.0)
    return p.replace_tables(offers=offers, capacity=p.capacity)


def projects_portfolio():
    return rareopt.Portfolio(
        periods={"count": 4, "days": 365.25},
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("P", "JP", kind="mine")],
        offers=[offer("A", "Nd", 100, 100), offer("P", "Nd", 20, 10)],
        stockpile=[{"element": "Nd", "capacity_t": 20, "target_days": 30}],
        projects=[{"supplier": "P", "capital_usd": 1_000, "build_periods": 1, "ramp": [0.5, 1]}],
        policy={"country_caps": {"CN": 0.9}},
    )


def test_the_patch_bites(no_pyomo):
    with pytest.raises(PyomoConstructed):
        rareopt.build(rareopt.load_example("tiny"))


def test_bundles_solve_and_every_frontier_kind_without_pyomo(no_pyomo):
    bundles = rareopt.load_example("bundles")
    assert rareopt.solve(bundles).ok
    kinds = {
        "country_cap": {"values": [0.7, 0.6], "country": "CN"},
        "risk_weight": {"values": [0, 2000]},
        "target_days": {"values": [10, 20]},
        "price": {"values": [1.0, 1.5], "country": "CN"},
    }
    for vary, settings in kinds.items():
        curve = rareopt.frontier(bundles, vary, **settings)
        assert (curve["status"] == "optimal").all(), vary


@pytest.mark.parametrize("make", [contracts_portfolio, projects_portfolio])
def test_discrete_portfolios_solve_frontier_and_stress_without_pyomo(no_pyomo, make):
    portfolio = make()
    result = rareopt.solve(portfolio)
    assert result.ok and result.solver["mip_gap"] is not None
    curve = rareopt.frontier(portfolio, "country_cap", [0.95, 0.9], country="CN")
    assert (curve["status"] == "optimal").all()
    curve = rareopt.frontier(portfolio, "risk_weight", [0, 100])
    assert (curve["status"] == "optimal").all()
    events = rareopt.event_scenarios(["china-japan-2010"], start=2)
    stressed = rareopt.stress_test(result, events)
    assert (stressed.checks["max_excess"] <= stressed.checks["tolerance"]).all()
    assert len(stressed.cost) == 1


def test_scenarios_with_concentrates_are_refused_in_words():
    events = rareopt.event_scenarios(["china-japan-2010"])
    with pytest.raises(RareoptError, match="concentrates"):
        rareopt.solve(rareopt.load_example("bundles"), scenarios=events)

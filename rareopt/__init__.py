"""rareopt: where to buy critical raw materials, as a Pyomo LP solved by HiGHS.

Describe a sourcing problem as a :class:`Portfolio`, :func:`solve` it, read the :class:`Result`.

>>> import rareopt
>>> result = rareopt.solve(rareopt.load_example("tiny"))
>>> result.status.is_ok
True
"""

from rareopt.analysis import cost_of_diversification, marginal_cost
from rareopt.briefing import compare
from rareopt.check import check_plan
from rareopt.criticality import market_indicators, plan_indicators
from rareopt.examples import example_path, list_examples, load_example
from rareopt.exceptions import (
    NoPlanError,
    PlanCheckError,
    PortfolioError,
    RareoptError,
    ScenarioError,
    SolveError,
    ValidationIssue,
)
from rareopt.frontier import frontier
from rareopt.highs import SolveOptions
from rareopt.model import build, layout_of
from rareopt.portfolio import Criticality, Policy, Portfolio
from rareopt.results import Result
from rareopt.risk import CVaR, Expectation
from rareopt.scenarios import (
    Disruption,
    Scenario,
    ScenarioSet,
    event_scenarios,
    generate_scenarios,
    list_events,
)
from rareopt.solve import solve
from rareopt.status import SolveStatus
from rareopt.stress import stress_test, value_of_stochastic_solution

__version__ = "0.1.0"

__all__ = [
    "Portfolio",
    "Policy",
    "Criticality",
    "build",
    "layout_of",
    "solve",
    "Result",
    "SolveOptions",
    "SolveStatus",
    "check_plan",
    "frontier",
    "Disruption",
    "Scenario",
    "ScenarioSet",
    "event_scenarios",
    "generate_scenarios",
    "list_events",
    "Expectation",
    "CVaR",
    "stress_test",
    "value_of_stochastic_solution",
    "cost_of_diversification",
    "marginal_cost",
    "compare",
    "plan_indicators",
    "market_indicators",
    "load_example",
    "list_examples",
    "example_path",
    "RareoptError",
    "PortfolioError",
    "ScenarioError",
    "ValidationIssue",
    "SolveError",
    "NoPlanError",
    "PlanCheckError",
]

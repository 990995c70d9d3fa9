"""rareopt: where to buy critical raw materials, as an LP/MIP solved by HiGHS.

Describe a sourcing problem as a :class:`Portfolio`, :func:`solve` it, read the :class:`Result`.
The layers, data flowing one way: :mod:`rareopt.inputs` -> :mod:`rareopt.model` ->
:mod:`rareopt.solving` -> :mod:`rareopt.results` / :mod:`rareopt.checks` ->
:mod:`rareopt.analysis` -> :mod:`rareopt.report` -> :mod:`rareopt.cli`.

>>> import rareopt
>>> result = rareopt.solve(rareopt.load_example("tiny"))
>>> result.status.is_ok
True
"""

from rareopt import deprecation as _deprecation
from rareopt import report as _report  # noqa: F401 - registers Result.summary, report, to_excel
from rareopt.analysis.criticality import market_indicators, plan_indicators
from rareopt.analysis.evaluate import evaluate
from rareopt.analysis.frontier import frontier
from rareopt.analysis.gap import optimality_gap
from rareopt.analysis.marginal import cost_of_diversification, cost_of_next_points, marginal_cost
from rareopt.analysis.simulate import simulate
from rareopt.analysis.stress import stress_test, value_of_stochastic_solution
from rareopt.exceptions import NoPlanError, PlanCheckError, PortfolioError, RareoptError
from rareopt.inputs.examples import list_examples, load_example
from rareopt.inputs.portfolio import Policy, Portfolio
from rareopt.inputs.scenarios import ScenarioSet, event_scenarios, generate_scenarios, list_events
from rareopt.model.pyomo_view import build
from rareopt.model.risk import CVaR, Expectation
from rareopt.report.briefing import compare
from rareopt.results.result import Result
from rareopt.results.solve import solve
from rareopt.solving.highs import SolveOptions
from rareopt.status import SolveStatus

__version__ = "0.2.0"

__all__ = [
    # inputs
    "Portfolio",
    "Policy",
    "ScenarioSet",
    "load_example",
    "list_examples",
    "event_scenarios",
    "generate_scenarios",
    "list_events",
    # model and solving
    "build",
    "solve",
    "SolveOptions",
    "SolveStatus",
    "Result",
    "Expectation",
    "CVaR",
    # analysis and report
    "frontier",
    "stress_test",
    "value_of_stochastic_solution",
    "simulate",
    "evaluate",
    "optimality_gap",
    "cost_of_diversification",
    "cost_of_next_points",
    "marginal_cost",
    "plan_indicators",
    "market_indicators",
    "compare",
    # errors
    "RareoptError",
    "PortfolioError",
    "NoPlanError",
    "PlanCheckError",
]

_MOVED = {
    "layout_of": "rareopt.model.pyomo_view",
    "check_plan": "rareopt.checks.plan",
    "example_path": "rareopt.inputs.examples",
    "Criticality": "rareopt.inputs.portfolio",
    "Disruption": "rareopt.inputs.scenarios",
    "Scenario": "rareopt.inputs.scenarios",
    "ScenarioError": "rareopt.exceptions",
    "SolveError": "rareopt.exceptions",
    "ValidationIssue": "rareopt.exceptions",
}
"""Names that were top-level in rareopt 0.1: they still work, with a DeprecationWarning, until 0.3."""

__getattr__ = _deprecation.moved_names("rareopt", {k: f"{v}:{k}" for k, v in _MOVED.items()})
_deprecation.install_old_module_paths()

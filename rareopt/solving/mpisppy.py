"""The two-stage model on mpi-sppy: extensive form, or progressive hedging across MPI ranks.

``rareopt.solve(portfolio, scenarios=..., engine="mpisppy", method="ef" | "ph")`` hands the
scenarios to mpi-sppy (the ``mpi`` extra: ``pip install ".[mpi]"`` in a clone), one Pyomo model per
scenario from :func:`scenario_creator`, with the first-stage variables (contracts and the nominal
stock path) as the nonanticipative ones. Either way the first-stage plan mpi-sppy returns is
evaluated by rareopt's own two-stage model with the purchases fixed (:mod:`rareopt.results.solve`),
so the Result is the same type as a HiGHS solve and has passed the same independent checks;
``result.solver`` adds the engine, the method and, for PH, the inner (xhat) and outer
(Lagrangian) bounds and their relative gap. This module returns the plan and those figures.

mpi-sppy writes log files (``hub.log``, ``xhatclp.log`` ...) where its cylinder modules are first
imported; rareopt imports them inside ``ph={"log_dir": ...}`` (default: a new temporary
directory), never the working directory.

- ``ef``: mpi-sppy builds the extensive form (``sputils.create_EF``); rareopt hands it to HiGHS.
- ``ph``: progressive hedging with a Lagrangian lower-bound spoke and an xhat-shuffle upper-bound
  spoke when run under ``mpiexec`` with 3 ranks or a multiple; otherwise the hub alone, whose
  consensus plan is then evaluated (``result.solver["plan_from"]``). Every rank calls ``solve``;
  rank 0 gets the Result, the others None. Each PH subproblem is a bundle of scenarios sharing
  one first stage (:func:`scenario_bundles`, ``ph={"bundle_size": ...}``), about ten per hub rank
  by default.

For mpi-sppy's own driver, ``rareopt.solving.mpisppy_module`` is a model module for
``python -m mpisppy.generic_cylinders --module-name rareopt.solving.mpisppy_module``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from rareopt.exceptions import SolveError
from rareopt.inputs.derived import has_discrete_decisions
from rareopt.inputs.markets import contract_terms, contract_unit_prices
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.model.pyomo_view import build, compile_model
from rareopt.model.risk import CVaR, Expectation
from rareopt.solving.cvar_bounds import cvar_level_bounds
from rareopt.solving.highs import HighsSession, SolveOptions
from rareopt.status import EXPLANATIONS

if TYPE_CHECKING:
    import pyomo.environ as pyo
    from mpisppy.spin_the_wheel import WheelSpinner

    from rareopt.inputs.portfolio import Portfolio

_Volumes = dict[tuple[str, str, str], float]
"""Purchases (t) by ``buy`` index (element, supplier, period)."""

__all__ = [
    "scenario_creator",
    "scenario_bundles",
    "default_bundle_size",
    "is_root_rank",
    "default_rho",
    "solve_mpisppy",
    "PH_DEFAULTS",
]

PH_DEFAULTS: dict[str, Any] = {
    "rho": None,
    "max_iterations": 200,
    "rel_gap": 0.005,
    "solver_name": "appsi_highs",
    "bundle_size": None,
    "log_dir": None,
}
"""PH settings: rho (None: :func:`default_rho`), iteration limit, the relative gap between the
cylinders' bounds at which to stop, the Pyomo solver for the subproblems, and the scenarios per
PH subproblem (None: :func:`default_bundle_size`; 1: mpi-sppy's one scenario per subproblem),
and the directory for mpi-sppy's log files (None: a new temporary directory)."""

_LOGGING_MODULES = (
    "mpisppy.cylinders.hub",
    "mpisppy.cylinders.xhatshufflelooper_bounder",
    "mpisppy.cylinders.xhatlooper_bounder",
    "mpisppy.cylinders.slam_heuristic",
)
"""mpi-sppy modules that open a log file in the working directory when first imported."""


def _import_logging_modules(path: str | None) -> None:
    """Import mpi-sppy's logging modules with ``path`` (or a temporary one) as working directory.

    Their log files open at import; once imported, they stay where they were opened.
    """
    where = path or tempfile.mkdtemp(prefix="rareopt-mpisppy-")
    os.makedirs(where, exist_ok=True)
    here = os.getcwd()
    os.chdir(where)
    try:
        for name in _LOGGING_MODULES:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
    finally:
        os.chdir(here)


BUNDLES_PER_RANK = 10
"""Subproblems per hub rank that :func:`default_bundle_size` aims at."""


def scenario_creator(
    scenario_name: str,
    portfolio: Portfolio,
    scenarios: ScenarioSet,
    risk: Expectation | CVaR | None = None,
    bundles: dict[str, list[str]] | None = None,
) -> pyo.ConcreteModel:
    """One PH subproblem for mpi-sppy: the first stage plus one scenario's recourse, or a bundle's.

    The nonanticipative variables are ``buy``, ``stock``, ``unmet``, ``shortfall``, ``bought``
    (and ``cvar_level`` with CVaR); ``_mpisppy_probability`` is the subproblem's probability.
    A name in ``bundles`` (name -> scenario names, see :func:`scenario_bundles`) is a bundle:
    rareopt's two-stage model of those scenarios, one first stage shared by their recourse and
    each weighted by its probability given the bundle. It is the same problem as mpi-sppy's own
    bundles (an extensive form whose first-stage copies are tied together) without the copies,
    so a bundle costs one first stage plus its scenarios' recourse in memory. Each scenario is
    written from its first disruption on (``build(..., from_first_disruption=True)``): the same
    optimum for any first stage, with about a third fewer recourse rows and columns. Such a
    model is solved through Pyomo (mpi-sppy, or a Pyomo solver); ``rareopt.solve`` refuses it,
    as it reads and checks whole scenarios.

    Examples
    --------
    >>> import contextlib, io
    >>> with contextlib.redirect_stdout(io.StringIO()):  # mpi-sppy announces itself on import
    ...     import mpisppy
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.inputs.scenarios import event_scenarios
    >>> s = event_scenarios(["china-japan-2010", "pandemic-logistics-2020"])
    >>> m = scenario_creator("bundle-0", load_example("tiny"), s, bundles=scenario_bundles(s, 2))
    >>> list(m.recourse), m._mpisppy_probability
    (['china-japan-2010', 'pandemic-logistics-2020'], 1.0)
    """
    import mpisppy.utils.sputils as sputils

    members = (bundles or {}).get(scenario_name, [scenario_name])
    # Each scenario from its first disruption on: its nominal part is the first stage's.
    model = build(portfolio, scenarios, risk, only=members, from_first_disruption=True)
    # mpi-sppy solves it through Pyomo: the arrays it was built from would only take memory.
    model._rareopt_lp = model._rareopt_scenarios = model._rareopt_families = None
    nonants = [model.buy, model.stock, model.unmet, model.shortfall, model.bought]
    first_cost = model.total_cost.expr
    if hasattr(model, "cvar_level"):
        nonants.append(model.cvar_level)
        cvar = cast(CVaR, risk)  # a CVaR weight: the column counts units of level_unit_usd
        first_cost = first_cost + cvar.weight * cvar.level_unit_usd * model.cvar_level
    sputils.attach_root_node(model, first_cost, nonants)
    probability = dict(zip(scenarios.names, scenarios.probabilities))
    model._mpisppy_probability = float(sum(probability[name] for name in members))
    return model


def scenario_bundles(scenarios: ScenarioSet, size: int) -> dict[str, list[str]]:
    """Consecutive groups of ``size`` scenarios (the last may be smaller), named ``bundle-<k>``.

    Examples
    --------
    >>> from rareopt.inputs.scenarios import event_scenarios
    >>> s = event_scenarios(["china-japan-2010", "china-export-drop-2019", "pandemic-logistics-2020"])
    >>> bundles = scenario_bundles(s, 2)
    >>> bundles["bundle-1"], len(bundles["bundle-0"])
    (['pandemic-logistics-2020'], 2)
    """
    if not (isinstance(size, int) and size >= 1):
        raise ValueError(f"bundle_size: got {size!r}; allowed: an integer >= 1")
    names = scenarios.names
    return {
        f"bundle-{k}": names[start : start + size]
        for k, start in enumerate(range(0, len(names), size))
    }


def default_bundle_size(n_scenarios: int, hub_ranks: int) -> int:
    """Scenarios per PH subproblem: about :data:`BUNDLES_PER_RANK` subproblems per hub rank.

    Each subproblem carries a whole first stage (on ``medium``, some 200 MiB of Pyomo model,
    solver interface and PH terms) and one PH update per iteration in Python, while a scenario's
    recourse adds about 10 MiB; a few bundles per rank keep the memory and the Python work
    near the recourse's own, and still give PH several subproblems to reconcile.

    Examples
    --------
    >>> default_bundle_size(3, 1), default_bundle_size(100, 2), default_bundle_size(5000, 16)
    (1, 5, 32)
    """
    return max(1, -(-n_scenarios // (BUNDLES_PER_RANK * hub_ranks)))


def default_rho(portfolio: Portfolio) -> float:
    """PH penalty weight: a fifth of the median unit cost (price + freight) of the offers, USD/t.

    Prices span three orders of magnitude between elements; a rho of the order of the prices
    makes PH converge in tens of iterations on the built-in portfolios.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> default_rho(load_example("tiny"))
    32000.0
    """
    return 0.2 * _median_unit_cost(portfolio)


def _median_unit_cost(portfolio: Portfolio) -> float:
    """The offers' median unit cost (price + freight, USD/t): the scale of PH's rhos."""
    return float(np.median(contract_unit_prices(contract_terms(portfolio.offers))))


def _level_rho(
    risk: CVaR, rho: float, portfolio: Portfolio
) -> Callable[[pyo.ConcreteModel], list[tuple[int, float]]]:
    """PH's rho for the CVaR level (1/USD), from the contracts' rho (USD per t squared).

    The level is counted in tonnes at the offers' median unit cost u: a deviation of d USD is d/u
    tonnes, so its proximal term is rho (d/u)^2 / 2, times the CVaR weight: rho_t = weight rho /
    u^2. A rho of the contracts' own scale for the level in USD (some 10^4 per USD squared) would
    dwarf every other term and stall the solver; with none the level never agrees across bundles.
    """
    unit = _median_unit_cost(portfolio)
    # Per USD squared, then per the column's unit squared.
    level_rho = risk.weight * rho * (risk.level_unit_usd / max(unit, 1.0)) ** 2

    def setter(model: pyo.ConcreteModel) -> list[tuple[int, float]]:
        if not hasattr(model, "cvar_level"):
            return []
        return [(id(var), level_rho) for var in model.cvar_level.values()]

    return setter


def is_root_rank() -> bool:
    """True on MPI rank 0, the rank that gets the Result (and without MPI running).

    Examples
    --------
    >>> is_root_rank()
    True
    """
    try:
        from mpi4py import MPI
    except ImportError:  # no mpi extra: one process
        return True
    return MPI.COMM_WORLD.Get_rank() == 0


def _release_solutions() -> type:
    """An mpi-sppy extension that drops each subproblem's stored solution after its solve.

    mpi-sppy loads every solve's values into the model's variables through Pyomo's
    ``model.solutions``, which then keeps a copy of them all (about 0.7 MiB a `medium` scenario,
    per subproblem); PH reads the variables, never that copy.
    """
    from mpisppy.extensions.extension import Extension

    class ReleaseSolutions(Extension):
        def post_solve(self, subproblem: pyo.ConcreteModel, results: Any) -> Any:
            subproblem.solutions.clear()
            return results

    return ReleaseSolutions


def _solve_ef(
    portfolio: Portfolio,
    scenarios: ScenarioSet,
    risk: Expectation | CVaR | None,
    options: SolveOptions,
) -> tuple[_Volumes, dict[str, Any]]:
    import mpisppy.utils.sputils as sputils

    kwargs = {"portfolio": portfolio, "scenarios": scenarios, "risk": risk}
    ef = sputils.create_EF(scenarios.names, scenario_creator, kwargs, suppress_warnings=True)
    lp = compile_model(ef)
    output = HighsSession(lp, options).run()
    info = {
        "engine": "mpisppy",
        "method": "ef",
        "ef_status": output.status.value,
        "ef_objective": output.objective,
    }
    if not output.status.is_ok:
        raise SolveError(
            output.status,
            output.message,
            f"mpi-sppy's extensive form has no plan. {EXPLANATIONS.get(output.status, '')}",
        )
    first = getattr(ef, scenarios.names[0])
    positions = lp.positions(first.buy.values())
    values = {
        k: cast(np.ndarray, output.x)[j] if j >= 0 else (v.value or 0.0)  # is_ok: a plan
        for (k, v), j in zip(first.buy.items(), positions)
    }
    return values, info


def _solve_ph(
    portfolio: Portfolio,
    scenarios: ScenarioSet,
    risk: Expectation | CVaR | None,
    ph: dict[str, Any],
    options: SolveOptions,
) -> tuple[_Volumes, dict[str, Any]] | None:
    import mpisppy.utils.cfg_vanilla as vanilla
    from mpisppy import MPI
    from mpisppy.spin_the_wheel import WheelSpinner
    from mpisppy.utils import config

    if isinstance(risk, CVaR) and risk.weight > 0 and risk.level_bounds is None:
        # A free CVaR level leaves the Lagrangian's subproblems unbounded (the multiplier on
        # the level tilts it to either infinity): bounds that hold its optimum close the gap.
        # Rank 0 derives them (a one-stage solve and every scenario's recourse) for all.
        world = MPI.COMM_WORLD
        bounds = (
            cvar_level_bounds(portfolio, scenarios, risk, options)
            if world.Get_rank() == 0
            else None
        )
        risk = replace(risk, level_bounds=world.bcast(bounds, root=0))
    ranks = MPI.COMM_WORLD.Get_size()
    spokes_on = ranks >= 3 and ranks % 3 == 0
    hub_ranks = ranks // 3 if spokes_on else ranks
    size = ph["bundle_size"]
    if size is None:
        size = default_bundle_size(len(scenarios), hub_ranks)
    bundles = scenario_bundles(scenarios, size)
    if len(bundles) < hub_ranks:
        n = len(scenarios)
        fitting = [k for k in range(1, n + 1) if -(-n // k) >= hub_ranks]
        allowed = f"at most {fitting[-1]}" if fitting else f"none: use {n} hub ranks or fewer"
        raise ValueError(
            f"bundle_size: got {size}, {len(bundles)} subproblem(s) of {n} scenarios for "
            f"{hub_ranks} hub ranks, each of which needs one; allowed: {allowed}"
        )
    cfg = config.Config()
    cfg.num_scens_required()
    cfg.popular_args()
    cfg.two_sided_args()
    cfg.ph_args()
    cfg.lagrangian_args()
    cfg.xhatshuffle_args()
    cfg.num_scens = len(bundles)
    cfg.solver_name = ph["solver_name"]
    cfg.default_rho = ph["rho"] if ph["rho"] is not None else default_rho(portfolio)
    cfg.max_iterations = int(ph["max_iterations"])
    cfg.rel_gap = float(ph["rel_gap"])
    cfg.linearize_proximal_terms = True  # LP subproblems: HiGHS's LP solver, warm-started
    if "highs" in cfg.solver_name:
        # HiGHS keeps its presolved copy of each subproblem (about 1.4 MiB a `medium` scenario);
        # PH's solves after the first start from the last basis, which presolve would not use.
        # (The option's name is HiGHS's; other solvers keep their defaults.)
        cfg.solver_options = "presolve=off"
    cfg.lagrangian = spokes_on
    cfg.xhatshuffle = spokes_on
    beans = (cfg, scenario_creator, None, list(bundles))
    kwargs = {"portfolio": portfolio, "scenarios": scenarios, "risk": risk, "bundles": bundles}
    release = _release_solutions()
    hub = vanilla.ph_hub(
        *beans,
        scenario_creator_kwargs=kwargs,
        ph_extensions=release,
        rho_setter=(
            _level_rho(risk, cfg.default_rho, portfolio) if isinstance(risk, CVaR) else None
        ),
    )
    spokes = []
    if spokes_on:
        spokes = [
            vanilla.lagrangian_spoke(*beans, scenario_creator_kwargs=kwargs, ph_extensions=release),
            vanilla.xhatshuffle_spoke(
                *beans, scenario_creator_kwargs=kwargs, ph_extensions=release
            ),
        ]
    wheel = WheelSpinner(hub, spokes)
    wheel.spin()
    comm = MPI.COMM_WORLD
    # Whichever rank holds the best plan writes it: one shared path, read by rank 0.
    tmp = comm.bcast(tempfile.mkdtemp() if comm.Get_rank() == 0 else None, root=0)
    path = os.path.join(tmp, "first_stage.csv")
    wheel.write_first_stage_solution(path)
    discrete = has_discrete_decisions(portfolio)
    consensus = _consensus(wheel, discrete) if wheel.global_rank == 0 else None
    comm.Barrier()
    if wheel.global_rank != 0:
        return None
    if os.path.exists(path):
        values, plan_from = _read_first_stage(path, portfolio, scenarios, risk), "xhat spoke"
    else:
        # No spoke (fewer than 3 ranks): the hub's consensus plan (see _consensus).
        values, plan_from = cast("tuple[_Volumes, str]", consensus)  # computed on rank 0
    shutil.rmtree(tmp, ignore_errors=True)
    inner, outer = float(wheel.BestInnerBound), float(wheel.BestOuterBound)
    gap = abs(inner - outer) / max(abs(inner), 1.0) if np.isfinite(inner) else np.inf
    info = {
        "engine": "mpisppy",
        "method": "ph",
        "ranks": ranks,
        "rho": cfg.default_rho,
        "bundle_size": size,
        "subproblems": len(bundles),
        "plan_from": plan_from,
        "ph_iterations": int(getattr(wheel.spcomm.opt, "_PHIter", 0)),
        "inner_bound": inner,
        "outer_bound": outer,
        "bound_gap": gap,
        "rel_gap_target": float(ph["rel_gap"]),
    }
    if isinstance(risk, CVaR) and risk.level_bounds is not None:
        info["cvar_level_bounds"] = list(risk.level_bounds)
    return values, info


def _consensus(wheel: WheelSpinner, discrete: bool) -> tuple[_Volumes, str]:
    """The hub's plan without an xhat spoke: contracts keyed by the ``buy`` index, and its name.

    For an LP first stage, PH's xbar: the probability-weighted mean of the subproblems' (bundles')
    contracts, each of which meets the first stage's linear constraints, so the mean does too.
    With discrete first-stage decisions (contracts, minimum orders, projects) a mean can break
    them (half a minimum order), so the first local subproblem's own contracts are used instead.
    """
    import pyomo.environ as pyo

    name, scenario = next(iter(wheel.spcomm.opt.local_scenarios.items()))
    key_of = {id(var): key for key, var in scenario.buy.items()}
    if discrete:
        values = {key: max(float(var.value or 0.0), 0.0) for key, var in scenario.buy.items()}
        return values, f"PH subproblem {name!r} (discrete first stage)"
    xbars = scenario._mpisppy_model.xbars
    values = {
        key_of[id(var)]: max(float(pyo.value(xbars[index])), 0.0)
        for index, var in scenario._mpisppy_data.nonant_indices.items()
        if id(var) in key_of
    }
    return values, "PH consensus (xbar)"


def _read_first_stage(
    path: str,
    portfolio: Portfolio,
    scenarios: ScenarioSet,
    risk: Expectation | CVaR | None,
) -> _Volumes:
    """Contract volumes from mpi-sppy's first-stage CSV (variable name, value).

    Keyed by the ``buy`` index; names are matched against a model built the same way, not parsed.
    """
    model = scenario_creator(scenarios.names[0], portfolio, scenarios, risk)
    key_of = {var.name: key for key, var in model.buy.items()}
    values = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            # Names contain commas (buy[Nd,AU-Lynas,2026-01]); the value follows the last one.
            name, _, value = line.strip().rpartition(",")
            if name in key_of:
                values[key_of[name]] = float(value)
    missing = len(key_of) - len(values)
    if missing:
        raise RuntimeError(f"mpi-sppy's first-stage file lacks {missing} contract volumes")
    return values


def solve_mpisppy(
    portfolio: Portfolio,
    scenarios: ScenarioSet,
    risk: Expectation | CVaR | None = None,
    method: str = "ef",
    ph: dict[str, Any] | None = None,
    options: SolveOptions | None = None,
) -> tuple[_Volumes, dict[str, Any]] | None:
    """The first-stage plan mpi-sppy finds for the two-stage model (see the module docstring).

    Parameters
    ----------
    portfolio : Portfolio
        The portfolio.
    scenarios : ScenarioSet
        The scenarios.
    risk : Expectation or CVaR, optional
        The risk measure (default: expectation).
    method : {"ef", "ph"}
        Extensive form, or progressive hedging.
    ph : dict, optional
        Overrides of :data:`PH_DEFAULTS`.
    options : SolveOptions, optional
        HiGHS settings for the extensive form (and, in PH, for deriving the CVaR level bounds).

    Returns
    -------
    tuple of (dict, dict) or None
        The purchases (element, supplier, period) -> t, and what the engine reports (method,
        bounds, gap ...); None on the MPI ranks other than 0 in PH.
    """
    try:
        import mpisppy  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "engine='mpisppy' needs the mpi extra: pip install '.[mpi]' in a clone of rareopt"
        ) from exc
    if method not in ("ef", "ph"):
        raise ValueError(f"method: got {method!r}; allowed: 'ef' or 'ph'")
    unknown = sorted(set(ph or {}) - set(PH_DEFAULTS))
    if unknown:
        raise ValueError(f"ph: unknown setting(s) {unknown}; allowed: {sorted(PH_DEFAULTS)}")
    if method == "ef":
        return _solve_ef(portfolio, scenarios, risk, options or SolveOptions())
    settings = {**PH_DEFAULTS, **(ph or {})}
    _import_logging_modules(settings["log_dir"])
    return _solve_ph(portfolio, scenarios, risk, settings, options or SolveOptions())

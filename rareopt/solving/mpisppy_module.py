r"""A model module for mpi-sppy's own driver, ``mpisppy.generic_cylinders``.

    mpiexec -n 3 python -m mpi4py -m mpisppy.generic_cylinders \\
        --module-name rareopt.solving.mpisppy_module --portfolio japan \\
        --events china-japan-2010,china-export-licensing-2025 --events-start 12 --baseline 0.8 \\
        --num-scens 3 --solver-name appsi_highs --default-rho 20000 --linearize-proximal-terms \\
        --max-iterations 200 --rel-gap 0.005 --lagrangian --xhatshuffle --solution-base-name plan

``--portfolio`` is a YAML file or a built-in example name; the scenarios come from
``--scenarios-file`` (a scenario-set YAML) or ``--events`` (built-in real events). ``--num-scens``
must equal the number of scenarios in the set. The functions are those generic_cylinders calls;
``rareopt.solve(..., engine="mpisppy")`` is the same model without the command line.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from rareopt.inputs.scenarios import ScenarioSet, event_scenarios
from rareopt.solving.mpisppy import scenario_creator

if TYPE_CHECKING:
    import pyomo.environ as pyo
    from mpisppy.utils.config import Config

__all__ = [
    "scenario_creator",
    "scenario_names_creator",
    "inparser_adder",
    "kw_creator",
    "scenario_denouement",
]

_loaded: dict[str, ScenarioSet] = {}


def inparser_adder(cfg: Config) -> None:
    """Add rareopt's options to mpi-sppy's configuration."""
    cfg.num_scens_required()
    cfg.add_to_config(
        "portfolio",
        description="Portfolio YAML file or built-in example name",
        domain=str,
        default="japan",
    )
    cfg.add_to_config(
        "scenarios_file", description="Scenario set YAML file", domain=str, default=None
    )
    cfg.add_to_config(
        "events", description="Built-in real events, comma-separated", domain=str, default=None
    )
    cfg.add_to_config(
        "events_start", description="Period the events start in (number)", domain=int, default=1
    )
    cfg.add_to_config(
        "baseline",
        description="Probability of no disruption beside the events",
        domain=float,
        default=0.0,
    )


def kw_creator(cfg: Config) -> dict[str, Any]:
    """Load the portfolio and scenario set once per process; the scenario creator's kwargs."""
    from rareopt.inputs.examples import list_examples, load_example
    from rareopt.inputs.portfolio import Portfolio

    name = cfg.portfolio
    portfolio = load_example(name) if name in list_examples() else Portfolio.from_yaml(name)
    if cfg.scenarios_file is not None:
        scenarios = ScenarioSet.from_yaml(os.path.expanduser(cfg.scenarios_file))
    elif cfg.events is not None:
        events = [e.strip() for e in cfg.events.split(",") if e.strip()]
        scenarios = event_scenarios(events, start=cfg.events_start, baseline=cfg.baseline)
    else:
        raise ValueError("give --scenarios-file or --events")
    _loaded["scenarios"] = scenarios
    return {"portfolio": portfolio, "scenarios": scenarios}


def scenario_names_creator(num_scens: int | None, start: int | None = None) -> list[str]:
    """Names of the scenarios ``start`` .. ``start + num_scens`` of the loaded set."""
    names = _loaded["scenarios"].names
    start = start or 0
    return names[start : start + (len(names) if num_scens is None else num_scens)]


def scenario_denouement(rank: int, scenario_name: str, scenario: pyo.ConcreteModel) -> None:
    """Nothing to report per scenario; rareopt reports from the first-stage solution."""

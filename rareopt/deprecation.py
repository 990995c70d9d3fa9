"""Names and modules that moved in rareopt 0.2: they still work, with a DeprecationWarning, until 0.3.

Shared vocabulary like :mod:`rareopt.exceptions`: every layer may import it; it imports no layer.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

__all__ = ["moved_names", "install_old_module_paths", "OLD_MODULES"]

OLD_MODULES = {
    "rareopt.portfolio": "rareopt.inputs.portfolio",
    "rareopt.validation": "rareopt.inputs.validation",
    "rareopt.yamlio": "rareopt.inputs.io",
    "rareopt.concentrates": "rareopt.inputs.concentrates",
    "rareopt.projects": "rareopt.inputs.projects",
    "rareopt.scenarios": "rareopt.inputs.scenarios",
    "rareopt.examples": "rareopt.inputs.examples",
    "rareopt.keys": "rareopt.inputs.tables",
    "rareopt.layout": "rareopt.model.layout",
    "rareopt.standard_form": "rareopt.model.formulation",
    "rareopt.contracts": "rareopt.model.discrete",
    "rareopt.two_stage": "rareopt.model.two_stage",
    "rareopt.risk": "rareopt.model.risk",
    "rareopt.highs": "rareopt.solving.highs",
    "rareopt.hhi_cuts": "rareopt.solving.hhi_cuts",
    "rareopt.infeasibility": "rareopt.solving.infeasibility",
    "rareopt.mpisppy_engine": "rareopt.solving.mpisppy",
    "rareopt.mpisppy_module": "rareopt.solving.mpisppy_module",
    "rareopt.outcomes": "rareopt.results.outcomes",
    "rareopt.check": "rareopt.checks.plan",
    "rareopt.scenario_check": "rareopt.checks.scenarios",
    "rareopt.stress": "rareopt.analysis.stress",
    "rareopt.criticality": "rareopt.analysis.criticality",
    "rareopt.bench": "rareopt.analysis.bench",
    "rareopt.briefing": "rareopt.report.briefing",
    "rareopt.plotting": "rareopt.report.plots",
}
"""Modules of rareopt 0.1 and where they went (``rareopt.solve`` and ``rareopt.frontier`` are
the functions of those names; ``rareopt.model``, ``results``, ``analysis`` and ``report`` are now
packages that answer their old names through :func:`moved_names`)."""


def _warn(old: str, new: str) -> None:
    warnings.warn(
        f"{old} is deprecated and goes in rareopt 0.3; use {new}", DeprecationWarning, stacklevel=3
    )


def moved_names(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` answering ``names`` (old name -> "module:name") with a warning.

    Examples
    --------
    >>> import pytest
    >>> get = moved_names("rareopt.demo", {"old": "rareopt.inputs.tables:ALL"})
    >>> with pytest.warns(DeprecationWarning):
    ...     get("old")
    '*'
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = names[name].partition(":")
        _warn(f"{package}.{name}", f"{module}.{attribute}")
        return getattr(importlib.import_module(module), attribute)

    return __getattr__


class _OldModulePaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of a 0.1 module path get the module it became, with a DeprecationWarning."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in OLD_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> ModuleType:
        _warn(spec.name, OLD_MODULES[spec.name])
        return importlib.import_module(OLD_MODULES[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module is the new one, already imported."""


def install_old_module_paths() -> None:
    """Let ``import rareopt.two_stage`` and the other 0.1 paths keep working for a release."""
    if not any(isinstance(f, _OldModulePaths) for f in sys.meta_path):
        sys.meta_path.append(_OldModulePaths())

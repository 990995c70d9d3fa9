"""The formulation, written once as arrays: layout, families, discrete decisions, scenarios, risk.

:mod:`rareopt.model.lp` holds the solver-neutral container; :mod:`rareopt.model.pyomo_view` is a
Pyomo view of the same arrays for your own constraints.
"""

from rareopt.deprecation import moved_names as _moved_names  # noqa: E402

# The names rareopt 0.1's module ``rareopt.model`` had, until 0.3.
__getattr__ = _moved_names(
    "rareopt.model",
    {
        "build": "rareopt.model.pyomo_view:build",
        "layout_of": "rareopt.model.pyomo_view:layout_of",
        "compile_built": "rareopt.model.pyomo_view:compile_built",
        "add_families": "rareopt.model.pyomo_view:add_families",
        "model_columns": "rareopt.model.pyomo_view:model_columns",
        "uses_pyomo_parts": "rareopt.inputs.derived:has_discrete_decisions",
    },
)

"""The formulation, written once as arrays: layout, families, discrete decisions, scenarios, risk.

:mod:`rareopt.model.lp` holds the solver-neutral container; :mod:`rareopt.model.pyomo_view` is a
Pyomo view of the same arrays for your own constraints.
"""

"""Independent checks of a returned plan, recomputed from the portfolio's own tables.

They import only :mod:`rareopt.inputs` (and the shared vocabulary), never the model or the solver,
so that a formulation error cannot hide in both.
"""

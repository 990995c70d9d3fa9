"""Solving: the HiGHS adapter, the HHI cut loop, IIS explanations, the mpi-sppy engine.

:mod:`rareopt.solving.highs` is the only module that talks to ``highspy``;
:mod:`rareopt.solving.pipeline` is the solver side of ``rareopt.solve``.
"""

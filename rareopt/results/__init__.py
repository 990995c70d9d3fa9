"""Results: the Result of a solve, built once from a checked solution, and its tables.

:func:`~rareopt.results.solve.solve` runs the whole pipeline into a
:class:`~rareopt.results.result.Result`.
"""

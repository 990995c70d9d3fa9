"""Results: the Result of a solve, built once from a checked solution, and its tables.

:func:`~rareopt.results.solve.solve` runs the whole pipeline into a
:class:`~rareopt.results.result.Result`.
"""

from rareopt.deprecation import moved_names as _moved_names  # noqa: E402

# The names rareopt 0.1's module ``rareopt.results`` had, until 0.3.
__getattr__ = _moved_names(
    "rareopt.results",
    {
        "Result": "rareopt.results.result:Result",
        "LazyTables": "rareopt.results.result:LazyTables",
        "extract": "rareopt.results.tables:extract",
        "shares_table": "rareopt.results.tables:shares_table",
        "hhi_table": "rareopt.results.tables:hhi_table",
        "duals_table": "rareopt.results.tables:duals_table",
    },
)

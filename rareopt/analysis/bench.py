"""Benchmark HiGHS settings on a portfolio, and how solve time scales with its size.

:func:`settings_benchmark` builds and hands the model to HiGHS once per setting and repeat,
solves, and reports per setting the median HiGHS time, the objective, the status and the relative
gap to the best objective found. :func:`scaling` times the solve on synthetic portfolios with
more suppliers, or more scenarios, and fits the log-log slope (time ~ size^slope). Times are wall-clock on a shared
machine: compare settings side by side in one run, never against a fixed number.
"""

from __future__ import annotations

import itertools
import statistics

import numpy as np
import pandas as pd

from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.synthetic import disruptions, generate
from rareopt.progress import progress_bar
from rareopt.solving.highs import HighsSession, SolveOptions
from rareopt.solving.pipeline import prepare

__all__ = ["settings_grid", "settings_benchmark", "scaling"]


def settings_grid(is_mip: bool) -> list[dict]:
    """HiGHS settings to compare: LP algorithm x presolve x threads (and MIP gaps and limits).

    Examples
    --------
    >>> len(settings_grid(False)), len(settings_grid(True))
    (12, 8)
    """
    if is_mip:
        return [
            {"presolve": p, "threads": t, "mip_rel_gap": g}
            for p, t, g in itertools.product((True, False), (1, 2), (1e-4, 1e-2))
        ]
    return [
        {"lp_algorithm": a, "presolve": p, "threads": t}
        for a, p, t in itertools.product(("simplex", "ipm", "pdlp"), (True, False), (1, 2))
    ]


def settings_benchmark(
    portfolio: Portfolio,
    repeats: int = 3,
    grid: list[dict] | None = None,
    time_limit: float | None = 60.0,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Solve ``portfolio`` under each HiGHS setting ``repeats`` times.

    Returns
    -------
    DataFrame
        One row per setting (its fields as columns): median_s, min_s, objective_usd, status,
        gap_to_best (relative, against the best objective of any setting with a plan).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> table = settings_benchmark(load_example("tiny"), repeats=1,
    ...                            grid=[{"lp_algorithm": "simplex"}, {"lp_algorithm": "ipm"}])
    >>> table["status"].tolist()
    ['optimal', 'optimal']
    """
    lp = prepare(portfolio).lp
    grid = settings_grid(lp.is_mip) if grid is None else grid
    rows = []
    for setting in progress_bar(grid, progress, "settings", unit="setting"):
        times, output = [], None
        for _ in range(repeats):
            output = HighsSession(lp, SolveOptions(time_limit=time_limit, **setting)).run()
            times.append(output.solve_seconds)
        rows.append(
            {
                **setting,
                "median_s": statistics.median(times),
                "min_s": min(times),
                "objective_usd": output.objective,
                "status": output.status.value,
            }
        )
    table = pd.DataFrame(rows)
    best = table["objective_usd"].dropna().min()
    table["gap_to_best"] = (table["objective_usd"] - best).abs() / max(abs(best), 1.0)
    return table


def scaling(
    values: list[int],
    axis: str = "suppliers",
    elements: int = 7,
    suppliers: int = 15,
    periods: int = 12,
    repeats: int = 3,
    seed: int = 0,
) -> tuple[pd.DataFrame, float]:
    """HiGHS time (median of ``repeats``) against suppliers or scenarios, and the log-log slope.

    ``axis="suppliers"``: deterministic portfolios with ``values`` suppliers; ``"scenarios"``:
    the two-stage model of one portfolio (``suppliers`` suppliers) with ``values`` random
    scenarios (:func:`rareopt.inputs.synthetic.disruptions`).

    Examples
    --------
    >>> table, slope = scaling([6, 12], elements=2, periods=3, repeats=1)
    >>> list(table.columns)
    ['suppliers', 'rows', 'columns', 'median_s']
    >>> scaling([2, 4], axis="scenarios", elements=2, suppliers=5, periods=3, repeats=1)[0]["scenarios"].tolist()
    [2, 4]
    """
    if axis not in ("suppliers", "scenarios"):
        raise ValueError(f"axis: got {axis!r}; allowed: 'suppliers' or 'scenarios'")
    rows = []
    for n in values:
        if axis == "suppliers":
            lp = prepare(generate(elements, n, periods, seed=seed)).lp
        else:
            portfolio = generate(elements, suppliers, periods, seed=seed)
            lp = prepare(portfolio, disruptions(portfolio, n, seed=seed)).lp
        times = [HighsSession(lp).run().solve_seconds for _ in range(repeats)]
        rows.append(
            {
                axis: n,
                "rows": lp.matrix.shape[0],
                "columns": lp.matrix.shape[1],
                "median_s": statistics.median(times),
            }
        )
    table = pd.DataFrame(rows)
    slope = float(np.polyfit(np.log(table[axis]), np.log(table["median_s"]), 1)[0])
    return table, slope

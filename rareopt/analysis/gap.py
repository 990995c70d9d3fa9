"""How good is a plan hedged on a sample? The optimality gap with a confidence interval.

Sample-average approximation with multiple replications (Mak, Morton and Wood 1999, "Monte Carlo
bounding techniques for determining solution quality in stochastic programs", Operations Research
Letters 24:47-56). For a candidate plan x and M independent samples S_1..S_M of n scenarios each:

- v_i, the optimum of the two-stage model on S_i (first stage + expected recourse);
- f_i(x), the candidate evaluated on the same S_i (its first stage fixed, recourse re-optimised);
- G_i = f_i(x) - v_i >= 0, whose mean over the replications is an unbiased estimate of an upper
  bound on the candidate's gap to the true optimum (E[v_i] is at most the true optimum).

With mean G and standard deviation s_G over the M replications, the gap is at most
G + t_{M-1, confidence} s_G / sqrt(M) with the stated confidence (one-sided). The mean of the v_i
is likewise a lower bound on the optimum, less t s_v / sqrt(M) for its confidence.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from rareopt.analysis.stress import plan_volumes
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.progress import progress_bar
from rareopt.results.result import Result
from rareopt.results.solve import solve_prepared
from rareopt.solving.highs import SolveOptions
from rareopt.solving.pipeline import prepare, prepare_fixed

__all__ = ["optimality_gap", "GapEstimate"]


@dataclass
class GapEstimate:
    """The candidate plan's optimality gap over replications, with its confidence.

    Attributes
    ----------
    replications : DataFrame
        Per replication (its seed): optimum_usd (v_i), candidate_usd (f_i(x)), gap_usd.
    metrics : Series
        gap_usd (mean), gap_upper_usd (at ``confidence``), gap_upper_pct (of the mean candidate
        cost), lower_bound_usd (mean optimum less its interval), candidate_usd (mean), seconds.
    confidence : float
        The level of the one-sided intervals.
    """

    replications: pd.DataFrame
    metrics: pd.Series
    confidence: float

    def summary(self) -> str:
        """The statement, e.g. "optimality gap <= 0.8% with 95% confidence (10 replications ...)".

        Examples
        --------
        >>> import rareopt
        >>> tiny = rareopt.load_example("tiny")
        >>> draw = lambda n, seed: rareopt.generate_scenarios(tiny, n, {"CN": 0.5}, seed=seed)
        >>> plan = rareopt.solve(tiny, scenarios=draw(20, 0))
        >>> print(rareopt.optimality_gap(plan, draw, n=20, replications=3).summary())
        ... # doctest: +ELLIPSIS
        optimality gap <= ...% with 95% confidence (3 replications of 20 scenarios; ...)
        """
        m = self.metrics
        return (
            f"optimality gap <= {m['gap_upper_pct']:.2f}% with {self.confidence:.0%} confidence "
            f"({len(self.replications)} replications of {int(m['scenarios'])} scenarios; gap "
            f"{m['gap_usd']:,.0f} USD on average, at most {m['gap_upper_usd']:,.0f} USD; the "
            f"optimum is at least {m['lower_bound_usd']:,.0f} USD)"
        )

    def __str__(self) -> str:
        return self.summary()


def optimality_gap(
    plan: Result,
    sample: Callable[[int, int], ScenarioSet],
    n: int,
    replications: int = 10,
    confidence: float = 0.95,
    first_seed: int = 1_000,
    progress: bool | None = None,
    **options,
) -> GapEstimate:
    """Bound a hedged plan's optimality gap by multiple replications (Mak, Morton and Wood).

    Parameters
    ----------
    plan : Result
        The candidate: a solved plan (e.g. of one sample).
    sample : callable
        ``sample(n, seed)`` -> a ScenarioSet of n sampled scenarios; independent across seeds.
    n : int
        Scenarios per replication.
    replications : int
        M >= 2 independent samples.
    confidence : float
        Level of the one-sided intervals (default 0.95).
    first_seed : int
        The replications' seeds are ``first_seed``, ``first_seed + 1``, ...: keep them apart
        from the candidate's own sample's.
    progress : bool, optional
        A progress bar over the replications (default: on a terminal).
    **options
        Solver options.

    Returns
    -------
    GapEstimate

    Examples
    --------
    >>> import rareopt
    >>> tiny = rareopt.load_example("tiny")
    >>> draw = lambda n, seed: rareopt.generate_scenarios(tiny, n, {"CN": 0.5}, seed=seed)
    >>> gap = rareopt.optimality_gap(rareopt.solve(tiny, scenarios=draw(20, 0)), draw, 20, 3)
    >>> bool(gap.metrics["gap_usd"] >= -1e-6)
    True
    """
    if not (isinstance(replications, int) and replications >= 2):
        raise ValueError(f"replications: got {replications!r}; allowed: a whole number >= 2")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: got {confidence!r}; allowed: a number in (0, 1)")
    portfolio: Portfolio = plan.portfolio
    settings = SolveOptions.from_keywords({**options, "progress": False})
    volumes = plan_volumes(plan.plan)
    started = time.perf_counter()
    rows = []
    seeds = list(range(first_seed, first_seed + replications))
    for seed in progress_bar(seeds, progress, "replications", unit="sample"):
        scenarios = sample(n, seed)
        optimum = solve_prepared(prepare(portfolio, scenarios), settings).raise_for_status()
        fixed = prepare_fixed(portfolio, volumes, scenarios)
        candidate = solve_prepared(fixed, settings).raise_for_status()
        assert optimum.objective is not None and candidate.objective is not None
        rows.append(
            {
                "seed": seed,
                "optimum_usd": optimum.objective,
                "candidate_usd": candidate.objective,
                # The candidate is feasible for every sample: f_i(x) >= v_i up to the solver's
                # tolerance; a tiny negative is round-off.
                "gap_usd": max(candidate.objective - optimum.objective, 0.0),
            }
        )
    table = pd.DataFrame(rows).set_index("seed")
    m = replications
    t = float(stats.t.ppf(confidence, m - 1))
    gap, gap_std = float(table["gap_usd"].mean()), float(table["gap_usd"].std(ddof=1))
    upper = gap + t * gap_std / math.sqrt(m)
    optimum_mean = float(table["optimum_usd"].mean())
    optimum_std = float(table["optimum_usd"].std(ddof=1))
    cost = float(table["candidate_usd"].mean())
    metrics = pd.Series(
        {
            "scenarios": n,
            "gap_usd": gap,
            "gap_upper_usd": upper,
            "gap_upper_pct": 100.0 * upper / abs(cost) if cost else float(np.inf),
            "lower_bound_usd": optimum_mean - t * optimum_std / math.sqrt(m),
            "candidate_usd": cost,
            "seconds": time.perf_counter() - started,
        },
        name="value",
    )
    return GapEstimate(table, metrics, confidence)

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
is likewise a lower bound on the optimum, less t s_v / sqrt(M) for its confidence. With an
``evaluation`` sample of N' more independent draws, the candidate's mean cost on it plus
t_{N'-1, confidence} s / sqrt(N') is an upper bound on its expected cost, so on the optimum
(:func:`rareopt.evaluate`; s is the draws' standard deviation, N' - 1 in its denominator).

The candidate is the plan's whole first stage: its purchases and the nominal path they imply
(:func:`~rareopt.results.solve.nominal_first_stage`), fixed in every replication and evaluated
scenario by scenario, so that every f_i is the same plan's cost.

Sequential mode (``tolerance_pct``): the candidate is re-hedged on a sample twice as large until
the gap's bound is below the tolerance, or the sample reaches ``max_n``; each step's replications
are fresh, but stopping at the first bound below the tolerance tests repeatedly, so the last
statement is not exactly at the nominal confidence.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rareopt.analysis.evaluate import evaluate, mean_interval
from rareopt.analysis.stress import plan_volumes
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.progress import progress_bar
from rareopt.results.result import Result
from rareopt.results.solve import nominal_first_stage, solve_by_scenario, solve_prepared
from rareopt.solving.highs import SolveOptions
from rareopt.solving.pipeline import prepare

__all__ = ["optimality_gap", "GapEstimate"]


@dataclass
class GapEstimate:
    """The candidate plan's optimality gap over replications, with its confidence.

    Attributes
    ----------
    replications : DataFrame
        Per replication (its seed): optimum_usd (v_i), candidate_usd (f_i(x)), gap_usd.
    metrics : Series
        scenarios (n), gap_usd (mean), gap_upper_usd (at ``confidence``), gap_upper_pct (of the
        mean candidate cost), lower_bound_usd (mean optimum less its interval), candidate_usd
        (mean), seconds; with an evaluation sample, upper_bound_usd and evaluation_scenarios.
    confidence : float
        The level of the one-sided intervals.
    plan : Result or None
        The candidate (in sequential mode, the last one hedged).
    steps : DataFrame or None
        In sequential mode, per sample size n: gap_upper_pct, lower_bound_usd, seconds.
    tolerance_pct : float or None
        Sequential mode's tolerance; ``metrics["tolerance_met"]`` is 1 when the last bound is
        below it, 0 when the sample reached ``max_n`` first.
    """

    replications: pd.DataFrame
    metrics: pd.Series
    confidence: float
    plan: Result | None = None
    steps: pd.DataFrame | None = None
    tolerance_pct: float | None = None

    def summary(self) -> str:
        """The statement: "optimality gap <= X% of the plan's expected cost with 95% confidence ...".

        Examples
        --------
        >>> import rareopt
        >>> tiny = rareopt.load_example("tiny")
        >>> draw = lambda n, seed: rareopt.generate_scenarios(tiny, n, {"CN": 0.5}, seed=seed)
        >>> plan = rareopt.solve(tiny, scenarios=draw(20, 0))
        >>> print(rareopt.optimality_gap(plan, draw, n=20, replications=3).summary())
        ... # doctest: +ELLIPSIS
        optimality gap <= ...% of the plan's expected cost with 95% confidence (3 replications ...)
        """
        m = self.metrics
        text = (
            f"optimality gap <= {m['gap_upper_pct']:.2f}% of the plan's expected cost with "
            f"{self.confidence:.0%} confidence "
            f"({len(self.replications)} replications of {int(m['scenarios'])} scenarios; gap "
            f"{m['gap_usd']:,.0f} USD on average, at most {m['gap_upper_usd']:,.0f} USD; the "
            f"optimum is at least {m['lower_bound_usd']:,.0f} USD"
        )
        if "upper_bound_usd" in m:
            text += (
                f"; the plan's expected cost is at most {m['upper_bound_usd']:,.0f} USD, from "
                f"{int(m['evaluation_scenarios']):,} more scenarios"
            )
        if self.steps is not None:
            sizes = ", ".join(f"{n:,}" for n in self.steps.index)
            text += f"; samples of {sizes} scenarios tried"
        text += ")"
        if self.tolerance_pct is not None and not m["tolerance_met"]:
            text += (
                f"; NOT below the tolerance of {self.tolerance_pct:g}%: the sample reached its "
                "largest size first (raise max_n)"
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        """The statement, its figures and the replications, for a JSON file.

        Examples
        --------
        >>> import rareopt
        >>> tiny = rareopt.load_example("tiny")
        >>> draw = lambda n, seed: rareopt.generate_scenarios(tiny, n, {"CN": 0.5}, seed=seed)
        >>> plan = rareopt.solve(tiny, scenarios=draw(20, 0))
        >>> gap = rareopt.optimality_gap(plan, draw, n=20, replications=3).to_dict()
        >>> sorted(gap), len(gap["replications"])
        (['confidence', 'metrics', 'replications', 'statement', 'steps', 'tolerance_pct'], 3)
        """

        def records(table: pd.DataFrame | None) -> list[dict[str, Any]] | None:
            return None if table is None else table.reset_index().to_dict(orient="records")

        return {
            "statement": self.summary(),
            "confidence": self.confidence,
            "tolerance_pct": self.tolerance_pct,
            "metrics": {name: float(value) for name, value in self.metrics.items()},
            "replications": records(self.replications),
            "steps": records(self.steps),
        }

    def __str__(self) -> str:
        return self.summary()


def optimality_gap(
    plan: Result | Portfolio,
    sample: Callable[[int, int], ScenarioSet],
    n: int,
    replications: int = 10,
    confidence: float = 0.95,
    first_seed: int = 1_000,
    candidate_seed: int = 0,
    evaluation: int | None = None,
    tolerance_pct: float | None = None,
    max_n: int | None = None,
    workers: int = 1,
    progress: bool | None = None,
    **options,
) -> GapEstimate:
    """Bound a hedged plan's optimality gap by multiple replications (Mak, Morton and Wood).

    Parameters
    ----------
    plan : Result or Portfolio
        The candidate: a solved plan (e.g. of one sample); or a portfolio, whose candidate is
        then the plan hedged on ``sample(n, candidate_seed)``. In sequential mode, the first candidate;
        the later ones are hedged on ``sample(n, candidate_seed)`` for each larger n.
    sample : callable
        ``sample(n, seed)`` -> a ScenarioSet of n sampled scenarios; independent across seeds.
    n : int
        Scenarios per replication (and in the candidate's sample, given a portfolio).
    replications : int
        M >= 2 independent samples.
    confidence : float
        Level of the one-sided intervals (default 0.95).
    first_seed : int
        The replications' seeds are ``first_seed``, ``first_seed + 1``, ... (then the evaluation
        sample's): keep them apart from the candidate's own sample's (>= 1).
    candidate_seed : int
        The seed of the samples a candidate is hedged on (given a portfolio, or in sequential
        mode); it must not be one of the replications' seeds.
    evaluation : int, optional
        Scenarios in one more independent sample on which the candidate is evaluated
        (:func:`rareopt.evaluate`), for an upper bound on its cost.
    tolerance_pct : float, optional
        Sequential mode: while the gap's bound is above this many percent, hedge the candidate
        on a sample twice as large and replicate again (up to ``max_n``). Each step's bound holds
        at ``confidence``; stopping at the first below the tolerance makes the last not quite a
        statement at that confidence (a fixed-width sequential procedure, Bayraksan and Morton,
        would be), so read it as a stopping rule with fresh replications each step.
    max_n : int, optional
        Largest sample in sequential mode (default 8 n).
    workers : int
        Processes for the evaluation sample.
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
    >>> grown = rareopt.optimality_gap(tiny, draw, 10, 3, tolerance_pct=50.0, max_n=40)
    >>> bool(grown.metrics["gap_upper_pct"] <= 50.0 or grown.metrics["scenarios"] == 40)
    True
    """
    if not (isinstance(replications, int) and replications >= 2):
        raise ValueError(f"replications: got {replications!r}; allowed: a whole number >= 2")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: got {confidence!r}; allowed: a number in (0, 1)")
    if not (isinstance(first_seed, int) and first_seed >= 1):
        raise ValueError(f"first_seed: got {first_seed!r}; allowed: a whole number >= 1")
    if first_seed <= candidate_seed < first_seed + 64 * replications:
        raise ValueError(
            f"candidate_seed: got {candidate_seed!r}, among the replications' seeds from "
            f"{first_seed}; allowed: a seed below first_seed or far above it"
        )
    if evaluation is not None and not (isinstance(evaluation, int) and evaluation >= 2):
        raise ValueError(f"evaluation: got {evaluation!r}; allowed: a whole number >= 2")
    if tolerance_pct is not None and not (
        isinstance(tolerance_pct, (int, float)) and tolerance_pct > 0
    ):
        raise ValueError(f"tolerance_pct: got {tolerance_pct!r}; allowed: a number > 0")
    largest = 8 * n if max_n is None else max_n
    if not (isinstance(largest, int) and largest >= n):
        raise ValueError(f"max_n: got {max_n!r}; allowed: a whole number >= n ({n})")
    settings = SolveOptions.from_keywords({**options, "progress": False})
    started = time.perf_counter()
    portfolio = plan if isinstance(plan, Portfolio) else plan.portfolio
    seeds = iter(range(first_seed, 2**31))
    steps = []
    candidate = (
        plan
        if isinstance(plan, Result)
        else _hedged(portfolio, sample(n, candidate_seed), settings)
    )
    while True:
        table = _replicate(portfolio, candidate, sample, n, replications, seeds, settings, progress)
        metrics = _bounds(table, n, confidence)
        steps.append(
            {
                "scenarios": n,
                "gap_upper_pct": metrics["gap_upper_pct"],
                "lower_bound_usd": metrics["lower_bound_usd"],
                "seconds": time.perf_counter() - started,
            }
        )
        if tolerance_pct is None or metrics["gap_upper_pct"] <= tolerance_pct or 2 * n > largest:
            break
        n *= 2
        candidate = _hedged(portfolio, sample(n, candidate_seed), settings)
    if evaluation is not None:
        per = evaluate(
            candidate,
            sample(evaluation, next(seeds)),
            workers=workers,
            progress=progress,
            draws=evaluation,
            **options,
        ).per_scenario
        assert per is not None
        p, cost = per["probability"].to_numpy(float), per["total_usd"].to_numpy(float)
        margin = mean_interval(cost, p, confidence, evaluation, two_sided=False)
        metrics["upper_bound_usd"] = float(p @ cost) + margin
        metrics["evaluation_scenarios"] = evaluation
    metrics["seconds"] = time.perf_counter() - started
    sequence = None
    if tolerance_pct is not None:
        sequence = pd.DataFrame(steps).set_index("scenarios")
        metrics["tolerance_met"] = float(metrics["gap_upper_pct"] <= tolerance_pct)  # 1 or 0
    return GapEstimate(table, metrics, confidence, candidate, sequence, tolerance_pct)


def _hedged(portfolio: Portfolio, scenarios: ScenarioSet, settings: SolveOptions) -> Result:
    """The two-stage plan of ``scenarios``, checked."""
    return solve_prepared(prepare(portfolio, scenarios), settings).raise_for_status()


def _replicate(
    portfolio: Portfolio,
    candidate: Result,
    sample: Callable[[int, int], ScenarioSet],
    n: int,
    replications: int,
    seeds: Iterator[int],
    settings: SolveOptions,
    progress: bool | None,
) -> pd.DataFrame:
    """Per replication (its seed): the sample's optimum, the candidate on it, and the gap."""
    first_stage = nominal_first_stage(portfolio, plan_volumes(candidate.plan), settings)
    rows = []
    chosen = [next(seeds) for _ in range(replications)]
    for seed in progress_bar(chosen, progress, f"replications of {n}", unit="sample"):
        scenarios = sample(n, seed)
        optimum = _hedged(portfolio, scenarios, settings).objective
        fixed = solve_by_scenario(portfolio, first_stage, scenarios, settings)
        cost = fixed.raise_for_status().objective
        assert optimum is not None and cost is not None
        rows.append(
            {
                "seed": seed,
                "optimum_usd": optimum,
                "candidate_usd": cost,
                # The candidate is feasible for every sample: f_i(x) >= v_i up to the solver's
                # tolerance; a tiny negative is round-off.
                "gap_usd": max(cost - optimum, 0.0),
            }
        )
    return pd.DataFrame(rows).set_index("seed")


def _bounds(table: pd.DataFrame, n: int, confidence: float) -> pd.Series:
    """The gap's one-sided bound and the optimum's lower bound from the replications."""
    m = len(table)
    t = float(stats.t.ppf(confidence, m - 1))
    gap, gap_std = float(table["gap_usd"].mean()), float(table["gap_usd"].std(ddof=1))
    upper = gap + t * gap_std / math.sqrt(m)
    optimum_mean = float(table["optimum_usd"].mean())
    optimum_std = float(table["optimum_usd"].std(ddof=1))
    cost = float(table["candidate_usd"].mean())
    return pd.Series(
        {
            "scenarios": n,
            "gap_usd": gap,
            "gap_upper_usd": upper,
            "gap_upper_pct": 100.0 * upper / abs(cost) if cost else float(np.inf),
            "lower_bound_usd": optimum_mean - t * optimum_std / math.sqrt(m),
            "candidate_usd": cost,
        },
        name="value",
    )

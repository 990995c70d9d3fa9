"""A fixed plan evaluated on a large sample of scenarios, scenario by scenario, across processes.

The plan's whole first stage is fixed once: its purchases and the nominal path they imply (the
one-stage model with the purchases fixed, :func:`~rareopt.results.solve.nominal_first_stage`).
The scenarios then share nothing, and each scenario's recourse is an LP of its own, a few hundred
columns (:mod:`rareopt.solving.scenario_blocks`). The sample is split into batches of
``batch_size`` scenarios: each batch's arrays are built at once, its scenarios solved one by one,
and the batch read and checked independently as one stress test would be. Batches go to a pool
of ``workers`` processes. Memory stays that of one batch whatever the sample's size: each batch
returns only its per-scenario costs, which stream into the statistics (and, if asked, one
per-scenario table).

Each scenario's recourse equals a stress test's of the whole sample whenever the purchases fix
the nominal path (``tests/test_evaluate.py`` checks it on samples of tiny and japan); a stress
test re-optimises the nominal path with the recourse, so where it is left free (a plan's own
demand response, a choice of routes) the stress test can only be cheaper.
"""

from __future__ import annotations

import math
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from rareopt.analysis.stress import plan_volumes
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.model.layout import ModelLayout, make_layout
from rareopt.model.risk import conditional_value_at_risk
from rareopt.progress import progress_bar
from rareopt.results.result import Result
from rareopt.results.solve import nominal_first_stage, solve_by_scenario
from rareopt.solving.highs import SolveOptions

__all__ = ["evaluate", "Evaluation", "mean_interval"]

_COLUMNS = ["total_usd", "recourse_usd", "spend_usd", "unmet_t"]


@dataclass
class Evaluation:
    """A fixed plan's cost over a sample of scenarios.

    Attributes
    ----------
    metrics : Series
        scenarios, expected_total_usd (first stage + recourse, penalties included),
        total_std_usd, total_ci_half_width_usd (two-sided at ``confidence``, counting the
        sample's independent draws: ``draws``), expected_spend_usd (money only), spend_cvar_usd
        (at ``alpha``),
        expected_unmet_t, probability_of_unmet.
    per_scenario : DataFrame or None
        Per scenario: probability, total_usd, recourse_usd, spend_usd, unmet_t (with
        ``tables=True``).
    timing : Series
        scenarios, batches, workers, seconds, scenarios_per_s.
    confidence, alpha : float
        Levels of the interval and of the cost at risk.
    """

    metrics: pd.Series
    per_scenario: pd.DataFrame | None
    timing: pd.Series
    confidence: float = 0.95
    alpha: float = 0.95

    def summary(self) -> str:
        """One paragraph: the expected cost with its interval, the money, the service, the speed.

        Examples
        --------
        >>> import rareopt
        >>> tiny = rareopt.load_example("tiny")
        >>> s = rareopt.generate_scenarios(tiny, 20, {"CN": 0.5}, merge=False, seed=1)
        >>> print(rareopt.evaluate(rareopt.solve(tiny), s).summary())  # doctest: +ELLIPSIS
        20 scenarios: expected cost ... USD +- ... USD (two-sided 95% interval), ...
        """
        m, t = self.metrics, self.timing
        return (
            f"{int(m['scenarios'])} scenarios: expected cost {m['expected_total_usd']:,.0f} USD "
            f"+- {m['total_ci_half_width_usd']:,.0f} USD (two-sided {self.confidence:.0%} "
            "interval), "
            f"penalties included; money spent {m['expected_spend_usd']:,.0f} USD in expectation, "
            f"cost at risk (CVaR {self.alpha:.0%}) {m['spend_cvar_usd']:,.0f} USD; probability "
            f"of unmet demand {m['probability_of_unmet']:.1%}; {t['scenarios_per_s']:,.1f} "
            f"scenarios a second ({_count(t['batches'], 'batch', 'batches')}, "
            f"{_count(t['workers'], 'worker', 'workers')})"
        )

    def __str__(self) -> str:
        return self.summary()


def _batch_costs(
    layout: ModelLayout,
    first_stage: np.ndarray,
    scenarios: ScenarioSet,
    options: SolveOptions,
) -> np.ndarray:
    """A batch's per-scenario rows of :data:`_COLUMNS` (USD and t)."""
    outcome = solve_by_scenario(layout.portfolio, first_stage, scenarios, options, layout)
    cost = outcome.raise_for_status().scenarios.cost  # type: ignore[union-attr]
    return cost[_COLUMNS].to_numpy(float)


def mean_interval(
    values: np.ndarray,
    probabilities: np.ndarray,
    confidence: float,
    draws: int | None = None,
    two_sided: bool = True,
) -> float:
    """Half-width (or one-sided margin) of the interval on a sample mean, in ``values``' unit.

    The sample is ``draws`` independent draws merged into weighted values (each value's
    probability its share of the draws); without ``draws``, equally likely values are the
    draws, and unequal ones count as ``1 / sum(p^2)`` draws, with a warning. The spread is the
    draws' standard deviation (``draws - 1`` in its denominator), the quantile Student's t.

    Examples
    --------
    >>> round(mean_interval(np.array([0.0, 10.0]), np.array([0.5, 0.5]), 0.95, draws=100), 3)
    0.997
    """
    p = probabilities / probabilities.sum()
    if draws is None:
        draws = len(p)
        if not np.allclose(p, 1.0 / len(p)):
            draws = max(int(round(1.0 / float(p @ p))), 2)
            warnings.warn(
                f"unequal probabilities: the interval counts {draws} equally likely draws; a "
                "sample merged from n draws is larger: pass draws=n (or sample with merge=False)",
                stacklevel=3,
            )
    mean = float(p @ values)
    spread = math.sqrt(max(float(p @ (values - mean) ** 2), 0.0) * draws / max(draws - 1, 1))
    level = 0.5 + confidence / 2 if two_sided else confidence
    return float(stats.t.ppf(level, max(draws - 1, 1)) * spread / math.sqrt(draws))


def _count(n: float, one: str, many: str) -> str:
    """``n`` with its noun in the right number: "1 batch", "4 batches"."""
    return f"{int(n):,} {one if int(n) == 1 else many}"


def evaluate(
    plan: Result | pd.DataFrame,
    scenarios: ScenarioSet,
    portfolio: Portfolio | None = None,
    batch_size: int = 250,
    workers: int = 1,
    tables: bool = True,
    confidence: float = 0.95,
    alpha: float = 0.95,
    progress: bool | None = None,
    draws: int | None = None,
    **options,
) -> Evaluation:
    """Evaluate a fixed plan on a (large) sample of scenarios, in batches, across processes.

    Parameters
    ----------
    plan : Result or DataFrame
        A solved plan, or a plan table (element, supplier, period -> volume_t) with
        ``portfolio``.
    scenarios : ScenarioSet
        The sample (e.g. ``generate_scenarios(..., merge=False)``: every draw its own scenario).
    portfolio : Portfolio, optional
        With a plan table.
    batch_size : int
        Scenarios built and checked together (default 250); each is solved on its own.
    workers : int
        Processes solving batches side by side (default 1: this process).
    tables : bool
        Keep the per-scenario table (default True).
    confidence : float
        Level of the interval on the expected cost.
    alpha : float
        Level of the cost at risk.
    progress : bool, optional
        A progress bar over the batches (default: on a terminal).
    draws : int, optional
        How many independent draws the sample holds, when equal draws were merged into one
        scenario (``generate_scenarios(n)`` merges by default: ``draws=n``). Without it the
        interval counts equally likely scenarios as draws, and a sample of unequal probabilities
        as ``1 / sum(p^2)`` draws, with a warning: a merged sample then looks far smaller than it
        is.
    **options
        Solver options for every batch.

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> import rareopt
    >>> tiny = rareopt.load_example("tiny")
    >>> s = rareopt.generate_scenarios(tiny, 30, {"CN": 0.5}, merge=False, seed=2)
    >>> e = rareopt.evaluate(rareopt.solve(tiny), s, batch_size=10)
    >>> int(e.metrics["scenarios"]), int(e.timing["batches"])
    (30, 3)
    """
    if isinstance(plan, Result):
        portfolio = plan.portfolio if portfolio is None else portfolio
        plan = plan.plan
    if portfolio is None:
        raise TypeError("evaluate: a plan table needs portfolio=...")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size: got {batch_size!r}; allowed: a whole number >= 1")
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers: got {workers!r}; allowed: a whole number >= 1")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: got {confidence!r}; allowed: a number in (0, 1)")
    if draws is not None and not (isinstance(draws, int) and draws >= max(len(scenarios), 2)):
        raise ValueError(
            f"draws: got {draws!r}; allowed: a whole number >= the scenarios ({len(scenarios)})"
        )
    scenarios.check(portfolio)
    settings = SolveOptions.from_keywords({**options, "progress": False})
    first_stage = nominal_first_stage(portfolio, plan_volumes(plan), settings)
    batches = [scenarios.part(i, i + batch_size) for i in range(0, len(scenarios), batch_size)]
    started = time.perf_counter()
    args = (make_layout(portfolio), first_stage)
    if workers == 1:
        results = (
            _batch_costs(*args, batch, settings)
            for batch in progress_bar(batches, progress, "evaluation", unit="batch")
        )
        rows = np.vstack(list(results))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_batch_costs, *args, b, settings) for b in batches]
            rows = np.vstack(
                [f.result() for f in progress_bar(futures, progress, "evaluation", unit="batch")]
            )
    seconds = time.perf_counter() - started
    p = scenarios.probabilities / scenarios.probabilities.sum()
    total, spend, unmet = rows[:, 0], rows[:, 2], rows[:, 3]
    mean = float(p @ total)
    std = float(math.sqrt(max(p @ (total - mean) ** 2, 0.0)))
    half = mean_interval(total, p, confidence, draws, two_sided=True)
    metrics = pd.Series(
        {
            "scenarios": len(rows),
            "expected_total_usd": mean,
            "total_std_usd": std,
            "total_ci_half_width_usd": half,
            "expected_spend_usd": float(p @ spend),
            "spend_cvar_usd": conditional_value_at_risk(spend, p, alpha),
            "expected_unmet_t": float(p @ unmet),
            "probability_of_unmet": float(p[unmet > 1e-6].sum()),
        },
        name="value",
    )
    per_scenario = None
    if tables:
        per_scenario = pd.DataFrame(
            rows, columns=_COLUMNS, index=pd.Index(scenarios.names, name="scenario")
        )
        per_scenario.insert(0, "probability", p)
    timing = pd.Series(
        {
            "scenarios": len(rows),
            "batches": len(batches),
            "workers": workers,
            "seconds": seconds,
            "scenarios_per_s": len(rows) / seconds if seconds > 0 else float("inf"),
        }
    )
    return Evaluation(metrics, per_scenario, timing, confidence, alpha)

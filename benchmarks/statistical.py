"""5,000 scenarios the statistical way, on ``medium`` (issue 17).

A plan hedged on 500 sampled scenarios (``rareopt.synthetic.disruptions``, seed 0), then its
optimality gap by ``rareopt.optimality_gap``: M replications of 500 scenarios, each a two-stage
LP that fits in memory, and the plan evaluated scenario by scenario on an independent sample of
5,000 for an upper bound. Prints and optionally writes the times, the peak memory (this process
and, apart, the largest evaluation worker) and the statement; docs/scaling.md compares it with
one 5,000-scenario extensive form from the memory model there.

Run: python benchmarks/statistical.py [--size medium] [--n 500] [--replications 10]
[--evaluation 5000] [--json FILE]
"""

from __future__ import annotations

import argparse
import resource
import time

from peak_memory import peak_rss_mib, print_and_write

import rareopt
from rareopt.inputs.synthetic import disruptions, generate_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium")
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--replications", type=int, default=10)
    parser.add_argument("--evaluation", type=int, default=5000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    portfolio = generate_size(args.size).with_policy(priorities="weighted")

    def draw(n: int, seed: int) -> rareopt.ScenarioSet:
        return disruptions(portfolio, n, seed=seed)

    started = time.perf_counter()
    plan = rareopt.solve(portfolio, scenarios=draw(args.n, 0))
    hedged = time.perf_counter() - started
    started = time.perf_counter()
    gap = rareopt.optimality_gap(
        plan,
        draw,
        n=args.n,
        replications=args.replications,
        evaluation=args.evaluation,
        workers=2,
        progress=False,
    )
    seconds = time.perf_counter() - started
    m = gap.metrics
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = {
        "size": args.size,
        "scenarios_per_replication": args.n,
        "replications": args.replications,
        "evaluation_scenarios": args.evaluation,
        "plan_objective_usd": round(float(plan.objective)),
        "plan_seconds": round(hedged, 1),
        "gap_seconds": round(seconds, 1),
        "gap_usd": round(float(m["gap_usd"])),
        "gap_upper_pct": round(float(m["gap_upper_pct"]), 4),
        "lower_bound_usd": round(float(m["lower_bound_usd"])),
        "upper_bound_usd": round(float(m["upper_bound_usd"])),
        "bounds_width_pct": round(
            100 * float(m["upper_bound_usd"] - m["lower_bound_usd"]) / float(m["upper_bound_usd"]),
            4,
        ),
        "peak_rss_mib": round(peak_rss_mib()),
        "largest_worker_rss_mib": round(children),
        "statement": gap.summary(),
    }
    print_and_write(report, args.json)


if __name__ == "__main__":
    main()

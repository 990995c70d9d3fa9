"""Two-stage model size and time against the number of scenarios (10, 100, 1000).

For one portfolio (default: the built-in Japan example, 7 elements x 11 suppliers x 24 months),
draws N random disruption scenarios (``rareopt.inputs.synthetic.disruptions``: a random country or, one
time in four, a random supplier; all or one element; random start, 1-6 periods, 0-90% delivered;
equal probabilities) and times, per N, ``rareopt.solve``'s stages: assembling the extensive form,
HiGHS's solve, and extracting and checking the per-scenario results; with the LP's rows, columns
and nonzeros and the peak RSS of this process so far. A stress test of the deterministic plan on
the same scenarios is timed beside it.

Run: python benchmarks/scenarios.py [--sizes 10,100,1000] [--portfolio japan|small] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time

from peak_memory import peak_rss_mib

import rareopt
from rareopt.inputs.synthetic import disruptions, generate


def measure(portfolio, n: int) -> dict:
    scenarios = disruptions(portfolio, n)
    start = time.perf_counter()
    result = rareopt.solve(portfolio, scenarios=scenarios)
    full = time.perf_counter() - start
    start = time.perf_counter()
    rareopt.stress_test(rareopt.solve(portfolio), scenarios)
    stress = time.perf_counter() - start
    t, size = result.timings, result.solver
    return {
        "scenarios": n,
        "rows": size["rows"],
        "cols": size["columns"],
        "nnz": size["nonzeros"],
        "build_s": t["build_seconds"],
        "handoff_s": t["handoff_seconds"],
        "highs_s": t["solve_seconds"],
        "extract_check_s": t["extract_seconds"],
        "solve_end_to_end_s": full,
        "stress_test_s": stress,
        "objective": result.objective,
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--portfolio", default="japan", choices=["japan", "small"])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    portfolio = (
        rareopt.load_example("japan") if args.portfolio == "japan" else generate(7, 15, 12, seed=0)
    )
    rows = []
    header = f"{'N':>6} {'rows':>9} {'cols':>9} {'nnz':>10} {'build':>7} {'handoff':>8} "
    header += f"{'HiGHS':>7} {'extract':>8} {'e2e':>7} {'stress':>7} {'RSS MiB':>8}"
    print(header)
    for n in [int(v) for v in args.sizes.split(",")]:
        r = measure(portfolio, n)
        rows.append(r)
        print(
            f"{n:>6} {r['rows']:>9,} {r['cols']:>9,} {r['nnz']:>10,} {r['build_s']:>7.2f} "
            f"{r['handoff_s']:>8.2f} {r['highs_s']:>7.2f} {r['extract_check_s']:>8.2f} "
            f"{r['solve_end_to_end_s']:>7.2f} {r['stress_test_s']:>7.2f} {r['peak_rss_mib']:>8.0f}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"portfolio": args.portfolio, "runs": rows}, handle, indent=2)


if __name__ == "__main__":
    main()

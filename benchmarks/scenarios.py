"""Two-stage model size and time against the number of scenarios (10, 100, 1000).

For one portfolio (default: the built-in Japan example, 7 elements x 11 suppliers x 24 months),
draws N distinct random disruption scenarios (a random country or, one time in four, a random
supplier; all or one element; random start, 1-6 periods, 0-90% delivered; equal probabilities)
and times, per N: building the Pyomo extensive form, the hand-off to HiGHS, HiGHS's solve, and
extracting and checking the per-scenario results; with the LP's rows, columns and nonzeros and the
peak RSS of this process so far. A stress test of the deterministic plan on the same scenarios is
timed beside it.

Run: python benchmarks/scenarios.py [--sizes 10,100,1000] [--portfolio japan|small] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

import rareopt
from rareopt.highs import SolveOptions, compile_model, make_highs, run
from rareopt.synthetic import generate
from rareopt.two_stage import build_two_stage


def random_scenarios(portfolio, n: int, seed: int = 0) -> rareopt.ScenarioSet:
    rng = np.random.default_rng(seed)
    countries, suppliers = portfolio.countries, portfolio.suppliers["supplier"].tolist()
    periods = len(portfolio.period_labels)
    scenarios = []
    for k in range(n):
        who = (
            {"supplier": str(rng.choice(suppliers))}
            if rng.random() < 0.25
            else {"country": str(rng.choice(countries))}
        )
        elements = "*" if rng.random() < 0.5 else [str(rng.choice(portfolio.elements))]
        disruption = {
            **who,
            "elements": elements,
            "start": int(rng.integers(1, periods + 1)),
            "duration": int(rng.integers(1, 7)),
            "delivered_fraction": round(float(rng.uniform(0, 0.9)), 3),
        }
        scenarios.append({"name": f"s{k}", "probability": 1.0 / n, "disruptions": [disruption]})
    return rareopt.ScenarioSet(scenarios)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(portfolio, n: int) -> dict:
    scenarios = random_scenarios(portfolio, n)
    start = time.perf_counter()
    model = build_two_stage(portfolio, scenarios)
    build = time.perf_counter() - start
    start = time.perf_counter()
    lp = compile_model(model)
    highs = make_highs(lp, SolveOptions())
    handoff = time.perf_counter() - start
    out = run(highs, lp)
    start = time.perf_counter()
    result = rareopt.solve(portfolio, scenarios=scenarios)  # the full path, with the check
    full = time.perf_counter() - start
    start = time.perf_counter()
    rareopt.stress_test(rareopt.solve(portfolio), scenarios)
    stress = time.perf_counter() - start
    return {
        "scenarios": n,
        "rows": int(lp.matrix.shape[0]),
        "cols": int(lp.matrix.shape[1]),
        "nnz": int(lp.matrix.nnz),
        "build_s": build,
        "handoff_s": handoff,
        "highs_s": out.solve_seconds,
        "extract_check_s": result.timings["extract_seconds"],
        "solve_end_to_end_s": full,
        "stress_test_s": stress,
        "objective": out.objective,
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

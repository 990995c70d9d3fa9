"""Rolling re-planning at scale: the japan example, 100 sampled scenarios x 24 monthly re-plans.

Samples scenarios with persistent disruptions, price paths and price jumps (the generator's
opt-in features), runs :func:`rareopt.simulate` (one re-plan per scenario and period, warm from
the last basis) and, side by side in this process, the two-stage model of the same scenarios.
Prints and optionally writes the times and the expected costs.

Run: python benchmarks/simulate.py [--scenarios 100] [--json FILE]
"""

from __future__ import annotations

import argparse
import time

from peak_memory import print_and_write

import rareopt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    japan = rareopt.load_example("japan")
    scenarios = rareopt.generate_scenarios(
        japan,
        args.scenarios,
        {"CN": 0.3, "MM": 0.3},
        persistence=0.75,
        recovery_periods=2,
        price_volatility=0.3,
        price_jump=2.0,
        seed=args.seed,
    )
    started = time.perf_counter()
    sim = rareopt.simulate(japan, scenarios, compare=False)
    simulated = time.perf_counter() - started
    started = time.perf_counter()
    two_stage = rareopt.solve(japan, scenarios=scenarios)
    solved = time.perf_counter() - started
    report = {
        "scenarios": len(scenarios),
        "periods": len(japan.period_labels),
        "simulate_seconds": round(simulated, 2),
        "solves": int(sim.timing["solves"]),
        "seconds_per_solve": round(float(sim.timing["seconds_per_solve"]), 4),
        "two_stage_seconds": round(solved, 2),
        "simulate_over_two_stage": round(simulated / solved, 2),
        "expected_realised_usd": round(float(sim.metrics["expected_total_usd"])),
        "two_stage_objective_usd": round(float(two_stage.objective)),
    }
    print_and_write(report, args.json)


if __name__ == "__main__":
    main()

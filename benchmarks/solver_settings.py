"""HiGHS settings compared on one portfolio, and solve time against size with its log-log slope.

Run: python benchmarks/solver_settings.py [small|medium|large|PORTFOLIO.yaml] [--repeats 3]
     [--scaling 15,30,60,120] [--scenario-scaling 10,30,100,300] [--json FILE]
(``rareopt bench`` runs the settings table alone.)
"""

from __future__ import annotations

import argparse
import json

import rareopt
from rareopt.analysis.bench import scaling, settings_benchmark
from rareopt.inputs.synthetic import SIZES, generate_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("portfolio", nargs="?", default="small")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scaling", default="15,30,60,120")
    parser.add_argument("--scenario-scaling", default="10,30,100,300")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    portfolio = (
        generate_size(args.portfolio)
        if args.portfolio in SIZES
        else rareopt.Portfolio.from_yaml(args.portfolio)
    )
    table = settings_benchmark(portfolio, repeats=args.repeats)
    print(table.sort_values("median_s").to_string(index=False))
    sizes = [int(v) for v in args.scaling.split(",") if v]
    growth, slope = scaling(sizes, repeats=args.repeats)
    print(f"\nHiGHS time against suppliers (7 elements x 12 periods): slope {slope:.2f}")
    print(growth.to_string(index=False))
    counts = [int(v) for v in args.scenario_scaling.split(",") if v]
    by_scenarios, scenario_slope = scaling(counts, axis="scenarios", repeats=args.repeats)
    print(f"\nHiGHS time against scenarios (7 x 15 x 12, two-stage): slope {scenario_slope:.2f}")
    print(by_scenarios.to_string(index=False))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "settings": json.loads(table.to_json(orient="records")),
                    "scaling": json.loads(growth.to_json(orient="records")),
                    "scaling_slope": slope,
                    "scenario_scaling": json.loads(by_scenarios.to_json(orient="records")),
                    "scenario_scaling_slope": scenario_slope,
                },
                handle,
                indent=2,
            )


if __name__ == "__main__":
    main()

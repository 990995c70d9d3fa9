"""HiGHS settings compared on one portfolio, and solve time against size with its log-log slope.

Run: python benchmarks/solver_settings.py [small|medium|large|PORTFOLIO.yaml] [--repeats 3]
     [--scaling 15,30,60,120] [--json FILE]
(``rareopt bench`` runs the settings table alone.)
"""

from __future__ import annotations

import argparse
import json

import rareopt
from rareopt.bench import scaling, settings_benchmark
from rareopt.synthetic import SIZES, generate_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("portfolio", nargs="?", default="small")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scaling", default="15,30,60,120")
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
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "settings": json.loads(table.to_json(orient="records")),
                    "scaling": json.loads(growth.to_json(orient="records")),
                    "scaling_slope": slope,
                },
                handle,
                indent=2,
            )


if __name__ == "__main__":
    main()

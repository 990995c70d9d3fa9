"""What one more scenario in a PH bundle costs in memory and time, against a baseline checkout.

Runs progressive hedging (``rareopt.solve(..., engine="mpisppy", method="ph")``, one rank, a
fixed number of iterations) on ``medium`` with N random single-disruption scenarios in two
bundles (``--bundles``), for each N of ``--sizes``, each in a fresh process. The peak resident memory is taken
twice: when mpi-sppy returns the plan (PH alone) and after rareopt has evaluated and checked it
with its own two-stage arrays (the whole solve). The slope between the smallest and largest N is
a scenario's cost in a bundle. With ``--baseline DIR`` (a checkout of another commit, e.g. made
with ``git worktree add DIR <commit>``) the same runs use that code, interleaved with these, so
the ratios come from one run on one machine. Needs the mpi extra.

Run: python benchmarks/ph_memory.py [--sizes 10,50] [--iterations 1] [--bundles 2]
     [--baseline DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

RUN = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, {here!r})
    from peak_memory import peak_rss_mib
    import rareopt
    import rareopt.results.solve as engine
    from rareopt.inputs.synthetic import disruptions, generate_size
    p = generate_size("medium")
    s = disruptions(p, {n}, seed=1)
    ph = {{"max_iterations": {iterations}, "rel_gap": 0.0, "bundle_size": {bundle}}}
    marks = {{}}
    solve_mpisppy = engine.solve_mpisppy
    def timed(*args, **kwargs):
        start = time.perf_counter()
        out = solve_mpisppy(*args, **kwargs)
        marks["ph_seconds"] = time.perf_counter() - start
        marks["ph_peak_mib"] = peak_rss_mib()
        return out
    engine.solve_mpisppy = timed
    start = time.perf_counter()
    r = rareopt.solve(p, scenarios=s, engine="mpisppy", method="ph", ph=ph)
    print("RESULT " + json.dumps({{**marks, "solve_seconds": time.perf_counter() - start,
                                  "solve_peak_mib": peak_rss_mib(), "objective": r.objective}}))
    """
)


def run(code_root: str, n: int, iterations: int, bundles: int) -> dict:
    """One PH run of n scenarios in ``bundles`` bundles with the rareopt found at ``code_root``."""
    code = RUN.format(here=HERE, n=n, iterations=iterations, bundle=-(-n // bundles))
    # Run from the checkout: ``python -c`` puts the working directory first on the path.
    env = {**os.environ, "PYTHONPATH": code_root}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code + "\nassert rareopt.__file__.startswith(" + repr(code_root) + ")",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=code_root,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    return json.loads(line[7:]) if line else {"error": done.stderr.strip()[-300:]}


def slope(rows: dict[int, dict], key: str) -> float:
    """Change of ``key`` per scenario between the smallest and the largest sample."""
    low, high = min(rows), max(rows)
    return (rows[high][key] - rows[low][key]) / (high - low)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,50")
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--bundles", type=int, default=2, help="PH subproblems")
    parser.add_argument("--baseline", default=None, help="a checkout of the code to compare")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    sizes = [int(v) for v in args.sizes.split(",")]
    roots = {"this": ROOT, **({"baseline": args.baseline} if args.baseline else {})}
    runs: dict[str, dict[int, dict]] = {name: {} for name in roots}
    for n in sizes:
        for name, root in roots.items():
            runs[name][n] = run(root, n, args.iterations, args.bundles)
            print(f"{name:>9} N={n:<5} {json.dumps(runs[name][n])}", flush=True)
    report: dict = {
        "portfolio": "medium",
        "iterations": args.iterations,
        "bundles": args.bundles,
        "runs": runs,
    }
    for name, rows in runs.items():
        if len(rows) < 2 or any("error" in row for row in rows.values()):
            continue
        report[f"{name}_mib_per_scenario_ph"] = round(slope(rows, "ph_peak_mib"), 2)
        report[f"{name}_mib_per_scenario_solve"] = round(slope(rows, "solve_peak_mib"), 2)
        report[f"{name}_seconds_per_scenario_ph"] = round(slope(rows, "ph_seconds"), 3)
    if "baseline_mib_per_scenario_ph" in report and "this_mib_per_scenario_ph" in report:
        for what in ("mib_per_scenario_ph", "mib_per_scenario_solve", "seconds_per_scenario_ph"):
            report[f"ratio_{what}"] = round(report[f"this_{what}"] / report[f"baseline_{what}"], 3)
    for key, value in report.items():
        if key != "runs":
            print(f"{key:>36}: {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()

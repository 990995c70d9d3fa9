"""rareopt's benchmark harness: overhead around HiGHS, the linopy peer, frontier reuse, memory.

Per named size (``rareopt.inputs.synthetic.SIZES``: elements x suppliers x periods x scenarios) and per
model: ``two-stage`` (the extensive form over the size's scenarios, ``rareopt.synthetic.
disruptions``, seed 0) and ``deterministic`` (the same portfolio without scenarios). Each route is
measured in a fresh process, so that peak memory (RSS) is its own:

- rareopt: ``rareopt.solve`` end to end (assembly, hand-off, HiGHS, extraction and the independent
  check) and reading ``result.plan``; its stage timings, peak RSS; the LP is also written to MPS;
- the floor: that MPS read and solved by ``highspy`` alone, HiGHS's time and peak RSS;
- the peer: the same formulation in linopy (``benchmarks/peers/linopy_model.py``), end to end to
  HiGHS with ``io_api="direct"``; its objective must equal rareopt's (skipped if linopy is not
  installed: ``pip install "rareopt[bench]"``);
- a frontier over China's cap (21 points, 0.70 .. 0.30) with model reuse and warm starts
  (``rareopt.frontier``) against rebuilding and solving per point.

Model ``staged`` is the deterministic portfolio with processing stages
(``rareopt.inputs.synthetic.with_stages``: a third of the offers sell feed that one of four
separation facilities converts, China capped at 60% of separation): the route model at scale
(no linopy peer).

The portfolios blend their goals (``priorities: weighted``), so that HiGHS alone and linopy
solve the same single LP; the rareopt worker also solves the default, goals in order (demand,
stock targets, cost: one solve when every goal can be met in full, else one per goal and a last),
reported as priorities_ratio = in order end to end / weighted end to end.

For the two-stage model the harness also measures the statistical route (issue 17), in a fresh
process: ``evaluation_scenarios_per_s``, the plan evaluated scenario by scenario on an independent
sample (``rareopt.evaluate``, 2 processes; small 5,000 and medium 2,000 scenarios of
``rareopt.synthetic.disruptions``), against the same plan evaluated as one stress-test LP of the
first ``STRESS_LP`` of them (``evaluation_vs_one_lp``, the ratio of scenarios a second); and
``replication_gap``, the plan's optimality gap by ``rareopt.optimality_gap`` (10 replications of
100 scenarios, 95%). With ``--japan``, the issue's target: 10,000 distinct sampled japan
scenarios (persistent disruptions, price paths and jumps) evaluated on 2 processes, against one
stress-test LP of 1,000 of them (``japan_evaluation``).

Ratios, per size and model, under the keys of issue 6: overhead_ratio = (rareopt end to end -
HiGHS) / HiGHS; vs_linopy = rareopt end to end / linopy end to end; frontier_speedup = rebuild
time / reuse time; memory_ratio = rareopt peak RSS / HiGHS-alone peak RSS. Nothing here asserts
a time.

Run: python benchmarks/run.py [--quick] [--sizes small,medium] [--models two-stage,deterministic]
[--frontier-points 21] [--japan] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from peak_memory import peak_rss_mib

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = ("two-stage", "deterministic", "staged")


def _problem(size: str, model: str, priorities: str = "weighted"):
    """The size's portfolio (and scenarios), with its goals blended or met in order."""
    from rareopt.inputs.synthetic import SIZES, disruptions, generate_size, with_stages
    from rareopt.inputs.tables import GOALS

    order = list(GOALS) if priorities == "in order" else priorities
    portfolio = generate_size(size).with_policy(priorities=order)
    if model == "staged":
        return with_stages(portfolio), None
    scenarios = disruptions(portfolio, SIZES[size][3]) if model == "two-stage" else None
    return portfolio, scenarios


def worker_rareopt(size: str, model: str, mps: str) -> dict:
    import rareopt
    from rareopt.solving.highs import HighsSession
    from rareopt.solving.pipeline import prepare

    portfolio, scenarios = _problem(size, model)
    start = time.perf_counter()
    result = rareopt.solve(portfolio, scenarios=scenarios)
    result.plan  # noqa: B018 - an analyst reads the plan; its table is part of the route
    end_to_end = time.perf_counter() - start
    peak = peak_rss_mib()
    HighsSession(prepare(portfolio, scenarios).lp).write_model(mps)
    # The same portfolio with its goals met in order (the default): one solve or several.
    ordered, _ = _problem(size, model, "in order")
    start = time.perf_counter()
    in_order = rareopt.solve(ordered, scenarios=scenarios)
    in_order.plan  # noqa: B018
    in_order_s = time.perf_counter() - start
    t = result.timings
    return {
        "build_s": t["build_seconds"],
        "handoff_s": t["handoff_seconds"],
        "highs_s": t["solve_seconds"],
        "extract_check_s": t["extract_seconds"],
        "end_to_end_s": end_to_end,
        "objective": result.objective,
        "rows": result.solver["rows"],
        "columns": result.solver["columns"],
        "nonzeros": result.solver["nonzeros"],
        "peak_rss_mib": peak,
        "in_order_end_to_end_s": in_order_s,
        "in_order_goal_optima": in_order.solver.get("goal_optima"),
    }


EVALUATION_SAMPLE = {"small": 5000, "medium": 2000, "large": 2000}
"""Scenarios in the independent sample a size's plan is evaluated on."""
STRESS_LP = {"small": 1000, "medium": 200, "large": 200}
"""Scenarios in the one stress-test LP the evaluation is compared with."""


def _rates(plan, sample, one_lp: int) -> dict:
    """The plan evaluated scenario by scenario (2 processes) against one stress-test LP."""
    import rareopt

    start = time.perf_counter()
    evaluation = rareopt.evaluate(plan, sample, workers=2, tables=False, progress=False)
    evaluated = time.perf_counter() - start
    start = time.perf_counter()
    rareopt.stress_test(plan, sample.part(0, one_lp), progress=False)
    stressed = time.perf_counter() - start
    per_s, lp_per_s = len(sample) / evaluated, one_lp / stressed
    return {
        "evaluation_scenarios": len(sample),
        "evaluation_s": evaluated,
        "evaluation_scenarios_per_s": per_s,
        "evaluation_expected_total_usd": float(evaluation.metrics["expected_total_usd"]),
        "one_lp_scenarios": one_lp,
        "one_lp_s": stressed,
        "one_lp_scenarios_per_s": lp_per_s,
        "evaluation_vs_one_lp": per_s / lp_per_s,
    }


def worker_statistics(size: str) -> dict:
    """The statistical route on a size's two-stage plan: evaluation throughput and the gap."""
    import rareopt
    from rareopt.inputs.synthetic import disruptions

    portfolio, scenarios = _problem(size, "two-stage")
    plan = rareopt.solve(portfolio, scenarios=scenarios)
    out = _rates(plan, disruptions(portfolio, EVALUATION_SAMPLE[size], seed=1), STRESS_LP[size])
    start = time.perf_counter()
    gap = rareopt.optimality_gap(
        plan,
        lambda n, seed: disruptions(portfolio, n, seed=seed),
        n=100,
        replications=10,
        progress=False,
    )
    m = gap.metrics
    out["replication_gap"] = {
        "scenarios": int(m["scenarios"]),
        "replications": 10,
        "confidence": 0.95,
        "gap_usd": float(m["gap_usd"]),
        "gap_upper_pct": float(m["gap_upper_pct"]),
        "lower_bound_usd": float(m["lower_bound_usd"]),
        "candidate_usd": float(m["candidate_usd"]),
        "seconds": time.perf_counter() - start,
    }
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def worker_japan() -> dict:
    """Issue 17's target: 10,000 distinct japan scenarios, against one LP of 1,000 of them."""
    import rareopt

    japan = rareopt.load_example("japan")
    sample = rareopt.generate_scenarios(
        japan,
        10_000,
        {"CN": 0.3, "MM": 0.3},
        persistence=0.75,
        recovery_periods=2,
        price_volatility=0.3,
        price_jump=2.0,
        merge=False,
        seed=1,
    )
    out = _rates(rareopt.solve(japan), sample, 1000)
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def worker_highs(mps: str) -> dict:
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(mps)
    start = time.perf_counter()
    h.run()
    return {
        "highs_s": time.perf_counter() - start,
        "objective": h.getInfo().objective_function_value,
        "peak_rss_mib": peak_rss_mib(),
    }


def worker_linopy(size: str, model: str) -> dict:
    import warnings

    if model == "staged":
        raise SystemExit("n/a: the linopy peer has no processing stages")

    from peers.linopy_model import solve_with_linopy

    warnings.simplefilter("ignore")
    out = solve_with_linopy(*_problem(size, model))
    return {**out, "peak_rss_mib": peak_rss_mib()}


def _in_fresh_process(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def frontier_times(size: str, model: str, points: int) -> dict:
    import rareopt

    portfolio, scenarios = _problem(size, model)
    values = list(np.linspace(0.7, 0.3, points))
    start = time.perf_counter()
    reused = rareopt.frontier(
        portfolio, "country_cap", values, country="CN", scenarios=scenarios, progress=False
    )
    reuse = time.perf_counter() - start
    start = time.perf_counter()
    rebuilt = [
        rareopt.solve(portfolio.with_policy(country_caps={"CN": v}), scenarios=scenarios).objective
        for v in values
    ]
    rebuild = time.perf_counter() - start
    agree = bool(np.allclose(reused["objective_usd"].to_numpy(), rebuilt, rtol=1e-7))
    return {"points": points, "reuse_s": reuse, "rebuild_s": rebuild, "objectives_agree": agree}


def _ok(part: dict | None) -> bool:
    return part is not None and "error" not in part


def measure(size: str, model: str, frontier_points: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        mps = os.path.join(tmp, "model.mps")
        ours = _in_fresh_process("rareopt", size, model, mps)
        floor = _in_fresh_process("highs", mps) if _ok(ours) else None
    try:
        import linopy  # noqa: F401

        peer = _in_fresh_process("linopy", size, model)
    except ImportError:
        peer = None
    row = {"size": size, "model": model, "rareopt": ours, "highs_alone": floor, "linopy": peer}
    if not _ok(ours):
        return row
    frontier = frontier_times(size, model, frontier_points)
    row["frontier"] = frontier
    highs = ours["highs_s"]
    row["overhead_ratio"] = (ours["end_to_end_s"] - highs) / highs
    row["vs_linopy"] = ours["end_to_end_s"] / peer["end_to_end_s"] if _ok(peer) else None
    row["linopy_objective_matches"] = (
        bool(np.isclose(peer["objective"], ours["objective"], rtol=1e-7)) if _ok(peer) else None
    )
    row["frontier_speedup"] = frontier["rebuild_s"] / frontier["reuse_s"]
    row["memory_ratio"] = ours["peak_rss_mib"] / floor["peak_rss_mib"] if _ok(floor) else None
    row["priorities_ratio"] = ours["in_order_end_to_end_s"] / ours["end_to_end_s"]
    if model == "two-stage":
        statistics = _in_fresh_process("statistics", size)
        row["statistics"] = statistics
        if _ok(statistics):
            row["evaluation_scenarios_per_s"] = statistics["evaluation_scenarios_per_s"]
            row["evaluation_vs_one_lp"] = statistics["evaluation_vs_one_lp"]
            row["replication_gap"] = statistics["replication_gap"]
    return row


def _fmt(value, spec=".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small size, 5 frontier points")
    parser.add_argument("--sizes", default="small,medium")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--frontier-points", type=int, default=21)
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--japan", action="store_true", help="also 10,000 japan scenarios evaluated (issue 17)"
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "rareopt":
            out = worker_rareopt(*rest)
        elif kind == "highs":
            out = worker_highs(*rest)
        elif kind == "statistics":
            out = worker_statistics(*rest)
        elif kind == "japan":
            out = worker_japan()
        else:
            out = worker_linopy(*rest)
        print(json.dumps(out))
        return
    sizes = ["small"] if args.quick else args.sizes.split(",")
    models = args.models.split(",")
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"--models: got {unknown}; allowed: {list(MODELS)}")
    points = 5 if args.quick else args.frontier_points
    rows = []
    print(
        f"{'size':<8} {'model':<14} {'e2e s':>7} {'HiGHS s':>8} {'overhead':>9} "
        f"{'vs linopy':>10} {'frontier x':>11} {'memory x':>9} {'in order x':>11}"
    )
    for size in sizes:
        for model in models:
            row = measure(size, model, points)
            rows.append(row)
            ours = row["rareopt"]
            if not _ok(ours):
                print(f"{size:<8} {model:<14} failed: {ours['error']}")
                continue
            print(
                f"{size:<8} {model:<14} {ours['end_to_end_s']:>7.2f} {ours['highs_s']:>8.3f} "
                f"{_fmt(row['overhead_ratio']):>9} {_fmt(row['vs_linopy']):>10} "
                f"{_fmt(row['frontier_speedup']):>11} {_fmt(row['memory_ratio']):>9} "
                f"{_fmt(row['priorities_ratio']):>11}"
            )
            if "evaluation_scenarios_per_s" in row:
                gap = row["replication_gap"]
                print(
                    f"{'':<8} {'statistics':<14} evaluation {row['evaluation_scenarios_per_s']:,.1f}"
                    f" scenarios/s ({row['evaluation_vs_one_lp']:,.1f} x one LP); gap <= "
                    f"{gap['gap_upper_pct']:.2f}% (95%, 10 x {gap['scenarios']}) in "
                    f"{gap['seconds']:.0f} s"
                )
    report: dict = {"sizes": rows}
    if args.japan:
        japan = _in_fresh_process("japan")
        report["japan_evaluation"] = japan
        if _ok(japan):
            print(
                f"japan: {japan['evaluation_scenarios']:,} scenarios evaluated in "
                f"{japan['evaluation_s']:.1f} s ({japan['evaluation_scenarios_per_s']:,.1f}/s, "
                f"{japan['evaluation_vs_one_lp']:,.1f} x one LP of {japan['one_lp_scenarios']:,})"
            )
        else:
            print(f"japan: failed: {japan['error']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()

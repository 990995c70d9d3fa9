"""rareopt's benchmark harness: overhead around HiGHS, the linopy peer, frontier reuse, memory.

Per named size (``rareopt.synthetic.SIZES``, the deterministic model), each measured in a fresh
process so that peak memory (RSS) is its own:

- rareopt: build, hand-off, HiGHS solve and extraction + check times, end to end, peak RSS; the
  LP is also written to MPS;
- the floor: that MPS read and solved by ``highspy`` alone, HiGHS's time and peak RSS;
- the peer: the same formulation in linopy (``benchmarks/peers/linopy_model.py``), end to end to
  HiGHS with ``io_api="direct"``; its objective must equal rareopt's (skipped if linopy is not
  installed: ``pip install linopy``);
- a 21-point frontier over China's cap (0.70 .. 0.30) with model reuse and warm starts
  (``rareopt.frontier``) against rebuilding and solving per point.

Ratios, per size, under the keys of issue 6: overhead_ratio = (rareopt end to end - HiGHS) /
HiGHS; vs_linopy = rareopt end to end / linopy end to end; frontier_speedup = rebuild time /
reuse time; memory_ratio = rareopt peak RSS / HiGHS-alone peak RSS. Nothing here asserts a time.

Run: python benchmarks/run.py [--quick] [--sizes small,medium] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_rareopt(size: str, mps: str) -> dict:
    import rareopt
    from rareopt.highs import SolveOptions, compile_model, make_highs
    from rareopt.synthetic import generate_size

    portfolio = generate_size(size)
    start = time.perf_counter()
    result = rareopt.solve(portfolio)
    end_to_end = time.perf_counter() - start
    highs = make_highs(compile_model(rareopt.build(portfolio)), SolveOptions())
    highs.writeModel(mps)
    t = result.timings
    return {
        "build_s": t["build_seconds"],
        "handoff_s": t["handoff_seconds"],
        "highs_s": t["solve_seconds"],
        "extract_check_s": t["extract_seconds"],
        "end_to_end_s": end_to_end,
        "objective": result.objective,
        "peak_rss_mib": _rss_mib(),
    }


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
        "peak_rss_mib": _rss_mib(),
    }


def worker_linopy(size: str) -> dict:
    import warnings

    from peers.linopy_model import solve_with_linopy

    from rareopt.synthetic import generate_size

    warnings.simplefilter("ignore")
    out = solve_with_linopy(generate_size(size))
    return {**out, "peak_rss_mib": _rss_mib()}


def _in_fresh_process(*args: str) -> dict | None:
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


def frontier_times(size: str, points: int) -> dict:
    import rareopt
    from rareopt.synthetic import generate_size

    portfolio = generate_size(size)
    values = list(np.linspace(0.7, 0.3, points))
    start = time.perf_counter()
    reused = rareopt.frontier(portfolio, "country_cap", values, country="CN", progress=False)
    reuse = time.perf_counter() - start
    start = time.perf_counter()
    rebuilt = [
        rareopt.solve(portfolio.with_policy(country_caps={"CN": v})).objective for v in values
    ]
    rebuild = time.perf_counter() - start
    agree = bool(np.allclose(reused["objective_usd"].to_numpy(), rebuilt, rtol=1e-7))
    return {"points": points, "reuse_s": reuse, "rebuild_s": rebuild, "objectives_agree": agree}


def measure(size: str, frontier_points: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        mps = os.path.join(tmp, "model.mps")
        ours = _in_fresh_process("rareopt", size, mps)
        floor = _in_fresh_process("highs", size, mps) if "error" not in ours else None
    try:
        import linopy  # noqa: F401

        peer = _in_fresh_process("linopy", size, "")
    except ImportError:
        peer = None
    frontier = frontier_times(size, frontier_points)
    row = {
        "size": size,
        "rareopt": ours,
        "highs_alone": floor,
        "linopy": peer,
        "frontier": frontier,
    }
    highs = ours["highs_s"]
    row["overhead_ratio"] = (ours["end_to_end_s"] - highs) / highs
    row["vs_linopy"] = (
        ours["end_to_end_s"] / peer["end_to_end_s"] if peer and "error" not in peer else None
    )
    row["linopy_objective_matches"] = (
        bool(np.isclose(peer["objective"], ours["objective"], rtol=1e-7))
        if peer and "error" not in peer
        else None
    )
    row["frontier_speedup"] = frontier["rebuild_s"] / frontier["reuse_s"]
    row["memory_ratio"] = (
        ours["peak_rss_mib"] / floor["peak_rss_mib"] if floor and "error" not in floor else None
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small size, 5 frontier points")
    parser.add_argument("--sizes", default="small,medium")
    parser.add_argument("--json", default=None)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "rareopt":
            out = worker_rareopt(rest[0], rest[1])
        elif kind == "highs":
            out = worker_highs(rest[1])
        else:
            out = worker_linopy(rest[0])
        print(json.dumps(out))
        return
    sizes = ["small"] if args.quick else args.sizes.split(",")
    points = 5 if args.quick else 21
    rows = []
    print(
        f"{'size':<8} {'e2e s':>7} {'HiGHS s':>8} {'overhead':>9} {'vs linopy':>10} "
        f"{'frontier x':>11} {'memory x':>9}"
    )
    for size in sizes:
        row = measure(size, points)
        rows.append(row)

        def fmt(value, spec=".2f"):
            return "n/a" if value is None else format(value, spec)

        print(
            f"{size:<8} {row['rareopt']['end_to_end_s']:>7.2f} {row['rareopt']['highs_s']:>8.3f} "
            f"{fmt(row['overhead_ratio']):>9} {fmt(row['vs_linopy']):>10} "
            f"{fmt(row['frontier_speedup']):>11} {fmt(row['memory_ratio']):>9}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"sizes": rows}, handle, indent=2)


if __name__ == "__main__":
    main()

"""Extensive form against progressive hedging on mpi-sppy, and PH's speed-up from 1 to 2 ranks.

For N random single-disruption scenarios (``rareopt.inputs.synthetic.disruptions``) on a portfolio, times
in fresh processes: rareopt's own extensive form (arrays to HiGHS), and PH (``engine="mpisppy"``)
for a fixed number of iterations and of subproblems (``--subproblems``: scenario bundles) under
``mpiexec -n 1`` (the hub alone) and ``-n 2`` (two ranks share the hub's subproblems), each with
its peak RSS (largest rank), the objective of the plan it returns (evaluated and checked by
rareopt) and PH's outer bound. A fixed iteration count makes the 1- and 2-rank runs do the same
work, so their time ratio is the parallel speed-up. With ``--certified-gap``, PH also runs as hub,
Lagrangian and xhat spokes on 3 ranks until the spokes' bounds are that close. Needs the mpi
extra.

Run: python benchmarks/mpisppy_scaling.py [--sizes 100,1000] [--portfolio small|japan|medium]
     [--ph-iterations 10] [--subproblems K] [--certified-gap 0.005 [--certified-iterations 50]]
     [--skip-ph-above N] [--json FILE] [--logs DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))

RUN = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, {here!r})
    from peak_memory import peak_rss_mib
    import rareopt
    from rareopt.inputs.synthetic import disruptions, generate_size
    name, n, engine, ph = {portfolio!r}, {n}, {engine!r}, {ph!r}
    p = rareopt.load_example("japan") if name == "japan" else generate_size(name)
    s = disruptions(p, n)
    start = time.perf_counter()
    if engine == "ef":
        r = rareopt.solve(p, scenarios=s)
    else:
        r = rareopt.solve(p, scenarios=s, engine="mpisppy", method="ph", ph=ph)
    seconds = time.perf_counter() - start
    rss = peak_rss_mib()
    if engine != "ef":
        from mpi4py import MPI
        rss = MPI.COMM_WORLD.allreduce(rss, op=MPI.MAX)
    if r is not None:
        keep = ("outer_bound", "bound_gap", "ph_iterations", "plan_from", "subproblems")
        print("RESULT " + json.dumps({{"seconds": seconds, "objective": r.objective,
                                      "peak_rss_mib": rss,
                                      **{{k: r.solver[k] for k in keep if k in r.solver}}}}))
    """
)


def run(
    portfolio: str,
    n: int,
    engine: str,
    ranks: int = 1,
    ph: dict | None = None,
    logs: str | None = None,
) -> dict:
    code = RUN.format(here=HERE, portfolio=portfolio, n=n, engine=engine, ph=ph)
    command = [sys.executable, "-c", code]
    if engine != "ef":
        mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or "mpiexec"
        command = [mpiexec, "-n", str(ranks), *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if logs:
        name = f"{portfolio}-{n}-{engine}-{ranks}.log"
        with open(os.path.join(logs, name), "w", encoding="utf-8") as handle:
            handle.write(done.stdout + done.stderr)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    return json.loads(line[7:]) if line else {"error": done.stderr.strip()[-300:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--portfolio", default="small", choices=["small", "japan", "medium"])
    parser.add_argument("--ph-iterations", type=int, default=10)
    parser.add_argument("--skip-ph-above", type=int, default=None, help="EF only beyond N")
    parser.add_argument(
        "--subproblems",
        type=int,
        default=None,
        help="PH subproblems: bundles of about N / K scenarios (default: one per scenario)",
    )
    parser.add_argument(
        "--certified-gap",
        type=float,
        default=None,
        help="also run hub and spokes on 3 ranks until this gap (or --certified-iterations)",
    )
    parser.add_argument("--certified-iterations", type=int, default=50)
    parser.add_argument("--json", default=None)
    parser.add_argument("--logs", default=None, help="folder for each run's full output")
    args = parser.parse_args()
    if args.logs:
        os.makedirs(args.logs, exist_ok=True)
    rows = []
    print(
        f"{'N':>6} {'EF s':>8} {'EF MiB':>8} {'PH1 s':>8} {'PH2 s':>8} {'PH MiB':>8} "
        f"{'speed-up':>9}"
    )
    for n in [int(v) for v in args.sizes.split(",")]:
        ef = run(args.portfolio, n, "ef", logs=args.logs)
        bundle_size = 1 if args.subproblems is None else -(-n // args.subproblems)
        row = {
            "scenarios": n,
            "ph_iterations": args.ph_iterations,
            "bundle_size": bundle_size,
            "ef": ef,
        }
        if args.skip_ph_above is None or n <= args.skip_ph_above:
            fixed = {"max_iterations": args.ph_iterations, "rel_gap": 0.0}
            for ranks, key in ((1, "ph_1_rank"), (2, "ph_2_ranks")):
                row[key] = run(
                    args.portfolio, n, "ph", ranks, {**fixed, "bundle_size": bundle_size}, args.logs
                )
        if args.certified_gap is not None:
            settings = {
                "max_iterations": args.certified_iterations,
                "rel_gap": args.certified_gap,
                "bundle_size": bundle_size,
            }
            row["ph_3_ranks_certified"] = run(args.portfolio, n, "ph", 3, settings, args.logs)
        rows.append(row)

        def get(d, k):
            return (d or {}).get(k, float("nan"))

        ph1, ph2 = row.get("ph_1_rank"), row.get("ph_2_ranks")
        print(
            f"{n:>6} {get(ef, 'seconds'):>8.1f} {get(ef, 'peak_rss_mib'):>8.0f} "
            f"{get(ph1, 'seconds'):>8.1f} {get(ph2, 'seconds'):>8.1f} "
            f"{get(ph2, 'peak_rss_mib'):>8.0f} "
            f"{get(ph1, 'seconds') / get(ph2, 'seconds'):>9.2f}",
            flush=True,
        )
        certified = row.get("ph_3_ranks_certified")
        if certified is not None:
            print(
                f"{'':>6} hub and spokes on 3 ranks: {get(certified, 'seconds'):.1f} s, "
                f"{get(certified, 'ph_iterations')} iterations, gap {get(certified, 'bound_gap'):.4%}, "
                f"peak {get(certified, 'peak_rss_mib'):.0f} MiB per rank",
                flush=True,
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"portfolio": args.portfolio, "runs": rows}, handle, indent=2)


if __name__ == "__main__":
    main()

"""Extensive form against progressive hedging on mpi-sppy, and PH's speed-up from 1 to 2 ranks.

For N random single-disruption scenarios (``rareopt.synthetic.disruptions``) on a portfolio, times
in fresh processes: rareopt's own extensive form (arrays to HiGHS), and PH (``engine="mpisppy"``)
for a fixed number of iterations under ``mpiexec -n 1`` (the hub alone) and ``-n 2`` (two ranks
share the hub's scenarios), each with its peak RSS (largest rank), the objective of the plan it
returns (evaluated and checked by rareopt) and PH's outer bound. A fixed iteration count makes the
1- and 2-rank runs do the same work, so their time ratio is the parallel speed-up. Needs the mpi
extra.

Run: python benchmarks/mpisppy_scaling.py [--sizes 100,1000] [--portfolio small|japan|medium]
     [--ph-iterations 10] [--skip-ph-above N] [--json FILE]
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
    from rareopt.synthetic import disruptions, generate_size
    name, n, engine, iterations = {portfolio!r}, {n}, {engine!r}, {iterations}
    p = rareopt.load_example("japan") if name == "japan" else generate_size(name)
    s = disruptions(p, n)
    start = time.perf_counter()
    if engine == "ef":
        r = rareopt.solve(p, scenarios=s)
    else:
        r = rareopt.solve(p, scenarios=s, engine="mpisppy", method="ph",
                          ph={{"max_iterations": iterations, "rel_gap": 0.0}})
    seconds = time.perf_counter() - start
    rss = peak_rss_mib()
    if engine != "ef":
        from mpi4py import MPI
        rss = MPI.COMM_WORLD.allreduce(rss, op=MPI.MAX)
    if r is not None:
        print("RESULT " + json.dumps({{"seconds": seconds, "objective": r.objective,
                                      "outer_bound": r.solver.get("outer_bound"),
                                      "peak_rss_mib": rss}}))
    """
)


def run(portfolio: str, n: int, engine: str, ranks: int, iterations: int) -> dict:
    code = RUN.format(here=HERE, portfolio=portfolio, n=n, engine=engine, iterations=iterations)
    command = [sys.executable, "-c", code]
    if engine != "ef":
        mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or "mpiexec"
        command = [mpiexec, "-n", str(ranks), *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    return json.loads(line[7:]) if line else {"error": done.stderr.strip()[-300:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--portfolio", default="small", choices=["small", "japan", "medium"])
    parser.add_argument("--ph-iterations", type=int, default=10)
    parser.add_argument("--skip-ph-above", type=int, default=None, help="EF only beyond N")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    print(
        f"{'N':>6} {'EF s':>8} {'EF MiB':>8} {'PH1 s':>8} {'PH2 s':>8} {'PH MiB':>8} "
        f"{'speed-up':>9}"
    )
    for n in [int(v) for v in args.sizes.split(",")]:
        ef = run(args.portfolio, n, "ef", 1, 0)
        row = {"scenarios": n, "ph_iterations": args.ph_iterations, "ef": ef}
        if args.skip_ph_above is None or n <= args.skip_ph_above:
            row["ph_1_rank"] = run(args.portfolio, n, "ph", 1, args.ph_iterations)
            row["ph_2_ranks"] = run(args.portfolio, n, "ph", 2, args.ph_iterations)
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
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"portfolio": args.portfolio, "runs": rows}, handle, indent=2)


if __name__ == "__main__":
    main()

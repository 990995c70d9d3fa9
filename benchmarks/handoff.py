"""Hand-off to HiGHS: rareopt's routes against Pyomo's HiGHS interfaces.

Builds one random portfolio (elements x suppliers x periods), then, side by side in this process:

- rareopt direct: layout -> arrays (``rareopt.model.formulation.assemble``) -> passModel, no Pyomo
  (what ``rareopt.solve(portfolio)`` does);
- rareopt via Pyomo: ``rareopt.build`` (the Pyomo view of the same arrays) -> Pyomo's
  LinearStandardFormCompiler -> passModel (what ``rareopt.solve(model)`` does for a model you
  extended);
- Pyomo's maintained interface ``pyomo.contrib.solver.solvers.highs.Highs``;
- Pyomo's older APPSI interface ``appsi_highs``.

Each route solves the same built model; objectives must agree. Times are wall-clock seconds of one
run each (a second repeat is taken and the faster kept), and the table shows the time outside HiGHS
as a multiple of HiGHS's own solve time.

Run: python benchmarks/handoff.py [--elements 17 --suppliers 60 --periods 24] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time

import pyomo.environ as pyo

import rareopt
from rareopt.inputs.synthetic import generate
from rareopt.model.formulation import assemble
from rareopt.model.layout import make_layout
from rareopt.model.pyomo_view import compile_model
from rareopt.solving.highs import HighsSession


def time_route(make_lp) -> dict:
    """Time ``make_lp()`` and the hand-off to HiGHS, then HiGHS's solve."""
    start = time.perf_counter()
    lp = make_lp()
    session = HighsSession(lp)
    handoff = time.perf_counter() - start
    out = session.run()
    return {
        "handoff_s": handoff,
        "highs_s": out.solve_seconds,
        "objective": out.objective,
        "rows": int(lp.matrix.shape[0]),
        "cols": int(lp.matrix.shape[1]),
        "nnz": int(lp.matrix.nnz),
    }


def time_pyomo(model, name: str) -> dict:
    if name == "contrib":
        from pyomo.contrib.solver.solvers.highs import Highs

        solver = Highs()
        start = time.perf_counter()
        res = solver.solve(model, raise_exception_on_nonoptimal_result=False, load_solutions=True)
        total = time.perf_counter() - start
        return {"total_s": total, "objective": float(res.incumbent_objective)}
    solver = pyo.SolverFactory("appsi_highs")
    start = time.perf_counter()
    solver.solve(model, load_solutions=True)
    total = time.perf_counter() - start
    return {"total_s": total, "objective": float(pyo.value(model.total_cost))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=17)
    parser.add_argument("--suppliers", type=int, default=60)
    parser.add_argument("--periods", type=int, default=24)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    portfolio = generate(args.elements, args.suppliers, args.periods)
    direct = min(
        (time_route(lambda: assemble(make_layout(portfolio))) for _ in range(2)),
        key=lambda r: r["handoff_s"],
    )
    start = time.perf_counter()
    model = rareopt.build(portfolio)
    build = time.perf_counter() - start
    ours = min(
        (time_route(lambda: compile_model(model)) for _ in range(2)), key=lambda r: r["handoff_s"]
    )
    peers = {}
    for name in ("contrib", "appsi"):
        try:
            peers[name] = min(
                (time_pyomo(model, name) for _ in range(2)), key=lambda r: r["total_s"]
            )
        except Exception as exc:  # a missing peer is reported, not fatal
            peers[name] = {"error": f"{type(exc).__name__}: {exc}"}
    highs = ours["highs_s"]
    report = {
        "portfolio": portfolio.name,
        "build_s": build,
        "direct": direct,
        "rareopt": ours,
        "peers": peers,
        "rareopt_outside_highs_ratio": ours["handoff_s"] / highs,
    }
    print(f"{portfolio.name}: {ours['rows']} rows, {ours['cols']} columns, {ours['nnz']} nonzeros")
    print(
        f"  direct: assembly + hand-off   {direct['handoff_s']:8.3f} s  "
        f"({direct['handoff_s'] / direct['highs_s']:.2f} x its HiGHS solve); "
        f"objective agrees: {abs(direct['objective'] - ours['objective']) <= 1e-6 * abs(ours['objective'])}"
    )
    print(f"  build (Pyomo model)           {build:8.3f} s")
    print(
        f"  rareopt hand-off              {ours['handoff_s']:8.3f} s  "
        f"({ours['handoff_s'] / highs:.2f} x HiGHS solve)"
    )
    print(f"  HiGHS solve                   {highs:8.3f} s  objective {ours['objective']:,.2f}")
    for name, r in peers.items():
        if "error" in r:
            print(f"  pyomo {name:<8}: {r['error']}")
            continue
        outside = r["total_s"] - highs
        report[f"{name}_outside_highs_ratio"] = outside / highs
        agree = abs(r["objective"] - ours["objective"]) <= 1e-6 * abs(ours["objective"])
        print(
            f"  pyomo {name:<8} solve total   {r['total_s']:8.3f} s  "
            f"({outside / highs:.2f} x HiGHS solve outside it); objective agrees: {agree}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()

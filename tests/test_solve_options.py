"""Solver options, statuses without a plan, and exports."""

import json
from pathlib import Path

import pytest

import rareopt
from rareopt import NoPlanError, SolveStatus
from rareopt.inputs.synthetic import generate


@pytest.fixture(scope="module")
def medium():
    return generate(5, 20, 12)


@pytest.mark.parametrize("algorithm", ["simplex", "ipm", "pdlp"])
def test_lp_algorithms_agree(medium, algorithm):
    reference = rareopt.solve(medium).objective
    r = rareopt.solve(medium, lp_algorithm=algorithm, threads=1, random_seed=3)
    assert r.status is SolveStatus.OPTIMAL
    # PDLP is a first-order method: optimal to its own, looser tolerance.
    rel = 1e-4 if algorithm == "pdlp" else 1e-8
    assert r.objective == pytest.approx(reference, rel=rel)


def test_presolve_off_gives_the_same_optimum(medium):
    assert rareopt.solve(medium, presolve=False).objective == pytest.approx(
        rareopt.solve(medium).objective, rel=1e-8
    )


def test_time_limit_without_plan_is_typed_and_explained(medium):
    r = rareopt.solve(medium, time_limit=1e-6)
    assert r.status is SolveStatus.LIMIT_NO_PLAN and not r.ok
    assert "Time limit" in r.solver_message
    with pytest.raises(NoPlanError, match="time_limit"):
        r.plan
    assert "limit_no_plan" in r.summary()
    assert json.loads(r.to_json())["status"] == "limit_no_plan"


def test_timings_are_reported_separately():
    r = rareopt.solve(rareopt.load_example("tiny"))
    assert {"build_seconds", "handoff_seconds", "solve_seconds", "extract_seconds"} <= set(
        r.timings
    )
    assert all(v >= 0 for v in r.timings.values())


def test_exports_round_trip(tmp_path):
    r = rareopt.solve(rareopt.load_example("tiny"))
    paths = r.to_csv(str(tmp_path / "csv"))
    assert {Path(p).stem for p in paths} >= {
        "plan",
        "stock",
        "unmet",
        "shares",
        "hhi",
        "duals",
        "costs",
        "checks",
    }
    r.to_excel(str(tmp_path / "r.xlsx"))
    import pandas as pd

    sheets = pd.read_excel(tmp_path / "r.xlsx", sheet_name=None)
    assert sheets["plan"]["volume_t"].sum() == pytest.approx(r.plan["volume_t"].sum())
    payload = json.loads(r.to_json(str(tmp_path / "r.json")))
    assert payload["objective_usd"] == pytest.approx(r.objective)
    assert len(payload["tables"]["plan"]) == len(r.plan)


def test_thread_count_can_change_between_solves_in_one_process():
    """HiGHS sizes its thread pool once per process; rareopt rebuilds it when asked for threads."""
    p = rareopt.load_example("tiny")
    statuses = [
        rareopt.solve(p, **kw).status.value for kw in ({}, {"threads": 2}, {}, {"threads": 1})
    ]
    assert statuses == ["optimal"] * 4

"""Solver options, statuses without a plan, and exports."""

import json
from pathlib import Path

import pytest

import rareopt
from rareopt import NoPlanError, SolveStatus
from rareopt.inputs.synthetic import generate
from rareopt.solving.pipeline import prepare


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


def test_ctrl_c_during_a_solve_stops_highs_and_types_the_result_interrupted(monkeypatch):
    from rareopt.solving import highs

    session = highs.HighsSession(prepare(rareopt.load_example("tiny")).lp)
    h = session._highs
    wait = h.wait
    pressed = []

    def wait_then_press(timeout):
        if not pressed:  # Ctrl-C arrives while HiGHS runs
            pressed.append(True)
            raise KeyboardInterrupt
        return wait(timeout)

    monkeypatch.setattr(h, "wait", wait_then_press)
    output = session.run()
    assert output.status == SolveStatus.INTERRUPTED and output.x is None
    assert not h.is_solver_running()
    assert not SolveStatus.INTERRUPTED.is_ok


@pytest.mark.slow
def test_the_cli_exits_130_within_a_second_of_ctrl_c_in_a_long_solve(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    import yaml

    from rareopt.inputs.synthetic import SIZES, disruptions, generate_size

    p = generate_size("medium").with_policy(priorities="weighted")
    p.to_yaml(str(tmp_path / "p.yaml"))
    scenarios = disruptions(p, SIZES["medium"][3]).to_dict()
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenarios))
    proc = subprocess.Popen(
        [sys.executable, "-m", "rareopt", "solve", "p.yaml", "--scenarios", "s.yaml"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(10)  # loading and building take about 3 s; HiGHS about 13 s more
    start = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert time.perf_counter() - start < 5
    assert "Traceback" not in err

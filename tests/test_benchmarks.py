"""The benchmark scripts run (smoke test on tiny sizes; they assert no timings)."""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def run(script, *args):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_scenario_benchmark_runs_and_writes_json(tmp_path):
    out = tmp_path / "s.json"
    run("scenarios.py", "--sizes", "3,6", "--portfolio", "small", "--json", str(out))
    runs = json.loads(out.read_text())["runs"]
    assert [r["scenarios"] for r in runs] == [3, 6]
    assert runs[1]["rows"] > runs[0]["rows"]


@pytest.mark.mpi
@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("mpiexec", path=str(Path(sys.executable).parent)) is None
    or importlib.util.find_spec("mpisppy") is None,
    reason="needs the mpi extra (mpi-sppy and mpiexec)",
)
def test_mpisppy_benchmark_runs_bundled_ph_on_one_and_two_ranks(tmp_path):
    out = tmp_path / "m.json"
    run("mpisppy_scaling.py", "--sizes", "4", "--ph-iterations", "1", "--subproblems", "2",
        "--json", str(out), "--logs", str(tmp_path / "logs"))  # fmt: skip
    row = json.loads(out.read_text())["runs"][0]
    assert row["bundle_size"] == 2
    for key in ("ef", "ph_1_rank", "ph_2_ranks"):
        assert row[key]["seconds"] > 0, row[key]
    assert row["ph_2_ranks"]["subproblems"] == 2
    assert row["ph_1_rank"]["outer_bound"] <= row["ef"]["objective"] * (1 + 1e-9)
    assert len(list((tmp_path / "logs").iterdir())) == 3


def test_handoff_benchmark_runs():
    printed = run("handoff.py", "--elements", "2", "--suppliers", "5", "--periods", "3")
    assert "rareopt" in printed


@pytest.mark.slow
def test_harness_quick_run_reports_every_ratio(tmp_path):
    out = tmp_path / "run.json"
    printed = run("run.py", "--quick", "--json", str(out))
    assert "overhead" in printed
    rows = json.loads(out.read_text())["sizes"]
    assert [(r["size"], r["model"]) for r in rows] == [
        ("small", "two-stage"),
        ("small", "deterministic"),
        ("small", "staged"),
    ]
    for row in rows:
        for key in ("overhead_ratio", "frontier_speedup", "memory_ratio"):
            assert row[key] is not None and row[key] > 0
        assert row["frontier"]["objectives_agree"]
        assert (
            row["highs_alone"]["objective"] == row["rareopt"]["objective"]
            or abs(row["highs_alone"]["objective"] / row["rareopt"]["objective"] - 1) < 1e-7
        )
        if row["model"] == "staged":  # the peer has no processing stages
            assert row["vs_linopy"] is None
        elif row["linopy"] is not None:
            assert row["linopy_objective_matches"]


def test_bench_command_compares_settings(tmp_path):
    from typer.testing import CliRunner

    from rareopt.cli import app

    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["bench", "small", "--repeats", "1", "--json", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())
    assert len(rows) == 12 and {r["status"] for r in rows} == {"optimal"}
    assert max(r["gap_to_best"] for r in rows) < 1e-6


def test_simulate_benchmark_runs_and_writes_json(tmp_path):
    out = tmp_path / "sim.json"
    run("simulate.py", "--scenarios", "3", "--json", str(out))
    report = json.loads(out.read_text())
    assert report["solves"] == report["scenarios"] * report["periods"]
    assert report["simulate_seconds"] > 0 and report["two_stage_seconds"] > 0

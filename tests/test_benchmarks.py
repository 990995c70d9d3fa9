"""The benchmark scripts run (smoke test on tiny sizes; they assert no timings)."""

import json
import subprocess
import sys
from pathlib import Path

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


def test_handoff_benchmark_runs():
    printed = run("handoff.py", "--elements", "2", "--suppliers", "5", "--periods", "3")
    assert "rareopt" in printed


def test_harness_quick_run_reports_every_ratio(tmp_path):
    out = tmp_path / "run.json"
    printed = run("run.py", "--quick", "--json", str(out))
    assert "overhead" in printed
    rows = json.loads(out.read_text())["sizes"]
    assert [(r["size"], r["model"]) for r in rows] == [
        ("small", "two-stage"),
        ("small", "deterministic"),
    ]
    for row in rows:
        for key in ("overhead_ratio", "frontier_speedup", "memory_ratio"):
            assert row[key] is not None and row[key] > 0
        assert row["frontier"]["objectives_agree"]
        assert (
            row["highs_alone"]["objective"] == row["rareopt"]["objective"]
            or abs(row["highs_alone"]["objective"] / row["rareopt"]["objective"] - 1) < 1e-7
        )
        if row["linopy"] is not None:
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

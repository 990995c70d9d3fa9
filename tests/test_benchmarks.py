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

"""Every script in examples/ runs and prints what it promises."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_script_runs(script):
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "USD" in done.stdout


def test_india_agreement_is_met():
    script = Path(__file__).parent.parent / "examples" / "custom_constraint_india.py"
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True
    ).stdout
    line = next(row for row in out.splitlines() if row.startswith("bought from India"))
    assert float(line.split(":")[1].split("t")[0].replace(",", "")) >= 4_100 - 1e-6

"""The model and solving layers type-check under mypy (configured in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def test_model_and_solving_layers_type_check():
    pytest.importorskip("mypy")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "rareopt/model", "rareopt/solving"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"mypy found errors:\n{done.stdout}{done.stderr}"

"""Infeasible portfolios are explained in domain terms, with the relaxation that fixes each item."""

import pandas as pd
import pytest
from helpers import hard_target_portfolio

import rareopt
from rareopt import SolveStatus


def test_conflict_names_element_period_cap_and_capacity():
    r = rareopt.solve(hard_target_portfolio())
    assert r.status is SolveStatus.INFEASIBLE
    conflicts = r.conflicts.set_index("kind")
    assert set(conflicts.index) >= {"hard stock target", "country cap", "capacity", "demand first"}
    assert (conflicts.drop("demand first")["element"] == "Dy").all()
    assert "hard targets may not short demand" in conflicts.loc["demand first", "description"]
    assert conflicts.loc["country cap", "holder"] == "CN"
    assert conflicts.loc["capacity", "holder"] == "AU-Lynas"
    assert "CN capped at 50% of Dy's purchases" in r.explanation
    assert "AU-Lynas can supply at most 60.0 t" in r.explanation


def test_each_relaxation_is_the_smallest_that_restores_feasibility():
    r = rareopt.solve(hard_target_portfolio())
    fixes = r.conflicts.set_index("kind")["relaxation"]
    assert fixes["capacity"].startswith("40.0 t more capacity")
    assert "allowing 40.0 t more from CN" in fixes["country cap"]
    # Lowering P1's target alone cannot do it: P2 would then need 180 t of purchases.
    assert pd.isna(fixes["hard stock target"])
    # and they do: 40 t more AU capacity is feasible, 39 t is not
    assert rareopt.solve(hard_target_portfolio(au_capacity=100.0)).ok
    assert not rareopt.solve(hard_target_portfolio(au_capacity=99.0)).ok


def test_cli_prints_the_explanation_instead_of_a_traceback(tmp_path):
    from typer.testing import CliRunner

    from rareopt.cli import EXIT_NO_PLAN, app

    path = tmp_path / "hard.yaml"
    hard_target_portfolio().to_yaml(str(path))
    result = CliRunner().invoke(app, ["solve", str(path)])
    assert result.exit_code == EXIT_NO_PLAN
    assert "CN capped at 50%" in result.output and "Traceback" not in result.output


def test_feasible_result_has_no_conflicts():
    r = rareopt.solve(hard_target_portfolio(au_capacity=100.0))
    assert r.ok and r.conflicts is None
    with pytest.raises(rareopt.NoPlanError):
        rareopt.solve(hard_target_portfolio()).plan


def test_an_infeasible_portfolio_with_an_hhi_cap_is_explained_not_crashed():
    p = rareopt.load_example("tiny").with_policy(hhi_cap=5000, hard_stock_targets=True)
    p = p.replace_tables(stockpile=p.stockpile.assign(capacity_t=1.0, initial_t=0.0))
    r = rareopt.solve(p)
    assert r.status.value == "infeasible"
    assert "stock target" in r.explanation


def test_amounts_to_relax_are_rounded_up_so_that_the_printed_fix_works():
    from rareopt.solving.infeasibility import _up

    assert _up(0.84) == "0.840" and _up(40.0000001) == "40.0" and _up(40.04) == "40.1"
    assert _up(0.0004) == "0.0004"

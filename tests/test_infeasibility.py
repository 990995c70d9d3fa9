"""Infeasible portfolios are explained in domain terms, with the relaxation that fixes each item."""

import pytest
from helpers import offer, supplier

import rareopt
from rareopt import SolveStatus


def hard_target_portfolio(cap=0.5, au_capacity=30.0):
    """Dy, 30-day periods, demand 100 t, hard target 30 days = 100 t, nothing in stock.

    P1 must end with 100 t in stock whatever demand goes unmet, so purchases >= 100 t; with CN at
    most 50% the rest, >= 50 t, must come from AU, which has 30 t: infeasible. Alone, 20 t more AU
    capacity, 20 t more room under the CN cap, or a target 40 t lower (60 t = 2 x 30 t bought)
    would each restore feasibility.
    """
    return rareopt.Portfolio(
        periods={"count": 2, "days": 30},
        demand={"Dy": 100},
        suppliers=[supplier("CN-Mine", "CN"), supplier("AU-Lynas", "AU")],
        offers=[
            offer("CN-Mine", "Dy", 250_000, 500),
            offer("AU-Lynas", "Dy", 300_000, au_capacity),
        ],
        stockpile=[{"element": "Dy", "target_days": 30, "capacity_t": 1_000}],
        policy={"country_caps": {"CN": cap}, "hard_stock_targets": True},
    )


def test_conflict_names_element_period_cap_and_capacity():
    r = rareopt.solve(hard_target_portfolio())
    assert r.status is SolveStatus.INFEASIBLE
    conflicts = r.conflicts.set_index("kind")
    assert set(conflicts.index) >= {"hard stock target", "country cap", "capacity"}
    assert (conflicts["element"] == "Dy").all()
    assert conflicts.loc["country cap", "holder"] == "CN"
    assert conflicts.loc["capacity", "holder"] == "AU-Lynas"
    assert "CN capped at 50% of Dy's purchases" in r.explanation
    assert "AU-Lynas can supply at most 30.0 t" in r.explanation


def test_each_relaxation_is_the_smallest_that_restores_feasibility():
    r = rareopt.solve(hard_target_portfolio())
    fixes = r.conflicts.set_index("kind")["relaxation"]
    assert fixes["capacity"].startswith("20.0 t more capacity")
    assert "allowing 20.0 t more from CN" in fixes["country cap"]
    assert "lowering it alone by 40.0 t" in fixes["hard stock target"]
    # and they do: 20 t more AU capacity is feasible, 19 t is not
    assert rareopt.solve(hard_target_portfolio(au_capacity=50.0)).ok
    assert not rareopt.solve(hard_target_portfolio(au_capacity=49.0)).ok


def test_cli_prints_the_explanation_instead_of_a_traceback(tmp_path):
    from typer.testing import CliRunner

    from rareopt.cli import EXIT_NO_PLAN, app

    path = tmp_path / "hard.yaml"
    hard_target_portfolio().to_yaml(str(path))
    result = CliRunner().invoke(app, ["solve", str(path)])
    assert result.exit_code == EXIT_NO_PLAN
    assert "CN capped at 50%" in result.output and "Traceback" not in result.output


def test_feasible_result_has_no_conflicts():
    r = rareopt.solve(hard_target_portfolio(au_capacity=60.0))
    assert r.ok and r.conflicts is None
    with pytest.raises(rareopt.NoPlanError):
        rareopt.solve(hard_target_portfolio()).plan


def test_an_infeasible_portfolio_with_an_hhi_cap_is_explained_not_crashed():
    p = rareopt.load_example("tiny").with_policy(hhi_cap=5000, hard_stock_targets=True)
    p = p.replace_tables(stockpile=p.stockpile.assign(capacity_t=1.0, initial_t=0.0))
    r = rareopt.solve(p)
    assert r.status.value == "infeasible"
    assert "stock target" in r.explanation

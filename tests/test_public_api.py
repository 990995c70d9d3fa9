"""The top-level API: about twenty names analysts call, and the moved ones still working a release."""

import warnings

import pytest

import rareopt


def test_the_public_api_is_small_and_every_name_resolves():
    # About thirty: the functions an analyst calls and the errors they catch, no more.
    assert 20 <= len(rareopt.__all__) <= 32
    for name in rareopt.__all__:
        assert getattr(rareopt, name) is not None


@pytest.mark.parametrize("name", sorted(rareopt._MOVED))
def test_moved_names_still_work_with_a_deprecation_warning(name):
    with pytest.warns(DeprecationWarning, match=f"rareopt.{name} is deprecated"):
        value = getattr(rareopt, name)
    assert value is getattr(__import__(rareopt._MOVED[name], fromlist=[name]), name)


def test_internals_are_not_top_level_names():
    for name in ("layout_of", "check_plan", "build_two_stage", "assemble", "make_layout"):
        assert name not in rareopt.__all__
    with pytest.raises(AttributeError):
        rareopt.build_two_stage  # noqa: B018


def test_analysts_scripts_keep_working():
    """What scripts already use: rareopt.synthetic, solve's keyword options, Result's mappings."""
    from rareopt.synthetic import disruptions, generate, generate_size

    portfolio = generate(elements=2, suppliers=4, periods=2, seed=1)
    assert len(disruptions(portfolio, 3)) == 3 and generate_size("small").elements
    result = rareopt.solve(rareopt.load_example("tiny"), time_limit=60, threads=1)
    assert set(result.timings) >= {"build_seconds", "handoff_seconds", "solve_seconds"}
    assert "iterations" in result.solver and "plan" in result.tables
    assert list(result.cost_terms.index)[:2] == ["purchase_cost", "contract_cost"]
    curve = rareopt.frontier(rareopt.load_example("tiny"), "country_cap", [0.7], country="CN")
    assert curve.index.name == "country_cap" and {"objective_usd", "status"} <= set(curve)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rareopt.Portfolio.from_yaml  # noqa: B018 - no warning for what stays


def test_a_result_is_not_changed_once_built():
    result = rareopt.solve(rareopt.load_example("tiny"))
    with pytest.raises(AttributeError):
        result.objective = 0.0
    with pytest.raises(TypeError):
        result.solver["iterations"] = 0


def test_derived_tables_are_built_once_when_threads_read_them_together():
    from concurrent.futures import ThreadPoolExecutor

    result = rareopt.solve(rareopt.load_example("tiny"))
    with ThreadPoolExecutor(8) as pool:
        tables = list(pool.map(lambda _: (result.shares, result.hhi, result.duals), range(32)))
    assert all(t[0] is tables[0][0] and t[1] is tables[0][1] for t in tables)


@pytest.mark.parametrize(
    "old, name",
    [
        ("rareopt.two_stage", "assemble_two_stage"),
        ("rareopt.mpisppy_module", "scenario_creator"),
        ("rareopt.portfolio", "Portfolio"),
        ("rareopt.check", "check_plan"),
    ],
)
def test_old_module_paths_import_the_new_modules_with_a_warning(old, name):
    import importlib
    import sys

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated"):
        module = importlib.import_module(old)
    assert hasattr(module, name) and module.__name__ != old


@pytest.mark.parametrize(
    "package, name",
    [
        ("model", "build"),
        ("model", "layout_of"),
        ("results", "Result"),
        ("results", "extract"),
        ("analysis", "cost_of_diversification"),
        ("report", "element_overview"),
    ],
)
def test_names_of_old_modules_that_became_packages_still_resolve(package, name):
    import importlib

    module = importlib.import_module(f"rareopt.{package}")
    with pytest.warns(DeprecationWarning, match=f"rareopt.{package}.{name} is deprecated"):
        assert callable(getattr(module, name))


def test_a_result_pickles_with_its_tables():
    import copy
    import pickle

    result = rareopt.solve(rareopt.load_example("tiny"))
    again = pickle.loads(pickle.dumps(result))
    assert again.objective == result.objective
    assert again.shares.equals(result.shares) and dict(again.solver) == dict(result.solver)
    assert copy.deepcopy(result).plan.equals(result.plan)
    infeasible = rareopt.solve(
        rareopt.load_example("tiny").with_policy(country_caps={"CN": 0.0}, hard_stock_targets=True)
    )
    assert pickle.loads(pickle.dumps(infeasible)).status == infeasible.status


def test_the_api_page_documents_every_public_name():
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    documented = {
        line.split("rareopt.", 1)[1].strip()
        for line in page.splitlines()
        if line.startswith("::: rareopt.")
    }
    assert set(rareopt.__all__) <= documented

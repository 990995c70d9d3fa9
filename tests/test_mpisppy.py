"""The two-stage model on mpi-sppy: its extensive form equals rareopt's, and PH across three MPI
ranks (hub, Lagrangian and xhat spokes) reaches a gap under 1% with a plan that passes the check."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import rareopt
from rareopt.inputs.synthetic import disruptions, generate_size
from rareopt.model.risk import CVaR

# Every test here needs mpi-sppy (the mpi extra); some also mpiexec.
pytestmark = pytest.mark.mpi

mpisppy = pytest.importorskip("mpisppy", reason="mpi-sppy is not installed (the mpi extra)")
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")


def mpirun(ranks: int, script: str) -> subprocess.CompletedProcess:
    """Run a Python script under mpiexec on ``ranks`` ranks, its output captured."""
    return subprocess.run(
        [MPIEXEC, "-n", str(ranks), sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def scenarios():
    return rareopt.event_scenarios(
        ["china-japan-2010", "pandemic-logistics-2020"], start=2, baseline=0.6
    )


def test_mpisppy_extensive_form_equals_rareopts_own():
    tiny = rareopt.load_example("tiny")
    own = rareopt.solve(tiny, scenarios=scenarios())
    via = rareopt.solve(tiny, scenarios=scenarios(), engine="mpisppy", method="ef")
    assert via.solver["ef_objective"] == pytest.approx(own.objective, rel=1e-9)
    assert via.objective == pytest.approx(own.objective, rel=1e-9)
    assert via.scenarios.cost["recourse_usd"].to_numpy() == pytest.approx(
        own.scenarios.cost["recourse_usd"].to_numpy(), rel=1e-6, abs=1.0
    )


def test_unknown_method_and_ph_setting_are_refused():
    tiny = rareopt.load_example("tiny")
    with pytest.raises(ValueError, match="method: got 'bb'"):
        rareopt.solve(tiny, scenarios=scenarios(), engine="mpisppy", method="bb")
    with pytest.raises(ValueError, match="unknown setting"):
        rareopt.solve(tiny, scenarios=scenarios(), engine="mpisppy", method="ph", ph={"rh": 1})


@pytest.mark.slow
@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (install the mpi extra's mpich)")
def test_progressive_hedging_on_three_ranks_reaches_a_small_certified_gap():
    script = textwrap.dedent(
        """
        import json, rareopt
        s = rareopt.event_scenarios(
            ["china-japan-2010", "pandemic-logistics-2020"], start=2, baseline=0.6)
        r = rareopt.solve(rareopt.load_example("tiny"), scenarios=s, engine="mpisppy",
                          method="ph")
        if r is not None:
            failed = bool((r.checks["max_excess"] > r.checks["tolerance"]).any())
            print("RESULT " + json.dumps({**r.solver, "objective": r.objective,
                                          "check_failed": failed}))
        """
    )
    done = mpirun(3, script)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line.removeprefix("RESULT "))
    assert out["ranks"] == 3 and out["bound_gap"] < 0.01
    assert not out["check_failed"]
    optimum = rareopt.solve(rareopt.load_example("tiny"), scenarios=scenarios()).objective
    assert out["outer_bound"] <= optimum + 1e-6 <= out["objective"] + 2e-6
    assert out["objective"] <= optimum * 1.01


CVAR_PH = """
import json, sys, rareopt
from rareopt.inputs.synthetic import disruptions, generate_size
from rareopt.model.risk import CVaR
# Goals weighted: progressive hedging minimises the whole objective.
if sys.argv[1] == "tiny":
    p = rareopt.load_example("tiny").with_policy(priorities="weighted")
    s = rareopt.event_scenarios(
        ["china-japan-2010", "pandemic-logistics-2020"], start=2, baseline=0.6)
else:
    p = generate_size("small").with_policy(priorities="weighted")
    s = disruptions(p, 10, seed=1)
r = rareopt.solve(p, scenarios=s, risk=CVaR(0.9, 1.0), engine="mpisppy", method="ph",
                  ph={"max_iterations": 300, "rel_gap": 0.009})
if r is not None:
    print("RESULT " + json.dumps({**r.solver, "objective": r.objective}))
"""


LONG = os.environ.get("RAREOPT_LONG_TESTS") == "1"


@pytest.mark.slow
@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (install the mpi extra's mpich)")
@pytest.mark.parametrize(
    "size",
    [
        "tiny",
        pytest.param(
            "small",
            marks=pytest.mark.skipif(
                not LONG, reason="about 4 minutes on 3 ranks; set RAREOPT_LONG_TESTS=1"
            ),
        ),
    ],
)
def test_progressive_hedging_certifies_a_cvar_plan(size, tmp_path):
    # With the CVaR level bounded a priori the Lagrangian spoke bounds the optimum, and the
    # certified gap closes below 1% (free, it stayed at 7.9% after 200 iterations on tiny).
    script = tmp_path / "cvar_ph.py"
    script.write_text(CVAR_PH)
    done = subprocess.run(
        [MPIEXEC, "-n", "3", sys.executable, str(script), size],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line.removeprefix("RESULT "))
    assert out["bound_gap"] < 0.01
    low, high = out["cvar_level_bounds"]
    assert low < high
    if size == "tiny":
        p, s = rareopt.load_example("tiny").with_policy(priorities="weighted"), scenarios()
    else:
        p = generate_size("small").with_policy(priorities="weighted")
        s = disruptions(p, 10, seed=1)
    optimum = rareopt.solve(p, scenarios=s, risk=CVaR(0.9, 1.0)).objective
    assert out["outer_bound"] <= optimum * (1 + 1e-6) <= out["objective"] * (1 + 2e-6)


def test_progressive_hedging_alone_returns_its_consensus_plan_with_bounds():
    """One rank, no spokes: the hub's consensus plan, evaluated and checked, brackets the optimum."""
    tiny = rareopt.load_example("tiny")
    r = rareopt.solve(
        tiny, scenarios=scenarios(), engine="mpisppy", method="ph", ph={"max_iterations": 30}
    )
    optimum = rareopt.solve(tiny, scenarios=scenarios()).objective
    assert r.solver["ranks"] == 1 and r.solver["plan_from"] == "PH consensus (xbar)"
    assert not (r.checks["max_excess"] > r.checks["tolerance"]).any()
    assert r.solver["outer_bound"] <= optimum + 1e-6 <= r.objective + 2e-6
    assert r.solver["inner_bound"] == r.objective
    assert r.solver["bound_gap"] == pytest.approx(
        (r.objective - r.solver["outer_bound"]) / r.objective
    )


def test_progressive_hedging_alone_keeps_minimum_orders_whole():
    """With discrete first-stage decisions the hub's plan is a scenario's own, never a mean."""
    tiny = rareopt.load_example("tiny")
    orders = tiny.replace_tables(
        offers=tiny.offers.assign(min_order_t=15.0), capacity=tiny.capacity
    )
    r = rareopt.solve(
        orders, scenarios=scenarios(), engine="mpisppy", method="ph", ph={"max_iterations": 2}
    )
    assert r.status.is_ok and "discrete first stage" in r.solver["plan_from"]
    volumes = r.plan["volume_t"]
    assert ((volumes <= 1e-6) | (volumes >= 15.0 - 1e-6)).all()
    assert r.objective >= rareopt.solve(orders, scenarios=scenarios()).objective - 1e-6


def bundle_optimum(portfolio, s, members):
    import pyomo.environ as pyo

    from rareopt.solving.mpisppy import scenario_creator

    # Solved as mpi-sppy solves it: the Pyomo subproblem through appsi_highs.
    model = scenario_creator("b", portfolio, s, bundles={"b": members})
    results = pyo.SolverFactory("appsi_highs").solve(model)
    assert results.solver.termination_condition == pyo.TerminationCondition.optimal
    return model._mpisppy_probability, pyo.value(model.two_stage_cost)


def test_bundles_sit_between_wait_and_see_and_the_extensive_form():
    """One bundle of every scenario is the extensive form; splitting it relaxes nonanticipativity
    between bundles, down to one scenario each (wait-and-see)."""
    from rareopt.solving.mpisppy import scenario_bundles

    tiny = rareopt.load_example("tiny")
    s = scenarios()
    assert scenario_bundles(s, len(s)) == {"bundle-0": s.names}
    optimum = rareopt.solve(tiny, scenarios=s).objective
    probability, whole = bundle_optimum(tiny, s, s.names)
    assert probability == pytest.approx(1.0) and whole == pytest.approx(optimum, rel=1e-9)
    pairs = [bundle_optimum(tiny, s, group) for group in (s.names[:2], s.names[2:])]
    singles = [bundle_optimum(tiny, s, [name]) for name in s.names]
    split = sum(p * value for p, value in pairs)
    wait_and_see = sum(p * value for p, value in singles)
    assert wait_and_see <= split + 1e-6 <= optimum + 2e-6
    assert wait_and_see < optimum - 1.0  # the instance is one where information has value


def test_progressive_hedging_on_one_bundle_of_every_scenario_is_exact():
    tiny = rareopt.load_example("tiny")
    s = scenarios()
    r = rareopt.solve(tiny, scenarios=s, engine="mpisppy", method="ph", ph={"bundle_size": len(s)})
    optimum = rareopt.solve(tiny, scenarios=s).objective
    assert r.solver["subproblems"] == 1 and r.solver["bundle_size"] == len(s)
    assert r.objective == pytest.approx(optimum, rel=1e-7)
    assert r.solver["outer_bound"] == pytest.approx(optimum, rel=1e-7)


def test_a_bundle_size_below_one_is_refused():
    tiny = rareopt.load_example("tiny")
    with pytest.raises(ValueError, match=r"bundle_size: got 0; allowed: an integer >= 1"):
        rareopt.solve(
            tiny, scenarios=scenarios(), engine="mpisppy", method="ph", ph={"bundle_size": 0}
        )


def test_command_line_passes_the_ph_settings(tmp_path):
    from typer.testing import CliRunner

    from rareopt.cli import EXIT_BAD_INPUT, app
    from rareopt.inputs.examples import example_path

    common = ["solve", example_path("tiny"), "--events", "china-japan-2010,pandemic-logistics-2020"]
    common += ["--start", "2", "--baseline", "0.6", "--engine", "mpisppy", "--ph"]
    done = CliRunner().invoke(
        app,
        [
            *common,
            "--ph-bundle-size",
            "3",
            "--ph-iterations",
            "5",
            "--json",
            str(tmp_path / "r.json"),
        ],
    )
    assert done.exit_code == 0, done.output
    solver = json.loads((tmp_path / "r.json").read_text())["solver"]
    assert solver["bundle_size"] == 3 and solver["subproblems"] == 1
    optimum = rareopt.solve(rareopt.load_example("tiny"), scenarios=scenarios()).objective
    assert solver["outer_bound"] == pytest.approx(optimum, rel=1e-7)
    refused = CliRunner().invoke(app, [*common, "--ph-bundle-size", "0"])
    assert refused.exit_code == EXIT_BAD_INPUT
    assert "bundle_size: got 0; allowed: an integer >= 1" in refused.output


@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (install the mpi extra's mpich)")
def test_fewer_bundles_than_hub_ranks_are_refused():
    script = textwrap.dedent(
        """
        import rareopt
        s = rareopt.event_scenarios(
            ["china-japan-2010", "pandemic-logistics-2020"], start=2, baseline=0.6)
        rareopt.solve(rareopt.load_example("tiny"), scenarios=s, engine="mpisppy", method="ph",
                      ph={"bundle_size": 3})
        """
    )
    done = mpirun(2, script)
    assert done.returncode != 0
    assert "1 subproblem(s) of 3 scenarios for 2 hub ranks" in done.stderr
    assert "allowed: at most 2" in done.stderr


def test_the_extensive_form_on_mpi_sppy_handles_routes_and_stage_disruptions():
    """Pyomo subproblems built from the same arrays: routes, facilities and a stage disruption."""
    from helpers import chain

    cut = rareopt.ScenarioSet(
        [
            {"name": "calm", "probability": 0.9},
            {
                "name": "cut",
                "probability": 0.1,
                "disruptions": [{"country": "CN", "stage": "separation", "start": 2}],
            },
        ],
        spot_share=1.0,
    )
    ours = rareopt.solve(chain(), scenarios=cut)
    theirs = rareopt.solve(chain(), scenarios=cut, engine="mpisppy", method="ef")
    assert theirs.objective == pytest.approx(ours.objective, rel=1e-7)


def test_goals_in_order_are_solved_and_evaluated_weighted_and_the_result_says_so():
    # mpi-sppy decomposes one objective: with goals in order (the default) the engine's plan,
    # cost and bounds are all of the weighted objective, never a mix.
    small = generate_size("small")
    s = disruptions(small, 3, seed=1)
    weighted = rareopt.solve(small.with_policy(priorities="weighted"), scenarios=s).objective
    in_order = rareopt.solve(small, scenarios=s).objective
    assert in_order > weighted * 1.01  # an instance where the two objectives differ
    r = rareopt.solve(small, scenarios=s, engine="mpisppy", method="ef")
    assert r.objective == pytest.approx(weighted, rel=1e-7)
    assert r.solver["goals_weighted_from_in_order"] is True
    assert "goals weighted: mpi-sppy decomposes one objective" in r.summary()
    already = rareopt.solve(
        small.with_policy(priorities="weighted"), scenarios=s, engine="mpisppy", method="ef"
    )
    assert already.solver["goals_weighted_from_in_order"] is False
    assert "goals weighted:" not in already.summary()


def test_ph_stopped_above_the_gap_asked_returns_a_limited_plan_that_says_so():
    tiny = rareopt.load_example("tiny")
    r = rareopt.solve(
        tiny,
        scenarios=scenarios(),
        engine="mpisppy",
        method="ph",
        ph={"bundle_size": 1, "max_iterations": 1, "rel_gap": 1e-9},
    )
    assert r.solver["bound_gap"] > 1e-9
    assert r.status == rareopt.SolveStatus.LIMIT_WITH_PLAN and r.ok
    assert "not certified optimal" in r.explanation
    assert r.solver_message.startswith("PH: 1 iteration, bounds ")
    assert "status: limit_with_plan (mpi-sppy: PH: 1 iteration, bounds " in r.summary()
    # rareopt's evaluation of the plan is feasible: the inner bound is never above its cost.
    assert r.solver["inner_bound"] <= r.objective + 1e-6


def test_a_portfolio_without_a_plan_is_explained_before_mpi_sppy_starts(tmp_path):
    from helpers import hard_target_portfolio
    from typer.testing import CliRunner

    from rareopt.cli import EXIT_NO_PLAN, app

    hard = hard_target_portfolio()
    s = rareopt.ScenarioSet(
        [{"name": "cut", "probability": 1.0, "disruptions": [{"country": "CN", "start": 2}]}]
    )
    for method in ("ef", "ph"):
        r = rareopt.solve(hard, scenarios=s, engine="mpisppy", method=method)
        assert r.status == rareopt.SolveStatus.INFEASIBLE
        assert "CN capped at 50%" in r.summary() and r.solver["engine"] == "mpisppy"
    path = tmp_path / "hard.yaml"
    hard.to_yaml(str(path))
    out = CliRunner().invoke(
        app,
        [
            "solve",
            str(path),
            "--generate",
            "5",
            "--probability",
            "CN=0.5",
            "--engine",
            "mpisppy",
            "--ph",
        ],
    )
    assert out.exit_code == EXIT_NO_PLAN, out.output
    assert "CN capped at 50%" in out.output and "Traceback" not in out.output


def test_ph_flags_without_the_engine_are_refused():
    from typer.testing import CliRunner

    from rareopt.cli import EXIT_BAD_INPUT, app
    from rareopt.inputs.examples import example_path

    tiny = str(example_path("tiny"))
    bare = CliRunner().invoke(app, ["solve", tiny, "--generate", "5", "--ph"])
    assert bare.exit_code == EXIT_BAD_INPUT and "--ph: only with --engine mpisppy" in bare.output
    loose = CliRunner().invoke(
        app, ["solve", tiny, "--generate", "5", "--engine", "mpisppy", "--ph-iterations", "3"]
    )
    assert loose.exit_code == EXIT_BAD_INPUT
    assert "--ph-iterations: only with --engine mpisppy --ph" in loose.output

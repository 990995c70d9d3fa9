"""The command line: output, files written, exit codes, no tracebacks."""

import json
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

import rareopt
from rareopt.cli import EXIT_BAD_INPUT, EXIT_NO_PLAN, app
from rareopt.inputs.examples import example_path

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_solve_prints_summary_and_writes_tables(tmp_path):
    out = tmp_path / "out"
    result = run(
        "solve", example_path("tiny"), "--out", str(out), "--json", str(tmp_path / "r.json")
    )
    assert result.exit_code == 0, result.output
    assert "status: optimal" in result.output and "independent check: passed" in result.output
    assert {"plan.csv", "stock.csv", "shares.csv", "hhi.csv", "duals.csv"} <= {
        p.name for p in out.iterdir()
    }
    assert (tmp_path / "r.json").read_text().startswith("{")


def test_solve_without_argument_uses_the_japan_portfolio():
    result = run("solve")
    assert result.exit_code == 0, result.output
    assert "rareopt plan: japan" in result.output


def test_invalid_file_exits_2_with_message_and_no_traceback(tmp_path):
    spec = yaml.safe_load(open(example_path("tiny")))
    spec["suppliers"][0]["kind"] = "volcano"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(spec))
    for command in ("solve", "validate"):
        result = run(command, str(bad))
        assert result.exit_code == EXIT_BAD_INPUT
        assert "kind" in result.output and "volcano" in result.output
        assert "Traceback" not in result.output


def test_missing_file_and_bad_option_exit_2():
    assert run("solve", "/no/such/file.yaml").exit_code == EXIT_BAD_INPUT
    result = run("solve", example_path("tiny"), "--lp-algorithm", "magic")
    assert result.exit_code == EXIT_BAD_INPUT and "lp_algorithm" in result.output


def test_infeasible_portfolio_exits_1(tmp_path):
    spec = yaml.safe_load(open(example_path("tiny")))
    spec["policy"]["hard_stock_targets"] = True
    for row in spec["stockpile"]:
        row["capacity_t"] = 0.0
        row["initial_t"] = 0.0
        row["target_days"] = 30
    path = tmp_path / "hard.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run("solve", str(path))
    assert result.exit_code == EXIT_NO_PLAN
    assert "infeasible" in result.output and "Traceback" not in result.output


def test_validate_ok_and_examples_listing_and_show():
    assert run("validate", example_path("japan")).exit_code == 0
    listing = run("examples")
    assert listing.exit_code == 0 and "japan" in listing.output and "tiny" in listing.output
    shown = run("examples", "show", "tiny")
    assert shown.exit_code == 0 and yaml.safe_load(shown.output)["name"] == "tiny"
    unknown = run("examples", "show", "mars")
    assert unknown.exit_code == EXIT_BAD_INPUT and "japan" in unknown.output


def test_python_dash_m_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "rareopt", "examples"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "tiny" in done.stdout


def test_frontier_command_prints_points_and_writes_csv(tmp_path):
    out = tmp_path / "curve"
    result = run(
        "frontier", example_path("tiny"), "--values", "0.7,0.6", "--out", str(out),
        "--json", str(tmp_path / "f.json"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "share:Nd" in result.output and (out / "frontier.csv").exists()
    assert (tmp_path / "f.json").read_text().lstrip().startswith("[")
    bad = run("frontier", example_path("tiny"), "--vary", "moon")
    assert bad.exit_code == EXIT_BAD_INPUT and "allowed" in bad.output
    number = run("frontier", example_path("tiny"), "--values", "0.5,abc")
    assert number.exit_code == EXIT_BAD_INPUT
    assert "--values: got 'abc' in '0.5,abc'; allowed: numbers separated by commas" in number.output


def test_frontier_command_sweeps_a_stage_cap():
    result = run("frontier", example_path("tiny"), "--values", "0.7,0.5", "--stage", "separation")
    assert result.exit_code == 0, result.output
    assert "separation share:Nd" in result.output and "50.0%" in result.output
    bad = run("frontier", example_path("tiny"), "--stage", "refining")
    assert bad.exit_code == EXIT_BAD_INPUT and "one of ['mining'" in bad.output


def test_plots_are_written(tmp_path):
    result = run("solve", example_path("tiny"), "--plots", str(tmp_path / "plots"))
    assert result.exit_code == 0, result.output
    assert {"imports_Nd.png", "stock_Dy.png", "hhi.png"} <= {
        p.name for p in (tmp_path / "plots").iterdir()
    }
    curve = tmp_path / "curve.svg"
    result = run("frontier", example_path("tiny"), "--values", "0.8,0.6", "--plot", str(curve))
    assert result.exit_code == 0 and curve.read_text().lstrip().startswith("<?xml")


def test_stress_replays_events_and_writes_tables(tmp_path):
    out = tmp_path / "stress"
    result = run(
        "stress",
        example_path("tiny"),
        "--events",
        "china-japan-2010",
        "--start",
        "P2",
        "--baseline",
        "0.9",
        "--out",
        str(out),
        "--plot",
        str(tmp_path / "costs.png"),
    )
    assert result.exit_code == 0, result.output
    assert "china-japan-2010" in result.output and "expected recourse" in result.output
    assert {"cost.csv", "elements.csv", "distribution.csv"} <= {p.name for p in out.iterdir()}
    assert (tmp_path / "costs.png").stat().st_size > 1000


def test_stress_with_generated_scenarios_and_bad_scenario_input():
    generated = run("stress", example_path("tiny"), "--generate", "50", "--probability", "CN=0.4")
    assert generated.exit_code == 0, generated.output
    unknown = run("stress", example_path("tiny"), "--events", "moon-landing")
    assert unknown.exit_code == EXIT_BAD_INPUT and "one or more of" in unknown.output
    none = run("stress", example_path("tiny"))
    assert none.exit_code == EXIT_BAD_INPUT and "--events" in none.output
    both = run("stress", example_path("tiny"), "--events", "china-japan-2010", "--generate", "5")
    assert both.exit_code == EXIT_BAD_INPUT


def test_two_stage_solve_with_cvar_from_the_command_line():
    result = run(
        "solve",
        example_path("tiny"),
        "--events",
        "china-japan-2010",
        "--baseline",
        "0.8",
        "--cvar",
        "0.9",
        "--cvar-weight",
        "0.5",
    )
    assert result.exit_code == 0, result.output
    assert "risk_measure" in result.output and "CVaR 90%" in result.output


def test_validate_prints_each_warning_once_marked(tmp_path):
    spec = yaml.safe_load(open(example_path("tiny")))
    spec["policy"]["country_caps"] = {"CN": 0.6, "RU": 0.5}
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run("validate", str(path))
    assert result.exit_code == 0
    assert (
        "warning: policy country caps" in result.output and "warning: warning" not in result.output
    )


@pytest.mark.parametrize(
    "args, words",
    [
        (["solve", "{tmp}"], "a folder, not a file"),
        (["solve", "--json", "{tmp}/nope/x.json"], "no such folder"),
        (["solve", "--out", "{tmp}/afile"], "a file, not a folder"),
        (["solve", "--scenarios", "{tmp}"], "a folder, not a file"),
        (["frontier", "--out", "{tmp}/afile"], "a file, not a folder"),
        (["frontier", "--json", "{tmp}"], "a folder, not a file"),
        (["stress", "--events", "china-japan-2010", "--out", "{tmp}/afile"], "a file, not a"),
    ],
)
def test_unusable_paths_exit_2_before_solving_with_one_line(tmp_path, args, words):
    (tmp_path / "afile").write_text("x")
    result = run(*[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert words in result.output and "Traceback" not in result.output
    assert "objective" not in result.output  # refused before any solve


def test_json_of_a_failed_solve_is_strict_json(tmp_path):
    import json

    p = rareopt.load_example("tiny").with_policy(
        hard_demand=True, country_caps={"CN": 0.0, "AU": 0.0, "JP": 0.0}
    )
    text = rareopt.solve(p).to_json()
    assert "Infinity" not in text and "NaN" not in text
    assert json.loads(text)["objective_usd"] is None


def test_version_is_the_installed_packages():
    from importlib import metadata

    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"rareopt {metadata.version('rareopt')}"
    assert metadata.version("rareopt") == rareopt.__version__


def test_simulate_re_plans_a_scenario_file_and_writes_its_tables(tmp_path):
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text(
        yaml.safe_dump(
            {
                "scenarios": [
                    {"name": "calm", "probability": 0.8},
                    {
                        "name": "spike",
                        "probability": 0.2,
                        "disruptions": [{"country": "CN", "start": 2}],
                        "prices": [{"country": "*", "start": 2, "factor": [3.0, 2.0]}],
                    },
                ]
            }
        )
    )
    out = tmp_path / "sim"
    result = run("simulate", example_path("tiny"), "--scenarios", str(scenarios), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "rolling re-planning" in result.output and "two-stage plan's forecast" in result.output
    assert {"cost.csv", "orders.csv"} == {p.name for p in out.iterdir()}
    none = run("simulate", example_path("tiny"))
    assert none.exit_code == EXIT_BAD_INPUT and "--events" in none.output


def test_validate_checks_a_scenario_file_against_the_portfolio(tmp_path):
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text(
        "scenarios:\n"
        "  - {name: calm, probability: 0.5}\n"
        "  - {name: x, probability: 0.5, prices: [{country: '*', elements: [Tb], factor: 2}]}\n"
    )
    result = run("validate", example_path("tiny"), "--scenarios", str(scenarios))
    assert result.exit_code == 0, result.output
    assert (
        "price shock 0, field elements: got 'Tb'" in result.output
        and "(no effect)" in result.output
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenarios: [{name: x, probability: 1, prices: [{supplier: Nobody}]}]\n")
    failed = run("validate", example_path("tiny"), "--scenarios", str(bad))
    assert failed.exit_code == EXIT_BAD_INPUT
    assert f"{bad}: " in failed.output and "field supplier: got 'Nobody'" in failed.output


def test_an_output_folder_under_a_file_is_refused_before_solving(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    for command in ("solve", "stress", "simulate"):
        args = [command, example_path("tiny"), "--out", str(blocker / "sub")]
        if command != "solve":
            args += ["--events", "china-japan-2010"]
        result = run(*args)
        assert result.exit_code == EXIT_BAD_INPUT, (command, result.output)
        assert "cannot be created" in result.output and "status" not in result.output


def _terminal_output(code: str) -> str:
    """What ``python -c code`` writes to a terminal (a pseudo-terminal), stdout and stderr."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    # A terminal of 100 columns: a fresh pseudo-terminal has none, and a bar 0 wide is empty.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdin=follower, stdout=follower, stderr=follower
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=300)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_a_500_scenario_stress_test_shows_a_progress_bar_on_a_terminal_and_none_when_piped():
    code = (
        "import rareopt; p = rareopt.load_example('tiny'); "
        "s = rareopt.generate_scenarios(p, 500, {'CN': 0.9}, price_volatility=0.2, seed=1); "
        "assert len(s) == 500; rareopt.stress_test(rareopt.solve(p), s)"
    )
    on_terminal = _terminal_output(code)
    assert "stress test: solving" in on_terminal and "stage" in on_terminal
    piped = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "stress test" not in piped.stderr + piped.stdout
    quiet = _terminal_output(
        code.replace("rareopt.solve(p), s)", "rareopt.solve(p), s, progress=False)")
    )
    assert "stress test" not in quiet


def test_an_unknown_size_lists_the_sizes():
    result = run("bench", "huge")
    assert result.exit_code == EXIT_BAD_INPUT
    assert "allowed sizes: ['small', 'medium', 'large']" in result.output


def test_solve_prints_the_plans_optimality_gap_with_its_confidence(tmp_path):
    out = tmp_path / "plan.json"
    result = run(
        "solve", example_path("tiny"), "--generate", "40", "--probability", "CN=0.5",
        "--replications", "4", "--confidence", "0.9", "--json", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "optimality gap <= " in result.output
        and "% of the plan's expected cost with 90% confidence" in result.output
    )
    # The JSON file carries the plan and the same statement, with its figures.
    written = json.loads(out.read_text())
    gap = written["optimality_gap"]
    assert gap["statement"] in result.output and gap["confidence"] == 0.9
    assert len(gap["replications"]) == 4 and gap["metrics"]["scenarios"] == 40
    assert f"{gap['metrics']['gap_upper_pct']:.2f}%" in gap["statement"]
    assert written["status"] == "optimal" and written["tables"]["plan"]
    alone = run("solve", example_path("tiny"), "--replications", "4")
    assert alone.exit_code == EXIT_BAD_INPUT and "only with --generate" in alone.output
    assert "objective" not in alone.output


def test_solve_grows_the_sample_until_the_gap_is_below_the_tolerance():
    result = run(
        "solve", example_path("tiny"), "--generate", "10", "--probability", "CN=0.5",
        "--replications", "3", "--gap-tolerance", "0.000001", "--max-generate", "20",
        "--evaluation", "50",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Hedged again on 20 sampled scenarios:" in result.output
    assert "The gap's bound per sample size:" in result.output
    assert "NOT below the tolerance" in result.output
    assert "3 replications of 20 scenarios" in result.output
    assert "samples of 10, 20 scenarios tried" in result.output
    assert "from 50 more scenarios" in result.output
    lone = run("solve", example_path("tiny"), "--generate", "10", "--gap-tolerance", "1")
    assert lone.exit_code == EXIT_BAD_INPUT
    assert "--gap-tolerance: only with --generate N --replications M" in lone.output
    risky = run(
        "solve", example_path("tiny"), "--generate", "10", "--replications", "3",
        "--gap-tolerance", "1", "--cvar", "0.9",
    )  # fmt: skip
    assert risky.exit_code == EXIT_BAD_INPUT and "leave out --cvar" in risky.output
    # Checked before solving, in the command's own terms.
    for flags, message in [
        (
            ["--max-generate", "5", "--gap-tolerance", "1"],
            "--max-generate: got 5; allowed: at least --generate (10)",
        ),
        (["--max-generate", "40"], "--max-generate: only with --gap-tolerance"),
        (["--workers", "2"], "--workers: only with --evaluation N"),
    ]:
        bad = run("solve", example_path("tiny"), "--generate", "10", "--replications", "3", *flags)
        assert bad.exit_code == EXIT_BAD_INPUT and message in bad.output, bad.output
        assert "objective" not in bad.output

"""The ``rareopt`` command line: solve, stress-test, validate and browse the built-in portfolios.

Exit codes: 0 a plan was found (or the file is valid); 1 the solve produced no plan (infeasible,
unbounded, a limit without a plan, a solver error); 2 bad input (unreadable or invalid portfolio,
bad option). Errors are printed as messages, never as tracebacks.
"""

from __future__ import annotations

import json
import signal
import warnings
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
import yaml

from rareopt.exceptions import PlanCheckError, RareoptError, SolveError
from rareopt.files import strict_json, write_csv_tables, written_whole
from rareopt.inputs.examples import example_path, list_examples, load_example
from rareopt.inputs.portfolio import Portfolio
from rareopt.status import SolveStatus

__all__ = ["app", "main"]

app = typer.Typer(
    help="rareopt: where to buy critical raw materials (Pyomo LP solved by HiGHS).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
examples_app = typer.Typer(help="List the built-in portfolios, or show one as YAML.")
app.add_typer(examples_app, name="examples")


def _show_version(asked: bool) -> None:
    if asked:
        typer.echo(f"rareopt {metadata.version('rareopt')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """rareopt: where to buy critical raw materials (Pyomo LP solved by HiGHS)."""


EXIT_NO_PLAN = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C (128 + SIGINT, as shells report it)."""


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _plotting():
    """The plotting module on a file-only backend, or exit 2 if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from rareopt.report import plots as plotting
    except ImportError:
        raise _fail("plots need matplotlib: pip install 'rareopt[plot]'", EXIT_BAD_INPUT) from None
    return plotting


Events = Annotated[
    str | None,
    typer.Option(help="Built-in real events, comma-separated (see 'rareopt events')."),
]
Start = Annotated[str, typer.Option(help="Period the events start in (number or label).")]
Baseline = Annotated[float, typer.Option(help="Probability of no disruption beside the events.")]
Generate = Annotated[
    int | None, typer.Option(help="Sample this many scenarios from --probability.")
]
Probability = Annotated[
    str, typer.Option(help="Annual disruption probability per country, e.g. CN=0.1,MM=0.2.")
]
Duration = Annotated[int, typer.Option(help="Periods a generated disruption lasts.")]
Seed = Annotated[int, typer.Option(help="Random seed of --generate.")]
ScenarioFile = Annotated[Path | None, typer.Option("--scenarios", help="Scenario set YAML file.")]
Persistence = Annotated[
    float | None,
    typer.Option(help="--generate: each period continues a disruption with this probability."),
]
Recovery = Annotated[
    int, typer.Option(help="--generate: periods over which deliveries climb back after one.")
]
Volatility = Annotated[
    float | None, typer.Option(help="--generate: annual volatility of lognormal price paths.")
]
Jump = Annotated[
    float | None, typer.Option(help="--generate: factor on every price while a disruption lasts.")
]


def _scenarios(
    portfolio, events, start, baseline, generate, probability, duration, seed, path, **drawn
):
    """The scenario set the options describe (None if none); bad input exits 2.

    ``drawn`` are the generator's opt-in features (persistence, recovery_periods,
    price_volatility, price_jump). The set's warnings against the portfolio (a country or
    element it does not have: no effect) are printed as lines.
    """
    chosen = _scenario_set(
        portfolio, events, start, baseline, generate, probability, duration, seed, path, drawn
    )
    if chosen is not None:
        try:
            for issue in chosen.check(portfolio):
                typer.echo(str(issue))
        except RareoptError as exc:
            where = f"{path}: " if path is not None else ""
            raise _fail(f"{where}{exc}", EXIT_BAD_INPUT) from None
    return chosen


SCENARIO_OPTIONS = (
    "events",
    "start",
    "baseline",
    "generate",
    "probability",
    "duration",
    "seed",
    "scenarios",
)
"""The scenario options the solve, stress and simulate commands share (and the generator's)."""
DRAWN_OPTIONS = ("persistence", "recovery_periods", "price_volatility", "price_jump")


def _scenario_options(portfolio, given: dict, required: bool = False):
    """The scenario set of a command's options (``given``: its arguments by name)."""
    chosen = _scenarios(
        portfolio,
        *(given[name] for name in SCENARIO_OPTIONS),
        **{name: given[name] for name in DRAWN_OPTIONS},
    )
    if chosen is None and required:
        raise _fail("give scenarios: --events, --generate N or --scenarios FILE", EXIT_BAD_INPUT)
    return chosen


def _scenario_set(
    portfolio, events, start, baseline, generate, probability, duration, seed, path, drawn
):
    """The scenario set the options describe, unchecked against the portfolio."""
    given = [name for name, value in drawn.items() if value not in (None, 0)]
    if given and generate is None:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        raise _fail(f"{options}: only with --generate", EXIT_BAD_INPUT)
    from rareopt.inputs.scenarios import ScenarioSet, event_scenarios, generate_scenarios

    chosen = [events is not None, generate is not None, path is not None]
    if sum(chosen) > 1:
        raise _fail("give one of --events, --generate and --scenarios", EXIT_BAD_INPUT)
    try:
        if events is not None:
            first = int(start) if start.isdigit() else start
            names = [e.strip() for e in events.split(",") if e.strip()]
            return event_scenarios(names, start=first, baseline=baseline)
        if generate is not None:
            generated = generate_scenarios(
                portfolio, generate, _annual(probability), duration=duration, seed=seed, **drawn
            )
            # Identical samples are merged: say so, or 200 samples read as 19 scenarios.
            typer.echo(f"scenarios: {generated.name}")
            return generated
        if path is not None:
            return ScenarioSet.from_yaml(str(path))
    except OSError as exc:
        raise _fail(_file_problem(exc), EXIT_BAD_INPUT) from None
    except (RareoptError, ValueError, TypeError, yaml.YAMLError) as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT) from None
    return None


def _gap(problem, result, generate, probability, duration, replications, confidence, given):
    """Print the plan's optimality gap with its confidence (``--replications``).

    With ``--gap-tolerance`` the plan is hedged again on samples twice as large until the gap's
    bound is below it (up to ``--max-generate``); the last plan is printed when it changed.
    """
    from rareopt.analysis.gap import optimality_gap
    from rareopt.inputs.scenarios import generate_scenarios

    drawn = {name: given[name] for name in DRAWN_OPTIONS}

    def draw(n: int, seed: int):
        return generate_scenarios(
            problem, n, _annual(probability), duration=duration, seed=seed, **drawn
        )

    tolerance = given["gap_tolerance"]
    try:
        seed = given["seed"]
        estimate = optimality_gap(
            result,
            draw,
            generate,
            replications,
            confidence,
            # The replications' samples apart from the plan's own (seed --seed).
            first_seed=1000 if seed < 1000 else seed + 1,
            candidate_seed=seed,
            evaluation=given["evaluation"],
            tolerance_pct=tolerance,
            max_n=given["max_generate"],
            workers=given["workers"],
        )
    except RareoptError as exc:
        raise _fail(str(exc), EXIT_NO_PLAN) from None
    except (ValueError, TypeError) as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT) from None
    grown = int(estimate.metrics["scenarios"])
    if estimate.steps is not None:
        if grown != generate and estimate.plan is not None:
            typer.echo(
                f"\nHedged again on {grown:,} sampled scenarios:\n" + estimate.plan.summary()
            )
        steps = estimate.steps.rename(columns={"gap_upper_pct": "gap_bound_%"})
        typer.echo("\nThe gap's bound per sample size:\n" + steps.round(3).to_string())
    # The plan's objective printed above is in sample: its cost on the scenarios it was hedged on.
    typer.echo(
        f"\nOut of sample (the objective above is the plan's cost on the {grown:,} scenarios it "
        "was hedged on):\n" + estimate.summary()
    )
    return estimate


def _annual(probability: str) -> dict[str, float]:
    """--probability's annual disruption probabilities per country (ValueError if malformed)."""
    pairs = [item.split("=") for item in probability.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"--probability: got {probability!r}; allowed: CN=0.1,AU=0.05")
    return {c.strip(): float(v) for c, v in pairs}


def _numbers(option: str, text: str) -> list[float]:
    """Comma-separated numbers; a bad one exits 2, naming the option and the item."""
    points = []
    for item in (v.strip() for v in text.split(",")):
        if not item:
            continue
        try:
            points.append(float(item))
        except ValueError:
            raise _fail(
                f"{option}: got {item!r} in {text!r}; allowed: numbers separated by commas",
                EXIT_BAD_INPUT,
            ) from None
    if not points:
        raise _fail(f"{option}: got {text!r}; allowed: one or more numbers", EXIT_BAD_INPUT)
    return points


def _file_problem(exc: OSError) -> str:
    """A file-system error in one line: what is wrong with which path."""
    what = {
        FileNotFoundError: "no such file",
        IsADirectoryError: "a folder, not a file",
        NotADirectoryError: "not a folder",
        PermissionError: "not permitted",
        FileExistsError: "already exists",
    }.get(type(exc), exc.strerror or "cannot be used")
    return f"{exc.filename}: {what}"


def _check_outputs(
    files: tuple[Path | None, ...] = (), folders: tuple[Path | None, ...] = ()
) -> None:
    """Refuse unusable output paths before any solving (exit 2).

    A file's folder must exist and the file must not be a folder; a folder must not be a file,
    and is created here if missing (so that a path under a file, or where nothing may be
    written, fails now rather than after the solve).
    """
    for path in files:
        if path is None:
            continue
        if path.is_dir():
            raise _fail(f"{path}: a folder, not a file", EXIT_BAD_INPUT)
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise _fail(f"{path}: no such folder {parent}", EXIT_BAD_INPUT)
    for path in folders:
        if path is None:
            continue
        if path.exists() and not path.is_dir():
            raise _fail(f"{path}: a file, not a folder", EXIT_BAD_INPUT)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _fail(f"{path}: cannot be created ({exc.strerror})", EXIT_BAD_INPUT) from None


def _load(path: Path | None, echo_warnings: bool = True) -> Portfolio:
    """The portfolio at ``path`` (the built-in Japan portfolio when None); bad input exits 2.

    A ``.xlsx`` file is read as a workbook (:meth:`Portfolio.from_excel`), any other as YAML.
    Its validation warnings are printed as lines of their own (not Python's warning format).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if path is None:
                loaded = load_example("japan")
            elif path.suffix.lower() in (".xlsx", ".xlsm"):
                loaded = Portfolio.from_excel(str(path))
            else:
                loaded = Portfolio.from_yaml(str(path))
        if echo_warnings:
            for warning in loaded.warnings:
                typer.echo(str(warning), err=True)
        return loaded
    except OSError as exc:
        raise _fail(_file_problem(exc), EXIT_BAD_INPUT) from None
    except yaml.YAMLError as exc:
        raise _fail(f"{path} is not valid YAML: {exc}", EXIT_BAD_INPUT) from None
    except (RareoptError, ValueError, TypeError, UnicodeDecodeError, ImportError) as exc:
        raise _fail(f"{path or 'japan'}: {exc}", EXIT_BAD_INPUT) from None
    except zipfile.BadZipFile:
        raise _fail(f"{path}: not an Excel workbook (.xlsx)", EXIT_BAD_INPUT) from None


def _ph_settings(bundle_size: int | None, iterations: int | None, gap: float | None) -> dict:
    """The PH settings given on the command line (the others keep their defaults)."""
    given = {"bundle_size": bundle_size, "max_iterations": iterations, "rel_gap": gap}
    return {name: value for name, value in given.items() if value is not None}


@app.command()
def solve(
    portfolio: Annotated[
        Path | None,
        typer.Argument(help="Portfolio file (YAML or .xlsx); default: the built-in 'japan'."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the result tables (CSV) here.")] = None,
    json_file: Annotated[
        Path | None,
        typer.Option(
            "--json",
            help="Write the result as JSON to this file (with --replications, its optimality gap too).",
        ),
    ] = None,
    time_limit: Annotated[float | None, typer.Option(help="HiGHS time limit, seconds.")] = None,
    lp_algorithm: Annotated[str, typer.Option(help="choose, simplex, ipm or pdlp.")] = "choose",
    threads: Annotated[int | None, typer.Option(help="HiGHS threads.")] = None,
    presolve: Annotated[bool, typer.Option(help="Run HiGHS's presolve.")] = True,
    log: Annotated[bool, typer.Option(help="Show HiGHS's log.")] = False,
    plots: Annotated[
        Path | None, typer.Option(help="Save plots (PNG) here; needs the plot extra.")
    ] = None,
    events: Events = None,
    start: Start = "1",
    baseline: Baseline = 0.0,
    generate: Generate = None,
    probability: Probability = "CN=0.1",
    duration: Duration = 3,
    seed: Seed = 0,
    scenarios: ScenarioFile = None,
    persistence: Persistence = None,
    recovery_periods: Recovery = 0,
    price_volatility: Volatility = None,
    price_jump: Jump = None,
    cvar: Annotated[
        float | None, typer.Option(help="Add weight x CVaR at this level (e.g. 0.95).")
    ] = None,
    cvar_weight: Annotated[float, typer.Option(help="Weight of the CVaR term.")] = 1.0,
    replications: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="With --generate N: bound the plan's optimality gap on this many independent "
            "samples of N (Mak, Morton and Wood).",
        ),
    ] = None,
    confidence: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="Confidence of the gap's bound.")
    ] = 0.95,
    evaluation: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="With --replications: evaluate the plan on this many more independent "
            "scenarios, for an upper bound on its cost.",
        ),
    ] = None,
    gap_tolerance: Annotated[
        float | None,
        typer.Option(
            min=1e-9,
            help="With --replications: hedge the plan again on samples twice as large until "
            "the gap's bound is below this many percent.",
        ),
    ] = None,
    max_generate: Annotated[
        int | None,
        typer.Option(min=2, help="With --gap-tolerance: the largest sample (default 8 N)."),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="With --evaluation: processes evaluating the plan.")
    ] = 1,
    engine: Annotated[
        str, typer.Option(help="highs, or mpisppy for the scenarios (the mpi extra).")
    ] = "highs",
    ph: Annotated[
        bool, typer.Option("--ph", help="With mpisppy: progressive hedging (under mpiexec).")
    ] = False,
    ph_bundle_size: Annotated[
        int | None,
        typer.Option(help="PH: scenarios per subproblem (default: about 10 subproblems a rank)."),
    ] = None,
    ph_iterations: Annotated[int | None, typer.Option(help="PH: iteration limit.")] = None,
    ph_gap: Annotated[
        float | None, typer.Option(help="PH: relative gap between the bounds to stop at.")
    ] = None,
) -> None:
    """Solve a portfolio and print the plan's summary (two-stage with scenario options)."""
    from rareopt.model.risk import CVaR
    from rareopt.results.solve import solve as run_solve

    _check_outputs(files=(json_file,), folders=(out, plots))
    if replications is not None and generate is None:
        raise _fail("--replications: only with --generate N", EXIT_BAD_INPUT)
    later = {"--evaluation": evaluation, "--gap-tolerance": gap_tolerance}
    for flag, value in later.items():
        if value is not None and replications is None:
            raise _fail(f"{flag}: only with --generate N --replications M", EXIT_BAD_INPUT)
    if max_generate is not None and gap_tolerance is None:
        raise _fail("--max-generate: only with --gap-tolerance", EXIT_BAD_INPUT)
    if workers != 1 and evaluation is None:
        raise _fail("--workers: only with --evaluation N", EXIT_BAD_INPUT)
    if max_generate is not None and generate is not None and max_generate < generate:
        raise _fail(
            f"--max-generate: got {max_generate}; allowed: at least --generate ({generate})",
            EXIT_BAD_INPUT,
        )
    if ph and engine != "mpisppy":
        raise _fail("--ph: only with --engine mpisppy", EXIT_BAD_INPUT)
    ph_flags = {"--ph-bundle-size": ph_bundle_size, "--ph-iterations": ph_iterations}
    for flag, value in {**ph_flags, "--ph-gap": ph_gap}.items():
        if value is not None and not ph:
            raise _fail(f"{flag}: only with --engine mpisppy --ph", EXIT_BAD_INPUT)
    if replications is not None and (cvar is not None or engine != "highs"):
        raise _fail(
            "--replications: bounds the gap of the expected cost, solved with HiGHS; leave out "
            "--cvar and --engine",
            EXIT_BAD_INPUT,
        )
    problem = _load(portfolio)
    chosen = _scenario_options(problem, locals())
    try:
        risk = None if cvar is None else CVaR(alpha=cvar, weight=cvar_weight)
        result = run_solve(
            problem,
            scenarios=chosen,
            risk=risk if chosen is not None else None,
            engine=engine,
            method="ph" if ph else "ef",
            ph=_ph_settings(ph_bundle_size, ph_iterations, ph_gap) if engine == "mpisppy" else None,
            time_limit=time_limit,
            lp_algorithm=lp_algorithm,
            threads=threads,
            presolve=presolve,
            log=log,
        )
    except (ValueError, TypeError, ImportError) as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT) from None
    except (PlanCheckError, SolveError) as exc:
        raise _fail(str(exc), EXIT_NO_PLAN) from None
    if result is None:  # an MPI rank other than 0 in progressive hedging
        return
    typer.echo(result.summary())
    if not result.ok:
        if json_file is not None:
            result.to_json(str(json_file))
        interrupted = result.status == SolveStatus.INTERRUPTED
        raise typer.Exit(EXIT_INTERRUPTED if interrupted else EXIT_NO_PLAN)
    estimate = None
    if replications is not None:
        estimate = _gap(
            problem, result, generate, probability, duration, replications, confidence, locals()
        )
    # The plan printed last: sequential mode may have hedged it again on a larger sample.
    final = result if estimate is None or estimate.plan is None else estimate.plan
    if json_file is not None and estimate is None:
        final.to_json(str(json_file))
    elif json_file is not None:
        payload = {**json.loads(final.to_json()), "optimality_gap": estimate.to_dict()}
        with written_whole(json_file) as part:
            Path(part).write_text(strict_json(payload), encoding="utf-8")
    if out is not None:
        paths = final.to_csv(str(out))
        typer.echo(f"\nwrote {len(paths)} tables to {out}")
    if plots is not None:
        paths = _plotting().save_result_plots(final, str(plots))
        typer.echo(f"wrote {len(paths)} plots to {plots}")


@app.command()
def frontier(
    portfolio: Annotated[
        Path | None,
        typer.Argument(help="Portfolio file (YAML or .xlsx); default: the built-in 'japan'."),
    ] = None,
    vary: Annotated[
        str, typer.Option(help="country_cap, risk_weight, target_days, price or cvar_alpha.")
    ] = "country_cap",
    values: Annotated[
        str,
        typer.Option(
            help="Comma-separated points. With --vary country_cap: the country's largest share, "
            "0 to 1 (0.5 = 50%); risk_weight: USD/t per unit of risk score; target_days: days "
            "of consumption in stock; price: a multiplier of the country's prices (1.2 = +20%); "
            "cvar_alpha: the CVaR level, 0 to 1 (with scenarios)."
        ),
    ] = "0.7,0.6,0.5,0.4",
    country: Annotated[str | None, typer.Option(help="Country for country_cap / price.")] = "CN",
    element: Annotated[str | None, typer.Option(help="Only this element (default: all).")] = None,
    stage: Annotated[
        str | None,
        typer.Option(
            help="With country_cap: the country's cap at this stage (mining, separation, "
            "metal, magnet, any) instead of its share of purchases."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the frontier table (frontier.csv) in this folder.")
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the frontier table as JSON to this file.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Save the cost curve (PNG/SVG); needs the plot extra.")
    ] = None,
) -> None:
    """Solve the portfolio for each value of one policy parameter (one model, warm starts)."""
    from rareopt.analysis.frontier import frontier as run_frontier

    _check_outputs(files=(json_file, plot), folders=(out,))
    points = _numbers("--values", values)
    problem = _load(portfolio)
    try:
        table = run_frontier(problem, vary, points, country=country, element=element, stage=stage)
    except (ValueError, TypeError) as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT) from None
    except PlanCheckError as exc:
        raise _fail(str(exc), EXIT_NO_PLAN) from None
    # Money paid apart from priced outcomes, beside what the plan gives up (unmet, below target).
    money = [c for c in ("objective_usd", "spend_usd", "penalty_usd", "recourse_usd") if c in table]
    service = [c for c in ("unmet_t", "shortfall_t") if c in table]
    # The swept share: the country's of purchases, or of the tonnes at the stage.
    prefix = "share:" if stage is None else f"{stage} share:"
    shares = [c for c in table if c.startswith(prefix)]
    formats = {c: "{:,.0f}".format for c in money}
    formats.update({c: "{:,.1f}".format for c in service})
    formats.update({c: "{:.1%}".format for c in shares})
    with pd.option_context("display.width", 200):
        typer.echo(table[["status", *money, *service, *shares]].to_string(formatters=formats))
    if out is not None:
        with written_whole(out / "frontier.csv") as path:
            table.to_csv(path)
        typer.echo(f"\nwrote {out / 'frontier.csv'}")
    if json_file is not None:
        with written_whole(json_file) as path:
            table.reset_index().to_json(path, orient="records", indent=2)
        typer.echo(f"wrote {json_file}")
    if plot is not None:
        _plotting().plot_frontier(table, filename=str(plot))
        typer.echo(f"wrote {plot}")
    if not table["status"].eq("optimal").all():
        raise typer.Exit(EXIT_NO_PLAN)


@app.command()
def stress(
    portfolio: Annotated[
        Path | None,
        typer.Argument(help="Portfolio file (YAML or .xlsx); default: the built-in 'japan'."),
    ] = None,
    events: Events = None,
    start: Start = "1",
    baseline: Baseline = 0.0,
    generate: Generate = None,
    probability: Probability = "CN=0.1",
    duration: Duration = 3,
    seed: Seed = 0,
    scenarios: ScenarioFile = None,
    persistence: Persistence = None,
    recovery_periods: Recovery = 0,
    price_volatility: Volatility = None,
    price_jump: Jump = None,
    out: Annotated[Path | None, typer.Option(help="Write the outcome tables (CSV) here.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Save the cost distribution (PNG/SVG); plot extra.")
    ] = None,
    below_days: Annotated[
        float,
        typer.Option(
            min=0.0, help="Report the probability of falling below this many days of cover."
        ),
    ] = 30.0,
) -> None:
    """Stress-test the portfolio's plan: contracts fixed, recourse per scenario."""
    from rareopt.analysis.stress import stress_test
    from rareopt.results.solve import solve as run_solve

    _check_outputs(files=(plot,), folders=(out,))
    problem = _load(portfolio)
    chosen = _scenario_options(problem, locals(), required=True)
    try:
        plan = run_solve(problem)
        if not plan.ok:
            typer.echo(plan.summary())
            raise typer.Exit(EXIT_NO_PLAN)
        outcome = stress_test(plan, chosen)
    except RareoptError as exc:
        code = EXIT_BAD_INPUT if isinstance(exc, ValueError) else EXIT_NO_PLAN
        raise _fail(str(exc), code) from None
    typer.echo(f"stress test of the plan for {problem.name}: {chosen.name}")
    typer.echo(outcome.summary(below_days=below_days))
    if out is not None:
        written = write_csv_tables(out, outcome.tables())
        typer.echo(f"\nwrote {len(written)} tables to {out}")
    if plot is not None:
        _plotting().plot_scenario_costs(outcome, filename=str(plot))
        typer.echo(f"wrote {plot}")


@app.command()
def simulate(
    portfolio: Annotated[
        Path | None,
        typer.Argument(help="Portfolio file (YAML or .xlsx); default: the built-in 'japan'."),
    ] = None,
    events: Events = None,
    start: Start = "1",
    baseline: Baseline = 0.0,
    generate: Generate = None,
    probability: Probability = "CN=0.1",
    duration: Duration = 3,
    seed: Seed = 0,
    scenarios: ScenarioFile = None,
    persistence: Persistence = None,
    recovery_periods: Recovery = 0,
    price_volatility: Volatility = None,
    price_jump: Jump = None,
    compare: Annotated[
        bool, typer.Option(help="Also solve the two-stage model, for its forecast.")
    ] = True,
    out: Annotated[
        Path | None, typer.Option(help="Write the cost and orders tables (CSV) here.")
    ] = None,
) -> None:
    """Re-plan each period with what has been seen, in every scenario; cost what it realises."""
    from rareopt.analysis.simulate import simulate as run_simulation

    _check_outputs(folders=(out,))
    problem = _load(portfolio)
    chosen = _scenario_options(problem, locals(), required=True)
    try:
        result = run_simulation(problem, chosen, compare=compare)
    except RareoptError as exc:
        code = EXIT_BAD_INPUT if isinstance(exc, ValueError) else EXIT_NO_PLAN
        raise _fail(str(exc), code) from None
    typer.echo(f"rolling re-planning of {problem.name}: {chosen.name}")
    typer.echo(result.summary())
    if out is not None:
        written = write_csv_tables(out, {"cost": result.cost, "orders": result.orders})
        typer.echo(f"\nwrote {len(written)} tables to {out}")


@app.command()
def bench(
    portfolio: Annotated[
        str, typer.Argument(help="Portfolio YAML file, or a size: small, medium, large.")
    ] = "small",
    repeats: Annotated[int, typer.Option(help="Solves per setting (median reported).")] = 3,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the table as JSON here.")
    ] = None,
) -> None:
    """Compare HiGHS settings (LP algorithm, presolve, threads; MIP gaps) on a portfolio."""
    from rareopt.analysis.bench import settings_benchmark
    from rareopt.inputs.synthetic import SIZES, generate_size

    _check_outputs(files=(json_file,))
    if portfolio not in SIZES and not Path(portfolio).is_file():
        raise _fail(
            f"{portfolio!r}: neither a size nor a portfolio file; allowed sizes: {list(SIZES)}",
            EXIT_BAD_INPUT,
        )
    problem = generate_size(portfolio) if portfolio in SIZES else _load(Path(portfolio))
    try:
        table = settings_benchmark(problem, repeats=repeats)
    except (ValueError, TypeError) as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT) from None
    with pd.option_context("display.width", 140, "display.float_format", "{:,.4g}".format):
        typer.echo(table.sort_values("median_s").to_string(index=False))
    if json_file is not None:
        json_file.write_text(table.to_json(orient="records", indent=2))
        typer.echo(f"\nwrote {json_file}")


@app.command()
def events() -> None:
    """List the built-in real disruption events."""
    from rareopt.inputs.scenarios import list_events

    for name, what in list_events().items():
        typer.echo(f"{name:<30} {what}")


@app.command()
def validate(
    portfolio: Annotated[Path, typer.Argument(help="Portfolio YAML file.")],
    scenarios: Annotated[
        Path | None,
        typer.Option("--scenarios", help="Also check a scenario set file against the portfolio."),
    ] = None,
) -> None:
    """Check a portfolio file (and a scenario file against it); report every problem found."""
    loaded = _load(portfolio, echo_warnings=False)
    for warning in loaded.warnings:
        typer.echo(str(warning))
    typer.echo(f"ok: {loaded!r}")
    if scenarios is not None:
        chosen = _scenarios(loaded, None, "1", 0.0, None, "", 3, 0, scenarios)
        typer.echo(f"ok: {chosen!r}")


@examples_app.callback(invoke_without_command=True)
def examples(ctx: typer.Context) -> None:
    """List the built-in portfolios."""
    if ctx.invoked_subcommand is None:
        for name, description in list_examples().items():
            typer.echo(f"{name:<10} {description}")


@examples_app.command("show")
def examples_show(
    name: Annotated[str, typer.Argument(help="Example name.")],
    excel: Annotated[
        Path | None,
        typer.Option(help="Write it as an Excel workbook (a template to edit) instead."),
    ] = None,
) -> None:
    """Print a built-in portfolio as YAML, to copy and edit (or write it as a workbook)."""
    _check_outputs(files=(excel,))
    try:
        path = example_path(name)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT) from None
    if excel is None:
        typer.echo(Path(path).read_text(encoding="utf-8"), nl=False)
        return
    try:
        load_example(name).to_excel(str(excel))
    except ImportError as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT) from None
    typer.echo(f"wrote {excel}")


def main() -> None:
    """Entry point of the ``rareopt`` console script and ``python -m rareopt``."""
    pressed: list[int] = []

    def on_interrupt(signum: int, frame: Any) -> None:
        pressed.append(signum)
        signal.default_int_handler(signum, frame)

    # Remember Ctrl-C: outside a HiGHS run (which reports it as a status) Typer turns it into
    # "Aborted!" and exit 1; the shell convention is 130. Files are written whole or not at all.
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_interrupt)
    try:
        app(prog_name="rareopt")
    except SystemExit as exc:
        if pressed and exc.code == 1:
            raise SystemExit(EXIT_INTERRUPTED) from None
        raise

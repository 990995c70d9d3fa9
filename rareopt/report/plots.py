"""Figures for a briefing (matplotlib, in the ``plot`` extra: ``pip install 'rareopt[plot]'``).

Every function takes an optional ``ax`` to draw on and an optional ``filename`` to save to (PNG, SVG
or anything matplotlib writes), and returns the ``Axes``; :func:`plot_stock_cover`, one small panel
per element, takes no ``ax`` and returns its ``Figure``. Nothing here changes a result.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rareopt.inputs.stages import SELLER
from rareopt.inputs.tables import ALL

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from rareopt.results.outcomes import ScenarioOutcome
    from rareopt.results.result import Result

__all__ = [
    "country_colours",
    "plot_imports_by_country",
    "plot_stock",
    "plot_stock_cover",
    "plot_hhi",
    "plot_stage_shares",
    "plot_frontier",
    "plot_scenario_costs",
    "save_result_plots",
]


def _pyplot():
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("plots need matplotlib: pip install 'rareopt[plot]'") from exc
    return plt


def _plot_io(ax: Axes | None, filename: str | None, title: str):
    """The Axes to draw on (a new figure when None) and a finisher that titles and saves it."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")

    def finish() -> Axes:
        ax.set_title(title)
        if filename is not None:
            ax.figure.savefig(filename, dpi=120)
        return ax

    return ax, finish


def country_colours(countries: list[str]) -> dict[str, str]:
    """One colour per country, the same in every chart of a portfolio (by its countries' order).

    Examples
    --------
    >>> country_colours(["CN", "AU"])
    {'CN': '#1f77b4', 'AU': '#ff7f0e'}
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    # tab20's strong colours first, then their light partners: 20 countries before a repeat.
    palette = [colormaps["tab20"](i / 20) for i in (*range(0, 20, 2), *range(1, 20, 2))]
    return {c: to_hex(palette[i % len(palette)]) for i, c in enumerate(countries)}


def plot_imports_by_country(
    result: Result, element: str, ax: Axes | None = None, filename: str | None = None
) -> Axes:
    """Stacked bars of one element's purchases by country per period (t).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import rareopt
    >>> ax = plot_imports_by_country(rareopt.solve(rareopt.load_example("tiny")), "Nd")
    >>> ax.get_ylabel()
    't REO bought'
    """
    ax, finish = _plot_io(ax, filename, f"{element}: purchases by country")
    plan = result.plan.xs(element, level="element")
    table = plan.groupby(["period", "country"])["volume_t"].sum().unstack("country").fillna(0.0)
    table = table.reindex(result.portfolio.period_labels).fillna(0.0)
    table = table[table.sum().sort_values(ascending=False).index]
    # A country keeps its colour from chart to chart, whatever its rank in this one.
    colours = country_colours(result.portfolio.countries)
    table.plot.bar(stacked=True, ax=ax, width=0.85, color=[colours[c] for c in table.columns])
    ax.set_xlabel("period")
    ax.set_ylabel("t REO bought")
    ax.legend(title="country", ncols=2, fontsize="small")
    return finish()


def plot_stock(
    result: Result, element: str, ax: Axes | None = None, filename: str | None = None
) -> Axes:
    """One element's end-of-period stock against its target (t).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import rareopt
    >>> ax = plot_stock(rareopt.solve(rareopt.load_example("tiny")), "Nd")
    >>> [line.get_label() for line in ax.get_lines()]
    ['stock', 'target']
    """
    ax, finish = _plot_io(ax, filename, f"{element}: stock against target")
    stock = result.stock.xs(element, level="element")
    positions = range(len(stock))
    ax.plot(positions, stock["level_t"], marker="o", label="stock")
    ax.plot(positions, stock["target_t"], linestyle="--", label="target")
    ax.set_xticks(list(positions), stock.index, rotation=90)
    ax.set_xlabel("period")
    ax.set_ylabel("t REO")
    ax.legend()
    return finish()


def plot_stock_cover(
    result: Result, elements: list[str] | None = None, filename: str | None = None
) -> Figure:
    """Stock in days of cover against the target, one small panel per element.

    Days of cover are the stock at the end of a period over that period's daily demand (demand,
    t / the period's days), as ``result.stock["days_of_cover"]``; a period without demand has none
    (left blank). Periods below target are shaded.

    Parameters
    ----------
    result : Result
        A result with a plan.
    elements : list of str, optional
        The elements to draw (default: all of the portfolio's).
    filename : str, optional
        Where to save the figure.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import rareopt
    >>> figure = plot_stock_cover(rareopt.solve(rareopt.load_example("tiny")))
    >>> [ax.get_title() for ax in figure.axes], figure.axes[0].get_lines()[0].get_ydata().tolist()
    (['Nd', 'Dy'], [20.0, 30.0, 30.0])
    """
    plt = _pyplot()
    elements = list(result.portfolio.elements if elements is None else elements)
    columns = min(len(elements), 4)
    rows = math.ceil(len(elements) / columns)
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(2.8 * columns + 0.6, 2.3 * rows + 0.6),
        sharex=True,
        squeeze=False,
        layout="constrained",
    )
    labels = result.portfolio.period_labels
    positions = np.arange(len(labels))
    # A dozen tick labels at most: 24 monthly labels do not fit under a small panel.
    ticks = positions[:: math.ceil(len(labels) / 12)]
    for ax, element in zip(axes.flat, elements):
        stock = result.stock.xs(element, level="element").reindex(labels)
        days = stock["days_of_cover"].replace(np.inf, np.nan).to_numpy(float)
        target = stock["target_days"].to_numpy(float)
        ax.plot(positions, days, marker=".", label="stock, days of cover")
        ax.plot(positions, target, linestyle="--", color="grey", label="target, days")
        ax.fill_between(
            positions,
            days,
            target,
            where=days < target,
            interpolate=True,
            color="tab:red",
            alpha=0.3,
            label="below target",
        )
        ax.set_title(element)
        ax.set_ylim(bottom=0)
        ax.set_xticks(ticks, [labels[k] for k in ticks], rotation=90, fontsize="small")
    for ax in axes[:, 0]:
        ax.set_ylabel("days")
    for ax in axes.flat[len(elements) :]:
        ax.set_visible(False)
    handles, names = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, names, loc="outside lower center", ncols=3, fontsize="small")
    figure.suptitle("Stock against target, days of cover")
    if filename is not None:
        figure.savefig(filename, dpi=120)
    return figure


def plot_hhi(result: Result, ax: Axes | None = None, filename: str | None = None) -> Axes:
    """HHI of country shares per element and period (0-10,000; above 2,500 is highly concentrated).

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import rareopt
    >>> len(plot_hhi(rareopt.solve(rareopt.load_example("tiny"))).get_lines())
    3
    """
    ax, finish = _plot_io(ax, filename, "Concentration of purchases by country (HHI)")
    hhi = result.hhi["hhi"].xs(SELLER, level="stage")
    hhi = hhi[hhi.index.get_level_values("period") != ALL].unstack("element")
    hhi = hhi.reindex(result.portfolio.period_labels)
    positions = range(len(hhi))
    for element in hhi:
        ax.plot(positions, hhi[element], marker=".", label=element)
    ax.axhline(2500, color="grey", linestyle=":", label="2,500")
    ax.set_xticks(list(positions), hhi.index, rotation=90)
    ax.set_ylim(0, 10_000)
    ax.set_ylabel("HHI (0-10,000)")
    ax.legend(ncols=2, fontsize="small")
    return finish()


def plot_stage_shares(
    result: Result, stage: str = "separation", ax: Axes | None = None, filename: str | None = None
) -> Axes:
    """Each element's tonnes at ``stage`` by country over the horizon, % (stacked bars).

    Beside the purchases by country, where the concentration sits further down the chain: the
    japan example buys half its Dy from China but separates 78% of it there.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import rareopt
    >>> len(plot_stage_shares(rareopt.solve(rareopt.load_example("tiny"))).patches) > 0
    True
    """
    ax, finish = _plot_io(ax, filename, f"Share of each element's tonnes at {stage}, by country")
    at = result.shares["share"].xs((ALL, stage, "country"), level=("period", "stage", "by"))
    table = (100 * at).unstack("holder").fillna(0.0)
    table = table.reindex([e for e in result.portfolio.elements if e in table.index])
    colours = country_colours(list(table.columns))
    bottom = np.zeros(len(table))
    for country in table.columns:
        ax.bar(table.index, table[country], bottom=bottom, label=country, color=colours[country])
        bottom += table[country].to_numpy()
    ax.set_ylabel(f"% of the element's tonnes at {stage}")
    ax.set_ylim(0, 100)
    ax.legend(ncols=3, fontsize="small")
    return finish()


_VARIED = {
    "country_cap": "country's share cap, % of each element",
    "risk_weight": "risk weight, USD/t per unit of risk score",
    "target_days": "stock target, days of demand",
    "price": "price multiplier on the country's offers",
    "cvar_alpha": "CVaR level",
}
"""The varied parameter of a frontier, in words (axis labels)."""


def plot_frontier(
    frontier: pd.DataFrame,
    column: str | None = None,
    ax: Axes | None = None,
    filename: str | None = None,
) -> Axes:
    """A frontier from :func:`rareopt.frontier`: spend and penalties stacked against the parameter.

    With ``column`` (e.g. ``"objective_usd"`` or ``"share:Dy"``), that column alone as a line.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import rareopt
    >>> f = rareopt.frontier(rareopt.load_example("tiny"), "country_cap", [0.8, 0.6], country="CN")
    >>> ax = plot_frontier(f)
    >>> ax.get_xlabel(), [t.get_text() for t in ax.get_legend().get_texts()]
    ("country's share cap, % of each element", ['spend', 'penalties (priced, not paid)'])
    """
    varied = str(frontier.index.name)
    title = column if column is not None else "cost: spend and penalties"
    ax, finish = _plot_io(ax, filename, f"{title} against the {_VARIED.get(varied, varied)}")
    ok = frontier[frontier["status"] == "optimal"]
    x = ok.index * 100 if varied == "country_cap" else ok.index
    if column is not None:
        ax.plot(x, ok[column], marker="o")
        ax.set_ylabel(column)
    else:
        parts = {"spend": ok["spend_usd"], "penalties (priced, not paid)": ok["penalty_usd"]}
        if "recourse_usd" in ok:
            parts["expected recourse and CVaR"] = ok["recourse_usd"]
        ax.stackplot(x, *(v.to_numpy() / 1e6 for v in parts.values()), labels=list(parts))
        ax.set_ylabel("million USD")
        ax.legend(loc="upper left", fontsize="small")
    ax.set_xlabel(_VARIED.get(varied, varied))
    if varied == "country_cap":
        ax.invert_xaxis()  # tighter caps to the right
    return finish()


def plot_scenario_costs(
    outcome: ScenarioOutcome, ax: Axes | None = None, filename: str | None = None
) -> Axes:
    """The distribution of recourse cost over the scenarios, with its mean, VaR and CVaR.

    A step curve of P(recourse cost <= x) (million USD), from ``result.scenarios`` or a stress
    test.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import rareopt
    >>> s = rareopt.event_scenarios(["china-japan-2010", "pandemic-logistics-2020"], baseline=0.5)
    >>> ax = plot_scenario_costs(rareopt.solve(rareopt.load_example("tiny"), scenarios=s).scenarios)
    >>> ax.get_xlabel()
    'recourse cost, million USD'
    """
    ax, finish = _plot_io(ax, filename, f"recourse cost over {len(outcome.cost)} scenarios")
    cost = outcome.cost.sort_values("recourse_usd")
    millions = cost["recourse_usd"] / 1e6
    ax.step(millions, cost["probability"].cumsum(), where="post", label="P(cost <= x)")
    level = f"{100 * outcome.alpha:g}%"
    for key, label, style in (
        ("expected_recourse_usd", "mean", ":"),
        ("var_usd", f"VaR {level}", "--"),
        ("cvar_usd", f"CVaR {level}", "-."),
    ):
        ax.axvline(outcome.metrics[key] / 1e6, linestyle=style, color="grey", label=label)
    ax.set_xlabel("recourse cost, million USD")
    ax.set_ylabel("cumulative probability")
    ax.set_ylim(0, 1.05)
    ax.legend(loc="lower right")
    return finish()


def save_result_plots(result: Result, directory: str, fmt: str = "png") -> list[str]:
    """Save every result plot into ``directory``.

    Purchases and stock per element, stock in days of cover, HHI, the shares at separation, and
    for a two-stage result the scenario cost curve.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import tempfile, rareopt
    >>> len(save_result_plots(rareopt.solve(rareopt.load_example("tiny")), tempfile.mkdtemp()))
    7
    """
    import os

    import matplotlib.pyplot as plt

    os.makedirs(directory, exist_ok=True)
    paths = []
    for element in result.portfolio.elements:
        for name, draw in (("imports", plot_imports_by_country), ("stock", plot_stock)):
            path = os.path.join(directory, f"{name}_{element}.{fmt}")
            plt.close(draw(result, element, filename=path).figure)
            paths.append(path)
    path = os.path.join(directory, f"stock_cover.{fmt}")
    plt.close(plot_stock_cover(result, filename=path))
    paths.append(path)
    path = os.path.join(directory, f"hhi.{fmt}")
    plt.close(plot_hhi(result, filename=path).figure)
    paths.append(path)
    path = os.path.join(directory, f"separation_shares.{fmt}")
    plt.close(plot_stage_shares(result, filename=path).figure)
    paths.append(path)
    if result.scenarios is not None:
        path = os.path.join(directory, f"scenario_costs.{fmt}")
        plt.close(plot_scenario_costs(result.scenarios, filename=path).figure)
        paths.append(path)
    return paths

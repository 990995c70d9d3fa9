"""One-page briefings (HTML or Markdown) and side-by-side comparisons of results."""

from __future__ import annotations

import base64
import datetime
import html
import io
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rareopt.analysis.marginal import cost_of_diversification, cost_of_next_points
from rareopt.exceptions import NoPlanError
from rareopt.files import written_whole
from rareopt.inputs.tables import ALL
from rareopt.model.formulation import totals_by_kind
from rareopt.report.text import (
    country_share_matrix,
    criticality_table,
    element_overview,
    in_words,
    purchase_plan_table,
    stage_concentration,
    stage_leaders,
    summary_text,
    with_headers_in_words,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rareopt.inputs.portfolio import Policy
    from rareopt.results.result import Result

__all__ = ["write_report", "compare", "SECTIONS", "GLOSSARY"]

SECTIONS = (
    "Summary",
    "Purchase plan",
    "Stock against target",
    "Cost",
    "Per element",
    "Shares by country",
    "Shares by stage",
    "Criticality",
    "Cost of diversification",
    "Figures",
    "Assumptions",
    "Glossary",
)
"""The report's sections, in order; one that does not apply to a result holds a one-line note."""

GLOSSARY = {
    "Spend": (
        "money paid: purchases, processing fees, contracts, capital and holding stock (USD)."
    ),
    "Penalty": (
        "a price the model puts on an outcome to steer the plan away from it (demand unmet, stock "
        "below target, supplier risk); priced, not paid."
    ),
    "Recourse": (
        "in a plan hedged against disruption scenarios, what reacting to a scenario costs beyond "
        "the plan: spend (spot purchases and the end stock bought back, less deliveries not paid "
        "for) and penalties (extra unmet demand, extra stock below target); never below 0 for a "
        "disruption that only cuts deliveries."
    ),
    "Unmet demand": "tonnes of consumption neither bought nor drawn from stock in a period.",
    "Days of cover": (
        "stock at the end of a period over that period's daily demand (demand, t / the "
        "period's days): how long the stock would last with no more purchases."
    ),
    "HHI": (
        "Herfindahl-Hirschman index of an element's purchases by country: the sum of the squared "
        "country shares in %, from near 0 (spread thin) to 10,000 (one country); above 2,500 is "
        "highly concentrated."
    ),
    "Marginal value (dual)": (
        "how much the objective changes per unit a constraint is loosened, e.g. USD per "
        "percentage point of a share cap or per extra tonne; it holds for small changes only."
    ),
    "Share cap": (
        "the largest share of an element's purchases allowed from one country, supplier or "
        "group of countries, in each period or over the horizon (the cap basis)."
    ),
}
"""The terms the briefing uses, explained in its last section."""

_BELOW_TARGET_T = 1e-6
"""Tonnes of shortfall below which stock counts as on target (solver noise)."""

_NO_MATPLOTLIB = "Figure left out: figures need matplotlib (pip install 'rareopt[plot]')."

_TWO_STAGE_PLAN = (
    "A plan hedged against disruption scenarios: these are the purchases placed before any "
    "disruption is known; what each scenario adds (spot purchases, undelivered tonnes) is "
    "recourse, summarised in the Summary."
)


@dataclass(frozen=True)
class _Figure:
    """A PNG image and its caption."""

    caption: str
    png: bytes


@dataclass(frozen=True)
class _Preformatted:
    """Text kept as it is laid out (the summary)."""

    text: str


_Block = str | list[str] | dict[str, str] | pd.DataFrame | _Figure | _Preformatted
"""A section's content: a paragraph, bullets, a definition list, a table, a figure or
preformatted text."""


def compare(a: Result, b: Result, names: tuple[str, str] = ("a", "b")) -> pd.DataFrame:
    """Two results side by side: cost terms, every country's share of each element, and HHI.

    Parameters
    ----------
    a, b : Result
        Results with plans (e.g. two policies for the same portfolio).
    names : (str, str)
        Column labels.

    Returns
    -------
    Comparison
        A DataFrame: index (section, item): ``cost`` rows (USD: objective, spend and penalties
        apart, and each term), ``service`` rows (unmet demand and stock below target, t),
        ``share %`` rows (element / country, over the horizon) and ``hhi`` rows (per element);
        columns the two names, ``difference`` (b - a) and ``unit`` (USD, t, % or HHI). Values are
        rounded by unit (whole USD, 0.1 t, 0.01 %, whole HHI points), and printed with thousands
        separators row by row, so that USD and shares do not share a scientific format.

    Examples
    --------
    >>> import rareopt
    >>> p = rareopt.load_example("tiny")
    >>> c = compare(rareopt.solve(p), rareopt.solve(p.with_policy(country_caps={"CN": 0.5})))
    >>> bool(c.loc[("cost", "objective"), "difference"] >= 0)
    True
    """

    def column(result: Result) -> pd.Series:
        by_kind = {
            f"{kind} (all terms)": v for kind, v in totals_by_kind(result.cost_terms).items()
        }
        cost = pd.concat([pd.Series({"objective": result.objective, **by_kind}), result.cost_terms])
        service = pd.Series(
            {
                "unmet demand, t": float(result.unmet["unmet_t"].sum()),
                "stock below target, t summed over periods": float(
                    result.stock["shortfall_t"].sum()
                ),
            }
        )
        shares = country_share_matrix(result).stack()
        shares.index = [f"{e} / {c}" for e, c in shares.index]
        hhi = criticality_table(result)["hhi"]
        return pd.concat({"cost": cost, "service": service, "share %": shares, "hhi": hhi})

    out = pd.concat({names[0]: column(a), names[1]: column(b)}, axis=1)
    # A share missing from one plan is 0; an HHI missing (nothing bought) stays undefined.
    section = out.index.get_level_values(0)
    shares = section != "hhi"
    out.loc[shares] = out.loc[shares].fillna(0.0)
    out["difference"] = out[names[1]] - out[names[0]]
    # A country with no share in either plan says nothing.
    out = out[~(shares & (section == "share %") & (out[names[0]] == 0) & (out[names[1]] == 0))]
    section = out.index.get_level_values(0)
    unit = pd.Series(section, index=out.index).map(_UNITS)
    # Float noise (a difference of 1e-9 USD) rounded away, each row to its unit's precision.
    decimals = unit.map(_DECIMALS).to_numpy()
    values = out.to_numpy(float)
    # + 0.0 turns -0.0 into 0.0.
    out[:] = np.round(values * 10.0 ** decimals[:, None]) / 10.0 ** decimals[:, None] + 0.0
    out["unit"] = unit
    return Comparison(out.rename_axis(["section", "item"]))


_UNITS = {"cost": "USD", "service": "t", "share %": "%", "hhi": "HHI"}
_DECIMALS = {"USD": 0, "t": 1, "%": 2, "HHI": 0}


class Comparison(pd.DataFrame):
    """A :func:`compare` table: numbers as numbers, printed row by row in their unit's format."""

    @property
    def _constructor(self):  # type: ignore[override]
        return Comparison

    def _formatted(self) -> pd.DataFrame:
        shown = pd.DataFrame(index=self.index)
        units = self["unit"] if "unit" in self else pd.Series("", index=self.index)
        for column in self.columns.drop("unit", errors="ignore"):
            shown[column] = [
                "" if pd.isna(v) else f"{v:,.{_DECIMALS.get(u, 2)}f}"
                for v, u in zip(self[column], units)
            ]
        shown["unit"] = units
        return shown

    def __repr__(self) -> str:
        return self._formatted().to_string()

    def _repr_html_(self) -> str:
        return self._formatted().to_html()


def _pyplot() -> Any:
    """matplotlib.pyplot on the file backend, or None without the ``plot`` extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _png(plt: Any, figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def _sections(result: Result) -> dict[str, list[_Block]]:
    plt = _pyplot()
    by_country = country_share_matrix(result)
    home = result.portfolio.criticality.home_country
    return {
        # The summary's tables and cost terms are sections below, with headers in words.
        "Summary": [_Preformatted(summary_text(result, detail=False))],
        "Purchase plan": _purchase_plan(result),
        "Stock against target": _stock_against_target(result, plt),
        "Cost": [_cost_table(result)],
        "Per element": [
            "Over the horizon; stock and target at the end of the last period.",
            with_headers_in_words(element_overview(result)),
        ],
        "Shares by country": [
            "Share of each element's purchases over the horizon by country, %.",
            with_headers_in_words(by_country),
        ],
        "Shares by stage": [
            "The country with the largest share of each element's tonnes at each processing "
            "stage, over the horizon (mining, separation ...: where the tonnes were mined, "
            "separated ...; any: the tonnes delivered that touch the country at some stage). "
            "A plan that keeps China's share of purchases at its cap can still separate most of "
            "an element there.",
            stage_leaders(result).rename_axis(index="Element").rename(columns=str.capitalize),
            "The HHI (0-10,000) of the countries selling each element and doing each stage, "
            "over the horizon.",
            stage_concentration(result)
            .round(0)
            .rename_axis(index="Element")
            .rename(columns=str.capitalize),
        ],
        "Criticality": [
            "Indicators of the plan's purchases over the horizon; the columns named on offer give "
            "the same for the capacity on offer"
            + (f"; import reliance against {home}." if home else "."),
            with_headers_in_words(criticality_table(result)),
        ],
        "Cost of diversification": _diversification(result),
        "Figures": _figures(result, plt),
        "Assumptions": _assumptions(result),
        "Glossary": [GLOSSARY],
    }


def _purchase_plan(result: Result) -> list[_Block]:
    table = purchase_plan_table(result)
    tonnes = table.select_dtypes("float").columns
    # A blank reads faster than a column of zeros: the months a supplier sat out.
    table[tonnes] = table[tonnes].mask(table[tonnes].abs() <= 1e-6)
    table = with_headers_in_words(table)
    blocks: list[_Block] = [
        "Tonnes (t REO) bought per element from each supplier over the horizon, the first and "
        "last period bought in, and the tonnes bought in each period or group of periods."
    ]
    if result.scenarios is not None:
        blocks.append(_TWO_STAGE_PLAN)
    rows = table.reset_index()
    # Each element named once, on its first supplier's row: the rows below are its suppliers.
    rows["Element"] = rows["Element"].mask(rows["Element"].duplicated(), "")
    return [*blocks, rows]


def _stock_against_target(result: Result, plt: Any) -> list[_Block]:
    stock = result.stock
    kept = (
        ((stock["target_days"] > 0) | (stock["level_t"] > _BELOW_TARGET_T))
        .groupby(level="element")
        .any()
    )
    elements = [e for e in result.portfolio.elements if kept.get(e, False)]
    if not elements:
        return ["Not applicable: no element has a stock target or holds stock."]
    blocks: list[_Block] = [
        "Stock at the end of each period in days of cover (stock, t / (the period's demand, t / "
        "its days)) against the target in days: stock / target; ↓ marks a period below target, "
        "∞ a period without demand."
    ]
    if result.scenarios is not None:
        blocks.append(
            "The stock of the plan without disruption; the Summary gives, per element, the lowest "
            "days of cover under the scenarios, averaged over them."
        )
    left_out = [e for e in result.portfolio.elements if e not in elements]
    if left_out:
        blocks.append(f"No stock target and no stock held: {', '.join(left_out)}.")
    if plt is None:
        blocks.append(_NO_MATPLOTLIB)
    else:
        from rareopt.report.plots import plot_stock_cover

        figure = plot_stock_cover(result, elements)
        blocks.append(_Figure("Stock against target, days of cover", _png(plt, figure)))
    labels = result.portfolio.period_labels
    columns = {}
    for element in elements:
        rows = stock.xs(element, level="element").reindex(labels)
        columns[f"{element}, days"] = [
            _cover(days, target, short > _BELOW_TARGET_T)
            for days, target, short in zip(
                rows["days_of_cover"], rows["target_days"], rows["shortfall_t"]
            )
        ]
    blocks.append(pd.DataFrame(columns, index=pd.Index(labels, name="Period")))
    return blocks


def _cover(days: float, target: float, below: bool) -> str:
    """A cell of the stock table: "stock / target" in days, marked when below target."""
    if not below:
        return f"{_number(days, 0)} / {_number(target, 0)}"
    # Rounded, a sliver below target would read as on target: show it cut to a tenth of a day.
    return f"{_number(math.floor(10 * days) / 10)} / {_number(target, 0)} ↓"


def _cost_table(result: Result) -> pd.DataFrame:
    rows = [("Objective", "all", result.objective)]
    rows += [
        (f"{kind.capitalize()}, all terms", kind, usd)
        for kind, usd in totals_by_kind(result.cost_terms).items()
    ]
    rows += [(in_words(t), kind, usd) for t, kind, usd in result.costs.itertuples(index=False)]
    return pd.DataFrame(rows, columns=["Term", "Kind", "Cost, USD"])


def _diversification(result: Result) -> list[_Block]:
    try:
        duals = result.duals
    except NoPlanError as exc:  # no marginal values for this result: say so, do not crash
        return [f"Not available: {exc.explanation}."]
    if "country_cap" not in duals.index.get_level_values("constraint"):
        return ["Not applicable: no country cap is in force, so there is none to tighten."]
    blocks: list[_Block] = [
        "What tightening a country's cap by one percentage point would add to the objective "
        "(marginal values, valid for small changes), summed over the periods."
    ]
    if "basis" in duals:
        blocks.append(f"Marginal values of the {duals['basis'].iloc[0]}.")
    table = (
        cost_of_diversification(result)
        .groupby(level=["country", "element"])["usd_per_point_tighter"]
        .sum()
        .to_frame("USD per point tighter, summed over periods")
    )
    blocks += [with_headers_in_words(table), *_next_points(result)]
    return blocks


def _next_points(result: Result, k: int = 3) -> list[_Block]:
    """The next ``k`` points of each country cap on every element, re-solved: what they cost.

    Marginal values hold for small moves (and, with goals met in order, only while no goal
    moves); the re-solved steps are what a reader can quote for whole points.
    """
    if result.scenarios is not None:
        return ["Re-solved steps are left out for a two-stage plan (each is a two-stage solve)."]
    caps = result.portfolio.policy.country_caps
    capped = caps[(caps["element"] == ALL) & (caps["max_share"] < 1)]
    blocks: list[_Block] = []
    for country, share in zip(capped["country"], capped["max_share"]):
        steps = min(k, int(100 * share))
        if steps < 1:
            continue
        worded = {
            "spend_usd": "Spend, USD",
            "penalty_usd": "Penalties, USD",
            "total_cost_usd": "Objective over the current cap's, USD",
            "unmet_t": "Unmet demand, t",
            "shortfall_t": "Stock below target, t summed over periods",
        }
        table = cost_of_next_points(result, country, k=steps).set_index("cap_pct")[list(worded)]
        table.index.name = f"{country}'s cap, %"
        blocks += [
            f"{country}'s cap on every element, re-solved point by point (goals met as the "
            "policy orders them; the change is in the objective, spend and penalties together):",
            table.rename(columns=worded),
        ]
    return blocks


def _figures(result: Result, plt: Any) -> list[_Block]:
    """The HHI, the shares at separation and each element's purchases by country.

    A note in their place without matplotlib.
    """
    if plt is None:
        return [_NO_MATPLOTLIB]
    from rareopt.report.plots import plot_hhi, plot_imports_by_country, plot_stage_shares

    figures = [
        _Figure("HHI by element", _png(plt, plot_hhi(result).figure)),
        _Figure("Shares at separation", _png(plt, plot_stage_shares(result).figure)),
    ]
    for element in result.portfolio.elements:
        ax = plot_imports_by_country(result, element)
        figures.append(_Figure(f"{element}: purchases by country", _png(plt, ax.figure)))
    return figures


def _assumptions(result: Result) -> list[_Block]:
    portfolio = result.portfolio
    policy = portfolio.policy
    lines = _caps(policy)
    priorities = getattr(policy, "priorities", None)
    if priorities == "weighted":
        lines.append("Goals: penalties blended in one objective.")
    elif priorities is not None:
        goals = [str(goal).replace("_", " ") for goal in priorities]
        lines.append(
            f"Goals: lexicographic: first {goals[0]}"
            + "".join(f", then {goal}" for goal in goals[1:])
            + "; within a goal, the penalties below weigh one element or period against another."
        )
    shortage = (
        f"Shortage penalty: {policy.shortage_penalty_usd_per_t:,.0f} USD per t of unmet demand"
    )
    hard_demand = getattr(policy, "hard_demand", None)
    if hard_demand is None:
        lines.append(f"{shortage}.")
    elif hard_demand:
        lines.append(f"{shortage}; demand is hard: it must be met in full.")
    else:
        lines.append(f"{shortage}; demand is soft: it may go unmet, penalised.")
    lines.append(
        f"Target shortfall penalty: {policy.target_shortfall_penalty_usd_per_t:,.0f} USD per t "
        "below a stock target, per period, unless the element has its own (below)"
        + (
            "; stock targets are hard: they must be reached."
            if policy.hard_stock_targets
            else "; stock targets are soft: stock may fall below them, penalised."
        )
    )
    lines.append(
        f"Risk weight: {policy.risk_weight_usd_per_t:,.0f} USD per t bought per unit of the "
        "supplier's risk score (0 to 1)."
    )
    lines += _discrete_choices(result)
    portfolio = result.portfolio
    if len(portfolio.facilities):
        plants = ", ".join(
            f"{f['facility']} ({f['stage']}, {f['country']})"
            for f in portfolio.facilities.to_dict("records")
        )
        lines.append(f"Processing facilities that convert feed bought before separation: {plants}.")
    lead = portfolio.offers.get("lead_periods")
    if lead is not None and (lead.fillna(0) > 0).any():
        lines.append(
            f"Lead times: {int((lead.fillna(0) > 0).sum())} offers arrive up to "
            f"{int(lead.max())} periods after purchase."
        )
    if len(portfolio.in_transit):
        lines.append(
            f"In transit at the start: {portfolio.in_transit['volume_t'].sum():,.1f} t arriving "
            "when the in_transit table says, whatever happens."
        )
    if result.scenarios is not None:
        lines.append(
            f"Disruption scenarios: {len(result.scenarios.cost)}; the objective adds their "
            "expected recourse and the risk measure (see Cost); VaR and CVaR at the "
            f"{result.scenarios.alpha:.0%} level."
        )
    return [
        lines,
        "Stock targets, in days of the period's demand (target, t = days x demand, t / the "
        "period's days), and what a tonne held or missing costs, per element:",
        _stock_assumptions(result),
    ]


def _caps(policy: Policy) -> list[str]:
    """The caps and floors in force, one line each, with their basis."""

    def share(value: float) -> str:
        return f"{100 * value:.3g}%"

    def of(element: str) -> str:
        return "every element" if element == ALL else element

    def holder(name: str, kind: str) -> str:
        return f"every {kind}" if name == ALL else name

    def rows(table: pd.DataFrame, who, column: str, word: str) -> list[str]:
        # Columns by name: a cap table's column order follows the records it was given.
        return [
            f"{who(r)} {word} {share(r[column])} of {of(r['element'])}"
            for r in table.to_dict("records")
        ]

    def group(r: dict) -> str:
        return f"{r['group']} ({', '.join(r['countries'])}) together"

    listed = [
        (
            "Country caps",
            rows(
                policy.country_caps,
                lambda r: holder(r["country"], "country"),
                "max_share",
                "at most",
            ),
        ),
        (
            "Supplier caps",
            rows(
                policy.supplier_caps,
                lambda r: holder(r["supplier"], "supplier"),
                "max_share",
                "at most",
            ),
        ),
        ("Group caps", rows(policy.group_caps, group, "max_share", "at most")),
        ("Group floors", rows(policy.group_floors, group, "min_share", "at least")),
        (
            "Stage caps",
            rows(
                policy.stage_caps,
                lambda r: (
                    (
                        group({"group": r["holder"], "countries": r["countries"]})
                        if r["by"] == "group"
                        else holder(r["holder"], r["by"])
                    )
                    + f" at {r['stage']}"
                ),
                "max_share",
                "at most",
            ),
        ),
    ]
    lines = []
    for name, items in listed:
        if items:
            lines.append(f"{name}: {'; '.join(items)}.")
    if policy.hhi_cap is not None:
        caps = policy.hhi_cap
        cap = (
            ", ".join(f"{e} {v:,.0f}" for e, v in caps.items())
            if isinstance(caps, Mapping)
            else f"{caps:,.0f} for every element"
        )
        lines.append(f"HHI cap: {cap} (0-10,000; kept to within {policy.hhi_tolerance:g} of it).")
    for stage, caps in policy.stage_hhi_caps.groupby("stage", sort=False):
        listed = ", ".join(
            f"{'every element' if e == ALL else e} {float(v):,.0f}"
            for e, v in zip(caps["element"], caps["max_hhi"])
        )
        lines.append(f"HHI cap at {stage}: {listed} (of the countries doing {stage}).")
    if policy.max_suppliers_per_element is not None:
        lines.append(
            f"At most {policy.max_suppliers_per_element} contracted suppliers per element."
        )
    if policy.min_countries_per_element is not None:
        lines.append(
            f"At least {policy.min_countries_per_element} countries per element, each with "
            f"{share(policy.country_floor_share)} or more of its purchases over the horizon."
        )
    if not lines:
        return ["Caps: none."]
    basis = {
        "period": "in every period",
        "horizon": "on the totals over the horizon",
    }.get(policy.cap_basis, policy.cap_basis)
    return [f"Caps and floors are shares of each element's purchases, {basis}.", *lines]


def _discrete_choices(result: Result) -> list[str]:
    portfolio = result.portfolio
    policy = portfolio.policy
    offers = portfolio.offers
    choices = [
        name
        for name, present in (
            ("minimum orders", bool(offers["min_order_t"].gt(0).any())),
            ("contract costs", bool(offers["contract_usd_per_year"].gt(0).any())),
            ("a count of suppliers", policy.max_suppliers_per_element is not None),
            ("a count of countries", policy.min_countries_per_element is not None),
            ("projects to build", len(portfolio.projects) > 0),
        )
        if present
    ]
    if not choices:
        return []
    gap = result.solver.get("mip_gap")
    solved = "" if gap is None else f"; solved as a MIP to a gap of {100 * gap:.2g}%"
    return [f"Discrete choices: {', '.join(choices)}{solved}."]


def _stock_assumptions(result: Result) -> pd.DataFrame:
    policy = result.portfolio.policy
    elements = result.portfolio.elements
    stockpile = result.portfolio.stockpile.set_index("element").reindex(elements)
    targets = result.stock["target_days"].groupby(level="element")
    has_row = stockpile["initial_t"].notna()
    return pd.DataFrame(
        {
            # An element without a stockpile row holds no stock: no room, no target.
            "Initial stock, t": stockpile["initial_t"].fillna(0.0),
            "Storage room, t": stockpile["capacity_t"].fillna(0.0),
            "Target in the first period, days": targets.first().reindex(elements),
            "Target in the last period, days": targets.last().reindex(elements),
            "Target shortfall penalty, USD/t per period": stockpile["shortfall_penalty_usd_per_t"]
            .fillna(policy.target_shortfall_penalty_usd_per_t)
            .where(has_row),
            "Holding cost, USD/t per period": stockpile["holding_usd_per_t"].fillna(0.0),
        },
        index=pd.Index(elements, name="Element"),
    )


def _number(value: Any, decimals: int = 1) -> str:
    """A table cell: thousands separated, blank for missing, ∞ for unlimited."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return f"{value:,.{decimals}f}"
    return str(value)


def _cells(table: pd.DataFrame) -> tuple[list[str], list[list[str]], list[bool]]:
    """Headers, rows of formatted cells and which columns are numbers (right-aligned).

    The index becomes the first columns when it is named (a table's keys), and is dropped
    otherwise (a plain row count).
    """
    named = any(name is not None for name in table.index.names)
    flat = table.reset_index() if named else table.reset_index(drop=True)
    headers = [str(c) for c in flat.columns]
    numeric = [pd.api.types.is_numeric_dtype(flat[c]) for c in flat.columns]
    # As objects, cells are Python numbers: ints stay ints, NaN and infinity stay floats.
    rows = [[_number(v) for v in row] for row in flat.astype(object).itertuples(index=False)]
    return headers, rows, numeric


def _markdown(block: _Block, images: list[tuple[str, bytes]], stem: str) -> str:
    if isinstance(block, str):
        return block
    if isinstance(block, list):
        return "\n".join(f"- {line}" for line in block)
    if isinstance(block, dict):
        return "\n".join(f"- **{term}**: {meaning}" for term, meaning in block.items())
    if isinstance(block, _Preformatted):
        return f"```\n{block.text}\n```"
    if isinstance(block, _Figure):
        name = f"{stem}_fig{len(images)}.png"
        images.append((name, block.png))
        return f"![{block.caption}]({os.path.basename(name)})"
    headers, rows, numeric = _cells(block)

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    rule = "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def _html(block: _Block) -> str:
    if isinstance(block, str):
        return f"<p>{html.escape(block)}</p>"
    if isinstance(block, list):
        return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in block) + "</ul>"
    if isinstance(block, dict):
        return (
            "<dl>"
            + "".join(
                f"<dt>{html.escape(term)}</dt><dd>{html.escape(meaning)}</dd>"
                for term, meaning in block.items()
            )
            + "</dl>"
        )
    if isinstance(block, _Preformatted):
        return f"<pre>{html.escape(block.text)}</pre>"
    if isinstance(block, _Figure):
        data = base64.b64encode(block.png).decode("ascii")
        caption = html.escape(block.caption)
        return (
            f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )
    headers, rows, numeric = _cells(block)

    def cells(tag: str, values: list[str]) -> str:
        return "".join(
            f'<{tag} class="{"number" if n else "text"}">{html.escape(v)}</{tag}>'
            for v, n in zip(values, numeric)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><thead><tr>{cells('th', headers)}</tr></thead><tbody>{body}</tbody></table>"


def write_report(result: Result, path: str) -> str:
    """Write a one-page briefing: who buys what when, stock against target, costs, assumptions.

    The sections are :data:`SECTIONS`: a summary, the purchase plan, stock in days of cover against
    target, cost, per element indicators, shares by country, criticality, the cost of
    diversification, figures, the assumptions in force and a glossary; the header gives the date
    it was written. A section that does not apply to the result (no stock targets, no country
    caps, no marginal values) holds a one-line note saying why.

    ``.html`` gives one self-contained page (figures embedded); ``.md`` gives Markdown with the
    figures saved as PNG files next to it (``<name>_fig0.png`` ...). Figures need the ``plot``
    extra; without it each figure is replaced by a note.

    Examples
    --------
    >>> import tempfile, os, rareopt
    >>> path = write_report(rareopt.solve(rareopt.load_example("tiny")),
    ...                     os.path.join(tempfile.mkdtemp(), "brief.md"))
    >>> "## Purchase plan" in open(path).read()
    True
    """
    result.raise_for_status()
    markdown = path.lower().endswith(".md")
    if not (markdown or path.lower().endswith((".html", ".htm"))):
        raise ValueError(f"report path: got {path!r}; allowed: a name ending in .html or .md")
    title = f"rareopt briefing: {result.portfolio.name}"
    written = f"Written {datetime.date.today().isoformat()}."
    sections = _sections(result)
    if markdown:
        images: list[tuple[str, bytes]] = []
        stem = os.path.splitext(path)[0]
        parts = [f"# {title}", written]
        for name, blocks in sections.items():
            parts += [f"## {name}", *(_markdown(block, images, stem) for block in blocks)]
        for image, png in images:
            with written_whole(image) as part, open(part, "wb") as handle:
                handle.write(png)
        text = "\n\n".join(parts) + "\n"
    else:
        parts = [f"<h1>{html.escape(title)}</h1>", f'<p class="date">{written}</p>']
        for name, blocks in sections.items():
            parts += [f"<h2>{html.escape(name)}</h2>", *(_html(block) for block in blocks)]
        style = (
            "body{font-family:sans-serif;max-width:1100px;margin:auto}"
            "table{border-collapse:collapse}td,th{padding:2px 8px}"
            ".number{text-align:right}.text{text-align:left}"
            "tbody tr:nth-child(even){background:#f4f4f4}dt{font-weight:bold}"
        )
        text = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>"
        )
    with written_whole(path) as part, open(part, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path

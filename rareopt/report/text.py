"""Readable text summaries of a result."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rareopt.analysis.criticality import criticality_overview
from rareopt.checks.plan import tolerance
from rareopt.inputs.stages import ANY_STAGE, SELLER, STAGES
from rareopt.inputs.tables import ALL, WEIGHTED
from rareopt.model.formulation import totals_by_kind
from rareopt.status import SolveStatus

if TYPE_CHECKING:
    from rareopt.results.result import Result

__all__ = [
    "summary_text",
    "element_overview",
    "country_share_matrix",
    "criticality_table",
    "stage_concentration",
    "stage_leaders",
    "purchase_plan_table",
    "in_words",
    "with_headers_in_words",
]

HEADERS = {
    "unmet_t": "Unmet demand, t",
    "max_period_country_share_%": "Largest country share in a period, %",
    "max_share_country_period": "Country, and first period at that share",
    "final_stock_days": "Stock at end, days of cover",
    "final_target_days": "Target at end, days",
    "cost_usd": "Purchases, USD",
    "hhi": "HHI",
    "top1": "Top country",
    "top3_%": "Top 3 countries, %",
    "import_reliance_%": "Net import reliance, %",
    "hhi_wgi": "HHI-WGI",
    "bundled_t": "Of which in concentrates, t",
}
"""Column names of the report tables that read better than :func:`in_words` would put them."""

_UNITS = {"t": "t", "usd": "USD", "%": "%", "days": "days"}
"""Unit suffixes of column names, as a header writes them."""

_MAX_PERIOD_COLUMNS = 12
"""Most period columns a purchase plan shows before it groups periods (quarters, years, runs)."""

_BOUGHT_T = 1e-6
"""Tonnes below which a supplier counts as not bought from (solver noise, not a purchase)."""


def in_words(name: str) -> str:
    """A column name as a table header reads: ``"unmet_t"`` -> ``"Unmet demand, t"``.

    Names in :data:`HEADERS` take their wording from there; ``market_`` names (capacity on offer)
    read "... on offer"; any other name has its unit suffix (``_t``, ``_usd``, ``_%``,
    ``_days``) put after a comma and its underscores made spaces.

    Examples
    --------
    >>> in_words("purchase_cost"), in_words("bought_t"), in_words("market_top3_%")
    ('Purchase cost', 'Bought, t', 'Top 3 countries on offer, %')
    """
    if name in HEADERS:
        return HEADERS[name]
    if name.startswith("market_"):
        stem, comma, unit = in_words(name.removeprefix("market_")).partition(", ")
        return f"{stem} on offer{comma}{unit}"
    stem, _, unit = name.rpartition("_")
    if stem and unit in _UNITS:
        return f"{in_words(stem)}, {_UNITS[unit]}"
    words = name.replace("_", " ")
    return words[:1].upper() + words[1:]


def with_headers_in_words(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with its column names and index and column level names in words.

    Examples
    --------
    >>> import rareopt
    >>> table = element_overview(rareopt.solve(rareopt.load_example("tiny")))
    >>> with_headers_in_words(table).columns.tolist()[:2]
    ['Bought, t', 'Unmet demand, t']
    """
    out = frame.rename(columns=lambda c: in_words(c) if isinstance(c, str) else c)
    out.index = out.index.set_names([None if n is None else in_words(n) for n in out.index.names])
    out.columns = out.columns.set_names(
        [None if n is None else in_words(n) for n in out.columns.names]
    )
    return out


def _select(frame: pd.DataFrame, **levels: str) -> pd.DataFrame:
    """Rows whose index levels equal the given labels, those levels dropped (empty-safe ``xs``)."""
    mask = np.ones(len(frame), dtype=bool)
    for level, label in levels.items():
        mask &= frame.index.get_level_values(level) == label
    return frame[mask].droplevel(list(levels))


def country_share_matrix(result: Result) -> pd.DataFrame:
    """Share of each element's purchases over the horizon by country (element x country, %).

    Examples
    --------
    >>> import rareopt
    >>> m = country_share_matrix(rareopt.solve(rareopt.load_example("tiny")))
    >>> bool(np.allclose(m.sum(axis=1), 100))
    True
    """
    shares = _select(result.shares, period=ALL, stage=SELLER, by="country")["share"]
    matrix = (100 * shares).unstack("holder").fillna(0.0).rename_axis(columns="country")
    order = matrix.mean().sort_values(ascending=False).index
    return matrix[order].reindex(result.portfolio.elements).dropna(how="all")


def stage_leaders(result: Result) -> pd.DataFrame:
    """Per element and stage, the country with the largest share over the horizon ("CN 78%").

    Stages in chain order, then ``any`` (the tonnes delivered that touch the country at some
    stage). From :attr:`Result.shares`.

    Examples
    --------
    >>> import rareopt
    >>> stage_leaders(rareopt.solve(rareopt.load_example("tiny"))).loc["Nd", "separation"]
    'CN 60%'
    """
    shares = _select(result.shares, period=ALL, by="country")["share"]
    shares = shares[shares.index.get_level_values("stage") != SELLER]
    top = shares.groupby(level=["element", "stage"]).idxmax()
    cells = {k: f"{i[-1]} {100 * shares[i]:.0f}%" for k, i in top.items()}
    table = pd.Series(cells).unstack()
    stages = [s for s in (*STAGES, ANY_STAGE) if s in table.columns]
    return table.reindex(index=result.portfolio.elements, columns=stages).dropna(how="all")


def stage_concentration(result: Result) -> pd.DataFrame:
    """Per element, the HHI (0-10,000) of the countries as sellers and at each stage, horizon.

    Examples
    --------
    >>> import rareopt
    >>> stage_concentration(rareopt.solve(rareopt.load_example("tiny"))).columns.tolist()
    ['seller', 'mining', 'separation']
    """
    hhi = result.hhi["hhi"].xs(ALL, level="period").unstack("stage")
    stages = [s for s in (SELLER, *STAGES) if s in hhi.columns]
    return hhi.reindex(index=result.portfolio.elements, columns=stages).dropna(how="all")


def element_overview(result: Result) -> pd.DataFrame:
    """One row per element: tonnes bought and unmet, largest country share in a period, final stock.

    Concentration over the horizon (HHI, top shares) is in :func:`criticality_table`.

    Examples
    --------
    >>> import rareopt
    >>> element_overview(rareopt.solve(rareopt.load_example("tiny"))).columns.tolist()[:3]
    ['bought_t', 'unmet_t', 'max_period_country_share_%']
    """
    plan, stock, unmet = result.plan, result.stock, result.unmet
    per_period = _select(result.shares, stage=SELLER, by="country")
    per_period = per_period[per_period.index.get_level_values("period") != ALL]
    largest = per_period["share"].groupby(level="element", sort=False).max()
    # Which country, and when first: a bare share next to the caps reads like a breach of them.
    first_top = per_period["share"].groupby(level="element", sort=False).idxmax()
    where = first_top.map(lambda key: f"{key[2]} in {key[1]}")
    last = stock.groupby(level="element", sort=False).tail(1).droplevel("period")
    out = pd.DataFrame(
        {
            "bought_t": plan["volume_t"].groupby(level="element", sort=False).sum(),
            "unmet_t": unmet["unmet_t"].groupby(level="element", sort=False).sum(),
            "max_period_country_share_%": 100 * largest,
            "max_share_country_period": where,
            "final_stock_days": last["days_of_cover"],
            "final_target_days": last["target_days"],
        }
    )
    return out.reindex(result.portfolio.elements).rename_axis("element")


def criticality_table(result: Result) -> pd.DataFrame:
    """:func:`~rareopt.analysis.criticality.criticality_overview` for reading: shares in %, cost in USD.

    Examples
    --------
    >>> import rareopt
    >>> criticality_table(rareopt.solve(rareopt.load_example("tiny"))).columns.tolist()[:3]
    ['cost_usd', 'hhi', 'top1']
    """
    full = criticality_overview(result)
    out = pd.DataFrame(index=full.index)
    for prefix in ("", "market_"):
        if f"{prefix}hhi" not in full:
            continue
        out[f"{prefix}hhi"] = full[f"{prefix}hhi"]
        out[f"{prefix}top1"] = [
            f"{c} {100 * v:.0f}%" if c else ""
            for c, v in zip(full[f"{prefix}top1_country"], full[f"{prefix}top1_share"])
        ]
        out[f"{prefix}top3_%"] = 100 * full[f"{prefix}top3_share"]
        for column, label in (("net_import_reliance", "import_reliance_%"), ("hhi_wgi", "hhi_wgi")):
            if f"{prefix}{column}" in full:
                scale = 100 if label.endswith("%") else 1
                out[f"{prefix}{label}"] = scale * full[f"{prefix}{column}"]
    out.insert(0, "cost_usd", full["cost_usd"])
    return out


def purchase_plan_table(result: Result) -> pd.DataFrame:
    """Who, what, when: per element and supplier, the tonnes bought and in which periods.

    Periods are grouped so that the table stays readable: one column per period up to 12
    periods, else calendar quarters (or years) of monthly labels such as ``2026-01``, else runs of
    consecutive periods.

    Returns
    -------
    DataFrame
        Index (element, supplier), suppliers bought from only, largest first within each element;
        columns ``country``, ``total_t``, ``first_period`` and ``last_period`` (bought in),
        ``periods_bought``, ``bundled_t`` (in concentrates; only for a portfolio with
        concentrates), then one ``<period or group>_t`` column per period or group of periods
        (t bought in it).

    Examples
    --------
    >>> import rareopt
    >>> table = purchase_plan_table(rareopt.solve(rareopt.load_example("tiny")))
    >>> table.loc["Nd"].columns.tolist()[:6]
    ['country', 'total_t', 'first_period', 'last_period', 'periods_bought', 'P1_t']
    """
    plan = result.plan
    labels = result.portfolio.period_labels
    keys = ["element", "supplier"]
    volume = plan["volume_t"].unstack("period").reindex(columns=labels).fillna(0.0)
    bought = volume > _BOUGHT_T
    out = pd.DataFrame(
        {
            "country": plan["country"].groupby(level=keys).first(),
            "total_t": volume.sum(axis=1),
            # idxmax finds the first True: the first period bought in, and from the end the last
            "first_period": bought.idxmax(axis=1),
            "last_period": bought.loc[:, ::-1].idxmax(axis=1),
            "periods_bought": bought.sum(axis=1),
        }
    )
    if result.tables.get("concentrates") is not None:
        out["bundled_t"] = plan["bundled_t"].groupby(level=keys).sum()
    for name, members in _period_groups(labels):
        out[f"{name}_t"] = volume[members].sum(axis=1)
    out = out[out["total_t"] > _BOUGHT_T]
    position = {e: k for k, e in enumerate(result.portfolio.elements)}
    element = out.index.get_level_values("element").map(position)
    return out.iloc[np.lexsort((-out["total_t"].to_numpy(), element.to_numpy()))]


def _period_groups(labels: list[str]) -> list[tuple[str, list[str]]]:
    """Columns for a table of periods: (name, periods in it), at most 12 where it can."""
    if len(labels) <= _MAX_PERIOD_COLUMNS:
        return [(label, [label]) for label in labels]
    if all(re.fullmatch(r"\d{4}-\d{2}", label) for label in labels):
        for name_of in (lambda p: f"{p[:4]} Q{(int(p[5:]) - 1) // 3 + 1}", lambda p: p[:4]):
            groups: dict[str, list[str]] = {}
            for label in labels:
                groups.setdefault(name_of(label), []).append(label)
            if len(groups) <= _MAX_PERIOD_COLUMNS:
                return list(groups.items())
    size = -(-len(labels) // _MAX_PERIOD_COLUMNS)
    runs = [labels[k : k + size] for k in range(0, len(labels), size)]
    return [(f"{run[0]}..{run[-1]}", run) for run in runs]


def _solved_by(result: Result) -> str:
    """Who set the status: progressive hedging's stopping rule, or HiGHS's last solve."""
    limited = result.status == SolveStatus.LIMIT_WITH_PLAN
    return "mpi-sppy" if limited and result.solver.get("method") == "ph" else "HiGHS"


def summary_text(result: Result, detail: bool = True) -> str:
    """The text behind ``Result.summary()``.

    With ``detail=False`` the cost terms one by one and the per element, share and criticality
    tables are left out: the briefing shows them as sections of their own, headers in words.
    """
    portfolio = result.portfolio
    labels = portfolio.period_labels
    lines = [
        f"rareopt plan: {portfolio.name} ({len(portfolio.elements)} elements, "
        f"{len(portfolio.suppliers)} suppliers, {len(labels)} periods {labels[0]} .. {labels[-1]})",
        f"status: {result.status.value} ({_solved_by(result)}: {result.solver_message})",
    ]
    t = result.timings
    if not result.ok:
        lines += [result.explanation, _timing_line(t)]
        return "\n".join(lines)
    checks = result.checks
    lines.append(
        f"independent check: passed ({int(checks['rows_checked'].sum())} constraints in "
        f"{len(checks)} families; largest excess {max(checks['max_excess'].max(), 0.0):.2g})"
    )
    by_kind = totals_by_kind(result.cost_terms)
    terms = result.cost_terms
    risk = terms.get("risk_measure", 0.0)
    lines.append(
        f"objective: {result.objective:,.0f} USD = spend {by_kind.get('spend', 0.0):,.0f} USD"
        f" + penalties {by_kind.get('penalty', 0.0):,.0f} USD (priced outcomes, not payments)"
        + (
            f" + expected recourse {terms['expected_recourse']:,.0f} USD (spend and penalties)"
            if "expected_recourse" in terms
            else ""
        )
        # The CVaR term is a risk price the objective adds, not a cost expected to be paid.
        + (f" + risk term {risk:,.0f} USD (weight x CVaR of the recourse)" if risk else "")
    )
    unmet = float(result.unmet["unmet_t"].sum())
    short = float(result.stock["shortfall_t"].sum())
    lines.append(
        f"service: {unmet:,.1f} t of demand unmet; {short:,.1f} t of stock below target, summed over periods"
    )
    solver = result.solver
    if solver.get("goals_weighted_from_in_order"):
        lines.append(
            "goals weighted: mpi-sppy decomposes one objective, so the portfolio's goals in "
            "order were solved and evaluated as `priorities: weighted` (engine='highs' solves "
            "them in order)"
        )
    if solver.get("engine") == "mpisppy" and solver.get("method") == "ph":
        lines.append(
            f"mpi-sppy PH on {solver['ranks']} rank{'s' if solver['ranks'] != 1 else ''}: "
            f"plan's cost {result.objective:,.0f} USD "
            f"(rareopt's evaluation), bounds {solver['outer_bound']:,.0f} .. "
            f"{solver['inner_bound']:,.0f} USD, gap {solver['bound_gap']:.2%}"
        )
    elif solver.get("engine") == "mpisppy":
        lines.append(f"mpi-sppy extensive form: {solver['ef_objective']:,.0f} USD")
    if solver.get("mip_gap") is not None:
        lines.append(
            f"MIP: best bound {solver['mip_dual_bound']:,.0f} USD, gap {solver['mip_gap']:.2%}, "
            f"{solver['mip_nodes']:,} nodes"
        )
    if detail:
        for term, kind, value in result.costs.itertuples(index=False):
            lines.append(f"  {term:<18} {value:>20,.0f}  {kind}")
    lines.append(_timing_line(t))
    if detail:
        with pd.option_context(
            "display.width",
            120,
            "display.max_columns",
            20,
            "display.float_format",
            "{:,.1f}".format,
        ):
            lines += ["", "per element (over the horizon):", element_overview(result).to_string()]
            lines += [
                "",
                "share of purchases by country, % (over the horizon):",
                country_share_matrix(result).to_string(),
            ]
            for kind in ("country", "supplier"):
                caps = getattr(portfolio.policy, f"{kind}_caps")
                if len(caps):
                    # By name: a cap table's column order follows the records it was given.
                    listed = ", ".join(
                        (f"every {kind}" if r[kind] == ALL else r[kind])
                        + f" {r['max_share']:.0%}"
                        + ("" if r["element"] == ALL else f" ({r['element']})")
                        for r in caps.to_dict("records")
                    )
                    lines.append(f"{kind} caps ({portfolio.policy.cap_basis} basis): {listed}")
            caps = portfolio.policy.stage_caps
            if len(caps):
                listed = ", ".join(
                    f"{r['holder']} {r['max_share']:.0%} at {r['stage']}"
                    + ("" if r["element"] == ALL else f" ({r['element']})")
                    for r in caps.to_dict("records")
                )
                lines.append(f"stage caps ({portfolio.policy.cap_basis} basis): {listed}")
            lines += [
                "",
                "largest country's share at each stage, over the horizon (any: of the tonnes "
                "delivered, those that touch the country at some stage):",
                stage_leaders(result).to_string(),
                "",
                "HHI of the countries as sellers and at each stage, over the horizon (0-10,000):",
                stage_concentration(result).to_string(float_format=lambda v: f"{v:,.0f}"),
            ]
            home = portfolio.criticality.home_country
            lines += [
                "",
                "criticality, plan vs capacity on offer (market_), over the horizon"
                + (f"; import reliance against {home}" if home else "")
                + ":",
                criticality_table(result).to_string(),
            ]
    concentrates = result.tables.get("concentrates")
    if concentrates is not None:
        surplus = result.tables["surplus"].groupby(level="element", sort=False)["surplus_t"].sum()
        surplus = surplus[surplus > 1e-6]
        listed = ", ".join(f"{e} {v:,.1f} t" for e, v in surplus.items()) or "none"
        lines += [
            "",
            f"concentrates: {concentrates['volume_t'].sum():,.1f} t REO for "
            f"{concentrates['cost_usd'].sum():,.0f} USD; surplus sold or disposed of (bought only "
            f"because it came bundled): {listed}",
        ]
    contracts = result.tables.get("contracts")
    if contracts is not None:
        signed = contracts[contracts["contracted"]]
        lines += [
            "",
            f"contracts: {len(signed)} of {len(contracts)} offers contracted, "
            f"{signed['cost_usd'].sum():,.0f} USD in contract costs",
        ]
    if result.scenarios is not None:
        lines += [
            "",
            "disruption scenarios (recourse: cost beyond the nominal plan):",
            result.scenarios.summary(),
        ]
    # Within the independent check's tolerance is none: the goals are held to a millionth of a t.
    unmet = result.unmet["unmet_t"]
    if unmet.sum() > tolerance(result.portfolio):
        lines.append(f"WARNING: {unmet.sum():,.1f} t of demand unmet; see result.unmet")
    short = result.stock["shortfall_t"]
    if short.sum() > tolerance(result.portfolio):
        worst = result.stock.loc[short.idxmax()]
        lines.append(
            f"note: stock below target in {int((short > 1e-9).sum())} element-periods "
            f"(largest {short.max():,.1f} t, {short.idxmax()[0]} {short.idxmax()[1]}, "
            f"target {worst['target_t']:,.1f} t)"
        )
        if result.portfolio.policy.priorities == WEIGHTED:
            lines.append(
                "note: priorities: weighted lets stock fall short wherever a tonne costs more than "
                "its target penalty saves; the default priorities reach every target any plan can"
            )
    return "\n".join(lines)


def _timing_line(t: dict) -> str:
    names = (
        ("build_seconds", "build"),
        ("handoff_seconds", "hand-off"),
        ("solve_seconds", "HiGHS"),
        ("extract_seconds", "extract+check"),
    )
    parts = [f"{label} {t[key]:.3f} s" for key, label in names if key in t and np.isfinite(t[key])]
    return "time: " + ", ".join(parts)

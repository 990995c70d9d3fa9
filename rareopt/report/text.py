"""Readable text summaries of a result."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rareopt.analysis.criticality import criticality_overview
from rareopt.inputs.tables import ALL
from rareopt.model.formulation import totals_by_kind

if TYPE_CHECKING:
    from rareopt.results.result import Result

__all__ = ["summary_text", "element_overview", "country_share_matrix", "criticality_table"]


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
    shares = _select(result.shares, period=ALL, by="country")["share"]
    matrix = (100 * shares).unstack("holder").fillna(0.0).rename_axis(columns="country")
    order = matrix.mean().sort_values(ascending=False).index
    return matrix[order].reindex(result.portfolio.elements).dropna(how="all")


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
    per_period = _select(result.shares, by="country")
    per_period = per_period[per_period.index.get_level_values("period") != ALL]
    largest = per_period["share"].groupby(level="element", sort=False).max()
    last = stock.groupby(level="element", sort=False).tail(1).droplevel("period")
    out = pd.DataFrame(
        {
            "bought_t": plan["volume_t"].groupby(level="element", sort=False).sum(),
            "unmet_t": unmet["unmet_t"].groupby(level="element", sort=False).sum(),
            "max_period_country_share_%": 100 * largest,
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


def summary_text(result: Result) -> str:
    """The text behind ``Result.summary()``."""
    portfolio = result.portfolio
    labels = portfolio.period_labels
    lines = [
        f"rareopt plan: {portfolio.name} ({len(portfolio.elements)} elements, "
        f"{len(portfolio.suppliers)} suppliers, {len(labels)} periods {labels[0]} .. {labels[-1]})",
        f"status: {result.status.value} (HiGHS: {result.solver_message})",
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
    lines.append(
        f"objective: {result.objective:,.0f} USD = spend {by_kind.get('spend', 0.0):,.0f} USD"
        f" + penalties {by_kind.get('penalty', 0.0):,.0f} USD (priced outcomes, not payments)"
        + (
            f" + recourse {by_kind['recourse']:,.0f} USD (expected, spend and penalties)"
            if "recourse" in by_kind
            else ""
        )
    )
    unmet = float(result.unmet["unmet_t"].sum())
    short = float(result.stock["shortfall_t"].sum())
    lines.append(
        f"service: {unmet:,.1f} t of demand unmet; {short:,.1f} t-periods of stock below target"
    )
    solver = result.solver
    if solver.get("engine") == "mpisppy" and solver.get("method") == "ph":
        lines.append(
            f"mpi-sppy PH on {solver['ranks']} ranks: plan's cost {result.objective:,.0f} USD "
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
    for term, kind, value in result.costs.itertuples(index=False):
        lines.append(f"  {term:<18} {value:>20,.0f}  {kind}")
    lines.append(_timing_line(t))
    with pd.option_context(
        "display.width", 120, "display.max_columns", 20, "display.float_format", "{:,.1f}".format
    ):
        lines += ["", "per element (over the horizon):", element_overview(result).to_string()]
        lines += [
            "",
            "share of purchases by country, % (over the horizon):",
            country_share_matrix(result).to_string(),
        ]
        caps = portfolio.policy.country_caps
        if len(caps):
            listed = ", ".join(
                f"{c} {s:.0%}" + ("" if e == ALL else f" ({e})")
                for c, e, s in caps.itertuples(index=False)
            )
            lines.append(f"country caps ({portfolio.policy.cap_basis} basis): {listed}")
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
    unmet = result.unmet["unmet_t"]
    if (unmet > 0).any():
        lines.append(f"WARNING: {unmet.sum():,.1f} t of demand unmet; see result.unmet")
    short = result.stock["shortfall_t"]
    if (short > 1e-9).any():
        worst = result.stock.loc[short.idxmax()]
        lines.append(
            f"note: stock below target in {int((short > 1e-9).sum())} element-periods "
            f"(largest {short.max():,.1f} t, {short.idxmax()[0]} {short.idxmax()[1]}, "
            f"target {worst['target_t']:,.1f} t)"
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

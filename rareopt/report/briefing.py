"""One-page briefings (HTML or Markdown) and side-by-side comparisons of results."""

from __future__ import annotations

import base64
import html
import io
import os
from typing import TYPE_CHECKING

import pandas as pd

from rareopt.analysis.marginal import cost_of_diversification
from rareopt.exceptions import NoPlanError
from rareopt.files import written_whole
from rareopt.model.formulation import totals_by_kind
from rareopt.report.text import country_share_matrix, criticality_table, element_overview

if TYPE_CHECKING:
    from rareopt.results.result import Result

__all__ = ["write_report", "compare", "SECTIONS"]

SECTIONS = (
    "Summary",
    "Cost",
    "Per element",
    "Shares by country",
    "Criticality",
    "Cost of diversification",
    "Figures",
)
"""The report's sections, in order."""


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
    DataFrame
        Index (section, item): ``cost`` rows (USD: objective, spend and penalties apart, and
        each term), ``service`` rows (unmet demand and stock below target, t), ``share %`` rows
        (element / country, over the horizon) and ``hhi`` rows (per element); columns the two names
        and ``difference`` (b - a).

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
    shares = out.index.get_level_values(0) != "hhi"
    out.loc[shares] = out.loc[shares].fillna(0.0)
    out["difference"] = out[names[1]] - out[names[0]]
    return out.rename_axis(["section", "item"])


def _figures(result: Result) -> list[tuple[str, bytes]]:
    """PNG images of the HHI and of each element's purchases (empty without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from rareopt.report.plots import plot_hhi, plot_imports_by_country
    except ImportError:
        return []
    drawn = [("HHI by element", plot_hhi(result))]
    drawn += [
        (f"{e}: purchases by country", plot_imports_by_country(result, e))
        for e in result.portfolio.elements
    ]
    images = []
    for title, ax in drawn:
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png", dpi=90)
        plt.close(ax.figure)
        images.append((title, buffer.getvalue()))
    return images


def _tables(result: Result) -> dict[str, pd.DataFrame]:
    tables = {
        "Cost": pd.concat([pd.Series({"objective": result.objective}), result.cost_terms]).to_frame(
            "USD"
        ),
        "Per element": element_overview(result),
        "Shares by country": country_share_matrix(result),
        "Criticality": criticality_table(result),
    }
    try:
        diversification = cost_of_diversification(result)
    except NoPlanError as exc:  # no marginal values for this result: say so, do not crash
        note = f"not available: {exc.explanation}"
        tables["Cost of diversification"] = pd.DataFrame({"note": [note]})
        return tables
    tables["Cost of diversification"] = (
        diversification.groupby(level=["country", "element"])["usd_per_point_tighter"]
        .sum()
        .to_frame("USD per point tighter (marginal), summed over periods")
    )
    return tables


def write_report(result: Result, path: str) -> str:
    """Write a one-page briefing: summary, key tables and figures.

    ``.html`` gives one self-contained page (figures embedded); ``.md`` gives Markdown with the
    figures saved as PNG files next to it. Figures need the ``plot`` extra; without it the report
    has the tables only.

    Examples
    --------
    >>> import tempfile, os, rareopt
    >>> path = write_report(rareopt.solve(rareopt.load_example("tiny")),
    ...                     os.path.join(tempfile.mkdtemp(), "brief.md"))
    >>> "## Cost of diversification" in open(path).read()
    True
    """
    result.raise_for_status()
    markdown = path.lower().endswith(".md")
    if not (markdown or path.lower().endswith((".html", ".htm"))):
        raise ValueError(f"report path: got {path!r}; allowed: a name ending in .html or .md")
    title = f"rareopt briefing: {result.portfolio.name}"
    tables = _tables(result)
    figures = _figures(result)
    fmt = "{:,.1f}".format
    if markdown:
        parts = [f"# {title}", "## Summary", "```", result.summary(), "```"]
        for name, table in tables.items():
            parts += [
                f"## {name}",
                table.to_markdown(floatfmt=",.1f")
                if _has_tabulate()
                else "```\n" + table.to_string(float_format=fmt) + "\n```",
            ]
        parts.append("## Figures")
        stem = os.path.splitext(path)[0]
        for k, (caption, png) in enumerate(figures):
            image = f"{stem}_fig{k}.png"
            with written_whole(image) as part, open(part, "wb") as handle:
                handle.write(png)
            parts.append(f"![{caption}]({os.path.basename(image)})")
        text = "\n\n".join(parts) + "\n"
    else:
        parts = [
            f"<h1>{html.escape(title)}</h1>",
            "<h2>Summary</h2>",
            f"<pre>{html.escape(result.summary())}</pre>",
        ]
        for name, table in tables.items():
            parts += [f"<h2>{html.escape(name)}</h2>", table.to_html(float_format=fmt)]
        parts.append("<h2>Figures</h2>")
        for caption, png in figures:
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        style = (
            "body{font-family:sans-serif;max-width:1100px;margin:auto}"
            "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:right}"
        )
        text = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>"
        )
    with written_whole(path) as part, open(part, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True

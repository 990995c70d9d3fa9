"""Notebook display: a compact HTML block (a few lines, then one key table), not a dump.

Shared by every layer (it imports none): ``Portfolio``, ``Result``, scenario outcomes and
simulations render themselves in Jupyter through their ``_repr_html_``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

__all__ = ["html_block"]


def html_block(
    title: str, lines: Sequence[str], table: pd.DataFrame | None = None, decimals: int = 1
) -> str:
    """``title`` in bold, ``lines`` as paragraphs, then ``table`` (at most 20 rows) as HTML.

    Numbers in the table are shown with thousands separators and ``decimals`` decimals; a line
    of several lines (a list of conflicts) keeps its line breaks.

    Examples
    --------
    >>> block = html_block("tiny", ["3 periods"], pd.DataFrame({"t": [1234.5]}))
    >>> "<b>tiny</b>" in block and "1,234.5" in block
    True
    """
    parts = [f"<div><p><b>{html.escape(title)}</b></p>"]
    parts += [
        f"<pre>{html.escape(line)}</pre>" if "\n" in line else f"<p>{html.escape(line)}</p>"
        for line in lines
    ]
    if table is not None and len(table):
        shown = table.head(20)
        # + 0.0: -0.0 shows as 0.
        parts.append(shown.to_html(float_format=lambda v: f"{v + 0.0:,.{decimals}f}", border=0))
        if len(table) > len(shown):
            parts.append(f"<p>({len(table) - len(shown)} more rows)</p>")
    parts.append("</div>")
    return "\n".join(parts)

"""Row keys of the layout tables, the index tuples of the model's components."""

from __future__ import annotations

import pandas as pd

__all__ = ["row_keys"]


def row_keys(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    """The rows' keys as tuples, e.g. ``row_keys(buy, "element", "supplier", "period")``.

    Through plain lists: zipping pandas string columns directly costs a Python call per cell.

    Examples
    --------
    >>> row_keys(pd.DataFrame({"a": ["x"], "b": ["y"]}), "a", "b")
    [('x', 'y')]
    """
    return list(zip(*(frame[c].tolist() for c in columns)))

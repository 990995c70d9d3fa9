"""Progress bars for long runs (frontiers, solver-settings benchmarks)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TypeVar

from tqdm.auto import tqdm

__all__ = ["progress_bar"]

T = TypeVar("T")


def progress_bar(
    items: Sequence[T], show: bool | None, label: str, unit: str = "it"
) -> Iterable[T]:
    """``items``, wrapped in a tqdm bar when asked to (``show``) or, by default, on a terminal.

    Examples
    --------
    >>> list(progress_bar([1, 2], show=False, label="points"))
    [1, 2]
    """
    if not (sys.stderr.isatty() if show is None else show):
        return items
    return tqdm(items, desc=label, unit=unit)

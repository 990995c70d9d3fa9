"""Progress bars for long runs: frontiers, stress tests, two-stage solves, EVPI/VSS, benchmarks.

Shown on a terminal (stderr) by default, never when output is piped or with ``progress=False``.
Shared by every layer (it imports none): the solver side ticks a bar while HiGHS runs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from tqdm.auto import tqdm

__all__ = ["progress_bar", "Stages"]

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
    if not _shown(show):
        return items
    return tqdm(items, desc=label, unit=unit)


def _shown(show: bool | None) -> bool:
    return sys.stderr.isatty() if show is None else bool(show)


class Stages:
    """A bar over the stages of one run (building, solving, checking), ticking while one waits.

    Parameters
    ----------
    show : bool or None
        Show it (None: only on a terminal).
    label : str
        What runs, e.g. "stress test".
    steps : sequence of str
        The stages, in order.

    Examples
    --------
    >>> with Stages(False, "solve", ["building", "solving"]) as stages:
    ...     stages.next()
    >>> stages.done
    1
    """

    def __init__(self, show: bool | None, label: str, steps: Sequence[str]) -> None:
        self.label, self.steps, self.done = label, list(steps), 0
        self._bar: Any = None
        self._last = 0.0
        if _shown(show):
            self._bar = tqdm(total=len(self.steps), desc=self._describe(), unit="stage")

    def _describe(self) -> str:
        step = self.steps[min(self.done, len(self.steps) - 1)]
        return f"{self.label}: {step}"

    def next(self) -> None:
        """The current stage is done; the next begins."""
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)
            # Shown at once: the stage now running is what a long wait is waiting on, and a
            # quick earlier stage would otherwise leave the bar naming it.
            self._bar.set_description(self._describe(), refresh=True)

    def tick(self) -> None:
        """Refresh the bar (its elapsed time) at most twice a second: called while waiting."""
        now = time.monotonic()
        if self._bar is not None and now - self._last > 0.5:
            self._last = now
            self._bar.refresh()

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

"""The model re-solved period by period in a rolling simulation: the base model and a spot market.

:func:`rareopt.simulate` re-plans each period with what has been observed. To react as the
two-stage recourse can, it may buy on the emergency (spot) market once a disruption of the element
has begun: ``emergency[e, s, p]`` y, one column per purchase, in the balance where the purchase
would arrive and outside every cap (as the recourse's spot purchases), with ``emergency_room``:
x + y <= what the offer delivers that period. Bounds and costs are the simulation's to set, period
by period; every column starts closed (y <= 0).
"""

from __future__ import annotations

import numpy as np

from rareopt.model.formulation import base_builder, ep_index
from rareopt.model.layout import ModelLayout
from rareopt.model.lp import LinearProgram

__all__ = ["ROLLING_COLUMNS", "ROLLING_ROWS", "assemble_rolling"]

ROLLING_COLUMNS = ("emergency",)
"""Column families the rolling model adds to the base model."""
ROLLING_ROWS = ("emergency_room",)
"""Row families the rolling model adds."""


def assemble_rolling(layout: ModelLayout) -> LinearProgram:
    """The base model's arrays with the emergency market's families (closed until opened).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> lp = assemble_rolling(make_layout(load_example("tiny")))
    >>> len(lp.col_blocks["emergency"].positions) == len(lp.col_blocks["buy"].positions)
    True
    """
    b, terms = base_builder(layout)
    buy = layout.buy
    key = ("element", "supplier", "period")
    n = len(buy)
    column = b.columns("emergency", buy[list(key)], key, 0.0, 0.0)
    arrives = ep_index(layout, buy[["element", "arrival"]].rename(columns={"arrival": "period"}))
    b.add_entries("balance", arrives, column + np.arange(n), 1.0)
    b.rows(
        "emergency_room",
        buy[list(key)],
        key,
        -np.inf,
        buy["capacity_t"].to_numpy(float),
        (np.arange(n), b.start["buy"] + np.arange(n), 1.0),
        (np.arange(n), column + np.arange(n), 1.0),
    )
    return b.build(terms)

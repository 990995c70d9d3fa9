"""Why a portfolio has no plan, in the analyst's terms.

HiGHS computes an irreducible infeasible subset (IIS): constraints and bounds that cannot all hold,
where dropping any one lets the rest hold. Each member is mapped back to the portfolio (which cap,
element, period, supplier) and, for the members an analyst can change (caps, hard stock targets,
capacities, storage room, their own constraints), a small LP finds the smallest relaxation of that
member alone that restores feasibility.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import pandas as pd

from rareopt.model.layout import ModelLayout
from rareopt.model.lp import LinearProgram
from rareopt.solving.highs import HighsSession
from rareopt.status import SolveStatus

__all__ = ["explain_infeasibility", "Infeasibility"]


@dataclass
class Infeasibility:
    """An explanation: ``conflicts`` (one row per IIS member) and ``text`` to read."""

    conflicts: pd.DataFrame
    text: str


def _relax(
    lp: LinearProgram, row: int | None = None, col: int | None = None, sign: float = 1.0
) -> tuple[float, np.ndarray] | tuple[None, None]:
    """Smallest relaxation of one row, or of one column's upper bound, that makes the LP feasible.

    A row gets a slack column with coefficient ``sign``; every other constraint is kept. Returns
    (amount, solution), or (None, None) if relaxing this member alone is not enough.
    """
    # Its own copies of the arrays the session edits: the caller's LP stays as it is.
    session = HighsSession(
        replace(
            lp,
            cost=np.zeros_like(lp.cost),
            col_lower=lp.col_lower.copy(),
            col_upper=lp.col_upper.copy(),
            _positions={},
        )
    )
    if row is not None:
        session.add_column(1.0, 0.0, np.inf, [row], [sign])
    else:
        col = cast(int, col)  # one of row and col is given
        session.set_col_bounds([col], [lp.col_lower[col]], [np.inf])
        session.set_costs([col], [1.0])
    if session.run().status != SolveStatus.OPTIMAL:
        return None, None
    x = session.solution()
    amount = x[-1] if row is not None else x[col] - lp.col_upper[col]
    return max(float(amount), 0.0), x


def explain_infeasibility(layout: ModelLayout, lp: LinearProgram) -> Infeasibility | None:
    """Compute an IIS of an infeasible compiled model and say it in domain terms.

    Returns None when HiGHS cannot produce an IIS (the caller keeps the generic explanation).

    Examples
    --------
    >>> import rareopt
    >>> p = rareopt.load_example("tiny").with_policy(hard_stock_targets=True)
    >>> p = p.replace_tables(stockpile=p.stockpile.assign(capacity_t=1.0, initial_t=0.0))
    >>> r = rareopt.solve(p)
    >>> "stock target" in r.explanation
    True
    """
    iis = HighsSession(lp).iis()
    if iis is None:
        return None
    ep = layout.element_period.set_index(["element", "period"])
    caps = {"country": layout.country_caps, "supplier": layout.supplier_caps}
    shares = {
        kind: frame.set_index(["element", kind, "period"])["max_share"]
        for kind, frame in caps.items()
    }
    rows = []
    for r in iis.rows:
        rows.append(_row_conflict(lp, r, ep, shares))
    for j, bound in zip(iis.cols, iis.col_bounds):
        rows.append(_col_conflict(lp, j, bound))
    conflicts = pd.DataFrame([c for c in rows if c is not None])
    lines = [
        "No plan satisfies every constraint. These conflict (an irreducible infeasible subset: "
        "drop any one and the rest can hold):"
    ]
    c: Any  # a row of conflicts: its columns as attributes
    for c in conflicts.itertuples(index=False):
        where = f"{c.element}, {c.period}: " if c.element else ""
        fix = f" -> {c.relaxation}" if isinstance(c.relaxation, str) else ""
        lines.append(f"  - {where}{c.description}{fix}")
    return Infeasibility(conflicts=conflicts, text="\n".join(lines))


def _conflict(
    kind: str,
    element: str,
    period: str,
    holder: str,
    description: str,
    relaxation: str | None = None,
) -> dict[str, str | None]:
    return {
        "kind": kind,
        "element": element,
        "period": period,
        "holder": holder,
        "description": description,
        "relaxation": relaxation,
    }


def _row_conflict(
    lp: LinearProgram, r: int, ep: pd.DataFrame, shares: dict[str, pd.Series]
) -> dict[str, str | None] | None:
    name, key, label = lp.row_label(r)
    if name == "purchases":
        return None  # the definition of total purchases; nothing to relax
    if name == "balance":
        e, p = key
        return _conflict(
            "demand", e, p, "", f"demand {cast(float, ep.at[(e, p), 'demand_t']):,.1f} t"
        )
    if name == "stock_target":
        e, p = key
        row = ep.loc[(e, p)]
        amount, _ = _relax(lp, row=r, sign=1.0)
        daily = row["demand_t"] / row["days"]
        fix = (
            None
            if amount is None
            else (
                f"lowering it alone by {amount:,.1f} t ({amount / daily:,.1f} days) restores feasibility"
                if daily > 0
                else f"lowering it alone by {amount:,.1f} t restores feasibility"
            )
        )
        return _conflict(
            "hard stock target",
            e,
            p,
            "",
            f"hard stock target {row['target_t']:,.1f} t ({row['target_days']:g} days)",
            fix,
        )
    if name in ("country_cap", "supplier_cap"):
        kind = name.split("_")[0]
        e, holder, p = key
        share = shares[kind].get((e, holder, p), np.nan)
        amount, _ = _relax(lp, row=r, sign=-1.0)
        fix = None
        if amount is not None:
            fix = f"allowing {amount:,.1f} t more from {holder} alone restores feasibility"
        return _conflict(
            f"{kind} cap", e, p, holder, f"{holder} capped at {share:.0%} of {e}'s purchases", fix
        )
    at_most = np.isfinite(lp.row_upper[r]) and not np.isfinite(lp.row_lower[r])
    amount, _ = _relax(lp, row=r, sign=-1.0 if at_most else 1.0)
    fix = None if amount is None else f"relaxing it alone by {amount:,.3g} restores feasibility"
    return _conflict("your constraint", "", "", "", f"constraint {label}", fix)


def _col_conflict(lp: LinearProgram, j: int, bound: str) -> dict[str, str | None] | None:
    name, key, label = lp.col_label(j)
    upper = bound in ("upper", "boxed")
    if name == "buy" and upper:
        e, s, p = key
        amount, _ = _relax(lp, col=j)
        fix = (
            None if amount is None else f"{amount:,.1f} t more capacity alone restores feasibility"
        )
        return _conflict(
            "capacity", e, p, s, f"{s} can supply at most {lp.col_upper[j]:,.1f} t", fix
        )
    if name == "stock" and upper:
        e, p = key
        amount, _ = _relax(lp, col=j)
        fix = None if amount is None else f"{amount:,.1f} t more storage alone restores feasibility"
        return _conflict("storage room", e, p, "", f"storage room {lp.col_upper[j]:,.1f} t", fix)
    if name == "unmet" and upper:
        e, p = key
        return _conflict(
            "unmet demand",
            e,
            p,
            "",
            f"unmet demand cannot exceed demand ({lp.col_upper[j]:,.1f} t)",
        )
    if name in ("buy", "stock", "bought", "unmet", "shortfall"):
        return None  # non-negativity: nothing to relax
    side = "upper" if upper else "lower"
    return _conflict("your bound", "", "", "", f"{side} bound of {label}")


def infeasible_status(status: SolveStatus) -> bool:
    """True for the statuses an IIS can explain."""
    return status in (SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE_OR_UNBOUNDED)

"""Why a portfolio has no plan, in the analyst's terms.

HiGHS computes an irreducible infeasible subset (IIS): constraints and bounds that cannot all hold,
where dropping any one lets the rest hold. Each member is mapped back to the portfolio (which cap,
element, period, supplier) and, for the members an analyst can change (caps, hard stock targets,
capacities, storage room, their own constraints), a small LP finds the smallest relaxation of that
member alone that restores feasibility.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from rareopt.model.layout import ModelLayout
from rareopt.model.lp import LinearProgram
from rareopt.solving.highs import HighsSession, SolveOptions
from rareopt.status import SolveStatus

__all__ = ["explain_infeasibility", "Infeasibility", "elastic_relaxation"]


@dataclass
class Infeasibility:
    """An explanation: ``conflicts`` (one row per IIS member), ``relaxation`` and ``text``.

    ``relaxation`` is the smallest total relaxation of the conflicting families, across all
    periods, that restores a plan (:func:`elastic_relaxation`), or None if none does.
    """

    conflicts: pd.DataFrame
    relaxation: pd.DataFrame | None
    text: str


def _elastic(
    lp: LinearProgram, rows: list[int], signs: list[float], cols: list[int]
) -> np.ndarray | None:
    """The solution of ``lp`` with ``rows`` and ``cols``' upper bounds made elastic, or None.

    Row ``rows[i]`` gets a slack column with coefficient ``signs[i]``; column ``cols[j]``'s upper
    bound becomes a row y - e <= upper. The slacks (in the rows' and columns' own units) are
    minimised with every other constraint kept; they follow the model's columns in the solution,
    rows' slacks first. None if these relaxations cannot make the LP feasible.
    """
    m, n = lp.matrix.shape
    k, q = len(rows), len(cols)
    slack = sp.csc_matrix((signs, (rows, np.arange(k))), shape=(m, k))
    bound_rows = sp.csc_matrix((np.ones(q), (np.arange(q), cols)), shape=(q, n))
    matrix = sp.csc_matrix(
        sp.vstack(
            [
                sp.hstack([lp.matrix, slack, sp.csc_matrix((m, q))]),
                sp.hstack([bound_rows, sp.csc_matrix((q, k)), -sp.identity(q)]),
            ]
        )
    )
    col_upper = lp.col_upper.copy()
    col_upper[cols] = np.inf
    elastic = LinearProgram(
        cost=np.concatenate([np.zeros(n), np.ones(k + q)]),
        offset=0.0,
        matrix=matrix,
        col_lower=np.concatenate([lp.col_lower, np.zeros(k + q)]),
        col_upper=np.concatenate([col_upper, np.full(k + q, np.inf)]),
        row_lower=np.concatenate([lp.row_lower, np.full(q, -np.inf)]),
        row_upper=np.concatenate([lp.row_upper, lp.col_upper[cols]]),
        integrality=np.concatenate([lp.integrality, np.zeros(k + q, dtype=lp.integrality.dtype)]),
    )
    output = HighsSession(elastic, SolveOptions(time_limit=60.0)).run()
    return output.x


def _relax(
    lp: LinearProgram, row: int | None = None, col: int | None = None, sign: float = 1.0
) -> float | None:
    """Smallest relaxation of one row, or of one column's upper bound, that makes the LP feasible.

    The amount, or None if relaxing this member alone is not enough.
    """
    rows, cols = ([row], []) if row is not None else ([], [cast(int, col)])
    x = _elastic(lp, rows, [sign] * len(rows), cols)
    return None if x is None else max(float(x[lp.matrix.shape[1]]), 0.0)


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
    # A goal held at a positive optimum (demand that cannot all be met even without the hard
    # targets) moves when capacities or caps change, so holding it fixed, only lower targets are
    # sure remedies; a goal at zero stays there whatever is relaxed.
    goals = lp.row_blocks.get("priority")
    moving_goal = goals is not None and bool((lp.row_upper[goals.positions] > 1e-3).any())
    rows = []
    for r in iis.rows:
        rows.append(_row_conflict(lp, r, ep, shares, moving_goal))
    for j, bound in zip(iis.cols, iis.col_bounds):
        rows.append(_col_conflict(lp, j, bound, moving_goal))
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
    members = {lp.row_label(r)[0] for r in iis.rows} | {lp.col_label(j)[0] for j in iis.cols}
    families = members & (set(_RELAXABLE_ROWS) | set(_RELAXABLE_BOUNDS) | {""})
    # Nothing changeable in the subset (demand against its own limits): try every lever.
    levers = families or set(_RELAXABLE_ROWS) | set(_RELAXABLE_BOUNDS)
    if moving_goal:
        levers = {"stock_target"}
    relaxation = elastic_relaxation(lp, levers, ep["demand_t"] / ep["days"])
    if relaxation is not None and len(relaxation):
        lines.append(
            "The smallest total change of the kinds above (capacities, caps, targets, storage), "
            "over every element and period, that restores a plan (amounts rounded up):"
        )
        lines += [f"  - {text}" for text in relaxation["relaxation"]]
    return Infeasibility(conflicts=conflicts, relaxation=relaxation, text="\n".join(lines))


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
    lp: LinearProgram,
    r: int,
    ep: pd.DataFrame,
    shares: dict[str, pd.Series],
    moving_goal: bool = False,
) -> dict[str, str | None] | None:
    name, key, label = lp.row_label(r)
    if name == "purchases":
        return None  # the definition of total purchases; nothing to relax
    if name == "priority":
        (goal,) = key
        what = {
            "demand": "unmet demand than the best plan's ({:,.1f} t, each element's weighted by "
            "its shortage penalty over the smallest)",
            "stock_targets": "stock below target than the best plan's ({:,.1f} t summed over "
            "periods, each element's weighted by its target penalty over the smallest)",
        }[goal].format(max(lp.row_upper[r], 0.0))
        return _conflict(
            f"{goal.replace('_', ' ')} first",
            "",
            "",
            "",
            f"no more {what}: hard targets may not short demand a plan would meet",
        )
    if name == "balance":
        e, p = key
        return _conflict(
            "demand", e, p, "", f"demand {cast(float, ep.at[(e, p), 'demand_t']):,.1f} t"
        )
    if name == "stock_target":
        e, p = key
        row = ep.loc[(e, p)]
        amount = _relax(lp, row=r, sign=1.0)
        daily = row["demand_t"] / row["days"]
        fix = (
            None
            if amount is None
            else (
                f"lowering it alone by {_up(amount)} t ({_up(amount / daily)} days) restores feasibility"
                if daily > 0
                else f"lowering it alone by {_up(amount)} t restores feasibility"
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
        amount = None if moving_goal else _relax(lp, row=r, sign=-1.0)
        fix = None
        if amount is not None:
            fix = f"allowing {_up(amount)} t more from {holder} alone restores feasibility"
        return _conflict(
            f"{kind} cap", e, p, holder, f"{holder} capped at {share:.0%} of {e}'s purchases", fix
        )
    at_most = np.isfinite(lp.row_upper[r]) and not np.isfinite(lp.row_lower[r])
    amount = None if moving_goal else _relax(lp, row=r, sign=-1.0 if at_most else 1.0)
    fix = None if amount is None else f"relaxing it alone by {amount:,.3f} restores feasibility"
    return _conflict("your constraint", "", "", "", f"constraint {label}", fix)


def _col_conflict(
    lp: LinearProgram, j: int, bound: str, moving_goal: bool = False
) -> dict[str, str | None] | None:
    name, key, label = lp.col_label(j)
    upper = bound in ("upper", "boxed")
    if name == "buy" and upper:
        e, s, p = key
        amount = None if moving_goal else _relax(lp, col=j)
        fix = (
            None if amount is None else f"{_up(amount)} t more capacity alone restores feasibility"
        )
        return _conflict(
            "capacity", e, p, s, f"{s} can supply at most {lp.col_upper[j]:,.1f} t", fix
        )
    if name == "stock" and upper:
        e, p = key
        amount = None if moving_goal else _relax(lp, col=j)
        fix = None if amount is None else f"{_up(amount)} t more storage alone restores feasibility"
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


def _up(amount: float) -> str:
    """An amount rounded *up* for print (0.84 t shows as 0.9, not 0.8): applied, it still works.

    The solver's last digits are not rounded up (40.0000001 t shows as 40.0).
    """
    if amount >= 1:
        return f"{math.ceil(amount * 10 - 1e-6) / 10:,.1f}"
    if amount >= 1e-3:
        return f"{math.ceil(amount * 1000 - 1e-6) / 1000:.3f}"
    return f"{amount:.2g}"


def infeasible_status(status: SolveStatus) -> bool:
    """True for the statuses an IIS can explain."""
    return status in (SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE_OR_UNBOUNDED)


_RELAXABLE_ROWS = {
    # family: (sense to relax, what the slack is, in words)
    "stock_target": (1.0, "hard stock target"),
    "country_cap": (-1.0, "country cap"),
    "supplier_cap": (-1.0, "supplier cap"),
    "group_cap": (-1.0, "group cap"),
    "group_floor": (1.0, "group floor"),
}
_RELAXABLE_BOUNDS = {"buy": "capacity", "stock": "storage room"}


def elastic_relaxation(
    lp: LinearProgram, families: set[str], daily_demand_t: pd.Series
) -> pd.DataFrame | None:
    """The smallest total relaxation, in tonnes, of ``families`` that restores a plan.

    Every row of the relaxable row families named (stock targets, caps, floors; across all
    periods) gets a slack column, and every purchase (``buy``) or ``stock`` upper bound named gets
    an elastic one; one LP minimises the slacks' sum. Unlike relaxing one IIS member alone, the
    result always restores a plan when these families are the cause. ``""`` in ``families``
    relaxes the user's own rows too. ``daily_demand_t`` (by element and period) turns a target's
    tonnes into days.

    Returns
    -------
    DataFrame or None
        One row per relaxed member: kind, element, period, holder, amount_t and, for caps and
        floors, points (share points at the relaxed plan's purchases) and for stock targets
        days; None if relaxing these families cannot restore a plan.
    """
    rows: list[int] = []
    signs: list[float] = []
    for name, (sign, _) in _RELAXABLE_ROWS.items():
        if name in families and name in lp.row_blocks:
            positions = lp.row_blocks[name].positions
            rows += positions[positions >= 0].tolist()
            signs += [sign] * int((positions >= 0).sum())
    if "" in families:
        known = set()
        for block in lp.row_blocks.values():
            known.update(block.positions.tolist())
        for r in range(lp.matrix.shape[0]):
            if r not in known:
                for sign, bound in ((-1.0, lp.row_upper[r]), (1.0, lp.row_lower[r])):
                    if np.isfinite(bound):
                        rows.append(r)
                        signs.append(sign)
    cols: list[int] = []
    for name in _RELAXABLE_BOUNDS:
        if name in families and name in lp.col_blocks:
            positions = lp.col_blocks[name].positions
            cols += [int(j) for j in positions[positions >= 0] if np.isfinite(lp.col_upper[j])]
    if not rows and not cols:
        return None
    x = _elastic(lp, rows, signs, cols)
    if x is None:
        return None
    n, k = lp.matrix.shape[1], len(rows)
    records = []
    bought = dict(zip(lp.col_blocks["bought"].keys(), lp.values("bought", x)))
    for r, amount in zip(rows, x[n : n + k]):
        if amount > 1e-7:
            name, key, label = lp.row_label(r)
            records.append(_relaxed_row(name, key, label, float(amount), bought, daily_demand_t))
    for j, amount in zip(cols, x[n + k :]):
        if amount > 1e-7:
            name, key, _ = lp.col_label(j)
            records.append(_relaxed_bound(name, key, float(amount)))
    return pd.DataFrame(records)


def _relaxed_row(
    name: str,
    key: tuple[Any, ...],
    label: str,
    amount: float,
    bought: dict[Any, float],
    daily_demand_t: pd.Series,
) -> dict[str, Any]:
    """A relaxed row in the analyst's units."""
    if name == "stock_target":
        e, p = key
        daily = float(daily_demand_t.loc[(e, p)])
        days = amount / daily if daily > 0 else np.nan
        text = f"lower {e}'s stock target in {p} by {_up(amount)} t ({_up(days)} days)"
        return _relaxed("hard stock target", e, p, "", amount, text, days=days)
    if name in _RELAXABLE_ROWS:
        e, holder, p = key
        total = (
            sum(v for (el, _), v in bought.items() if el == e)
            if p == "*"
            else bought.get((e, p), 0.0)
        )
        points = 100.0 * amount / total if total > 0 else np.nan
        what = _RELAXABLE_ROWS[name][1]
        verb = "lower" if name == "group_floor" else "raise"
        text = (
            f"{verb} the {what} of {holder} on {e} in {p} by {_up(amount)} t "
            f"({points:,.1f} share points at the relaxed plan's purchases)"
        )
        return _relaxed(what, e, p, holder, amount, text, points=points)
    text = f"relax your constraint {label} by {amount:,.3f} (in its own units)"
    return _relaxed("your constraint", "", "", label, amount, text)


def _relaxed_bound(name: str, key: tuple, amount: float) -> dict[str, Any]:
    if name == "buy":
        e, s, p = key
        text = f"{_up(amount)} t more capacity from {s} for {e} in {p}"
        return _relaxed("capacity", e, p, s, amount, text)
    e, p = key
    return _relaxed("storage room", e, p, "", amount, f"{_up(amount)} t more storage of {e} in {p}")


def _relaxed(
    kind: str,
    element: str,
    period: str,
    holder: str,
    amount: float,
    text: str,
    points: float = np.nan,
    days: float = np.nan,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "element": element,
        "period": period,
        "holder": holder,
        "amount_t": amount,
        "points": points,
        "days": days,
        "relaxation": text,
    }

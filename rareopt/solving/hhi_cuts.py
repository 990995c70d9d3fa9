"""HHI caps kept exactly by a cutting-plane loop of tangent cuts.

The cap on the Herfindahl-Hirschman index of an element's purchases by country,

    10,000 x sum_c (V_c / X)^2 <= H    <=>    || V ||_2 <= sqrt(H / 10,000) x X,

(V_c the purchases from country c, X their total, X >= 0) is a second-order cone: convex. At a
solution V* that breaks it, the tangent cut  (V* / ||V*||) . V <= sqrt(H / 10,000) X  cuts V* off
and keeps every point that meets the cap (Cauchy-Schwarz), so adding cuts and re-solving (warm, in
HiGHS) converges to the capped optimum from below. The loop stops when every element and period is
within ``hhi_tolerance`` HHI points of its cap, or after ``hhi_max_iterations`` solves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from rareopt.inputs.measures import HHI_SCALE, hhi_points, volume_tolerance
from rareopt.inputs.stages import SELLER
from rareopt.inputs.tables import ALL
from rareopt.model.layout import stage_source
from rareopt.model.lp import LinearProgram, SolverOutput
from rareopt.solving.highs import HighsSession

if TYPE_CHECKING:
    from rareopt.model.layout import ModelLayout

_Group = tuple[Any, Any, float, dict[Any, tuple[np.ndarray, np.ndarray]], np.ndarray | None]
"""A capped group: element, scope, cap, per country (columns, coefficients), total columns."""

_Cut = tuple[list[int], list[float]]
"""A tangent cut: column indices and coefficients (the row's upper bound is 0)."""

__all__ = ["run_with_hhi_caps"]


def _groups(layout: ModelLayout, lp: LinearProgram) -> list[_Group]:
    """The capped (element, period-or-'*') groups of columns, by sellers and at each stage.

    Each: element, scope, cap, per country the (columns, tonnes of the element per unit) of its
    supply (purchases, and concentrates by their share; at a stage, the tonnes there), and the
    columns of the element's total purchases X (None at a stage: the total is the countries'
    tonnes there).
    """
    portfolio = layout.portfolio
    policy = portfolio.policy
    horizon = policy.cap_basis == "horizon"
    blocks = ("buy", "concentrate", "route")
    cols = np.concatenate([lp.col_blocks[b].positions for b in blocks if b in lp.col_blocks])
    bought = dict(zip(lp.col_blocks["bought"].keys(), lp.col_blocks["bought"].positions))
    sources = [(SELLER, layout.supply)] + [
        (stage, stage_source(layout.stage_supply, stage))
        for stage in dict.fromkeys(policy.stage_hhi_caps["stage"])
    ]
    out: list[_Group] = []
    for stage, supply in sources:
        caps = policy.hhi_caps(portfolio.elements, stage)
        frame = supply.assign(col=cols[supply["pos"].to_numpy()])
        frame["scope"] = ALL if horizon else frame["period"]
        frame = frame[frame["col"] >= 0]
        for (element, scope), rows in frame.groupby(["element", "scope"], sort=False):
            if element not in caps:
                continue
            totals = None
            if stage == SELLER:
                totals = np.array([bought[element, p] for p in rows["period"].unique()])
            by_country = {
                c: (g["col"].to_numpy(), g["coef"].to_numpy(float))
                for c, g in rows.groupby("country", sort=False)
            }
            out.append((element, scope, caps[element], by_country, totals))
    return out


def run_with_hhi_caps(
    session: HighsSession, layout: ModelLayout, model: pyo.ConcreteModel | None = None
) -> tuple[SolverOutput, pd.DataFrame | None]:
    """Run HiGHS; with HHI caps in the policy, add tangent cuts until they hold.

    Cuts go into HiGHS (rows after the model's own) and, when there is a Pyomo ``model``, for a
    later re-solve of it, into ``model.hhi_cut`` (a ``ConstraintList``).

    Returns
    -------
    output : SolverOutput
        The last solve.
    log : DataFrame or None
        Per iteration: objective_usd, cuts_added, max_hhi_excess (HHI points over the cap);
        None without HHI caps.
    """
    lp = session.lp
    output = session.run()
    policy = layout.portfolio.policy
    if policy.hhi_cap is None and policy.stage_hhi_caps.empty:
        return output, None
    groups = _groups(layout, lp)
    round_off_t = volume_tolerance(layout.portfolio)
    if model is not None and not hasattr(model, "hhi_cut"):
        model.hhi_cut = pyo.ConstraintList()
    columns = cast("list[Any]", lp.columns)  # used only with a model: compiled from it
    log = []
    for iteration in range(1, int(policy.hhi_max_iterations) + 1):
        if not output.status.is_ok:
            break
        cuts, worst = _cuts(
            groups, cast(np.ndarray, output.x), policy.hhi_tolerance, round_off_t
        )  # is_ok: x is there
        log.append(
            {
                "iteration": iteration,
                "objective_usd": output.objective,
                "cuts_added": len(cuts) if iteration < policy.hhi_max_iterations else 0,
                "max_hhi_excess": worst,
            }
        )
        if not cuts or iteration == policy.hhi_max_iterations:
            break
        for index, value in cuts:
            session.add_row(0.0, index, value)
            if model is not None:
                model.hhi_cut.add(sum(v * columns[i] for i, v in zip(index, value)) <= 0)
        output = session.run()
    columns = ["iteration", "objective_usd", "cuts_added", "max_hhi_excess"]
    return output, pd.DataFrame(log, columns=columns).set_index("iteration")


def _cuts(
    groups: list[_Group], x: np.ndarray, tolerance: float, round_off_t: float
) -> tuple[list[_Cut], float]:
    """Tangent cuts at ``x`` for every cap broken by more than ``tolerance`` (HHI points).

    Groups whose tonnes total no more than ``round_off_t`` have no shares and no HHI, as in the
    independent check (:func:`rareopt.inputs.measures.volume_tolerance`). Returns the cuts as
    (column indices, coefficients) and the largest excess over any cap (HHI points).
    """
    cuts, worst = [], 0.0
    for _element, _scope, cap, by_country, totals in groups:
        volume = np.array([coef @ x[cols] for cols, coef in by_country.values()])
        total = volume.sum()
        if total <= round_off_t:  # round-off purchases have no shares (as in the check)
            continue
        excess = float(hhi_points(volume / total)) - cap
        worst = max(worst, excess)
        if excess <= tolerance:
            continue
        weight = volume / np.linalg.norm(volume)
        index, value = [], []
        for w, (cols, coef) in zip(weight, by_country.values()):
            index += cols.tolist()
            value += (w * coef).tolist()
        root = np.sqrt(cap / HHI_SCALE)
        if totals is None:  # at a stage: the total is the countries' own tonnes
            every = np.concatenate([coef for _cols, coef in by_country.values()])
            value = (np.asarray(value) - root * every).tolist()
        else:
            index += totals.tolist()
            value += [-root] * len(totals)
        cuts.append((index, value))
    return cuts, worst

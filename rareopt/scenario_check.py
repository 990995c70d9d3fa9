"""Independent check of every scenario's recourse against the portfolio and the scenarios.

Recomputed from the portfolio's tables (demand, initial stock, stock room, prices, capacities,
penalties) and the delivered fractions: each scenario's stock balance from the initial stock
forward, stock and unmet bounds, spot limits and room, and the recourse cost per scenario and
element. Tolerances are those of :mod:`rareopt.check`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rareopt.check import TOL_REL, tolerance
from rareopt.portfolio import Portfolio
from rareopt.two_stage import replacement_prices

__all__ = ["check_recourse"]


def check_recourse(
    portfolio: Portfolio,
    plan: pd.DataFrame,
    fractions: np.ndarray,
    nominal: pd.DataFrame,
    flows: pd.DataFrame,
    spot: pd.DataFrame,
    spot_share: float,
    spot_premium: float,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Check scenario flows; recompute the recourse cost.

    Parameters
    ----------
    portfolio : Portfolio
        The portfolio.
    plan : DataFrame
        First-stage purchases, one row per purchase variable in the order of ``fractions``'
        columns: element, supplier, period, volume_t.
    fractions : ndarray
        Delivered fraction per scenario (rows, in the order of ``flows``) and purchase.
    nominal : DataFrame
        Nominal plan per (element, period): level_t, unmet_t.
    flows : DataFrame
        Per (scenario, element, period): spot_t, unmet_t, level_t.
    spot : DataFrame
        Spot rows: scenario, element, supplier, period, spot_t.
    spot_share, spot_premium : float
        The emergency market's terms.

    Returns
    -------
    checks, violations, recourse : DataFrame
        Rows checked and largest excess per family; rows beyond tolerance; and the recomputed
        recourse (``extra_cost_usd``) per (scenario, element).
    """
    tol = tolerance(portfolio)
    labels = portfolio.period_labels
    names = list(dict.fromkeys(flows["scenario"]))
    checks, found = [], []

    def record(name, keys: pd.DataFrame, excess) -> None:
        excess = np.asarray(excess, dtype=float)
        checks.append(
            {
                "check": name,
                "rows_checked": int(excess.size),
                "max_excess": float(excess.max(initial=0.0)),
                "tolerance": tol,
            }
        )
        for i in np.flatnonzero(excess > tol):
            found.append({"check": name, **keys.iloc[i].to_dict(), "excess": float(excess[i])})

    offers = portfolio.offers.set_index(["supplier", "element"])
    unit = (
        (offers["price_usd_per_t"] + offers["freight_usd_per_t"])
        .reindex(list(zip(plan["supplier"], plan["element"])))
        .to_numpy()
    )
    capacity = portfolio.capacity.set_index(["supplier", "element", "period"])["capacity_t"]
    cap = capacity.reindex(list(zip(plan["supplier"], plan["element"], plan["period"])))
    cap = cap.fillna(0.0).to_numpy()
    x = plan["volume_t"].to_numpy()

    # Deliveries and the refund of what is not delivered, per scenario, element and period.
    keys = ["scenario", "element", "period"]
    w_of = {w: k for k, w in enumerate(names)}
    long = (
        pd.DataFrame(
            {
                "scenario": np.repeat(names, len(plan)),
                "element": np.tile(plan["element"].to_numpy(), len(names)),
                "period": np.tile(plan["period"].to_numpy(), len(names)),
                "delivered_t": (fractions * x).ravel(),
                "refund_usd": (fractions * x * unit - x * unit).ravel(),
            }
        )
        .groupby(keys, sort=False)[["delivered_t", "refund_usd"]]
        .sum()
    )

    f_lookup = pd.Series(
        fractions.ravel(),
        index=pd.MultiIndex.from_arrays(
            [
                np.repeat(names, len(plan)),
                *(
                    np.tile(plan[c].to_numpy(), len(names))
                    for c in ("element", "supplier", "period")
                ),
            ]
        ),
    )
    spot_keys = list(zip(spot["scenario"], spot["element"], spot["supplier"], spot["period"]))
    f_spot = f_lookup.reindex(spot_keys).fillna(0.0).to_numpy()
    x_lookup = pd.Series(x, index=pd.MultiIndex.from_frame(plan[["element", "supplier", "period"]]))
    x_spot = x_lookup.reindex([k[1:] for k in spot_keys]).fillna(0.0).to_numpy()
    cap_spot = capacity.reindex([(k[2], k[1], k[3]) for k in spot_keys]).fillna(0.0).to_numpy()
    unit_spot = (offers["price_usd_per_t"] + offers["freight_usd_per_t"]).reindex(
        [(k[2], k[1]) for k in spot_keys]
    ).to_numpy() * (1.0 + spot_premium)
    spot_t = spot["spot_t"].to_numpy()
    where = spot[["scenario", "element", "supplier", "period"]].reset_index(drop=True)
    record("spot >= 0", where, -spot_t)
    record("spot <= share x delivered capacity", where, spot_t - spot_share * f_spot * cap_spot)
    record("deliveries + spot <= capacity", where, f_spot * x_spot + spot_t - f_spot * cap_spot)
    spot_in = (
        spot.assign(spot_cost_usd=spot_t * unit_spot)
        .groupby(keys, sort=False)[["spot_t", "spot_cost_usd"]]
        .sum()
    )

    demand = portfolio.demand.set_index(["element", "period"])["demand_t"]
    stockpile = portfolio.stockpile.set_index("element")
    f = flows.set_index(keys)
    table = f[["unmet_t", "level_t"]].join(long).join(spot_in.add_prefix("in_"))
    table = table.fillna(
        {"delivered_t": 0.0, "refund_usd": 0.0, "in_spot_t": 0.0, "in_spot_cost_usd": 0.0}
    )
    flat = table.reset_index()
    flat["demand_t"] = demand.reindex(list(zip(flat["element"], flat["period"]))).to_numpy()
    flat["room_t"] = flat["element"].map(stockpile["capacity_t"]).fillna(0.0)
    flat["initial_t"] = flat["element"].map(stockpile["initial_t"]).fillna(0.0)
    flat["holding"] = flat["element"].map(stockpile["holding_usd_per_t"]).fillna(0.0)
    flat["_order"] = flat["period"].map({p: i for i, p in enumerate(labels)})
    flat = flat.sort_values(
        ["scenario", "element", "_order"],
        key=lambda c: c.map(w_of) if c.name == "scenario" else c,
        kind="stable",
    ).reset_index(drop=True)
    previous = flat.groupby(["scenario", "element"], sort=False)["level_t"].shift(1)
    previous = previous.fillna(flat["initial_t"])
    residual = (
        previous
        + flat["delivered_t"]
        + flat["in_spot_t"]
        + flat["unmet_t"]
        - flat["level_t"]
        - flat["demand_t"]
    )
    where = flat[keys]
    record("scenario stock balance", where, residual.abs())
    record("scenario stock >= 0", where, -flat["level_t"])
    record("scenario stock <= capacity", where, flat["level_t"] - flat["room_t"])
    record(
        "scenario unmet in [0, demand]",
        where,
        np.maximum(-flat["unmet_t"], flat["unmet_t"] - flat["demand_t"]),
    )

    base = nominal.reindex(list(zip(flat["element"], flat["period"])))
    penalty = portfolio.policy.shortage_penalty_usd_per_t
    record("scenario unmet >= nominal unmet", where, base["unmet_t"].to_numpy() - flat["unmet_t"])
    flat["extra_cost_usd"] = (
        flat["refund_usd"]
        + flat["in_spot_cost_usd"]
        + flat["holding"] * (flat["level_t"] - base["level_t"].to_numpy())
        + penalty * (flat["unmet_t"] - base["unmet_t"].to_numpy())
    )
    final = flat["period"] == labels[-1]
    replacement = pd.Series(replacement_prices(portfolio), dtype=float)
    missing = base["level_t"].to_numpy()[final.to_numpy()] - flat.loc[final, "level_t"]
    flat.loc[final, "extra_cost_usd"] += flat.loc[final, "element"].map(replacement).fillna(
        0.0
    ) * np.maximum(missing, 0.0)
    recourse = flat.groupby(["scenario", "element"], sort=False)[["extra_cost_usd"]].sum()
    columns = ["check", "scenario", "element", "period", "supplier", "excess"]
    violations = pd.DataFrame(found).reindex(columns=columns)
    return pd.DataFrame(checks), violations, recourse


def check_objective(recomputed: float, reported: float) -> tuple[dict, bool]:
    """One check row comparing the recomputed two-stage objective with HiGHS's; True if it fails.

    Examples
    --------
    >>> check_objective(100.0, 100.0)[1]
    False
    """
    excess = abs(recomputed - reported)
    row = {
        "check": "two-stage objective",
        "rows_checked": 1,
        "max_excess": excess,
        "tolerance": TOL_REL,
    }
    return row, excess > TOL_REL * max(1.0, abs(recomputed))

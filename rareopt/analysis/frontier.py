"""Cost-versus-policy frontiers: one model built and handed to HiGHS once, edited in place per point.

Each point changes only what the varied parameter touches, in HiGHS directly: the cap coefficient
on total purchases (``country_cap``), purchase costs (``risk_weight``, ``price``) or the stock-target
row bounds (``target_days``). HiGHS keeps its basis across these edits, so every solve starts warm
from the previous point's optimum. Every point's plan is checked independently against the
portfolio that point stands for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from rareopt.inputs.measures import hhi_points
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.inputs.stages import ANY_STAGE, STAGES
from rareopt.inputs.tables import ALL
from rareopt.model.formulation import (
    purchase_costs,
    risk_penalty_costs,
    share_coefficients,
    target_bounds,
    totals_by_kind,
)
from rareopt.model.layout import make_layout
from rareopt.model.risk import CVaR, Expectation, cvar_excess_costs
from rareopt.progress import progress_bar
from rareopt.results.solve import CheckedSolution, checked_solution
from rareopt.solving.goals import run_in_order
from rareopt.solving.highs import HighsSession, SolveOptions
from rareopt.solving.pipeline import prepare
from rareopt.status import SolveStatus

__all__ = ["frontier", "VARY"]

VARY = ("country_cap", "risk_weight", "target_days", "price", "cvar_alpha")
"""What a frontier can vary: a country's cap (share), the risk weight (USD/t per unit score), every
stockpile's target (days, flat over the periods), a price multiplier on one country's offers, or
the CVaR level of a two-stage model."""


@dataclass
class _Point:
    """How one value of the varied parameter is applied: to HiGHS, and to the portfolio it means."""

    apply: Callable[[float], None]
    portfolio: Callable[[float], Portfolio]


def _check_values(vary: str, values: Sequence[float], country: str | None) -> list[float]:
    if vary not in VARY:
        raise ValueError(f"vary: got {vary!r}; allowed: {list(VARY)}")
    if vary in ("country_cap", "price") and country is None:
        raise ValueError(f"country: required when vary={vary!r} (e.g. country='CN')")
    values = [float(v) for v in values]
    if not values:
        raise ValueError("values: got an empty list; allowed: one or more numbers")
    limits = {
        "country_cap": (0.0, 1.0),
        "risk_weight": (0.0, np.inf),
        "target_days": (0.0, np.inf),
        "price": (0.0, np.inf),
        "cvar_alpha": (0.0, 1.0 - 1e-9),
    }
    low, high = limits[vary]
    bad = [v for v in values if not (low <= v <= high)]
    if bad:
        raise ValueError(f"values for {vary}: got {bad}; allowed: numbers in [{low:g}, {high:g}]")
    return values


def _caps_with(caps: pd.DataFrame, country: str, element: str | None, share: float) -> pd.DataFrame:
    """The country-cap table with ``country`` (for ``element``, or all elements) set to ``share``."""
    scope = ALL if element is None else element
    keep = ~((caps["country"] == country) & (caps["element"] == scope))
    row = pd.DataFrame([{"country": country, "element": scope, "max_share": share}])
    return pd.concat([caps[keep], row], ignore_index=True)


def _cap_point(portfolio, session, lp, country, element, stage=None) -> _Point:
    """Edit the share coefficient (-kappa on the total) of the country's cap rows.

    The total is the element's purchases X, or its tonnes at the stage for a stage cap.
    """
    # The rows the varied policy row governs: (country, element), or (country, "*") for every
    # element without a cap row of its own (the layout resolved which row governs which).
    family = "country_cap" if stage is None else "stage_cap"
    frame = lp.row_blocks[family].frame
    scope = frame["cap_element"] == (element or ALL)
    if stage is None:
        scope &= frame["country"] == country
    else:
        scope &= (frame["by"] == "country") & (frame["holder"] == country)
        scope &= frame["stage"] == stage
    scope = scope.to_numpy()

    def apply(value: float) -> None:
        session.set_coefficients(*share_coefficients(lp, family, scope, value))

    def point(value: float) -> Portfolio:
        # The share was checked by _check_values; nothing else changes, so no re-validation.
        return portfolio._swap_policy(
            _policy_with_cap(portfolio.policy, country, element, stage, value)
        )

    return _Point(apply, point)


def _policy_with_cap(policy, country: str, element: str | None, stage: str | None, share: float):
    """The policy with the country's cap (at ``stage``, if given) set to ``share``."""
    if stage is None:
        return replace(
            policy, country_caps=_caps_with(policy.country_caps, country, element, share)
        )
    scope = ALL if element is None else element
    caps = policy.stage_caps
    mine = (caps["by"] == "country") & (caps["holder"] == country)
    keep = ~(mine & (caps["element"] == scope) & (caps["stage"] == stage))
    row = {"by": "country", "holder": country, "countries": None, "element": scope}
    row = pd.DataFrame([{**row, "stage": stage, "max_share": share}])
    return replace(
        policy, stage_caps=pd.concat([caps[keep], row] if keep.any() else [row], ignore_index=True)
    )


def _cost_point(portfolio, session, lp, vary, country) -> _Point:
    """Edit a cost term: ``risk_penalty`` at a new weight, or ``purchase_cost`` at a new price.

    Through the formulation's cost vectors, so every supply column (concentrates too) is
    re-priced as the model prices it.
    """
    shocked = lp.col_blocks["buy"].frame["country"].to_numpy() == country

    def apply(value: float) -> None:
        if vary == "risk_weight":
            changed = lp.set_cost_term("risk_penalty", risk_penalty_costs(lp, value))
        else:
            multiplier = np.where(shocked, value, 1.0)
            changed = lp.set_cost_term("purchase_cost", purchase_costs(lp, multiplier))
        session.set_costs(changed, lp.cost[changed])

    def point(value: float) -> Portfolio:
        if vary == "risk_weight":
            return portfolio.with_policy(risk_weight_usd_per_t=value)
        in_country = portfolio.offers["supplier"].map(portfolio.supplier_country()) == country
        scaled = portfolio.offers["price_usd_per_t"].where(~in_country, lambda s: s * value)
        return portfolio.replace_tables(
            offers=portfolio.offers.assign(price_usd_per_t=scaled), capacity=portfolio.capacity
        )

    return _Point(apply, point)


def _target_point(portfolio, session, lp, element) -> _Point:
    """Edit the stock targets: the stock-target rows' lower bounds and the shortfall room."""
    block = lp.row_blocks["stock_target"]
    scope = np.ones(len(block.frame), dtype=bool)
    if element is not None:
        scope = block.frame["element"].to_numpy() == element

    def apply(value: float) -> None:
        rows, lower, cols, upper = target_bounds(lp, scope, value)
        session.set_row_bounds(rows, lower, np.full(len(rows), np.inf))
        session.set_col_bounds(cols, np.zeros(len(cols)), upper)

    def point(value: float) -> Portfolio:
        return _with_target_days(portfolio, element, value)

    return _Point(apply, point)


def _with_target_days(portfolio: Portfolio, element: str | None, days: float) -> Portfolio:
    """The portfolio with a flat target of ``days`` for ``element`` (every element if None)."""
    stockpile = portfolio._with_target_paths(portfolio.stockpile)
    varied = stockpile["element"].map(lambda e: element is None or e == element)
    stockpile["target_days"] = stockpile["target_days"].mask(varied, days)
    return portfolio.replace_tables(stockpile=stockpile)


def _cvar_point(portfolio, session, ready, weight) -> _Point:
    """Edit the objective coefficients of the CVaR excess columns (weight x p / (1 - alpha))."""
    slayout = ready.scenarios
    cols = ready.lp.col_blocks["cvar_excess"].positions

    def apply(value: float) -> None:
        risk = CVaR(alpha=value, weight=weight)
        session.set_costs(cols, cvar_excess_costs(risk, slayout.probabilities))
        ready.scenarios = replace(slayout, risk=risk)

    return _Point(apply, lambda value: portfolio)


def _base(portfolio: Portfolio, vary: str, country, element, stage=None) -> Portfolio:
    """The portfolio to build once: with every row the varied parameter will need present."""
    if stage is not None and (vary != "country_cap" or stage not in (*STAGES, ANY_STAGE)):
        raise ValueError(
            f"stage: got {stage!r} with vary={vary!r}; allowed: with vary='country_cap', one of "
            f"{[*STAGES, ANY_STAGE]}"
        )
    if vary == "country_cap":
        if country not in portfolio.countries:
            raise ValueError(f"country: got {country!r}; allowed: {sorted(portfolio.countries)}")
        if element is not None and element not in portfolio.elements:
            raise ValueError(f"element: got {element!r}; allowed: {portfolio.elements}")
        # Only a cap changes, to a share checked above: no need to re-validate the tables.
        policy = _policy_with_cap(portfolio.policy, country, element, stage, 0.5)
        return portfolio._swap_policy(policy)
    if vary == "target_days":
        stockpile = portfolio._with_target_paths(portfolio.stockpile)
        missing = [e for e in portfolio.elements if e not in set(stockpile["element"])]
        if missing and (element is None or element in missing):
            raise ValueError(
                f"target_days: elements {missing} have no stockpile row (no storage room); "
                "add a stockpile row for each element whose target you vary"
            )
        # Every varied element gets a target row (any positive target makes one); the others
        # keep their own targets.
        return _with_target_days(portfolio, element, 1.0)
    return portfolio


def frontier(
    portfolio: Portfolio,
    vary: str,
    values: Sequence[float],
    *,
    country: str | None = None,
    element: str | None = None,
    stage: str | None = None,
    progress: bool | None = None,
    scenarios: ScenarioSet | None = None,
    risk: Expectation | CVaR | None = None,
    **options,
) -> pd.DataFrame:
    """Solve ``portfolio`` for each value of one policy parameter, reusing one model in HiGHS.

    Parameters
    ----------
    portfolio : Portfolio
        The base portfolio.
    vary : {"country_cap", "risk_weight", "target_days", "price", "cvar_alpha"}
        ``country_cap``: the max share of ``country`` (for ``element`` or every element);
        ``risk_weight``: USD/t per unit of supplier risk score; ``target_days``: a flat stock target
        in days for ``element`` or every element with a stockpile row; ``price``: a multiplier on
        the prices of ``country``'s offers; ``cvar_alpha``: the CVaR level (needs ``scenarios``;
        the weight is ``risk``'s, default 1).
    values : sequence of float
        The points, solved in the order given (each warm-started from the previous one).
    country, element : str, optional
        Scope of the varied parameter (``country`` is required for ``country_cap`` and ``price``).
    stage : str, optional
        With ``country_cap``: vary the country's cap at this processing stage (mining,
        separation, metal, magnet or ``any``; a stage cap, see :mod:`rareopt.inputs.stages`)
        instead of its share of purchases.
    progress : bool, optional
        Show a progress bar (tqdm); default: only when writing to a terminal.
    scenarios : ScenarioSet, optional
        Solve the two-stage model (see :func:`rareopt.solve`); each point then also reports the
        risk metrics. ``risk_weight`` and ``price`` are not available with scenarios (they change
        recourse costs too).
    risk : Expectation or CVaR, optional
        The two-stage model's risk measure.
    **options
        Solver options, as for :func:`rareopt.solve`.

    Returns
    -------
    DataFrame
        Indexed by the value (named after ``vary``): status, objective_usd, spend_usd and
        penalty_usd (money paid apart from priced outcomes; with scenarios also recourse_usd:
        the expected recourse and weighted CVaR), each cost term,
        unmet_t, shortfall_t, for each element its horizon share from ``country`` (``share:<el>``,
        when a country is given; purchases delivered) and its HHI (``hhi:<el>``); with ``stage``
        also the country's share of each element's tonnes at that stage (``<stage>
        share:<el>``, the swept quantity); HiGHS's iterations and seconds, and with scenarios the
        recourse's expected value, VaR, CVaR and worst case (USD).

    Raises
    ------
    PlanCheckError
        If any point's plan fails the independent check.

    Examples
    --------
    >>> import rareopt
    >>> f = frontier(rareopt.load_example("tiny"), "country_cap", [0.7, 0.6], country="CN")
    >>> bool(f.loc[0.6, "objective_usd"] >= f.loc[0.7, "objective_usd"])
    True
    """
    values = _check_values(vary, values, country)
    if vary == "cvar_alpha" and scenarios is None:
        raise ValueError("vary='cvar_alpha' needs scenarios=ScenarioSet(...)")
    if scenarios is not None and vary in ("risk_weight", "price"):
        raise ValueError(
            f"vary={vary!r} with scenarios: not available (it changes recourse costs too); "
            "allowed with scenarios: country_cap, target_days, cvar_alpha"
        )
    settings = SolveOptions.from_keywords(options)
    base = _base(portfolio, vary, country, element, stage)
    if vary == "cvar_alpha":
        weight = risk.weight if isinstance(risk, CVaR) else 1.0
        if weight <= 0:
            raise ValueError(
                f"vary='cvar_alpha' with a CVaR weight of {weight}: the level has no effect; "
                "allowed: risk=CVaR(weight=...) with a weight > 0 (default 1)"
            )
        risk = CVaR(alpha=values[0], weight=weight)
    ready = prepare(base, scenarios, risk)
    base_layout, lp = ready.layout, ready.lp
    session = HighsSession(lp, settings)
    if vary == "cvar_alpha":
        point = _cvar_point(base, session, ready, weight)
    elif vary == "country_cap":
        point = _cap_point(base, session, lp, country, element, stage)
    elif vary == "target_days":
        point = _target_point(base, session, lp, element)
    else:
        point = _cost_point(base, session, lp, vary, country)

    records = []
    for value in progress_bar(values, progress, f"frontier {vary}", unit="point"):
        point.apply(value)
        output, _, _ = run_in_order(session, base_layout)
        record = {
            vary: value,
            "status": output.status.value,
            "iterations": output.iterations,
            "solve_seconds": output.solve_seconds,
        }
        if output.status.is_ok:
            start = time.perf_counter()
            # The point's own layout: same variables and rows, its own costs and targets. A cap or
            # a CVaR level changes no layout table, only the portfolio the plan is checked against.
            at_point = point.portfolio(value)
            if vary in ("country_cap", "cvar_alpha"):
                point_layout = replace(base_layout, portfolio=at_point)
            else:
                point_layout = make_layout(at_point)
            checked = checked_solution(ready, output, point_layout, duals=False)
            record.update(_point_summary(output.objective, checked, country, stage))
            record["extract_seconds"] = time.perf_counter() - start
        records.append(record)
        if output.status == SolveStatus.INTERRUPTED:  # Ctrl-C: no more points
            break
    return pd.DataFrame.from_records(records).set_index(vary)


def horizon_country_shares(plan: pd.DataFrame) -> pd.DataFrame:
    """Each element's share of purchases (0-1) by country over the horizon (0 where none).

    The horizon rows of :func:`rareopt.results.tables.shares_table`, computed with arrays for a
    frontier's many points: elements (rows) and countries (columns) in plan order.

    Examples
    --------
    >>> plan = pd.DataFrame({"element": ["Nd", "Nd", "Nd"], "country": ["CN", "AU", "CN"],
    ...                      "volume_t": [40.0, 50.0, 10.0]})
    >>> horizon_country_shares(plan).loc["Nd"].tolist()
    [0.5, 0.5]
    """
    volume = plan["volume_t"].to_numpy(float)
    elements = (
        plan.index.get_level_values("element") if "element" in plan.index.names else plan["element"]
    )
    e_code, element = pd.factorize(elements)
    c_code, country = pd.factorize(plan["country"])
    cells = np.bincount(
        e_code * len(country) + c_code, weights=volume, minlength=len(element) * len(country)
    )
    tonnes = cells.reshape(len(element), len(country)).astype(float)
    total = tonnes.sum(axis=1, keepdims=True)
    share = np.divide(tonnes, total, out=np.zeros_like(tonnes), where=total > 0)
    return pd.DataFrame(share, index=list(element), columns=list(country))


def _point_summary(
    objective: float, checked: CheckedSolution, country: str | None, stage: str | None = None
) -> dict:
    """One frontier row: objective, cost terms, unmet and shortfall, shares, HHI, risk metrics.

    Shares and HHI are over the horizon; risk metrics only for a two-stage model.
    """
    tables = checked.tables
    by_kind = totals_by_kind(checked.cost_terms)
    out = {
        "objective_usd": objective,
        **{f"{kind}_usd": value for kind, value in by_kind.items()},
        **checked.cost_terms.to_dict(),
        "unmet_t": float(tables["unmet"]["unmet_t"].sum()),
        "shortfall_t": float(tables["stock"]["shortfall_t"].sum()),
    }
    # As the caps count them: the tonnes delivered (after any facility's yield).
    plan = tables["plan"]
    shares = horizon_country_shares(
        plan.assign(volume_t=plan["delivered_t"].fillna(plan["volume_t"]))
    )
    if country is not None:
        of_country = shares[country] if country in shares else pd.Series(0.0, index=shares.index)
        out.update({f"share:{e}": float(v) for e, v in of_country.items()})
    out.update({f"hhi:{e}": float(v) for e, v in hhi_points(shares).items()})
    if stage is not None and country is not None:
        # The swept quantity: the country's share of each element's tonnes at the stage.
        at = tables["shares"]["share"]
        level = at.index.get_level_values
        at = at[
            (level("period") == ALL)
            & (level("stage") == stage)
            & (level("by") == "country")
            & (level("holder") == country)
        ]
        out.update({f"{stage} share:{e}": float(v) for (e, *_), v in at.items()})
    if checked.scenarios is not None:
        metrics = checked.scenarios.metrics
        for key in ("expected_recourse_usd", "var_usd", "cvar_usd", "worst_recourse_usd"):
            out[key] = float(metrics[key])
    return out

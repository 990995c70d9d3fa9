"""Rolling re-planning: the plan re-solved each period with what has been observed so far.

A two-stage plan signs every contract up front and reacts only through the emergency market.
:func:`simulate` lets the decisions react: in each scenario, at the start of each period, the
buyer sees that period's deliveries and prices, forecasts the rest as the expectation over the
scenarios still consistent with what it has seen (model predictive control), re-solves the
deterministic model over the whole horizon with the past fixed, and places that period's orders.
What it realises is then costed at the scenario's own prices.

Assumptions (``docs/formulation.md``, "Rolling re-planning"):

- orders are placed period by period at the offers' contract terms, up to the share of capacity the
  period delivers (a disruption is known before ordering in the period it starts);
- once a disruption of an element has begun, the emergency (spot) market sells it as in the
  two-stage recourse: up to ``spot_share`` of what each undisrupted offer delivers, at the market
  price and freight times ``1 + spot_premium`` (at least the element's floor price today), outside
  the caps;
- the forecast of a later period is the probability-weighted mean of the consistent scenarios'
  delivered fractions and price factors (with one scenario: perfect foresight);
- a purchase counts as cut by the least of its own and its routes' fractions;
- discrete decisions (contracts, projects) are made in the first period and kept.

The arrays are built once and edited in place between periods (a warm start from the last
basis), through the same goal-ordered solves as :func:`rareopt.solve`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from rareopt.checks.plan import check_plan
from rareopt.display import html_block
from rareopt.exceptions import NotSupportedError, PlanCheckError, SolveError
from rareopt.inputs.derived import replacement_prices
from rareopt.inputs.markets import contract_unit_prices
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.model.layout import make_layout
from rareopt.model.risk import conditional_value_at_risk
from rareopt.model.rolling import assemble_rolling
from rareopt.model.two_stage import delivered_fractions, least_fractions, route_fractions
from rareopt.progress import progress_bar
from rareopt.results.result import Result
from rareopt.results.solve import solve_prepared
from rareopt.results.tables import extract
from rareopt.solving.goals import run_in_order
from rareopt.solving.highs import HighsSession, SolveOptions
from rareopt.solving.pipeline import prepare

__all__ = ["simulate", "Simulation"]

_SPEND = ("contract_cost", "capital_cost", "holding_cost", "surplus_cost", "processing_cost")
_PENALTY = ("risk_penalty", "shortage_penalty", "target_penalty")


@dataclass
class Simulation:
    """What rolling re-planning realised in each scenario, beside the two-stage plan's forecast.

    Attributes
    ----------
    cost : DataFrame
        Per scenario: probability, total_usd (realised: spend + penalties), spend_usd (money:
        purchases at the scenario's prices, take-or-pay, fees, holding, demand response),
        penalty_usd (unmet demand, stock below target, risk penalty; not money), unmet_t, and
        with ``compare``: two_stage_total_usd (the two-stage plan's cost in that scenario, its
        own forecast) and saved_usd (two-stage less realised: what reacting is worth there).
    metrics : Series
        expected_total_usd, expected_spend_usd, spend_cvar_usd (cost at risk at ``alpha``),
        expected_unmet_t, probability_of_unmet; with ``compare``: two_stage_objective_usd
        (the two-stage plan's expected cost, its forecast) and expected_saved_usd.
    orders : DataFrame
        Per (scenario, element, supplier, period): volume_t ordered.
    timing : Series
        solves, seconds, seconds_per_solve.
    alpha : float
        Level of the cost at risk.

    Examples
    --------
    >>> import rareopt
    >>> calm = rareopt.ScenarioSet([{"name": "calm", "probability": 1.0}])
    >>> sim = rareopt.simulate(rareopt.load_example("tiny"), calm, compare=False)
    >>> round(sim.cost.loc["calm", "total_usd"])
    26970000
    """

    cost: pd.DataFrame
    metrics: pd.Series
    orders: pd.DataFrame
    timing: pd.Series
    alpha: float = 0.95
    two_stage: Result | None = field(default=None, repr=False)

    def summary(self) -> str:
        """A readable account: expected cost realised, beside the two-stage forecast.

        Examples
        --------
        >>> import rareopt
        >>> calm = rareopt.ScenarioSet([{"name": "calm", "probability": 1.0}])
        >>> print(rareopt.simulate(rareopt.load_example("tiny"), calm).summary())
        ... # doctest: +ELLIPSIS
        rolling re-planning over 1 scenarios, 3 periods: ...
        """
        m = self.metrics
        level = f"{100 * self.alpha:g}%"
        lines = [
            f"rolling re-planning over {len(self.cost)} scenarios, "
            f"{int(self.timing['periods'])} periods: {int(self.timing['solves'])} solves in "
            f"{self.timing['seconds']:,.1f} s",
            f"realised: expected cost {m['expected_total_usd']:,.0f} USD (spend "
            f"{m['expected_spend_usd']:,.0f} USD; cost at risk, CVaR {level} of spend, "
            f"{m['spend_cvar_usd']:,.0f} USD); expected unmet {m['expected_unmet_t']:,.1f} t, "
            f"probability of unmet {m['probability_of_unmet']:.1%}",
        ]
        if "two_stage_objective_usd" in m:
            saved = m["expected_saved_usd"]
            verdict = (
                f"re-planning saves {saved:,.0f} USD in expectation"
                if saved >= 0
                else f"re-planning costs {-saved:,.0f} USD more in expectation (it does not hedge)"
            )
            lines.append(
                f"two-stage plan's forecast: {m['two_stage_objective_usd']:,.0f} USD; {verdict}"
            )
        with pd.option_context("display.width", 120, "display.float_format", "{:,.0f}".format):
            lines += ["", self.cost.to_string(formatters={"probability": "{:.4g}".format})]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """In a notebook: the headline lines of :meth:`summary`, then the per-scenario costs."""
        lines = self.summary().split("\n\n")[0].splitlines()
        return html_block("Rolling re-planning", lines, self.cost, decimals=0)


def simulate(
    portfolio: Portfolio,
    scenarios: ScenarioSet,
    compare: bool = True,
    alpha: float = 0.95,
    **options,
) -> Simulation:
    """Re-plan each period with what has been observed, in every scenario; cost what it realises.

    Parameters
    ----------
    portfolio : Portfolio
        The portfolio (its offers are ordered period by period).
    scenarios : ScenarioSet
        The scenarios: what happens, and the forecaster's beliefs.
    compare : bool
        Also solve the two-stage model on the same scenarios, for its forecast (default True).
    alpha : float
        Level of the cost at risk (CVaR of spend).
    **options
        Solver options (:class:`~rareopt.solving.highs.SolveOptions`), for every solve.

    Returns
    -------
    Simulation

    Raises
    ------
    NotSupportedError
        For a portfolio with concentrates (as for scenarios).
    SolveError
        When a period's re-plan has no solution (it names the scenario and period).

    Examples
    --------
    >>> import rareopt
    >>> s = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.9)
    >>> sim = rareopt.simulate(rareopt.load_example("tiny"), s)
    >>> sim.cost.columns.tolist()[:3]
    ['probability', 'total_usd', 'spend_usd']
    """
    if len(portfolio.concentrates):
        raise NotSupportedError(
            "simulate with concentrates: not built yet (as for scenarios); solve without the "
            "concentrates table"
        )
    scenarios.check(portfolio)
    settings = SolveOptions.from_keywords(options)
    layout = make_layout(portfolio)
    lp = assemble_rolling(layout)
    buy = layout.buy
    labels = portfolio.period_labels
    n_w, n_p = len(scenarios), len(labels)
    own = delivered_fractions(portfolio, buy, scenarios)
    cut = least_fractions(layout, own, route_fractions(layout, scenarios, own))
    factors = (
        scenarios.price_factors(portfolio, buy)
        if scenarios.moves_prices()
        else np.ones((n_w, len(buy)))
    )
    terms = layout.buy_terms
    p = scenarios.probabilities
    bought_in = pd.Categorical(buy["period"], categories=labels).codes.astype(np.int64)
    buy_cols = lp.col_blocks["buy"].positions
    unit_today = buy["unit_cost_usd_per_t"].to_numpy(float)
    capacity = buy["capacity_t"].to_numpy(float)
    base_cost, base_lower, base_upper = lp.cost.copy(), lp.col_lower.copy(), lp.col_upper.copy()
    unused_cols, unused_buy = lp.parameters["unused_columns"]
    period_of = _column_periods(lp, labels)
    integer = np.flatnonzero(lp.integrality > 0)
    # The emergency market: not for projects' offers (nothing is known to be built) nor for feed
    # that needs converting (it sells the demand's form), as in the two-stage recourse.
    spot_cols = lp.col_blocks["emergency"].positions
    room_rows = lp.row_blocks["emergency_room"].positions
    sellable = ~buy["supplier"].isin(portfolio.projects["supplier"]).to_numpy()
    sellable[layout.route["buy"].to_numpy(np.int64)] = False
    element = pd.Categorical(buy["element"], categories=portfolio.elements).codes.astype(np.int64)
    floor = buy["element"].map(replacement_prices(portfolio)).fillna(0.0).to_numpy(float)
    premiums = scenarios.spot_premiums()
    spot_share = scenarios.spot_share
    market = terms["price_usd_per_t"].to_numpy(float)
    freight = terms["freight_usd_per_t"].to_numpy(float)

    session = HighsSession(lp, settings)
    rows, orders = [], []
    solves, started = 0, time.perf_counter()
    shown = progress_bar(scenarios.names, settings.progress, "re-planning", unit="scenario")
    for w, name in enumerate(shown):
        session.set_col_bounds(np.arange(len(base_lower)), base_lower, base_upper)
        consistent = np.ones(n_w, dtype=bool)
        x = None
        for t in range(n_p):
            seen = bought_in == t
            consistent &= (cut[:, seen] == cut[w, seen]).all(axis=1)
            consistent &= (factors[:, seen] == factors[w, seen]).all(axis=1)
            weight = p * consistent
            weight = weight / weight.sum() if weight.sum() > 0 else consistent / consistent.sum()
            ahead = bought_in > t
            fraction = np.where(ahead, weight @ cut, cut[w])
            factor = np.where(ahead, weight @ factors, factors[w])
            now = bought_in >= t
            delivers = capacity * fraction
            session.set_col_bounds(buy_cols[now], base_lower[buy_cols[now]], delivers[now])
            session.set_row_bounds(room_rows[now], np.full(int(now.sum()), -np.inf), delivers[now])
            # Spot opens from the element's first disrupted period seen so far.
            hit = (bought_in <= t) & (cut[w] < 1.0)
            first = np.full(len(portfolio.elements), n_p)
            np.minimum.at(first, element[hit], bought_in[hit])
            open_ = now & sellable & (bought_in >= first[element])
            session.set_col_bounds(
                spot_cols[now],
                np.zeros(int(now.sum())),
                np.where(open_, spot_share * delivers, 0.0)[now],
            )
            premium = np.where(ahead, weight @ premiums, premiums[w])
            spot_price = np.maximum((market * factor + freight) * (1 + premium), floor)
            price = contract_unit_prices(terms, factor)
            costs = base_cost.copy()
            costs[buy_cols] += price - unit_today
            costs[unused_cols] += (price - unit_today)[unused_buy]
            costs[spot_cols] = spot_price
            session.set_costs(np.arange(len(costs)), costs)
            output, _, _ = run_in_order(session, layout)
            solves += 1
            if output.x is None:
                raise SolveError(
                    output.status,
                    output.message,
                    f"simulate: in scenario {name!r}, the re-plan of period {labels[t]} has no "
                    "solution (what was decided before, with what the period delivers, leaves "
                    "none; try the scenario on its own with rareopt.solve)",
                )
            x = output.x
            # What the period decided is done: its columns (and the discrete decisions, made
            # in the first period) keep their values from here on.
            done = np.flatnonzero(period_of == t)
            if t == 0 and len(integer):
                done = np.union1d(done, integer)
            session.set_col_bounds(done, x[done], x[done])
        assert x is not None
        _check(layout, lp, output, cut[w], name)
        realised_spot = np.maximum((market * factors[w] + freight) * (1 + premiums[w]), floor)
        rows.append(_realised(lp, x, terms, factors[w], realised_spot, name, p[w]))
        orders.append(
            buy[["element", "supplier", "period"]].assign(scenario=name, volume_t=x[buy_cols])
        )
    seconds = time.perf_counter() - started
    session.set_col_bounds(np.arange(len(base_lower)), base_lower, base_upper)
    cost = pd.DataFrame(rows).set_index("scenario")
    spend = cost["spend_usd"].to_numpy()
    metrics = {
        "expected_total_usd": float(p @ cost["total_usd"].to_numpy()),
        "expected_spend_usd": float(p @ spend),
        "spend_cvar_usd": conditional_value_at_risk(spend, p, alpha),
        "expected_unmet_t": float(p @ cost["unmet_t"].to_numpy()),
        "probability_of_unmet": float(p[cost["unmet_t"].to_numpy() > 1e-6].sum()),
    }
    two_stage = None
    if compare:
        quiet = replace(settings, progress=False)
        two_stage = solve_prepared(prepare(portfolio, scenarios), quiet).raise_for_status()
        assert two_stage.scenarios is not None
        forecast = two_stage.scenarios.cost["total_usd"].reindex(cost.index)
        cost["two_stage_total_usd"] = forecast
        cost["saved_usd"] = forecast - cost["total_usd"]
        metrics["two_stage_objective_usd"] = float(two_stage.objective)
        metrics["expected_saved_usd"] = float(p @ cost["saved_usd"].to_numpy())
    timing = pd.Series(
        {
            "scenarios": n_w,
            "periods": n_p,
            "solves": solves,
            "seconds": seconds,
            "seconds_per_solve": seconds / max(solves, 1),
        }
    )
    keys = ["scenario", "element", "supplier", "period"]
    return Simulation(
        cost=cost,
        metrics=pd.Series(metrics, name="value"),
        orders=pd.concat(orders, ignore_index=True).set_index(keys),
        timing=timing,
        alpha=alpha,
        two_stage=two_stage,
    )


def _check(layout, lp, output, fraction: np.ndarray, name: str) -> None:
    """Check one scenario's realised plan independently, against the capacities it delivered.

    The portfolio with each purchase's capacity cut to what the scenario delivered is checked
    by :func:`~rareopt.checks.plan.check_plan`, the emergency purchases beside the plan.
    """
    portfolio, buy = layout.portfolio, layout.buy
    tables = extract(layout, lp, output, duals=False)
    delivered = pd.Series(
        fraction, index=pd.MultiIndex.from_frame(buy[["supplier", "element", "period"]])
    )
    capacity = portfolio.capacity
    share = delivered.reindex(
        pd.MultiIndex.from_frame(capacity[["supplier", "element", "period"]])
    ).fillna(1.0)
    cut = portfolio.replace_tables(
        capacity=capacity.assign(capacity_t=capacity["capacity_t"] * share.to_numpy())
    )
    block = lp.col_blocks["emergency"]
    emergency = block.frame.assign(volume_t=block.values(output.x))
    _, violations = check_plan(
        cut,
        tables["plan"],
        tables["stock"],
        tables["unmet"],
        None,
        tables["contracts"],
        None,
        tables["projects"],
        tables["routes"],
        tables["responses"],
        emergency=emergency[emergency["volume_t"] != 0],
    )
    if not violations.empty:
        raise PlanCheckError(violations.assign(scenario=name))


def _column_periods(lp, labels: list[str]) -> np.ndarray:
    """The period (position) each column belongs to: the period its family's key names.

    -1 for columns without one (discrete contract decisions). A route's period is the one its
    purchase is bought in, as the purchase's.
    """
    period = np.full(len(lp.cost), -1, dtype=np.int64)
    for block in lp.col_blocks.values():
        frame = block.frame
        if "period" not in frame or not len(frame):
            continue
        at = pd.Categorical(frame["period"], categories=labels).codes.astype(np.int64)
        ok = block.positions >= 0
        period[block.positions[ok]] = at[ok]
    return period


def _realised(lp, x, terms, factor, spot_price, name: str, probability: float) -> dict:
    """One scenario's realised cost: purchases and spot at its prices, the rest as the model's."""
    values = lp.cost_term_values(x)
    buy_cols = lp.col_blocks["buy"].positions
    unused_cols, unused_buy = lp.parameters["unused_columns"]
    price = contract_unit_prices(terms, factor)
    bought = x[buy_cols]
    purchases = float(price @ bought) + float(price[unused_buy] @ x[unused_cols])
    purchases += float(spot_price @ x[lp.col_blocks["emergency"].positions])
    # Concentrates are refused above, so purchase_cost is the purchases' and take-or-pay's.
    spend = purchases + sum(values.get(t, 0.0) for t in (*_SPEND, "response_cost"))
    penalty = sum(values.get(t, 0.0) for t in _PENALTY)
    unmet = float(lp.values("unmet", x).sum())
    return {
        "scenario": name,
        "probability": probability,
        "total_usd": spend + penalty,
        "spend_usd": spend,
        "penalty_usd": penalty,
        "unmet_t": unmet,
    }

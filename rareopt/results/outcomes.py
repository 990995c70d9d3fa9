"""Scenario outcomes of a plan: deliveries, stock, unmet demand and recourse cost per scenario.

:class:`ScenarioOutcome` is what a two-stage solve (``result.scenarios``) and a stress test
(:func:`rareopt.stress_test`) return. Its tables are built from HiGHS's solution by position and
then verified by :func:`rareopt.checks.scenarios.check_recourse` against the portfolio and the
scenarios, not against the Pyomo model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from rareopt.checks.scenarios import check_recourse, release_table
from rareopt.display import html_block
from rareopt.inputs.markets import contract_terms, contract_unit_prices
from rareopt.inputs.measures import volume_tolerance
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.model.formulation import ep_index
from rareopt.model.risk import conditional_value_at_risk, value_at_risk
from rareopt.model.two_stage import least_fractions

__all__ = ["ScenarioOutcome", "recourse_tables", "extract_outcome"]


def recourse_tables(layout, slayout, values) -> dict[str, pd.DataFrame]:
    """Long tables of one solution: ``flows`` (scenario, element, period) and ``spot`` rows.

    Parameters
    ----------
    layout : ModelLayout
        First-stage layout.
    slayout : ScenarioLayout
        Scenario layout.
    values : dict of ndarray
        ``buy`` (purchases), ``level``, ``unmet`` and ``shortfall`` (scenarios x
        element-periods), ``spot``.

    Returns
    -------
    dict
        ``flows``: scenario, element, period, contracted_t, delivered_t, spot_t, unmet_t,
        level_t, shortfall_t (below target beyond the nominal plan's), response_t (demand cut or
        scrap recovered: the plan's and the scenario's own); ``spot``: scenario,
        element, supplier, period, spot_t, limit_t, unit_cost_usd_per_t; ``deliveries``: rows
        whose delivery differs from the plan (contracted_t and delivered_t in t at the demand's
        stage: a converted purchase's through its routes) or that have spot purchases.
    """
    buy, ep = layout.buy, layout.element_period
    names = slayout.names
    n_w, n_ep = len(names), len(ep)
    ep_of_buy = ep_index(layout, buy[["element", "arrival"]].rename(columns={"arrival": "period"}))
    # Tonnes arriving at the demand's stage (through a converted purchase's routes), as planned
    # and in each scenario.
    planned = values.get("delivered", values["buy"])
    delivered = values.get("arriving", slayout.fractions * planned[None, :])
    contracted = np.bincount(ep_of_buy, weights=planned, minlength=n_ep)
    every_w = np.repeat(np.arange(n_w), len(buy))
    flows_delivered = np.bincount(
        every_w * n_ep + np.tile(ep_of_buy, n_w), weights=delivered.ravel(), minlength=n_w * n_ep
    )
    if "route_arriving" in values:
        # A converted purchase arrives route by route, each after its facilities' transit.
        route = layout.route
        route_ep = ep_index(
            layout, route[["element", "arrival"]].rename(columns={"arrival": "period"})
        )
        converted = np.zeros(len(buy), dtype=bool)
        converted[route["buy"].to_numpy(np.int64)] = True
        flows_delivered -= np.bincount(
            every_w * n_ep + np.tile(ep_of_buy, n_w),
            weights=(delivered * converted[None, :]).ravel(),
            minlength=n_w * n_ep,
        )
        flows_delivered += np.bincount(
            np.repeat(np.arange(n_w), len(route)) * n_ep + np.tile(route_ep, n_w),
            weights=values["route_arriving"].ravel(),
            minlength=n_w * n_ep,
        )
        planned_by_route = values["route_planned"]
        contracted -= np.bincount(ep_of_buy, weights=planned * converted, minlength=n_ep)
        contracted += np.bincount(route_ep, weights=planned_by_route, minlength=n_ep)
    spot = slayout.spot
    spot_b = spot["buy"].to_numpy(int)
    spot_w = spot["scenario"].to_numpy(int)
    flows_spot = np.bincount(
        spot_w * n_ep + ep_of_buy[spot_b], weights=values["spot"], minlength=n_w * n_ep
    )
    flows = pd.DataFrame(
        {
            "scenario": np.repeat(names, n_ep),
            "element": np.tile(ep["element"].to_numpy(), n_w),
            "period": np.tile(ep["period"].to_numpy(), n_w),
            "contracted_t": np.tile(contracted, n_w),
            "delivered_t": flows_delivered,
            "spot_t": flows_spot,
            "unmet_t": values["unmet"].ravel(),
            "level_t": values["level"].ravel(),
            "shortfall_t": values["shortfall"].ravel(),
            "response_t": values.get("response", np.zeros((n_w, n_ep))).ravel(),
        }
    )
    spot_rows = pd.DataFrame(
        {
            "scenario": np.asarray(names, dtype=object)[spot_w],
            "element": buy["element"].to_numpy()[spot_b],
            "supplier": buy["supplier"].to_numpy()[spot_b],
            "period": buy["period"].to_numpy()[spot_b],
            "spot_t": values["spot"],
            "limit_t": spot["limit_t"].to_numpy(float),
            "unit_cost_usd_per_t": spot["unit_cost_usd_per_t"].to_numpy(float),
        }
    )
    # Purchases whose tonnes arrive short (a converted one's through any of its routes): t due
    # at the demand's stage as planned, and as delivered in the scenario.
    short = delivered < planned[None, :] * (1.0 - 1e-12) - 1e-12
    short |= slayout.fractions < 1.0
    w_idx, b_idx = np.nonzero(short)
    changed = pd.DataFrame(
        {
            "scenario": np.asarray(names, dtype=object)[w_idx],
            "element": buy["element"].to_numpy()[b_idx],
            "supplier": buy["supplier"].to_numpy()[b_idx],
            "period": buy["period"].to_numpy()[b_idx],
            "contracted_t": planned[b_idx],
            "delivered_t": delivered[w_idx, b_idx],
        }
    )
    keys = ["scenario", "element", "supplier", "period"]
    bought_spot = spot_rows.loc[spot_rows["spot_t"] > 0, [*keys, "spot_t"]]
    deliveries = changed.merge(bought_spot, on=keys, how="outer")
    if len(bought_spot):
        missing = deliveries["contracted_t"].isna()
        contract = pd.Series(
            planned, index=pd.MultiIndex.from_frame(buy[["element", "supplier", "period"]])
        )
        fill = contract.reindex(
            list(zip(*(deliveries.loc[missing, k] for k in keys[1:])))
        ).to_numpy()
        deliveries.loc[missing, "contracted_t"] = fill
        deliveries.loc[missing, "delivered_t"] = fill
    deliveries["spot_t"] = deliveries["spot_t"].fillna(0.0)
    return {"flows": flows, "spot": spot_rows, "deliveries": deliveries.set_index(keys)}


@dataclass
class ScenarioOutcome:
    """How a plan fares in each scenario.

    Attributes
    ----------
    cost : DataFrame
        Per scenario: probability, recourse_usd (cost beyond the nominal plan, >= 0 for a
        disruption that only cuts deliveries), split into recourse_spend_usd (spot purchases,
        the end stock bought back and contracts paid at the scenario's prices, less the
        undelivered tonnes not paid for: may be negative) and recourse_penalty_usd (extra unmet
        demand and extra stock below target), total_usd (first stage + recourse), spend_usd
        (the money paid in the scenario: the first stage's spend + recourse_spend_usd, no
        penalty), unmet_t, extra_unmet_t (beyond the nominal plan's), spot_t, undelivered_t.
    elements : DataFrame
        Per (scenario, element): min_days_of_cover (stock at its lowest over the horizon, in days
        of that period's consumption), worst_period, unmet_t, extra_unmet_t (beyond the nominal
        plan's), spot_t, extra_cost_usd (the element's recourse); and where a disruption hits
        the element: days_of_cover_after_event (lowest from the event's first period on),
        days_of_cover_at_event_end, days_of_cover_at_horizon_end and periods_to_target (after
        the event's last period, until the stock is back at its target; NaN: not by the
        horizon's end).
    stock : DataFrame
        Per (scenario, element, period): contracted_t, delivered_t, spot_t, unmet_t, level_t,
        days_of_cover.
    deliveries : DataFrame
        Per (scenario, element, supplier, period) where delivery differs from the contract or spot
        was bought: contracted_t, delivered_t, spot_t.
    metrics : Series
        expected_recourse_usd, var_usd and cvar_usd at ``alpha``, expected_spend_usd and
        spend_cvar_usd (the cost at risk: the mean spend of the costliest 1 - ``alpha`` of
        probability), worst_recourse_usd,
        probability_of_unmet (any unmet demand, the nominal plan's included),
        probability_of_extra_unmet (unmet demand beyond the nominal plan's: what the disruption
        costs in service), expected_unmet_t, first_stage_usd.
    alpha : float
        Level of VaR and CVaR.
    checks : DataFrame
        The independent check of every scenario's recourse.
    contracts : DataFrame
        Per (scenario, element, supplier) the plan buys from or owes a take-or-pay minimum to:
        delivered_t, paid_usd (under the contract's terms at the scenario's prices, a
        take-or-pay minimum included), market_usd (the same tonnes at the scenario's market
        price and freight) and earned_usd = market_usd - paid_usd (what the contract saved
        against the market; negative: what it cost). See :meth:`contract_value`.
    responses : DataFrame
        Demand response decided in the scenarios (``decision: recourse``), per (scenario,
        element, response, period) where used: volume_t (t of demand cut or scrap recovered),
        cost_usd. The plan's own responses act in every scenario (``stock.response_t`` counts
        both).
    releases : DataFrame
        With ``policy.release_rules``, per (scenario, element, period) a rule covers: emergency,
        delivered_share, release_t (stock drawn beyond the plan's own draw), limit_t, at_limit
        (the rule bound the release), floor_t and below_floor_t (outside an emergency, priced
        like unmet demand).

    Examples
    --------
    >>> import rareopt
    >>> s = rareopt.event_scenarios(["china-japan-2010"], baseline=0.9)
    >>> out = rareopt.solve(rareopt.load_example("tiny"), scenarios=s).scenarios
    >>> out.cost.index.tolist()
    ['no disruption', 'china-japan-2010']
    """

    cost: pd.DataFrame
    elements: pd.DataFrame
    stock: pd.DataFrame
    deliveries: pd.DataFrame
    metrics: pd.Series
    alpha: float
    checks: pd.DataFrame = field(default_factory=pd.DataFrame)
    contracts: pd.DataFrame = field(default_factory=pd.DataFrame)
    responses: pd.DataFrame = field(default_factory=pd.DataFrame)
    releases: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def from_tables(
        cls,
        flows: pd.DataFrame,
        deliveries: pd.DataFrame,
        recourse: pd.DataFrame,
        probabilities: pd.Series,
        first_stage_usd: float,
        days: pd.DataFrame,
        alpha: float,
        first_stage_spend_usd: float,
        checks: pd.DataFrame,
        windows: pd.DataFrame | None = None,
        contracts: pd.DataFrame | None = None,
        responses: pd.DataFrame | None = None,
        releases: pd.DataFrame | None = None,
    ) -> ScenarioOutcome:
        """Assemble the outcome from checked long tables.

        ``recourse`` holds the recomputed recourse per (scenario, element) (column
        ``extra_cost_usd``); ``days`` the demand per day, the stock target and the nominal
        plan's unmet demand of each (element, period); ``windows`` the first and last disrupted
        period (0-based) of each (scenario, element) a disruption hits.
        """
        stock = flows.merge(days, on=["element", "period"], how="left")
        daily = stock.pop("daily_demand_t")
        target = stock.pop("target_t")
        stock["extra_unmet_t"] = (stock["unmet_t"] - stock.pop("nominal_unmet_t")).clip(lower=0.0)
        stock["days_of_cover"] = np.where(
            daily > 0, stock["level_t"] / daily.where(daily > 0, 1.0), np.inf
        )
        order = list(probabilities.index)
        stock = stock.set_index(["scenario", "element", "period"])
        grouped = stock.groupby(level=["scenario", "element"], sort=False)
        lowest = grouped["days_of_cover"].idxmin()
        elements = pd.DataFrame(
            {
                "min_days_of_cover": grouped["days_of_cover"].min(),
                "worst_period": lowest.map(lambda key: key[2]),
                "unmet_t": grouped["unmet_t"].sum(),
                "extra_unmet_t": grouped["extra_unmet_t"].sum(),
                "spot_t": grouped["spot_t"].sum(),
            }
        ).join(recourse)
        elements = elements.join(_damage(stock, target, windows))
        per_scenario = stock.groupby(level="scenario", sort=False)
        cost = pd.DataFrame(
            {
                "probability": probabilities,
                "recourse_usd": elements["extra_cost_usd"].groupby(level="scenario").sum(),
                "recourse_spend_usd": elements["extra_spend_usd"].groupby(level="scenario").sum(),
                "recourse_penalty_usd": elements["extra_penalty_usd"]
                .groupby(level="scenario")
                .sum(),
                "unmet_t": per_scenario["unmet_t"].sum(),
                "extra_unmet_t": per_scenario["extra_unmet_t"].sum(),
                "spot_t": per_scenario["spot_t"].sum(),
                "undelivered_t": per_scenario["contracted_t"].sum()
                - per_scenario["delivered_t"].sum(),
            }
        ).reindex(order)
        cost.insert(4, "total_usd", first_stage_usd + cost["recourse_usd"])
        cost.insert(5, "spend_usd", first_stage_spend_usd + cost["recourse_spend_usd"])
        cost.index.name = "scenario"
        values, p = cost["recourse_usd"].to_numpy(), cost["probability"].to_numpy()
        spend = cost["spend_usd"].to_numpy()
        metrics = pd.Series(
            {
                "first_stage_usd": first_stage_usd,
                "expected_recourse_usd": float(p @ values),
                "var_usd": value_at_risk(values, p, alpha),
                "cvar_usd": conditional_value_at_risk(values, p, alpha),
                "expected_spend_usd": float(p @ spend),
                "spend_cvar_usd": conditional_value_at_risk(spend, p, alpha),
                "worst_recourse_usd": float(values.max()),
                "probability_of_unmet": float(p[cost["unmet_t"].to_numpy() > 1e-6].sum()),
                "probability_of_extra_unmet": float(
                    p[cost["extra_unmet_t"].to_numpy() > 1e-6].sum()
                ),
                "expected_unmet_t": float(p @ cost["unmet_t"].to_numpy()),
            },
            name="value",
        )
        contracts = pd.DataFrame() if contracts is None else contracts
        responses = pd.DataFrame() if responses is None else responses
        releases = pd.DataFrame() if releases is None else releases
        return cls(
            cost,
            elements,
            stock,
            deliveries,
            metrics,
            alpha,
            checks,
            contracts,
            responses,
            releases,
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every non-empty table of the outcome by name, for a file export.

        Examples
        --------
        >>> import rareopt
        >>> s = rareopt.event_scenarios(["china-japan-2010"], baseline=0.9)
        >>> sorted(rareopt.solve(rareopt.load_example("tiny"), scenarios=s).scenarios.tables())[:3]
        ['contracts', 'cost', 'deliveries']
        """
        named = {
            "cost": self.cost,
            "elements": self.elements,
            "stock": self.stock,
            "deliveries": self.deliveries,
            "distribution": self.distribution(),
            "contracts": self.contracts,
            "responses": self.responses,
            "releases": self.releases,
            "metrics": self.metrics.to_frame(),
        }
        return {name: table for name, table in named.items() if len(table)}

    def contract_value(self) -> pd.DataFrame:
        """Per contract (element, supplier): what it earned against the market over the scenarios.

        Columns expected_earned_usd, worst_earned_usd and best_earned_usd (USD: the market
        value of its deliveries less what it paid; negative is a cost), and probability_of_loss
        (of paying more than the market).

        Examples
        --------
        >>> import rareopt
        >>> s = rareopt.event_scenarios(["china-japan-2010"], baseline=0.9)
        >>> v = rareopt.solve(rareopt.load_example("tiny"), scenarios=s).scenarios.contract_value()
        >>> v.columns.tolist()[:2]
        ['expected_earned_usd', 'worst_earned_usd']
        """
        p = self.cost["probability"]
        earned = self.contracts["earned_usd"].unstack(["element", "supplier"]).reindex(p.index)
        earned = earned.fillna(0.0)
        weights = p.to_numpy()
        loss = earned.to_numpy() < -1e-6 * np.maximum(1.0, earned.abs().to_numpy())
        return pd.DataFrame(
            {
                "expected_earned_usd": weights @ earned.to_numpy(),
                "worst_earned_usd": earned.min().to_numpy(),
                "best_earned_usd": earned.max().to_numpy(),
                "probability_of_loss": weights @ loss,
            },
            index=earned.columns,
        )

    def distribution(self) -> pd.DataFrame:
        """Per element: the distribution of the extra cost over the scenarios.

        Columns: mean, VaR and CVaR (at ``alpha``) and worst of the extra cost (USD), the
        probability of unmet demand, and the mean of the lowest days of cover.

        Examples
        --------
        >>> import rareopt
        >>> s = rareopt.event_scenarios(["china-japan-2010"], baseline=0.9)
        >>> d = rareopt.solve(rareopt.load_example("tiny"), scenarios=s).scenarios.distribution()
        >>> d.columns.tolist()[:3]
        ['mean_usd', 'var_usd', 'cvar_usd']
        """
        p = self.cost["probability"]
        rows = {}
        for element, table in self.elements.groupby(level="element", sort=False):
            table = table.droplevel("element").reindex(p.index)
            cost = table["extra_cost_usd"].to_numpy()
            rows[element] = {
                "mean_usd": float(p.to_numpy() @ cost),
                "var_usd": value_at_risk(cost, p, self.alpha),
                "cvar_usd": conditional_value_at_risk(cost, p, self.alpha),
                "worst_usd": float(cost.max()),
                "probability_of_unmet": float(p[table["unmet_t"] > 1e-6].sum()),
                "mean_min_days_of_cover": float(p.to_numpy() @ table["min_days_of_cover"]),
            }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("element")

    def probability_below(self, days: float) -> pd.Series:
        """Per element: the probability that its stock falls below ``days`` of cover at some point.

        Days of cover are the stock at the end of a period over that period's daily demand; the
        nominal plan's own low points count too (a plan that starts below ``days`` falls below
        in every scenario).

        Examples
        --------
        >>> import rareopt
        >>> s = rareopt.event_scenarios(["china-japan-2010"], baseline=0.9)
        >>> out = rareopt.solve(rareopt.load_example("tiny"), scenarios=s).scenarios
        >>> out.probability_below(0.0).tolist()
        [0.0, 0.0]
        """
        p = self.cost["probability"]
        # Stock held exactly at ``days`` (to round-off) is not below it.
        low = self.elements["min_days_of_cover"] < days * (1 - 1e-9) - 1e-9
        weighted = low.astype(float) * p.reindex(low.index.get_level_values("scenario")).to_numpy()
        return (
            weighted.groupby(level="element", sort=False)
            .sum()
            .rename(f"probability_below_{days:g}_days")
        )

    def summary(self, below_days: float = 30.0) -> str:
        """A readable account: risk metrics, then per scenario and per element.

        ``below_days``: the headline probability of falling below this many days of cover.

        Examples
        --------
        >>> import rareopt
        >>> s = rareopt.event_scenarios(["china-japan-2010"], baseline=0.9)
        >>> print(rareopt.solve(rareopt.load_example("tiny"), scenarios=s).scenarios.summary())
        ... # doctest: +ELLIPSIS
        scenarios: 2; expected recourse ... USD (money ... USD, penalties ... USD: not money); ...
        ...
        """
        m = self.metrics
        level = f"{100 * self.alpha:g}%"
        p = self.cost["probability"].to_numpy()
        spent = float(p @ self.cost["recourse_spend_usd"].to_numpy())
        penalised = float(p @ self.cost["recourse_penalty_usd"].to_numpy())
        lines = [
            f"scenarios: {len(self.cost)}; expected recourse {m['expected_recourse_usd']:,.0f} USD "
            f"(money {spent:,.0f} USD, penalties {penalised:,.0f} USD: not money); "
            f"VaR {level} {m['var_usd']:,.0f} USD; CVaR {level} {m['cvar_usd']:,.0f} USD; "
            f"worst {m['worst_recourse_usd']:,.0f} USD (recourse, penalties included)",
            f"money spent in the scenarios (plan and recourse, no penalties): expected "
            f"{m['expected_spend_usd']:,.0f} USD; cost at risk (CVaR {level} of it) "
            f"{m['spend_cvar_usd']:,.0f} USD",
            f"probability of unmet demand beyond the plan's own "
            f"{m['probability_of_extra_unmet']:.1%} (any unmet {m['probability_of_unmet']:.1%}); "
            f"expected unmet {m['expected_unmet_t']:,.1f} t",
            f"probability of falling below {below_days:g} days of cover: "
            + ", ".join(f"{e} {v:.1%}" for e, v in self.probability_below(below_days).items()),
        ]
        with pd.option_context(
            "display.width",
            120,
            "display.max_columns",
            20,
            "display.max_rows",
            30,
            "display.float_format",
            "{:,.1f}".format,
        ):
            worst = self.cost.sort_values("recourse_usd", ascending=False).head(10)
            # Probabilities keep their digits (1 in 500 is 0.002, not 0.0).
            per_scenario = worst.to_string(formatters={"probability": "{:.4g}".format})
            lines += ["", "per scenario (the 10 costliest):", per_scenario]
            lines += [
                "",
                f"per element, over the scenarios (alpha {self.alpha:g}):",
                self.distribution().to_string(),
            ]
            earned = self.contracts.get("earned_usd", pd.Series(dtype=float))
            if (earned.abs() > 1e-6).any():
                value = self.contract_value()
                value = value[(value.drop(columns="probability_of_loss").abs() > 1e-6).any(axis=1)]
                lines += [
                    "",
                    "contracts against the market (USD earned: the market value of their "
                    "deliveries less what they paid; negative is a cost):",
                    value.to_string(formatters={"probability_of_loss": "{:.1%}".format}),
                ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """In a notebook: the headline lines of :meth:`summary`, then the costliest scenarios."""
        lines = self.summary().split("\n\n")[0].splitlines()
        table = self.cost.sort_values("recourse_usd", ascending=False)
        return html_block(f"{len(self.cost)} scenarios", lines, table, decimals=0)


def extract_outcome(
    layout,
    slayout,
    lp,
    x: np.ndarray,
    plan: pd.DataFrame,
    stock: pd.DataFrame,
    unmet: pd.DataFrame,
    first_stage_usd: float,
    first_stage_spend_usd: float,
    responses: pd.DataFrame | None = None,
    row_dual: np.ndarray | None = None,
):
    """The checked :class:`ScenarioOutcome` of a solved two-stage model, and any violations.

    Parameters
    ----------
    layout : ModelLayout
        The first stage's layout.
    slayout : ScenarioLayout
        The scenarios' (:func:`rareopt.model.two_stage.scenario_layout`).
    lp : LinearProgram
        The two-stage LP solved, with its scenario families located.
    x : ndarray
        HiGHS's column values.
    plan, stock, unmet : DataFrame
        The first stage's result tables.
    first_stage_usd : float
        The first stage's cost, recomputed from the plan.
    first_stage_spend_usd : float
        The money in it (its cost less the penalties).
    responses : DataFrame, optional
        The plan's demand response (``result.tables["responses"]``).
    row_dual : ndarray, optional
        HiGHS's row duals (an LP's): the release rules' marginal values.

    Returns
    -------
    outcome : ScenarioOutcome
    violations : DataFrame
        Scenario rows beyond tolerance (empty when the recourse passes the check).
    recomputed_recourse : ndarray
        Recourse per scenario (USD) recomputed by the check, in scenario order.
    """
    ep = layout.element_period
    shape = (len(slayout.names), len(ep))
    values = {
        "buy": plan["volume_t"].to_numpy(),
        "delivered": plan["delivered_t"].to_numpy(),
        **_through_routes(layout, slayout, lp, x, plan["volume_t"].to_numpy()),
        "level": lp.values("scenario_stock", x).reshape(shape),
        "unmet": lp.values("scenario_unmet", x).reshape(shape)
        + unmet["unmet_t"].to_numpy()[None, :],
        "spot": lp.values("spot", x),
        "shortfall": np.zeros(shape),
    }
    # Where the LP's scenario targets sit (a frontier over target days keeps its base LP's rows).
    below = lp.col_blocks["scenario_shortfall"]
    first = below.frame["scenario"].to_numpy() == slayout.names[0]
    at = ep_index(layout, below.frame[first])
    values["shortfall"][:, at] = below.values(x).reshape(len(slayout.names), -1)
    # Demand response: the plan's acts in every scenario; the scenario's own from its start.
    later = lp.col_blocks.get("scenario_response")
    scenario_responses = None
    values["response"] = np.zeros(shape)
    if responses is not None and len(responses):
        plan_cells = ep_index(layout, responses.reset_index())
        values["response"] += np.bincount(
            plan_cells, weights=responses["volume_t"].to_numpy(float), minlength=len(ep)
        )[None, :]
    if later is not None and len(later.frame):
        scenario_responses = later.frame.assign(volume_t=later.values(x))
        w = pd.Categorical(scenario_responses["scenario"], categories=slayout.names).codes
        w = w.astype(np.int64)
        cells = w * len(ep) + ep_index(layout, scenario_responses)
        values["response"] += np.bincount(
            cells,
            weights=scenario_responses["volume_t"].to_numpy(float),
            minlength=shape[0] * shape[1],
        ).reshape(shape)
    tables = recourse_tables(layout, slayout, values)
    nominal = stock[["level_t", "shortfall_t"]].join(unmet[["unmet_t"]])
    checks, violations, recourse = check_recourse(
        layout.portfolio,
        plan.reset_index(),
        values["paid"],
        values["arriving"],
        nominal,
        tables["flows"],
        tables["spot"],
        slayout.spot_share,
        slayout.spot_premium,
        routes=layout.route[["element", "supplier", "route", "period"]]
        if len(layout.route)
        else None,
        route_arriving=values.get("route_arriving"),
        scenarios=slayout.scenario_set,
        responses=scenario_responses,
        plan_responses=responses,
        first=slayout.first_disrupted,
        emergency=slayout.emergency,
    )
    days = ep[["element", "period"]].assign(
        daily_demand_t=ep["demand_t"] / ep["days"],
        target_t=ep["target_t"],
        nominal_unmet_t=unmet["unmet_t"].to_numpy(),
    )
    probabilities = pd.Series(slayout.probabilities, index=slayout.names, name="probability")
    contracts = contract_table(
        layout.portfolio, plan.reset_index(), values["paid"], slayout.scenario_set, slayout.names
    )
    outcome = ScenarioOutcome.from_tables(
        tables["flows"],
        tables["deliveries"],
        recourse,
        probabilities,
        first_stage_usd,
        days,
        slayout.risk.alpha,
        first_stage_spend_usd,
        checks,
        _event_windows(layout, slayout),
        contracts,
        _used_responses(layout, scenario_responses),
        _with_marginals(
            release_table(
                layout.portfolio,
                slayout.emergency,
                slayout.delivered_shares,
                values["level"].reshape(shape[0], len(layout.portfolio.elements), -1),
                stock["level_t"].to_numpy(float).reshape(1, len(layout.portfolio.elements), -1),
                slayout.names,
                volume_tolerance(layout.portfolio),
            ),
            lp,
            row_dual,
            probabilities,
        ),
    )
    return outcome, violations, outcome.cost["recourse_usd"].to_numpy()


def _with_marginals(
    releases: pd.DataFrame, lp, row_dual: np.ndarray | None, probabilities: pd.Series
) -> pd.DataFrame:
    """The release table with each rule's marginal value, and whether it bound.

    ``marginal_usd_per_t``: what one more tonne of release allowed there would save the
    scenario (USD per t, from the dual of its ``release_cap`` row divided by the scenario's
    probability; NaN without duals (a MIP) or for a scenario of probability 0; 0 where no row).
    ``bound``: the release at its limit with a positive marginal value.
    """
    if not len(releases):
        return releases
    marginal = pd.Series(np.nan if row_dual is None else 0.0, index=releases.index)
    block = lp.row_blocks.get("release_cap")
    if row_dual is not None and block is not None and len(block.frame):
        keys = pd.MultiIndex.from_frame(block.frame[["scenario", "element", "period"]])
        p = probabilities.reindex(block.frame["scenario"]).to_numpy(float)
        per_t = np.where(p > 0, -block.values(row_dual) / np.where(p > 0, p, 1.0), np.nan)
        marginal.loc[keys] = per_t
    out = releases.assign(marginal_usd_per_t=marginal.to_numpy())
    out["bound"] = out["at_limit"] & (out["marginal_usd_per_t"].fillna(0.0) > 1e-9)
    return out


def _used_responses(layout, scenario_responses: pd.DataFrame | None) -> pd.DataFrame:
    """The scenarios' own demand response where used: volume_t and cost_usd per row."""
    keys = ["scenario", "element", "response", "period"]
    if scenario_responses is None:
        return pd.DataFrame(columns=[*keys, "volume_t", "cost_usd"]).set_index(keys)
    cost = layout.recourse_response.set_index(["response", "period"])["cost_usd_per_t"]
    used = scenario_responses[scenario_responses["volume_t"] > volume_tolerance(layout.portfolio)]
    per_t = cost.reindex(pd.MultiIndex.from_frame(used[["response", "period"]])).to_numpy(float)
    return used.assign(cost_usd=used["volume_t"].to_numpy(float) * per_t).set_index(keys)


def contract_table(
    portfolio: Portfolio,
    plan: pd.DataFrame,
    paid_share: np.ndarray,
    scenarios: ScenarioSet | None,
    names: list[str],
) -> pd.DataFrame:
    """What each contract paid and what its tonnes were worth at market, per scenario.

    Parameters
    ----------
    portfolio : Portfolio
        Gives the offers' prices, freight and contract terms.
    plan : DataFrame
        One row per purchase: element, supplier, period (bought in), volume_t.
    paid_share : ndarray
        Share of each purchase delivered and paid for, per scenario (scenarios x purchases).
    scenarios : ScenarioSet or None
        Their price shocks (None: today's prices).
    names : list of str
        The scenarios, in the rows' order.

    Returns
    -------
    DataFrame
        Index (scenario, element, supplier); delivered_t, paid_usd, market_usd, earned_usd
        (see :class:`ScenarioOutcome`). Every term from the portfolio's tables, through
        :func:`~rareopt.inputs.markets.contract_unit_prices`.
    """
    # Only the purchases made or owed (a take-or-pay minimum), summed per contract.
    terms = contract_terms(portfolio.offers, plan)
    x = plan["volume_t"].to_numpy(float)
    minimum = terms["take_or_pay_t"].to_numpy(float)
    rows = np.flatnonzero((x > 0) | (minimum > 0))
    terms, x, minimum = terms.iloc[rows].reset_index(drop=True), x[rows], minimum[rows]
    moves = scenarios is not None and scenarios.moves_prices()
    factors = scenarios.price_factors(portfolio, plan.iloc[rows], names) if moves else 1.0
    delivered = paid_share[:, rows] * x[None, :]
    paid_t = delivered + np.maximum(minimum[None, :] - delivered, 0.0)
    paid = contract_unit_prices(terms, factors) * paid_t
    price = terms["price_usd_per_t"].to_numpy(float)
    market = (price * factors + terms["freight_usd_per_t"].to_numpy(float)) * delivered
    pairs = pd.MultiIndex.from_frame(terms[["element", "supplier"]])
    code, contracts = pairs.factorize()
    to_contract = sp.csr_matrix(
        (np.ones(len(rows)), (np.arange(len(rows)), code)), shape=(len(rows), len(contracts))
    )
    index = pd.MultiIndex.from_tuples(
        [(w, e, s) for w in names for e, s in contracts],
        names=["scenario", "element", "supplier"],
    )
    table = pd.DataFrame(
        {
            column: np.asarray(values @ to_contract).ravel()
            for column, values in (
                ("delivered_t", delivered),
                ("paid_usd", np.broadcast_to(paid, delivered.shape)),
                ("market_usd", np.broadcast_to(market, delivered.shape)),
            )
        },
        index=index,
    )
    table["earned_usd"] = table["market_usd"] - table["paid_usd"]
    return table


def _through_routes(layout, slayout, lp, x: np.ndarray, bought: np.ndarray) -> dict:
    """Per scenario and purchase: t arriving (``arriving``) and the share paid for (``paid``).

    A purchase delivered as bought arrives and is paid at its delivered fraction; one converted
    by facilities arrives through each route at the route's fraction and yield, and is paid for
    the tonnes its routes deliver. With routes, also per scenario and route the t arriving
    (``route_arriving``) and per route the t planned (``route_planned``).
    """
    f = slayout.fractions
    arriving, paid = np.zeros_like(f), f.copy()
    direct = np.ones(len(layout.buy), dtype=bool)
    route = layout.route
    out = {}
    if len(route):
        at = route["buy"].to_numpy(np.int64)
        direct[at] = False
        z = lp.values("route", x)
        g = slayout.route_fractions
        planned = z * route["yield"].to_numpy(float)
        reach, sent = np.zeros_like(f), np.zeros_like(f)
        np.add.at(reach.T, at, (g * planned).T)
        np.add.at(sent.T, at, (g * z).T)
        arriving[:, ~direct] = reach[:, ~direct]
        safe = np.where(bought > 0, bought, 1.0)
        paid[:, ~direct] = np.where(bought[~direct] > 0, sent[:, ~direct] / safe[~direct], 1.0)
        out = {"route_arriving": g * planned, "route_planned": planned}
    arriving[:, direct] = f[:, direct] * bought[direct]
    return {"arriving": arriving, "paid": paid, **out}


def _damage(stock: pd.DataFrame, target: pd.Series, windows: pd.DataFrame | None) -> pd.DataFrame:
    """Per (scenario, element) a disruption hits: days of cover after it, and time to recover.

    Days of cover at its lowest from the event's first period on, at the event's last period and
    at the horizon's end, and the periods after the event until the stock is back at its target.
    NaN for an element the scenario does not disrupt; ``periods_to_target`` is NaN where the stock
    is not back at target by the horizon's end (0: at target when the event ends).
    """
    columns = [
        "days_of_cover_after_event",
        "days_of_cover_at_event_end",
        "days_of_cover_at_horizon_end",
        "periods_to_target",
    ]
    if windows is None or windows.empty:
        nothing = pd.MultiIndex.from_arrays([[], []], names=["scenario", "element"])
        return pd.DataFrame(index=nothing, columns=columns, dtype=float)
    frame = stock[["days_of_cover", "level_t"]].assign(target_t=target.to_numpy())
    frame["at"] = frame.groupby(level=["scenario", "element"], sort=False).cumcount()
    frame = frame.join(windows, on=["scenario", "element"], how="inner")
    grouped = frame.groupby(level=["scenario", "element"], sort=False)
    after = frame[frame["at"] >= frame["event_start"]]
    back = frame[
        (frame["at"] >= frame["event_end"]) & (frame["level_t"] >= frame["target_t"] - 1e-6)
    ]
    first_back = back.groupby(level=["scenario", "element"], sort=False)["at"].min()
    return pd.DataFrame(
        {
            "days_of_cover_after_event": after.groupby(level=["scenario", "element"], sort=False)[
                "days_of_cover"
            ].min(),
            "days_of_cover_at_event_end": frame.loc[
                frame["at"] == frame["event_end"], "days_of_cover"
            ].droplevel("period"),
            "days_of_cover_at_horizon_end": grouped["days_of_cover"].last(),
            "periods_to_target": first_back - grouped["event_end"].first(),
        }
    )[columns]


def _event_windows(layout, slayout) -> pd.DataFrame:
    """Per (scenario, element) hit by a disruption: its first and last disrupted period (0-based).

    A period counts as disrupted when some purchase of the element bought in it delivers less
    than contracted, directly or through one of its routes (a stage or facility disruption).
    """
    buy = layout.buy
    labels = layout.portfolio.period_labels
    period = pd.Categorical(buy["period"], categories=labels).codes
    least = least_fractions(layout, slayout.fractions, slayout.route_fractions)
    w, b = np.nonzero(least < 1.0)
    hit = pd.DataFrame(
        {
            "scenario": np.asarray(slayout.names, dtype=object)[w],
            "element": buy["element"].to_numpy(object)[b],
            "period": period[b],
        }
    )
    grouped = hit.groupby(["scenario", "element"], sort=False)["period"]
    return pd.DataFrame({"event_start": grouped.min(), "event_end": grouped.max()})

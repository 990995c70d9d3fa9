"""Results: tidy, labelled tables of the plan, stock, unmet demand, shares, HHI and duals.

:func:`extract` turns HiGHS's arrays into tables using the model's layout (vectorised, no per-variable
Pyomo calls); :class:`Result` holds them with the typed status and prints a readable summary.
"""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rareopt.contracts import contract_rows
from rareopt.exceptions import NoPlanError
from rareopt.highs import CompiledLP, SolverOutput
from rareopt.keys import row_keys
from rareopt.layout import ModelLayout
from rareopt.portfolio import Portfolio
from rareopt.projects import discount_factors
from rareopt.standard_form import COST_TERMS
from rareopt.status import EXPLANATIONS, SolveStatus
from rareopt.validation import ALL

__all__ = ["Result", "LazyTables", "extract", "shares_table", "hhi_table", "duals_table"]

TABLES = (
    "plan",
    "stock",
    "unmet",
    "shares",
    "hhi",
    "duals",
    "contracts",
    "projects",
    "concentrates",
    "surplus",
    "hhi_cuts",
)


class LazyTables(MutableMapping):
    """Result tables by name; the derived ones (shares, HHI, duals) are built on first access.

    A plan is checked in full before any table is handed out; shares, HHI and duals are only
    views of it, so a caller who never reads them does not pay for them.

    Examples
    --------
    >>> t = LazyTables({"plan": 1}, {"shares": lambda: 2})
    >>> "shares" in t, t["shares"], sorted(t)
    (True, 2, ['plan', 'shares'])
    """

    def __init__(self, ready: dict, pending: dict | None = None) -> None:
        self._ready = dict(ready)
        self._pending: dict = {}
        for name, builder in (pending or {}).items():
            self.defer(name, builder)

    def defer(self, name: str, builder) -> None:
        """Build table ``name`` by calling ``builder()`` when it is first read."""
        self._ready.pop(name, None)
        self._pending[name] = builder

    def __getitem__(self, name: str):
        if name in self._pending:
            self._ready[name] = self._pending.pop(name)()
        return self._ready[name]

    def __setitem__(self, name: str, value) -> None:
        self._pending.pop(name, None)
        self._ready[name] = value

    def __delitem__(self, name: str) -> None:
        if self._pending.pop(name, None) is None:
            del self._ready[name]

    def __iter__(self):
        return iter([*self._ready, *self._pending])

    def __len__(self) -> int:
        return len(self._ready) + len(self._pending)


def _values(lp: CompiledLP, x: np.ndarray, variables) -> np.ndarray:
    """Solution value of each variable; absent (folded) variables take their fixed value or 0."""
    variables = list(variables)
    pos = lp.positions(variables)
    absent = pos < 0
    out = np.where(absent, 0.0, x[np.maximum(pos, 0)])
    if absent.any():
        out[absent] = [v.value or 0.0 for v, a in zip(variables, absent) if a]
    return out


def shares_table(plan: pd.DataFrame) -> pd.DataFrame:
    """Shares of each element's purchases by country and by supplier, per period and over all.

    Parameters
    ----------
    plan : DataFrame
        Columns element, supplier, country, period, volume_t.

    Returns
    -------
    DataFrame
        Index (element, period, by, holder) with ``by`` in {"country", "supplier"} and period
        ``"*"`` for the horizon; columns volume_t and share (0-1; 0 where nothing is bought).

    Examples
    --------
    >>> plan = pd.DataFrame({"element": ["Nd", "Nd"], "supplier": ["A", "B"],
    ...                      "country": ["CN", "AU"], "period": ["P1", "P1"], "volume_t": [60.0, 40.0]})
    >>> shares_table(plan).loc[("Nd", "P1", "country", "CN"), "share"]
    np.float64(0.6)
    """
    frames = []
    horizon = plan.assign(period=ALL)
    for by in ("country", "supplier"):
        for frame in (plan, horizon):
            grouped = frame.groupby(["element", "period", by], sort=False)["volume_t"].sum()
            frames.append(
                grouped.rename_axis(["element", "period", "holder"]).reset_index().assign(by=by)
            )
    out = pd.concat(frames, ignore_index=True)
    out["holder"] = out["holder"].astype(object)
    total = out.groupby(["element", "period", "by"])["volume_t"].transform("sum")
    out["share"] = np.where(total > 0, out["volume_t"] / total.where(total > 0, 1.0), 0.0)
    return out.set_index(["element", "period", "by", "holder"])[["volume_t", "share"]]


def hhi_table(shares: pd.DataFrame) -> pd.DataFrame:
    """Herfindahl-Hirschman index of country shares per element and period (0-10,000 scale).

    Examples
    --------
    >>> plan = pd.DataFrame({"element": ["Nd", "Nd"], "supplier": ["A", "B"],
    ...                      "country": ["CN", "AU"], "period": ["P1", "P1"], "volume_t": [60.0, 40.0]})
    >>> float(hhi_table(shares_table(plan)).loc[("Nd", "P1"), "hhi"])
    5200.0
    """
    country = shares[shares.index.get_level_values("by") == "country"].droplevel("by")
    hhi = (100 * country["share"]) ** 2
    return hhi.groupby(level=["element", "period"], sort=False).sum().to_frame("hhi")


def duals_table(layout: ModelLayout, lp: CompiledLP, output: SolverOutput, plan) -> pd.DataFrame:
    """Marginal values: d(total cost)/d(right-hand side) for each constraint family (LP only).

    For a MIP, pass the LP with the integer decisions fixed (:func:`rareopt.highs.fix_integers`).
    """
    families = (
        ("balance", "USD per t of demand"),
        ("stock_target", "USD per t of target"),
        ("country_cap", "USD per t of cap headroom"),
        ("supplier_cap", "USD per t of cap headroom"),
        ("group_cap", "USD per t of cap headroom"),
        ("group_floor", "USD per t of floor"),
    )
    totals = plan.groupby(["element", "period"])["volume_t"].sum()
    horizon = plan.groupby("element")["volume_t"].sum()
    frames = []
    for name, unit in families:
        block = lp.row_blocks[name]
        shared = name.endswith(("_cap", "_floor"))
        keys = block.frame[list(block.key)].set_axis(
            ["element", "holder", "period"] if shared else ["element", "period"], axis=1
        )
        frame = keys.assign(constraint=name, dual=block.values(output.row_dual), unit=unit)
        if not shared:
            frame["holder"] = ""
        if shared:
            per_period = totals.reindex(pd.MultiIndex.from_frame(frame[["element", "period"]]))
            over_horizon = horizon.reindex(frame["element"]).to_numpy()
            scope = np.where(frame["period"] == ALL, over_horizon, per_period.to_numpy())
            frame["usd_per_point_tighter"] = -frame["dual"] * np.nan_to_num(scope) / 100.0
        frames.append(frame)
    buy = layout.buy
    # A column's reduced cost is the value of its upper bound only where it is negative (at the
    # bound); a positive reduced cost belongs to the lower bound, and capacity is then worth 0.
    capacity_value = np.minimum(lp.col_blocks["buy"].values(output.col_dual), 0.0)
    frames.append(
        pd.DataFrame(
            {
                "constraint": "capacity",
                "element": buy["element"],
                "period": buy["period"],
                "holder": buy["supplier"],
                "dual": capacity_value,
                "unit": "USD per t of capacity",
            }
        )
    )
    out = pd.concat(frames, ignore_index=True)
    return out.set_index(["constraint", "element", "period", "holder"])


def _bundles(layout, lp, x) -> dict | None:
    """Concentrate purchases, the tonnes of each element they bring, and the surplus."""
    conc = layout.concentrate
    if conc.empty:
        return None
    q = lp.values("concentrate", x)
    supply = layout.supply
    bundled = supply[supply["pos"] >= len(layout.buy)]
    bundled = (
        bundled.assign(
            bundled_t=bundled["coef"].to_numpy() * q[bundled["pos"].to_numpy() - len(layout.buy)]
        )
        .groupby(["element", "supplier", "country", "period"], as_index=False, sort=False)[
            "bundled_t"
        ]
        .sum()
    )
    surplus_keys = row_keys(layout.surplus, "element", "period")
    r = lp.values("surplus", x)
    salvage = layout.portfolio.policy.salvage_usd_per_t
    per_element = bundled.groupby(["element", "period"])["bundled_t"].sum()
    surplus = layout.surplus[["element", "period"]].assign(
        bundled_t=per_element.reindex(surplus_keys).to_numpy(), surplus_t=r
    )
    surplus["salvage_usd"] = surplus["surplus_t"] * surplus["element"].map(
        lambda e: salvage.get(e, 0.0)
    )
    concentrates = conc[
        ["supplier", "product", "country", "period", "unit_cost_usd_per_t", "risk_score"]
    ].assign(volume_t=q, cost_usd=q * conc["unit_cost_usd_per_t"])
    return {
        "concentrates": concentrates.set_index(["supplier", "product", "period"]),
        "bundled": bundled,
        "surplus": surplus.set_index(["element", "period"]),
    }


def _with_bundled(plan: pd.DataFrame, bundled: pd.DataFrame) -> pd.DataFrame:
    """The plan with each element's tonnes from concentrates added.

    ``bundled_t`` is the part of ``volume_t`` that came in concentrates; rows only concentrates
    supply get a unit cost of 0 (they are priced per concentrate).
    """
    keys = ["element", "supplier", "country", "period"]
    merged = plan.drop(columns="bundled_t").merge(bundled, on=keys, how="outer")
    merged = merged.fillna(
        {"unit_cost_usd_per_t": 0.0, "volume_t": 0.0, "cost_usd": 0.0, "bundled_t": 0.0}
    )
    merged["volume_t"] = merged["volume_t"] + merged["bundled_t"]
    return merged


def _projects(layout, lp, x, model) -> pd.DataFrame | None:
    """Investment decisions per project supplier.

    Columns: invested, start_period, online_period, capital_usd (discounted to the horizon's
    start).
    """
    if model is None or not hasattr(model, "invest"):
        return None
    portfolio = layout.portfolio
    labels = portfolio.period_labels
    keys = list(model.invest.keys())
    chosen = dict(
        (s, p)
        for (s, p), v in zip(keys, _values(lp, x, (model.invest[k] for k in keys)))
        if v > 0.5
    )
    factor = dict(zip(labels, discount_factors(portfolio)))
    rows = []
    for project in portfolio.projects.to_dict("records"):
        start = chosen.get(project["supplier"])
        online = None
        if start is not None:
            online = labels[
                min(labels.index(start) + int(project["build_periods"]), len(labels) - 1)
            ]
        rows.append(
            {
                "supplier": project["supplier"],
                "invested": start is not None,
                "start_period": start,
                "online_period": online,
                "capital_usd": 0.0 if start is None else project["capital_usd"] * factor[start],
            }
        )
    return pd.DataFrame(rows).set_index("supplier")


def _contracts(layout, lp, x, model, plan) -> pd.DataFrame | None:
    """Contract decisions of a MIP: element, supplier -> country, contracted, cost_usd, bought_t."""
    if model is None or not hasattr(model, "contract"):
        return None
    rows = contract_rows(layout.portfolio, layout.buy)
    keys = list(zip(rows["element"], rows["supplier"]))
    contracted = np.round(_values(lp, x, (model.contract[k] for k in keys))) > 0.5
    bought = plan.groupby(["element", "supplier"], sort=False)["volume_t"].sum()
    return rows.assign(
        contracted=contracted,
        cost_usd=np.where(contracted, rows["contract_usd"], 0.0),
        bought_t=bought.reindex(keys).to_numpy(),
    ).set_index(["element", "supplier"])[
        ["country", "contracted", "cost_usd", "bought_t", "min_order_t"]
    ]


def extract(
    layout: ModelLayout, lp: CompiledLP, output: SolverOutput, model, duals: bool = True
) -> dict:
    """Result tables from HiGHS's solution, aligned by the model's layout.

    Returns
    -------
    dict
        ``plan``, ``stock``, ``unmet``, ``shares``, ``hhi``, ``duals`` (None without LP duals or
        when not asked for) and
        ``cost_terms`` (Series, USD).
    """
    portfolio = layout.portfolio
    buy, ep = layout.buy, layout.element_period
    volume = lp.values("buy", output.x)
    level = lp.values("stock", output.x)
    unmet = lp.values("unmet", output.x)
    shortfall = lp.values("shortfall", output.x)

    plan = buy[["element", "supplier", "country", "period", "unit_cost_usd_per_t"]].assign(
        volume_t=volume, cost_usd=volume * buy["unit_cost_usd_per_t"], bundled_t=0.0
    )
    bundles = _bundles(layout, lp, output.x)
    if bundles is not None:
        plan = _with_bundled(plan, bundles["bundled"])
    daily = ep["demand_t"] / ep["days"]
    stock = ep[["element", "period", "target_days", "target_t", "stock_capacity_t"]].assign(
        level_t=level,
        shortfall_t=shortfall,
        days_of_cover=np.where(daily > 0, level / daily.where(daily > 0, 1.0), np.inf),
    )
    unmet_t = ep[["element", "period", "demand_t"]].assign(unmet_t=unmet)
    policy = portfolio.policy
    contracts = _contracts(layout, lp, output.x, model, plan)
    projects = _projects(layout, lp, output.x, model)
    conc = None if bundles is None else bundles["concentrates"]
    cost_terms = pd.Series(
        {
            "purchase_cost": float(plan["cost_usd"].sum())
            + (0.0 if conc is None else float(conc["cost_usd"].sum())),
            "contract_cost": 0.0 if contracts is None else float(contracts["cost_usd"].sum()),
            "capital_cost": 0.0 if projects is None else float(projects["capital_usd"].sum()),
            "holding_cost": float((ep["holding_usd_per_t"] * level).sum()),
            "risk_penalty": float(
                (
                    (buy["risk_score"] * volume).sum()
                    + (0.0 if conc is None else (conc["risk_score"] * conc["volume_t"]).sum())
                )
                * policy.risk_weight_usd_per_t
            ),
            "surplus_cost": 0.0
            if bundles is None
            else float(-bundles["surplus"]["salvage_usd"].sum()),
            "shortage_penalty": float(unmet.sum() * policy.shortage_penalty_usd_per_t),
            "target_penalty": float(
                (shortfall * ep["shortfall_penalty_usd_per_t"])[ep["target_t"] > 0].sum()
            ),
        },
        name="usd",
    )[list(COST_TERMS)]
    tables = LazyTables(
        {
            "plan": plan.set_index(["element", "supplier", "period"]),
            "stock": stock.set_index(["element", "period"]),
            "unmet": unmet_t.set_index(["element", "period"]),
            "duals": None,
            "contracts": contracts,
            "projects": projects,
            "concentrates": None if conc is None else conc.drop(columns="risk_score"),
            "surplus": None if bundles is None else bundles["surplus"],
            "cost_terms": cost_terms,
        }
    )
    tables.defer("shares", lambda: shares_table(plan))
    tables.defer("hhi", lambda: hhi_table(tables["shares"]))
    if duals and output.row_dual is not None:
        tables.defer("duals", lambda: duals_table(layout, lp, output, plan))
    return tables


@dataclass
class Result:
    """The outcome of :func:`rareopt.solve`.

    Attributes
    ----------
    portfolio : Portfolio
        The portfolio solved.
    status : SolveStatus
        Typed status; ``status.is_ok`` when there is a plan.
    solver_message : str
        HiGHS's own model-status text.
    explanation : str
        What the status means and what to try.
    objective : float or None
        Total cost (USD) as HiGHS reports it.
    cost_terms : Series or None
        Each term of the objective (USD), recomputed from the plan.
    timings : dict
        Seconds spent building the model, handing it to HiGHS, in HiGHS, and extracting and
        checking the result.
    checks : DataFrame or None
        The independent check: rows checked and largest excess per constraint family.
    conflicts : DataFrame or None
        For an infeasible portfolio, the conflicting constraints (an irreducible infeasible subset
        from HiGHS) in domain terms, each with the smallest relaxation that alone restores
        feasibility where there is one; ``explanation`` says the same in words.
    solver : dict
        HiGHS's iteration count, MIP gap, bound and nodes where they apply.
    scenarios : ScenarioOutcome or None
        For a two-stage solve: each scenario's deliveries, stock, unmet demand and recourse cost,
        and the risk metrics (:class:`~rareopt.outcomes.ScenarioOutcome`). ``cost_terms`` then
        adds ``expected_recourse`` and ``risk_measure`` (weight x CVaR) to the first stage's.

    Tables (raise :class:`~rareopt.exceptions.NoPlanError` when there is no plan):
    ``plan`` (element, supplier, period -> country, volume_t, unit_cost_usd_per_t, cost_usd),
    ``stock`` (element, period -> level_t, target_t, shortfall_t, days_of_cover ...),
    ``unmet`` (element, period -> demand_t, unmet_t), ``shares`` (element, period, by, holder ->
    volume_t, share), ``hhi`` (element, period -> hhi) and ``duals`` (constraint, element, period,
    holder -> dual, unit; LP only).

    Examples
    --------
    >>> import rareopt
    >>> r = rareopt.solve(rareopt.load_example("tiny"))
    >>> r.status.is_ok, list(r.plan.index.names)
    (True, ['element', 'supplier', 'period'])
    """

    status: SolveStatus
    solver_message: str
    portfolio: Portfolio
    objective: float | None = None
    cost_terms: pd.Series | None = None
    timings: dict = field(default_factory=dict)
    checks: pd.DataFrame | None = None
    conflicts: pd.DataFrame | None = None
    solver: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict, repr=False)
    explanation: str = ""
    scenarios: Any = None

    def __post_init__(self) -> None:
        if not self.explanation:
            self.explanation = EXPLANATIONS[self.status]

    @property
    def ok(self) -> bool:
        """True when the result holds a checked plan."""
        return self.status.is_ok

    def _table(self, name: str) -> pd.DataFrame:
        if not self.ok:
            raise NoPlanError(self.status, self.solver_message, self.explanation)
        table = self.tables.get(name)
        if table is None:
            raise NoPlanError(
                self.status,
                self.solver_message,
                f"no {name} table: "
                + (
                    "duals exist only for LPs solved to optimality"
                    if name == "duals"
                    else "the portfolio has no contract costs, minimum orders or counts"
                ),
            )
        return table

    plan = property(
        lambda self: self._table("plan"), doc="Purchases per element, supplier, period."
    )
    stock = property(lambda self: self._table("stock"), doc="Stock level, target and shortfall.")
    unmet = property(lambda self: self._table("unmet"), doc="Unmet demand per element and period.")
    shares = property(lambda self: self._table("shares"), doc="Country and supplier shares.")
    hhi = property(lambda self: self._table("hhi"), doc="HHI of country shares (0-10,000).")
    duals = property(lambda self: self._table("duals"), doc="Marginal values of constraints.")
    contracts = property(
        lambda self: self._table("contracts"), doc="Contract decisions of a MIP, per offer."
    )

    def raise_for_status(self) -> Result:
        """Return self if there is a plan, else raise :class:`NoPlanError` with the explanation."""
        self._table("plan")
        return self

    def summary(self) -> str:
        """A readable summary: status, cost terms, and per element purchases, shares and stock."""
        from rareopt.report import summary_text

        return summary_text(self)

    def report(self, path: str) -> str:
        """Write a one-page briefing (``.html`` or ``.md``); see :func:`rareopt.briefing.write_report`."""
        from rareopt.briefing import write_report

        return write_report(self, path)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        objective = "None" if self.objective is None else f"{self.objective:,.0f} USD"
        return f"Result({self.portfolio.name!r}, status={self.status.value}, objective={objective})"

    def to_csv(self, directory: str) -> list[str]:
        """Write each table (and the cost terms) as CSV into ``directory``; returns the paths."""
        os.makedirs(directory, exist_ok=True)
        paths = []
        for name, table in self._export_tables().items():
            path = os.path.join(directory, f"{name}.csv")
            table.to_csv(path)
            paths.append(path)
        return paths

    def to_excel(self, path: str) -> str:
        """Write one sheet per table to an .xlsx file (needs the ``excel`` extra: openpyxl)."""
        try:
            import openpyxl  # noqa: F401
        except ImportError as exc:
            raise ImportError("to_excel needs openpyxl: pip install 'rareopt[excel]'") from exc
        with pd.ExcelWriter(path) as writer:
            for name, table in self._export_tables().items():
                table.to_excel(writer, sheet_name=name)
        return path

    def to_json(self, path: str | None = None) -> str:
        """The status, costs and tables as JSON (records); written to ``path`` if given."""
        payload = {
            "portfolio": self.portfolio.name,
            "status": self.status.value,
            "solver_message": self.solver_message,
            "explanation": self.explanation,
            "objective_usd": self.objective,
            "timings_seconds": self.timings,
            "solver": self.solver,
        }
        if self.ok:
            payload["tables"] = {
                name: json.loads(table.reset_index().to_json(orient="records"))
                for name, table in self._export_tables().items()
            }
        text = json.dumps(payload, indent=2)
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        return text

    def _export_tables(self) -> dict[str, pd.DataFrame]:
        self.raise_for_status()
        tables = {name: self.tables[name] for name in TABLES if self.tables.get(name) is not None}
        tables["cost_terms"] = self.cost_terms.to_frame()
        tables["checks"] = self.checks
        return tables

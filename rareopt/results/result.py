"""The :class:`Result` of a solve: typed status, checked tables, and a readable summary.

A Result is built once by :mod:`rareopt.results.solve` and not changed afterwards; its derived
tables (shares, HHI, duals) are built on first read, under a lock, so threads may share it.
``summary()``, ``report()`` and ``to_excel()`` delegate to the report layer
(:mod:`rareopt.report`), which registers itself here when ``rareopt`` is imported: the results
layer never imports the layers above it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd

from rareopt.display import html_block
from rareopt.exceptions import NoPlanError
from rareopt.files import strict_json, write_csv_tables, written_whole
from rareopt.inputs.portfolio import Portfolio
from rareopt.model.formulation import COST_KINDS
from rareopt.status import EXPLANATIONS, SolveStatus

if TYPE_CHECKING:
    from rareopt.results.outcomes import ScenarioOutcome

__all__ = ["Result", "LazyTables", "register_renderer", "TABLES"]

_RENDERERS: dict[str, Callable[..., Any]] = {}


def register_renderer(name: str, function: Callable[..., Any]) -> None:
    """Let the report layer supply ``Result.summary`` / ``report`` / ``to_excel`` (by name).

    Examples
    --------
    >>> sorted(_RENDERERS)  # registered by rareopt.report on import
    ['excel', 'report', 'summary']
    """
    _RENDERERS[name] = function


def _render(name: str, *args: Any) -> Any:
    try:
        function = _RENDERERS[name]
    except KeyError:
        raise RuntimeError(
            f"no {name} writer registered: import rareopt (which loads rareopt.report)"
        ) from None
    return function(*args)


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
    "routes",
    "responses",
    "hhi_cuts",
)


class LazyTables(Mapping[str, Any]):
    """Result tables by name, read-only; the derived ones (shares, HHI, duals) built on first read.

    A plan is checked in full before any table is handed out; shares, HHI and duals are only
    views of it, so a caller who never reads them does not pay for them. A lock makes the first
    read build a table once when threads share a result. :meth:`put`, :meth:`defer` and
    :meth:`take` are for the code that builds a :class:`Result`, before it is handed out. The
    tables are pandas objects: copy one before changing it.

    Examples
    --------
    >>> t = LazyTables({"plan": 1}, {"shares": lambda: 2})
    >>> "shares" in t, t["shares"], sorted(t)
    (True, 2, ['plan', 'shares'])
    """

    def __init__(self, ready: Mapping[str, Any], pending: Mapping[str, Any] | None = None) -> None:
        self._ready: dict[str, Any] = dict(ready)
        self._pending: dict[str, Callable[[], Any]] = {}
        self._lock = threading.RLock()
        for name, builder in (pending or {}).items():
            self.defer(name, builder)

    def defer(self, name: str, builder: Callable[[], Any]) -> None:
        """Build table ``name`` by calling ``builder()`` when it is first read."""
        with self._lock:
            self._ready.pop(name, None)
            self._pending[name] = builder

    def put(self, name: str, value: Any) -> None:
        """Set table ``name`` (while building a result)."""
        with self._lock:
            self._pending.pop(name, None)
            self._ready[name] = value

    def take(self, name: str) -> Any:
        """Remove table ``name`` and return it (while building a result)."""
        with self._lock:
            value = self[name]
            del self._ready[name]
            return value

    def __getitem__(self, name: str) -> Any:
        with self._lock:  # one thread builds a pending table; the others wait and read it
            if name in self._pending:
                self._ready[name] = self._pending[name]()
                del self._pending[name]
            return self._ready[name]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter([*self._ready, *self._pending])

    def __len__(self) -> int:
        with self._lock:
            return len(self._ready) + len(self._pending)

    def __getstate__(self) -> dict[str, Any]:
        # Pickled (process pools, caches) with every table built; a lock does not pickle.
        return {"ready": {name: self[name] for name in list(self)}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._ready, self._pending, self._lock = dict(state["ready"]), {}, threading.RLock()


_WHY_NO_TABLE = {
    "duals": (
        "marginal values exist for a plan whose LP has duals (an LP, a MIP's LP with its integer "
        "decisions fixed, or a two-stage LP's first stage with the recourse re-optimised)"
    ),
    "contracts": "the portfolio has no contract costs, minimum orders or counts",
    "projects": "the portfolio has no projects",
    "concentrates": "the portfolio has no concentrates",
}


@dataclass(frozen=True)
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
    relaxation : DataFrame or None
        For an infeasible portfolio, the smallest total relaxation of the conflicting caps,
        targets, capacities or storage room, over every period, that restores a plan: kind,
        element, period, holder, amount_t, points (caps), days (targets) and the change in words.
    solver : dict
        HiGHS's iteration count, MIP gap, bound and nodes where they apply.
    scenarios : ScenarioOutcome or None
        For a two-stage solve: each scenario's deliveries, stock, unmet demand and recourse cost,
        and the risk metrics (:class:`~rareopt.results.outcomes.ScenarioOutcome`). ``cost_terms`` then
        adds ``expected_recourse`` and ``risk_measure`` (weight x CVaR) to the first stage's.

    Notes
    -----
    The tables, each raising :class:`~rareopt.exceptions.NoPlanError` when there is no plan:

    - ``plan`` (element, supplier, period -> country, volume_t, unit_cost_usd_per_t, cost_usd;
      with take-or-pay offers paid_not_taken_t, the minimum's tonnes paid but not bought,
      which cost_usd includes);
    - ``stock`` (element, period -> level_t, target_t, shortfall_t, days_of_cover ...);
    - ``unmet`` (element, period -> demand_t, unmet_t);
    - ``shares`` (element, period, stage, by, holder -> volume_t, share; stage ``seller`` is
      the sellers' countries and suppliers, what a cap without a stage counts);
    - ``hhi`` (element, period, stage -> hhi);
    - ``routes`` (each route's tonnes at each stage);
    - ``duals`` (constraint, element, period, holder -> dual, unit; LP only).

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
    timings: Mapping[str, float] = field(default_factory=dict)
    checks: pd.DataFrame | None = None
    conflicts: pd.DataFrame | None = None
    relaxation: pd.DataFrame | None = None
    solver: Mapping[str, Any] = field(default_factory=dict)
    tables: Mapping[str, Any] = field(default_factory=dict, repr=False)
    explanation: str = ""
    scenarios: ScenarioOutcome | None = None

    def __post_init__(self) -> None:
        # Read-only views: a Result is not changed once built.
        set_ = object.__setattr__
        set_(self, "timings", MappingProxyType(dict(self.timings)))
        set_(self, "solver", MappingProxyType(dict(self.solver)))
        if not self.explanation:
            set_(self, "explanation", EXPLANATIONS[self.status])

    def __getstate__(self) -> dict[str, Any]:
        # Read-only views do not pickle: plain dicts go in, and come back as views.
        return {**self.__dict__, "timings": dict(self.timings), "solver": dict(self.solver)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "timings", MappingProxyType(dict(self.timings)))
        object.__setattr__(self, "solver", MappingProxyType(dict(self.solver)))

    @property
    def costs(self) -> pd.DataFrame:
        """The objective's terms with their kind: money spent apart from penalties.

        Columns ``term``, ``kind`` (``spend``, ``penalty`` or, for a two-stage model,
        ``recourse``; see :data:`rareopt.model.formulation.COST_KINDS`) and ``usd``. The same
        terms and values as :attr:`cost_terms`; they add up to :attr:`objective`.

        Examples
        --------
        >>> import rareopt
        >>> costs = rareopt.solve(rareopt.load_example("tiny")).costs
        >>> costs.groupby("kind")["usd"].sum().round().to_dict()
        {'penalty': 0.0, 'spend': 26970000.0}
        """
        if not self.ok or self.cost_terms is None:
            raise NoPlanError(self.status, self.solver_message, self.explanation)
        return pd.DataFrame(
            {
                "term": list(self.cost_terms.index),
                "kind": [COST_KINDS[term] for term in self.cost_terms.index],
                "usd": self.cost_terms.to_numpy(float),
            }
        )

    def with_solver_info(self, info: Mapping[str, Any]) -> Result:
        """A copy with ``info`` added to :attr:`solver` (e.g. a decomposition's bounds).

        Examples
        --------
        >>> import rareopt
        >>> r = rareopt.solve(rareopt.load_example("tiny")).with_solver_info({"engine": "demo"})
        >>> r.solver["engine"]
        'demo'
        """
        return replace(self, solver={**self.solver, **info})

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
                f"no {name} table: " + _WHY_NO_TABLE.get(name, "the solve made none"),
            )
        return table

    plan = property(
        lambda self: self._table("plan"), doc="Purchases per element, supplier, period."
    )
    stock = property(lambda self: self._table("stock"), doc="Stock level, target and shortfall.")
    unmet = property(lambda self: self._table("unmet"), doc="Unmet demand per element and period.")
    shares = property(
        lambda self: self._table("shares"),
        doc="Country and supplier shares: element, period ('*': the horizon), stage (seller, "
        "mining, separation, metal, magnet, any), by, holder -> volume_t, share.",
    )
    hhi = property(
        lambda self: self._table("hhi"),
        doc="HHI (0-10,000) of country shares: element, period, stage (seller or a stage).",
    )
    duals = property(lambda self: self._table("duals"), doc="Marginal values of constraints.")
    contracts = property(
        lambda self: self._table("contracts"), doc="Contract decisions of a MIP, per offer."
    )
    routes = property(
        lambda self: self._table("routes"),
        doc="Tonnes at each stage of each route: element, supplier, route, period, stage -> "
        "facility, country, volume_t.",
    )

    def raise_for_status(self) -> Result:
        """Return self if there is a plan, else raise :class:`NoPlanError` with the explanation."""
        self._table("plan")
        return self

    def summary(self) -> str:
        """A readable summary: status, cost terms, and per element purchases, shares and stock."""
        return _render("summary", self)

    def report(self, path: str) -> str:
        """Write a one-page briefing (``.html`` or ``.md``); see :func:`rareopt.report.briefing.write_report`."""
        return _render("report", self, path)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """In a notebook: status and costs (spend and penalties apart), then purchases by country."""
        lines = [f"status: {self.status.value}"]
        if not self.ok:
            lines.append(self.explanation or "")
            return html_block(f"Result {self.portfolio.name}", lines)
        kinds = self.costs.groupby("kind", sort=False)["usd"].sum()
        lines.append(
            f"objective {self.objective:,.0f} USD = "
            + " + ".join(f"{kind} {usd:,.0f} USD" for kind, usd in kinds.items())
            + " (penalties are priced outcomes, not payments)"
        )
        bought = self.plan.groupby(["element", "country"], sort=False)["volume_t"].sum()
        table = bought.unstack("country").fillna(0.0)
        table.columns.name = "t bought, by country"
        return html_block(f"Result {self.portfolio.name}", lines, table)

    def __repr__(self) -> str:
        objective = "None" if self.objective is None else f"{self.objective:,.0f} USD"
        return f"Result({self.portfolio.name!r}, status={self.status.value}, objective={objective})"

    def to_csv(self, directory: str) -> list[str]:
        """Write each table (and the cost terms) as CSV into ``directory``; returns the paths.

        Without a plan it raises :class:`~rareopt.exceptions.NoPlanError` before creating
        anything; each file is written whole or not at all.
        """
        return write_csv_tables(directory, self.export_tables())

    def to_excel(self, path: str) -> str:
        """Write one sheet per table to an .xlsx file (needs the ``excel`` extra: openpyxl).

        See :func:`rareopt.report.files.write_excel`.
        """
        return _render("excel", self, path)

    def to_json(self, path: str | None = None) -> str:
        """The status, costs and tables as JSON (records); written to ``path`` if given.

        A result without a plan gives its status record (status, explanation, timings) and no
        tables: the one export that describes a failed solve rather than a plan.
        """
        payload = {
            "portfolio": self.portfolio.name,
            "status": self.status.value,
            "solver_message": self.solver_message,
            "explanation": self.explanation,
            "objective_usd": self.objective,
            "timings_seconds": dict(self.timings),
            "solver": dict(self.solver),
        }
        if self.ok:
            payload["tables"] = {
                name: json.loads(table.reset_index().to_json(orient="records"))
                for name, table in self.export_tables().items()
            }
        # Strict JSON: infinite or undefined numbers (a failed solve's objective) as null.
        text = strict_json(payload)
        if path is not None:
            with written_whole(path) as part, open(part, "w", encoding="utf-8") as handle:
                handle.write(text)
        return text

    def export_tables(self) -> dict[str, pd.DataFrame]:
        """The tables a file export writes: every table there is, the costs and the checks.

        ``costs`` is :attr:`costs`: each term with its kind, spend or penalty, so that no file
        shows a penalty as if it were money paid.
        """
        self.raise_for_status()
        tables = {name: self.tables[name] for name in TABLES if self.tables.get(name) is not None}
        tables["costs"] = self.costs
        tables["checks"] = self.checks
        if self.scenarios is not None:
            for name, table in self.scenarios.tables().items():
                tables[f"scenario_{name}"] = table
        return tables

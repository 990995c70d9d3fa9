"""The sourcing model as a Pyomo ``ConcreteModel``: a view of the arrays, for your own constraints.

:func:`build` wraps the arrays of :func:`rareopt.model.formulation.assemble` (or, with scenarios,
:func:`rareopt.model.two_stage.assemble_two_stage`), the one place the formulation is written, in
Pyomo components named and indexed as in ``docs/formulation.md``: one ``Var`` per column family
(binary for the integer ones), one ``Constraint`` per row family, one ``Expression`` per cost term.
Nothing here writes a coefficient. :func:`compile_built` compiles such a model, with your
constraints, back to arrays with every family located, so results are read the same way.

rareopt's own paths (solve, frontier, stress tests, EVPI/VSS, HHI cuts) never build this view;
only your code and mpi-sppy (whose subproblems are Pyomo models) do.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pyomo.environ as pyo
import scipy.sparse  # noqa: F401 - the compiler imports it lazily; load it now, not in the first hand-off
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import ScenarioSet
from rareopt.model.formulation import COST_TERMS, assemble
from rareopt.model.layout import ModelLayout, make_layout
from rareopt.model.lp import Block, LinearProgram
from rareopt.model.risk import CVaR, Expectation
from rareopt.model.two_stage import (
    ScenarioLayout,
    assemble_two_stage,
    scenario_layout,
    start_at_first_disruption,
    unknown_offers_error,
)

if TYPE_CHECKING:
    from pyomo.core.base.var import VarData

__all__ = [
    "build",
    "build_two_stage",
    "layout_of",
    "scenario_layout_of",
    "compile_built",
    "compile_model",
    "fix_contracts",
    "add_families",
    "model_columns",
    "row_expression",
]


def layout_of(model: pyo.ConcreteModel) -> ModelLayout:
    """The :class:`~rareopt.model.layout.ModelLayout` of a model made by :func:`build`.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> layout_of(build(load_example("tiny"))).buy.columns[:4].tolist()
    ['element', 'supplier', 'country', 'period']
    """
    layout = getattr(model, "_rareopt_layout", None)
    if layout is None:
        raise TypeError(
            "this Pyomo model was not built by rareopt.build(portfolio); "
            "pass a Portfolio or a model made by rareopt.build"
        )
    return layout


def scenario_layout_of(model: pyo.ConcreteModel) -> ScenarioLayout | None:
    """The :class:`~rareopt.model.two_stage.ScenarioLayout` of a two-stage model, else None.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> scenario_layout_of(build(load_example("tiny"))) is None
    True
    """
    return getattr(model, "_rareopt_scenarios", None)


def _linear(
    coefs: Iterable[float], variables: Iterable[VarData], constant: float = 0.0
) -> LinearExpression:
    """A Pyomo linear expression from parallel lists, without operator overloading per term.

    A term of coefficient 1 is the variable itself, not a monomial: one Python object fewer per
    term, which is much of a large model's memory.
    """
    args: list[Any] = [constant] if constant else []
    args.extend(
        var if coef == 1.0 else MonomialTermExpression((float(coef), var))
        for coef, var in zip(coefs, variables)
    )
    return LinearExpression(args)


def row_expression(
    matrix: scipy.sparse.csr_matrix, row: int, variables: list[VarData]
) -> LinearExpression:
    """Row ``row`` of a CSR matrix as a Pyomo linear expression over ``variables`` (by column).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> m = pyo.ConcreteModel(); m.x = pyo.Var([0, 1])
    >>> str(row_expression(sp.csr_matrix([[2.0, 0.0], [1.0, 3.0]]), 1, list(m.x.values())))
    'x[0] + 3.0*x[1]'
    """
    terms = slice(matrix.indptr[row], matrix.indptr[row + 1])
    return _linear(matrix.data[terms], [variables[j] for j in matrix.indices[terms]])


def _bound(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def add_families(
    m: pyo.ConcreteModel, lp: LinearProgram, columns: tuple[str, ...], rows: tuple[str, ...]
) -> None:
    """Add the named column and row families of ``lp`` to ``m`` as Pyomo components.

    A column family becomes a ``Var`` indexed by its keys (a scalar ``Var`` for a family without
    key columns), bounds from the arrays, binary where the family is integer; a row family a
    ``Constraint`` whose terms are the CSR matrix's. Every column a row refers to must be in
    ``m`` by then (families in LP order).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.model.layout import make_layout
    >>> lp = assemble(make_layout(load_example("tiny")))
    >>> m = pyo.ConcreteModel()
    >>> add_families(m, lp, ("buy", "bought"), ())
    >>> len(m.buy), len(model_columns(m, lp))
    (18, 24)
    """
    families = m.__dict__.setdefault("_rareopt_families", {"col": {}, "row": {}})
    for name in columns:
        block = lp.col_blocks.get(name)
        if block is None:
            continue
        cols = block.positions
        bounds = [
            (_bound(lo), _bound(hi)) for lo, hi in zip(lp.col_lower[cols], lp.col_upper[cols])
        ]
        integer = bool(len(cols)) and bool(lp.integrality[cols].all())
        domain = pyo.Binary if integer else pyo.Reals
        # Bounds set member by member: a rule would keep its dictionary alive with the model.
        var = (
            pyo.Var(block.keys(), domain=domain, dense=True)
            if block.key
            else pyo.Var(domain=domain)
        )
        setattr(m, name, var)
        for data, (lo, hi) in zip(var.values(), bounds):
            data.setlb(lo)
            data.setub(hi)
        families["col"][name] = (block.frame, block.key)
    variables = model_columns(m, lp)
    csr = lp.matrix.tocsr()
    for name in rows:
        block = lp.row_blocks.get(name)
        if block is None:
            continue
        keys = block.keys()
        con = pyo.Constraint(keys)
        setattr(m, name, con)
        # Row by row into the constructed component: a rule would keep every row twice.
        for key, r in zip(keys, block.positions):
            expr = row_expression(csr, r, variables)
            lo, hi = lp.row_lower[r], lp.row_upper[r]
            if lo == hi:
                con[key] = expr == lo
            elif np.isfinite(hi):
                con[key] = expr <= hi if not np.isfinite(lo) else (lo, expr, hi)
            else:
                con[key] = expr >= lo
        families["row"][name] = (block.frame, block.key)


def model_columns(m: pyo.ConcreteModel, lp: LinearProgram) -> list[VarData]:
    """The Pyomo variable of each of ``lp``'s columns that ``m`` has, in column order.

    See :func:`add_families` for an example.
    """
    variables = []
    for name in lp.col_blocks:
        component = getattr(m, name, None)
        if component is not None:
            variables.extend(component.values())
    return variables


def build(
    portfolio: Portfolio,
    scenarios: ScenarioSet | None = None,
    risk: Expectation | CVaR | None = None,
    *,
    only: list[str] | None = None,
    fractions: np.ndarray | tuple[np.ndarray, np.ndarray] | None = None,
    from_first_disruption: bool = False,
) -> pyo.ConcreteModel:
    """The sourcing model of ``portfolio`` as a Pyomo ``ConcreteModel``, for your own constraints.

    Components (symbols of ``docs/formulation.md``), one per family of the arrays:

    - ``buy[e, s, p]`` x, ``concentrate[s, k, p]`` q, ``stock[e, p]`` h, ``unmet[e, p]`` u,
      ``shortfall[e, p]`` v, ``bought[e, p]`` X, ``surplus[e, p]`` r (t);
    - rows ``purchases``, ``surplus_limit``, ``balance``, ``stock_target``, ``country_cap``,
      ``supplier_cap``, ``group_cap``, ``group_floor``;
    - with contract fees, minimum orders, supplier or country counts or projects, the binary
      families of :mod:`rareopt.model.discrete` (``contract``, ``order``, ``country_used``,
      ``invest``) and their rows; the model is then a MIP;
    - with ``scenarios``, the recourse families of :mod:`rareopt.model.two_stage`
      (``scenario_stock``, ``scenario_unmet``, ``spot``, ``restock``, with CVaR ``cvar_level``
      and ``cvar_excess``) and an Expression ``recourse[w]`` (USD);
    - Expressions ``purchase_cost``, ``contract_cost``, ``capital_cost``, ``holding_cost``,
      ``risk_penalty``, ``shortage_penalty``, ``target_penalty``, ``surplus_cost`` (USD) and
      the objective ``total_cost``, their sum (with scenarios it is deactivated, and
      ``two_stage_cost`` adds the expected recourse and the weighted CVaR).

    Parameters
    ----------
    portfolio : Portfolio
        A validated portfolio.
    scenarios : ScenarioSet, optional
        Disruption scenarios: the two-stage model (extensive form).
    risk : Expectation or CVaR, optional
        How recourse costs enter the objective (default: their expectation).
    only : list of str, optional
        Build these scenarios only, weighted by their probabilities conditional on the group, as
        a decomposition's scenario or bundle of scenarios needs.
    fractions : ndarray, optional
        Delivered fractions to use instead of the scenarios' (scenarios x purchases), e.g. their
        probability-weighted mean for the expected-value problem.
    from_first_disruption : bool, default False
        Write each scenario from its first disruption of each element on
        (:func:`~rareopt.model.two_stage.start_at_first_disruption`): before it the scenario's
        stock is the nominal ``stock``, and its rows and columns that only repeat the nominal
        plan are left out. Same optimum and same least recourse for every first stage, with
        about a third fewer scenario rows and columns; the scenario families then lack those
        members. What a decomposition's subproblems use.

    Returns
    -------
    pyomo.environ.ConcreteModel
        Add constraints of your own, then pass it to :func:`rareopt.solve`.

    Examples
    --------
    >>> import pyomo.environ as pyo
    >>> from rareopt.inputs.examples import load_example
    >>> m = build(load_example("tiny"))
    >>> m.min_recycling = pyo.Constraint(expr=sum(m.buy[k] for k in m.buy if k[1] == "JP-Recycling") >= 10)
    >>> sorted(m.buy)[0]
    ('Dy', 'AU-Lynas', 'P1')
    """
    layout = make_layout(portfolio)
    slayout = None
    if scenarios is None:
        if only is not None or fractions is not None or from_first_disruption:
            raise TypeError(
                "only, fractions and from_first_disruption go with scenarios=ScenarioSet(...)"
            )
        lp = assemble(layout)
    else:
        slayout = scenario_layout(layout, scenarios, risk, only, fractions)
        lp = assemble_two_stage(layout, slayout)
        if from_first_disruption:
            lp = start_at_first_disruption(lp, layout, slayout)
    m = pyo.ConcreteModel(name=f"rareopt:{portfolio.name}")
    m._rareopt_layout = layout
    m._rareopt_scenarios = slayout
    m._rareopt_lp = lp
    m._rareopt_from_first_disruption = from_first_disruption
    add_families(m, lp, tuple(lp.col_blocks), tuple(lp.row_blocks))
    columns = model_columns(m, lp)
    for name in COST_TERMS:
        cost = cast("dict[str, np.ndarray]", lp.cost_terms)[name]  # the formulation's: all there
        used = np.flatnonzero(cost)
        setattr(m, name, pyo.Expression(expr=_linear(cost[used], [columns[j] for j in used])))
    m.total_cost = pyo.Objective(
        expr=sum(getattr(m, term) for term in COST_TERMS), sense=pyo.minimize
    )
    if slayout is not None:
        row = {w: i for i, w in enumerate(slayout.names)}
        recourse = cast("scipy.sparse.csr_matrix", lp.recourse)  # a two-stage LP's: there
        m.recourse = pyo.Expression(
            slayout.names, rule=lambda m, w: row_expression(recourse, row[w], columns)
        )
        used = np.flatnonzero(lp.cost)
        m.total_cost.deactivate()
        m.two_stage_cost = pyo.Objective(
            expr=_linear(lp.cost[used], [columns[j] for j in used]), sense=pyo.minimize
        )
    return m


def build_two_stage(
    portfolio: Portfolio,
    scenarios: ScenarioSet,
    risk: Expectation | CVaR | None = None,
    only: list[str] | None = None,
    fractions: np.ndarray | tuple[np.ndarray, np.ndarray] | None = None,
) -> pyo.ConcreteModel:
    """Deprecated: ``build(portfolio, scenarios, risk)`` builds the two-stage model.

    Examples
    --------
    >>> import warnings
    >>> from rareopt.inputs.examples import load_example
    >>> from rareopt.inputs.scenarios import ScenarioSet
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     m = build_two_stage(load_example("tiny"), ScenarioSet([{"name": "calm", "probability": 1}]))
    >>> len(m.recourse)
    1
    """
    warnings.warn(
        "build_two_stage is deprecated; use rareopt.build(portfolio, scenarios, risk)",
        DeprecationWarning,
        stacklevel=2,
    )
    return build(portfolio, scenarios, risk, only=only, fractions=fractions)


def fix_contracts(model: pyo.ConcreteModel, volumes: Mapping[tuple[Any, ...], float]) -> None:
    """Fix every ``buy[e, s, p]`` of a built model at ``volumes`` (keys left out buy nothing).

    Raises
    ------
    PortfolioError
        Naming keys the model has no purchase variable for (no offer with capacity then).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> m = build(load_example("tiny"))
    >>> fix_contracts(m, {("Nd", "CN-Mine", "P1"): 72.0})
    >>> m.buy["Nd", "CN-Mine", "P1"].value, m.buy["Nd", "AU-Lynas", "P1"].fixed
    (72.0, True)
    """
    unknown = [k for k in volumes if k not in model.buy]
    if unknown:
        raise unknown_offers_error(unknown)
    for key, var in model.buy.items():
        var.fix(float(volumes.get(key, 0.0)))


def compile_model(model: pyo.ConcreteModel) -> LinearProgram:
    """Compile a linear Pyomo model with one active objective into :class:`LinearProgram`.

    Examples
    --------
    >>> import pyomo.environ as pyo
    >>> m = pyo.ConcreteModel()
    >>> m.x = pyo.Var(bounds=(0, 4))
    >>> m.c = pyo.Constraint(expr=m.x >= 1)
    >>> m.o = pyo.Objective(expr=2 * m.x)
    >>> lp = compile_model(m)
    >>> lp.cost.tolist(), lp.row_lower.tolist(), lp.col_upper.tolist()
    ([2.0], [1.0], [4.0])
    """
    info = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=pyo.minimize)
    n_cols = len(info.columns)
    cost = np.asarray(info.c.todense()).ravel()[:n_cols] if info.c.shape[0] else np.zeros(n_cols)
    sense = np.array([s for _, s in info.rows], dtype=np.int64)
    rhs = np.asarray(info.rhs, dtype=float)
    lower = np.array([-np.inf if v.lb is None else v.lb for v in info.columns], dtype=float)
    upper = np.array([np.inf if v.ub is None else v.ub for v in info.columns], dtype=float)
    integrality = np.array([1 if v.is_integer() else 0 for v in info.columns], dtype=np.int32)
    offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
    return LinearProgram(
        columns=list(info.columns),
        rows=list(info.rows),
        cost=cost.astype(float),
        offset=offset,
        matrix=info.A.tocsc(),
        col_lower=lower,
        col_upper=upper,
        row_lower=np.where(sense <= 0, rhs, -np.inf),
        row_upper=np.where(sense >= 0, rhs, np.inf),
        integrality=integrality,
    )


def compile_built(model: pyo.ConcreteModel) -> LinearProgram:
    """Compile a model made by :func:`build` (and extended by you) with its families located.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> lp = compile_built(build(load_example("tiny")))
    >>> bool((lp.col_blocks["buy"].positions >= 0).all())
    True
    """
    layout_of(model)  # refuses, in words, a model rareopt did not build
    if getattr(model, "_rareopt_from_first_disruption", False):
        raise ValueError(
            "this model was built with from_first_disruption=True, a decomposition's "
            "subproblem: its scenarios lack their periods before each disruption, which "
            "rareopt.solve reads and checks; build it without from_first_disruption to solve it"
        )
    lp = compile_model(model)
    families = model._rareopt_families
    for name, (frame, key) in families["col"].items():
        variables = list(getattr(model, name).values())
        pos = lp.positions(variables)
        absent = np.array([v.value or 0.0 if p < 0 else 0.0 for v, p in zip(variables, pos)])
        lp.col_blocks[name] = Block(frame, key, pos, absent)
    for name, (frame, key) in families["row"].items():
        lp.row_blocks[name] = Block(frame, key, lp.row_positions(getattr(model, name).values()))
    _carry_cost_terms(model._rareopt_lp, lp)
    return lp


def _carry_cost_terms(built: LinearProgram, lp: LinearProgram) -> None:
    """Give the compiled ``lp`` the cost terms of the arrays the model was built from.

    A family member the compiler left out (fixed) adds its cost at its value as a constant.
    """
    built_terms = cast("dict[str, np.ndarray]", built.cost_terms)  # the formulation's: all there
    terms = {name: np.zeros(len(lp.cost)) for name in built_terms}
    offsets = dict.fromkeys(built_terms, 0.0)
    for name, block in built.col_blocks.items():
        compiled = lp.col_blocks[name]
        present = compiled.positions >= 0
        absent = compiled.absent if compiled.absent is not None else np.zeros(len(present))
        for term, vector in built_terms.items():
            cost = vector[block.positions]
            terms[term][compiled.positions[present]] = cost[present]
            offsets[term] += float(cost[~present] @ absent[~present])
    lp.cost_terms = terms
    lp.cost_offsets = offsets

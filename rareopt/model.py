"""The sourcing model as a Pyomo ``ConcreteModel``, for users who add constraints of their own.

:func:`build` wraps the arrays of :func:`rareopt.standard_form.assemble` (the one place the
formulation is written) in Pyomo components named and indexed as in ``docs/formulation.md``, and adds
the MIP parts written in Pyomo (:mod:`rareopt.contracts`, :mod:`rareopt.projects`).
:func:`compile_built` compiles such a model back to arrays with every family located, so results
are read the same way whichever route built the LP.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from rareopt.contracts import add_contracts, needs_contracts
from rareopt.highs import Block, CompiledLP, compile_model
from rareopt.layout import ModelLayout, make_layout
from rareopt.portfolio import Portfolio
from rareopt.projects import add_projects
from rareopt.standard_form import COST_TERMS, assemble

__all__ = [
    "build",
    "layout_of",
    "compile_built",
    "uses_pyomo_parts",
    "add_families",
    "model_columns",
]


def layout_of(model: pyo.ConcreteModel) -> ModelLayout:
    """The :class:`ModelLayout` of a model made by :func:`build`.

    Examples
    --------
    >>> from rareopt.examples import load_example
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


def _linear(coefs, variables, constant: float = 0.0) -> LinearExpression:
    """A Pyomo linear expression from parallel lists, without operator overloading per term."""
    return LinearExpression(
        constant=constant, linear_coefs=list(map(float, coefs)), linear_vars=list(variables)
    )


def row_expression(matrix, row: int, variables: list) -> LinearExpression:
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


def uses_pyomo_parts(portfolio: Portfolio) -> bool:
    """True when the model needs the Pyomo-written parts (contracts, minimum orders, projects).

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> uses_pyomo_parts(load_example("tiny"))
    False
    """
    return needs_contracts(portfolio) or len(portfolio.projects) > 0


def _bound(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def add_families(m: pyo.ConcreteModel, lp: CompiledLP, columns: tuple, rows: tuple) -> None:
    """Add the named column and row families of ``lp`` to ``m`` as Pyomo components.

    A column family becomes a ``Var`` indexed by its keys (a scalar ``Var`` for a family without
    key columns), bounds from the arrays; a row family a ``Constraint`` whose terms are the CSR
    matrix's. Every column a row refers to must be in ``m`` by then (families in LP order).

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> from rareopt.layout import make_layout
    >>> from rareopt.standard_form import assemble
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
        if not block.key:
            setattr(m, name, pyo.Var(bounds=bounds[0]))
        else:
            where = dict(zip(block.keys(), bounds))
            setattr(m, name, pyo.Var(list(where), bounds=lambda m, *k, b=where: b[k]))
        families["col"][name] = (block.frame, block.key)
    variables = model_columns(m, lp)
    csr = lp.matrix.tocsr()
    for name in rows:
        block = lp.row_blocks.get(name)
        if block is None:
            continue
        body = {}
        for key, r in zip(block.keys(), block.positions):
            expr = row_expression(csr, r, variables)
            lo, hi = lp.row_lower[r], lp.row_upper[r]
            if lo == hi:
                body[key] = expr == lo
            elif np.isfinite(hi):
                body[key] = expr <= hi if not np.isfinite(lo) else (lo, expr, hi)
            else:
                body[key] = expr >= lo
        setattr(m, name, pyo.Constraint(list(body), rule=lambda m, *k, b=body: b[k]))
        families["row"][name] = (block.frame, block.key)


def model_columns(m: pyo.ConcreteModel, lp: CompiledLP) -> list:
    """The Pyomo variable of each of ``lp``'s columns that ``m`` has, in column order.

    See :func:`add_families` for an example.
    """
    variables = []
    for name in lp.col_blocks:
        component = getattr(m, name, None)
        if component is not None:
            variables.extend(component.values())
    return variables


def build(portfolio: Portfolio) -> pyo.ConcreteModel:
    """Build the sourcing LP for ``portfolio`` as a Pyomo ``ConcreteModel``.

    Components (symbols of ``docs/formulation.md``):

    - ``buy[e, s, p]`` x, t REO bought of element e from supplier s in period p (0 <= x <= capacity)
    - ``stock[e, p]`` h, t at the end of period p (0 <= h <= stock capacity)
    - ``unmet[e, p]`` u, t of demand not met (0 <= u <= demand)
    - ``shortfall[e, p]`` v, t below the stock target (at most 0 with hard targets or no target)
    - ``bought[e, p]`` X, t bought of e in p from all suppliers
    - ``purchases[e, p]``: sum_s x - X = 0
    - ``concentrate[s, k, p]`` q, t REO of concentrate k bought from s (0 <= q <= capacity);
      purchases then count ``share[k, e] * q`` towards X and every cap
    - ``surplus[e, p]`` r, t of an element that came bundled and is sold or disposed of
      (``surplus_limit``: r <= sum_k share x q), priced in ``surplus_cost`` at minus the salvage
    - ``balance[e, p]``: X + h[p-1] - h[p] + u - r = d - h0 (h0 the initial stock)
    - ``stock_target[e, p]``: h + v >= target (only where the target is positive)
    - ``country_cap[e, c, p]`` and ``supplier_cap[e, s, p]``: sum_{s in group} x - kappa X <= 0
      (p = ``"*"`` over the horizon, with X summed over the periods)
    - ``group_cap[e, g, p]`` and ``group_floor[e, g, p]``: the same for a group of countries,
      <= 0 for a cap and >= 0 (with the minimum share) for a floor
    - with contract costs, minimum orders or supplier / country counts, the binary components
      of :mod:`rareopt.contracts`; with projects, those of :mod:`rareopt.projects` (``invest``,
      ``project_capacity``, ``capital_cost``); the model is then a MIP
    - Expressions ``purchase_cost``, ``contract_cost``, ``holding_cost``, ``risk_penalty``,
      ``shortage_penalty``, ``target_penalty`` (USD) and the objective ``total_cost``, their sum,
      minimised.

    Parameters
    ----------
    portfolio : Portfolio
        A validated portfolio.

    Returns
    -------
    pyomo.environ.ConcreteModel
        Add constraints of your own, then pass it to :func:`rareopt.solve`.

    Examples
    --------
    >>> import pyomo.environ as pyo
    >>> from rareopt.examples import load_example
    >>> m = build(load_example("tiny"))
    >>> m.min_recycling = pyo.Constraint(expr=sum(m.buy[k] for k in m.buy if k[1] == "JP-Recycling") >= 10)
    >>> sorted(m.buy)[0]
    ('Dy', 'AU-Lynas', 'P1')
    """
    layout = make_layout(portfolio)
    lp = assemble(layout)
    m = pyo.ConcreteModel(name=f"rareopt:{portfolio.name}")
    m._rareopt_layout = layout
    add_families(m, lp, tuple(lp.col_blocks), tuple(lp.row_blocks))
    columns = model_columns(m, lp)
    supply_vars = list(m.buy.values()) + list(m.concentrate.values())
    written_in_pyomo = {}
    if len(portfolio.projects):
        written_in_pyomo["capital_cost"] = add_projects(m, layout, supply_vars)
    if needs_contracts(portfolio):
        written_in_pyomo["contract_cost"] = add_contracts(
            m, layout, list(m.buy.values()), supply_vars
        )
    for name in COST_TERMS:
        cost = lp.cost_terms[name]
        used = np.flatnonzero(cost)
        term = pyo.Expression(expr=_linear(cost[used], [columns[j] for j in used]))
        setattr(m, name, written_in_pyomo.get(name, term))
    m.total_cost = pyo.Objective(
        expr=sum(getattr(m, term) for term in COST_TERMS), sense=pyo.minimize
    )
    return m


def compile_built(model: pyo.ConcreteModel) -> CompiledLP:
    """Compile a model made by :func:`build` (and extended by you) with its families located.

    Examples
    --------
    >>> from rareopt.examples import load_example
    >>> lp = compile_built(build(load_example("tiny")))
    >>> bool((lp.col_blocks["buy"].positions >= 0).all())
    True
    """
    layout_of(model)  # refuses, in words, a model rareopt did not build
    lp = compile_model(model)
    families = model._rareopt_families
    for name, (frame, key) in families["col"].items():
        variables = list(getattr(model, name).values())
        pos = lp.positions(variables)
        absent = np.array([v.value or 0.0 if p < 0 else 0.0 for v, p in zip(variables, pos)])
        lp.col_blocks[name] = Block(frame, key, pos, absent)
    for name, (frame, key) in families["row"].items():
        lp.row_blocks[name] = Block(frame, key, lp.row_positions(getattr(model, name).values()))
    return lp

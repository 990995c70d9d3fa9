"""rareopt's optimum equals that of the same LP written independently, densely, for scipy.linprog.

The dense LP below is written from the portfolio's tables and docs/formulation.md alone, with none
of rareopt's model code: one column per offer and period (zero capacity included), per-element
sums written out in full in every cap row, no total-purchases variable.
"""

import numpy as np
import pytest
from scipy.optimize import linprog

import rareopt
from rareopt.inputs.synthetic import disruptions, generate


def dense_lp_optimum(p: rareopt.Portfolio) -> float:
    pol = p.policy
    E, P = p.elements, p.period_labels
    country = p.supplier_country()
    risk = p.suppliers.set_index("supplier")["risk_score"]
    cap = p.capacity.set_index(["supplier", "element", "period"])["capacity_t"]
    demand = p.demand.set_index(["element", "period"])["demand_t"]
    days = p.periods.set_index("period")["days"]
    target_days = p.stock_target.set_index(["element", "period"])["target_days"]
    stock = p.stockpile.set_index("element")
    offers = list(p.offers.itertuples(index=False))

    cols = {}

    def col(*key):
        return cols.setdefault(key, len(cols))

    for o in offers:
        for t in P:
            col("x", o.element, o.supplier, t)
    for e in E:
        for t in P:
            col("h", e, t), col("u", e, t), col("v", e, t)
    n = len(cols)
    c = np.zeros(n)
    bounds = [(0, None)] * n
    for o in offers:
        for t in P:
            j = cols["x", o.element, o.supplier, t]
            c[j] = (
                o.price_usd_per_t
                + o.freight_usd_per_t
                + pol.risk_weight_usd_per_t * risk[o.supplier]
            )
            bounds[j] = (0, cap[o.supplier, o.element, t])
    A_eq, b_eq, A_ub, b_ub = [], [], [], []
    for e in E:
        h_cap = stock["capacity_t"].get(e, 0.0)
        for k, t in enumerate(P):
            target = target_days.get((e, t), 0.0) * demand[e, t] / days[t]
            c[cols["h", e, t]] = stock["holding_usd_per_t"].get(e, 0.0)
            c[cols["u", e, t]] = pol.shortage_penalty_usd_per_t
            penalty = stock["shortfall_penalty_usd_per_t"].get(e, np.nan)
            if np.isnan(penalty):
                penalty = pol.target_shortfall_penalty_usd_per_t
            c[cols["v", e, t]] = penalty if target > 0 else 0.0
            bounds[cols["h", e, t]] = (0, None if np.isinf(h_cap) else h_cap)
            bounds[cols["u", e, t]] = (0, demand[e, t])
            row = np.zeros(n)
            for o in offers:
                if o.element == e:
                    row[cols["x", e, o.supplier, t]] = 1
            row[cols["u", e, t]] = 1
            row[cols["h", e, t]] = -1
            rhs = demand[e, t]
            if k == 0:
                rhs -= stock["initial_t"].get(e, 0.0)
            else:
                row[cols["h", e, P[k - 1]]] = 1
            A_eq.append(row), b_eq.append(rhs)
            if target > 0:  # -h - v <= -target
                row = np.zeros(n)
                row[cols["h", e, t]] = row[cols["v", e, t]] = -1
                A_ub.append(row), b_ub.append(-target)

    # caps, with the documented precedence, over each period or the whole horizon
    def share(table, key, holder, e):
        rows = {(r[key], r["element"]): r["max_share"] for r in table.to_dict("records")}
        for k in ((holder, e), (holder, "*"), ("*", e), ("*", "*")):
            if k in rows:
                return rows[k]
        return 1.0

    scopes = [[t] for t in P] if pol.cap_basis == "period" else [P]
    for e in E:
        for scope in scopes:
            for key, holders, member in (
                ("country", set(country), lambda o, g: country[o.supplier] == g),
                ("supplier", set(country.index), lambda o, g: o.supplier == g),
            ):
                for g in holders:
                    kappa = share(getattr(pol, f"{key}_caps"), key, g, e)
                    if kappa >= 1:
                        continue
                    row = np.zeros(n)
                    for o in offers:
                        if o.element == e:
                            for t in scope:
                                row[cols["x", e, o.supplier, t]] = (
                                    1 if member(o, g) else 0
                                ) - kappa
                    A_ub.append(row), b_ub.append(0.0)

    def solve(objective):
        res = linprog(
            objective,
            A_ub=np.array(A_ub) if A_ub else None,
            b_ub=b_ub or None,
            A_eq=np.array(A_eq),
            b_eq=b_eq,
            bounds=bounds,
            method="highs",
        )
        assert res.status == 0, res.message
        return res.fun

    # Priorities (docs/formulation.md): each goal, its penalties scaled to a largest of 1, is
    # minimised in order and then kept at its optimum; the last solve minimises the whole cost.
    if pol.priorities != "weighted":
        kinds = {"demand": "u", "stock_targets": "v"}
        for goal in [g for g in pol.priorities if g != "cost"]:
            goal_cost = np.zeros(n)
            for key, j in cols.items():
                if key[0] == kinds[goal]:
                    goal_cost[j] = c[j]
            if goal_cost.max() > 0:
                goal_cost /= goal_cost.max()
            best = solve(goal_cost)
            A_ub.append(goal_cost), b_ub.append(best + 1e-6 + 1e-7 * abs(best))
    return solve(c)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("basis", ["period", "horizon"])
@pytest.mark.parametrize(
    "priorities",
    [("demand", "stock_targets", "cost"), ("stock_targets", "demand", "cost"), "weighted"],
)
def test_optimum_equals_independent_dense_lp(seed, basis, priorities):
    p = generate(elements=2, suppliers=6, periods=3, seed=seed)
    p = p.with_policy(
        cap_basis=basis, target_shortfall_penalty_usd_per_t=30_000.0, priorities=priorities
    )
    ours = rareopt.solve(p).objective
    assert ours == pytest.approx(dense_lp_optimum(p), rel=1e-7)


def test_optimum_equals_independent_dense_lp_on_tiny_example():
    p = rareopt.load_example("tiny")
    assert rareopt.solve(p).objective == pytest.approx(dense_lp_optimum(p), rel=1e-7)


@pytest.mark.parametrize("seed", [0, 3])
def test_pyomo_view_solves_to_the_same_plan_as_the_arrays(seed):
    """solve(portfolio) hands the arrays to HiGHS; solve(build(portfolio)) compiles the Pyomo view.

    The Pyomo model is generated from the same arrays, so both routes must agree to the tonne,
    with and without scenarios.
    """
    p = generate(elements=3, suppliers=7, periods=5, seed=seed)
    scenarios = disruptions(p, 6, seed=seed)
    direct = rareopt.solve(p)
    viewed = rareopt.solve(rareopt.build(p))
    assert viewed.objective == pytest.approx(direct.objective, rel=1e-9)
    assert np.allclose(viewed.plan["volume_t"], direct.plan["volume_t"], atol=1e-6)
    two_stage = rareopt.solve(p, scenarios=scenarios)
    built = rareopt.solve(rareopt.build(p, scenarios))
    assert built.objective == pytest.approx(two_stage.objective, rel=1e-9)
    assert np.allclose(
        built.scenarios.cost["recourse_usd"], two_stage.scenarios.cost["recourse_usd"], atol=1e-3
    )

"""Small portfolios for tests, built from Python records."""

from __future__ import annotations

import rareopt


def supplier(name, country, kind="mine", risk=0.0):
    return {"supplier": name, "country": country, "kind": kind, "risk_score": risk}


def offer(name, element, price, capacity, freight=0.0):
    return {
        "supplier": name,
        "element": element,
        "price_usd_per_t": price,
        "capacity_t": capacity,
        "freight_usd_per_t": freight,
    }


def two_supplier(cap=0.6, periods=2, demand=100.0, **policy):
    """One element (Nd), supplier A in CN at 50,000 USD/t and B in AU at 60,000 USD/t."""
    return rareopt.Portfolio(
        periods=periods,
        demand={"Nd": demand},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[offer("A", "Nd", 50_000, 200), offer("B", "Nd", 60_000, 200)],
        policy={"country_caps": {"CN": cap}, **policy},
        name="two-supplier",
    )


def outcome(result):
    """A solved result's outcome in priority order: (demand goal, stock-target goal, objective).

    The goals are the optima ``policy.priorities`` reached (0 where a goal was met in full, or
    not solved for, as with ``priorities: weighted``).
    """
    goals = result.solver.get("goal_optima", {})
    return (goals.get("demand", 0.0), goals.get("stock_targets", 0.0), result.objective)


def at_least(a, b, goal_tol=1e-5, rel=1e-7):
    """Whether outcome ``a`` is no better than ``b`` in priority order, within tolerances.

    Goals first (each kept within about 1e-6 of its optimum by the solver), then the objective.
    """
    for i, (x, y) in enumerate(zip(a, b)):
        tol = (goal_tol if i < len(a) - 1 else 0.0) + rel * max(1.0, abs(x), abs(y))
        if x > y + tol:
            return True
        if x < y - tol:
            return False
    return True


def chain(periods=2, **policy):
    """Dy 10 t a period. A (CN) sells oxide at 300 USD/t (cap 10); M (MM) sells unseparated
    feed at 200 (cap 20), separated by CN-Sep (yield 0.9, fee 20 per t out, 100 t) or JP-Sep
    (yield 0.8, fee 60, 5 t of output a period).

    A delivered tonne costs 300 from A, 200 / 0.9 + 20 = 242.2 through CN-Sep and
    200 / 0.8 + 60 = 310 through JP-Sep.
    """
    return rareopt.Portfolio(
        periods={"count": periods, "days": 30},
        demand={"Dy": 10},
        suppliers=[supplier("A", "CN"), supplier("M", "MM")],
        offers=[offer("A", "Dy", 300, 10), {**offer("M", "Dy", 200, 20), "stage": "mining"}],
        facilities=[
            {
                "facility": "CN-Sep",
                "stage": "separation",
                "country": "CN",
                "capacity_t": 100,
                "yield": 0.9,
                "fee_usd_per_t": 20,
            },
            {
                "facility": "JP-Sep",
                "stage": "separation",
                "country": "JP",
                "capacity_t": 5,
                "yield": 0.8,
                "fee_usd_per_t": 60,
            },
        ],
        policy=policy,
    )


def hard_target_portfolio(cap=0.5, au_capacity=60.0):
    """Dy, 30-day periods, demand 100 t, hard target 30 days = 100 t, nothing in stock.

    Demand alone can be met (100 t, half from AU's 60 t). Hard targets may not short it, so P1
    must buy 100 t for demand and 100 t for the stock; with CN at most 50% the rest, >= 100 t,
    must come from AU, which has 60 t: infeasible. Alone, 40 t more AU capacity, 40 t more room
    under the CN cap (CN 140 t of 200 t) would each restore feasibility; lowering one period's
    target alone would not.
    """
    return rareopt.Portfolio(
        periods={"count": 2, "days": 30},
        demand={"Dy": 100},
        suppliers=[supplier("CN-Mine", "CN"), supplier("AU-Lynas", "AU")],
        offers=[
            offer("CN-Mine", "Dy", 250_000, 500),
            offer("AU-Lynas", "Dy", 300_000, au_capacity),
        ],
        stockpile=[{"element": "Dy", "target_days": 30, "capacity_t": 1_000}],
        policy={"country_caps": {"CN": cap}, "hard_stock_targets": True},
    )

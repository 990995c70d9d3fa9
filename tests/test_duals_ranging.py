"""Marginal values hold within HiGHS's ranging; larger moves of a cap cost what re-solves say."""

import numpy as np
import pytest
from helpers import offer, supplier

import rareopt
import rareopt.results.tables as tables
from rareopt.analysis.marginal import cost_of_diversification, cost_of_next_points


def three_suppliers(cap=0.6, demand=100.0, floor=None):
    """One period of Nd: A (CN) 50,000 USD/t, B (AU) 60,000 for at most 30 t, C (JP) 70,000.

    With CN capped at 60% of 100 t: A 60 t, B its 30 t, C the last 10 t.
    """
    policy = {"country_caps": {"CN": cap}}
    if floor is not None:
        policy["group_floors"] = [{"group": "G", "countries": ["JP"], "min_share": floor}]
    return rareopt.Portfolio(
        periods=1,
        demand={"Nd": demand},
        suppliers=[supplier("A", "CN"), supplier("B", "AU"), supplier("C", "JP")],
        offers=[
            offer("A", "Nd", 50_000, 200),
            offer("B", "Nd", 60_000, 30),
            offer("C", "Nd", 70_000, 200),
        ],
        policy=policy,
    )


def test_ranges_are_the_ones_worked_out_by_hand():
    """A = 0.6 d + h (h: cap headroom), B = 30, C = 0.4 d - 30 - h.

    - demand: one more tonne is 0.6 A + 0.4 C = 58,000 USD, while C >= 0 (d >= 75) and
      A <= 200 (d <= 333.3);
    - CN cap: a tonne of headroom moves C to A, -20,000 USD, while A >= 0 (h >= -60) and C >= 0
      (h <= 10): shares 0% to 70% of 100 t;
    - B's capacity: a tonne more replaces C, -10,000 USD, while C >= 0 (capacity <= 40);
      A and C, below their capacity, are worth 0 from what they buy up.
    """
    duals = rareopt.solve(three_suppliers()).duals
    columns = ["dual", "valid_from_t", "valid_to_t"]
    assert duals.loc[("balance", "Nd", "P1", ""), columns].tolist() == pytest.approx(
        [58_000, 75, 1000 / 3]
    )
    cap = duals.loc[("country_cap", "Nd", "P1", "CN")]
    assert cap[columns].tolist() == pytest.approx([-20_000, -60, 10])
    assert [cap["valid_from_pct"], cap["valid_to_pct"]] == pytest.approx([0, 70])
    capacity = duals.xs("capacity", level="constraint").droplevel(["element", "period"])
    assert capacity.loc["B", columns].tolist() == pytest.approx([-10_000, 0, 40])
    assert capacity.loc[["A", "C"], "valid_from_t"].tolist() == pytest.approx([60, 10])
    assert np.isinf(capacity.loc[["A", "C"], "valid_to_t"]).all()
    assert duals["unit"].str.startswith("marginal ").all()


def _slope(make, lower, upper):
    return rareopt.solve(make(upper)).objective - rareopt.solve(make(lower)).objective


def test_the_dual_holds_inside_the_range_and_changes_outside():
    """Finite differences either side of the range's upper end (demand 333.3 t, a 70% cap)."""
    demand = lambda d: three_suppliers(demand=d)  # noqa: E731
    assert _slope(demand, 332, 333) == pytest.approx(58_000)
    assert _slope(demand, 334, 335) == pytest.approx(70_000)  # A full: the tonne is C's
    cap = lambda share: three_suppliers(cap=share)  # noqa: E731
    assert _slope(cap, 0.68, 0.69) == pytest.approx(-20_000)  # one point: one tonne from C to A
    assert _slope(cap, 0.71, 0.72) == pytest.approx(-10_000)  # C bought nothing: from B to A


def test_a_floor_one_point_tighter_costs_its_figure():
    """JP at least 20% of 100 t: A 60, B 20, C 20; one point more moves a tonne from B to C."""
    base = rareopt.solve(three_suppliers(floor=0.2))
    floor = base.duals.loc[("group_floor", "Nd", "P1", "G")]
    assert floor["usd_per_point_tighter"] == pytest.approx(10_000)
    assert floor["valid_from_pct"] <= 20 <= floor["valid_to_pct"]
    tighter = rareopt.solve(three_suppliers(floor=0.21))
    assert tighter.objective - base.objective == pytest.approx(floor["usd_per_point_tighter"])


def test_ranges_are_those_of_the_lp_as_solved_with_its_goals_held():
    """Meeting demand first at 50,000 USD/t though a tonne short costs 10,000.

    The goal loop holds unmet demand at 0 by its bound while it solves, then restores the bound:
    ranged with the bound restored, the plan would not be optimal (short is cheaper). As solved,
    one more tonne of demand costs 50,000 USD until A's 200 t run out.
    """
    p = rareopt.Portfolio(
        periods=1,
        demand={"Nd": 100.0},
        suppliers=[supplier("A", "AU")],
        offers=[offer("A", "Nd", 50_000, 200)],
        policy={"shortage_penalty_usd_per_t": 10_000},
    )
    balance = rareopt.solve(p).duals.loc[("balance", "Nd", "P1", "")]
    assert balance[["dual", "valid_from_t", "valid_to_t"]].tolist() == pytest.approx(
        [50_000, 0, 200]
    )


def test_ranging_runs_only_when_the_duals_are_read(monkeypatch):
    calls = []
    real = tables.ranging
    monkeypatch.setattr(tables, "ranging", lambda *a: calls.append(1) or real(*a))
    result = rareopt.solve(rareopt.load_example("tiny"))
    assert result.plan is not None and result.shares is not None and calls == []
    assert result.duals["valid_from_t"].notna().all() and calls == [1]


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.with_policy(hhi_cap=5000),  # HiGHS holds cut rows the LP's arrays do not
        lambda p: p.replace_tables(offers=p.offers.assign(min_order_t=10.0), capacity=p.capacity),
    ],
    ids=["hhi-cuts", "mip"],
)
def test_every_range_holds_the_current_right_hand_side(change):
    """With HHI cuts, and for a MIP (its LP with the integers fixed), ranges are there."""
    result = rareopt.solve(change(rareopt.load_example("tiny")))
    duals = result.duals
    assert duals["valid_from_t"].notna().all()
    balance = duals.xs("balance", level="constraint").droplevel("holder")
    demand = result.unmet["demand_t"].reindex(balance.index)
    tol = 1e-6 * demand
    assert (balance["valid_from_t"] <= demand + tol).all()
    assert (demand <= balance["valid_to_t"] + tol).all()
    caps = duals.xs("country_cap", level="constraint")
    assert (caps["valid_from_t"] <= 1e-6).all() and (caps["valid_to_t"] >= -1e-6).all()


def test_a_two_stage_result_ranges_its_caps_but_not_what_every_scenario_shares():
    events = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.8)
    duals = rareopt.solve(rareopt.load_example("tiny"), scenarios=events).duals
    ranged = duals["valid_from_t"].notna().groupby(level="constraint").agg(["all", "any"])
    assert ranged.loc["country_cap", "all"]
    assert not ranged.loc[["balance", "stock_target", "capacity"], "any"].any()


def test_a_two_stage_target_dual_counts_the_target_in_every_scenario():
    """Dy's targets (15 days) are 5, 6 and 5 t; 0.0003 days less lowers each by 1e-5 t x days.

    The target also holds in every scenario (``scenario_target``), so its dual adds theirs: the
    nominal row's alone would price P3 at 72,500 USD/t, not 352,500. (Lowered, not raised: the
    optimum is degenerate there, and the dual is the slope on the way down.)
    """
    from rareopt.analysis.frontier import _with_target_days

    tiny = rareopt.load_example("tiny")
    events = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.8)
    base = rareopt.solve(_with_target_days(tiny, "Dy", 15.0), scenarios=events)
    less = rareopt.solve(_with_target_days(tiny, "Dy", 14.9997), scenarios=events)
    dual = base.duals.xs(("stock_target", "Dy"), level=["constraint", "element"])["dual"]
    moved = less.stock["target_t"].loc["Dy"] - base.stock["target_t"].loc["Dy"]
    predicted = float(dual.droplevel("holder") @ moved)
    assert less.objective - base.objective == pytest.approx(predicted, rel=1e-6)


def test_the_steps_cost_the_estimate_within_the_range_and_more_past_it():
    """tiny's Nd cap in P3 holds its dual down to 55.6%: the step to 55% costs more."""
    result = rareopt.solve(rareopt.load_example("tiny"))
    steps = cost_of_next_points(result, "CN", k=5).iloc[1:]
    assert steps["cap_pct"].tolist() == [59, 58, 57, 56, 55]
    assert steps["within_dual_range"].tolist() == [True] * 4 + [False]
    inside = steps[steps["within_dual_range"]]
    assert inside["step_cost_usd"].to_numpy() == pytest.approx(inside["marginal_step_usd"])
    assert steps["step_cost_usd"].iloc[-1] > steps["marginal_step_usd"].iloc[-1] + 1
    summed = cost_of_diversification(result).xs("CN")["usd_per_point_tighter"].sum()
    assert steps["marginal_step_usd"].iloc[0] == pytest.approx(summed)


def test_japan_with_china_capped_first_step_matches_the_dual_and_the_rest_cost_more():
    """With one objective (``priorities: weighted``) the duals price what the re-solves trade.

    (Met in order, the duals hold the stock-target goal at its optimum, and a tighter cap would
    change it: the estimate then holds for no step, see docs/formulation.md.)
    A first step small enough to stay within every cap row's range costs the estimate (to first
    order: the purchases X move a little with the cap); five whole points cost at least five
    times it, the cost being convex in the cap here.
    """
    japan = rareopt.load_example("japan").with_policy(priorities="weighted")
    result = rareopt.solve(japan)
    first = cost_of_next_points(result, "CN", k=1, step=0.01).iloc[1]
    assert first["within_dual_range"]
    assert first["step_cost_usd"] == pytest.approx(first["marginal_step_usd"], rel=1e-2)
    steps = cost_of_next_points(result, "CN", k=5)
    assert (steps["status"] == "optimal").all()
    assert steps["total_cost_usd"].iloc[-1] >= steps["marginal_total_usd"].iloc[-1]
    assert (
        np.diff(steps["step_cost_usd"].iloc[1:]) >= -1e-6 * steps["objective_usd"].iloc[0]
    ).all()


def test_cost_of_next_points_says_what_it_cannot_do():
    tiny = rareopt.load_example("tiny")
    with pytest.raises(
        ValueError, match="'AU' has no cap to tighten; capped countries: \\['CN'\\]"
    ):
        cost_of_next_points(tiny, "AU")
    with pytest.raises(ValueError, match="k x step <= 60"):
        cost_of_next_points(tiny, "CN", k=7, step=10)
    events = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.8)
    with pytest.raises(ValueError, match="pass scenarios="):
        cost_of_next_points(rareopt.solve(tiny, scenarios=events), "CN")

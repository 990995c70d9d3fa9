"""Notebook display: each object renders a compact HTML summary with its key table."""

import rareopt


def test_a_result_renders_its_status_costs_and_purchases_by_country():
    html = rareopt.solve(rareopt.load_example("tiny"))._repr_html_()
    assert "<b>Result tiny</b>" in html and "status: optimal" in html
    assert "objective 26,970,000 USD" in html and "not payments" in html
    assert "t bought, by country" in html and "<th>CN</th>" in html
    assert html.count("<tr>") < 30  # a summary, not a dump


def test_a_result_without_a_plan_renders_its_explanation():
    japan = rareopt.load_example("japan").with_policy(hard_stock_targets=True)
    result = rareopt.solve(japan)
    html = result._repr_html_()
    assert f"status: {result.status.value}" in html and "<table" not in html


def test_a_portfolio_renders_its_elements_demand_and_offers():
    html = rareopt.load_example("japan")._repr_html_()
    assert "<b>Portfolio japan</b>" in html and "24 periods (2026-01 .. 2027-12)" in html
    assert "cheapest_usd_per_t" in html and "<th>Dy</th>" in html


def test_scenario_outcomes_and_simulations_render_their_headlines():
    tiny = rareopt.load_example("tiny")
    events = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.9)
    outcome = rareopt.solve(tiny, scenarios=events).scenarios
    assert (
        "expected recourse" in outcome._repr_html_() and "china-japan-2010" in outcome._repr_html_()
    )
    sim = rareopt.simulate(tiny, events)
    assert "rolling re-planning" in sim._repr_html_() and "saved_usd" in sim._repr_html_()

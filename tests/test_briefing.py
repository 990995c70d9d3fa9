"""Reports carry their sections; comparisons line two results up."""

import matplotlib
import pytest

import rareopt
from rareopt.report.briefing import SECTIONS

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def result():
    return rareopt.solve(rareopt.load_example("tiny"))


def test_html_report_is_one_page_with_every_section_and_embedded_figures(result, tmp_path):
    text = open(result.report(str(tmp_path / "brief.html")), encoding="utf-8").read()
    for section in SECTIONS:
        assert f"<h2>{section}</h2>" in text
    # stock in days of cover, HHI, shares at separation, and each element's purchases
    assert text.count("data:image/png;base64,") == 3 + len(result.portfolio.elements)
    assert "status: optimal" in text


def test_markdown_report_writes_figures_beside_it(result, tmp_path):
    path = result.report(str(tmp_path / "brief.md"))
    text = open(path, encoding="utf-8").read()
    for section in SECTIONS:
        assert f"## {section}" in text
    assert (tmp_path / "brief_fig0.png").exists()


def test_report_refuses_unknown_format_and_missing_plan(result, tmp_path):
    with pytest.raises(ValueError, match=r"\.html or \.md"):
        result.report(str(tmp_path / "brief.pdf"))
    infeasible = rareopt.load_example("tiny").with_policy(hard_stock_targets=True)
    infeasible = infeasible.replace_tables(
        stockpile=infeasible.stockpile.assign(capacity_t=1.0, initial_t=0.0)
    )
    with pytest.raises(rareopt.NoPlanError):
        rareopt.solve(infeasible).report(str(tmp_path / "x.html"))


def test_compare_lines_up_costs_and_shares(result):
    tighter = rareopt.solve(result.portfolio.with_policy(country_caps={"CN": 0.5}))
    table = rareopt.compare(result, tighter, names=("60%", "50%"))
    assert table.loc[("cost", "objective"), "60%"] == pytest.approx(result.objective)
    assert table.loc[("cost", "objective"), "difference"] == pytest.approx(
        tighter.objective - result.objective
    )
    assert table.loc[("share %", "Nd / CN"), "50%"] == pytest.approx(50.0)


def test_a_country_keeps_its_colour_across_charts():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.colors import to_hex

    from rareopt.report.plots import country_colours, plot_imports_by_country

    result = rareopt.solve(rareopt.load_example("tiny"))
    colours = country_colours(result.portfolio.countries)
    for element in result.portfolio.elements:
        ax = plot_imports_by_country(result, element)
        handles, labels = ax.get_legend_handles_labels()
        for handle, country in zip(handles, labels):
            assert to_hex(handle.patches[0].get_facecolor()) == colours[country]


def test_compare_prints_usd_and_shares_each_in_its_own_format(result):
    tighter = rareopt.solve(result.portfolio.with_policy(country_caps={"CN": 0.5}))
    table = rareopt.compare(result, tighter)
    text = repr(table)
    assert "e+0" not in text and f"{round(result.objective):,}" in text
    assert table.loc[("cost", "objective"), "unit"] == "USD"
    assert table.loc[("share %", "Nd / CN"), "unit"] == "%"
    # Numbers stay numbers, rounded to their unit: whole USD, hundredths of a point of share.
    assert table.loc[("cost", "objective"), "a"] == round(result.objective)
    assert "<table" in table._repr_html_()

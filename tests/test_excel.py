"""Portfolios in and out of Excel workbooks: the same tables, the same solve, named problems."""

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

import rareopt
from rareopt.cli import EXIT_BAD_INPUT, app
from rareopt.exceptions import PortfolioError

TABLES = ("periods", "demand", "suppliers", "offers", "capacity", "stockpile", "stock_target")


def same_tables(a, b, names=TABLES):
    for name in names:
        x, y = getattr(a, name).reset_index(drop=True), getattr(b, name).reset_index(drop=True)
        # The same values; a column of whole numbers may come back as integers.
        pd.testing.assert_frame_equal(
            x[sorted(x.columns)], y[sorted(y.columns)], check_dtype=False, obj=name
        )


@pytest.mark.parametrize("name", ["tiny", "japan", "bundles"])
def test_a_portfolio_round_trips_through_a_workbook(tmp_path, name):
    portfolio = rareopt.load_example(name)
    again = rareopt.Portfolio.from_excel(portfolio.to_excel(str(tmp_path / f"{name}.xlsx")))
    same_tables(portfolio, again)
    same_tables(portfolio, again, ("facilities", "concentrates", "projects", "composition"))
    assert again.policy.country_caps.equals(portfolio.policy.country_caps)
    assert again.name == portfolio.name and again.sources == portfolio.sources
    if name != "bundles":  # a MIP: same optimum, same plan
        assert rareopt.solve(again).objective == rareopt.solve(portfolio).objective


def test_a_workbook_holds_a_sheet_per_table_with_frozen_headers(tmp_path):
    path = rareopt.load_example("japan").to_excel(str(tmp_path / "japan.xlsx"))
    book = openpyxl.load_workbook(path)
    assert {"settings", "periods", "demand", "suppliers", "offers", "stockpile"} <= set(
        book.sheetnames
    )
    assert book["offers"].freeze_panes == "A2"
    assert [c.value for c in book["demand"][1]] == ["element", "period", "demand_t"]


def test_an_invalid_cell_is_named_by_workbook_sheet_row_and_column(tmp_path):
    path = str(tmp_path / "tiny.xlsx")
    rareopt.load_example("tiny").to_excel(path)
    book = openpyxl.load_workbook(path)
    sheet = book["offers"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=3, column=header.index("price_usd_per_t") + 1, value="cheap")
    book.save(path)
    with pytest.raises(PortfolioError) as info:
        rareopt.Portfolio.from_excel(path)
    text = str(info.value)
    assert f"{path}: sheet offers, row 3" in text and "field price_usd_per_t: got 'cheap'" in text


def test_an_unknown_sheet_is_named_with_the_allowed_ones(tmp_path):
    path = str(tmp_path / "tiny.xlsx")
    rareopt.load_example("tiny").to_excel(path)
    book = openpyxl.load_workbook(path)
    book.create_sheet("offres")
    book.save(path)
    with pytest.raises(
        PortfolioError, match="sheet offres, field sheet: got 'offres'; allowed: one"
    ):
        rareopt.Portfolio.from_excel(path)


def test_a_yaml_portfolio_names_csv_tables_only(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "periods: 2\ndemand: {Nd: 10}\nsuppliers: [{supplier: A, country: AU, kind: mine}]\n"
        "offers: offers.xlsx\n"
    )
    with pytest.raises(PortfolioError, match="offers, file, field offers: got 'offers.xlsx'"):
        rareopt.Portfolio.from_yaml(str(tmp_path / "p.yaml"))


def test_the_command_line_writes_a_template_and_solves_a_workbook(tmp_path):
    runner = CliRunner()
    path = tmp_path / "japan.xlsx"
    written = runner.invoke(app, ["examples", "show", "japan", "--excel", str(path)])
    assert written.exit_code == 0 and path.exists()
    solved = runner.invoke(app, ["solve", str(path)])
    assert solved.exit_code == 0 and "1,205,156,551 USD" in solved.output
    broken = tmp_path / "broken.xlsx"
    broken.write_text("not a workbook")
    failed = runner.invoke(app, ["validate", str(broken)])
    assert failed.exit_code == EXIT_BAD_INPUT and "Traceback" not in failed.output


def test_a_results_workbook_opens_on_a_summary_then_plans_then_tables(tmp_path):
    result = rareopt.solve(rareopt.load_example("japan"))
    book = openpyxl.load_workbook(result.to_excel(str(tmp_path / "r.xlsx")))
    names = book.sheetnames
    assert names[0] == "summary" and names[1:8] == [f"plan {e}" for e in result.portfolio.elements]
    assert {"plan", "stock", "costs", "checks"} <= set(names)
    summary = {row[1].value: row for row in book["summary"].iter_rows(min_row=2)}
    assert summary["objective"][2].value == pytest.approx(result.objective)
    assert summary["objective"][2].number_format == "#,##0"
    assert "not payments" in summary["penalty"][3].value
    nd = book["plan Nd"]
    assert nd.freeze_panes == "B2" and nd["B1"].value.year == 2026  # periods are dates
    assert nd["B1"].number_format == "yyyy-mm" and nd["B2"].number_format == "#,##0.0"
    plan = book["plan"]
    header = [c.value for c in plan[1]]
    assert plan.cell(row=2, column=header.index("cost_usd") + 1).number_format == "#,##0"


def test_a_result_without_a_plan_writes_no_workbook(tmp_path):
    infeasible = rareopt.solve(rareopt.load_example("japan").with_policy(hard_stock_targets=True))
    with pytest.raises(rareopt.NoPlanError):
        infeasible.to_excel(str(tmp_path / "none.xlsx"))
    assert not (tmp_path / "none.xlsx").exists()


def test_excel_s_own_habits_are_read_as_meant(tmp_path):
    # Excel turns a typed 2026-01 into a date, and leaves wholly blank rows behind.
    path = str(tmp_path / "japan.xlsx")
    japan = rareopt.load_example("japan")
    japan.to_excel(path)
    book = openpyxl.load_workbook(path)
    import datetime

    periods = book["periods"]
    periods.cell(row=2, column=1, value=datetime.datetime(2026, 1, 1))
    offers = book["offers"]
    offers.insert_rows(4)
    book.save(path)
    again = rareopt.Portfolio.from_excel(path)
    assert again.period_labels == japan.period_labels
    assert len(again.offers) == len(japan.offers)


def test_a_cell_whose_yaml_does_not_parse_is_named(tmp_path):
    path = str(tmp_path / "tiny.xlsx")
    rareopt.load_example("tiny").to_excel(path)
    book = openpyxl.load_workbook(path)
    settings = book["settings"]
    row = next(r for r in settings.iter_rows(min_row=2) if r[0].value == "policy")
    row[1].value = "{country_caps: [{country: CN, max_share: 0.4}"
    book.save(path)
    with pytest.raises(
        PortfolioError, match=f"{path}: sheet settings, row {row[0].row}, field value"
    ):
        rareopt.Portfolio.from_excel(path)

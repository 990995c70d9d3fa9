"""The briefing's readable sections (issue 14): who buys what when, stock in days of cover against
target, the assumptions in force, a glossary and the date; headers in words; a note, never a
crash, where a section does not apply."""

import datetime
import re
import sys

import matplotlib
import matplotlib.pyplot as plt
import pytest

import rareopt
from rareopt.inputs.portfolio import Policy
from rareopt.report.briefing import SECTIONS
from rareopt.report.plots import plot_stock_cover
from rareopt.report.text import purchase_plan_table

matplotlib.use("Agg")

SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_%]+")
"""A snake_case name such as ``spend_usd`` or ``top3_%``."""


def section(text: str, name: str) -> str:
    """The Markdown between heading ``## name`` and the next heading."""
    return text.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]


def table(text: str) -> list[dict[str, str]]:
    """The first Markdown table in ``text``, as rows of header -> cell."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    return [
        dict(zip(header, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]
    ]


def brief(result, tmp_path, name="brief.md") -> str:
    return open(result.report(str(tmp_path / name)), encoding="utf-8").read()


@pytest.fixture
def no_matplotlib(monkeypatch):
    """As without the plot extra: importing matplotlib fails (and the reports are faster)."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)


@pytest.fixture(scope="module")
def japan():
    return rareopt.solve(rareopt.load_example("japan"))


@pytest.fixture(scope="module")
def japan_md(japan, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:  # figures are tested on tiny; these take seconds
        patch.setitem(sys.modules, "matplotlib", None)
        return brief(japan, tmp_path_factory.mktemp("japan"))


def test_sections_come_in_the_documented_order(japan_md):
    assert re.findall(r"^## (.+)$", japan_md, flags=re.MULTILINE) == list(SECTIONS)


def test_the_purchase_plan_adds_up_to_the_plan_per_element(japan, japan_md):
    bought = japan.plan["volume_t"].groupby(level="element").sum()
    rows = table(section(japan_md, "Purchase plan"))
    shown: dict[str, float] = {}
    element = None
    for row in rows:
        element = row["Element"] or element  # an element is named on its first row only
        shown[element] = shown.get(element, 0.0) + float(row["Total, t"].replace(",", ""))
    for e, total in bought.items():
        # each row is rounded to 0.1 t
        assert shown[e] == pytest.approx(total, abs=0.05 * len(rows))
    data = purchase_plan_table(japan)
    assert data.groupby(level="element")["total_t"].sum().to_dict() == pytest.approx(
        bought.to_dict()
    )
    quarters = [c for c in data if re.fullmatch(r"\d{4} Q\d_t", c)]
    assert len(quarters) == 8  # 24 months read as quarters
    assert data[quarters].sum(axis=1).to_numpy() == pytest.approx(data["total_t"].to_numpy())


def test_the_purchase_plan_says_when_a_supplier_starts_and_stops(japan):
    data = purchase_plan_table(japan).reset_index()
    volume = japan.plan["volume_t"]
    for row in data.itertuples():
        months = volume.xs((row.element, row.supplier), level=("element", "supplier"))
        months = months[months > 1e-6].index
        assert (row.first_period, row.last_period, row.periods_bought) == (
            months[0],
            months[-1],
            len(months),
        )


def test_stock_in_days_of_cover_is_stock_over_daily_demand(tmp_path):
    """tiny, with storage room for 40 t: Nd's stock cannot reach its 60-90 t target."""
    tiny = rareopt.load_example("tiny")
    result = rareopt.solve(tiny.replace_tables(stockpile=tiny.stockpile.assign(capacity_t=40.0)))
    days = tiny.periods.set_index("period")["days"]
    demand = tiny.demand.set_index(["element", "period"])["demand_t"]
    stock = result.stock["level_t"]
    expected = {
        (e, p): stock[(e, p)] / (demand[(e, p)] / days[p]) for e, p in stock.index
    }  # by hand: Nd P1 40 t / (90 t / 30 days) = 13.3 days
    assert expected[("Nd", "P1")] == pytest.approx(40 / 3)
    figure = plot_stock_cover(result)
    plt.close(figure)
    for ax, element in zip(figure.axes, tiny.elements):
        stock_line, target_line = ax.get_lines()
        assert ax.get_title() == element
        assert stock_line.get_ydata().tolist() == pytest.approx(
            [expected[(element, p)] for p in tiny.period_labels]
        )
        assert target_line.get_ydata().tolist() == pytest.approx(
            result.stock.xs(element, level="element")["target_days"].tolist()
        )
    rows = {
        row["Period"]: row
        for row in table(section(brief(result, tmp_path), "Stock against target"))
    }
    assert rows["P1"]["Nd, days"] == "13.3 / 20 ↓"  # below target: marked, to a tenth of a day
    dy = expected[("Dy", "P1")]
    assert rows["P1"]["Dy, days"] == f"{dy:.0f} / 15" + (" ↓" if dy < 15 - 1e-6 else "")


def test_no_header_is_snake_case(japan_md, tmp_path, no_matplotlib):
    for line in japan_md.splitlines():
        assert not SNAKE.search(line), line
    page = brief(rareopt.solve(rareopt.load_example("tiny")), tmp_path, "brief.html")
    headers = re.findall(r"<th[^>]*>(.*?)</th>", page)
    assert "Unmet demand, t" in headers and not [h for h in headers if SNAKE.search(h)]


def test_the_header_gives_the_date_it_was_written(japan_md):
    before = datetime.date.today()
    written = re.search(r"^Written (\d{4}-\d{2}-\d{2})\.$", japan_md, flags=re.MULTILINE)
    assert written.group(1) in {before.isoformat(), datetime.date.today().isoformat()}
    assert japan_md.index("Written") < japan_md.index("## Summary")


def test_assumptions_list_caps_penalties_targets_and_the_glossary_its_terms(japan, japan_md):
    assumptions = section(japan_md, "Assumptions")
    policy = japan.portfolio.policy
    assert "- Caps and floors are shares of each element's purchases, in every period." in (
        assumptions
    )
    assert "- Country caps: CN at most 50% of every element." in assumptions
    assert "- Supplier caps: every supplier at most 30% of every element." in assumptions
    assert f"{policy.shortage_penalty_usd_per_t:,.0f} USD per t of unmet demand" in assumptions
    assert "stock targets are soft" in assumptions
    targets = {row["Element"]: row for row in table(assumptions)}
    first = japan.stock.xs("Nd", level="element")["target_days"].iloc[0]
    assert targets["Nd"]["Target in the first period, days"] == f"{first:,.1f}"
    glossary = section(japan_md, "Glossary")
    for term in ("Spend", "Penalty", "Recourse", "Unmet demand", "Days of cover", "HHI"):
        assert f"- **{term}**:" in glossary
    assert "- **Marginal value (dual)**:" in glossary and "- **Share cap**:" in glossary


def test_assumptions_name_every_kind_of_cap_and_floor(tmp_path, no_matplotlib):
    policy = {
        "cap_basis": "horizon",
        "supplier_caps": [
            {"supplier": "*", "max_share": 0.7},
            {"supplier": "JP-Recycling", "element": "*", "max_share": 1},
        ],
        "group_floors": [{"group": "allies", "countries": ["AU", "JP"], "min_share": 0.1}],
        "hhi_cap": {"Nd": 6000},
        "max_suppliers_per_element": 2,
    }
    result = rareopt.solve(rareopt.load_example("tiny").with_policy(**policy))
    lines = section(brief(result, tmp_path), "Assumptions").splitlines()
    for line in (
        "- Caps and floors are shares of each element's purchases, on the totals over the horizon.",
        "- Supplier caps: every supplier at most 70% of every element; JP-Recycling at most 100% "
        "of every element.",
        "- Group floors: allies (AU, JP) together at least 10% of every element.",
        "- HHI cap: Nd 6,000 (0-10,000; kept to within 1 of it).",
        "- At most 2 contracted suppliers per element.",
    ):
        assert line in lines
    assert any(
        line.startswith("- Discrete choices: a count of suppliers; solved as a MIP")
        for line in lines
    )


@pytest.mark.skipif(
    "priorities" not in Policy.__dataclass_fields__, reason="policy without priorities"
)
def test_assumptions_say_how_goals_are_ordered(tmp_path, no_matplotlib):
    tiny = rareopt.load_example("tiny")
    ordered = tiny.with_policy(priorities=("demand", "stock_targets", "cost"))
    text = section(brief(rareopt.solve(ordered), tmp_path), "Assumptions")
    assert "Goals: lexicographic: first demand, then stock targets, then cost" in text
    weighted = tiny.with_policy(priorities="weighted")
    text = section(brief(rareopt.solve(weighted), tmp_path), "Assumptions")
    assert "Goals: penalties blended in one objective." in text


def test_a_two_stage_briefing_says_what_its_plan_and_stock_are(tmp_path, no_matplotlib):
    events = rareopt.event_scenarios(["china-japan-2010"], start=2, baseline=0.8)
    hedged = rareopt.solve(
        rareopt.load_example("tiny"), scenarios=events, risk=rareopt.CVaR(alpha=0.95, weight=0.5)
    )
    text = brief(hedged, tmp_path)
    assert re.findall(r"^## (.+)$", text, flags=re.MULTILINE) == list(SECTIONS)
    assert "placed before any disruption is known" in section(text, "Purchase plan")
    assert "The stock of the plan without disruption" in section(text, "Stock against target")
    assert "- Disruption scenarios: 2;" in section(text, "Assumptions")
    assert table(section(text, "Cost of diversification"))  # two-stage duals exist


def test_a_mip_briefing_says_its_marginal_values_are_of_the_fixed_lp(tmp_path, no_matplotlib):
    tiny = rareopt.load_example("tiny")
    mip = rareopt.solve(
        tiny.replace_tables(offers=tiny.offers.assign(min_order_t=15.0), capacity=tiny.capacity)
    )
    assert mip.solver.get("mip_gap") is not None
    text = brief(mip, tmp_path)
    assert "the LP with the integer decisions fixed" in section(text, "Cost of diversification")
    assert "- Discrete choices: minimum orders; solved as a MIP" in section(text, "Assumptions")
    assert all(f"## {name}" in text for name in SECTIONS)


def test_sections_that_do_not_apply_hold_a_note(tmp_path, no_matplotlib):
    tiny = rareopt.load_example("tiny")
    no_stock = tiny.replace_tables(
        stockpile=tiny.stockpile.assign(target_days=0.0, initial_t=0.0, capacity_t=0.0)
    )
    text = brief(rareopt.solve(no_stock), tmp_path)
    assert section(text, "Stock against target").strip() == (
        "Not applicable: no element has a stock target or holds stock."
    )
    # without country caps there are no cap duals (cost_of_diversification itself raises)
    text = brief(rareopt.solve(tiny.with_policy(country_caps={})), tmp_path)
    assert "Not applicable: no country cap is in force" in section(text, "Cost of diversification")
    assert "- Caps: none." in section(text, "Assumptions")


def test_without_matplotlib_each_figure_is_a_note(tmp_path, no_matplotlib):
    text = brief(rareopt.solve(rareopt.load_example("tiny")), tmp_path)
    note = "Figure left out: figures need matplotlib (pip install 'rareopt[plot]')."
    assert note in section(text, "Stock against target")
    assert section(text, "Figures").strip() == note
    assert table(section(text, "Stock against target"))  # the table stays
    assert "![" not in text and not list(tmp_path.glob("*.png"))


def test_briefing_quotes_re_solved_steps_of_the_cap_not_only_marginal_values(tmp_path):
    japan = rareopt.load_example("japan")
    path = tmp_path / "japan.md"
    rareopt.solve(japan).report(str(path))
    text = path.read_text()
    assert "re-solved point by point" in text
    row = next(line for line in text.splitlines() if line.startswith("| 49.0 |"))
    spend = float(row.split("|")[2].replace(",", ""))
    tighter = rareopt.solve(japan.with_policy(country_caps={"CN": 0.49}))
    expected = tighter.costs.groupby("kind")["usd"].sum()["spend"]
    assert spend == pytest.approx(expected, abs=0.1)

"""Bad input gets one error listing every problem, each naming table, row, field, value, allowed."""

import math

import pytest
from helpers import offer, supplier

import rareopt
from rareopt import PortfolioError


def base(**changes):
    spec = dict(
        periods=2,
        demand={"Nd": 100, "Dy": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[
            offer("A", "Nd", 50_000, 200),
            offer("B", "Nd", 60_000, 200),
            offer("A", "Dy", 250_000, 20),
        ],
        policy={"country_caps": {"CN": 0.6}},
    )
    spec.update(changes)
    return spec


def issues_of(**changes):
    with pytest.raises(PortfolioError) as info:
        rareopt.Portfolio(**base(**changes))
    return info.value.issues


def test_valid_base_portfolio_builds():
    p = rareopt.Portfolio(**base())
    assert p.elements == ["Nd", "Dy"]
    assert p.warnings == ()


def test_every_problem_is_reported_at_once():
    bad_offers = [
        offer("A", "Nd", -5, 200),
        offer("Z", "Nd", 60_000, 200),
        offer("A", "Xx", 1, 1),
        offer("A", "Dy", 250_000, math.nan),
    ]
    issues = issues_of(
        offers=bad_offers,
        suppliers=[supplier("A", "CN", kind="volcano"), supplier("B", "AU", risk=1.5)],
    )
    found = {(i.table, i.field) for i in issues}
    assert {
        ("offers", "price_usd_per_t"),
        ("offers", "supplier"),
        ("offers", "element"),
        ("capacity", "capacity_t"),
        ("suppliers", "kind"),
        ("suppliers", "risk_score"),
    } <= found


def test_message_names_table_row_field_value_and_allowed():
    issues = issues_of(offers=[offer("A", "Nd", 50_000, -3), offer("A", "Dy", 1, 1)])
    (issue,) = [i for i in issues if i.field == "capacity_t"]  # once, not once per period
    text = str(issue)
    assert "offers row 0" in text and "supplier=A" in text and "element=Nd" in text
    assert "-3" in text and "a number >= 0" in text


def test_unknown_supplier_names_the_allowed_ones():
    issues = issues_of(offers=[offer("Q", "Nd", 1, 1), offer("A", "Dy", 1, 1)])
    (issue,) = [i for i in issues if i.field == "supplier"]
    assert issue.value == "Q" and "A, B" in issue.allowed


def test_duplicate_offer_is_an_error():
    issues = issues_of(
        offers=[offer("A", "Nd", 1, 1), offer("A", "Nd", 2, 2), offer("A", "Dy", 1, 1)]
    )
    assert any("duplicate" in i.allowed for i in issues)


def test_demand_without_any_offer_is_an_error():
    issues = issues_of(offers=[offer("A", "Nd", 1, 1)])
    (issue,) = issues
    assert issue.row == "element Dy" and "at least one offer" in issue.allowed


def test_per_period_list_of_wrong_length():
    issues = issues_of(demand={"Nd": [1, 2, 3], "Dy": 10})
    (issue,) = issues
    assert issue.table == "demand" and "2 values" in issue.allowed and issue.value == "3 values"


def test_share_outside_unit_interval_and_bad_cap_basis():
    issues = issues_of(policy={"country_caps": {"CN": 1.5}, "cap_basis": "monthly"})
    fields = {i.field: i for i in issues}
    assert fields["max_share"].value == 1.5 and "<= 1" in fields["max_share"].allowed
    assert "horizon" in fields["cap_basis"].allowed


def test_periods_that_do_not_match():
    demand = [
        {"element": "Nd", "period": "P1", "demand_t": 1},
        {"element": "Nd", "period": "P9", "demand_t": 1},
    ]
    issues = issues_of(demand=demand, offers=[offer("A", "Nd", 1, 1)])
    assert any(i.field == "period" and i.value == "P9" for i in issues)
    assert any(i.row == "element Nd" and "P2" in str(i.value) for i in issues)


def test_negative_and_nan_demand():
    issues = issues_of(demand={"Nd": [-1, math.nan], "Dy": 10})
    assert [i.value for i in issues if i.field == "demand_t"][0] == -1
    assert len([i for i in issues if i.field == "demand_t"]) == 2


def test_initial_stock_above_capacity():
    issues = issues_of(stockpile=[{"element": "Nd", "initial_t": 50, "capacity_t": 10}])
    (issue,) = issues
    assert issue.field == "initial_t" and "capacity_t = 10" in issue.allowed


def test_country_cap_on_a_country_without_suppliers_is_a_warning():
    with pytest.warns(UserWarning, match="KZ"):
        p = rareopt.Portfolio(**base(policy={"country_caps": {"CN": 0.6, "KZ": 0.2}}))
    (warning,) = p.warnings
    assert warning.severity == "warning" and warning.value == "KZ"


def test_unknown_policy_key_and_unknown_solve_option():
    with pytest.raises(ValueError, match="field cap: got 'unknown field'; allowed"):
        rareopt.Portfolio(**base(policy={"cap": 0.5}))
    with pytest.raises(TypeError, match="unknown solve option.*'timelimit'"):
        rareopt.solve(rareopt.Portfolio(**base()), timelimit=5)
    with pytest.raises(ValueError, match="lp_algorithm.*'barrier'.*allowed"):
        rareopt.solve(rareopt.Portfolio(**base()), lp_algorithm="barrier")


def test_yaml_file_must_not_execute_tags(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(Exception, match="could not determine a constructor|python/object"):
        rareopt.Portfolio.from_yaml(str(path))


def test_yaml_round_trip_keeps_the_optimum(tmp_path):
    p = rareopt.load_example("tiny")
    path = tmp_path / "copy.yaml"
    p.to_yaml(str(path))
    q = rareopt.Portfolio.from_yaml(str(path))
    assert rareopt.solve(q).objective == pytest.approx(rareopt.solve(p).objective)
    assert q.stock_target.equals(p.stock_target)
    assert (
        q.capacity.sort_values(["supplier", "element", "period"])
        .reset_index(drop=True)
        .equals(p.capacity.sort_values(["supplier", "element", "period"]).reset_index(drop=True))
    )


def test_csv_tables_next_to_the_yaml(tmp_path):
    p = rareopt.load_example("tiny")
    p.demand.to_csv(tmp_path / "demand.csv", index=False)
    text = p.to_yaml().replace("demand:\n", "demand: demand.csv\nold_demand:\n", 1)
    start = text.index("old_demand:")
    end = text.index("suppliers:")
    (tmp_path / "p.yaml").write_text(text[:start] + text[end:])
    q = rareopt.Portfolio.from_yaml(str(tmp_path / "p.yaml"))
    assert q.demand["demand_t"].sum() == pytest.approx(p.demand["demand_t"].sum())


def test_unquoted_yaml_country_code_read_as_boolean_is_named():
    found = issues_of(suppliers=[supplier("A", False), supplier("B", "AU")])
    assert any(i.field == "country" and "quote codes such as 'NO'" in i.allowed for i in found)


def test_stockpile_record_without_element_is_an_issue_not_a_crash():
    found = issues_of(stockpile=[{"initial_t": 5}])
    assert any(i.table == "stockpile" and i.field == "element" for i in found)


def test_blank_stockpile_fields_in_one_row_take_their_defaults():
    p = rareopt.Portfolio(
        **base(stockpile=[{"element": "Nd", "initial_t": 5}, {"element": "Dy", "capacity_t": 9}])
    )
    assert p.stockpile["initial_t"].tolist() == [5.0, 0.0]
    assert p.stockpile["capacity_t"].tolist() == [math.inf, 9.0]


def test_cap_given_under_both_its_names_is_refused():
    with pytest.raises(ValueError, match="both country_cap and country_caps"):
        rareopt.Portfolio(**base(policy={"country_cap": {"CN": 0.5}, "country_caps": {"CN": 0.6}}))


def test_one_source_given_as_a_string_stays_one_source():
    assert rareopt.Portfolio(**base(sources="USGS MCS 2025")).sources == ("USGS MCS 2025",)


def test_unknown_period_keys_are_refused():
    with pytest.raises(PortfolioError, match=r"periods, spec, field day: .*did you mean days\?"):
        rareopt.Portfolio(**base(periods={"count": 2, "day": 30}))


def test_namibia_in_a_csv_table_is_a_country_not_a_missing_value(tmp_path):
    (tmp_path / "suppliers.csv").write_text(
        "supplier,country,kind,risk_score\nA,CN,mine,0.5\nB,NA,mine,\n"
    )
    (tmp_path / "p.yaml").write_text(
        "periods: 1\ndemand: {Nd: 10}\nsuppliers: suppliers.csv\n"
        "offers: [{supplier: A, element: Nd, price_usd_per_t: 1, capacity_t: 20},"
        " {supplier: B, element: Nd, price_usd_per_t: 2, capacity_t: 20}]\n"
    )
    p = rareopt.Portfolio.from_yaml(str(tmp_path / "p.yaml"))
    assert p.suppliers["country"].tolist() == ["CN", "NA"]
    assert p.suppliers["risk_score"].tolist() == [0.5, 0.0]


def test_the_unknown_key_message_in_the_docs_is_the_loaders_own():
    import pathlib

    import yaml

    text = (pathlib.Path(__file__).parents[1] / "docs" / "data-format.md").read_text()
    quoted = next(line for line in text.splitlines() if line.startswith("portfolio file: unknown"))
    spec = yaml.safe_load(rareopt.load_example("tiny").to_yaml())
    spec["polciy"] = {}
    with pytest.raises(ValueError) as caught:
        rareopt.Portfolio.from_dict(spec)
    assert quoted in str(caught.value)


def test_a_concentrate_that_pays_for_itself_without_limit_is_refused_not_unbounded():
    import yaml

    spec = yaml.safe_load(rareopt.load_example("bundles").to_yaml())
    ore = spec["concentrates"][0]
    ore["capacity_t"] = float("inf")
    spec["policy"]["salvage_usd_per_t"] = {e: 1e6 for e in ore["composition"]}
    with pytest.raises(PortfolioError) as caught:
        rareopt.Portfolio.from_dict(spec)
    assert "field capacity_t: got 'unlimited'" in str(caught.value)
    assert "no lower bound" in str(caught.value)
    ore["capacity_t"] = 1e4  # finite: a valid, bounded portfolio
    assert rareopt.solve(rareopt.Portfolio.from_dict(spec)).ok


@pytest.mark.parametrize(
    "text, words",
    [
        ('supplier,country,kind\nA,AU,mine,extra,"open\n', "EOF inside string"),
        ("", "No columns to parse"),
        (b"\xff\xfe\x00bad", "codec can't decode"),
    ],
)
def test_an_unreadable_csv_table_names_its_file(tmp_path, text, words):
    from typer.testing import CliRunner

    from rareopt.cli import app

    (tmp_path / "p.yaml").write_text(
        "name: c\nperiods: 2\ndemand: {Nd: 10}\nsuppliers: suppliers.csv\n"
        "offers: [{supplier: A, element: Nd, price_usd_per_t: 1, capacity_t: 20}]\n"
    )
    csv = tmp_path / "suppliers.csv"
    csv.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(PortfolioError) as caught:
        rareopt.Portfolio.from_yaml(str(tmp_path / "p.yaml"))
    assert str(csv) in str(caught.value) and words in str(caught.value)
    done = CliRunner().invoke(app, ["validate", str(tmp_path / "p.yaml")])
    assert done.exit_code == 2 and str(csv) in done.output and "Traceback" not in done.output

"""Criticality indicators: hand-computed values, the EU weighting, settings validation, display."""

import pandas as pd
import pytest
from helpers import offer, supplier, two_supplier
from hypothesis import given, settings
from hypothesis import strategies as st

import rareopt
from rareopt import PortfolioError
from rareopt.analysis.criticality import indicators, market_indicators, plan_indicators
from rareopt.inputs.portfolio import Criticality


def volumes(rows):
    return pd.DataFrame(rows, columns=["element", "country", "volume_t"])


def test_hand_computed_indicators_of_three_countries():
    v = volumes([("Dy", "CN", 50.0), ("Dy", "MM", 30.0), ("Dy", "JP", 15.0), ("Dy", "CN", 5.0)])
    row = indicators(v, home_country="JP", wgi={"CN": -0.5, "MM": -1.5, "JP": 1.5}).loc["Dy"]
    assert row["total_t"] == pytest.approx(100.0)
    assert row["hhi"] == pytest.approx(55**2 + 30**2 + 15**2)
    assert (row["top1_country"], row["top1_share"]) == ("CN", pytest.approx(0.55))
    assert row["top3_share"] == pytest.approx(1.0)
    assert row["net_import_reliance"] == pytest.approx(0.85)
    # (2.5 - WGI) x 2: CN 6, MM 8, JP 2; trade parameter 1 by default.
    assert row["hhi_wgi"] == pytest.approx(0.55**2 * 6 + 0.30**2 * 8 + 0.15**2 * 2)


def test_trade_parameter_scales_one_countrys_term():
    v = volumes([("Nd", "CN", 60.0), ("Nd", "AU", 40.0)])
    wgi = {"CN": -0.5, "AU": 1.5}
    plain = indicators(v, wgi=wgi).at["Nd", "hhi_wgi"]
    restricted = indicators(v, wgi=wgi, trade={"CN": 1.5}).at["Nd", "hhi_wgi"]
    assert restricted - plain == pytest.approx(0.5 * 0.6**2 * 6)


def test_optional_columns_appear_only_when_asked_for():
    v = volumes([("Nd", "CN", 1.0)])
    assert "net_import_reliance" not in indicators(v)
    assert "hhi_wgi" not in indicators(v)


def test_missing_and_out_of_range_wgi_scores_are_named():
    v = volumes([("Nd", "CN", 60.0), ("Nd", "AU", 40.0)])
    with pytest.raises(PortfolioError) as info:
        indicators(v, wgi={"CN": -3.0}, trade={"AU": 0})
    text = str(info.value)
    assert "field CN: got -3.0; allowed: a raw WGI score from -2.5 to 2.5" in text
    assert "field AU: got 'missing score'; allowed: a score for every supplying country" in text
    assert "trade, field AU: got 0" in text


@settings(max_examples=40, deadline=None)
@given(
    tonnes=st.lists(st.floats(0.5, 1e4), min_size=1, max_size=6),
    score=st.floats(-2.5, 2.5),
)
def test_uniform_governance_rescales_the_plain_hhi(tonnes, score):
    countries = [f"C{i}" for i in range(len(tonnes))]
    v = volumes([("Nd", c, t) for c, t in zip(countries, tonnes)])
    row = indicators(v, wgi=dict.fromkeys(countries, score)).loc["Nd"]
    assert row["hhi_wgi"] == pytest.approx(row["hhi"] / 10_000 * (2.5 - score) * 2, abs=1e-12)
    assert 10_000 / len(tonnes) - 1e-6 <= row["hhi"] <= 10_000 + 1e-6
    assert row["top1_share"] <= row["top3_share"] + 1e-12


def test_plan_indicators_agree_with_the_results_hhi_and_shares():
    result = rareopt.solve(rareopt.load_example("japan"))
    plan = plan_indicators(result)
    horizon = result.hhi.xs(("*", "seller"), level=("period", "stage"))["hhi"]
    pd.testing.assert_series_equal(plan["hhi"], horizon, check_names=False, rtol=1e-9)
    # The 50% China cap holds in every month, so over the horizon too.
    assert (plan["top1_share"] <= 0.5 + 1e-6).all()
    assert (plan["net_import_reliance"] < 1.0 + 1e-12).all()


def test_tightening_the_china_cap_lowers_chinas_share_of_the_plan():
    loose = plan_indicators(rareopt.solve(two_supplier(cap=0.8)))
    tight = plan_indicators(rareopt.solve(two_supplier(cap=0.6)))
    assert loose.at["Nd", "top1_share"] == pytest.approx(0.8)
    assert tight.at["Nd", "top1_share"] == pytest.approx(0.6)
    assert tight.at["Nd", "hhi"] < loose.at["Nd", "hhi"]


def test_market_indicators_count_capacity_and_refuse_unlimited_offers():
    market = market_indicators(two_supplier())
    assert market.at["Nd", "top1_share"] == pytest.approx(0.5)  # 200 t each
    unlimited = rareopt.Portfolio(
        periods=1,
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("T", "SG", kind="trader")],
        offers=[offer("A", "Nd", 1.0, 20), offer("T", "Nd", 2.0, float("inf"))],
    )
    with pytest.raises(ValueError, match=r"\['T/Nd'\] have unlimited capacity_t"):
        market_indicators(unlimited)


def test_portfolio_settings_are_validated_with_the_other_tables():
    spec = dict(
        periods=1,
        demand={"Nd": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[offer("A", "Nd", 1.0, 20), offer("B", "Nd", 2.0, 20)],
    )
    with pytest.raises(PortfolioError) as info:
        rareopt.Portfolio(**spec, criticality={"wgi": {"CN": 9}})
    assert "criticality, wgi, field CN: got 9" in str(info.value)
    assert "field AU: got 'missing score'" in str(info.value)
    with pytest.warns(UserWarning, match="field NO: got 1.2; allowed: a country some supplier"):
        rareopt.Portfolio(**spec, criticality={"trade": {"NO": 1.2}})
    with pytest.raises(
        ValueError, match="field wgis: got 'unknown field'; allowed: did you mean wgi"
    ):
        rareopt.Portfolio(**spec, criticality={"wgis": {}})


def test_settings_round_trip_through_yaml_and_reach_the_summary(tmp_path):
    p = rareopt.load_example("tiny").replace_tables(
        criticality={"home_country": "JP", "wgi": {"CN": -0.5, "AU": 1.5, "JP": 1.3}}
    )
    path = tmp_path / "tiny.yaml"
    p.to_yaml(str(path))
    q = rareopt.Portfolio.from_yaml(str(path))
    assert q.criticality == Criticality("JP", {"CN": -0.5, "AU": 1.5, "JP": 1.3}, {})
    summary = rareopt.solve(q).summary()
    assert "import reliance against JP" in summary and "hhi_wgi" in summary

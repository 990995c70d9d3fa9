"""Sourcing decisions beyond volumes: group caps and floors, contracts, HHI caps, concentrates,
projects. Each known optimum is derived by hand in the test's docstring."""

import pytest
from helpers import offer, supplier
from hypothesis import given, settings
from hypothesis import strategies as st

import rareopt


def three_countries(**policy):
    """Nd, 100 t in one period: A (CN) 50,000 USD/t, B (MM) 55,000, C (AU) 60,000; 100 t each."""
    return rareopt.Portfolio(
        periods=1,
        demand={"Nd": 100, "Dy": 10},
        suppliers=[supplier("A", "CN"), supplier("B", "MM"), supplier("C", "AU")],
        offers=[
            offer("A", "Nd", 50_000, 100),
            offer("B", "Nd", 55_000, 100),
            offer("C", "Nd", 60_000, 100),
            offer("A", "Dy", 250_000, 10),
            offer("C", "Dy", 300_000, 10),
        ],
        policy=policy,
    )


def volumes(result, element="Nd"):
    return result.plan.xs(element, level="element")["volume_t"].droplevel("period").to_dict()


def test_group_cap_limits_the_group_together():
    """CN+MM at most 70% of Nd: A takes 70 t (cheaper than B), C the other 30 t.
    Nd: 70 x 50,000 + 30 x 60,000 = 5,300,000 USD; Dy: C 3 t (30%), A 7 t = 2,650,000 USD."""
    group = {"group": "CN+MM", "countries": ["CN", "MM"], "max_share": 0.7}
    result = rareopt.solve(three_countries(group_caps=[group]))
    assert volumes(result) == pytest.approx({"A": 70, "B": 0, "C": 30})
    assert result.objective == pytest.approx(5_300_000 + 7 * 250_000 + 3 * 300_000)


def test_group_floor_for_one_element_overrides_the_general_floor():
    """Partners (AU) at least 10% of everything, 40% of Nd: Nd A 60, C 40 (5,400,000 USD);
    Dy A 9, C 1 (2,550,000 USD)."""
    floors = [
        {"group": "partners", "countries": ["AU"], "min_share": 0.1},
        {"group": "partners", "countries": ["AU"], "min_share": 0.4, "element": "Nd"},
    ]
    result = rareopt.solve(three_countries(group_floors=floors))
    assert volumes(result) == pytest.approx({"A": 60, "B": 0, "C": 40})
    assert volumes(result, "Dy") == pytest.approx({"A": 9, "C": 1})
    assert result.objective == pytest.approx(5_400_000 + 9 * 250_000 + 300_000)
    assert {"group floor", "group cap"} <= set(result.checks["check"])


def test_group_errors_name_the_row_and_field():
    with pytest.raises(rareopt.PortfolioError) as info:
        three_countries(group_caps=[{"countries": [], "max_share": 1.5}])
    text = str(info.value)
    assert "policy group caps" in text and "field countries: got ()" in text
    assert "field max_share: got 1.5; allowed: a number >= 0 and <= 1" in text


@settings(max_examples=15, deadline=None)
@given(loose=st.floats(0.35, 1.0), tighter_by=st.floats(0.0, 0.3))
def test_tightening_a_group_cap_never_lowers_cost(loose, tighter_by):
    def cost(share):
        group = {"countries": ["CN", "MM"], "max_share": share}
        return rareopt.solve(three_countries(group_caps=[group])).objective

    assert cost(max(loose - tighter_by, 0.0)) >= cost(loose) - 1e-6

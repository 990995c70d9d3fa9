"""Random one-field edits of a valid portfolio: refused, or kept exactly (issue 19).

An explicit value is never replaced by a default: a portfolio built from an edited file either
raises ``PortfolioError`` (a ``ValueError``) or holds exactly the value given.
"""

import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rareopt

BASE = yaml.safe_load(rareopt.load_example("tiny").to_yaml())

FIELDS = [
    ("offers", "price_usd_per_t"),
    ("offers", "freight_usd_per_t"),
    ("offers", "capacity_t"),
    ("suppliers", "risk_score"),
    ("stockpile", "initial_t"),
    ("stockpile", "holding_usd_per_t"),
    ("stockpile", "capacity_t"),
    ("stockpile", "target_days"),
]

VALUES = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, 1e20, "abc", "12", True, [1, 2]]),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.dictionaries(st.sampled_from(["a", "from"]), st.integers(0, 3), max_size=2),
)


def kept(portfolio, table, row, field, value) -> bool:
    """Whether ``portfolio`` holds ``value`` where the edit put it."""
    number = float(value)
    if table == "offers":
        key = (BASE["offers"][row]["supplier"], BASE["offers"][row]["element"])
        if field == "capacity_t":
            cap = portfolio.capacity.set_index(["supplier", "element"])["capacity_t"]
            return bool((cap.loc[[key]] == number).all())
        got = portfolio.offers.set_index(["supplier", "element"]).loc[key, field]
    elif table == "suppliers":
        got = portfolio.suppliers.set_index("supplier").loc[
            BASE["suppliers"][row]["supplier"], field
        ]
    else:
        element = BASE["stockpile"][row]["element"]
        if field == "target_days":
            days = portfolio.stock_target.set_index("element").loc[[element], "target_days"]
            return bool((days == number).all())
        got = portfolio.stockpile.set_index("element").loc[element, field]
    return float(got) == number


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIELDS), st.integers(0, 5), VALUES)
def test_an_edited_field_is_refused_or_kept_exactly(where, row, value):
    table, field = where
    spec = yaml.safe_load(yaml.safe_dump(BASE))
    row = row % len(spec[table])
    spec[table][row][field] = value
    try:
        portfolio = rareopt.Portfolio.from_dict(spec)
    except ValueError:  # PortfolioError included: refused, naming the field
        return
    assert kept(portfolio, table, row, field, value), (table, row, field, value)

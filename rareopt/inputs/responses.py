"""Demand response: substitution, thrifting and recycling that cut what must be bought.

After 2010 Japanese users cut rare-earth demand by more than 15% through substitution and
thrifting (some motors used about 40% less Dy), and recycled scrap. A ``responses`` row is one
such lever for one element:

- ``substitution`` or ``thrifting``: cuts the element's demand by up to ``max_share`` of each
  period's demand;
- ``recycling``: recovers up to ``capacity_t`` x ``yield`` t of the element a period from
  end-of-life scrap.

Each costs ``cost_usd_per_t`` per tonne of demand cut or recovered (money: redesign, substitute
materials, collection and processing), works ``lead_periods`` after it is decided, and with
``sticky`` stays once made: its share of demand (tonnes, for recycling) never falls afterwards.
``decision: plan`` is a first-stage investment, decided before any scenario, working from period
``lead_periods + 1``; ``decision: recourse`` is a response to a disruption, available in a
scenario from ``lead_periods`` after the element's first disrupted period (it cannot anticipate
the disruption).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rareopt.exceptions import ValidationIssue
from rareopt.inputs.tables import MAX_TONNES, is_number, table_frame

if TYPE_CHECKING:
    from rareopt.inputs.portfolio import Portfolio

__all__ = [
    "RESPONSE_KINDS",
    "RESPONSE_DECISIONS",
    "RESPONSE_FIELDS",
    "response_table",
    "response_limits",
    "response_issues",
]

RESPONSE_KINDS = ("substitution", "thrifting", "recycling")
"""What a response does: cut demand (substitution, thrifting) or recover scrap (recycling)."""
RESPONSE_DECISIONS = ("plan", "recourse")
"""When a response is decided: in the plan (first stage) or in a scenario (recourse)."""

_DEFAULTS: dict[str, Any] = {
    "max_share": np.nan,
    "capacity_t": np.nan,
    "yield": 1.0,
    "cost_usd_per_t": 0.0,
    "lead_periods": 0,
    "sticky": False,
    "decision": "plan",
}
RESPONSE_FIELDS = ("response", "element", "kind", *_DEFAULTS)
"""The fields of a ``responses`` row."""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def response_table(records: Any) -> pd.DataFrame:
    """Normalise response records (blank optional fields take their defaults).

    Examples
    --------
    >>> r = response_table([{"response": "Dy thrift", "element": "Dy", "kind": "thrifting",
    ...                      "max_share": 0.3, "cost_usd_per_t": 40000}])
    >>> r.at[0, "decision"], bool(r.at[0, "sticky"]), float(r.at[0, "yield"])
    ('plan', False, 1.0)
    """
    frame = table_frame(records, list(RESPONSE_FIELDS))
    for column in RESPONSE_FIELDS:
        default = _DEFAULTS.get(column)
        if column not in frame:
            frame[column] = [default] * len(frame)
        elif column in _DEFAULTS:
            frame[column] = [default if _blank(v) else v for v in frame[column]]
    for column in ("max_share", "capacity_t", "yield", "cost_usd_per_t", "lead_periods"):
        numeric = pd.to_numeric(frame[column], errors="coerce")
        booleans = frame[column].map(lambda v: isinstance(v, bool))
        # Numbers as float; anything else stays as given, for validation to name.
        if len(frame) and numeric.notna().eq(frame[column].notna()).all() and not booleans.any():
            frame[column] = numeric.astype(float)
    return frame[list(RESPONSE_FIELDS)].reset_index(drop=True)


def response_limits(portfolio: Portfolio, decision: str | None = None) -> pd.DataFrame:
    """Per response and period: the most it can cut or recover (t) and the first period it works.

    Columns response, element, kind, decision, period, limit_t (``max_share`` x that period's
    demand, or ``capacity_t`` x ``yield``), cost_usd_per_t, lead_periods, sticky; one row per
    response and period of the horizon, in responses-then-periods order. ``decision`` keeps
    those of one kind of decision.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> tiny = load_example("tiny").replace_tables(responses=[
    ...     {"response": "thrift", "element": "Dy", "kind": "thrifting", "max_share": 0.5}])
    >>> response_limits(tiny)["limit_t"].tolist()
    [5.0, 6.0, 5.0]
    """
    responses = portfolio.responses
    if decision is not None:
        responses = responses[responses["decision"] == decision]
    labels = portfolio.period_labels
    demand = portfolio.demand.set_index(["element", "period"])["demand_t"]
    rows = responses.merge(pd.DataFrame({"period": labels}), how="cross")
    cut = rows["kind"].isin(["substitution", "thrifting"]).to_numpy()
    need = demand.reindex(pd.MultiIndex.from_frame(rows[["element", "period"]])).fillna(0.0)
    rows["limit_t"] = np.where(
        cut,
        rows["max_share"].to_numpy(float) * need.to_numpy(float),
        rows["capacity_t"].to_numpy(float) * rows["yield"].to_numpy(float),
    )
    columns = [
        "response",
        "element",
        "kind",
        "decision",
        "period",
        "limit_t",
        "cost_usd_per_t",
        "lead_periods",
        "sticky",
    ]
    return rows[columns].reset_index(drop=True)


def response_issues(portfolio: Portfolio) -> list[ValidationIssue]:
    """Problems with the responses table, naming row and field.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> response_issues(load_example("tiny"))
    []
    """
    frame = portfolio.responses
    out: list[ValidationIssue] = []

    def add(label, field, value, allowed):
        where = f"row {label} (response={frame.at[label, 'response']})"
        out.append(ValidationIssue("responses", where, field, value, allowed))

    horizon = len(portfolio.period_labels)
    for label, row in frame.iterrows():
        if not isinstance(row["response"], str) or not row["response"]:
            add(label, "response", row["response"], "a name")
        if row["element"] not in portfolio.elements:
            add(
                label,
                "element",
                row["element"],
                f"an element of the demand table: {portfolio.elements}",
            )
        kind = row["kind"]
        if kind not in RESPONSE_KINDS:
            add(label, "kind", kind, f"one of {list(RESPONSE_KINDS)}")
        if row["decision"] not in RESPONSE_DECISIONS:
            add(label, "decision", row["decision"], f"one of {list(RESPONSE_DECISIONS)}")
        if kind in ("substitution", "thrifting"):
            share = row["max_share"]
            if not (is_number(share, finite=True) and 0 <= share <= 1):
                shown = "missing" if _blank(share) else share
                add(label, "max_share", shown, f"with kind {kind}, a number from 0 to 1")
            if not _blank(row["capacity_t"]):
                add(label, "capacity_t", row["capacity_t"], "only with kind recycling")
        elif kind == "recycling":
            capacity, rate = row["capacity_t"], row["yield"]
            if not (is_number(capacity, finite=True) and 0 <= capacity <= MAX_TONNES):
                add(
                    label,
                    "capacity_t",
                    "missing" if _blank(capacity) else capacity,
                    f"with kind recycling, a number from 0 to {MAX_TONNES:g} (t of scrap a period)",
                )
            if not (is_number(rate, finite=True) and 0 < rate <= 1):
                add(label, "yield", rate, "a number above 0 and at most 1")
            if not _blank(row["max_share"]):
                add(
                    label, "max_share", row["max_share"], "only with kind substitution or thrifting"
                )
        cost = row["cost_usd_per_t"]
        if not (is_number(cost, finite=True) and 0 <= cost <= 1e9):
            add(label, "cost_usd_per_t", cost, "a number from 0 to 1e9 (USD/t)")
        lead = row["lead_periods"]
        if not (is_number(lead, finite=True) and lead >= 0 and int(lead) == lead):
            add(label, "lead_periods", lead, "a whole number of periods >= 0")
        elif lead >= horizon:
            add(
                label, "lead_periods", int(lead), f"fewer than the {horizon} periods of the horizon"
            )
        if not isinstance(row["sticky"], (bool, np.bool_)):
            add(label, "sticky", row["sticky"], "true or false")
    names = frame["response"]
    for name in names[names.duplicated()].unique():
        out.append(
            ValidationIssue("responses", "rows", "response", name, "each response name once")
        )
    return out

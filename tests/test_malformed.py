"""Malformed portfolios: each case is one small change to the built-in ``tiny`` example.

Every malformed case must be refused by both entry points:

- Python: ``Portfolio.from_dict`` (``Portfolio.from_yaml`` for the YAML-level cases) raises
  ``PortfolioError`` (a plain ``ValueError`` only where the documentation says so: unknown top-level
  or policy keys, missing top-level keys, a bad ``freq``) whose message names the field (and the
  table or row where natural);
- the command line: ``rareopt validate file.yaml`` exits with ``EXIT_BAD_INPUT`` (2), without a
  traceback or an unhandled exception.

Explicit NaN is never a default: ``.nan`` in an optional field is an error, not "left out".
Misspelt field names are errors that name the misspelt field and suggest the right one.

Cases that could hang or exhaust memory (huge counts, an alias bomb, deep nesting) run in a
subprocess with a time and memory limit. What the documentation calls lenient is in
``test_lenient_input_loads`` and must load.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import rareopt
from rareopt.cli import EXIT_BAD_INPUT, app

NAN = float("nan")
INF = float("inf")
BASE: dict = yaml.safe_load(rareopt.load_example("tiny").to_yaml())
ISOLATED_TIMEOUT_S = 30
ISOLATED_MEMORY_BYTES = 4 << 30

runner = CliRunner()


# --- edits -------------------------------------------------------------------------------------


def _container(spec: Any, path: tuple) -> Any:
    for key in path[:-1]:
        spec = spec[key]
    return spec


def put(path: tuple, value: Any) -> Callable[[dict], None]:
    """Set the value at ``path`` (keys and list indexes)."""

    def edit(spec: dict) -> None:
        _container(spec, path)[path[-1]] = copy.deepcopy(value)

    return edit


def drop(path: tuple) -> Callable[[dict], None]:
    """Delete the key at ``path``."""

    def edit(spec: dict) -> None:
        del _container(spec, path)[path[-1]]

    return edit


def rename(path: tuple, new: str, value: Any = None) -> Callable[[dict], None]:
    """Rename the key at ``path`` to ``new`` (keeping its value unless one is given)."""

    def edit(spec: dict) -> None:
        row = _container(spec, path)
        old = row.pop(path[-1])
        row[new] = old if value is None else value

    return edit


def each(table: str, key: str, value: Any) -> Callable[[dict], None]:
    """Set ``key`` in every row of ``table``."""

    def edit(spec: dict) -> None:
        for row in spec[table]:
            row[key] = copy.deepcopy(value)

    return edit


def rename_each(table: str, old: str, new: str) -> Callable[[dict], None]:
    def edit(spec: dict) -> None:
        for row in spec[table]:
            row[new] = row.pop(old)

    return edit


def append(table: str, row: Any) -> Callable[[dict], None]:
    def edit(spec: dict) -> None:
        spec.setdefault(table, [])
        spec[table] = list(spec[table] or []) + [copy.deepcopy(row)]

    return edit


def duplicate(table: str, index: int = 0, **changes: Any) -> Callable[[dict], None]:
    """Append a copy of row ``index`` of ``table`` (with ``changes``)."""

    def edit(spec: dict) -> None:
        spec[table].append({**copy.deepcopy(spec[table][index]), **changes})

    return edit


def chain(*edits: Callable[[dict], None]) -> Callable[[dict], None]:
    def edit(spec: dict) -> None:
        for one in edits:
            one(spec)

    return edit


FACILITY = {
    "facility": "JP-Separator",
    "stage": "separation",
    "country": "JP",
    "capacity_t": 50,
    "yield": 0.9,
    "fee_usd_per_t": 1000,
    "elements": "*",
    "lead_periods": 0,
}
TRANSIT = {"element": "Nd", "period": "P1", "volume_t": 5}
CRITICALITY = {
    "home_country": "JP",
    "wgi": {"CN": -0.5, "AU": 1.5, "JP": 1.3},
    "trade": {"CN": 1.3},
}
CONCENTRATE = {
    "supplier": "AU-Lynas",
    "product": "concentrate",
    "price_usd_per_t": 4900,
    "capacity_t": 30,
    "composition": {"Nd": 0.2, "Dy": 0.01},
}
PROJECT = {"supplier": "JP-Recycling", "capital_usd": 1_000_000}


def with_facility(spec: dict) -> None:
    """A valid facility separating CN-Mine's Nd, which is now sold as mined feed."""
    spec["facilities"] = [copy.deepcopy(FACILITY)]
    spec["offers"][0]["stage"] = "mining"


def with_transit(spec: dict) -> None:
    spec["in_transit"] = [copy.deepcopy(TRANSIT)]


def with_criticality(spec: dict) -> None:
    spec["criticality"] = copy.deepcopy(CRITICALITY)


def with_concentrate(spec: dict) -> None:
    spec["concentrates"] = [copy.deepcopy(CONCENTRATE)]


def with_project(spec: dict) -> None:
    spec["projects"] = [copy.deepcopy(PROJECT)]


def facility(key: str, value: Any) -> Callable[[dict], None]:
    return chain(with_facility, put(("facilities", 0, key), value))


def transit(key: str, value: Any) -> Callable[[dict], None]:
    return chain(with_transit, put(("in_transit", 0, key), value))


def crit(*path_and_value: Any) -> Callable[[dict], None]:
    *path, value = path_and_value
    return chain(with_criticality, put(("criticality", *path), value))


def policy(key: str, value: Any) -> Callable[[dict], None]:
    return put(("policy", key), value)


CAP_ROW = {"supplier": "CN-Mine", "element": "Nd", "period": "P3", "capacity_t": 100}


def cap_row(**changes: Any) -> Callable[[dict], None]:
    return append("capacity", {**CAP_ROW, **changes})


def demand_records(spec: dict) -> None:
    """The demand as a long table of records (same numbers as tiny)."""
    rows = []
    for element, values in spec["demand"].items():
        values = values if isinstance(values, list) else [values] * 3
        for period, value in zip(("P1", "P2", "P3"), values):
            rows.append({"element": element, "period": period, "demand_t": value})
    spec["demand"] = rows


# --- cases -------------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    edit: Callable[[dict], None] | None  # a change to the tiny spec, or None for raw YAML text
    words: tuple  # each a word, or a tuple of alternatives, the message must contain
    yaml_text: str | None = None  # raw YAML (YAML-level cases): from_yaml and the CLI only
    plain_value_error: bool = False  # documented to raise a plain ValueError
    isolated: bool = False  # run in a subprocess with a time and memory limit


def C(case_id: str, edit: Callable[[dict], None], *words: Any, **kw: Any) -> Case:
    return Case(case_id, edit, words, **kw)


def Y(case_id: str, text: str, *words: Any, **kw: Any) -> Case:
    return Case(case_id, None, words, yaml_text=text, **kw)


def spec_of(case: Case) -> dict:
    spec = copy.deepcopy(BASE)
    result = case.edit(spec)
    return spec if result is None else result


def _tiny_text(without: tuple = ()) -> str:
    spec = {k: v for k, v in copy.deepcopy(BASE).items() if k not in without}
    return yaml.safe_dump(spec, sort_keys=False, width=200, default_flow_style=None)


def _replaced(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


TINY_TEXT = _tiny_text()
ALIAS_BOMB = "description:\n  - &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"  - &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")
)


PERIODS = [
    C("periods-text-abc", put(("periods",), "abc"), "periods"),
    C("periods-float", put(("periods",), 2.5), "periods"),
    C("periods-zero", put(("periods",), 0), "periods"),
    C("periods-negative", put(("periods",), -3), "periods"),
    C("periods-nan", put(("periods",), NAN), "periods"),
    C("periods-inf", put(("periods",), INF), "periods"),
    C("periods-bool", put(("periods",), True), "periods"),
    C("periods-null", put(("periods",), None), "periods"),
    C("periods-empty-list", put(("periods",), []), "periods"),
    C("periods-count-float", put(("periods",), {"count": 3.9}), "periods", "count"),
    C("periods-count-text", put(("periods",), {"count": "abc"}), "periods", "count"),
    C("periods-count-list", put(("periods",), {"count": [3]}), "periods", "count"),
    C("periods-count-bool", put(("periods",), {"count": True}), "periods", "count"),
    C("periods-count-zero", put(("periods",), {"count": 0}), "periods", "count"),
    C("periods-count-negative", put(("periods",), {"count": -2}), "periods", "count"),
    C("periods-mapping-without-count", put(("periods",), {"days": 30}), "periods", "count"),
    C("periods-days-zero", put(("periods",), {"count": 3, "days": 0}), "periods", "days"),
    C("periods-days-negative", put(("periods",), {"count": 3, "days": -30}), "periods", "days"),
    C("periods-days-nan", put(("periods",), {"count": 3, "days": NAN}), "periods", "days"),
    C("periods-days-inf", put(("periods",), {"count": 3, "days": INF}), "periods", "days"),
    C("periods-days-text", put(("periods",), {"count": 3, "days": "abc"}), "periods", "days"),
    C("periods-mapping-misspelt-dayz", put(("periods",), {"count": 3, "dayz": 30}), "dayz", "days"),
    C("periods-records-misspelt-dayz", rename_each("periods", "days", "dayz"), "dayz", "days"),
    C("periods-record-days-text", put(("periods", 1, "days"), "abc"), "periods", "days"),
    C("periods-record-days-nan", put(("periods", 1, "days"), NAN), "periods", "days"),
    C("periods-record-days-missing-in-one", drop(("periods", 1, "days")), "periods", "days"),
    C("periods-record-duplicate-label", put(("periods", 1, "period"), "P1"), "periods", "P1"),
    C("periods-labels-duplicate", put(("periods",), ["Q1", "Q1", "Q2"]), "periods", "Q1"),
    C("periods-label-empty", put(("periods",), ["", "P2", "P3"]), "period"),
    C(
        "periods-freq-week",
        put(("periods",), {"start": "2026-01", "count": 3, "freq": "week"}),
        "freq",
        plain_value_error=True,
    ),
    C("periods-start-text", put(("periods",), {"start": "abc", "count": 3}), "periods", "start"),
    C(
        "periods-count-huge",
        put(("periods",), {"count": 1_000_000_000}),
        "periods",
        "count",
        isolated=True,
    ),
    C("periods-number-huge", put(("periods",), 1_000_000_000), "periods", isolated=True),
]

DEMAND = [
    C("demand-nan", put(("demand", "Nd"), NAN), "demand", "Nd"),
    C("demand-inf", put(("demand", "Nd"), INF), "demand", "Nd"),
    C("demand-minus-inf", put(("demand", "Nd"), -INF), "demand", "Nd"),
    C("demand-negative", put(("demand", "Nd"), -1), "demand", "Nd"),
    C("demand-text-abc", put(("demand", "Nd"), "abc"), "demand", "Nd"),
    C("demand-mapping", put(("demand", "Nd"), {"a": 1}), "demand", "Nd"),
    C("demand-bool", put(("demand", "Nd"), True), "demand", "Nd"),
    C("demand-null", put(("demand", "Nd"), None), "demand", "Nd"),
    C("demand-huge-1e20", put(("demand", "Nd"), 1e20), "demand", "Nd"),
    C("demand-list-huge-1e20", put(("demand", "Dy"), [10, 1e20, 10]), "demand", "Dy"),
    C("demand-list-too-short", put(("demand", "Dy"), [10, 12]), "demand", "Dy"),
    C("demand-list-nan-item", put(("demand", "Dy"), [10, NAN, 10]), "demand", "Dy"),
    C("demand-list-inf-item", put(("demand", "Dy"), [10, INF, 10]), "demand", "Dy"),
    C("demand-list-text-item", put(("demand", "Dy"), [10, "abc", 10]), "demand", "Dy"),
    C("demand-list-nested-item", put(("demand", "Dy"), [10, [12], 10]), "demand", "Dy"),
    C("demand-empty-mapping", put(("demand",), {}), "demand"),
    C("demand-number", put(("demand",), 90), "demand"),
    C("demand-list-of-numbers", put(("demand",), [90, 10]), "demand"),
    C("demand-empty-element-name", put(("demand", ""), 5), "demand", "element"),
    C(
        "demand-records-misspelt-demnd_t",
        chain(demand_records, rename_each("demand", "demand_t", "demnd_t")),
        "demnd_t",
        "demand_t",
    ),
    C(
        "demand-records-duplicate-row",
        chain(demand_records, duplicate("demand", 0, demand_t=9000)),
        "demand",
        "Nd",
        "P1",
    ),
    C(
        "demand-records-unknown-period",
        chain(demand_records, put(("demand", 0, "period"), "P9")),
        "demand",
        "P9",
    ),
    C(
        "demand-records-missing-row",
        chain(demand_records, lambda s: s["demand"].pop()),
        "demand",
        "Dy",
        "P3",
    ),
    C(
        "demand-records-nan",
        chain(demand_records, put(("demand", 1, "demand_t"), NAN)),
        "demand",
        "demand_t",
    ),
    C(
        "demand-records-text",
        chain(demand_records, put(("demand", 1, "demand_t"), "abc")),
        "demand",
        "demand_t",
    ),
]

SUPPLIERS = [
    C("suppliers-row-without-country", drop(("suppliers", 0, "country")), "suppliers", "country"),
    C(
        "suppliers-all-without-country",
        chain(*(drop(("suppliers", i, "country")) for i in range(3))),
        "suppliers",
        "country",
    ),
    C("suppliers-row-without-kind", drop(("suppliers", 0, "kind")), "suppliers", "kind"),
    C("suppliers-row-without-name", drop(("suppliers", 0, "supplier")), "suppliers", "supplier"),
    C("suppliers-country-null", put(("suppliers", 0, "country"), None), "suppliers", "country"),
    C("suppliers-country-empty", put(("suppliers", 0, "country"), ""), "suppliers", "country"),
    C("suppliers-country-list", put(("suppliers", 0, "country"), ["CN"]), "suppliers", "country"),
    C(
        "suppliers-country-mapping",
        put(("suppliers", 0, "country"), {"a": 1}),
        "suppliers",
        "country",
    ),
    C(
        "suppliers-name-mapping",
        put(("suppliers", 0, "supplier"), {"a": 1}),
        "suppliers",
        "supplier",
    ),
    C("suppliers-duplicate-row", duplicate("suppliers", 0), "suppliers", "CN-Mine"),
    C(
        "suppliers-duplicate-name-other-country",
        duplicate("suppliers", 0, country="MM"),
        "suppliers",
        "CN-Mine",
    ),
    C("suppliers-risk-nan", put(("suppliers", 0, "risk_score"), NAN), "suppliers", "risk_score"),
    C(
        "suppliers-risk-nan-every-row",
        each("suppliers", "risk_score", NAN),
        "suppliers",
        "risk_score",
    ),
    C("suppliers-risk-inf", put(("suppliers", 0, "risk_score"), INF), "suppliers", "risk_score"),
    C(
        "suppliers-risk-negative",
        put(("suppliers", 0, "risk_score"), -0.1),
        "suppliers",
        "risk_score",
    ),
    C(
        "suppliers-risk-above-one",
        put(("suppliers", 0, "risk_score"), 1.5),
        "suppliers",
        "risk_score",
    ),
    C("suppliers-risk-text", put(("suppliers", 0, "risk_score"), "abc"), "suppliers", "risk_score"),
    C("suppliers-risk-list", put(("suppliers", 0, "risk_score"), [0.1]), "suppliers", "risk_score"),
    C(
        "suppliers-risk-mapping",
        put(("suppliers", 0, "risk_score"), {"a": 1}),
        "suppliers",
        "risk_score",
    ),
    C("suppliers-risk-bool", put(("suppliers", 0, "risk_score"), True), "suppliers", "risk_score"),
    C("suppliers-kind-unknown", put(("suppliers", 0, "kind"), "volcano"), "suppliers", "kind"),
    C("suppliers-kind-list", put(("suppliers", 0, "kind"), ["mine"]), "suppliers", "kind"),
    C("suppliers-not-a-list", put(("suppliers",), 5), "suppliers"),
    C("suppliers-row-not-a-mapping", put(("suppliers", 0), "CN-Mine"), "suppliers"),
]


def offer(key: str, value: Any, row: int = 0) -> Callable[[dict], None]:
    return put(("offers", row, key), value)


OFFERS = [
    C(
        "offers-row-without-price",
        drop(("offers", 0, "price_usd_per_t")),
        "offers",
        "price_usd_per_t",
    ),
    C(
        "offers-misspelt-prise",
        rename(("offers", 0, "price_usd_per_t"), "prise_usd_per_t"),
        "prise_usd_per_t",
        "price_usd_per_t",
    ),
    C(
        "offers-misspelt-prise-every-row",
        rename_each("offers", "price_usd_per_t", "prise_usd_per_t"),
        "prise_usd_per_t",
        "price_usd_per_t",
    ),
    C(
        "offers-misspelt-frieght",
        rename(("offers", 0, "freight_usd_per_t"), "frieght_usd_per_t", 100),
        "frieght_usd_per_t",
        "freight_usd_per_t",
    ),
    C(
        "offers-misspelt-frieght-every-row",
        rename_each("offers", "freight_usd_per_t", "frieght_usd_per_t"),
        "frieght_usd_per_t",
        "freight_usd_per_t",
    ),
    C(
        "offers-misspelt-capacity",
        rename(("offers", 0, "capacity_t"), "capcity_t"),
        "capcity_t",
        "capacity_t",
    ),
    C("offers-price-nan", offer("price_usd_per_t", NAN), "offers", "price_usd_per_t"),
    C("offers-price-inf", offer("price_usd_per_t", INF), "offers", "price_usd_per_t"),
    C("offers-price-negative", offer("price_usd_per_t", -1), "offers", "price_usd_per_t"),
    C("offers-price-text", offer("price_usd_per_t", "abc"), "offers", "price_usd_per_t"),
    C("offers-price-list", offer("price_usd_per_t", [50000]), "offers", "price_usd_per_t"),
    C("offers-price-mapping", offer("price_usd_per_t", {"a": 1}), "offers", "price_usd_per_t"),
    C("offers-price-bool", offer("price_usd_per_t", True), "offers", "price_usd_per_t"),
    C("offers-price-null", offer("price_usd_per_t", None), "offers", "price_usd_per_t"),
    C("offers-freight-nan", offer("freight_usd_per_t", NAN), "offers", "freight_usd_per_t"),
    C(
        "offers-freight-nan-every-row",
        each("offers", "freight_usd_per_t", NAN),
        "offers",
        "freight_usd_per_t",
    ),
    C("offers-freight-inf", offer("freight_usd_per_t", INF), "offers", "freight_usd_per_t"),
    C("offers-freight-negative", offer("freight_usd_per_t", -5), "offers", "freight_usd_per_t"),
    C("offers-freight-text", offer("freight_usd_per_t", "abc"), "offers", "freight_usd_per_t"),
    C("offers-freight-list", offer("freight_usd_per_t", [1, 2, 3]), "offers", "freight_usd_per_t"),
    C(
        "offers-freight-mapping",
        offer("freight_usd_per_t", {"a": 1}),
        "offers",
        "freight_usd_per_t",
    ),
    C(
        "offers-contract-fee-nan",
        offer("contract_usd_per_year", NAN),
        "offers",
        "contract_usd_per_year",
    ),
    C(
        "offers-contract-fee-nan-every-row",
        each("offers", "contract_usd_per_year", NAN),
        "offers",
        "contract_usd_per_year",
    ),
    C(
        "offers-contract-fee-negative",
        offer("contract_usd_per_year", -1000),
        "offers",
        "contract_usd_per_year",
    ),
    C(
        "offers-contract-fee-inf",
        offer("contract_usd_per_year", INF),
        "offers",
        "contract_usd_per_year",
    ),
    C(
        "offers-contract-fee-text",
        offer("contract_usd_per_year", "abc"),
        "offers",
        "contract_usd_per_year",
    ),
    C("offers-min-order-nan", offer("min_order_t", NAN), "offers", "min_order_t"),
    C(
        "offers-min-order-nan-every-row",
        each("offers", "min_order_t", NAN),
        "offers",
        "min_order_t",
    ),
    C("offers-min-order-negative", offer("min_order_t", -1), "offers", "min_order_t"),
    C("offers-min-order-inf", offer("min_order_t", INF), "offers", "min_order_t"),
    C("offers-min-order-text", offer("min_order_t", "abc"), "offers", "min_order_t"),
    C("offers-capacity-nan", offer("capacity_t", NAN), "offers", "capacity_t"),
    C("offers-capacity-negative", offer("capacity_t", -5), "offers", "capacity_t"),
    C("offers-capacity-minus-inf", offer("capacity_t", -INF), "offers", "capacity_t"),
    C("offers-capacity-text", offer("capacity_t", "abc"), "offers", "capacity_t"),
    C("offers-capacity-mapping", offer("capacity_t", {"a": 1}), "offers", "capacity_t"),
    C("offers-capacity-null", offer("capacity_t", None), "offers", "capacity_t"),
    C("offers-capacity-missing", drop(("offers", 0, "capacity_t")), "offers", "capacity_t"),
    C(
        "offers-capacity-list-too-long",
        offer("capacity_t", [1, 2, 3, 4]),
        "offers",
        ("capacity_t", "capacity, offers row"),
    ),
    C(
        "offers-capacity-list-nan-item",
        offer("capacity_t", [200, NAN, 200]),
        "offers",
        "capacity_t",
    ),
    C(
        "offers-capacity-list-negative-item",
        offer("capacity_t", [200, -1, 200]),
        "offers",
        "capacity_t",
    ),
    C(
        "offers-capacity-list-text-item",
        offer("capacity_t", [200, "abc", 200]),
        "offers",
        "capacity_t",
    ),
    C("offers-duplicate-row", duplicate("offers", 0), "offers", "CN-Mine", "Nd"),
    C(
        "offers-duplicate-other-price",
        duplicate("offers", 0, price_usd_per_t=1),
        "offers",
        "CN-Mine",
        "Nd",
    ),
    C("offers-unknown-supplier", offer("supplier", "AU-Lyns", row=2), "offers", "AU-Lyns"),
    C("offers-unknown-element", offer("element", "Xx"), "offers", "Xx"),
    C("offers-without-supplier", drop(("offers", 0, "supplier")), "offers", "supplier"),
    C("offers-without-element", drop(("offers", 0, "element")), "offers", "element"),
    C("offers-supplier-mapping", offer("supplier", {"a": 1}), "offers", "supplier"),
    C("offers-stage-unknown", offer("stage", "smelting"), "offers", "stage"),
    C("offers-stage-mining-without-facility", offer("stage", "mining"), "offers", "stage"),
    C("offers-lead-periods-negative", offer("lead_periods", -1), "offers", "lead_periods"),
    C("offers-lead-periods-float", offer("lead_periods", 1.5), "offers", "lead_periods"),
    C("offers-lead-periods-nan", offer("lead_periods", NAN), "offers", "lead_periods"),
    C("offers-empty", put(("offers",), []), "offer"),
    C("offers-not-a-list", put(("offers",), 5), "offers"),
]

CAPACITY = [
    C(
        "capacity-duplicate-row",
        chain(cap_row(), cap_row(capacity_t=50)),
        "capacity",
        "CN-Mine",
        "P3",
    ),
    C("capacity-unknown-period", cap_row(period="P9"), "capacity", "P9"),
    C("capacity-unknown-supplier", cap_row(supplier="XX-Nobody"), "capacity", "XX-Nobody"),
    C("capacity-unknown-element", cap_row(element="Xx"), "capacity", "Xx"),
    C("capacity-negative", cap_row(capacity_t=-5), "capacity", "capacity_t"),
    C("capacity-nan", cap_row(capacity_t=NAN), "capacity", "capacity_t"),
    C("capacity-minus-inf", cap_row(capacity_t=-INF), "capacity", "capacity_t"),
    C("capacity-text", cap_row(capacity_t="abc"), "capacity", "capacity_t"),
    C("capacity-list", cap_row(capacity_t=[1, 2, 3]), "capacity", "capacity_t"),
    C("capacity-bool", cap_row(capacity_t=True), "capacity", "capacity_t"),
    C(
        "capacity-row-without-capacity",
        append("capacity", {k: v for k, v in CAP_ROW.items() if k != "capacity_t"}),
        "capacity",
        "capacity_t",
    ),
    C(
        "capacity-row-without-period",
        append("capacity", {k: v for k, v in CAP_ROW.items() if k != "period"}),
        "capacity",
        "period",
    ),
    C(
        "capacity-misspelt-capcity_t",
        append(
            "capacity", {"supplier": "CN-Mine", "element": "Nd", "period": "P3", "capcity_t": 0}
        ),
        "capcity_t",
        "capacity_t",
    ),
    C("capacity-not-a-list", put(("capacity",), 5), "capacity"),
]


def stock(key: str, value: Any, row: int = 0) -> Callable[[dict], None]:
    return put(("stockpile", row, key), value)


STOCKPILE = [
    C("stockpile-initial-nan", stock("initial_t", NAN), "stockpile", "initial_t"),
    C(
        "stockpile-initial-nan-every-row",
        each("stockpile", "initial_t", NAN),
        "stockpile",
        "initial_t",
    ),
    C("stockpile-initial-negative", stock("initial_t", -5), "stockpile", "initial_t"),
    C("stockpile-initial-inf", stock("initial_t", INF), "stockpile", "initial_t"),
    C("stockpile-initial-text", stock("initial_t", "abc"), "stockpile", "initial_t"),
    C("stockpile-initial-list", stock("initial_t", [30]), "stockpile", "initial_t"),
    C("stockpile-initial-above-capacity", stock("initial_t", 500), "stockpile", "initial_t"),
    C("stockpile-holding-nan", stock("holding_usd_per_t", NAN), "stockpile", "holding_usd_per_t"),
    C(
        "stockpile-holding-nan-every-row",
        each("stockpile", "holding_usd_per_t", NAN),
        "stockpile",
        "holding_usd_per_t",
    ),
    C(
        "stockpile-holding-negative",
        stock("holding_usd_per_t", -1),
        "stockpile",
        "holding_usd_per_t",
    ),
    C("stockpile-holding-inf", stock("holding_usd_per_t", INF), "stockpile", "holding_usd_per_t"),
    C(
        "stockpile-holding-text",
        stock("holding_usd_per_t", "abc"),
        "stockpile",
        "holding_usd_per_t",
    ),
    C(
        "stockpile-misspelt-holding_usd_per_tonne",
        rename(("stockpile", 0, "holding_usd_per_t"), "holding_usd_per_tonne"),
        "holding_usd_per_tonne",
        "holding_usd_per_t",
    ),
    C(
        "stockpile-misspelt-holding-every-row",
        rename_each("stockpile", "holding_usd_per_t", "holding_usd_per_tonne"),
        "holding_usd_per_tonne",
        "holding_usd_per_t",
    ),
    C(
        "stockpile-misspelt-intial_t-every-row",
        rename_each("stockpile", "initial_t", "intial_t"),
        "intial_t",
        "initial_t",
    ),
    C("stockpile-target-nan", stock("target_days", NAN, row=1), "stockpile", "target_days"),
    C(
        "stockpile-target-nan-every-row",
        each("stockpile", "target_days", NAN),
        "stockpile",
        "target_days",
    ),
    C("stockpile-target-inf", stock("target_days", INF, row=1), "stockpile", "target_days"),
    C("stockpile-target-minus-inf", stock("target_days", -INF, row=1), "stockpile", "target_days"),
    C("stockpile-target-negative", stock("target_days", -15, row=1), "stockpile", "target_days"),
    C("stockpile-target-text", stock("target_days", "abc", row=1), "stockpile", "target_days"),
    C(
        "stockpile-target-list-too-short",
        stock("target_days", [20, 30]),
        "stockpile",
        "target_days",
    ),
    C(
        "stockpile-target-list-nan-item",
        stock("target_days", [20, NAN, 30]),
        "stockpile",
        "target_days",
    ),
    C(
        "stockpile-target-list-inf-item",
        stock("target_days", [20, INF, 30]),
        "stockpile",
        "target_days",
    ),
    C(
        "stockpile-target-mapping-not-ramp",
        stock("target_days", {"a": 1}),
        "stockpile",
        "target_days",
    ),
    C(
        "stockpile-ramp-periods-2.7",
        stock("target_days", {"from": 30, "to": 90, "periods": 2.7}),
        "target_days",
        "periods",
    ),
    C(
        "stockpile-ramp-periods-zero",
        stock("target_days", {"from": 30, "to": 90, "periods": 0}),
        "target_days",
        "periods",
    ),
    C(
        "stockpile-ramp-periods-text",
        stock("target_days", {"from": 30, "to": 90, "periods": "abc"}),
        "target_days",
        "periods",
    ),
    C(
        "stockpile-ramp-to-nan",
        stock("target_days", {"from": 30, "to": NAN, "periods": 2}),
        "target_days",
        "to",
    ),
    C(
        "stockpile-ramp-to-inf",
        stock("target_days", {"from": 30, "to": INF, "periods": 2}),
        "target_days",
        "to",
    ),
    C(
        "stockpile-ramp-from-negative",
        stock("target_days", {"from": -30, "to": 90, "periods": 2}),
        "target_days",
        "from",
    ),
    C(
        "stockpile-ramp-without-to",
        stock("target_days", {"from": 30, "periods": 2}),
        "target_days",
        "to",
    ),
    C(
        "stockpile-ramp-misspelt-perods",
        stock("target_days", {"from": 30, "to": 90, "perods": 2}),
        "perods",
        "periods",
    ),
    C("stockpile-capacity-nan", stock("capacity_t", NAN), "stockpile", "capacity_t"),
    C(
        "stockpile-capacity-nan-every-row",
        each("stockpile", "capacity_t", NAN),
        "stockpile",
        "capacity_t",
    ),
    C("stockpile-capacity-negative", stock("capacity_t", -10), "stockpile", "capacity_t"),
    C("stockpile-capacity-text", stock("capacity_t", "abc"), "stockpile", "capacity_t"),
    C(
        "stockpile-shortfall-penalty-nan",
        stock("shortfall_penalty_usd_per_t", NAN),
        "stockpile",
        "shortfall_penalty_usd_per_t",
    ),
    C(
        "stockpile-shortfall-penalty-negative",
        stock("shortfall_penalty_usd_per_t", -1),
        "stockpile",
        "shortfall_penalty_usd_per_t",
    ),
    C(
        "stockpile-shortfall-penalty-inf",
        stock("shortfall_penalty_usd_per_t", INF),
        "stockpile",
        "shortfall_penalty_usd_per_t",
    ),
    C(
        "stockpile-shortfall-penalty-text",
        stock("shortfall_penalty_usd_per_t", "abc"),
        "stockpile",
        "shortfall_penalty_usd_per_t",
    ),
    C("stockpile-duplicate-row", duplicate("stockpile", 1), "stockpile", "Dy"),
    C(
        "stockpile-duplicate-element-other-values",
        duplicate("stockpile", 1, initial_t=1),
        "stockpile",
        "Dy",
    ),
    C("stockpile-unknown-element", stock("element", "Xx", row=1), "stockpile", "Xx"),
    C("stockpile-row-without-element", drop(("stockpile", 1, "element")), "stockpile", "element"),
    C("stockpile-not-a-list", put(("stockpile",), 5), "stockpile"),
    C("stockpile-row-not-a-mapping", put(("stockpile", 1), "Dy"), "stockpile"),
]

CN_CAP = {"country": "CN", "element": "*", "max_share": 0.6}

POLICY = [
    C("policy-country-cap-above-one", policy("country_caps", {"CN": 1.5}), "max_share", "CN"),
    C("policy-country-cap-negative", policy("country_caps", {"CN": -0.1}), "max_share", "CN"),
    C("policy-country-cap-nan", policy("country_caps", {"CN": NAN}), "max_share", "CN"),
    C("policy-country-cap-text", policy("country_caps", {"CN": "abc"}), "max_share", "CN"),
    C("policy-country-cap-list-value", policy("country_caps", {"CN": [0.6]}), "max_share", "CN"),
    C(
        "policy-country-cap-record-extra-key",
        policy("country_caps", [{**CN_CAP, "maxshare": 0.5}]),
        "maxshare",
        "max_share",
    ),
    C(
        "policy-country-cap-record-misspelt-max_shar",
        policy("country_caps", [{"country": "CN", "element": "*", "max_shar": 0.6}]),
        "max_shar",
        "max_share",
    ),
    C(
        "policy-country-cap-record-misspelt-contry",
        policy("country_caps", [{"contry": "CN", "element": "*", "max_share": 0.6}]),
        "contry",
        "country",
    ),
    C(
        "policy-country-cap-duplicate-rows",
        policy("country_caps", [CN_CAP, {**CN_CAP, "max_share": 0.5}]),
        "country",
        "CN",
    ),
    C("policy-country-cap-and-alias", policy("country_cap", {"CN": 0.5}), "country_cap"),
    C(
        "policy-supplier-cap-record-extra-key",
        policy("supplier_caps", [{"supplier": "CN-Mine", "max_share": 0.5, "suplier": "CN-Mine"}]),
        "suplier",
        "supplier",
    ),
    C(
        "policy-supplier-cap-unknown-supplier",
        policy("supplier_caps", {"CN-Mien": 0.5}),
        "supplier",
        "CN-Mien",
    ),
    C("policy-supplier-cap-number-nan", policy("supplier_caps", NAN), "supplier", "max_share"),
    C("policy-supplier-cap-number-above-one", policy("supplier_caps", 2), "supplier", "max_share"),
    C("policy-cap-basis-unknown", policy("cap_basis", "month"), "cap_basis"),
    C(
        "policy-shortage-penalty-nan",
        policy("shortage_penalty_usd_per_t", NAN),
        "shortage_penalty_usd_per_t",
    ),
    C(
        "policy-shortage-penalty-inf",
        policy("shortage_penalty_usd_per_t", INF),
        "shortage_penalty_usd_per_t",
    ),
    C(
        "policy-shortage-penalty-negative",
        policy("shortage_penalty_usd_per_t", -1),
        "shortage_penalty_usd_per_t",
    ),
    C(
        "policy-shortage-penalty-text-abc",
        policy("shortage_penalty_usd_per_t", "abc"),
        "shortage_penalty_usd_per_t",
    ),
    # "1000000" stays text in the YAML file too ("1e6" would be read back as a number there)
    C(
        "policy-shortage-penalty-number-as-text",
        policy("shortage_penalty_usd_per_t", "1000000"),
        "shortage_penalty_usd_per_t",
    ),
    C(
        "policy-shortage-penalty-list",
        policy("shortage_penalty_usd_per_t", [1e6]),
        "shortage_penalty_usd_per_t",
    ),
    C(
        "policy-shortage-penalty-bool",
        policy("shortage_penalty_usd_per_t", True),
        "shortage_penalty_usd_per_t",
    ),
    C(
        "policy-target-penalty-nan",
        policy("target_shortfall_penalty_usd_per_t", NAN),
        "target_shortfall_penalty_usd_per_t",
    ),
    C(
        "policy-target-penalty-inf",
        policy("target_shortfall_penalty_usd_per_t", INF),
        "target_shortfall_penalty_usd_per_t",
    ),
    C(
        "policy-target-penalty-negative",
        policy("target_shortfall_penalty_usd_per_t", -1),
        "target_shortfall_penalty_usd_per_t",
    ),
    C("policy-risk-weight-nan", policy("risk_weight_usd_per_t", NAN), "risk_weight_usd_per_t"),
    C("policy-risk-weight-negative", policy("risk_weight_usd_per_t", -1), "risk_weight_usd_per_t"),
    C("policy-risk-weight-inf", policy("risk_weight_usd_per_t", INF), "risk_weight_usd_per_t"),
    C(
        "policy-priorities-cost-first",
        policy("priorities", ["cost", "demand", "stock_targets"]),
        "priorities",
    ),
    C(
        "policy-priorities-repeated",
        policy("priorities", ["demand", "demand", "cost"]),
        "priorities",
    ),
    C("policy-priorities-text", policy("priorities", "abc"), "priorities"),
    C("policy-hard-demand-text", policy("hard_demand", "yes please"), "hard_demand"),
    C("policy-hard-demand-number", policy("hard_demand", 2), "hard_demand"),
    C("policy-hard-stock-targets-text", policy("hard_stock_targets", "true"), "hard_stock_targets"),
    C(
        "policy-max-suppliers-negative",
        policy("max_suppliers_per_element", -1),
        "max_suppliers_per_element",
    ),
    C(
        "policy-max-suppliers-float",
        policy("max_suppliers_per_element", 1.5),
        "max_suppliers_per_element",
    ),
    C(
        "policy-max-suppliers-nan",
        policy("max_suppliers_per_element", NAN),
        "max_suppliers_per_element",
    ),
    C(
        "policy-min-countries-negative",
        policy("min_countries_per_element", -1),
        "min_countries_per_element",
    ),
    C(
        "policy-country-floor-share-above-one",
        policy("country_floor_share", 1.5),
        "country_floor_share",
    ),
    C("policy-country-floor-share-nan", policy("country_floor_share", NAN), "country_floor_share"),
    C("policy-hhi-cap-negative", policy("hhi_cap", -5), "hhi_cap"),
    C("policy-hhi-cap-above-10000", policy("hhi_cap", 20000), "hhi_cap"),
    C("policy-hhi-cap-nan", policy("hhi_cap", NAN), "hhi_cap"),
    C("policy-hhi-cap-unknown-element", policy("hhi_cap", {"Xx": 5000}), "hhi_cap", "Xx"),
    C("policy-hhi-tolerance-negative", policy("hhi_tolerance", -1), "hhi_tolerance"),
    C("policy-hhi-tolerance-nan", policy("hhi_tolerance", NAN), "hhi_tolerance"),
    C("policy-hhi-max-iterations-zero", policy("hhi_max_iterations", 0), "hhi_max_iterations"),
    C("policy-hhi-max-iterations-float", policy("hhi_max_iterations", 2.5), "hhi_max_iterations"),
    C("policy-discount-rate-nan", policy("discount_rate", NAN), "discount_rate"),
    C("policy-discount-rate-text", policy("discount_rate", "abc"), "discount_rate"),
    C("policy-salvage-nan", policy("salvage_usd_per_t", {"Nd": NAN}), "salvage_usd_per_t"),
    C("policy-salvage-text", policy("salvage_usd_per_t", {"Nd": "abc"}), "salvage_usd_per_t"),
    C("policy-salvage-not-a-mapping", policy("salvage_usd_per_t", 5), "salvage_usd_per_t"),
    C(
        "policy-group-cap-without-countries",
        policy("group_caps", [{"group": "east", "element": "*", "max_share": 0.5}]),
        "countries",
    ),
    C(
        "policy-group-cap-share-above-one",
        policy(
            "group_caps", [{"group": "east", "countries": ["CN"], "element": "*", "max_share": 2}]
        ),
        "max_share",
    ),
    C(
        "policy-group-floor-share-nan",
        policy(
            "group_floors",
            [{"group": "west", "countries": ["AU", "JP"], "element": "Nd", "min_share": NAN}],
        ),
        "min_share",
    ),
    C("policy-demand-stage-unknown", policy("demand_stage", "smelting"), "demand_stage"),
    C(
        "policy-stage-cap-unknown-stage",
        policy(
            "stage_caps", [{"country": "CN", "element": "*", "stage": "smelting", "max_share": 0.5}]
        ),
        "stage",
    ),
    C(
        "policy-unknown-key",
        policy("shortage_penalty", 5),
        "shortage_penalty",
        plain_value_error=True,
    ),
    C("policy-not-a-mapping", put(("policy",), 5), "policy"),
    C("policy-list", put(("policy",), [1, 2]), "policy"),
]

CRITICALITY_CASES = [
    C("criticality-trade-inf", crit("trade", {"CN": INF}), "trade", "CN"),
    C("criticality-trade-nan", crit("trade", {"CN": NAN}), "trade", "CN"),
    C("criticality-trade-negative", crit("trade", {"CN": -1}), "trade", "CN"),
    C("criticality-trade-text", crit("trade", {"CN": "abc"}), "trade", "CN"),
    C("criticality-trade-list", crit("trade", [1.3]), "trade"),
    C("criticality-wgi-nan", crit("wgi", "CN", NAN), "wgi", "CN"),
    C("criticality-wgi-out-of-range", crit("wgi", "CN", 3.0), "wgi", "CN"),
    C("criticality-wgi-text", crit("wgi", "CN", "abc"), "wgi", "CN"),
    C(
        "criticality-wgi-missing-country",
        chain(with_criticality, drop(("criticality", "wgi", "AU"))),
        "wgi",
        "AU",
    ),
    C("criticality-home-country-list", crit("home_country", ["JP"]), "home_country"),
    C("criticality-home-country-mapping", crit("home_country", {"a": 1}), "home_country"),
    C(
        "criticality-misspelt-wgii",
        chain(with_criticality, rename(("criticality", "wgi"), "wgii")),
        "wgii",
        "wgi",
    ),
    C("criticality-not-a-mapping", put(("criticality",), 5), "criticality"),
]

FACILITIES = [
    C("facilities-yield-zero", facility("yield", 0), "facilities", "yield"),
    C("facilities-yield-above-one", facility("yield", 1.5), "facilities", "yield"),
    C("facilities-yield-nan", facility("yield", NAN), "facilities", "yield"),
    C("facilities-yield-text", facility("yield", "abc"), "facilities", "yield"),
    C("facilities-capacity-nan", facility("capacity_t", NAN), "facilities", "capacity_t"),
    C("facilities-capacity-negative", facility("capacity_t", -5), "facilities", "capacity_t"),
    C("facilities-fee-negative", facility("fee_usd_per_t", -1), "facilities", "fee_usd_per_t"),
    C("facilities-fee-nan", facility("fee_usd_per_t", NAN), "facilities", "fee_usd_per_t"),
    C("facilities-stage-unknown", facility("stage", "smelting"), "facilities", "stage"),
    C(
        "facilities-without-country",
        chain(with_facility, drop(("facilities", 0, "country"))),
        "facilities",
        "country",
    ),
    C(
        "facilities-without-stage",
        chain(with_facility, drop(("facilities", 0, "stage"))),
        "facilities",
        "stage",
    ),
    C(
        "facilities-duplicate-row",
        chain(with_facility, duplicate("facilities", 0)),
        "facilities",
        "JP-Separator",
    ),
    C("facilities-elements-unknown", facility("elements", ["Xx"]), "facilities", "Xx"),
    C(
        "facilities-lead-periods-negative",
        facility("lead_periods", -1),
        "facilities",
        "lead_periods",
    ),
    C("facilities-lead-periods-float", facility("lead_periods", 1.5), "facilities", "lead_periods"),
    C(
        "facilities-misspelt-fee",
        chain(with_facility, rename(("facilities", 0, "fee_usd_per_t"), "feee_usd_per_t")),
        "feee_usd_per_t",
        "fee_usd_per_t",
    ),
]

IN_TRANSIT = [
    C("in_transit-volume-nan", transit("volume_t", NAN), "in_transit", "volume_t"),
    C("in_transit-volume-negative", transit("volume_t", -5), "in_transit", "volume_t"),
    C("in_transit-volume-inf", transit("volume_t", INF), "in_transit", "volume_t"),
    C("in_transit-volume-text", transit("volume_t", "abc"), "in_transit", "volume_t"),
    C("in_transit-unknown-period", transit("period", "P9"), "in_transit", "P9"),
    C("in_transit-unknown-element", transit("element", "Xx"), "in_transit", "Xx"),
    C(
        "in_transit-without-volume",
        chain(with_transit, drop(("in_transit", 0, "volume_t"))),
        "in_transit",
        "volume_t",
    ),
    C(
        "in_transit-misspelt-volumne_t",
        chain(with_transit, rename(("in_transit", 0, "volume_t"), "volumne_t")),
        "volumne_t",
        "volume_t",
    ),
    C("in_transit-not-a-list", put(("in_transit",), 5), "in_transit"),
]

CONCENTRATES_AND_PROJECTS = [
    C(
        "concentrates-composition-nan",
        chain(with_concentrate, put(("concentrates", 0, "composition", "Nd"), NAN)),
        "composition",
        "Nd",
    ),
    C(
        "concentrates-composition-sum-above-one",
        chain(with_concentrate, put(("concentrates", 0, "composition"), {"Nd": 0.8, "Dy": 0.5})),
        "composition",
    ),
    C(
        "concentrates-price-nan",
        chain(with_concentrate, put(("concentrates", 0, "price_usd_per_t"), NAN)),
        "concentrates",
        "price_usd_per_t",
    ),
    C(
        "projects-capital-nan",
        chain(with_project, put(("projects", 0, "capital_usd"), NAN)),
        "projects",
        "capital_usd",
    ),
    C(
        "projects-capital-negative",
        chain(with_project, put(("projects", 0, "capital_usd"), -1)),
        "projects",
        "capital_usd",
    ),
    C(
        "projects-unknown-supplier",
        chain(with_project, put(("projects", 0, "supplier"), "XX")),
        "projects",
        "XX",
    ),
]

TOP_LEVEL = [
    C("top-name-mapping", put(("name",), {"a": 1}), "name"),
    C("top-name-list", put(("name",), ["tiny"]), "name"),
    C("top-description-mapping", put(("description",), {"a": 1}), "description"),
    C("top-description-list", put(("description",), ["a", "b"]), "description"),
    C("top-sources-numbers", put(("sources",), [1, 2]), "sources"),
    C("top-sources-mappings", put(("sources",), [{"a": 1}]), "sources"),
    C("top-sources-number", put(("sources",), 5), "sources"),
    C("top-unknown-key-polciy", put(("polciy",), {}), "polciy", plain_value_error=True),
    C("top-missing-periods", drop(("periods",)), "periods", plain_value_error=True),
    C("top-missing-offers", drop(("offers",)), "offers", plain_value_error=True),
]

ALL_BUT_DESCRIPTION = _tiny_text(without=("description",))

YAML_LEVEL = [
    Y("yaml-two-policy-blocks", TINY_TEXT + "policy:\n  country_caps: {CN: 0.1}\n", "policy"),
    Y("yaml-two-periods-keys", TINY_TEXT + "periods: 12\n", "periods"),
    Y(
        "yaml-duplicate-demand-element",
        _replaced(TINY_TEXT, "demand:\n  Nd: 90\n", "demand:\n  Nd: 9000\n  Nd: 90\n"),
        "Nd",
    ),
    Y(
        "yaml-price-twice-in-offer",
        _replaced(
            TINY_TEXT, "price_usd_per_t: 50000,", "price_usd_per_t: 50000, price_usd_per_t: 5,"
        ),
        "price_usd_per_t",
    ),
    Y(
        "yaml-initial-twice-in-stock-row",
        _replaced(TINY_TEXT, "initial_t: 5,", "initial_t: 5, initial_t: 500,"),
        "initial_t",
    ),
    Y(
        "yaml-alias-bomb-in-description",
        ALL_BUT_DESCRIPTION + ALIAS_BOMB,
        "description",
        isolated=True,
    ),
    Y(
        "yaml-10000-nested-brackets",
        ALL_BUT_DESCRIPTION + "description: " + "[" * 10_000 + "]" * 10_000 + "\n",
        isolated=True,
    ),
    Y("yaml-file-holds-a-list", "- 1\n- 2\n", "mapping"),
    Y("yaml-file-empty", "", "periods"),
    Y("yaml-python-tag", TINY_TEXT + "x: !!python/object/apply:os.getcwd []\n"),
]

# Found by an independent fuzz of 560 variants (issue 19's done-when): each was accepted
# silently, or refused with a raw Python message.
FUZZ_FOUND = [
    C("periods-freq-without-start", put(("periods",), {"count": 3, "freq": "quarter"}), "freq"),
    C("policy-group-floor-empty-row", policy("group_floors", [{}]), "group_floors", "countries"),
    C("policy-group-cap-empty-row", policy("group_caps", [{}]), "group_caps", "countries"),
    C("policy-hhi-tolerance-inf", policy("hhi_tolerance", INF), "hhi_tolerance"),
    C(
        "policy-group-name-bool",
        policy("group_floors", [{"group": True, "countries": ["AU"], "min_share": 0.1}]),
        "group",
    ),
    C(
        "policy-group-countries-nested",
        policy("group_caps", [{"countries": [["CN"], "MM"], "max_share": 0.5}]),
        "countries",
    ),
    C(
        "policy-salvage-text-with-a-concentrate",
        chain(
            put(
                ("concentrates",),
                [
                    {
                        "supplier": "CN-Mine",
                        "product": "ore",
                        "price_usd_per_t": 100,
                        "capacity_t": 10,
                        "composition": {"Nd": 0.2},
                    }
                ],
            ),
            policy("salvage_usd_per_t", {"Nd": "abc"}),
        ),
        "salvage_usd_per_t",
    ),
    C(
        "projects-without-capital",
        put(("projects",), [{"supplier": "AU-Lynas"}]),
        "projects",
        "capital_usd",
    ),
    C(
        "projects-ramp-bool",
        put(("projects",), [{"supplier": "AU-Lynas", "capital_usd": 1e6, "ramp": [True, 1.0]}]),
        "ramp",
    ),
    C(
        "suppliers-near-miss-column",
        rename(("suppliers", 1, "risk_score"), "risks_core"),
        "risks_core",
        "risk_score",
    ),
    C("demand-missing-csv", put(("demand",), "abc"), "demand", "abc"),
]

CASES = (
    FUZZ_FOUND
    + PERIODS
    + DEMAND
    + SUPPLIERS
    + OFFERS
    + CAPACITY
    + STOCKPILE
    + POLICY
    + CRITICALITY_CASES
    + FACILITIES
    + IN_TRANSIT
    + CONCENTRATES_AND_PROJECTS
    + TOP_LEVEL
    + YAML_LEVEL
)
assert len({case.id for case in CASES}) == len(CASES), "case ids must be unique"


# --- running a case ------------------------------------------------------------------------------


_WORKER = r"""
import json, resource, sys, warnings
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
path, entry = sys.argv[1], sys.argv[2]
warnings.simplefilter("ignore")
if entry == "cli":
    from typer.testing import CliRunner
    from rareopt.cli import app
    r = CliRunner().invoke(app, ["validate", path])
    exc = r.exception if r.exception is not None and not isinstance(r.exception, SystemExit) else None
    out = {"exit_code": r.exit_code, "output": r.output[:20000],
           "exception": None if exc is None else f"{type(exc).__name__}: {str(exc)[:300]}"}
else:
    import yaml, rareopt
    try:
        if entry == "dict":
            with open(path) as handle:
                rareopt.Portfolio.from_dict(yaml.safe_load(handle))
        else:
            rareopt.Portfolio.from_yaml(path)
        out = {"raised": None}
    except BaseException as e:
        out = {"raised": type(e).__name__, "mro": [c.__name__ for c in type(e).__mro__],
               "message": str(e)[:20000]}
print(json.dumps(out))
"""


def _isolated(path: str, entry: str) -> dict:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _WORKER, path, entry, str(ISOLATED_MEMORY_BYTES)],
            capture_output=True,
            text=True,
            timeout=ISOLATED_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return {"timeout": True}
    if done.returncode != 0 or not done.stdout.strip():
        return {"crashed": f"worker exit {done.returncode}: {done.stderr[-600:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _file_of(case: Case, tmp_path) -> str:
    path = tmp_path / f"{case.id}.yaml"
    if case.yaml_text is not None:
        path.write_text(case.yaml_text, encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(spec_of(case), sort_keys=False), encoding="utf-8")
    return str(path)


def _python_outcome(case: Case, tmp_path) -> dict:
    if case.isolated:
        return _isolated(_file_of(case, tmp_path), "yaml" if case.yaml_text is not None else "dict")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if case.yaml_text is not None:
                rareopt.Portfolio.from_yaml(_file_of(case, tmp_path))
            else:
                rareopt.Portfolio.from_dict(spec_of(case))
    except Exception as exc:  # noqa: BLE001 - the type is what is checked
        return {
            "raised": type(exc).__name__,
            "mro": [c.__name__ for c in type(exc).__mro__],
            "message": str(exc),
        }
    return {"raised": None}


def _cli_outcome(case: Case, tmp_path) -> dict:
    path = _file_of(case, tmp_path)
    if case.isolated:
        return _isolated(path, "cli")
    result = runner.invoke(app, ["validate", path])
    exc = result.exception
    if exc is not None and isinstance(exc, SystemExit):
        exc = None
    return {
        "exit_code": result.exit_code,
        "output": result.output,
        "exception": None if exc is None else f"{type(exc).__name__}: {str(exc)[:300]}",
    }


def _mentions(message: str, word: Any) -> bool:
    alternatives = word if isinstance(word, tuple) else (word,)
    return any(alt.lower() in message.lower() for alt in alternatives)


def _no_answer(outcome: dict) -> str | None:
    if outcome.get("timeout"):
        return f"no answer within {ISOLATED_TIMEOUT_S} s (hangs or is very slow)"
    if outcome.get("crashed"):
        return f"the process died: {outcome['crashed']}"
    return None


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_python_refuses(case: Case, tmp_path) -> None:
    outcome = _python_outcome(case, tmp_path)
    problem = _no_answer(outcome)
    assert problem is None, problem
    assert outcome["raised"] is not None, "silently accepted"
    if case.yaml_text is not None:
        allowed = ("ValueError", "YAMLError")
    elif case.plain_value_error:
        allowed = ("ValueError",)
    else:
        allowed = ("PortfolioError",)
    message = outcome["message"]
    assert any(name in outcome["mro"] for name in allowed), (
        f"raised {outcome['raised']} (expected {' or '.join(allowed)}): {message[:300]}"
    )
    missing = [word for word in case.words if not _mentions(message, word)]
    assert not missing, f"message does not name {missing}: {message[:500]}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_cli_validate_refuses(case: Case, tmp_path) -> None:
    outcome = _cli_outcome(case, tmp_path)
    problem = _no_answer(outcome)
    assert problem is None, problem
    assert outcome["exception"] is None, f"unhandled {outcome['exception']}"
    assert outcome["exit_code"] == EXIT_BAD_INPUT, (
        f"exit code {outcome['exit_code']}: {outcome['output'][:300]}"
    )
    assert "Traceback" not in outcome["output"]


# --- documented as lenient: must load --------------------------------------------------------------


def _yaml_spec(tmp_path, spec: dict) -> tuple[str, dict | None]:
    path = tmp_path / "lenient.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return str(path), spec


def _csv_tables(tmp_path, suppliers_csv: str, offers_csv: str) -> str:
    spec = copy.deepcopy(BASE)
    (tmp_path / "suppliers.csv").write_text(suppliers_csv, encoding="utf-8")
    (tmp_path / "offers.csv").write_text(offers_csv, encoding="utf-8")
    spec["suppliers"] = "suppliers.csv"
    spec["offers"] = "offers.csv"
    return _yaml_spec(tmp_path, spec)[0], None


SUPPLIERS_CSV = (
    "supplier,country,kind,risk_score\nCN-Mine,CN,mine,0.6\nAU-Lynas,AU,mine,0.2\n"
    "JP-Recycling,JP,recycler,0\n"
)
OFFERS_CSV = (
    "supplier,element,price_usd_per_t,capacity_t,freight_usd_per_t\n"
    "CN-Mine,Nd,50000,200,0\nCN-Mine,Dy,250000,20,0\nAU-Lynas,Nd,60000,40,0\n"
    "AU-Lynas,Dy,300000,3,0\nJP-Recycling,Nd,70000,20,0\nJP-Recycling,Dy,350000,5,0\n"
)


def _edited(edit: Callable[[dict], None]) -> Callable[[Any], str]:
    def build(tmp_path) -> tuple[str, dict | None]:
        spec = copy.deepcopy(BASE)
        edit(spec)
        return _yaml_spec(tmp_path, spec)

    return build


LENIENT = [
    (
        "stockpile-row-without-initial",
        _edited(drop(("stockpile", 0, "initial_t"))),
        lambda p: p.stockpile["initial_t"].iloc[0] == 0,
    ),
    (
        "stockpile-capacity-null-in-one-row",
        _edited(stock("capacity_t", None)),
        lambda p: p.stockpile["capacity_t"].iloc[0] == float("inf"),
    ),
    ("sources-one-text", _edited(put(("sources",), "USGS")), lambda p: p.sources == ("USGS",)),
    ("period-count-as-text", _edited(put(("periods",), "3")), lambda p: len(p.periods) == 3),
    (
        "price-as-text-100",
        _edited(put(("offers", 0, "price_usd_per_t"), "100")),
        lambda p: p.offers["price_usd_per_t"].iloc[0] == 100,
    ),
    (
        "capacity-as-text-1e3",
        _edited(put(("offers", 0, "capacity_t"), "1e3")),
        lambda p: (
            p.capacity.query("supplier == 'CN-Mine' and element == 'Nd'")["capacity_t"] == 1000
        ).all(),
    ),
    (
        "demand-records-as-text",
        _edited(chain(demand_records, put(("demand", 0, "demand_t"), "1e2"))),
        lambda p: p.demand["demand_t"].iloc[0] == 100,
    ),
    (
        "initial-stock-as-text",
        _edited(put(("stockpile", 0, "initial_t"), "30")),
        lambda p: p.stockpile["initial_t"].iloc[0] == 30,
    ),
    ("offer-capacity-inf", _edited(put(("offers", 0, "capacity_t"), INF)), None),
    ("capacity-row-inf", _edited(cap_row(capacity_t=INF)), None),
    ("stockpile-capacity-inf", _edited(each("stockpile", "capacity_t", INF)), None),
    (
        "country-NA-yaml",
        _edited(put(("suppliers", 1, "country"), "NA")),
        lambda p: "NA" in list(p.suppliers["country"]),
    ),
    (
        "country-NA-csv",
        lambda t: _csv_tables(t, SUPPLIERS_CSV.replace(",AU,", ",NA,"), OFFERS_CSV),
        lambda p: "NA" in list(p.suppliers["country"]),
    ),
    (
        "blank-freight-csv-cell",
        lambda t: _csv_tables(
            t, SUPPLIERS_CSV, OFFERS_CSV.replace("AU-Lynas,Nd,60000,40,0", "AU-Lynas,Nd,60000,40,")
        ),
        lambda p: (p.offers["freight_usd_per_t"] == 0).all(),
    ),
    (
        "blank-risk-score-csv-cell",
        lambda t: _csv_tables(t, SUPPLIERS_CSV.replace("AU,mine,0.2", "AU,mine,"), OFFERS_CSV),
        lambda p: p.suppliers["risk_score"].iloc[1] == 0,
    ),
]


@pytest.mark.parametrize(
    ("build", "check"), [(b, c) for _, b, c in LENIENT], ids=[case_id for case_id, _, _ in LENIENT]
)
def test_lenient_input_loads(build, check, tmp_path) -> None:
    path, spec = build(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = [rareopt.Portfolio.from_yaml(path)]
        if spec is not None:  # the same mapping from Python, numbers as text unparsed
            loaded.append(rareopt.Portfolio.from_dict(copy.deepcopy(spec)))
    for portfolio in loaded:
        assert check is None or check(portfolio)
    result = runner.invoke(app, ["validate", path])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output

"""Read and write portfolios as one YAML file (large tables may be CSV files beside it).

Input is parsed with ``yaml.safe_load`` only: no tags, no code, nothing unpickled.
"""

from __future__ import annotations

import csv
import os
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from rareopt.exceptions import PortfolioError, ValidationIssue
from rareopt.inputs.concentrates import concentrate_records

if TYPE_CHECKING:
    from rareopt.inputs.portfolio import Portfolio

__all__ = [
    "read_arguments",
    "write_yaml",
    "portfolio_arguments",
    "portfolio_to_dict",
    "TOP_LEVEL_KEYS",
]

TOP_LEVEL_KEYS = (
    "name",
    "description",
    "sources",
    "periods",
    "demand",
    "suppliers",
    "offers",
    "capacity",
    "stockpile",
    "policy",
    "criticality",
    "concentrates",
    "projects",
    "facilities",
    "in_transit",
    "responses",
)
_CSV_TABLES = ("demand", "suppliers", "offers", "capacity", "stockpile")


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``2e6`` and ``1.5e-3`` as numbers.

    YAML 1.1, which PyYAML implements, needs a dot and a signed exponent (``2.0e+6``); analysts
    write ``2e6``, and reading it as text would only fail later in validation.
    """


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)

# Numbers as written, not YAML 1.1's readings: 010 is ten (not octal eight), and 1:30 is text
# (not the base-60 number 90), so a number field holding it is an error rather than a surprise.
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _NUMBER_TAGS]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9][0-9_]*|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _decimal_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """An int as written in decimal (leading zeros allowed), or hexadecimal with 0x."""
    text = str(loader.construct_scalar(node)).replace("_", "")
    return int(text, 16) if text.lstrip("+-").startswith("0x") else int(text, 10)


_Loader.add_constructor("tag:yaml.org,2002:int", _decimal_int)

MAX_YAML_DEPTH = 64
"""Deepest nesting of lists and mappings a YAML file may have (a portfolio needs about 5)."""
MAX_YAML_NODES = 1_000_000
"""Most values a YAML file may hold with its aliases expanded (a large portfolio has ~100,000)."""


class _StrictLoader(_Loader):
    """:class:`_Loader` that refuses duplicate keys, deep nesting and alias bombs.

    A key given twice would otherwise keep its last value silently (a second ``policy:`` block
    replacing the first); nesting and aliases are bounded so that a malformed or hostile file
    is refused at once instead of exhausting the stack or memory.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.YAMLError(
                    f"nesting deeper than {MAX_YAML_DEPTH} levels"
                    f" (line {self.peek_event().start_mark.line + 1})"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node: Any) -> Any:
        size = _expanded_size(node)
        if size > MAX_YAML_NODES:
            where = ""
            if isinstance(node, yaml.MappingNode):  # name the top-level key that holds most
                key, _ = max(node.value, key=lambda pair: _expanded_size(pair[1]))
                where = f" (most under {key.value!r}, line {key.start_mark.line + 1})"
            raise yaml.YAMLError(
                f"{size:,} values once its aliases are expanded{where}; at most {MAX_YAML_NODES:,}"
            )
        return super().construct_document(node)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, Any] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.YAMLError(
                    f"key {key!r} given twice in one mapping (lines {seen[key] + 1} and "
                    f"{key_node.start_mark.line + 1}); each key once"
                )
            if isinstance(key, (str, int, float, bool)):
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root: Any) -> int:
    """How many nodes ``root`` holds with every alias expanded (shared nodes counted each time)."""
    sizes: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            sizes[id(node)] = 1
            continue
        if children_done:
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_YAML_NODES:
                return sizes[id(node)]
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def load_yaml(handle: Any) -> Any:
    """Parse YAML strictly: safe types only, each key once, bounded nesting and aliases.

    Raises ``yaml.YAMLError`` naming the problem (and its line where there is one).

    Examples
    --------
    >>> load_yaml("demand: {Nd: 9000}")
    {'demand': {'Nd': 9000}}
    >>> load_yaml("demand: {Nd: 9000, Nd: 90}")
    Traceback (most recent call last):
    ...
    yaml.error.YAMLError: key 'Nd' given twice in one mapping (lines 1 and 1); each key once
    """
    return yaml.load(handle, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


def portfolio_arguments(spec: dict[str, Any], base_dir: str = ".") -> dict[str, Any]:
    """:class:`~rareopt.Portfolio` arguments from the mapping a YAML file holds.

    String tables name CSV files in ``base_dir``; unknown or missing top-level keys are errors.

    Examples
    --------
    >>> args = portfolio_arguments({"periods": 1, "demand": {"Nd": 10},
    ...     "suppliers": [{"supplier": "A", "country": "AU", "kind": "mine"}],
    ...     "offers": [{"supplier": "A", "element": "Nd", "price_usd_per_t": 1, "capacity_t": 20}]})
    >>> sorted(args)[:3]
    ['demand', 'description', 'offers']
    """
    if not isinstance(spec, dict):
        raise ValueError(f"a portfolio file must hold a mapping of {list(TOP_LEVEL_KEYS)}")
    unknown = sorted(set(spec) - set(TOP_LEVEL_KEYS))
    missing = [k for k in ("periods", "demand", "suppliers", "offers") if k not in spec]
    if unknown or missing:
        raise ValueError(
            "portfolio file: "
            + (f"unknown key(s) {unknown}; " if unknown else "")
            + (f"missing key(s) {missing}; " if missing else "")
            + f"allowed: {list(TOP_LEVEL_KEYS)}"
        )
    spec = dict(spec)
    for table in _CSV_TABLES:
        if isinstance(spec.get(table), str):
            if not spec[table].lower().endswith(".csv"):
                issue = ValidationIssue(
                    table,
                    "file",
                    table,
                    spec[table],
                    "a CSV file (.csv) next to the portfolio file; a workbook is read whole by "
                    "Portfolio.from_excel",
                )
                raise PortfolioError([issue])
            path = os.path.join(base_dir, spec[table])
            try:
                # Only an empty cell is missing: "NA" is Namibia's country code, not "not
                # available".
                spec[table] = pd.read_csv(path, keep_default_na=False, na_values=[""])
                _check_row_lengths(table, path)
            except FileNotFoundError:
                issue = ValidationIssue(
                    table,
                    "file",
                    table,
                    spec[table],
                    f"a CSV file next to the portfolio file ({path} does not exist), or the "
                    "table itself",
                )
                raise PortfolioError([issue]) from None
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                issue = ValidationIssue(
                    table, path, "file", first, "a CSV file (UTF-8) with a header row"
                )
                raise PortfolioError([issue]) from None
    spec["sources"] = spec.get("sources") or ()
    description = spec.get("description")
    spec["description"] = description.strip() if isinstance(description, str) else description or ""
    return spec


def _check_row_lengths(table: str, path: str) -> None:
    """Refuse a CSV row with fewer cells than the header, naming its line.

    pandas would read the missing last fields as blank, so as their defaults.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    width = len(rows[0]) if rows else 0
    for line, row in enumerate(rows[1:], start=2):
        if row and len(row) < width:
            issue = ValidationIssue(
                table,
                f"{path}, line {line}",
                "cells",
                len(row),
                f"one per column: {width} (leave a cell empty, not out, for a default)",
            )
            raise PortfolioError([issue])


def read_arguments(path: str) -> dict[str, Any]:
    """:class:`~rareopt.Portfolio` arguments from a portfolio YAML file (see ``Portfolio.from_yaml``).

    Examples
    --------
    >>> from rareopt.inputs.examples import example_path
    >>> read_arguments(example_path("tiny"))["name"]
    'tiny'
    """
    with open(path, encoding="utf-8") as handle:
        spec = load_yaml(handle)
    if spec is not None and not isinstance(spec, dict):
        raise ValueError(f"a portfolio file must hold a mapping of {list(TOP_LEVEL_KEYS)}")
    spec = dict(spec or {})
    spec.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    return portfolio_arguments(spec, base_dir=os.path.dirname(os.path.abspath(path)))


def _plain(value: Any) -> Any:
    """Python scalars YAML can write: numpy numbers to float or int (infinity stays .inf)."""
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return int(value) if value.is_integer() and abs(value) < 1e15 else value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _per_period(values: list) -> Any:
    """One number when every period has the same value, else the list."""
    values = [_plain(v) for v in values]
    return values[0] if len(set(values)) == 1 else values


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _group_records(groups: pd.DataFrame) -> list[dict]:
    return [{**row, "countries": list(row["countries"])} for row in _records(groups)]


def _stage_cap_records(caps: pd.DataFrame) -> list[dict]:
    """Stage caps as written: each names its holder by kind (country, supplier, group)."""
    out = []
    for row in _records(caps):
        by, holder, countries = row.pop("by"), row.pop("holder"), row.pop("countries")
        named = {by: holder} if by != "group" else {"group": holder, "countries": list(countries)}
        out.append({**named, **row})
    return out


def portfolio_to_dict(portfolio: Portfolio) -> dict[str, Any]:
    """The YAML mapping of a portfolio (the inverse of ``Portfolio.from_dict``).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> sorted(portfolio_to_dict(load_example("tiny")))[:3]
    ['demand', 'description', 'name']
    """
    labels = portfolio.period_labels
    order = {p: i for i, p in enumerate(labels)}

    def by_period(frame: pd.DataFrame, keys: list[str], value: str) -> dict:
        frame = frame.assign(_o=frame["period"].map(order)).sort_values("_o")
        groups = frame.groupby(keys if len(keys) > 1 else keys[0], sort=False)
        return {k: _per_period(g[value].tolist()) for k, g in groups}

    demand = by_period(portfolio.demand, ["element"], "demand_t")
    capacity = by_period(portfolio.capacity, ["supplier", "element"], "capacity_t")
    # Stage fields given on some offers only are blank on the others: leave them out there.
    offers = [
        {
            **{k: v for k, v in row.items() if v is not None and v == v},
            "capacity_t": capacity.get((row["supplier"], row["element"]), 0),
        }
        for row in _records(portfolio.offers)
    ]
    targets = by_period(portfolio.stock_target, ["element"], "target_days")
    # A blank shortfall penalty means "the policy's": leave it out rather than write .nan.
    stockpile = [
        {**{k: v for k, v in row.items() if v == v}, "target_days": targets.get(row["element"], 0)}
        for row in _records(portfolio.stockpile)
    ]
    policy = portfolio.policy
    spec: dict[str, Any] = {
        "name": portfolio.name,
        "description": portfolio.description,
        "sources": list(portfolio.sources),
        "periods": _records(portfolio.periods),
        "demand": demand,
        "suppliers": _records(portfolio.suppliers),
        "offers": offers,
        "stockpile": stockpile,
        "policy": {
            "country_caps": _records(policy.country_caps),
            "supplier_caps": _records(policy.supplier_caps),
            "cap_basis": policy.cap_basis,
            "shortage_penalty_usd_per_t": _plain(policy.shortage_penalty_usd_per_t),
            "target_shortfall_penalty_usd_per_t": _plain(policy.target_shortfall_penalty_usd_per_t),
            "risk_weight_usd_per_t": _plain(policy.risk_weight_usd_per_t),
            "priorities": (
                policy.priorities if isinstance(policy.priorities, str) else list(policy.priorities)
            ),
            "hard_demand": bool(policy.hard_demand),
            "hard_stock_targets": bool(policy.hard_stock_targets),
            "stage_caps": _stage_cap_records(policy.stage_caps),
            "demand_stage": policy.demand_stage,
            "group_caps": _group_records(policy.group_caps),
            "group_floors": _group_records(policy.group_floors),
            "max_suppliers_per_element": policy.max_suppliers_per_element,
            "min_countries_per_element": policy.min_countries_per_element,
            "country_floor_share": _plain(policy.country_floor_share),
            "hhi_cap": (
                {k: _plain(v) for k, v in policy.hhi_cap.items()}
                if isinstance(policy.hhi_cap, dict)
                else _plain(policy.hhi_cap)
            ),
            "stage_hhi_caps": _records(policy.stage_hhi_caps),
            "hhi_tolerance": _plain(policy.hhi_tolerance),
            "hhi_max_iterations": policy.hhi_max_iterations,
            "salvage_usd_per_t": {k: _plain(v) for k, v in policy.salvage_usd_per_t.items()},
            "discount_rate": _plain(policy.discount_rate),
            "release_rules": [
                {k: _plain(v) for k, v in row.items() if not (isinstance(v, float) and np.isnan(v))}
                for row in _records(policy.release_rules)
            ],
        },
    }
    if len(portfolio.concentrates):
        spec["concentrates"] = concentrate_records(portfolio)
    if len(portfolio.facilities):
        spec["facilities"] = [
            {
                **row,
                "elements": row["elements"]
                if isinstance(row["elements"], str)
                else list(row["elements"]),
            }
            for row in _records(portfolio.facilities)
        ]
    if len(portfolio.in_transit):
        spec["in_transit"] = _records(portfolio.in_transit)
    if len(portfolio.responses):
        spec["responses"] = [
            {k: v for k, v in row.items() if not (isinstance(v, float) and np.isnan(v))}
            for row in _records(portfolio.responses)
        ]
    if len(portfolio.projects):
        spec["projects"] = [
            {**row, "ramp": [float(v) for v in row["ramp"]]} for row in _records(portfolio.projects)
        ]
    settings = portfolio.criticality
    if settings.home_country is not None or settings.wgi or settings.trade:
        spec["criticality"] = {
            "home_country": settings.home_country,
            "wgi": {k: _plain(v) for k, v in settings.wgi.items()},
            "trade": {k: _plain(v) for k, v in settings.trade.items()},
        }
    return spec


def write_yaml(portfolio: Portfolio, path: str | None = None) -> str:
    """YAML text of a portfolio; written to ``path`` when given. Reads back to an equal portfolio.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> write_yaml(load_example("tiny")).startswith("name: tiny")
    True
    """
    text = yaml.safe_dump(
        portfolio_to_dict(portfolio),
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,
        width=100,
    )
    if path is not None:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return text

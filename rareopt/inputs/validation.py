"""Validation of a portfolio's tables: every problem found at once, in the analyst's terms.

Each problem names the table, the row (its label and key columns), the field, the bad value and
what is allowed. Errors reject the portfolio with :class:`~rareopt.exceptions.PortfolioError`;
warnings (probably a mistake, but solvable) are returned and kept on ``Portfolio.warnings``.
Validation does not change the portfolio it reads: it works on copies of the tables and returns
them typed (names as str, numbers as float) for the portfolio's factory to keep.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rareopt.exceptions import PortfolioError, ValidationIssue
from rareopt.inputs.concentrates import concentrate_issues
from rareopt.inputs.markets import contract_issues
from rareopt.inputs.projects import project_issues
from rareopt.inputs.releases import release_issues
from rareopt.inputs.responses import response_issues
from rareopt.inputs.stages import ANY_STAGE, STAGE_CAP_HOLDERS, STAGES, stage_issues
from rareopt.inputs.tables import (
    ALL,
    CAP_BASES,
    GOALS,
    MAX_TARGET_DAYS,
    MAX_TONNES,
    SOURCE,
    SUPPLIER_KINDS,
    WEIGHTED,
)

if TYPE_CHECKING:
    from rareopt.inputs.portfolio import Portfolio

__all__ = ["validate", "Validated", "criticality_issues", "TYPED_TABLES"]


class _Collector:
    """Accumulates issues for one table."""

    def __init__(self, issues: list[ValidationIssue], table: str, keys: Sequence[str] = ()):
        self.issues, self.table, self.keys = issues, table, list(keys)

    def row(self, frame: pd.DataFrame, label) -> str:
        keys = ", ".join(f"{k}={frame.at[label, k]}" for k in self.keys if k in frame)
        where = frame.at[label, SOURCE] if SOURCE in frame else None
        where = where if isinstance(where, str) else f"row {label}"
        where = where.removeprefix(f"{self.table} ")
        return where + (f" ({keys})" if keys else "")

    def add(self, row: str, field: str, value, allowed: str, severity: str = "error") -> None:
        issue = ValidationIssue(self.table, row, field, value, allowed, severity)
        if issue not in self.issues:
            self.issues.append(issue)

    def require_columns(self, frame: pd.DataFrame, columns: Sequence[str]) -> bool:
        missing = [c for c in columns if c not in frame]
        for column in missing:
            self.add("all rows", column, "missing column", f"a column named {column!r}")
        return not missing

    def labels(self, frame: pd.DataFrame, column: str) -> None:
        """Key columns: present, non-empty, stored as str."""
        for label, value in frame[column].items():
            if value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == "":
                self.add(self.row(frame, label), column, value, "a non-empty name")
            elif isinstance(value, (bool, np.bool_)):
                # YAML 1.1 reads unquoted NO (Norway), YES, ON, OFF as booleans.
                self.add(self.row(frame, label), column, value, "a name; quote codes such as 'NO'")
        frame[column] = frame[column].astype(str)

    def numbers(
        self,
        frame: pd.DataFrame,
        column: str,
        low: float = 0.0,
        high: float | None = None,
        allow_inf: bool = False,
        optional: bool = False,
    ) -> None:
        """A numeric column within [low, high] (blank allowed if optional); converted to float."""
        allowed = f"a number >= {low:g}" + (f" and <= {high:g}" if high is not None else "")
        allowed += " (.inf for unlimited)" if allow_inf else ""
        numeric = pd.to_numeric(frame[column], errors="coerce")
        for label, raw, value in zip(frame.index, frame[column], numeric):
            bad = (
                isinstance(raw, (bool, np.bool_))
                or (np.isnan(value) and not (optional and _blank(raw)))
                or (np.isinf(value) and not (allow_inf and value > 0))
                or value < low
                or (high is not None and value > high)
            )
            if bad:
                self.add(self.row(frame, label), column, raw, allowed)
        frame[column] = numeric.astype(float)

    def unique(self, frame: pd.DataFrame, columns: Sequence[str]) -> None:
        duplicated = frame.duplicated(list(columns), keep="first")
        for label in frame.index[duplicated]:
            key = ", ".join(str(frame.at[label, c]) for c in columns)
            self.add(self.row(frame, label), "+".join(columns), key, "each key once (duplicate)")

    def member(self, frame: pd.DataFrame, column: str, known: Sequence[str], what: str) -> None:
        known_set = set(known)
        for label, value in frame[column].items():
            if value not in known_set:
                self.add(self.row(frame, label), column, value, f"{what}: {_listing(known)}")


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _listing(values: Sequence[str], limit: int = 12) -> str:
    values = list(values)
    shown = ", ".join(map(str, values[:limit]))
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


TYPED_TABLES = (
    "periods",
    "demand",
    "suppliers",
    "offers",
    "capacity",
    "stockpile",
    "stock_target",
    "composition",
)
"""The tables validation returns typed (copies; the portfolio read is not changed)."""


@dataclass(frozen=True)
class Validated:
    """What :func:`validate` found: the warnings, and typed copies of :data:`TYPED_TABLES`."""

    warnings: list[ValidationIssue]
    tables: dict[str, pd.DataFrame]


def validate(
    portfolio: Portfolio,
    shape_issues: dict[str, pd.DataFrame],
    given: Sequence[ValidationIssue] = (),
) -> Validated:
    """Check every table of ``portfolio``; raise on errors, return (and warn) the warnings.

    Parameters
    ----------
    portfolio : Portfolio
        The portfolio being constructed, with its tables normalised.
    shape_issues : dict of DataFrame
        Rows whose per-period list had the wrong length, per table, found while normalising.
    given : sequence of ValidationIssue
        Problems of the tables as given (:mod:`rareopt.inputs.strict`), reported with the rest.

    Returns
    -------
    Validated
        ``warnings`` (ValidationIssue, warnings only) and ``tables``: copies of the portfolio's
        tables with names as str and numbers as float. The portfolio itself is not changed.

    Raises
    ------
    PortfolioError
        If any error was found; it lists all of them.

    Examples
    --------
    >>> from rareopt import Portfolio
    >>> Portfolio(periods=1, demand={"Nd": -1}, suppliers=[], offers=[])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rareopt.exceptions.PortfolioError: the portfolio has ... problem(s):
    ...
    """
    # The checks below convert columns as they pass; they work on copies of the tables.
    portfolio = copy.copy(portfolio)
    for name in TYPED_TABLES:
        object.__setattr__(portfolio, name, getattr(portfolio, name).copy())
    issues: list[ValidationIssue] = list(given)
    periods = portfolio.periods
    n_periods = len(periods)

    check = _Collector(issues, "periods", ["period"])
    if n_periods == 0:
        check.add("all rows", "period", "no periods", "at least one period")
    check.labels(periods, "period")
    check.unique(periods, ["period"])
    check.numbers(periods, "days", low=1e-9)
    labels = periods["period"].tolist()

    for table, bad in shape_issues.items():
        for record in bad.to_dict("records"):
            skip = (SOURCE, "length", "field")
            key = ", ".join(f"{k}={v}" for k, v in record.items() if k not in skip)
            _Collector(issues, table).add(
                f"{record[SOURCE].removeprefix(table + ' ')} ({key})",
                f"{record.get('field', 'value')} (per-period list)",
                f"{record['length']} values",
                f"one value per period: {n_periods} values",
            )

    demand = portfolio.demand
    check = _Collector(issues, "demand", ["element", "period"])
    if check.require_columns(demand, ["element", "period", "demand_t"]):
        check.labels(demand, "element")
        demand["period"] = demand["period"].astype(str)
        check.member(demand, "period", labels, "a period of the portfolio")
        check.unique(demand, ["element", "period"])
        check.numbers(demand, "demand_t", high=MAX_TONNES)
        for element, got in demand.groupby("element", sort=False)["period"]:
            missing = [p for p in labels if p not in set(got)]
            if missing:
                check.add(
                    f"element {element}",
                    "period",
                    f"no demand for {_listing(missing)}",
                    "one demand value per period",
                )
    # An element whose demand list had the wrong length is still a known element.
    misshapen = shape_issues.get("demand", pd.DataFrame()).get("element", [])
    elements = list(dict.fromkeys([*demand.get("element", []), *misshapen]))

    suppliers = portfolio.suppliers
    check = _Collector(issues, "suppliers", ["supplier"])
    if check.require_columns(suppliers, ["supplier", "country", "kind"]):
        check.labels(suppliers, "supplier")
        check.labels(suppliers, "country")
        check.unique(suppliers, ["supplier"])
        check.member(suppliers, "kind", SUPPLIER_KINDS, "one of")
        check.numbers(suppliers, "risk_score", high=1.0)
    supplier_names = suppliers.get("supplier", pd.Series(dtype=str)).tolist()

    offers = portfolio.offers
    check = _Collector(issues, "offers", ["supplier", "element"])
    if check.require_columns(offers, ["supplier", "element", "price_usd_per_t"]):
        check.labels(offers, "supplier")
        check.labels(offers, "element")
        check.member(offers, "supplier", supplier_names, "a supplier in the suppliers table")
        check.member(offers, "element", elements, "an element in the demand table")
        check.unique(offers, ["supplier", "element"])
        check.numbers(offers, "price_usd_per_t")
        check.numbers(offers, "freight_usd_per_t")
        check.numbers(offers, "contract_usd_per_year")
        check.numbers(offers, "min_order_t")
        mix = portfolio.composition
        bundled = pd.to_numeric(mix["share"], errors="coerce") > 0
        offered = set(offers["element"]) | set(mix.loc[bundled, "element"])
        demanded = portfolio.demand.groupby("element")["demand_t"].apply(
            lambda d: bool((pd.to_numeric(d, errors="coerce") > 0).any())
        )
        for element in elements:
            if element not in offered and demanded.get(element, True):
                check.add(
                    f"element {element}",
                    "element",
                    "demand but no offer",
                    "at least one offer or concentrate for every element with demand",
                )

    capacity = portfolio.capacity
    check = _Collector(issues, "capacity", ["supplier", "element"])
    if check.require_columns(capacity, ["supplier", "element", "period", "capacity_t"]):
        capacity["period"] = capacity["period"].astype(str)
        for column in ("supplier", "element"):
            capacity[column] = capacity[column].astype(str)
        check.member(capacity, "period", labels, "a period of the portfolio")
        check.unique(capacity, ["supplier", "element", "period"])
        check.numbers(capacity, "capacity_t", allow_inf=True)
        pairs = set(zip(offers.get("supplier", []), offers.get("element", [])))
        for label, s, e in zip(capacity.index, capacity["supplier"], capacity["element"]):
            if (s, e) not in pairs:
                check.add(
                    check.row(capacity, label),
                    "supplier+element",
                    f"{s}, {e}",
                    "a supplier and element that have an offer",
                )

    stockpile, targets = portfolio.stockpile, portfolio.stock_target
    check = _Collector(issues, "stockpile", ["element"])
    check.labels(stockpile, "element")
    check.member(stockpile, "element", elements, "an element in the demand table")
    check.unique(stockpile, ["element"])
    check.numbers(stockpile, "initial_t", high=MAX_TONNES)
    check.numbers(stockpile, "capacity_t", allow_inf=True)
    check.numbers(stockpile, "holding_usd_per_t")
    check.numbers(stockpile, "shortfall_penalty_usd_per_t", optional=True)
    over = stockpile["initial_t"] > stockpile["capacity_t"]
    for label in stockpile.index[over.fillna(False)]:
        check.add(
            check.row(stockpile, label),
            "initial_t",
            stockpile.at[label, "initial_t"],
            f"at most capacity_t = {stockpile.at[label, 'capacity_t']:g}",
        )
    targets["element"] = targets["element"].astype(str)
    _Collector(issues, "stockpile target", ["element", "period"]).numbers(
        targets, "target_days", high=MAX_TARGET_DAYS
    )

    _validate_policy(portfolio, issues, elements, supplier_names)

    issues += concentrate_issues(portfolio, list(supplier_names), elements)
    issues += project_issues(portfolio)
    issues += stage_issues(portfolio)
    issues += contract_issues(portfolio)
    issues += response_issues(portfolio)
    issues += release_issues(portfolio)
    rate = portfolio.policy.discount_rate
    if not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 <= rate < 1):
        _Collector(issues, "policy").add(
            "policy", "discount_rate", rate, "a number in [0, 1) per year"
        )
    for element, value in (portfolio.policy.salvage_usd_per_t or {}).items():
        check = _Collector(issues, "policy")
        if element not in elements:
            check.add(
                "salvage_usd_per_t", element, value, f"an element in the demand table: {elements}"
            )
        number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        if not number or not np.isfinite(value):
            check.add(
                "salvage_usd_per_t", element, value, "a finite number (USD/t; < 0: disposal cost)"
            )
    for issue in criticality_issues(portfolio.criticality, portfolio.countries):
        if issue not in issues:
            issues.append(issue)

    errors = [i for i in issues if i.severity == "error"]
    found = [i for i in issues if i.severity == "warning"]
    if errors:
        raise PortfolioError(errors + found)
    for issue in found:
        warnings.warn(str(issue), UserWarning, stacklevel=4)
    return Validated(found, {name: getattr(portfolio, name) for name in TYPED_TABLES})


def _validate_policy(
    portfolio: Portfolio,
    issues: list[ValidationIssue],
    elements: Sequence[str],
    supplier_names: Sequence[str],
) -> None:
    policy = portfolio.policy
    countries = set(portfolio.suppliers.get("country", []))
    for table, key, known in (
        ("country caps", "country", None),
        ("supplier caps", "supplier", [ALL, *supplier_names]),
    ):
        caps = getattr(policy, f"{key}_caps")
        check = _Collector(issues, f"policy {table}", [key, "element"])
        if not check.require_columns(caps, [key, "element", "max_share"]):
            continue
        check.labels(caps, key)
        check.labels(caps, "element")
        check.member(caps, "element", [ALL, *elements], "'*' or an element in the demand table")
        check.unique(caps, [key, "element"])
        check.numbers(caps, "max_share", high=1.0)
        if known is not None:
            check.member(caps, key, known, "'*' or a supplier in the suppliers table")
        else:
            for label, country in caps[key].items():
                if country not in countries:
                    check.add(
                        check.row(caps, label),
                        key,
                        country,
                        f"a country some supplier is in: {_listing(sorted(countries))} "
                        "(this cap has no effect)",
                        severity="warning",
                    )

    stage_caps = policy.stage_caps
    check = _Collector(issues, "policy stage caps", ["by", "holder", "element", "stage"])
    if len(stage_caps):
        named = stage_caps["by"].isin(STAGE_CAP_HOLDERS)
        for label in stage_caps.index[~named]:
            check.add(
                check.row(stage_caps, label),
                "country/supplier/group",
                stage_caps.at[label, "by"] or "none",
                "exactly one of country, supplier or group (a group with its countries)",
            )
        known = stage_caps[named]
        check.labels(known, "holder")
        groups = known[known["by"] == "group"]
        for label, members in groups["countries"].items():
            if not isinstance(members, tuple) or not members:
                check.add(check.row(known, label), "countries", members, "a list of countries")
        facility_names = list(portfolio.facilities["facility"])
        suppliers = known[known["by"] == "supplier"]
        check.member(
            suppliers,
            "holder",
            [ALL, *supplier_names, *facility_names],
            "'*', a supplier or a facility",
        )
        check.member(
            stage_caps, "element", [ALL, *elements], "'*' or an element in the demand table"
        )
        check.member(stage_caps, "stage", [*STAGES, ANY_STAGE], "one of")
        check.unique(stage_caps, ["by", "holder", "element", "stage"])
        check.numbers(stage_caps, "max_share", high=1.0)

    floors = policy.group_floors
    if "stage" in floors:
        at_stage = _Collector(issues, "policy group floors", ["group"])
        for label, stage in floors["stage"].items():
            if not (stage is None or (isinstance(stage, float) and np.isnan(stage))):
                at_stage.add(
                    at_stage.row(floors, label),
                    "stage",
                    stage,
                    "no stage: floors are on the sellers' countries (stages take caps only)",
                )
    named: dict = {}
    for table in ("group_caps", "group_floors"):
        groups = getattr(policy, table)
        for label, group, members in zip(groups.index, groups["group"], groups["countries"]):
            members = set(members) if isinstance(members, tuple) else members
            if named.setdefault(group, members) != members:
                _Collector(issues, f"policy {table.replace('_', ' ')}").add(
                    f"row {label} (group={group})",
                    "countries",
                    sorted(members),
                    f"the same countries as the group's other rows: {sorted(named[group])} "
                    "(or another group name)",
                )
    for table, share in (("group caps", "max_share"), ("group floors", "min_share")):
        groups = getattr(policy, table.replace(" ", "_"))
        check = _Collector(issues, f"policy {table}", ["group", "element"])
        for label, members in groups["countries"].items():
            ok = (
                isinstance(members, tuple)
                and members
                and all(isinstance(c, str) and c for c in members)
            )
            if not ok:
                check.add(
                    check.row(groups, label),
                    "countries",
                    members,
                    "a non-empty list of country codes (quote codes such as 'NO')",
                )
                continue
            for country in members:
                if country not in countries:
                    check.add(
                        check.row(groups, label),
                        "countries",
                        country,
                        f"a country some supplier is in: {_listing(sorted(countries))} (no effect)",
                        severity="warning",
                    )
        check.labels(groups, "element")
        check.member(groups, "element", [ALL, *elements], "'*' or an element in the demand table")
        check.unique(groups, ["group", "element"])
        check.numbers(groups, share, high=1.0)

    check = _Collector(issues, "policy")
    if policy.cap_basis not in CAP_BASES:
        check.add("policy", "cap_basis", policy.cap_basis, f"one of {list(CAP_BASES)}")
    for name in (
        "shortage_penalty_usd_per_t",
        "target_shortfall_penalty_usd_per_t",
        "risk_weight_usd_per_t",
    ):
        value = getattr(policy, name)
        ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        if not ok or not np.isfinite(value) or value < 0:
            check.add("policy", name, value, "a finite number >= 0 (USD per tonne)")
    for name in ("max_suppliers_per_element", "min_countries_per_element"):
        value = getattr(policy, name)
        whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        if value is not None and not (whole and value >= 1):
            check.add("policy", name, value, "a whole number >= 1, or null for no limit")
    caps = policy.hhi_cap
    items = caps.items() if isinstance(caps, dict) else [] if caps is None else [("*", caps)]
    for element, cap in items:
        number = isinstance(cap, (int, float, np.number)) and not isinstance(cap, bool)
        if not number or not 0 < cap <= 10_000:
            check.add("policy", f"hhi_cap {element}", cap, "an HHI from above 0 to 10,000")
        if element != "*" and element not in elements:
            check.add("policy", "hhi_cap", element, f"an element in the demand table: {elements}")
    stage_hhi = policy.stage_hhi_caps
    if len(stage_hhi):
        at = _Collector(issues, "policy stage HHI caps", ["element", "stage"])
        at.member(stage_hhi, "element", [ALL, *elements], "'*' or an element in the demand table")
        at.member(stage_hhi, "stage", list(STAGES), "one of")
        at.unique(stage_hhi, ["element", "stage"])
        at.numbers(stage_hhi, "max_hhi", high=10_000.0)
        for label, value in stage_hhi["max_hhi"].items():
            if isinstance(value, (int, float)) and value == 0:
                at.add(at.row(stage_hhi, label), "max_hhi", value, "an HHI from above 0 to 10,000")
    tolerance, rounds = policy.hhi_tolerance, policy.hhi_max_iterations
    if not (
        isinstance(tolerance, (int, float))
        and not isinstance(tolerance, bool)
        and 0 < tolerance <= 10_000
    ):
        check.add("policy", "hhi_tolerance", tolerance, "a number > 0 and <= 10,000 (HHI points)")
    if not (isinstance(rounds, int) and not isinstance(rounds, bool) and rounds >= 1):
        check.add("policy", "hhi_max_iterations", rounds, "a whole number >= 1")
    share = policy.country_floor_share
    if not (isinstance(share, (int, float)) and not isinstance(share, bool) and 0 < share <= 1):
        check.add("policy", "country_floor_share", share, "a number > 0 and <= 1")
    for name in ("hard_demand", "hard_stock_targets"):
        if not isinstance(getattr(policy, name), (bool, np.bool_)):
            check.add("policy", name, getattr(policy, name), "true or false")
    order = policy.priorities
    if order != WEIGHTED and not (
        isinstance(order, tuple)
        and sorted(map(str, order)) == sorted(GOALS)
        and order[-1] == "cost"
    ):
        check.add(
            "policy",
            "priorities",
            list(order) if isinstance(order, tuple) else order,
            f"'{WEIGHTED}', or the goals {list(GOALS)} each once, in order, with cost last",
        )


def criticality_issues(settings, countries: Sequence[str]) -> list[ValidationIssue]:
    """Problems with criticality settings (a :class:`~rareopt.inputs.portfolio.Criticality`).

    WGI scores must lie in [-2.5, 2.5] and, once any is given, cover every supplying country;
    trade parameters must be positive. Scores for countries no supplier is in are warnings.

    Parameters
    ----------
    settings : Criticality
        Home country, WGI scores and trade parameters.
    countries : sequence of str
        Countries of the suppliers.

    Returns
    -------
    list of ValidationIssue
        Errors and warnings, in table ``"criticality"``.

    Examples
    --------
    >>> from rareopt.inputs.portfolio import Criticality
    >>> [str(i) for i in criticality_issues(Criticality(wgi={"CN": -3}), ["CN", "AU"])][0]
    'criticality, wgi, field CN: got -3; allowed: a raw WGI score from -2.5 to 2.5'
    """
    issues: list[ValidationIssue] = []
    check = _Collector(issues, "criticality")
    home = settings.home_country
    if home is not None and (not isinstance(home, str) or not home):
        check.add("criticality", "home_country", home, "a country code, e.g. JP")
    for name, low, high, allowed in (
        ("wgi", -2.5, 2.5, "a raw WGI score from -2.5 to 2.5"),
        (
            "trade",
            0.0,
            np.inf,
            "a finite number > 0 (1.0 by default, 0.8 trade agreement, 1.1-1.5 restrictions)",
        ),
    ):
        values = getattr(settings, name)
        if not isinstance(values, Mapping):
            check.add("criticality", name, values, "a mapping of country to number")
            continue
        for country, value in values.items():
            number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
            finite = number and np.isfinite(value)
            if not finite or not (low <= value <= high) or (name == "trade" and value == 0):
                check.add(name, str(country), value, allowed)
            elif country not in countries:
                check.add(
                    name,
                    str(country),
                    value,
                    f"a country some supplier is in: {_listing(sorted(countries))} (no effect)",
                    severity="warning",
                )
        if name == "wgi" and values:
            missing = [c for c in dict.fromkeys(countries) if c not in values]
            for country in missing:
                check.add(name, country, "missing score", "a score for every supplying country")
    return issues

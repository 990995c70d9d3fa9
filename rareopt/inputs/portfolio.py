"""The sourcing portfolio: tidy tables of periods, demand, suppliers, offers, stockpile and policy.

A :class:`Portfolio` accepts the forms an analyst has at hand (DataFrames, lists of records, dicts of
numbers or per-period lists) and normalises them into long, tidy tables keyed by element, supplier,
country and period. Validation (:mod:`rareopt.inputs.validation`) runs on every construction and reports
every problem at once.

Units: tonnes of rare-earth oxide equivalent (t REO), US dollars (USD), USD per tonne, days.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rareopt.display import html_block
from rareopt.exceptions import PortfolioError, ValidationIssue
from rareopt.inputs.concentrates import concentrate_records, concentrate_tables
from rareopt.inputs.excel import located, read_workbook, write_workbook
from rareopt.inputs.io import portfolio_arguments, read_arguments, write_yaml
from rareopt.inputs.projects import project_table
from rareopt.inputs.releases import release_table
from rareopt.inputs.responses import response_table
from rareopt.inputs.stages import (
    DEFAULT_STAGE,
    SELLER,
    STAGE_CAP_HOLDERS,
    facility_table,
    in_transit_table,
)
from rareopt.inputs.strict import ROW_FIELDS, fields_allowed, nearest, raw_issues
from rareopt.inputs.tables import (
    ALL,
    CAP_BASES,
    GOALS,
    MAX_TARGET_DAYS,
    SOURCE,
    SUPPLIER_KINDS,
    TableLike,
    expand_per_period,
    table_frame,
)
from rareopt.inputs.validation import validate

PeriodsSpec = int | Mapping[str, Any] | Sequence[Any] | pd.DataFrame
"""How periods may be given: a count, {count, days} or {start, count, freq}, labels or records."""

__all__ = ["Portfolio", "Policy", "SUPPLIER_KINDS", "CAP_BASES", "ALL"]


_FREQ_ALIASES = {"month": "M", "quarter": "Q", "year": "Y"}

RAW_TABLES = (
    "demand",
    "suppliers",
    "offers",
    "capacity",
    "stockpile",
    "concentrates",
    "projects",
    "facilities",
    "in_transit",
    "responses",
)
"""The portfolio's tables checked as given (:mod:`rareopt.inputs.strict`)."""

MAX_PERIODS = 10_000
"""Most periods a horizon may have (about 830 years of months)."""


def _whole_count(value: Any) -> float | None:
    """``value`` as a number when it is one or text that reads as one, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _period_count(value: Any) -> int | None:
    """A count of periods from 1 to :data:`MAX_PERIODS` (text that reads as one too), else None."""
    number = _whole_count(value)
    if number is None or not np.isfinite(number) or number != int(number):
        return None
    return int(number) if 1 <= number <= MAX_PERIODS else None


def ramp(start_days: float, end_days: float, n_periods: int, total_periods: int) -> list[float]:
    """Linear stock-target path in days: ``start_days`` now, ``end_days`` from period ``n_periods`` on.

    Examples
    --------
    >>> ramp(60, 180, 4, 6)
    [90.0, 120.0, 150.0, 180.0, 180.0, 180.0]
    """
    steps = _period_count(n_periods)
    if steps is None:
        raise PortfolioError(
            [
                ValidationIssue(
                    "stockpile",
                    "target_days ramp",
                    "periods",
                    n_periods,
                    f"a whole number of periods from 1 to {MAX_PERIODS:,}",
                )
            ]
        )
    return [
        float(start_days + (end_days - start_days) * min(k, steps) / steps)
        for k in range(1, total_periods + 1)
    ]


def make_periods(spec: Any) -> pd.DataFrame:
    """Normalise a period specification into a table of ``period`` labels and lengths in ``days``.

    Parameters
    ----------
    spec : int, list, dict or DataFrame
        ``24`` (labels P1..P24 of 365/12 days); ``{"count": 4, "days": 91.25}``;
        ``{"start": "2026-01", "count": 24, "freq": "month"}`` (calendar lengths);
        a list of labels (365/12 days each) or of records ``{"period": ..., "days": ...}``;
        or a DataFrame with those two columns. A count is a whole number from 1 to
        :data:`MAX_PERIODS` (text that reads as one too).

    Raises
    ------
    PortfolioError
        Naming the field of ``periods`` that is wrong and what is allowed.

    Examples
    --------
    >>> make_periods({"start": "2026-01", "count": 2, "freq": "month"})["days"].tolist()
    [31.0, 28.0]
    """

    def bad(field: str, value: Any, allowed: str) -> PortfolioError:
        return PortfolioError([ValidationIssue("periods", "spec", field, value, allowed)])

    def unknown(keys: Any, known: list[str], what: str) -> PortfolioError | None:
        for key in keys:
            if key not in known:
                return bad(str(key), key, fields_allowed(what, str(key), known))
        return None

    counted = f"a whole number of periods from 1 to {MAX_PERIODS:,}"
    if isinstance(spec, pd.DataFrame):
        frame = spec.copy()
    elif _whole_count(spec) is not None:
        count = _period_count(spec)
        if count is None:
            raise bad("periods", spec, counted)
        frame = pd.DataFrame({"period": [f"P{k}" for k in range(1, count + 1)]})
    elif isinstance(spec, Mapping):
        error = unknown(spec, ["count", "days", "start", "freq"], "periods")
        if error is not None:
            raise error
        count = _period_count(spec.get("count"))
        if count is None:
            raise bad("count", spec.get("count"), counted)
        if "freq" in spec and "start" not in spec:
            raise bad("freq", spec["freq"], "a freq only with a start (calendar periods)")
        if "start" in spec:
            freq = str(spec.get("freq", "month"))
            if freq not in _FREQ_ALIASES:
                raise bad("freq", freq, f"one of {sorted(_FREQ_ALIASES)}")
            try:
                index = pd.period_range(str(spec["start"]), periods=count, freq=_FREQ_ALIASES[freq])
            except (ValueError, TypeError) as exc:
                allowed = f"a date such as 2026-01 or 2026Q1 ({exc})"
                raise bad("start", spec["start"], allowed) from None
            days = ((index + 1).start_time - index.start_time).days
            frame = pd.DataFrame({"period": index.astype(str), "days": days.astype(float)})
        else:
            labels = [f"P{k}" for k in range(1, count + 1)]
            frame = pd.DataFrame({"period": labels, "days": spec.get("days", 365.0 / 12)})
    elif isinstance(spec, (list, tuple)):
        items = list(spec)
        if not 1 <= len(items) <= MAX_PERIODS:
            raise bad("periods", f"{len(items)} periods", counted)
        if all(isinstance(v, Mapping) for v in items):
            for item in items:
                error = unknown(item, ["period", "days"], "a period record")
                if error is not None:
                    raise error
            frame = pd.DataFrame.from_records(items)
        else:
            wrong = [
                v for v in items if v is None or isinstance(v, (Mapping, list, tuple, float, bool))
            ]
            if wrong:
                allowed = "labels as text or whole numbers, or records {period, days}"
                raise bad("label", wrong[0], allowed)
            frame = pd.DataFrame({"period": items})
    else:
        allowed = (
            "a number of periods, a mapping {count, days} or {start, count, freq}, "
            "or a list of labels"
        )
        raise bad("periods", spec, allowed)
    if "days" not in frame:
        frame["days"] = 365.0 / 12
    frame = frame.reset_index(drop=True)
    frame["period"] = frame["period"].astype(str)
    return frame[["period", "days"]]


def _text_issues(name: Any, description: Any, sources: Any) -> list[ValidationIssue]:
    """The portfolio's name and description are text; its sources one text or a list of them."""
    issues = []
    for key, value in (("name", name), ("description", description)):
        if not isinstance(value, str):
            issues.append(ValidationIssue("portfolio", "file", key, value, "text"))
    listed = [sources] if isinstance(sources, str) else sources
    if not isinstance(listed, (list, tuple)) or not all(isinstance(s, str) for s in listed):
        issues.append(
            ValidationIssue("portfolio", "file", "sources", sources, "text or a list of texts")
        )
    return issues


def _demand_table(demand: Any, periods: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long demand table (element, period, demand_t) from a dict or a tidy DataFrame."""
    if isinstance(demand, Mapping):
        frame = pd.DataFrame({"element": list(demand), "demand_t": list(demand.values())})
        return expand_per_period(frame, "demand_t", ["element"], periods, "demand")
    frame = table_frame(demand, ["element", "period", "demand_t"])
    if "period" not in frame:
        return expand_per_period(frame, "demand_t", ["element"], periods, "demand")
    return frame, pd.DataFrame()


def _cap_table(caps: Any, key: str) -> pd.DataFrame:
    """Cap table (key, element, max_share) from a number, a dict ``{key: share}`` or records."""
    columns = [key, "element", "max_share"]
    if caps is None:
        return pd.DataFrame(columns=columns)
    if isinstance(caps, (int, float, np.number)) and not isinstance(caps, bool):
        return pd.DataFrame([{key: ALL, "element": ALL, "max_share": caps}], columns=columns)
    if isinstance(caps, Mapping):
        return pd.DataFrame(
            [{key: k, "element": ALL, "max_share": v} for k, v in caps.items()], columns=columns
        )
    frame = table_frame(caps, columns)
    if "element" not in frame:
        frame["element"] = ALL
    frame["element"] = frame["element"].fillna(ALL)
    if key not in frame:
        frame[key] = ALL
    return frame


_STAGE_CAP_COLUMNS = ["by", "holder", "countries", "element", "stage", "max_share"]


def _stage_cap_table(caps: Any) -> pd.DataFrame:
    """Stage caps (by, holder, countries, element, stage, max_share) from records.

    Each record names its holder with one of ``country``, ``supplier`` or ``group`` (a group
    with its ``countries``; the name defaults to them joined with '+'); ``by`` says which. A
    record naming none or several gets the names it gives joined with '/' as ``by``, for
    validation to report.
    """
    if caps is None or (isinstance(caps, pd.DataFrame) and caps.empty):
        return pd.DataFrame(columns=_STAGE_CAP_COLUMNS)
    frame = table_frame(caps, _STAGE_CAP_COLUMNS)
    if "by" in frame:  # already in this form (a policy's own table)
        return frame[_STAGE_CAP_COLUMNS].reset_index(drop=True)
    rows = []
    for record in frame.to_dict("records"):
        named = [k for k in STAGE_CAP_HOLDERS if not _blank_cell(record.get(k))]
        if "group" not in named and not _blank_cell(record.get("countries")):
            named.append("group")
        by = "/".join(named)
        countries = record.get("countries")
        countries = tuple(countries) if isinstance(countries, (list, tuple)) else None
        holder = record.get(by) if len(named) == 1 else None
        if by == "group" and _blank_cell(holder) and countries is not None:
            holder = "+".join(map(str, countries))
        element = record.get("element")
        rows.append(
            {
                **{k: v for k, v in record.items() if k not in (*STAGE_CAP_HOLDERS, "countries")},
                "by": by,
                "holder": holder,
                "countries": countries,
                "element": ALL if _blank_cell(element) else element,
                "stage": record.get("stage"),
                "max_share": record.get("max_share"),
            }
        )
    out = pd.DataFrame.from_records(rows)
    extra = [c for c in out.columns if c not in _STAGE_CAP_COLUMNS]
    return out[[*_STAGE_CAP_COLUMNS, *extra]]


def _blank_cell(value: Any) -> bool:
    """An absent cell: None, NaN or an empty string."""
    if value is None or (isinstance(value, str) and value == ""):
        return True
    return isinstance(value, float) and np.isnan(value)


def _split_staged(table: pd.DataFrame, key: str) -> tuple[pd.DataFrame, list[dict]]:
    """A cap table's rows without a stage, and the records of those with one (for stage caps)."""
    if "stage" not in table:
        return table, []
    staged = ~table["stage"].map(_blank_cell)
    records = [
        {k: v for k, v in r.items() if not (k == "group" and key != "group")}
        for r in table[staged].to_dict("records")
    ]
    return table[~staged].drop(columns="stage").reset_index(drop=True), records


_STAGE_HHI_COLUMNS = ["element", "stage", "max_hhi"]


def _split_hhi_caps(caps: Any) -> tuple[Any, list[dict]]:
    """An ``hhi_cap`` split by stage: a number or dict stays as it is.

    Records split into a dict of those without a stage (element -> max_hhi, element ``"*"`` by
    default) and the records with one.
    """
    if caps is None or isinstance(caps, (Mapping, int, float, np.number, str, bool)):
        return caps, []
    records = caps.to_dict("records") if isinstance(caps, pd.DataFrame) else list(caps)
    if not all(isinstance(r, Mapping) for r in records):
        return caps, []
    staged = [dict(r) for r in records if not _blank_cell(r.get("stage"))]
    plain = {
        (ALL if _blank_cell(r.get("element")) else r["element"]): r.get("max_hhi")
        for r in records
        if _blank_cell(r.get("stage"))
    }
    return (plain or None), staged


def _stage_hhi_table(caps: Any) -> pd.DataFrame:
    """HHI caps at a stage (element, stage, max_hhi) from records; element ``"*"`` by default."""
    if caps is None or (isinstance(caps, pd.DataFrame) and caps.empty):
        return pd.DataFrame(columns=_STAGE_HHI_COLUMNS)
    frame = table_frame(caps, _STAGE_HHI_COLUMNS)
    for column in _STAGE_HHI_COLUMNS:
        if column not in frame:
            frame[column] = None
    frame["element"] = [ALL if _blank_cell(e) else e for e in frame["element"]]
    extra = [c for c in frame.columns if c not in _STAGE_HHI_COLUMNS]
    return frame[[*_STAGE_HHI_COLUMNS, *extra]].reset_index(drop=True)


def _group_table(groups: Any, share: str) -> pd.DataFrame:
    """Group table (group, countries, element, ``share``) from records.

    The group name defaults to the countries joined with '+', the element to '*'.
    """
    columns = ["group", "countries", "element", share]
    if groups is None:
        return pd.DataFrame(columns=columns)
    frame = table_frame(groups, columns)
    for column in ("countries", share):
        if column not in frame:
            frame[column] = None
    frame["countries"] = [
        tuple(c) if isinstance(c, (list, tuple)) else c for c in frame["countries"]
    ]
    if "element" not in frame:
        frame["element"] = ALL
    frame["element"] = frame["element"].fillna(ALL)
    if "group" not in frame:
        frame["group"] = None
    frame["group"] = [
        g if isinstance(g, str) and g else "+".join(map(str, c)) if isinstance(c, tuple) else g
        for g, c in zip(frame["group"], frame["countries"])
    ]
    return frame[[*columns, *(["stage"] if "stage" in frame else [])]]


@dataclass(frozen=True, eq=False)
class Policy:
    """Procurement policy: concentration caps, penalties and how targets are enforced.

    Parameters
    ----------
    country_caps : DataFrame, dict or records
        Maximum share of each element's purchases from one country: ``{"CN": 0.5}`` for every
        element, or records ``{"country", "element", "max_share"}`` (element ``"*"`` = all). A cap
        for a named element overrides the ``"*"`` cap of the same country.
    supplier_caps : float, DataFrame, dict or records
        Maximum share of one supplier: a number for every supplier and element, or records
        ``{"supplier", "element", "max_share"}`` with ``"*"`` wildcards; the most specific wins.
    cap_basis : {"period", "horizon"}
        Caps hold in every period, or on the totals over the horizon.
    shortage_penalty_usd_per_t : float
        Cost of one tonne of unmet demand (USD/t).
    target_shortfall_penalty_usd_per_t : float
        Cost of one tonne of stock below its target, per period (USD/t per period).
    risk_weight_usd_per_t : float
        USD per tonne bought per unit of supplier risk score.
    priorities : sequence of str or "weighted"
        The order in which goals are met (default ``("demand", "stock_targets", "cost")``):
        each goal is optimised in turn and kept at its optimum while the later ones are, so no
        plan leaves demand unmet, or stock below target, while some plan avoids it. Within a goal
        the penalties weigh one element or period against another. ``"demand"`` and
        ``"stock_targets"`` may swap; ``"cost"`` comes last. ``"weighted"``: one objective, the
        penalties blended with the spend (see ``docs/formulation.md``, "Priorities").
    hard_demand : bool
        If true, demand must be met in full (no unmet demand); the model may then be infeasible.
    hard_stock_targets : bool
        If true, stock must reach its target in every period, without leaving demand unmet that
        a plan without targets would meet; the model may then be infeasible.
    stage_caps : records, optional
        Country caps at a processing stage: ``{"country": "CN", "element": "*", "stage":
        "separation", "max_share": 0.5}``; ``stage`` is mining, separation, metal, magnet or
        ``any`` (the share of tonnes that touch the country at any stage). A country cap record
        given with a ``stage`` is a stage cap (and those records replace ``stage_caps``). See
        :mod:`rareopt.inputs.stages`.
    demand_stage : str or dict
        The stage demand is at, for every element or ``{element: stage}``: ``separation``
        (separated oxide, the default), ``metal`` or ``magnet`` (or ``mining``).
    group_caps : records, optional
        Maximum share of each element's purchases from a group of countries:
        ``{"group": "CN+MM", "countries": ["CN", "MM"], "max_share": 0.6, "element": "*"}``.
    group_floors : records, optional
        Minimum share from a group: ``{"countries": ["AU", "IN"], "min_share": 0.1}``.
    max_suppliers_per_element : int, optional
        At most this many contracted suppliers per element (MIP).
    min_countries_per_element : int, optional
        At least this many countries each supplying ``country_floor_share`` or more of the
        element's purchases over the horizon (MIP).
    country_floor_share : float
        Share a country must reach to count towards ``min_countries_per_element`` (default 0.05).
    hhi_cap : float, dict or records, optional
        Cap on the HHI of each element's purchases by the sellers' countries (0-10,000; per
        element with a dict, ``"*"`` for the others), per period or over the horizon as
        ``cap_basis``; kept by tangent cuts. Records ``{"element", "stage", "max_hhi"}`` with a
        ``stage`` are stage HHI caps (and replace ``stage_hhi_caps``).
    stage_hhi_caps : records, optional
        Caps on the HHI of the countries doing a stage (mining, separation, metal, magnet), of
        the element's tonnes at that stage: ``{"element": "Dy", "stage": "separation",
        "max_hhi": 5000}`` (element ``"*"`` by default; a named element beats ``"*"``).
    hhi_tolerance : float
        HHI points a capped HHI may exceed its cap by when the cut loop stops (default 1).
    hhi_max_iterations : int
        Solves the cut loop may take (default 50).
    salvage_usd_per_t : dict, optional
        Per element, what a tonne of concentrate surplus fetches (USD/t; negative: a disposal
        cost); elements not named are disposed of at no cost.
    discount_rate : float
        Per year, applied to projects' capital costs (paid when construction starts).
    release_rules : records, optional
        How scenarios may draw on the stockpile, per element (``"*"`` by default):
        ``max_release_t`` or ``max_release_days`` (per period, beyond the plan's own draw),
        ``floor_days`` (kept outside emergencies) and ``trigger_share`` (release only when
        deliveries fall below this share); see :mod:`rareopt.inputs.releases`.

    Examples
    --------
    >>> Policy(country_caps={"CN": 0.5}, supplier_caps=0.3).country_caps.to_dict("records")
    [{'country': 'CN', 'element': '*', 'max_share': 0.5}]
    """

    country_caps: Any = None
    supplier_caps: Any = None
    cap_basis: str = "period"
    shortage_penalty_usd_per_t: float = 1.0e6
    target_shortfall_penalty_usd_per_t: float = 1.0e4
    risk_weight_usd_per_t: float = 0.0
    priorities: Any = GOALS
    hard_demand: bool = False
    hard_stock_targets: bool = False
    stage_caps: Any = None
    demand_stage: Any = DEFAULT_STAGE
    group_caps: Any = None
    group_floors: Any = None
    max_suppliers_per_element: int | None = None
    min_countries_per_element: int | None = None
    country_floor_share: float = 0.05
    hhi_cap: Any = None
    stage_hhi_caps: Any = None
    hhi_tolerance: float = 1.0
    hhi_max_iterations: int = 50
    salvage_usd_per_t: Any = None
    discount_rate: float = 0.0
    release_rules: Any = None

    def __post_init__(self) -> None:
        # Records as given (a policy's own tables are DataFrames): an explicit NaN or an unknown
        # field is an error, never a default or ignored.
        given = []
        for name in ROW_FIELDS:
            value = getattr(self, name, None)
            if isinstance(value, (list, tuple)):
                found = raw_issues(name, value).issues
                given += [replace(i, table=f"policy {name}") for i in found]
        if given:
            raise PortfolioError(given)
        # Cap records with a stage are stage caps; they replace the stage caps of their kind.
        stage_caps = _stage_cap_table(self.stage_caps)
        tables = {
            "country": _cap_table(self.country_caps, "country"),
            "supplier": _cap_table(self.supplier_caps, "supplier"),
            "group": _group_table(self.group_caps, "max_share"),
        }
        for by, table in tables.items():
            tables[by], staged = _split_staged(table, by)
            if staged:
                kept = stage_caps[stage_caps["by"] != by]
                stage_caps = pd.concat(
                    [kept, _stage_cap_table(staged)] if len(kept) else [_stage_cap_table(staged)],
                    ignore_index=True,
                )
        object.__setattr__(self, "country_caps", tables["country"])
        object.__setattr__(self, "supplier_caps", tables["supplier"])
        object.__setattr__(self, "group_caps", tables["group"])
        object.__setattr__(self, "stage_caps", stage_caps)
        if isinstance(self.demand_stage, Mapping):
            object.__setattr__(self, "demand_stage", dict(self.demand_stage))
        object.__setattr__(self, "group_floors", _group_table(self.group_floors, "min_share"))
        if isinstance(self.priorities, (list, tuple)):
            object.__setattr__(self, "priorities", tuple(self.priorities))
        hhi_cap, staged_hhi = _split_hhi_caps(self.hhi_cap)
        object.__setattr__(self, "hhi_cap", hhi_cap)
        object.__setattr__(
            self, "stage_hhi_caps", _stage_hhi_table(staged_hhi or self.stage_hhi_caps)
        )
        object.__setattr__(self, "release_rules", release_table(self.release_rules))
        salvage = self.salvage_usd_per_t
        object.__setattr__(
            self,
            "salvage_usd_per_t",
            dict(salvage) if isinstance(salvage, Mapping) else ({} if salvage is None else salvage),
        )

    def hhi_caps(self, elements: Sequence[str], stage: str = SELLER) -> dict[str, float]:
        """The HHI cap (0-10,000) of each element that has one, by sellers or at ``stage``.

        Examples
        --------
        >>> Policy(hhi_cap={"*": 5000, "Dy": 4000}).hhi_caps(["Nd", "Dy"])
        {'Nd': 5000.0, 'Dy': 4000.0}
        >>> Policy(stage_hhi_caps=[{"stage": "separation", "max_hhi": 6000}]).hhi_caps(
        ...     ["Nd"], "separation")
        {'Nd': 6000.0}
        """
        if stage == SELLER:
            caps = self.hhi_cap
            if caps is None:
                return {}
            if not isinstance(caps, Mapping):
                caps = {ALL: caps}
        else:
            at = self.stage_hhi_caps[self.stage_hhi_caps["stage"] == stage]
            caps = dict(zip(at["element"], at["max_hhi"]))
        out = {e: caps.get(e, caps.get(ALL)) for e in elements}
        return {e: float(v) for e, v in out.items() if v is not None}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any] | Policy | None) -> Policy:
        """Build a policy from the ``policy:`` mapping of a portfolio file.

        ``supplier_cap`` is accepted as an alias of ``supplier_caps`` and ``country_cap`` of
        ``country_caps`` (giving both is an error). Unknown keys raise ``ValueError`` naming the allowed
        keys.

        Examples
        --------
        >>> Policy.from_dict({"supplier_cap": 0.3}).supplier_caps["max_share"].tolist()
        [0.3]
        """
        if isinstance(spec, Policy):
            return spec
        spec = _settings(
            spec, "policy", set(cls.__dataclass_fields__) | {"supplier_cap", "country_cap"}
        )
        for alias in ("supplier_cap", "country_cap"):
            if alias in spec and alias + "s" in spec:
                issue = ValidationIssue(
                    "policy",
                    "file",
                    alias,
                    spec[alias],
                    f"both {alias} and {alias}s given: one of them",
                )
                raise PortfolioError([issue])
            if alias in spec:
                spec[alias + "s"] = spec.pop(alias)
        salvage = spec.get("salvage_usd_per_t")
        if salvage is not None and not isinstance(salvage, Mapping):
            allowed = "a mapping {element: USD/t}"
            raise PortfolioError(
                [ValidationIssue("policy", "file", "salvage_usd_per_t", salvage, allowed)]
            )
        return cls(**spec)


def _settings(spec: Any, what: str, allowed: set[str]) -> dict[str, Any]:
    """A settings mapping (``policy:``, ``criticality:``) with only known fields, as a dict.

    Raises :class:`PortfolioError` (a ``ValueError``) naming a spec that is not a mapping, or
    each unknown field with the allowed ones and a "did you mean".
    """
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        issue = ValidationIssue(what, "file", what, spec, "a mapping of settings")
        raise PortfolioError([issue])
    issues = []
    for key in spec:
        if key not in allowed:
            close = nearest(str(key), sorted(allowed))
            hint = f"did you mean {close}? " if close else ""
            issues.append(
                ValidationIssue(
                    what, "file", str(key), "unknown field", f"{hint}one of {sorted(allowed)}"
                )
            )
    if issues:
        raise PortfolioError(issues)
    return dict(spec)


@dataclass(frozen=True)
class Criticality:
    """What the criticality indicators need beyond the tables (see :mod:`rareopt.analysis.criticality`).

    Parameters
    ----------
    home_country : str, optional
        The buyer's own country: purchases from it count as domestic supply in net import reliance.
    wgi : dict, optional
        Raw World Governance Indicator score per country (-2.5 to 2.5, the World Bank's
        Worldwide Governance Indicators averaged over their six dimensions). rareopt ships no
        scores; with none given, the governance-weighted HHI is not computed.
    trade : dict, optional
        Trade parameter per country for the EU method: 1.0 by default, 0.8 with a trade
        agreement, 1.1 to 1.5 under export restrictions.

    Examples
    --------
    >>> Criticality.from_dict({"home_country": "JP", "trade": {"CN": 1.3}}).trade
    {'CN': 1.3}
    """

    home_country: str | None = None
    wgi: Mapping[str, float] = field(default_factory=dict)
    trade: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("wgi", "trade"):
            value = getattr(self, name)
            object.__setattr__(self, name, dict(value) if isinstance(value, Mapping) else value)

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any] | Criticality | None) -> Criticality:
        """Build the settings from the ``criticality:`` mapping of a portfolio file.

        Unknown keys raise ``ValueError`` naming the allowed keys.

        Examples
        --------
        >>> Criticality.from_dict(None).home_country is None
        True
        """
        if isinstance(spec, Criticality):
            return spec
        spec = _settings(spec, "criticality", set(cls.__dataclass_fields__))
        for key in ("wgi", "trade"):
            if spec.get(key) is not None and not isinstance(spec[key], Mapping):
                issue = ValidationIssue(
                    "criticality", "file", key, spec[key], "a mapping {country: number}"
                )
                raise PortfolioError([issue])
        return cls(**{k: v for k, v in spec.items() if v is not None})


@dataclass(frozen=True, eq=False)
class Portfolio:
    """A sourcing problem as tidy tables. Constructing one validates it.

    Parameters
    ----------
    periods : int, dict, list or DataFrame
        See :func:`make_periods`.
    demand : dict or DataFrame
        t REO per period: ``{"Nd": 500, "Dy": [40, 42, 44]}`` or a long table
        (element, period, demand_t).
    suppliers : DataFrame or records
        Columns supplier, country, kind (mine / processor / recycler / trader) and optional
        risk_score in [0, 1] (default 0).
    offers : DataFrame or records
        One row per supplier and element: price_usd_per_t, capacity_t (t per period, a number or a
        list with one value per period) and optional freight_usd_per_t (freight and tariffs, USD/t),
        contract_usd_per_year (fixed cost of contracting the offer at all, USD a year) and
        min_order_t (in each period, buy nothing or at least this many t). Either of the last two
        makes the model a MIP.
    capacity : DataFrame, optional
        Per-period capacities (supplier, element, period, capacity_t) that replace the offers'
        capacity_t for those rows.
    stockpile : DataFrame or records, optional
        One row per element: initial_t, target_days (a number, a list per period or
        ``{"from", "to", "periods"}`` ramp), capacity_t (None = unlimited), holding_usd_per_t
        (USD per tonne of end-of-period stock per period) and optional shortfall_penalty_usd_per_t
        (USD per tonne below target per period; blank = the policy's). Elements not listed hold no stock.
    policy : Policy or dict, optional
        Caps, penalties and options; see :class:`Policy`.
    name, description : str
        Labels shown in summaries.
    sources : list of str
        Where the numbers come from.
    criticality : Criticality or dict, optional
        Home country, WGI scores and trade parameters for the criticality indicators.
    concentrates : DataFrame or records, optional
        Co-produced products: supplier, product, price_usd_per_t and capacity_t (per t REO),
        optional freight_usd_per_t, and composition (element -> share of the REO); see
        :mod:`rareopt.inputs.concentrates`.
    projects : DataFrame or records, optional
        Suppliers that exist only if invested in: supplier, capital_usd, earliest_start (period
        label or number), build_periods, ramp (shares of capacity after coming on stream); see
        :mod:`rareopt.inputs.projects`.
    facilities : DataFrame or records, optional
        Processing plants that convert tonnes bought at an earlier stage: facility, stage
        (separation, metal or magnet), country, capacity_t (t of output per period, all elements
        together), yield, fee_usd_per_t (per t of output) and elements; with the offers' optional
        stage and origin fields (stage, mined_in, separated_in, metal_in, magnet_in). See
        :mod:`rareopt.inputs.stages`.
    in_transit : DataFrame or records, optional
        Shipments on their way at the start: element, period (when they arrive), volume_t. They
        arrive whatever happens (offers' ``lead_periods`` delay what is bought in the horizon).
    responses : DataFrame or records, optional
        Demand response: response, element, kind (substitution, thrifting or recycling),
        max_share (of demand) or capacity_t and yield (of scrap), cost_usd_per_t, lead_periods,
        sticky and decision (plan or recourse); see :mod:`rareopt.inputs.responses`.

    Raises
    ------
    PortfolioError
        Listing every problem found (table, row, field, value, what is allowed).

    Examples
    --------
    >>> p = Portfolio(
    ...     periods=2,
    ...     demand={"Nd": 100},
    ...     suppliers=[{"supplier": "A", "country": "CN", "kind": "mine"},
    ...                {"supplier": "B", "country": "AU", "kind": "mine"}],
    ...     offers=[{"supplier": "A", "element": "Nd", "price_usd_per_t": 50_000, "capacity_t": 200},
    ...             {"supplier": "B", "element": "Nd", "price_usd_per_t": 60_000, "capacity_t": 200}],
    ...     policy={"country_caps": {"CN": 0.6}},
    ... )
    >>> p.elements, p.period_labels
    (['Nd'], ['P1', 'P2'])
    """

    # Each table is given in any of the forms documented above and is a tidy DataFrame once the
    # portfolio is built (the constructor is the factory that normalises and validates them).
    periods: pd.DataFrame
    demand: pd.DataFrame
    suppliers: pd.DataFrame
    offers: pd.DataFrame
    capacity: pd.DataFrame = None  # type: ignore[assignment]
    stockpile: pd.DataFrame = None  # type: ignore[assignment]
    policy: Policy = None  # type: ignore[assignment]
    name: str = "portfolio"
    description: str = ""
    sources: tuple[str, ...] = ()
    criticality: Criticality | None = None
    concentrates: pd.DataFrame = None  # type: ignore[assignment]
    projects: pd.DataFrame = None  # type: ignore[assignment]
    facilities: pd.DataFrame = None  # type: ignore[assignment]
    in_transit: pd.DataFrame = None  # type: ignore[assignment]
    responses: pd.DataFrame = None  # type: ignore[assignment]
    warnings: tuple[ValidationIssue, ...] = field(default=(), compare=False)
    stock_target: pd.DataFrame = field(init=False, repr=False, compare=False)
    """Long table (element, period, target_days) derived from the stockpile's targets."""
    concentrate_capacity: pd.DataFrame = field(init=False, repr=False, compare=False)
    """Long table (supplier, product, period, capacity_t) of the concentrate offers."""
    composition: pd.DataFrame = field(init=False, repr=False, compare=False)
    """Long table (supplier, product, element, share) of the concentrate offers."""

    if TYPE_CHECKING:

        def __init__(
            self,
            periods: PeriodsSpec,
            demand: TableLike,
            suppliers: TableLike,
            offers: TableLike,
            capacity: TableLike = None,
            stockpile: TableLike = None,
            policy: Policy | Mapping[str, Any] | None = None,
            name: str = "portfolio",
            description: str = "",
            sources: tuple[str, ...] = (),
            criticality: Criticality | Mapping[str, Any] | None = None,
            concentrates: TableLike = None,
            projects: TableLike = None,
            facilities: TableLike = None,
            in_transit: TableLike = None,
            responses: TableLike = None,
            warnings: tuple[ValidationIssue, ...] = (),
        ) -> None: ...

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        # The tables as given, before any default fills a field in: an explicit NaN or an
        # unknown field is an error, never a default or ignored.
        found = [raw_issues(name, getattr(self, name)) for name in RAW_TABLES]
        given = [issue for f in found for issue in f.issues]
        given += _text_issues(self.name, self.description, self.sources)
        if any(f.blocking for f in found):
            raise PortfolioError(given)
        periods = make_periods(self.periods)
        labels = periods["period"].tolist()
        demand, bad_demand = _demand_table(self.demand, labels)
        suppliers = table_frame(self.suppliers, ["supplier", "country", "kind", "risk_score"])
        offers = table_frame(self.offers, ["supplier", "element", "price_usd_per_t", "capacity_t"])
        if "capacity_t" not in offers:
            offers["capacity_t"] = np.nan
        # Optional fields left blank in some rows take their documented default.
        for frame, column in (
            (suppliers, "risk_score"),
            (offers, "freight_usd_per_t"),
            (offers, "contract_usd_per_year"),
            (offers, "min_order_t"),
        ):
            frame[column] = frame[column].fillna(0.0) if column in frame else 0.0
        capacity, bad_capacity = expand_per_period(
            offers, "capacity_t", ["supplier", "element"], labels, "offers"
        )
        if self.capacity is not None:
            override = table_frame(self.capacity, ["supplier", "element", "period", "capacity_t"])
            override["period"] = override["period"].astype(str)
            keys = ["supplier", "element", "period"]
            capacity = pd.concat([override, capacity]).drop_duplicates(keys, keep="first")
            capacity = capacity.reset_index(drop=True)
        stockpile, stock_target, bad_target = _stockpile_tables(self.stockpile, labels)
        policy = Policy.from_dict(self.policy)
        set_("periods", periods)
        set_("demand", demand)
        set_("suppliers", suppliers)
        set_("offers", offers.drop(columns="capacity_t"))
        set_("capacity", capacity)
        set_("stockpile", stockpile)
        set_("stock_target", stock_target)
        set_("policy", policy)
        sources = self.sources or ()
        sources = (sources,) if isinstance(sources, str) else sources
        set_("sources", tuple(sources) if isinstance(sources, (list, tuple)) else ())
        set_("criticality", Criticality.from_dict(self.criticality))
        set_("projects", project_table(self.projects))
        set_("facilities", facility_table(self.facilities))
        set_("in_transit", in_transit_table(self.in_transit))
        set_("responses", response_table(self.responses))
        bundles = concentrate_tables(self.concentrates, labels)
        set_("concentrates", bundles["concentrates"])
        set_("concentrate_capacity", bundles["concentrate_capacity"])
        set_("composition", bundles["composition"])
        shape_issues = {
            "demand": bad_demand,
            "capacity": bad_capacity,
            "stockpile": bad_target,
            "concentrates": bundles["bad_capacity"],
        }
        validated = validate(self, shape_issues, given)
        for name, table in validated.tables.items():
            set_(name, table)
        set_("warnings", tuple(validated.warnings))
        for name in ("demand", "capacity", "stock_target", "concentrate_capacity", "composition"):
            set_(name, getattr(self, name).drop(columns=SOURCE, errors="ignore"))
        set_("concentrates", self.concentrates.drop(columns="_composition_ok"))
        set_("concentrate_capacity", self.concentrate_capacity.astype({"capacity_t": float}))
        set_("composition", self.composition.astype({"share": float}))

    @property
    def period_labels(self) -> list[str]:
        """Period labels in order."""
        return self.periods["period"].tolist()

    @property
    def elements(self) -> list[str]:
        """Elements in order of first appearance in the demand table."""
        return list(dict.fromkeys(self.demand["element"]))

    @property
    def countries(self) -> list[str]:
        """Countries of the suppliers, in order of first appearance."""
        return list(dict.fromkeys(self.suppliers["country"]))

    def supplier_country(self) -> pd.Series:
        """Country of each supplier, indexed by supplier name."""
        return self.suppliers.set_index("supplier")["country"]

    def with_policy(self, **changes: Any) -> Portfolio:
        """A copy with some policy fields changed (re-validated).

        Examples
        --------
        >>> from rareopt.inputs.examples import load_example
        >>> load_example("tiny").with_policy(country_caps={"CN": 0.4}).policy.country_caps["max_share"].tolist()
        [0.4]
        """
        return self.replace_tables(policy=replace(self.policy, **changes))

    def _swap_policy(self, policy: Policy) -> Portfolio:
        """A copy with ``policy`` in place, the tables not re-validated.

        For callers that have validated what they changed (a frontier's cap values); everything
        else should use :meth:`with_policy`.
        """
        out = copy.copy(self)
        object.__setattr__(out, "policy", policy)
        return out

    def replace_tables(self, **tables: Any) -> Portfolio:
        """A copy with some tables replaced (re-validated); e.g. ``offers=...``, ``suppliers=...``.

        A stockpile table without a ``target_days`` column (such as ``self.stockpile`` edited)
        keeps each element's current target path. Replacing ``offers`` without ``capacity``
        takes the capacities from the new offers.

        Examples
        --------
        >>> from rareopt.inputs.examples import load_example
        >>> p = load_example("tiny")
        >>> p.replace_tables(demand=p.demand.assign(demand_t=0.0)).demand["demand_t"].sum()
        np.float64(0.0)
        """
        base = {
            "periods": self.periods,
            "demand": self.demand,
            "suppliers": self.suppliers,
            "offers": self.offers,
            "capacity": self.capacity,
            "stockpile": self._with_target_paths(self.stockpile),
            "policy": self.policy,
            "name": self.name,
            "description": self.description,
            "sources": self.sources,
            "criticality": self.criticality,
            "concentrates": concentrate_records(self),
            "projects": self.projects,
            "facilities": self.facilities,
            "in_transit": self.in_transit,
            "responses": self.responses,
        }
        if "offers" in tables and "capacity" not in tables:
            base["capacity"] = None
        stockpile = tables.get("stockpile")
        if isinstance(stockpile, pd.DataFrame) and "target_days" not in stockpile:
            tables["stockpile"] = self._with_target_paths(stockpile)
        base.update(tables)
        return Portfolio(**base)

    def _with_target_paths(self, stockpile: pd.DataFrame) -> pd.DataFrame:
        """Stockpile rows with each element's per-period target list, the constructor's input form."""
        if stockpile.empty:
            return stockpile
        paths = self.stock_target.groupby("element", sort=False)["target_days"].agg(list)
        return stockpile.assign(target_days=stockpile["element"].map(paths).fillna(0.0))

    @classmethod
    def from_yaml(cls, path: str) -> Portfolio:
        """Read a portfolio from a YAML file (tables may be CSV files next to it).

        Examples
        --------
        >>> from rareopt.inputs.examples import example_path
        >>> Portfolio.from_yaml(example_path("tiny")).name
        'tiny'
        """
        return cls(**read_arguments(path))

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], base_dir: str = ".") -> Portfolio:
        """A portfolio from the mapping a YAML file holds; string tables name CSV files in ``base_dir``.

        Examples
        --------
        >>> p = Portfolio.from_dict({"periods": 1, "demand": {"Nd": 10},
        ...     "suppliers": [{"supplier": "A", "country": "AU", "kind": "mine"}],
        ...     "offers": [{"supplier": "A", "element": "Nd", "price_usd_per_t": 1, "capacity_t": 20}]})
        >>> p.elements
        ['Nd']
        """
        return cls(**portfolio_arguments(dict(spec), base_dir))

    def to_yaml(self, path: str | None = None) -> str:
        """Write the portfolio as YAML (returned as text; also written to ``path`` if given).

        Examples
        --------
        >>> from rareopt.inputs.examples import load_example
        >>> "offers:" in load_example("tiny").to_yaml()
        True
        """
        return write_yaml(self, path)

    @classmethod
    def from_excel(cls, path: str) -> Portfolio:
        """Read a portfolio from an Excel workbook: a sheet per table (see :meth:`to_excel`).

        Problems name the workbook, the sheet, the row as Excel numbers it and the column.
        Needs the ``excel`` extra (openpyxl).

        Examples
        --------
        >>> import os, tempfile
        >>> from rareopt.inputs.examples import load_example
        >>> path = load_example("tiny").to_excel(os.path.join(tempfile.mkdtemp(), "tiny.xlsx"))
        >>> Portfolio.from_excel(path).offers["price_usd_per_t"].tolist()[:2]
        [50000.0, 250000.0]
        """
        try:
            return cls(**read_workbook(path))
        except PortfolioError as exc:
            raise located(exc, path) from None

    def to_excel(self, path: str) -> str:
        """Write the portfolio as an Excel workbook that :meth:`from_excel` reads back the same.

        A sheet per table (periods, demand, suppliers, offers, capacity, stockpile, and any of
        concentrates, projects, facilities, in_transit, responses), and a ``settings`` sheet of
        name, description, sources, policy and criticality (lists and mappings as YAML text).
        The file is written whole or not at all. Returns ``path``.

        Examples
        --------
        >>> import os, tempfile
        >>> from rareopt.inputs.examples import load_example
        >>> path = load_example("tiny").to_excel(os.path.join(tempfile.mkdtemp(), "tiny.xlsx"))
        >>> path.endswith("tiny.xlsx")
        True
        """
        return write_workbook(self, path)

    def __repr__(self) -> str:
        return (
            f"Portfolio({self.name!r}: {len(self.elements)} elements, "
            f"{len(self.suppliers)} suppliers, {len(self.offers)} offers, "
            f"{len(self.periods)} periods)"
        )

    def _repr_html_(self) -> str:
        """In a notebook: what the portfolio holds, and per element its demand and offers."""
        labels = self.period_labels
        offers = self.offers.merge(self.suppliers[["supplier", "country"]], on="supplier")
        unit = offers["price_usd_per_t"] + offers["freight_usd_per_t"]
        per_element = pd.DataFrame(
            {
                "demand_t_over_horizon": self.demand.groupby("element", sort=False)[
                    "demand_t"
                ].sum(),
                "offers": offers.groupby("element", sort=False).size(),
                "countries": offers.groupby("element", sort=False)["country"].nunique(),
                "cheapest_usd_per_t": unit.groupby(offers["element"], sort=False).min(),
            }
        ).reindex(self.elements)
        lines = [
            f"{len(self.elements)} elements, {len(self.suppliers)} suppliers in "
            f"{len(self.countries)} countries, {len(self.offers)} offers; {len(labels)} periods "
            f"({labels[0]} .. {labels[-1]})",
        ]
        if self.description:
            lines.append(self.description.split(". ")[0].strip())
        return html_block(f"Portfolio {self.name}", lines, per_element)


def _ramp_of(spec: Mapping, n_periods: int, label: Any) -> list[float]:
    """A target ramp ``{from, to, periods}`` as per-period days; anything else is named."""
    fields = ["from", "to", "periods"]

    def bad(field: str, value: Any, allowed: str) -> PortfolioError:
        where = f"row {label}, target_days ramp"
        return PortfolioError([ValidationIssue("stockpile", where, field, value, allowed)])

    for key in spec:
        if key not in fields:
            raise bad(str(key), spec[key], fields_allowed("a ramp", str(key), fields))
    for key in fields:
        value = spec.get(key)
        number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        if key != "periods" and not (number and 0 <= value <= MAX_TARGET_DAYS):
            raise bad(key, value, f"a number of days from 0 to {MAX_TARGET_DAYS:g}")
    return ramp(spec["from"], spec["to"], spec["periods"], n_periods)


def _stockpile_tables(
    stockpile: Any, periods: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stockpile table (element, initial_t, capacity_t, holding and shortfall costs) and target path.

    A blank ``shortfall_penalty_usd_per_t`` means the policy's ``target_shortfall_penalty_usd_per_t``.
    """
    columns = [
        "element",
        "initial_t",
        "capacity_t",
        "holding_usd_per_t",
        "shortfall_penalty_usd_per_t",
    ]
    frame = table_frame(stockpile, [*columns, "target_days"])
    defaults = {
        "initial_t": 0.0,
        "capacity_t": np.inf,
        "holding_usd_per_t": 0.0,
        "shortfall_penalty_usd_per_t": np.nan,
        "target_days": 0.0,
    }
    if "element" not in frame:
        frame["element"] = np.nan  # validation names each row without one
    # Fields left out of a record, or blank in a CSV row, take their documented default.
    for column, default in defaults.items():
        frame[column] = frame[column].fillna(default) if column in frame else default
    frame["capacity_t"] = frame["capacity_t"].map(lambda v: np.inf if v is None else v)
    frame["target_days"] = [
        _ramp_of(v, len(periods), label) if isinstance(v, Mapping) else v
        for label, v in zip(frame.index, frame["target_days"])
    ]
    targets, bad = expand_per_period(frame, "target_days", ["element"], periods, "stockpile")
    return frame[columns], targets, bad

"""Disruption scenarios: what is cut, where, when, for how long, and how likely.

A :class:`Disruption` names a country (or ``"*"``, every country) or one supplier, the elements hit
(``"*"`` or a list), a start period, a duration in periods and the fraction of contracted volume
still delivered (0 = embargo). A :class:`Scenario` is a set of disruptions with a probability; a
:class:`ScenarioSet` holds scenarios whose probabilities sum to 1, plus the emergency (spot) market
terms of the recourse: ``spot_premium`` and ``spot_share``.

Sets come from Python or YAML (:meth:`ScenarioSet.from_yaml`), from :func:`generate_scenarios`
(per-country annual probabilities, independent or common-shock) and from the built-in library of
real events (:func:`event_scenarios`, data and sources in ``rareopt/data/events/disruptions.yaml``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import yaml

from rareopt.exceptions import ScenarioError, ValidationIssue
from rareopt.inputs.derived import DAYS_PER_YEAR, horizon_years
from rareopt.inputs.io import load_yaml
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.stages import STAGES
from rareopt.inputs.strict import fields_allowed
from rareopt.inputs.tables import ALL, is_number

__all__ = [
    "Disruption",
    "PriceShock",
    "Scenario",
    "ScenarioSet",
    "generate_scenarios",
    "event_scenarios",
    "list_events",
    "PROBABILITY_TOLERANCE",
]

PROBABILITY_TOLERANCE = 1e-6
"""How far the probabilities of a scenario set may sum from 1."""


def _whole(value: Any, least: int) -> bool:
    return is_number(value) and int(value) == value and value >= least


def window_profile(
    value: float | Sequence[float], duration: int | None, recovery: int, normal: float
) -> tuple[float, ...]:
    """The value in each period of an event from its start: its profile, then its recovery.

    A number lasts ``duration`` periods (default 1); a list is the profile itself. In the j-th of
    ``recovery`` periods after it the value climbs back towards ``normal`` in equal steps:
    ``last + (normal - last) * j / (recovery + 1)``.

    Examples
    --------
    >>> window_profile(0.0, 2, 1, normal=1.0)
    (0.0, 0.0, 0.5)
    >>> window_profile([6.0, 3.0], None, 0, normal=1.0)
    (6.0, 3.0)
    """
    if isinstance(value, (list, tuple)):
        shape = tuple(float(v) for v in value)
    else:
        shape = (float(value),) * int(1 if duration is None else duration)
    last, steps = shape[-1], int(recovery)
    return shape + tuple(last + (normal - last) * j / (steps + 1) for j in range(1, steps + 1))


def window_by_period(
    start: int | str, profile: Sequence[float], labels: Sequence[str]
) -> list[tuple[int, float]]:
    """(0-based period position, value) of a profile starting at ``start``, cut at the horizon.

    Examples
    --------
    >>> window_by_period("P2", (0.5, 0.2), ["P1", "P2"])
    [(1, 0.5)]
    """
    first = labels.index(start) if isinstance(start, str) else int(start) - 1
    return [(first + k, v) for k, v in enumerate(profile) if first + k < len(labels)]


def window_issues(event: Any, field_name: str, allowed: tuple[Any, str], add: Any) -> None:
    """Record problems with an event's timing and profile fields through ``add``.

    ``allowed`` is a test of one value of ``field_name`` and its description;
    ``add(name, value, allowed)`` records a problem.
    """
    ok, words = allowed
    value = getattr(event, field_name)
    if not (isinstance(event.start, str) or _whole(event.start, 1)):
        add("start", event.start, "a period number from 1 or a period label")
    if event.duration is not None and not _whole(event.duration, 1):
        add("duration", event.duration, "a whole number of periods >= 1")
    if isinstance(value, tuple):
        if not value or not all(is_number(v) and ok(v) for v in value):
            add(field_name, list(value), f"a non-empty list of numbers, each {words}")
        elif event.duration is not None and event.duration != len(value):
            add(
                "duration",
                event.duration,
                f"left out, or the length of the {field_name} list ({len(value)})",
            )
    elif not (is_number(value) and ok(value)):
        add(field_name, value, f"a number {words}, or a list of them (one per period)")
    if not _whole(event.recovery_periods, 0):
        add("recovery_periods", event.recovery_periods, "a whole number of periods >= 0")


class _Window:
    """What a disruption and a price shock share: a start, a value per period, a recovery.

    ``_value`` names the field holding the value (a number over ``duration`` or a profile).
    """

    _value: ClassVar[str]
    elements: Any
    start: int | str
    duration: int | None
    recovery_periods: int

    def __post_init__(self) -> None:
        for name in ("elements", self._value):
            value = getattr(self, name)
            if not isinstance(value, str) and isinstance(value, Sequence):
                object.__setattr__(self, name, tuple(value))

    def profile(self) -> tuple[float, ...]:
        """The value in each period from ``start``: the event, then its return to normal (1)."""
        return window_profile(
            getattr(self, self._value), self.duration, self.recovery_periods, normal=1.0
        )

    def by_period(self, labels: Sequence[str]) -> list[tuple[int, float]]:
        """(0-based period position, value) for each period of the event within ``labels``."""
        return window_by_period(self.start, self.profile(), labels)


@dataclass(frozen=True)
class Disruption(_Window):
    """A cut in deliveries from a country or a supplier.

    Parameters
    ----------
    country : str, optional
        Country hit (``"*"``: every country). Give either ``country`` or ``supplier``.
    supplier : str, optional
        Supplier hit.
    elements : "*" or list of str
        Elements hit (default every element).
    start : int or str
        First period hit: a 1-based period number or a period label.
    duration : int, optional
        Number of periods hit (at least 1; cut at the end of the horizon). Default 1, or the
        length of a ``delivered_fraction`` profile.
    delivered_fraction : float or list of float
        Share of contracted volume still delivered while it lasts, in [0, 1] (0 = embargo); or
        a profile, one share per period from ``start`` (the 2025 licences: 0.52, 0.26, 0.62).
    recovery_periods : int
        Periods after the last one hit over which deliveries climb back to normal in equal
        steps: in the j-th of R, ``last + (1 - last) * j / (R + 1)`` (default 0: back at once).
    stage : str, optional
        With ``country``: hit the tonnes that pass this processing stage (mining, separation,
        metal, magnet) in the country, whoever sells them (China's 2025 licences held up
        separated heavy rare earths, not ore). Without it, the deliveries of the country's
        suppliers are hit, as before.
    facility : str, optional
        Instead of a country or supplier: hit the tonnes routed through this facility (a leg
        of their routes: a plant's outage, or a closed port or border on the way to it).

    Examples
    --------
    >>> Disruption(country="CN", start=3, duration=2).periods(["P1", "P2", "P3", "P4", "P5"])
    [2, 3]
    >>> Disruption(country="CN", delivered_fraction=[0.5, 0.0], recovery_periods=1).profile()
    (0.5, 0.0, 0.5)
    """

    country: str | None = None
    supplier: str | None = None
    elements: Any = ALL
    start: int | str = 1
    duration: int | None = None
    delivered_fraction: float | tuple[float, ...] = 0.0
    stage: str | None = None
    facility: str | None = None
    recovery_periods: int = 0

    _value: ClassVar[str] = "delivered_fraction"

    def periods(self, labels: Sequence[str]) -> list[int]:
        """0-based positions of the periods hit within ``labels`` (validated starts only)."""
        return [position for position, _ in self.by_period(labels)]

    def hits(self, country: str, supplier: str, element: str) -> bool:
        """Whether an offer of ``supplier`` (in ``country``) for ``element`` is hit."""
        if self.facility is not None:  # hits routes through a facility, not offers
            return False
        where = (
            self.supplier == supplier
            if self.supplier is not None
            else (self.country in (ALL, country))
        )
        return where and (self.elements == ALL or element in self.elements)

    def issues(self, where: str) -> list[ValidationIssue]:
        """Problems found without a portfolio (field types and ranges)."""
        out = []

        def add(name, value, allowed):
            out.append(ValidationIssue("scenarios", where, name, value, allowed))

        named = [n for n in ("country", "supplier", "facility") if getattr(self, n) is not None]
        if len(named) != 1:
            add(
                "country/supplier/facility",
                (self.country, self.supplier, self.facility),
                "exactly one of the three",
            )
        for name in ("country", "supplier", "facility"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                add(name, value, "a name (quote codes such as 'NO')")
        if not _elements_ok(self.elements):
            add("elements", self.elements, "'*' or a non-empty list of element names")
        window_issues(self, "delivered_fraction", (lambda v: 0 <= v <= 1, "from 0 to 1"), add)
        if self.stage is not None and (self.stage not in STAGES or self.country is None):
            add("stage", self.stage, f"with a country, one of {list(STAGES)}")
        return out


@dataclass(frozen=True)
class PriceShock(_Window):
    """Market prices of a country's or a supplier's offers scaled over a window of periods.

    The market price of an offer's tonnes bought in a period hit is its ``price_usd_per_t``
    times ``factor`` (several shocks on one offer and period multiply). What a contract pays
    then depends on its terms (:mod:`rareopt.inputs.markets`): a fixed-price contract pays its
    price whatever the market does; an indexed one pays the market within its floor and cap;
    emergency (spot) purchases pay the market plus the spot premium. Freight does not move.

    Parameters
    ----------
    country : str, optional
        Country whose offers move (``"*"``: every country). Give ``country`` or ``supplier``.
    supplier : str, optional
        Supplier whose offers move.
    elements : "*" or list of str
        Elements whose prices move (default every element).
    start : int or str
        First period (1-based number or label).
    duration : int, optional
        Periods at ``factor`` (default 1, or the length of a profile).
    factor : float or list of float
        Market price over today's (> 0; 6.37 = +537%), or a profile, one per period (a spike and
        its decay).
    recovery_periods : int
        Periods after the last over which the factor returns to 1 in equal steps (default 0).

    Examples
    --------
    >>> PriceShock(country="CN", factor=[6.0, 3.0], recovery_periods=1).profile()
    (6.0, 3.0, 2.0)
    """

    country: str | None = None
    supplier: str | None = None
    elements: Any = ALL
    start: int | str = 1
    duration: int | None = None
    factor: float | tuple[float, ...] = 1.0
    recovery_periods: int = 0

    _value: ClassVar[str] = "factor"

    def issues(self, where: str) -> list[ValidationIssue]:
        """Problems found without a portfolio (field types and ranges)."""
        out: list[ValidationIssue] = []

        def add(name, value, allowed):
            out.append(ValidationIssue("scenarios", where, name, value, allowed))

        if (self.country is None) == (self.supplier is None):
            add("country/supplier", (self.country, self.supplier), "exactly one of the two")
        for name in ("country", "supplier"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                add(name, value, "a name (quote codes such as 'NO')")
        if not _elements_ok(self.elements):
            add("elements", self.elements, "'*' or a non-empty list of element names")
        window_issues(
            self,
            "factor",
            (lambda v: 0 < v <= MAX_PRICE_FACTOR, f"above 0 and at most {MAX_PRICE_FACTOR:g}"),
            add,
        )
        return out


MAX_PRICE_FACTOR = 1000.0
"""Largest price factor a shock may have (a thousandfold price)."""


def _elements_ok(elements: Any) -> bool:
    return elements == ALL or (
        isinstance(elements, tuple) and bool(elements) and all(isinstance(e, str) for e in elements)
    )


@dataclass(frozen=True)
class Scenario:
    """A named set of disruptions and price shocks with its probability.

    ``spot_premium``, when given, replaces the set's for this scenario (a panic market).

    Examples
    --------
    >>> Scenario("calm", 0.9).disruptions
    ()
    """

    name: str
    probability: float
    disruptions: tuple[Disruption, ...] = ()
    description: str = ""
    prices: tuple[PriceShock, ...] = ()
    spot_premium: float | None = None

    def __post_init__(self) -> None:
        for field_name, kind, what in (
            ("disruptions", Disruption, "disruption"),
            ("prices", PriceShock, "price shock"),
        ):
            events = tuple(
                event
                if isinstance(event, kind)
                else _event(kind, event, f"scenario {self.name}, {what} {k}")
                for k, event in enumerate(getattr(self, field_name) or ())
            )
            object.__setattr__(self, field_name, events)


def _event(kind: type, spec: Any, where: str) -> Any:
    """A disruption or price shock from its mapping; unknown fields named, with a near match."""
    if not isinstance(spec, Mapping):
        raise ScenarioError(
            [ValidationIssue("scenarios", where, "", spec, f"a mapping of {kind.__name__} fields")]
        )
    allowed = list(kind.__dataclass_fields__)
    unknown = [k for k in spec if k not in allowed]
    if unknown:
        raise ScenarioError(
            [
                ValidationIssue(
                    "scenarios",
                    where,
                    str(name),
                    spec[name],
                    fields_allowed(f"a {kind.__name__}", str(name), allowed),
                )
                for name in unknown
            ]
        )
    return kind(**spec)


def _scenario(spec: Any) -> Scenario:
    if isinstance(spec, Scenario):
        return spec
    if not isinstance(spec, Mapping) or "name" not in spec or "probability" not in spec:
        raise ScenarioError(
            [
                ValidationIssue(
                    "scenarios",
                    "scenario",
                    "name/probability",
                    spec,
                    "a mapping with name, probability and optional disruptions",
                )
            ]
        )
    allowed = set(Scenario.__dataclass_fields__)
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ScenarioError(
            [
                ValidationIssue(
                    "scenarios",
                    str(spec["name"]),
                    ", ".join(unknown),
                    spec,
                    f"fields {sorted(allowed)}",
                )
            ]
        )
    return Scenario(
        **{
            **spec,
            "disruptions": tuple(spec.get("disruptions") or ()),
            "prices": tuple(spec.get("prices") or ()),
        }
    )


@dataclass(frozen=True, eq=False)
class ScenarioSet:
    """Scenarios whose probabilities sum to 1, and the spot market of the recourse.

    Parameters
    ----------
    scenarios : list of Scenario or mappings
        At least one; names unique; probabilities in [0, 1] summing to 1 (within 1e-6).
    spot_premium : float
        Emergency purchases cost the offer's price plus freight times ``1 + spot_premium``.
    spot_share : float
        Share of an undisrupted offer's capacity that can be bought on the spot market in a
        period of a scenario in which that element is disrupted, in [0, 1] (0: no spot market).
    name : str
        Label for summaries.
    sources : list of str
        Where the scenarios come from.

    Raises
    ------
    ScenarioError
        Listing every problem found.

    Examples
    --------
    >>> s = ScenarioSet([
    ...     {"name": "calm", "probability": 0.9},
    ...     {"name": "embargo", "probability": 0.1,
    ...      "disruptions": [{"country": "CN", "start": 2, "duration": 1}]},
    ... ])
    >>> s.names, s.probabilities.tolist()
    (['calm', 'embargo'], [0.9, 0.1])
    """

    scenarios: Any
    spot_premium: float = 0.5
    spot_share: float = 0.2
    name: str = "scenarios"
    sources: tuple[str, ...] = ()
    warnings: tuple = field(default=(), compare=False)

    def __post_init__(self) -> None:
        scenarios = tuple(_scenario(s) for s in (self.scenarios or ()))
        object.__setattr__(self, "scenarios", scenarios)
        sources = self.sources or ()
        object.__setattr__(
            self, "sources", (sources,) if isinstance(sources, str) else tuple(sources)
        )
        issues = []

        def add(row, name, value, allowed):
            issues.append(ValidationIssue("scenarios", row, name, value, allowed))

        if not scenarios:
            add("all", "scenarios", [], "at least one scenario")
        for name, count in Counter(s.name for s in scenarios).items():
            if count > 1:
                add(f"scenario {name}", "name", name, "each name once (duplicate)")
        for s in scenarios:
            if not isinstance(s.name, str) or not s.name:
                add(f"scenario {s.name!r}", "name", s.name, "a non-empty name")
            if not (is_number(s.probability) and 0 <= s.probability <= 1):
                add(f"scenario {s.name}", "probability", s.probability, "a number from 0 to 1")
            for k, d in enumerate(s.disruptions):
                issues += d.issues(f"scenario {s.name}, disruption {k}")
            for k, shock in enumerate(s.prices):
                issues += shock.issues(f"scenario {s.name}, price shock {k}")
            if s.spot_premium is not None and not (
                is_number(s.spot_premium) and s.spot_premium >= 0
            ):
                add(f"scenario {s.name}", "spot_premium", s.spot_premium, "a number >= 0")
        total = sum(s.probability for s in scenarios if is_number(s.probability))
        if scenarios and abs(total - 1.0) > PROBABILITY_TOLERANCE:
            add(
                "all",
                "probability",
                round(total, 12),
                f"probabilities summing to 1 (within {PROBABILITY_TOLERANCE:g})",
            )
        if not (is_number(self.spot_premium) and self.spot_premium >= 0):
            add("set", "spot_premium", self.spot_premium, "a number >= 0")
        if not (is_number(self.spot_share) and 0 <= self.spot_share <= 1):
            add("set", "spot_share", self.spot_share, "a number from 0 to 1")
        if issues:
            raise ScenarioError(issues)

    @property
    def names(self) -> list[str]:
        """Scenario names in order."""
        return [s.name for s in self.scenarios]

    @property
    def probabilities(self) -> np.ndarray:
        """Scenario probabilities in order."""
        return np.array([float(s.probability) for s in self.scenarios])

    def check(self, portfolio: Portfolio) -> list[ValidationIssue]:
        """Check the set against a portfolio; raise on errors, return the warnings.

        Errors: an unknown supplier, a start outside the horizon. Warnings (no effect): a country
        no supplier is in, an element not in the demand table.

        Examples
        --------
        >>> from rareopt.inputs.examples import load_example
        >>> s = ScenarioSet([{"name": "x", "probability": 1,
        ...                   "disruptions": [{"supplier": "Nobody"}]}])
        >>> s.check(load_example("tiny"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        rareopt.exceptions.ScenarioError: the scenario set has 1 problem(s):
          - scenarios, scenario x, disruption 0, field supplier: got 'Nobody'; allowed: ...
        """
        labels = portfolio.period_labels
        suppliers, countries = portfolio.suppliers["supplier"].tolist(), portfolio.countries
        elements, facilities = portfolio.elements, portfolio.facilities["facility"].tolist()
        issues = []
        for s in self.scenarios:
            events = [(f"disruption {k}", d) for k, d in enumerate(s.disruptions)]
            events += [(f"price shock {k}", d) for k, d in enumerate(s.prices)]
            for what, d in events:
                where = f"scenario {s.name}, {what}"

                def add(name, value, allowed, severity="error", where=where):
                    issues.append(
                        ValidationIssue("scenarios", where, name, value, allowed, severity)
                    )

                if d.supplier is not None and d.supplier not in suppliers:
                    add("supplier", d.supplier, f"a supplier of the portfolio: {suppliers}")
                if getattr(d, "facility", None) is not None and d.facility not in facilities:
                    add("facility", d.facility, f"a facility of the portfolio: {facilities}")
                if d.country not in (None, ALL) and d.country not in countries:
                    add(
                        "country",
                        d.country,
                        f"'*' or a country some supplier is in: {countries} (no effect)",
                        "warning",
                    )
                if d.elements != ALL:
                    for element in d.elements:
                        if element not in elements:
                            add(
                                "elements",
                                element,
                                f"an element of the portfolio: {elements} (no effect)",
                                "warning",
                            )
                in_range = (
                    (d.start in labels)
                    if isinstance(d.start, str)
                    else (1 <= d.start <= len(labels))
                )
                if not in_range:
                    add(
                        "start",
                        d.start,
                        f"a period number 1..{len(labels)} or a label {labels[0]} .. {labels[-1]}",
                    )
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            raise ScenarioError(issues)
        return issues

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> ScenarioSet:
        """A scenario set from the mapping a YAML file holds (keys as the constructor's).

        Examples
        --------
        >>> ScenarioSet.from_dict({"scenarios": [{"name": "calm", "probability": 1}]}).names
        ['calm']
        """
        if not isinstance(spec, Mapping):
            raise ScenarioError([ValidationIssue("scenarios", "file", "", spec, "a mapping")])
        allowed = set(cls.__dataclass_fields__) - {"warnings"}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ScenarioError(
                [
                    ValidationIssue(
                        "scenarios",
                        "file",
                        ", ".join(unknown),
                        "unknown key(s)",
                        f"keys {sorted(allowed)}",
                    )
                ]
            )
        if "scenarios" not in spec or not isinstance(spec["scenarios"], (list, tuple)):
            raise ScenarioError(
                [
                    ValidationIssue(
                        "scenarios",
                        "file",
                        "scenarios",
                        spec.get("scenarios"),
                        "a list of scenarios: [{name, probability, disruptions}, ...]",
                    )
                ]
            )
        return cls(**spec)

    @classmethod
    def from_yaml(cls, path: str) -> ScenarioSet:
        """Read a scenario set from a YAML file (strict YAML: each key once, bounded size).

        Errors name the file.

        Examples
        --------
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "s.yaml")
        >>> _ = open(path, "w").write("scenarios: [{name: calm, probability: 1}]")
        >>> ScenarioSet.from_yaml(path).names
        ['calm']
        """
        with open(path, encoding="utf-8") as handle:
            try:
                spec = load_yaml(handle)
            except yaml.YAMLError as exc:
                issue = ValidationIssue(
                    str(path), "file", "YAML", str(exc), "YAML with each key once"
                )
                raise ScenarioError([issue]) from None
        try:
            return cls.from_dict(spec)
        except ScenarioError as exc:
            located = [replace(i, table=f"{path}: {i.table}") for i in exc.issues]
            raise ScenarioError(located) from None

    def to_dict(self) -> dict[str, Any]:
        """The mapping :meth:`from_dict` reads.

        Examples
        --------
        >>> ScenarioSet([{"name": "calm", "probability": 1}]).to_dict()["spot_share"]
        0.2
        """
        return {
            "name": self.name,
            "sources": list(self.sources),
            "spot_premium": self.spot_premium,
            "spot_share": self.spot_share,
            "scenarios": [
                {
                    "name": s.name,
                    "probability": s.probability,
                    "description": s.description,
                    "disruptions": [_event_dict(d) for d in s.disruptions],
                    **({"prices": [_event_dict(p) for p in s.prices]} if s.prices else {}),
                    **({} if s.spot_premium is None else {"spot_premium": s.spot_premium}),
                }
                for s in self.scenarios
            ],
        }

    def spot_premiums(self, only: Sequence[str] | None = None) -> np.ndarray:
        """The spot premium of each scenario: its own where given, else the set's.

        Examples
        --------
        >>> ScenarioSet([{"name": "calm", "probability": 0.5},
        ...              {"name": "panic", "probability": 0.5, "spot_premium": 2.0}]).spot_premiums()
        array([0.5, 2. ])
        """
        return np.array(
            [
                float(self.spot_premium if s.spot_premium is None else s.spot_premium)
                for s in self.chosen(only)
            ]
        )

    def moves_prices(self) -> bool:
        """Whether any scenario has a price shock."""
        return any(s.prices for s in self.scenarios)

    def part(self, start: int, stop: int) -> ScenarioSet:
        """Scenarios ``start`` to ``stop`` (positions) as a set of their own, with the same market.

        Each is weighted by its probability given the part (evenly when the part has none).
        Each scenario's recourse is the same in the part as in the whole set; a large sample is
        built and solved part by part.

        Examples
        --------
        >>> s = ScenarioSet([{"name": n, "probability": p}
        ...                  for n, p in [("a", 0.2), ("b", 0.6), ("c", 0.2)]])
        >>> part = s.part(1, 3)
        >>> part.names, part.probabilities.round(2).tolist()
        (['b', 'c'], [0.75, 0.25])
        """
        chosen = self.scenarios[start:stop]
        weights = np.array([float(s.probability) for s in chosen])
        total = weights.sum()
        given = weights / total if total > 0 else np.full(len(chosen), 1.0 / len(chosen))
        return replace(
            self,
            name=f"{self.name} [{start}:{stop}]",
            scenarios=[replace(s, probability=float(q)) for s, q in zip(chosen, given)],
        )

    def chosen(self, only: Sequence[str] | None = None) -> list[Scenario]:
        """The scenarios named in ``only``, in that order (all, in order, by default)."""
        if only is None:
            return list(self.scenarios)
        by_name = {s.name: s for s in self.scenarios}
        return [by_name[n] for n in only]

    def price_factors(
        self, portfolio: Portfolio, rows: Any, only: Sequence[str] | None = None
    ) -> np.ndarray:
        """Market price over today's for each row and scenario (scenarios x rows; 1 = today's).

        ``rows`` has element, supplier and period columns (a purchase's: the period it is
        bought in, when its price is set). Shocks hitting one row multiply. With ``only``, the
        rows of those scenarios alone, in that order.

        Examples
        --------
        >>> from rareopt.inputs.examples import load_example
        >>> import pandas as pd
        >>> s = ScenarioSet([{"name": "spike", "probability": 1,
        ...                   "prices": [{"country": "CN", "start": 2, "factor": [6, 3]}]}])
        >>> rows = pd.DataFrame({"element": "Nd", "supplier": "CN-Mine", "period": ["P1", "P2", "P3"]})
        >>> s.price_factors(load_example("tiny"), rows).tolist()
        [[1.0, 6.0, 3.0]]
        """
        labels = portfolio.period_labels
        position = pd.Series(range(len(labels)), index=labels)
        period = position.reindex(rows["period"]).to_numpy()
        supplier = rows["supplier"].to_numpy(object)
        country = portfolio.supplier_country().reindex(supplier).to_numpy(object)
        element = rows["element"].to_numpy(object)
        chosen = self.chosen(only)
        factors = np.ones((len(chosen), len(rows)))
        # A sample repeats the same few targets (a country's or a supplier's elements) in every
        # scenario: each scenario's factor per target and period is gathered first, then each
        # target's rows are found once and multiplied by their periods' factors.
        targets: dict[tuple[Any, ...], int] = {}
        hits: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        for w, scenario in enumerate(chosen):
            for shock in scenario.prices:
                key = (shock.supplier, shock.country, shock.elements)
                k = targets.setdefault(key, len(targets))
                at, factor = np.array(shock.by_period(labels), dtype=float).reshape(-1, 2).T
                hits.append((w, k, at.astype(np.int64), factor))
        by_target = np.ones((len(chosen), len(targets), len(labels)))
        for w, k, at, factor in hits:
            by_target[w, k, at] *= factor
        for (shock_supplier, shock_country, shock_elements), k in targets.items():
            if shock_supplier is not None:
                mask = supplier == shock_supplier
            else:
                mask = np.full(len(rows), shock_country == ALL) | (country == shock_country)
            if shock_elements != ALL:
                mask &= np.isin(element, list(shock_elements))
            hit = np.flatnonzero(mask)
            factors[:, hit] *= by_target[:, k, period[hit]]
        return factors

    def with_market(self, **changes: float) -> ScenarioSet:
        """A copy with ``spot_premium`` or ``spot_share`` changed.

        Examples
        --------
        >>> ScenarioSet([{"name": "calm", "probability": 1}]).with_market(spot_share=0).spot_share
        0
        """
        return replace(self, **changes)

    def __len__(self) -> int:
        return len(self.scenarios)

    def __repr__(self) -> str:
        return f"ScenarioSet({self.name!r}: {len(self)} scenarios)"


def generate_scenarios(
    portfolio: Portfolio,
    n: int,
    annual_probability: Mapping[str, float],
    duration: int | Mapping[str, int] = 3,
    delivered_fraction: float | Mapping[str, float] = 0.0,
    mode: str = "independent",
    correlation: float = 0.5,
    seed: int = 0,
    persistence: float | Mapping[str, float] | None = None,
    recovery_periods: int = 0,
    price_volatility: float | Mapping[str, float] | None = None,
    price_jump: float | None = None,
    merge: bool = True,
    **market: float,
) -> ScenarioSet:
    """Sample ``n`` scenarios of country disruptions; identical samples are merged.

    Each country in ``annual_probability`` is disrupted at most once in a scenario, with
    probability ``1 - (1 - p) ** years`` over the horizon, starting in a uniformly drawn period,
    for ``duration`` periods, at ``delivered_fraction`` of contracted volume, every element.

    With ``persistence`` q, a disruption's length is drawn instead: after its first period each
    period continues it with probability q (the disrupted state of a two-state Markov chain), so
    it lasts k periods with probability ``q ** (k - 1) * (1 - q)``, on average ``1 / (1 - q)``
    (cut at the horizon's end). ``recovery_periods`` adds a climb back to normal after each
    disruption (see :class:`Disruption`).

    Price paths (opt-in; :class:`PriceShock`): with ``price_volatility`` σ each element's market
    price follows a lognormal random walk with mean 1, ``log m_t = sum_k (σ sqrt(dt_k) z_k -
    σ² dt_k / 2)`` over the periods so far (dt in years, z standard normal), every offer of the
    element alike; such samples are all distinct, so none merge. With ``price_jump`` J, every
    price is multiplied by J while a sampled disruption lasts (an embargo raises the price of
    what is still for sale), stepping back over its recovery periods.

    - ``mode="independent"``: countries are disrupted independently.
    - ``mode="common"``: a common shock: each country's draw is a Gaussian copula with pairwise
      ``correlation``, and all countries disrupted in a sample start in the same period.

    Every sample has probability ``1 / n``; identical samples are merged into one scenario with
    the summed probability, so the set is often much smaller than ``n``.

    Parameters
    ----------
    portfolio : Portfolio
        Gives the periods (and their days) and the countries.
    n : int
        Number of samples (>= 1).
    annual_probability : mapping
        Country -> probability of a disruption starting in a year, in [0, 1].
    duration : int or mapping
        Periods a disruption lasts (per country or one for all).
    delivered_fraction : float or mapping
        Share still delivered (per country or one for all).
    mode : {"independent", "common"}
        Independent countries, or a common shock (see above).
    correlation : float
        Copula correlation in [0, 1) for ``mode="common"``.
    seed : int
        Random seed; the same arguments give the same set.
    persistence : float or mapping, optional
        Probability in [0, 1) that a disruption continues into its next period (per country or
        one for all); replaces ``duration`` (default None: fixed durations).
    recovery_periods : int
        Periods over which deliveries climb back after each disruption (default 0).
    price_volatility : float or mapping, optional
        Annual volatility of each element's market price (per element or one for all), >= 0
        (default None: prices as today).
    price_jump : float, optional
        Factor >= 1 on every price while a sampled disruption lasts (default None: none).
    merge : bool
        Merge identical samples (default True). False keeps every sample a scenario of its own
        (``sample i: ...``), as a plan's evaluation on a large sample wants.
    **market
        ``spot_premium``, ``spot_share`` of the :class:`ScenarioSet`.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> s = generate_scenarios(load_example("tiny"), 200, {"CN": 0.3}, duration=1, seed=1)
    >>> len(s) <= 4, bool(abs(s.probabilities.sum() - 1) < 1e-12)
    (True, True)
    """
    from scipy.stats import norm

    issues = []
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        issues.append(ValidationIssue("generate", "arguments", "n", n, "a whole number >= 1"))
    if mode not in ("independent", "common"):
        issues.append(
            ValidationIssue("generate", "arguments", "mode", mode, "'independent' or 'common'")
        )
    if not (is_number(correlation) and 0 <= correlation < 1):
        issues.append(
            ValidationIssue(
                "generate", "arguments", "correlation", correlation, "a number in [0, 1)"
            )
        )
    chained = persistence if isinstance(persistence, Mapping) else {"all": persistence}
    for country, q in chained.items():
        if q is not None and not (is_number(q) and 0 <= q < 1):
            issues.append(
                ValidationIssue("generate", "persistence", country, q, "a number in [0, 1)")
            )
    volatile = (
        price_volatility if isinstance(price_volatility, Mapping) else {"all": price_volatility}
    )
    for element, sigma in volatile.items():
        if sigma is not None and not (is_number(sigma) and 0 <= sigma <= 10):
            issues.append(
                ValidationIssue(
                    "generate", "price_volatility", element, sigma, "a number in [0, 10]"
                )
            )
    if price_jump is not None and not (
        is_number(price_jump) and 1 <= price_jump <= MAX_PRICE_FACTOR
    ):
        issues.append(
            ValidationIssue(
                "generate",
                "arguments",
                "price_jump",
                price_jump,
                f"a number from 1 to {MAX_PRICE_FACTOR:g}",
            )
        )
    if not _whole(recovery_periods, 0):
        issues.append(
            ValidationIssue(
                "generate", "arguments", "recovery_periods", recovery_periods, "a whole number >= 0"
            )
        )
    for country, p in annual_probability.items():
        if not (is_number(p) and 0 <= p <= 1):
            issues.append(
                ValidationIssue(
                    "generate", "annual_probability", country, p, "a number from 0 to 1"
                )
            )
    if issues:
        raise ScenarioError(issues)

    countries = list(annual_probability)
    labels = portfolio.period_labels
    years = horizon_years(portfolio)
    p_horizon = np.array([1 - (1 - annual_probability[c]) ** years for c in countries])

    def per_country(value, c):
        return value[c] if isinstance(value, Mapping) else value

    rng = np.random.default_rng(seed)
    if mode == "independent":
        uniform = rng.random((n, len(countries)))
        starts = rng.integers(0, len(labels), size=(n, len(countries)))
    else:
        common = rng.standard_normal((n, 1))
        own = rng.standard_normal((n, len(countries)))
        uniform = norm.cdf(np.sqrt(correlation) * common + np.sqrt(1 - correlation) * own)
        starts = np.repeat(rng.integers(0, len(labels), size=(n, 1)), len(countries), axis=1)
    hit = uniform < p_horizon
    lengths = np.array(
        [[int(per_country(duration, c)) for c in countries]] * n, dtype=np.int64
    ).reshape(n, len(countries))
    if persistence is not None:
        # Geometric lengths: the disrupted state persists each period with probability q.
        for j, c in enumerate(countries):
            q = per_country(persistence, c)
            lengths[:, j] = rng.geometric(1.0 - q, size=n) if q > 0 else 1
        # A disruption running past the horizon is one scenario whatever its drawn length.
        lengths = np.minimum(lengths, len(labels) - starts)

    paths = None
    if price_volatility is not None:
        elements = portfolio.elements
        dt = portfolio.periods["days"].to_numpy(float) / DAYS_PER_YEAR
        sigma = np.array([float(per_country(price_volatility, e) or 0.0) for e in elements])
        z = rng.standard_normal((n, len(elements), len(labels)))
        steps = sigma[None, :, None] * np.sqrt(dt)[None, None, :] * z
        steps -= (sigma[None, :, None] ** 2) * dt[None, None, :] / 2
        paths = np.exp(np.cumsum(steps, axis=2))

    counts: Counter = Counter()
    for i in range(n):
        key = tuple(
            (c, int(starts[i, j]), int(lengths[i, j])) for j, c in enumerate(countries) if hit[i, j]
        )
        # A sample with its own price path is a scenario of its own.
        counts[key if (paths is None and merge) else (i, key)] += 1
    scenarios = []
    fixed = persistence is None
    for entry, count in sorted(counts.items(), key=lambda kv: _sample_order(kv[0])):
        sample, key = (None, entry) if (paths is None and merge) else entry
        disruptions = tuple(
            Disruption(
                country=c,
                start=start + 1,
                duration=length,
                delivered_fraction=float(per_country(delivered_fraction, c)),
                recovery_periods=int(recovery_periods),
            )
            for c, start, length in key
        )
        prices: list[PriceShock] = []
        if price_jump is not None:
            prices += [
                PriceShock(
                    country=ALL,
                    start=start + 1,
                    duration=length,
                    factor=float(price_jump),
                    recovery_periods=int(recovery_periods),
                )
                for _, start, length in key
            ]
        if sample is not None and paths is not None:  # the sample's own price path
            prices += [
                PriceShock(country=ALL, elements=(e,), start=1, factor=tuple(paths[sample, k]))
                for k, e in enumerate(portfolio.elements)
            ]
        name = (
            "+".join(
                f"{c}@{labels[s]}" if fixed else f"{c}@{labels[s]}x{length}" for c, s, length in key
            )
            or "no disruption"
        )
        if sample is not None:
            name = f"sample {sample}: " + ("prices only" if not key and paths is not None else name)
        scenarios.append(Scenario(name, count / n, disruptions, prices=tuple(prices)))
    return ScenarioSet(
        scenarios,
        name=f"generated ({mode}, seed={seed}): {n} samples merged into {len(scenarios)} scenarios",
        sources=(
            f"rareopt.generate_scenarios with annual probabilities {dict(annual_probability)}",
        ),
        **market,
    )


def _sample_order(entry: tuple) -> tuple:
    """Merged samples by how many disruptions, then which; drawn price paths in sample order."""
    if entry and isinstance(entry[0], int):
        return (0, entry[0])
    return (len(entry), entry)


def _event_dict(event: Disruption | PriceShock) -> dict[str, Any]:
    return {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in event.__dict__.items()
        if v is not None
    }


def _event_library() -> dict[str, dict]:
    text = (
        resources.files("rareopt.data")
        .joinpath("events", "disruptions.yaml")
        .read_text(encoding="utf-8")
    )
    return {e["name"]: e for e in yaml.safe_load(text)["events"]}


def list_events() -> dict[str, str]:
    """The built-in real events and what each was.

    Examples
    --------
    >>> sorted(list_events())[0]
    'china-export-drop-2019'
    """
    return {name: " ".join(e["what"].split()) for name, e in _event_library().items()}


def event_scenarios(
    names: Sequence[str],
    start: int | str = 1,
    probabilities: Sequence[float] | None = None,
    baseline: float = 0.0,
    **market: float,
) -> ScenarioSet:
    """Scenarios replaying real events on the portfolio's horizon (see :func:`list_events`).

    Each event becomes one scenario starting at ``start``; its duration in months is taken as the
    same number of periods (the built-in examples are monthly). Sizes the sources do not give are
    assumptions, stated in each scenario's description and in ``rareopt/data/events/disruptions.yaml``.

    Parameters
    ----------
    names : list of str
        Event names.
    start : int or str
        First period hit (1-based number or label).
    probabilities : list of float, optional
        One per event; by default the events share ``1 - baseline`` equally.
    baseline : float
        Probability of a scenario without disruption (named ``no disruption``), added when > 0.
    **market
        ``spot_premium``, ``spot_share`` of the :class:`ScenarioSet`.

    Examples
    --------
    >>> s = event_scenarios(["china-japan-2010"], baseline=0.9)
    >>> s.names, s.scenarios[1].disruptions[0].delivered_fraction
    (['no disruption', 'china-japan-2010'], 0.0)
    """
    library = _event_library()
    unknown = [n for n in names if n not in library]
    if unknown or not names:
        raise ScenarioError(
            [
                ValidationIssue(
                    "events",
                    "names",
                    "name",
                    unknown or list(names),
                    f"one or more of {sorted(library)}",
                )
            ]
        )
    if probabilities is None:
        probabilities = [(1.0 - baseline) / len(names)] * len(names)
    scenarios = [Scenario("no disruption", baseline)] if baseline > 0 else []
    for name, probability in zip(names, probabilities, strict=True):
        event = library[name]
        disruption = Disruption(
            country=event["country"],
            elements=event["elements"],
            start=start,
            duration=int(event["duration_months"]),
            delivered_fraction=event["delivered_fraction"],
            stage=event.get("stage"),
        )
        scenarios.append(
            Scenario(name, probability, (disruption,), " ".join(event["what"].split()))
        )
    return ScenarioSet(
        scenarios,
        name="events: " + ", ".join(names),
        sources=tuple(" ".join(library[n]["source"].split()) for n in names),
        **market,
    )

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
from typing import Any

import numpy as np
import yaml

from rareopt.exceptions import ScenarioError, ValidationIssue
from rareopt.inputs.derived import horizon_years
from rareopt.inputs.io import load_yaml
from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.stages import STAGES
from rareopt.inputs.tables import ALL

__all__ = [
    "Disruption",
    "Scenario",
    "ScenarioSet",
    "generate_scenarios",
    "event_scenarios",
    "list_events",
    "PROBABILITY_TOLERANCE",
]

PROBABILITY_TOLERANCE = 1e-6
"""How far the probabilities of a scenario set may sum from 1."""


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Disruption:
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
    duration : int
        Number of periods hit (at least 1; cut at the end of the horizon).
    delivered_fraction : float
        Share of contracted volume still delivered while it lasts, in [0, 1] (0 = embargo).
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
    """

    country: str | None = None
    supplier: str | None = None
    elements: Any = ALL
    start: int | str = 1
    duration: int = 1
    delivered_fraction: float = 0.0
    stage: str | None = None
    facility: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.elements, str) and isinstance(self.elements, Sequence):
            object.__setattr__(self, "elements", tuple(self.elements))

    def periods(self, labels: Sequence[str]) -> list[int]:
        """0-based positions of the periods hit within ``labels`` (validated starts only)."""
        first = labels.index(self.start) if isinstance(self.start, str) else self.start - 1
        return list(range(first, min(first + int(self.duration), len(labels))))

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
        if not (
            self.elements == ALL
            or (
                isinstance(self.elements, tuple)
                and self.elements
                and all(isinstance(e, str) for e in self.elements)
            )
        ):
            add("elements", self.elements, "'*' or a non-empty list of element names")
        if not (
            isinstance(self.start, str)
            or (_number(self.start) and int(self.start) == self.start and self.start >= 1)
        ):
            add("start", self.start, "a period number from 1 or a period label")
        if not (
            _number(self.duration) and int(self.duration) == self.duration and self.duration >= 1
        ):
            add("duration", self.duration, "a whole number of periods >= 1")
        if not (_number(self.delivered_fraction) and 0 <= self.delivered_fraction <= 1):
            add("delivered_fraction", self.delivered_fraction, "a number from 0 to 1")
        if self.stage is not None and (self.stage not in STAGES or self.country is None):
            add("stage", self.stage, f"with a country, one of {list(STAGES)}")
        return out


@dataclass(frozen=True)
class Scenario:
    """A named set of disruptions with its probability.

    Examples
    --------
    >>> Scenario("calm", 0.9).disruptions
    ()
    """

    name: str
    probability: float
    disruptions: tuple[Disruption, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "disruptions",
            tuple(d if isinstance(d, Disruption) else _disruption(d) for d in self.disruptions),
        )


def _disruption(spec: Any) -> Disruption:
    if not isinstance(spec, Mapping):
        raise ScenarioError(
            [ValidationIssue("scenarios", "disruption", "", spec, "a mapping of Disruption fields")]
        )
    allowed = set(Disruption.__dataclass_fields__)
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ScenarioError(
            [
                ValidationIssue(
                    "scenarios", "disruption", ", ".join(unknown), spec, f"fields {sorted(allowed)}"
                )
            ]
        )
    return Disruption(**spec)


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
    return Scenario(**{**spec, "disruptions": tuple(spec.get("disruptions") or ())})


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
            if not (_number(s.probability) and 0 <= s.probability <= 1):
                add(f"scenario {s.name}", "probability", s.probability, "a number from 0 to 1")
            for k, d in enumerate(s.disruptions):
                issues += d.issues(f"scenario {s.name}, disruption {k}")
        total = sum(s.probability for s in scenarios if _number(s.probability))
        if scenarios and abs(total - 1.0) > PROBABILITY_TOLERANCE:
            add(
                "all",
                "probability",
                round(total, 12),
                f"probabilities summing to 1 (within {PROBABILITY_TOLERANCE:g})",
            )
        if not (_number(self.spot_premium) and self.spot_premium >= 0):
            add("set", "spot_premium", self.spot_premium, "a number >= 0")
        if not (_number(self.spot_share) and 0 <= self.spot_share <= 1):
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
        issues = []
        for s in self.scenarios:
            for k, d in enumerate(s.disruptions):
                where = f"scenario {s.name}, disruption {k}"

                def add(name, value, allowed, severity="error", where=where):
                    issues.append(
                        ValidationIssue("scenarios", where, name, value, allowed, severity)
                    )

                if d.supplier is not None and d.supplier not in suppliers:
                    add("supplier", d.supplier, f"a supplier of the portfolio: {suppliers}")
                facilities = portfolio.facilities["facility"].tolist()
                if d.facility is not None and d.facility not in facilities:
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
                        if element not in portfolio.elements:
                            add(
                                "elements",
                                element,
                                f"an element of the portfolio: {portfolio.elements} (no effect)",
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
                    "disruptions": [
                        {
                            k: (list(v) if isinstance(v, tuple) else v)
                            for k, v in d.__dict__.items()
                            if v is not None
                        }
                        for d in s.disruptions
                    ],
                }
                for s in self.scenarios
            ],
        }

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
    **market: float,
) -> ScenarioSet:
    """Sample ``n`` scenarios of country disruptions; identical samples are merged.

    Each country in ``annual_probability`` is disrupted at most once in a scenario, with
    probability ``1 - (1 - p) ** years`` over the horizon, starting in a uniformly drawn period,
    for ``duration`` periods, at ``delivered_fraction`` of contracted volume, every element.

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
    if not (_number(correlation) and 0 <= correlation < 1):
        issues.append(
            ValidationIssue(
                "generate", "arguments", "correlation", correlation, "a number in [0, 1)"
            )
        )
    for country, p in annual_probability.items():
        if not (_number(p) and 0 <= p <= 1):
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

    counts: Counter = Counter()
    for i in range(n):
        counts[tuple((c, int(starts[i, j])) for j, c in enumerate(countries) if hit[i, j])] += 1
    scenarios = []
    for key, count in sorted(counts.items(), key=lambda kv: (len(kv[0]), kv[0])):
        disruptions = tuple(
            Disruption(
                country=c,
                start=start + 1,
                duration=int(per_country(duration, c)),
                delivered_fraction=float(per_country(delivered_fraction, c)),
            )
            for c, start in key
        )
        name = "+".join(f"{c}@{labels[s]}" for c, s in key) or "no disruption"
        scenarios.append(Scenario(name, count / n, disruptions))
    return ScenarioSet(
        scenarios,
        name=f"generated ({mode}, seed={seed}): {n} samples merged into {len(scenarios)} scenarios",
        sources=(
            f"rareopt.generate_scenarios with annual probabilities {dict(annual_probability)}",
        ),
        **market,
    )


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
            delivered_fraction=float(event["delivered_fraction"]),
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

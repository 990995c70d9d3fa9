"""Processing stages and routes: where a tonne was mined, separated, made into metal and magnets.

An offer sells an element at a stage (``offers.stage``: ``mining`` for mined concentrate or
unseparated feed, ``separation`` for separated oxide, the default, ``metal`` or ``magnet``) and
says where its tonnes passed the stages up to its own (``mined_in``, ``separated_in``,
``metal_in``, ``magnet_in``; each defaults to the supplier's country, and a recycler's tonnes skip
mining). Demand is at one stage per element (``policy.demand_stage``, default ``separation``). A
tonne bought before the demand's stage is converted by one facility of each later stage
(``facilities``: facility, stage, country, capacity_t of output per period for all elements
together, yield, fee_usd_per_t of output, elements): a **route**. An offer at the demand's stage
is a route of its own, with no facility, so today's portfolios are single-stage routes.

:func:`route_table` enumerates the routes once, here, for the model and the independent check:
per route, the tonnes delivered per tonne bought (the facilities' yields multiplied), the fees per
tonne bought, and per stage the country and the tonnes at that stage per tonne bought (1 up to the
offer's stage, then the yields so far). Symbols: ``docs/formulation.md``, "Processing stages".
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rareopt.exceptions import ValidationIssue
from rareopt.inputs.tables import ALL, MAX_TONNES, table_frame

if TYPE_CHECKING:
    from rareopt.inputs.portfolio import Portfolio

__all__ = [
    "FACILITY_COLUMNS",
    "STAGES",
    "ANY_STAGE",
    "DEFAULT_STAGE",
    "ORIGIN_FIELDS",
    "facility_table",
    "offer_stages",
    "demand_stages",
    "route_table",
    "stage_issues",
    "in_transit_table",
    "lead_periods",
    "arrivals",
]

STAGES = ("mining", "separation", "metal", "magnet")
"""The stages of the chain, in order."""
ANY_STAGE = "any"
"""A cap's stage meaning every stage: the share of tonnes that touch a country anywhere."""
STAGE_CAP_HOLDERS = ("country", "supplier", "group")
"""Who a stage cap caps: a country, a supplier or facility (``"*"``: each), or a group."""
SELLER = "seller"
"""The ``stage`` label of shares by the seller's country or supplier: what a cap without a stage
counts (no processing stage)."""

DEFAULT_STAGE = "separation"
"""Separated oxide: what an offer sells, and the stage of demand, unless told otherwise."""
ORIGIN_FIELDS = {
    "mining": "mined_in",
    "separation": "separated_in",
    "metal": "metal_in",
    "magnet": "magnet_in",
}
"""The offers' fields naming the country where its tonnes passed each stage."""

FACILITY_COLUMNS = [
    "facility",
    "stage",
    "country",
    "capacity_t",
    "yield",
    "fee_usd_per_t",
    "elements",
    "lead_periods",
]
"""The fields of a facility row."""


def facility_table(records: Any) -> pd.DataFrame:
    """Normalise facility records (blank optional fields take their defaults).

    Examples
    --------
    >>> f = facility_table([{"facility": "JP-Sep", "stage": "separation", "country": "JP",
    ...                      "capacity_t": 50}])
    >>> float(f.at[0, "yield"]), float(f.at[0, "fee_usd_per_t"]), f.at[0, "elements"]
    (1.0, 0.0, '*')
    """
    frame = table_frame(records, FACILITY_COLUMNS)
    defaults = {
        "capacity_t": np.inf,
        "yield": 1.0,
        "fee_usd_per_t": 0.0,
        "elements": ALL,
        "lead_periods": 0,
    }
    for column in FACILITY_COLUMNS:
        if column not in frame:
            frame[column] = [defaults.get(column)] * len(frame)
        elif column in defaults:
            frame[column] = [defaults[column] if _blank(v) else v for v in frame[column]]
    frame["elements"] = [tuple(v) if isinstance(v, (list, tuple)) else v for v in frame["elements"]]
    for column in ("capacity_t", "yield", "fee_usd_per_t", "lead_periods"):
        numeric = pd.to_numeric(frame[column], errors="coerce")
        # Numbers as float; anything else stays as given, for validation to name.
        frame[column] = numeric.where(numeric.notna(), frame[column]).astype(object)
        if numeric.notna().all():
            frame[column] = numeric.astype(float)
    return frame[FACILITY_COLUMNS].reset_index(drop=True)


def in_transit_table(records: Any) -> pd.DataFrame:
    """Normalise shipments in transit at the start: element, period (arrival), volume_t.

    Examples
    --------
    >>> in_transit_table([{"element": "Nd", "period": "P2", "volume_t": 40}])["volume_t"].tolist()
    [40.0]
    """
    frame = table_frame(records, ["element", "period", "volume_t"])
    for column in ("element", "period", "volume_t"):
        if column not in frame:
            frame[column] = None
    frame["period"] = frame["period"].astype(str) if len(frame) else frame["period"]
    numeric = pd.to_numeric(frame["volume_t"], errors="coerce")
    if numeric.notna().all():
        frame["volume_t"] = numeric.astype(float)
    return frame[["element", "period", "volume_t"]].reset_index(drop=True)


def lead_periods(portfolio: Portfolio) -> pd.Series:
    """Periods from purchase to arrival per offer (supplier, element): ``offers.lead_periods``.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> int(lead_periods(load_example("tiny")).max())
    0
    """
    offers = portfolio.offers
    given = offers["lead_periods"] if "lead_periods" in offers else pd.Series(0, index=offers.index)
    lead = pd.to_numeric(given, errors="coerce").fillna(0).astype(int)
    return pd.Series(
        lead.to_numpy(), index=pd.MultiIndex.from_frame(offers[["supplier", "element"]])
    )


def arrivals(
    portfolio: Portfolio, frame: pd.DataFrame, lead: np.ndarray | None = None
) -> pd.Series:
    """The arrival period of purchases (rows of ``frame``: supplier, element, period).

    ``lead`` (periods per row) replaces the offers' lead times: a route's, through its
    facilities' transit. None where they would arrive after the horizon.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> p = load_example("tiny")
    >>> arrivals(p, p.capacity.head(1)).tolist()
    ['P1']
    """
    labels = portfolio.period_labels
    at = pd.Categorical(frame["period"], categories=labels).codes
    if lead is None:
        lead = (
            lead_periods(portfolio)
            .reindex(pd.MultiIndex.from_frame(frame[["supplier", "element"]]))
            .fillna(0)
            .to_numpy(int)
        )
    arrive = at + lead
    inside = (at >= 0) & (arrive < len(labels))
    out = np.where(
        inside, np.asarray(labels, dtype=object)[np.minimum(arrive, len(labels) - 1)], None
    )
    return pd.Series(out, index=frame.index, dtype=object)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def offer_stages(portfolio: Portfolio) -> pd.DataFrame:
    """Per offer (supplier, element): its stage and the country of each stage up to it.

    Columns supplier, element, stage and one per stage (``mining`` ... ``magnet``): the country,
    or None for a stage the tonnes have not passed (after the offer's stage, or mining for a
    recycler's).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> offer_stages(load_example("tiny"))[["stage", "mining", "separation", "metal"]].iloc[0].tolist()
    ['separation', 'CN', 'CN', None]
    """
    offers = portfolio.offers
    suppliers = portfolio.suppliers.set_index("supplier")
    out = offers[["supplier", "element"]].copy()
    given = offers["stage"] if "stage" in offers else pd.Series(None, index=offers.index)
    out["stage"] = [DEFAULT_STAGE if _blank(v) else v for v in given]
    home = out["supplier"].map(suppliers["country"])
    recycler = out["supplier"].map(suppliers["kind"]).eq("recycler")
    for position, stage in enumerate(STAGES):
        field = ORIGIN_FIELDS[stage]
        stated = offers[field] if field in offers else pd.Series(None, index=offers.index)
        default = home.where(~recycler, None) if stage == "mining" else home
        passed = [STAGES.index(s) >= position if s in STAGES else False for s in out["stage"]]
        chosen = [
            (d if _blank(v) else v) if p else None for v, d, p in zip(stated, default, passed)
        ]
        out[stage] = pd.Series([None if _blank(c) else c for c in chosen], dtype=object).to_numpy()
    return out.reset_index(drop=True)


def demand_stages(portfolio: Portfolio) -> dict[str, str]:
    """The stage each element's demand is at (``policy.demand_stage``).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> demand_stages(load_example("tiny"))
    {'Nd': 'separation', 'Dy': 'separation'}
    """
    spec = portfolio.policy.demand_stage
    if isinstance(spec, dict):
        return {e: spec.get(e, spec.get(ALL, DEFAULT_STAGE)) for e in portfolio.elements}
    return dict.fromkeys(portfolio.elements, spec)


def route_table(portfolio: Portfolio) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every route of every offer, and each route's stages.

    Returns
    -------
    routes : DataFrame
        One row per route: supplier, element, route (a label: the supplier, then each
        facility, joined by ``>``), converted (True when the route goes through facilities),
        yield (t delivered per t bought), fee_usd_per_t (processing fees per t bought),
        lead_periods (from purchase to arrival: the offer's, then each facility's) and
        countries (every country the route touches, a frozenset).
    legs : DataFrame
        One row per route and stage the tonnes pass: route (row of ``routes``), stage, facility
        (the supplier up to the offer's stage), country, factor (t at that stage per t bought)
        and lead_periods (from purchase until the tonnes reach the leg: 0 for the offer's own
        stages, the offer's lead and the earlier facilities' for a facility).

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> routes, legs = route_table(load_example("tiny"))
    >>> bool((routes["yield"] == 1.0).all()), sorted(set(legs["stage"]))
    (True, ['mining', 'separation'])
    """
    stages = offer_stages(portfolio)
    facilities = portfolio.facilities
    wanted = demand_stages(portfolio)
    # Offers at the demand's stage are routes of their own: tabulated at once (most portfolios
    # have nothing else); the others' chains through facilities are enumerated below.
    at_demand = stages["stage"].to_numpy(object) == np.array(
        [wanted.get(e, DEFAULT_STAGE) for e in stages["element"]], dtype=object
    )
    direct = stages[at_demand].reset_index(drop=True)
    passed = direct[list(STAGES)].to_numpy(object)
    offer_lead = lead_periods(portfolio)
    offer_lead = offer_lead[~offer_lead.index.duplicated()]
    routes = [
        {
            "supplier": supplier,
            "element": element,
            "route": supplier,
            "converted": False,
            "yield": 1.0,
            "fee_usd_per_t": 0.0,
            "lead_periods": int(offer_lead.get((supplier, element), 0)),
            "countries": frozenset(c for c in row if not _blank(c)),
        }
        for supplier, element, row in zip(direct["supplier"], direct["element"], passed)
    ]
    has = pd.DataFrame(passed, columns=list(STAGES)).notna().to_numpy()
    row, column = np.nonzero(has)
    direct_legs = pd.DataFrame(
        {
            "route": row,
            "stage": np.asarray(STAGES, dtype=object)[column],
            "facility": direct["supplier"].to_numpy(object)[row],
            "country": passed[row, column],
            "factor": 1.0,
            "lead_periods": 0,
        }
    )
    legs: list[dict] = []
    for offer in stages[~at_demand].to_dict("records"):
        start = STAGES.index(offer["stage"]) if offer["stage"] in STAGES else 0
        end = STAGES.index(wanted.get(offer["element"], DEFAULT_STAGE))
        own = [
            (s, offer["supplier"], offer[s], 1.0, 0.0)
            for s in STAGES[: start + 1]
            if not _blank(offer[s])
        ]
        choices = [
            [
                (
                    stage,
                    f["facility"],
                    f["country"],
                    float(f["yield"]),
                    float(f["fee_usd_per_t"]),
                    int(f["lead_periods"]),
                )
                for f in facilities.to_dict("records")
                if f["stage"] == stage and _accepts(f["elements"], offer["element"])
            ]
            for stage in STAGES[start + 1 : end + 1]
        ]
        for chain in itertools.product(*choices):
            # Tonnes reach the first facility the offer's lead time after purchase, and each
            # next one (or the buyer) a facility's lead time after the previous.
            factor, fee, steps = 1.0, 0.0, []
            lead = int(offer_lead.get((offer["supplier"], offer["element"]), 0))
            for stage, facility, country, recovery, charge, transit in chain:
                factor *= recovery
                fee += charge * factor
                steps.append((stage, facility, country, factor, lead))
                lead += transit
            row = len(routes)
            routes.append(
                {
                    "supplier": offer["supplier"],
                    "element": offer["element"],
                    "route": ">".join([offer["supplier"], *(c[1] for c in chain)]),
                    "converted": bool(chain),
                    "yield": factor,
                    "fee_usd_per_t": fee,
                    "lead_periods": lead,
                    "countries": frozenset([o[2] for o in own] + [c[2] for c in chain]),
                }
            )
            legs += [
                {
                    "route": row,
                    "stage": s,
                    "facility": f,
                    "country": c,
                    "factor": 1.0,
                    "lead_periods": 0,
                }
                for s, f, c, _, _ in own
            ]
            legs += [
                {
                    "route": row,
                    "stage": s,
                    "facility": f,
                    "country": c,
                    "factor": k,
                    "lead_periods": t,
                }
                for s, f, c, k, t in steps
            ]
    route_columns = [
        "supplier",
        "element",
        "route",
        "converted",
        "yield",
        "fee_usd_per_t",
        "lead_periods",
    ]
    leg_columns = ["route", "stage", "facility", "country", "factor", "lead_periods"]
    return (
        pd.DataFrame(routes, columns=[*route_columns, "countries"]),
        pd.concat([direct_legs, pd.DataFrame(legs, columns=leg_columns)], ignore_index=True),
    )


def _accepts(elements: Any, element: str) -> bool:
    return elements == ALL or element in tuple(elements)


def _offer_row(offers: pd.DataFrame, label: Any) -> str:
    return (
        f"row {label} (supplier={offers.at[label, 'supplier']}, "
        f"element={offers.at[label, 'element']})"
    )


def stage_issues(portfolio: Portfolio) -> list[ValidationIssue]:
    """Problems with stages, origins, facilities and the demand's stage.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> stage_issues(load_example("tiny"))
    []
    """
    issues: list[ValidationIssue] = []

    def add(table, where, field, value, allowed, severity="error"):
        issues.append(ValidationIssue(table, where, field, value, allowed, severity))

    facilities = portfolio.facilities
    seen: set[str] = set()
    for label, f in facilities.iterrows():
        where = f"row {label} (facility={f['facility']})"
        if not isinstance(f["facility"], str) or not f["facility"]:
            add("facilities", where, "facility", f["facility"], "a name")
        elif f["facility"] in seen:
            add("facilities", where, "facility", f["facility"], "each facility once")
        seen.add(str(f["facility"]))
        if f["stage"] not in STAGES[1:]:
            add("facilities", where, "stage", f["stage"], f"one of {list(STAGES[1:])}")
        if not isinstance(f["country"], str) or not f["country"]:
            add("facilities", where, "country", f["country"], "a country code, e.g. JP")
        lead = f["lead_periods"]
        whole = isinstance(lead, (int, float, np.number)) and not isinstance(lead, bool)
        if not (whole and np.isfinite(lead) and lead >= 0 and int(lead) == lead):
            add("facilities", where, "lead_periods", lead, "a whole number of periods >= 0")
        elif lead >= len(portfolio.period_labels):
            add(
                "facilities",
                where,
                "lead_periods",
                int(lead),
                f"fewer than the {len(portfolio.period_labels)} periods of the horizon (as "
                "given, nothing through it arrives in time)",
                "warning",
            )
        for field, low, high in (
            ("capacity_t", 0.0, np.inf),
            ("yield", 1e-9, 1.0),
            ("fee_usd_per_t", 0.0, np.inf),
        ):
            value = f[field]
            number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
            bound_ok = number and low <= value <= high and (field == "capacity_t" or value < np.inf)
            if not bound_ok:
                add("facilities", where, field, value, f"a number in [{low:g}, {high:g}]")
        elements = f["elements"]
        if elements != ALL:
            unknown = [
                e
                for e in (elements if isinstance(elements, tuple) else [elements])
                if e not in portfolio.elements
            ]
            if unknown or not isinstance(elements, tuple):
                add(
                    "facilities",
                    where,
                    "elements",
                    elements,
                    f"'*' or a list of elements in the demand table: {portfolio.elements}",
                )
    offers = portfolio.offers
    if "lead_periods" in offers:
        for label, value in offers["lead_periods"].items():
            whole = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
            if _blank(value):
                continue
            if not (whole and value >= 0 and int(value) == value):
                where = _offer_row(offers, label)
                add("offers", where, "lead_periods", value, "a whole number of periods >= 0")
            elif value >= len(portfolio.period_labels):
                add(
                    "offers",
                    _offer_row(offers, label),
                    "lead_periods",
                    int(value),
                    f"fewer than the {len(portfolio.period_labels)} periods of the horizon (as "
                    "given, nothing bought arrives in time)",
                    "warning",
                )
    transit = portfolio.in_transit
    for label, row in transit.iterrows():
        where = f"row {label} (element={row['element']}, period={row['period']})"
        if row["element"] not in portfolio.elements:
            add("in_transit", where, "element", row["element"], f"an element: {portfolio.elements}")
        if row["period"] not in portfolio.period_labels:
            add("in_transit", where, "period", row["period"], "a period of the portfolio")
        value = row["volume_t"]
        number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        if not (number and np.isfinite(value) and 0 <= value <= MAX_TONNES):
            add("in_transit", where, "volume_t", value, f"a number from 0 to {MAX_TONNES:g} (t)")
    if transit.duplicated(["element", "period"]).any():
        add("in_transit", "rows", "element+period", "duplicates", "each element and period once")
    for field in ("stage", *ORIGIN_FIELDS.values()):
        if field not in offers:
            continue
        for label, value in offers[field].items():
            if _blank(value):
                continue
            where = _offer_row(offers, label)
            if field == "stage" and value not in STAGES:
                add("offers", where, "stage", value, f"one of {list(STAGES)}")
            elif field != "stage" and not isinstance(value, str):
                add("offers", where, field, value, "a country code, e.g. MY")
            elif field != "stage":
                stage = next(st for st, f in ORIGIN_FIELDS.items() if f == field)
                sold = offers.at[label, "stage"] if "stage" in offers else None
                sold = DEFAULT_STAGE if _blank(sold) else sold
                if sold in STAGES and STAGES.index(stage) > STAGES.index(sold):
                    add(
                        "offers",
                        where,
                        field,
                        value,
                        f"a stage up to the offer's own ({sold}): the model chooses later ones "
                        "(this field is ignored)",
                        "warning",
                    )
    wanted = portfolio.policy.demand_stage
    for element, stage in wanted.items() if isinstance(wanted, dict) else [(ALL, wanted)]:
        if stage not in STAGES:
            add("policy", "demand_stage", element, stage, f"one of {list(STAGES)}")
        if element != ALL and element not in portfolio.elements:
            add("policy", "demand_stage", "element", element, f"an element: {portfolio.elements}")
    if len(portfolio.concentrates) and (len(facilities) or len(portfolio.policy.stage_caps)):
        add(
            "concentrates",
            "all rows",
            "concentrates",
            f"{len(portfolio.concentrates)} with facilities or stage caps",
            "concentrates, or facilities and stage caps: together not built yet (a concentrate "
            "has no stages)",
        )
    if issues:
        return issues
    stages = offer_stages(portfolio)
    wanted_by = demand_stages(portfolio)
    for offer in stages.to_dict("records"):
        where = f"supplier={offer['supplier']}, element={offer['element']}"
        end = wanted_by.get(offer["element"], DEFAULT_STAGE)
        if STAGES.index(offer["stage"]) > STAGES.index(end):
            add("offers", where, "stage", offer["stage"], f"at most the demand's stage, {end}")
            continue
        for stage in STAGES[STAGES.index(offer["stage"]) + 1 : STAGES.index(end) + 1]:
            if not any(
                f["stage"] == stage and _accepts(f["elements"], offer["element"])
                for f in facilities.to_dict("records")
            ):
                add(
                    "offers",
                    where,
                    "stage",
                    offer["stage"],
                    f"a facility of stage {stage} that takes {offer['element']} "
                    "(facilities table), or an offer at a later stage",
                )
    return issues

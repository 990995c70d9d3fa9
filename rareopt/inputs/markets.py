"""Contract terms of offers: how each prices its tonnes when market prices move.

One home for what a tonne of a contract costs at a market price: the two-stage model, the
independent checks and the contract report all price through :func:`contract_unit_prices`.

An offer's ``price_usd_per_t`` is today's market price of its material. A scenario may scale it
(a price shock: :class:`rareopt.inputs.scenarios.PriceShock`) by a factor ``m``; the market price
is then ``M = m x price_usd_per_t``. What the buyer pays per tonne depends on the offer's terms:

- ``pricing: fixed`` (default): the contract price, whatever the market does.
- ``pricing: indexed``: the market price ``M``, held within ``floor_usd_per_t`` and
  ``cap_usd_per_t`` when given (a floor, a cap, or both: a collar); then, with
  ``share_above_usd_per_t`` T and ``upside_share`` s, less s x (that price - T) above T (the
  seller shares its upside with the buyer).
- ``take_or_pay_t``: tonnes a period paid whether taken (or delivered) or not, at the contract's
  price (default 0: only what is bought is paid). Below that, every tonne bought costs nothing
  more; in a scenario where deliveries fall short, the minimum is still paid.

Freight is paid on top and does not move with the market.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rareopt.exceptions import ValidationIssue
from rareopt.inputs.tables import MAX_TONNES, is_number

if TYPE_CHECKING:
    from rareopt.inputs.portfolio import Portfolio

__all__ = [
    "PRICING",
    "CONTRACT_FIELDS",
    "contract_terms",
    "contract_unit_prices",
    "contract_issues",
]

PRICING = ("fixed", "indexed")
"""How an offer prices its tonnes: at the contract price, or at the market price."""

CONTRACT_FIELDS = {
    "pricing": "fixed",
    "floor_usd_per_t": np.nan,
    "cap_usd_per_t": np.nan,
    "share_above_usd_per_t": np.nan,
    "upside_share": 0.0,
    "take_or_pay_t": 0.0,
}
"""Offer fields of contract terms and their defaults (NaN: none)."""

_INDEXED_ONLY = ("floor_usd_per_t", "cap_usd_per_t", "share_above_usd_per_t", "upside_share")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def contract_terms(offers: pd.DataFrame, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """The offers' contract terms with defaults for fields left out.

    Columns supplier, element, price_usd_per_t, freight_usd_per_t and :data:`CONTRACT_FIELDS`:
    one row per offer, or with ``rows`` (supplier and element columns: purchases, plan rows) one
    per row of ``rows``, in its order.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> contract_terms(load_example("tiny").offers)["pricing"].unique().tolist()
    ['fixed']
    """
    columns = ["supplier", "element", "price_usd_per_t", "freight_usd_per_t"]
    terms = offers[columns].copy()
    for field, default in CONTRACT_FIELDS.items():
        given = offers[field] if field in offers else pd.Series(np.nan, index=offers.index)
        terms[field] = given.where(given.notna(), default)
    if rows is None:
        return terms
    keys = ["supplier", "element"]
    return rows[keys].reset_index(drop=True).merge(terms, on=keys, how="left")


def contract_unit_prices(terms: pd.DataFrame, factor: Any = 1.0) -> np.ndarray:
    """USD paid per tonne bought, freight included, at market factor ``factor``.

    Parameters
    ----------
    terms : DataFrame
        Rows of :func:`contract_terms` (one per purchase, say).
    factor : float or ndarray
        The market price over today's, per row (the last axis) and optionally per scenario (a
        leading axis).

    Returns
    -------
    ndarray
        ``factor``'s shape broadcast against the rows.

    Examples
    --------
    >>> terms = pd.DataFrame({"price_usd_per_t": [63_000.0], "freight_usd_per_t": [0.0],
    ...     "pricing": ["indexed"], "floor_usd_per_t": [110_000.0], "cap_usd_per_t": [np.nan],
    ...     "share_above_usd_per_t": [150_000.0], "upside_share": [0.5]})
    >>> contract_unit_prices(terms, np.array([[1.0], [4.0]])).ravel().tolist()
    [110000.0, 201000.0]
    """
    price = terms["price_usd_per_t"].to_numpy(float)
    freight = terms["freight_usd_per_t"].to_numpy(float)
    indexed = (terms["pricing"] == "indexed").to_numpy()
    market = np.asarray(factor, dtype=float) * price
    floor = terms["floor_usd_per_t"].to_numpy(float)
    cap = terms["cap_usd_per_t"].to_numpy(float)
    paid = np.clip(
        market, np.where(np.isnan(floor), -np.inf, floor), np.where(np.isnan(cap), np.inf, cap)
    )
    threshold = terms["share_above_usd_per_t"].to_numpy(float)
    share = terms["upside_share"].to_numpy(float)
    above = np.where(np.isnan(threshold), 0.0, np.maximum(paid - np.nan_to_num(threshold), 0.0))
    paid = paid - share * above
    return np.where(indexed, paid, price) + freight


def contract_issues(portfolio: Portfolio) -> list[ValidationIssue]:
    """Problems with the offers' contract terms, naming row and field.

    Examples
    --------
    >>> from rareopt.inputs.examples import load_example
    >>> contract_issues(load_example("tiny"))
    []
    """
    offers = portfolio.offers
    out: list[ValidationIssue] = []

    def add(label, field, value, allowed):
        where = (
            f"row {label} (supplier={offers.at[label, 'supplier']}, "
            f"element={offers.at[label, 'element']})"
        )
        out.append(ValidationIssue("offers", where, field, value, allowed))

    for label in offers.index:
        given = {f: offers.at[label, f] for f in CONTRACT_FIELDS if f in offers}
        given = {
            f: (v.item() if isinstance(v, np.generic) else v)
            for f, v in given.items()
            if not _blank(v)
        }
        pricing = given.get("pricing", "fixed")
        if pricing not in PRICING:
            add(label, "pricing", pricing, f"one of {list(PRICING)}")
        for field in ("floor_usd_per_t", "cap_usd_per_t", "share_above_usd_per_t"):
            if field in given and not (is_number(given[field], finite=True) and given[field] >= 0):
                add(label, field, given[field], "a number >= 0 (USD/t)")
        if "upside_share" in given and not (
            is_number(given["upside_share"], finite=True) and 0 <= given["upside_share"] <= 1
        ):
            add(label, "upside_share", given["upside_share"], "a number from 0 to 1")
        top = given.get("take_or_pay_t", 0.0)
        if not (is_number(top, finite=True) and 0 <= top <= MAX_TONNES):
            add(label, "take_or_pay_t", top, f"a number from 0 to {MAX_TONNES:g} (t a period)")
        if pricing == "fixed":
            for field in _INDEXED_ONLY:
                if field in given:
                    add(label, field, given[field], "only with pricing: indexed")
        floor, cap = given.get("floor_usd_per_t"), given.get("cap_usd_per_t")
        if is_number(floor, finite=True) and is_number(cap, finite=True) and floor > cap:
            add(label, "cap_usd_per_t", cap, f"at least floor_usd_per_t = {floor:g}")
        if is_number(top, finite=True) and top > 0:
            offer = portfolio.capacity[
                (portfolio.capacity["supplier"] == offers.at[label, "supplier"])
                & (portfolio.capacity["element"] == offers.at[label, "element"])
            ]["capacity_t"]
            if len(offer) and top > offer.max():
                out.append(
                    ValidationIssue(
                        "offers",
                        f"row {label} (supplier={offers.at[label, 'supplier']}, "
                        f"element={offers.at[label, 'element']})",
                        "take_or_pay_t",
                        top,
                        f"at most the offer's largest capacity, {offer.max():g} t (the rest is "
                        "paid for and never delivered)",
                        "warning",
                    )
                )
        if ("upside_share" in given) != ("share_above_usd_per_t" in given):
            add(
                label,
                "upside_share" if "upside_share" in given else "share_above_usd_per_t",
                given.get("upside_share", given.get("share_above_usd_per_t")),
                "with both share_above_usd_per_t and upside_share",
            )
    return out

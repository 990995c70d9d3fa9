"""Small portfolios for tests, built from Python records."""

from __future__ import annotations

import rareopt


def supplier(name, country, kind="mine", risk=0.0):
    return {"supplier": name, "country": country, "kind": kind, "risk_score": risk}


def offer(name, element, price, capacity, freight=0.0):
    return {
        "supplier": name,
        "element": element,
        "price_usd_per_t": price,
        "capacity_t": capacity,
        "freight_usd_per_t": freight,
    }


def two_supplier(cap=0.6, periods=2, demand=100.0, **policy):
    """One element (Nd), supplier A in CN at 50,000 USD/t and B in AU at 60,000 USD/t."""
    return rareopt.Portfolio(
        periods=periods,
        demand={"Nd": demand},
        suppliers=[supplier("A", "CN"), supplier("B", "AU")],
        offers=[offer("A", "Nd", 50_000, 200), offer("B", "Nd", 60_000, 200)],
        policy={"country_caps": {"CN": cap}, **policy},
        name="two-supplier",
    )

"""Random, realistic portfolios for tests and benchmarks, deterministic for a seed."""

from __future__ import annotations

import numpy as np

from rareopt.inputs.portfolio import Portfolio
from rareopt.inputs.scenarios import ScenarioSet

__all__ = ["generate", "generate_size", "disruptions", "with_stages", "SIZES"]

SIZES = {
    "small": (7, 15, 12, 10),
    "medium": (17, 60, 24, 200),
    "large": (17, 120, 60, 500),
}
"""Named sizes: elements, suppliers, periods, scenarios (issue 6's benchmark sizes)."""

COUNTRIES = ("CN", "AU", "MY", "IN", "VN", "KZ", "MM", "US", "JP", "MN")


def generate(elements: int = 7, suppliers: int = 15, periods: int = 12, seed: int = 0) -> Portfolio:
    """A random portfolio with one dominant country (CN: about 40% of suppliers).

    Each element is offered by half the suppliers (at least five) at 20,000-80,000 USD/t with
    20-200 t of capacity per period; demand is 100-400 t per period; the stock target ramps from 60
    to 120 days; CN is capped at 50% and every supplier at 30%.

    Parameters
    ----------
    elements, suppliers, periods : int
        Sizes.
    seed : int
        Random seed; the same arguments give the same portfolio.

    Examples
    --------
    >>> p = generate(3, 8, 4, seed=1)
    >>> (len(p.elements), len(p.suppliers), len(p.periods))
    (3, 8, 4)
    >>> generate(3, 8, 4, seed=1).offers.equals(p.offers)
    True
    """
    rng = np.random.default_rng(seed)
    names = [f"E{k}" for k in range(elements)]
    countries = np.where(rng.random(suppliers) < 0.4, "CN", rng.choice(COUNTRIES[1:], suppliers))
    countries[0] = "CN" if "CN" not in countries else countries[0]  # the capped, dominant one
    supplier_rows = [
        {
            "supplier": f"S{k}",
            "country": str(c),
            "kind": "mine",
            "risk_score": float(rng.uniform(0, 1)),
        }
        for k, c in enumerate(countries)
    ]
    offers = []
    for element in names:
        chosen = rng.choice(suppliers, size=min(suppliers, max(5, suppliers // 2)), replace=False)
        for k in chosen:
            offers.append(
                {
                    "supplier": f"S{k}",
                    "element": element,
                    "price_usd_per_t": float(rng.uniform(20_000, 80_000)),
                    "capacity_t": rng.uniform(20, 200, periods).round(1).tolist(),
                }
            )
    demand = {e: rng.uniform(100, 400, periods).round(1).tolist() for e in names}
    stockpile = [
        {
            "element": e,
            "initial_t": 300.0,
            "target_days": {"from": 60, "to": 120, "periods": periods},
            "capacity_t": 5_000.0,
            "holding_usd_per_t": 100.0,
        }
        for e in names
    ]
    return Portfolio(
        periods=periods,
        demand=demand,
        suppliers=supplier_rows,
        offers=offers,
        stockpile=stockpile,
        name=f"synthetic-{elements}x{suppliers}x{periods}-seed{seed}",
        policy={"country_caps": {"CN": 0.5}, "supplier_caps": 0.3, "risk_weight_usd_per_t": 1000},
    )


def generate_size(name: str, seed: int = 0) -> Portfolio:
    """The portfolio of a named size (:data:`SIZES`; its scenario count is for two-stage runs).

    Examples
    --------
    >>> len(generate_size("small").elements)
    7
    """
    if name not in SIZES:
        raise ValueError(f"size: got {name!r}; allowed: {sorted(SIZES)}")
    elements, suppliers, periods, _ = SIZES[name]
    return generate(elements, suppliers, periods, seed=seed)


def with_stages(portfolio: Portfolio, share: float = 1 / 3, seed: int = 0) -> Portfolio:
    """The portfolio with processing stages: about ``share`` of the offers sell unseparated feed.

    Those offers (chosen at random, deterministic for a seed) become ``stage: mining`` at 85% of
    their price, to be separated by one of four facilities (CN, JP, EE, US: yields 0.9-0.95,
    fees 2-8% of the mean price, the non-Chinese ones with capacity for about a tenth of
    demand), and China is capped at 60% of each element's separated tonnes. Benchmarks the
    route model at scale.

    Examples
    --------
    >>> p = with_stages(generate_size("small"))
    >>> sorted(p.facilities["country"]), bool((p.offers["stage"] == "mining").any())
    (['CN', 'EE', 'JP', 'US'], True)
    """
    rng = np.random.default_rng(seed)
    offers = portfolio.offers.copy()
    feed = rng.random(len(offers)) < share
    offers["stage"] = np.where(feed, "mining", "separation")
    offers["price_usd_per_t"] = offers["price_usd_per_t"].where(
        ~feed, offers["price_usd_per_t"] * 0.85
    )
    mean_price = float(portfolio.offers["price_usd_per_t"].mean())
    demand = float(portfolio.demand["demand_t"].sum()) / len(portfolio.period_labels)
    facilities = [
        {
            "facility": f"{c}-Separation",
            "stage": "separation",
            "country": c,
            "capacity_t": cap,
            "yield": y,
            "fee_usd_per_t": fee * mean_price,
        }
        for c, cap, y, fee in (
            ("CN", np.inf, 0.95, 0.02),
            ("JP", 0.1 * demand, 0.92, 0.06),
            ("EE", 0.1 * demand, 0.92, 0.05),
            ("US", 0.1 * demand, 0.9, 0.08),
        )
    ]
    caps = [{"country": "CN", "element": "*", "stage": "separation", "max_share": 0.6}]
    staged = portfolio.replace_tables(
        offers=offers, capacity=portfolio.capacity, facilities=facilities
    )
    return staged.with_policy(stage_caps=caps)


def disruptions(portfolio: Portfolio, n: int, seed: int = 0) -> ScenarioSet:
    """``n`` random single-disruption scenarios, equally likely, deterministic for a seed.

    Each cuts a country (three times in four) or one supplier, for every element or one, from a
    random period for 1 to 6 periods, delivering a random 0-90% of the contracted volume.

    Examples
    --------
    >>> s = disruptions(generate_size("small"), 10, seed=1)
    >>> len(s), round(float(s.probabilities.sum()), 12)
    (10, 1.0)
    """
    rng = np.random.default_rng(seed)
    countries, suppliers = portfolio.countries, portfolio.suppliers["supplier"].tolist()
    periods = len(portfolio.period_labels)
    scenarios = []
    for k in range(n):
        who = (
            {"supplier": str(rng.choice(suppliers))}
            if rng.random() < 0.25
            else {"country": str(rng.choice(countries))}
        )
        elements = "*" if rng.random() < 0.5 else [str(rng.choice(portfolio.elements))]
        disruption = {
            **who,
            "elements": elements,
            "start": int(rng.integers(1, periods + 1)),
            "duration": int(rng.integers(1, 7)),
            "delivered_fraction": round(float(rng.uniform(0, 0.9)), 3),
        }
        scenarios.append({"name": f"s{k}", "probability": 1.0 / n, "disruptions": [disruption]})
    return ScenarioSet(scenarios)

"""What is a 110 USD/kg NdPr floor contract with Lynas worth to us, against a 2010-style embargo
with a price spike, and what does it cost us when prices fall?

The japan example's buyer compares three ways to hold Lynas's NdPr (its Nd and Pr offers, about
129 t a month):

- none: no Lynas NdPr;
- market offtake: Lynas at the market price, no floor, no commitment;
- floor contract: the Lynas-JARE terms as reported (company announcements, press): a floor of
  110 USD/kg (110,000 USD/t), upside sharing above about 150 USD/kg, and a firm volume. The share
  returned above 150 USD/kg (50%) is an assumption; the firm volume here is the example's whole
  Lynas offer, paid whether taken or not (the reported 5,000 t/yr is more than the example gives
  Japan of Lynas's output).

Every NdPr contract follows the market (``pricing: indexed``), as rare-earth offtakes do. The
scenarios (probabilities are assumptions):

- calm (0.80);
- a 2010-style embargo (0.10): China ships nothing for two months from July 2026 (data: 2010) and
  every price rises 537% (data: China's average oxide export price in 2011), holding two months and
  falling back over the next twelve (it fell back by 2013);
- prices fall (0.10): NdPr trades 40% below today's price for the whole horizon (assumption).

Run: python examples/lynas_floor_contract.py
"""

import pandas as pd

import rareopt

japan = rareopt.load_example("japan")
NDPR = ["Nd", "Pr"]

scenarios = rareopt.ScenarioSet(
    [
        {"name": "calm", "probability": 0.80},
        {
            "name": "embargo and spike",
            "probability": 0.10,
            "disruptions": [{"country": "CN", "start": "2026-07", "duration": 2}],
            "prices": [
                {"country": "*", "start": "2026-07", "factor": [6.37, 6.37], "recovery_periods": 12}
            ],
        },
        {
            "name": "prices fall",
            "probability": 0.10,
            "prices": [
                {"country": "*", "elements": NDPR, "start": 1, "duration": 24, "factor": 0.6}
            ],
        },
    ],
    name="Lynas floor contract",
)


def with_lynas(terms: dict | None) -> rareopt.Portfolio:
    """japan with every NdPr offer indexed, and Lynas's on ``terms`` (None: no Lynas NdPr)."""
    offers = japan.offers.copy()
    ndpr = offers["element"].isin(NDPR)
    offers.loc[ndpr, "pricing"] = "indexed"
    capacity = japan.capacity.copy()
    lynas_cap = capacity["supplier"].eq("AU-Lynas") & capacity["element"].isin(NDPR)
    if terms is None:
        capacity.loc[lynas_cap, "capacity_t"] = 0.0
    else:
        lynas = ndpr & offers["supplier"].eq("AU-Lynas")
        for field, value in terms.items():
            if field == "take_or_pay_t":  # the whole monthly offer, per element
                monthly = capacity[lynas_cap].groupby("element")["capacity_t"].max()
                value = offers.loc[lynas, "element"].map(monthly)
            offers.loc[lynas, field] = value
    return japan.replace_tables(offers=offers, capacity=capacity)


FLOOR_CONTRACT = {
    "floor_usd_per_t": 110_000,
    "share_above_usd_per_t": 150_000,
    "upside_share": 0.5,
    "take_or_pay_t": "firm",
}
variants = {
    "none": with_lynas(None),
    "market offtake": with_lynas({}),
    "floor contract": with_lynas(FLOOR_CONTRACT),
}
results = {name: rareopt.solve(p, scenarios=scenarios) for name, p in variants.items()}

rows = {}
for name, result in results.items():
    m, cost = result.scenarios.metrics, result.scenarios.cost
    rows[name] = {
        "expected spend (USD)": m["expected_spend_usd"],
        "cost at risk, CVaR 95% of spend (USD)": m["spend_cvar_usd"],
        "spend if prices fall (USD)": cost.loc["prices fall", "spend_usd"],
        "P(unmet beyond plan)": m["probability_of_extra_unmet"],
        "expected unmet (t)": m["expected_unmet_t"],
        "penalties, expected (USD, not money)": result.objective - m["expected_spend_usd"],
    }
table = pd.DataFrame(rows)
print("Two-stage plans for each way of holding Lynas's NdPr (24 months, japan example):")
print(table.to_string(float_format=lambda v: f"{v:,.0f}" if abs(v) >= 1 else f"{v:.3f}"))

floor, market, none = (table[c] for c in ("floor contract", "market offtake", "none"))
# Without Lynas the plan spends less because it buys less: China's 50% cap binds and NdPr demand
# goes unmet in every scenario. Spend is comparable only between plans that serve the same demand.
short = results["none"].unmet.loc[NDPR, "unmet_t"].sum()
print(
    f"\nWithout Lynas NdPr, the plan itself leaves {short:,.0f} t of NdPr demand unmet (China's cap "
    "binds): that is what Lynas's supply secures, whatever its terms."
)
print(
    f"The floor contract against a plain market offtake: "
    f"{floor['expected spend (USD)'] - market['expected spend (USD)']:+,.0f} USD of expected spend, "
    f"{floor['cost at risk, CVaR 95% of spend (USD)'] - market['cost at risk, CVaR 95% of spend (USD)']:+,.0f} "
    "USD of cost at risk (negative: the contract lowers it)."
)

# What the Lynas contract paid against the market value of its tonnes, per scenario.
contracts = results["floor contract"].scenarios.contracts
lynas = contracts.xs("AU-Lynas", level="supplier").loc[(slice(None), NDPR), :]
earned = lynas.groupby(level="scenario")[
    ["delivered_t", "paid_usd", "market_usd", "earned_usd"]
].sum()
print(
    "\nThe floor contract against the market (earned = market value less paid; negative: a cost):"
)
print(earned.to_string(float_format=lambda v: f"{v:,.0f}"))
print(
    f"\nWhen prices fall the floor costs {-earned.loc['prices fall', 'earned_usd']:,.0f} USD over "
    f"24 months; in the embargo the contract earns {earned.loc['embargo and spike', 'earned_usd']:,.0f} "
    "USD against the market."
)

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

Every NdPr contract follows the market (``pricing: indexed``), as rare-earth offtakes do. Japan
can also thrift NdPr in an emergency (up to 10% of demand a month after the disruption starts,
at 80,000 USD/t, and it stays: assumptions after the post-2010 cuts), and its stockpile follows
release rules (at most 15 days of demand a month beyond the plan, 30 days kept outside an
emergency, release when deliveries fall below 70%: assumptions in the spirit of Korea's and
JOGMEC's practice). The scenarios (probabilities are assumptions):

- calm (0.80);
- a 2010-style embargo (0.10): China ships nothing for two months from July 2026, then half for a
  month as shipments resume (data: 2010; the resumption profile an assumption), and every price
  rises 537% (data: China's average oxide export price in 2011), holding two months and falling
  back over the next twelve (it fell back by 2013);
- prices fall (0.10): NdPr trades 40% below today's price for the whole horizon (assumption).

Then the same contract against 40 sampled futures (persistent Chinese disruptions, volatile
prices that jump while a disruption lasts), and re-planned month by month rather than signed up
front (``rareopt.simulate``).

Run: python examples/lynas_floor_contract.py
"""

import pandas as pd

import rareopt

NDPR = ["Nd", "Pr"]
japan = rareopt.load_example("japan")
japan = japan.replace_tables(
    responses=[
        {
            "response": f"{e} thrifting",
            "element": e,
            "kind": "thrifting",
            "max_share": 0.1,
            "cost_usd_per_t": 80_000,
            "lead_periods": 1,
            "sticky": True,
            "decision": "recourse",
        }
        for e in NDPR
    ]
).with_policy(release_rules=[{"max_release_days": 15, "floor_days": 30, "trigger_share": 0.7}])

scenarios = rareopt.ScenarioSet(
    [
        {"name": "calm", "probability": 0.80},
        {
            "name": "embargo and spike",
            "probability": 0.10,
            "disruptions": [
                {"country": "CN", "start": "2026-07", "delivered_fraction": [0.0, 0.0, 0.5]}
            ],
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

# The same contract against 40 sampled futures: each year China is disrupted with probability
# 0.3, each month continuing with probability 0.75 (four months on average), prices moving 30% a
# year and doubling while a disruption lasts (assumptions).
sampled = rareopt.generate_scenarios(
    japan, 40, {"CN": 0.3}, persistence=0.75, price_volatility=0.3, price_jump=2.0, seed=7
)
value = rareopt.solve(variants["floor contract"], scenarios=sampled).scenarios.contract_value()
lynas_value = value.loc[[(e, "AU-Lynas") for e in NDPR]]
print(
    f"\nAgainst 40 sampled futures the floor contract earns "
    f"{lynas_value['expected_earned_usd'].sum():,.0f} USD in expectation against the market "
    f"(worst {lynas_value['worst_earned_usd'].sum():,.0f} USD)."
)

# Re-planned month by month with what has been seen, instead of signed up front.
replanned = rareopt.simulate(variants["floor contract"], scenarios)
print(
    f"Re-planning every month realises {replanned.metrics['expected_total_usd']:,.0f} USD in "
    f"expectation (penalties included), against the two-stage plan's "
    f"{replanned.metrics['two_stage_objective_usd']:,.0f} USD."
)

"""Build a portfolio from pandas DataFrames and add a constraint of your own with Pyomo.

The 2012 Japan-India agreement: at least 4,100 t a year of rare earths from India.
Run: python examples/custom_constraint_india.py
"""

import pandas as pd
import pyomo.environ as pyo

import rareopt

periods = {"start": "2026-01", "count": 12, "freq": "month"}
demand = pd.DataFrame({"element": ["Nd", "Ce"], "demand_t": [600.0, 900.0]})  # t REO per month
suppliers = pd.DataFrame(
    {
        "supplier": ["CN-Baotou", "AU-Lynas", "IN-IREL", "JP-Recycling"],
        "country": ["CN", "AU", "IN", "JP"],
        "kind": ["mine", "mine", "processor", "recycler"],
        "risk_score": [0.7, 0.2, 0.3, 0.0],
    }
)
offers = pd.DataFrame(
    {
        "supplier": [
            "CN-Baotou",
            "CN-Baotou",
            "AU-Lynas",
            "AU-Lynas",
            "IN-IREL",
            "IN-IREL",
            "JP-Recycling",
        ],
        "element": ["Nd", "Ce", "Nd", "Ce", "Nd", "Ce", "Nd"],
        "price_usd_per_t": [56_000, 1_500, 63_000, 1_800, 65_000, 2_000, 70_000],  # USD/t
        "capacity_t": [1_000, 2_000, 300, 400, 150, 500, 40],  # t per month
    }
)
portfolio = rareopt.Portfolio(
    periods=periods,
    demand=demand.set_index("element")["demand_t"].to_dict(),
    suppliers=suppliers,
    offers=offers,
    policy={"country_caps": {"CN": 0.5}},
    name="india-deal",
)

model = rareopt.build(portfolio)
plain = rareopt.solve(model)

# Our own constraint, written in the model's terms: buy[element, supplier, period] in t REO.
from_india = sum(model.buy[k] for k in model.buy if k[1] == "IN-IREL")
model.india_agreement = pyo.Constraint(expr=from_india >= 4_100)
with_deal = rareopt.solve(model)

india = with_deal.plan.xs("IN-IREL", level="supplier")["volume_t"].sum()
print(f"bought from India over the year: {india:,.0f} t (agreement: >= 4,100 t)")
print(f"cost of honouring the agreement: {with_deal.objective - plain.objective:,.0f} USD")
print(with_deal.summary())

"""Tighten China's cap on Japan's rare-earth imports and see what it costs and who fills the gap.

Run: python examples/tighten_china_cap.py
"""

import rareopt

japan = rareopt.load_example("japan")
base = rareopt.solve(japan)
print(f"China capped at 50%: total cost {base.objective:,.0f} USD")

# The policy question: what if Japan allows China at most 40% of each element, every month?
tighter = rareopt.solve(japan.with_policy(country_caps={"CN": 0.4}))
print(
    f"China capped at 40%: total cost {tighter.objective:,.0f} USD "
    f"(+{tighter.objective - base.objective:,.0f} USD over 24 months)"
)
# Most of the increase is not dearer tonnes: non-Chinese supply runs out, so stock targets are
# missed and some demand goes unmet, each at the penalty the portfolio sets.
terms = tighter.cost_terms
print(
    f"  of which stock-target penalty {terms['target_penalty']:,.0f} USD, "
    f"unmet demand {tighter.unmet['unmet_t'].sum():,.0f} t"
)

# Shares over the whole horizon (period "*"), by country, per element, in percent.
shares = tighter.shares.xs(("*", "seller", "country"), level=("period", "stage", "by"))["share"]
print((100 * shares).unstack("holder").fillna(0).round(1).to_string())

# What one more point of tightening would cost, from the LP duals, summed over the months.
# Large values mean non-Chinese capacity is nearly used up: the next point costs stock shortfalls.
caps = tighter.duals.xs("country_cap", level="constraint")
print("\nUSD cost of lowering China's cap by one more point, per element:")
print(caps.groupby(level="element")["usd_per_point_tighter"].sum().round(0).to_string())

"""Analysis built on solves: frontiers, stress tests, EVPI/VSS, marginal values, indicators.

Also the solver-settings benchmark (:mod:`rareopt.analysis.bench`).
"""

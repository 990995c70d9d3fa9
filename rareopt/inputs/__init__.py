"""Data in: portfolios, their tables and validation, files, scenarios, examples, synthetic data.

The bottom layer: it imports neither Pyomo nor highspy, nor any other rareopt layer (only the
shared vocabulary of :mod:`rareopt.exceptions` and :mod:`rareopt.status`).
"""

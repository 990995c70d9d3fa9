"""Random portfolios and scenario sets of a given size (kept here for analysts' scripts).

The same functions as :mod:`rareopt.inputs.synthetic`: :func:`generate`, :func:`generate_size`,
:func:`disruptions` and the named :data:`SIZES`.
"""

from rareopt.inputs.synthetic import COUNTRIES, SIZES, disruptions, generate, generate_size

__all__ = ["generate", "generate_size", "disruptions", "SIZES", "COUNTRIES"]

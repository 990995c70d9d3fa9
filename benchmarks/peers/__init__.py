"""Peer formulations of rareopt's LP, for side-by-side benchmarks (not rareopt dependencies)."""

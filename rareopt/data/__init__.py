"""Built-in portfolios (YAML) and their sources (SOURCES.md)."""

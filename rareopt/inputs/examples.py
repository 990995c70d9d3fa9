"""Built-in example portfolios shipped with the package (``rareopt/data/*.yaml``)."""

from __future__ import annotations

from importlib import resources

from rareopt.inputs.portfolio import Portfolio

__all__ = ["list_examples", "example_path", "load_example"]


def list_examples() -> dict[str, str]:
    """Names of the built-in portfolios and the first sentence of each one's description.

    Examples
    --------
    >>> sorted(list_examples())
    ['bundles', 'japan', 'tiny']
    """
    import yaml

    out = {}
    for entry in sorted(resources.files("rareopt.data").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            spec = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
            text = " ".join(str(spec.get("description") or "").split())
            out[entry.name[:-5]] = text.split(": ")[0].split(". ")[0]
    return out


def example_path(name: str) -> str:
    """Path of a built-in portfolio's YAML file.

    Examples
    --------
    >>> example_path("tiny").endswith("tiny.yaml")
    True
    """
    path = resources.files("rareopt.data").joinpath(f"{name}.yaml")
    if not path.is_file():
        raise ValueError(f"example: got {name!r}; allowed: {sorted(list_examples())}")
    return str(path)


def load_example(name: str = "japan") -> Portfolio:
    """Load a built-in portfolio: ``"japan"`` (the flagship) or ``"tiny"`` (for tutorials).

    Examples
    --------
    >>> load_example("tiny").period_labels[0]
    'P1'
    """
    return Portfolio.from_yaml(example_path(name))

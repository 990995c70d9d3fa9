"""Files written whole or not at all: a temporary name beside the target, then a rename.

Shared vocabulary like :mod:`rareopt.exceptions`: every layer that writes a file uses it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

__all__ = ["strict_json", "write_csv_tables", "written_whole"]


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (inf, nan) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def strict_json(payload: Any) -> str:
    """``payload`` as strict JSON text: infinite or undefined numbers become null.

    Examples
    --------
    >>> print(strict_json({"objective_usd": float("nan"), "gap_pct": 0.5}))
    {
      "objective_usd": null,
      "gap_pct": 0.5
    }
    """
    return json.dumps(_finite(payload), indent=2, allow_nan=False)


@contextlib.contextmanager
def written_whole(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path to write; on success it replaces ``path``, on failure it goes.

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "plan.csv")
    >>> with written_whole(target) as part:
    ...     with open(part, "w") as handle:
    ...         _ = handle.write("element,volume_t")
    >>> open(target).read()
    'element,volume_t'
    >>> try:
    ...     with written_whole(target) as part:
    ...         raise RuntimeError("disk full")
    ... except RuntimeError:
    ...     pass
    >>> open(target).read(), len(os.listdir(os.path.dirname(target)))  # the old file, no debris
    ('element,volume_t', 1)
    """
    path = os.path.realpath(os.fspath(path))  # through a link, to the file it names
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"no such directory for {path!r}: {directory!r}")
    suffix = os.path.splitext(path)[1]  # writers that choose a format by extension keep it
    handle, part = tempfile.mkstemp(prefix=".rareopt-", suffix=suffix, dir=directory)
    os.close(handle)
    # The mode a plain open() would give (mkstemp makes the file private to its owner).
    os.chmod(part, os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o666 & ~_umask())
    try:
        yield part
        os.replace(part, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(part)
        raise


def write_csv_tables(directory: str | os.PathLike[str], tables: Mapping[str, Any]) -> list[str]:
    """Write each table (a DataFrame or Series) as ``<name>.csv`` in ``directory``, each whole.

    The directory is created if need be; returns the paths written.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> folder = os.path.join(tempfile.mkdtemp(), "out")
    >>> [os.path.basename(p) for p in write_csv_tables(folder, {"plan": pd.DataFrame({"t": [1]})})]
    ['plan.csv']
    """
    os.makedirs(directory, exist_ok=True)
    paths = []
    for name, table in tables.items():
        path = os.path.join(os.fspath(directory), f"{name}.csv")
        with written_whole(path) as part:
            table.to_csv(part)
        paths.append(path)
    return paths


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

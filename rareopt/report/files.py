"""Result files an analyst opens elsewhere: the Excel workbook."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import pandas as pd

from rareopt.files import written_whole

if TYPE_CHECKING:
    from rareopt.results.result import Result

__all__ = ["write_excel"]


def write_excel(result: Result, path: str) -> str:
    """Write one sheet per table of ``result`` to an .xlsx file (needs openpyxl: the ``excel`` extra).

    Examples
    --------
    >>> import os, tempfile, rareopt
    >>> r = rareopt.solve(rareopt.load_example("tiny"))
    >>> path = write_excel(r, os.path.join(tempfile.mkdtemp(), "tiny.xlsx"))
    >>> os.path.getsize(path) > 0
    True
    """
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        raise ImportError("to_excel needs openpyxl: pip install 'rareopt[excel]'") from exc
    tables = result.export_tables()  # NoPlanError before any file is made
    with written_whole(path) as part:
        writer = pd.ExcelWriter(part)
        try:
            for name, table in tables.items():
                table.to_excel(writer, sheet_name=name)
        except BaseException:
            # Closing a half-written workbook raises openpyxl's own error over the real one.
            with contextlib.suppress(Exception):
                writer.close()
            raise
        writer.close()
    return path

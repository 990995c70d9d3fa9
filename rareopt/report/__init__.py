"""Reports of results: the text summary, the one-page briefing, comparisons, plots, files.

Importing this layer registers its writers as ``Result.summary``, ``Result.report`` and
``Result.to_excel`` (:func:`rareopt.results.result.register_renderer`), as pandas'
``DataFrame.plot`` reaches its plotting backend: the results layer never imports this one.
"""

from rareopt.report.briefing import compare, write_report
from rareopt.report.files import write_excel
from rareopt.report.text import summary_text
from rareopt.results.result import register_renderer

__all__ = ["compare", "summary_text", "write_report", "write_excel"]

register_renderer("summary", summary_text)
register_renderer("report", write_report)
register_renderer("excel", write_excel)

from rareopt.deprecation import moved_names as _moved_names  # noqa: E402

# The names rareopt 0.1's module ``rareopt.report`` had, until 0.3.
__getattr__ = _moved_names(
    "rareopt.report",
    {
        "country_share_matrix": "rareopt.report.text:country_share_matrix",
        "element_overview": "rareopt.report.text:element_overview",
        "criticality_table": "rareopt.report.text:criticality_table",
    },
)

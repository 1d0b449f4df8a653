"""Reports on a sweep's results store: summary tables, figures, report.html and report.md.

Tables, figures and documents depend only on the store (``sweep.RunStore``/``load_results``),
never on models or training; the regression check (``regression.py``) re-runs a recorded
sweep and reloads its models through ``sweep`` and ``training``.
"""

from .tables import display_table, markdown_table, summary_table, value_columns
from .writer import ReportPaths, make_figures, write_report, write_tables

__all__ = [
    "ReportPaths",
    "display_table",
    "make_figures",
    "markdown_table",
    "summary_table",
    "value_columns",
    "write_report",
    "write_tables",
]

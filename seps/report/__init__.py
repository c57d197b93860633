"""Reports of sweeps: Markdown tables (paper Table 2, partition quality) and PNG plots.

>>> from seps.report import write_report
>>> write_report("sweeps/sharing-modes")   # -> sweeps/sharing-modes/report.md
"""

from seps.report.report import write_report
from seps.report.results import CellRecord, load_records

__all__ = ["CellRecord", "load_records", "write_report"]

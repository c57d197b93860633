"""The paper's Table 2 beside ours: maximum evaluation return per task and sharing mode, A2C.

The paper's numbers are data (``paper_table2.csv`` next to this module), read once; a task of a sweep
appears in the table when the paper has it. Cells of other learners than A2C are left out (the paper
trained A2C only).
"""

from __future__ import annotations

import csv
import functools
from importlib import resources

from seps.methods import method_title
from seps.report.results import CellRecord, mean_std

PAPER_METHODS = ("nops", "seps", "fups", "fups_id")
"""The paper's column order."""


@functools.cache
def paper_results() -> dict[tuple[str, str], tuple[float, float]]:
    """{(task, method): (mean, std)} of the paper's Table 2."""
    text = resources.files("seps.report").joinpath("paper_table2.csv").read_text()
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {(row["env"], row["method"]): (float(row["mean"]), float(row["std"])) for row in rows}


def _bold_within_one_std(stats: dict[str, tuple[float, float]]) -> set[str]:
    """The paper's rule: the highest mean and every mean within one std of it."""
    if not stats:
        return set()
    best_mean, best_std = max(stats.values(), key=lambda s: s[0])
    return {key for key, (mean, _) in stats.items() if mean >= best_mean - best_std}


def _cell(stats: tuple[float, float] | None, bold: bool, n: int | None = None) -> str:
    if stats is None:
        return "—"
    text = f"{stats[0]:.2f} ± {stats[1]:.2f}" + (f" (n={n})" if n is not None else "")
    return f"**{text}**" if bold else text


def table2(records: list[CellRecord]) -> str | None:
    """Rows: the sweep's tasks the paper has; per sharing mode, our max evaluation return and the paper's."""
    paper = paper_results()
    values: dict[tuple[str, str], list[float]] = {}
    for record in records:
        cell, summary = record.cell, record.summary
        learner = "a2c" if cell.learner is None else cell.learner.name
        if cell.mode != "train" or summary is None or learner != "a2c" or cell.method not in PAPER_METHODS:
            continue
        task = cell.env.label
        if any(key[0] == task for key in paper):
            values.setdefault((task, cell.method), []).append(summary.best_return)
    if not values:
        return None
    tasks = list(dict.fromkeys(task for task, _ in values))
    header = ["task"] + [f"{method_title(m)} {who}" for m in PAPER_METHODS for who in ("ours", "paper")]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for task in tasks:
        ours = {m: mean_std(values[(task, m)]) for m in PAPER_METHODS if (task, m) in values}
        theirs = {m: paper[(task, m)] for m in PAPER_METHODS if (task, m) in paper}
        bold_ours, bold_theirs = _bold_within_one_std(ours), _bold_within_one_std(theirs)
        row = [task]
        for m in PAPER_METHODS:
            n = len(values[(task, m)]) if (task, m) in values else None
            row += [_cell(ours.get(m), m in bold_ours, n), _cell(theirs.get(m), m in bold_theirs)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)

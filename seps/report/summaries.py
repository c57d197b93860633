"""A sweep's small per-cell summaries, copied without run directories, so a report can be re-rendered anywhere.

``export_summaries(sweep, dest)`` copies ``sweep.json`` (and the sweep file) and, per cell, ``cell.json``,
``done.json`` (the :class:`~seps.records.RunSummary`: K, ARI, evaluations, wall time),
``partition.json``, ``partitions.jsonl`` (adaptive SePS: one line per check) and ``error.txt`` — a few
kB per cell, meant for git — and nothing else (no checkpoints, metrics logs, embeddings or
transitions). ``seps report DEST`` then renders the tables, the learning curves (from the evaluations
in ``done.json``) and adaptive runs' K and ARI against env steps.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from seps.errors import ConfigError
from seps.sweep import load_manifest

SWEEP_FILES = ("sweep.json", "sweep.yaml")
CELL_FILES = ("cell.json", "done.json", "partition.json", "partitions.jsonl", "error.txt")


def export_summaries(sweep_dir: str | Path, dest: str | Path) -> int:
    """Copy the summaries of ``sweep_dir`` into ``dest`` (created; files replaced); returns the cells copied."""
    sweep_dir, dest = Path(sweep_dir), Path(dest)
    manifest = load_manifest(sweep_dir)  # refuses a directory that is not a sweep
    if dest.resolve() == sweep_dir.resolve():
        raise ConfigError(f"--summaries {dest} is the sweep directory itself; give another directory")
    dest.mkdir(parents=True, exist_ok=True)
    for name in SWEEP_FILES:
        if (sweep_dir / name).is_file():
            shutil.copyfile(sweep_dir / name, dest / name)
    copied = 0
    for cell in manifest["cells"]:
        source, target = sweep_dir / "cells" / cell["name"], dest / "cells" / cell["name"]
        files = [source / name for name in CELL_FILES if (source / name).is_file()]
        if not files:
            continue
        target.mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.copyfile(path, target / path.name)
        copied += 1
    return copied

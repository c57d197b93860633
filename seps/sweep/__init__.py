"""Ablation sweeps: a grid of runs (or partitions) from a YAML file, run locally or on Ray, resumable.

>>> from seps.sweep import run_sweep
>>> result = run_sweep("examples/sharing_modes.yaml", workers=2)
>>> result.sweep_dir, len(result.failed)

See ``docs/sweeps.md`` for the file format.
"""

from seps.sweep.components import Component
from seps.sweep.grid import Cell, expand
from seps.sweep.markers import Outcome, read_done
from seps.sweep.progress import SweepStatus
from seps.sweep.run import SweepResult, load_manifest, plan_sweep, run_sweep
from seps.sweep.spec import SweepSpec, load_spec, parse_spec, parse_text

__all__ = [
    "Cell",
    "Component",
    "Outcome",
    "SweepResult",
    "SweepSpec",
    "SweepStatus",
    "expand",
    "load_manifest",
    "load_spec",
    "parse_spec",
    "parse_text",
    "plan_sweep",
    "read_done",
    "run_sweep",
]

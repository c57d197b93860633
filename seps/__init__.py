"""seps: Selective Parameter Sharing for multi-agent reinforcement learning.

The names below load on first use (PEP 562), so ``import seps`` and the CLI's argument checks do not
import torch; each registry imports its built-in components at its first look-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from seps.registry import ENCODERS, ENVS, LEARNERS, METHODS, PARTITIONERS

if TYPE_CHECKING:
    from seps.builtin_components import load_builtins
    from seps.experiment import Experiment, RunResult, build, resume
    from seps.pipeline import PartitionResult, partition_agents
    from seps.records import Embeddings, Partition, Transitions

_LAZY = {
    "load_builtins": "seps.builtin_components",
    "Experiment": "seps.experiment",
    "RunResult": "seps.experiment",
    "build": "seps.experiment",
    "resume": "seps.experiment",
    "PartitionResult": "seps.pipeline",
    "partition_agents": "seps.pipeline",
    "Embeddings": "seps.records",
    "Partition": "seps.records",
    "Transitions": "seps.records",
}

__all__ = [
    "ENCODERS",
    "ENVS",
    "LEARNERS",
    "METHODS",
    "PARTITIONERS",
    "Embeddings",
    "Experiment",
    "Partition",
    "PartitionResult",
    "RunResult",
    "Transitions",
    "build",
    "load_builtins",
    "partition_agents",
    "resume",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'seps' has no attribute {name!r}")

"""seps: Selective Parameter Sharing for multi-agent reinforcement learning."""

from seps.builtin_components import load_builtins
from seps.experiment import Experiment, RunResult, build, resume
from seps.pipeline import PartitionResult, partition_agents
from seps.records import Embeddings, Partition, Transitions
from seps.registry import ENCODERS, ENVS, LEARNERS, METHODS, PARTITIONERS

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
    "partition_agents",
    "resume",
]
__version__ = "0.1.0"

load_builtins()  # registers the built-in components (optional heavy packages register lazily)

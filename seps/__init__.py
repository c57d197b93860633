"""seps: Selective Parameter Sharing for multi-agent reinforcement learning."""

from seps.registry import ENCODERS, ENVS, LEARNERS, METHODS, PARTITIONERS

__all__ = ["ENCODERS", "ENVS", "LEARNERS", "METHODS", "PARTITIONERS"]
__version__ = "0.1.0"

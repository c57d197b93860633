"""Environments: the batched multi-agent interface and its registered adapters."""

from seps.envs import (
    bps,  # noqa: F401  (registers the bps-* and bps-h-* tasks)
    registrations,  # noqa: F401  (lazily registers crware-*, lbf-*, smac-* and the adapter families)
)
from seps.envs.base import MultiAgentEnv, StepResult

__all__ = ["MultiAgentEnv", "StepResult"]

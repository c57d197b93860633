"""Sharing modes: how agents are mapped to parameter groups before learning.

Every mode produces a :class:`SharingPlan`. The baselines are fixed maps; ``seps``
runs the partition pipeline (collect -> encode -> cluster) to find one.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs
import numpy as np

from seps.pipeline import PartitionResult, partition_agents
from seps.records import Partition
from seps.registry import METHODS


@attrs.frozen(kw_only=True)
class SharingPlan:
    """Stage 4 input: which group each agent uses, and whether the policy sees agent ids."""

    partition: Partition
    append_agent_ids: bool = False
    """FuPS+id: a one-hot agent id is appended to every observation."""
    pretraining: PartitionResult | None = None
    """The pre-training result when the plan was learned (``seps``)."""


class SharingMethod(Protocol):
    uses_partitioner: bool

    def plan(self, env: Any, n_agents: int, *, seed: int, **pipeline: Any) -> SharingPlan: ...


@METHODS.register("nops")
@attrs.frozen
class NoSharing:
    """NoPS: every agent has its own parameters (K = N)."""

    uses_partitioner = False

    def plan(self, env: Any, n_agents: int, *, seed: int, **pipeline: Any) -> SharingPlan:
        return SharingPlan(partition=Partition(labels=np.arange(n_agents), method="nops"))


@METHODS.register("fups")
@attrs.frozen
class FullSharing:
    """FuPS: one parameter set for all agents (K = 1)."""

    uses_partitioner = False

    def plan(self, env: Any, n_agents: int, *, seed: int, **pipeline: Any) -> SharingPlan:
        return SharingPlan(partition=Partition(labels=np.zeros(n_agents, np.int64), method="fups"))


@METHODS.register("fups_id")
@attrs.frozen
class FullSharingWithId:
    """FuPS+id: one parameter set, with the one-hot agent id appended to each observation."""

    uses_partitioner = False

    def plan(self, env: Any, n_agents: int, *, seed: int, **pipeline: Any) -> SharingPlan:
        labels = np.zeros(n_agents, np.int64)
        return SharingPlan(partition=Partition(labels=labels, method="fups_id"), append_agent_ids=True)


@METHODS.register("seps")
@attrs.frozen
class SelectiveSharing:
    """SePS: groups found by collect -> encode -> cluster before learning."""

    uses_partitioner = True

    def plan(self, env: Any, n_agents: int, *, seed: int, **pipeline: Any) -> SharingPlan:
        result = partition_agents(env, seed=seed, **pipeline)
        return SharingPlan(partition=result.partition, pretraining=result)

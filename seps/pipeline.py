"""The SePS pre-training stages wired together: collect -> encode -> cluster.

Each stage is an ordinary function or estimator passing plain records
(:class:`Transitions`, :class:`Embeddings`, :class:`Partition`), so every stage can
also be run, cached or replaced on its own.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np
from sklearn.metrics import adjusted_rand_score

from seps.collect import CollectConfig, collect
from seps.envs.base import MultiAgentEnv
from seps.errors import ConfigError
from seps.records import Embeddings, Partition, Transitions
from seps.registry import ENCODERS, ENVS, PARTITIONERS, resolve

logger = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class PartitionResult:
    """Everything the pre-training stages produced, with the ground-truth comparison."""

    partition: Partition
    embeddings: Embeddings
    transitions: Transitions
    agent_types: np.ndarray
    """Ground-truth type of each agent (evaluation only)."""
    seconds: dict[str, float]
    """Wall-clock time of each stage."""

    @property
    def ari(self) -> float:
        """Adjusted Rand index of the partition against the true agent types."""
        return float(adjusted_rand_score(self.agent_types, self.partition.labels))


def make_env(env: Any, num_envs: int = 1, **options: Any) -> MultiAgentEnv:
    """Build an environment from a registered name, a factory, or return an env instance as it is."""
    if isinstance(env, MultiAgentEnv):
        if num_envs != env.num_envs:
            raise ConfigError(f"the env instance has {env.num_envs} copies but {num_envs} were asked for")
        return env
    built = (
        resolve(ENVS, env, num_envs=num_envs, **options) if isinstance(env, str) else env(num_envs=num_envs, **options)
    )
    if not isinstance(built, MultiAgentEnv):
        raise ConfigError(f"env {env!r} built {type(built).__name__}, which is not a seps MultiAgentEnv")
    return built


def partition_agents(
    env: Any = "bps-1",
    encoder: Any = "vae",
    cluster: Any = "kmeans_db",
    *,
    seed: int = 0,
    collect_config: CollectConfig | None = None,
    encoder_options: dict[str, Any] | None = None,
    cluster_options: dict[str, Any] | None = None,
    transitions: Transitions | None = None,
    env_options: dict[str, Any] | None = None,
) -> PartitionResult:
    """Run collect -> encode -> cluster and return the partition with its inputs.

    Components may be names, import strings, classes or instances. All are built
    (and so validated) before any stage runs. Pass ``transitions`` to reuse data;
    ``env_options`` go to the env factory.
    """
    collect_config = collect_config or CollectConfig()
    encoder_obj = resolve(ENCODERS, encoder, **(encoder_options or {}))
    partitioner = resolve(PARTITIONERS, cluster, **(cluster_options or {}))
    environment = make_env(env, num_envs=collect_config.num_envs, **(env_options or {}))
    seconds: dict[str, float] = {}
    try:
        start = time.perf_counter()
        if transitions is None:
            transitions = collect(environment, collect_config.steps, seed=seed)
        elif transitions.n_agents != environment.n_agents:
            raise ConfigError(
                f"the transitions hold {transitions.n_agents} agents but the env has {environment.n_agents}"
            )
        seconds["collect"] = time.perf_counter() - start
        start = time.perf_counter()
        embeddings = encoder_obj.fit(transitions, seed=seed)
        seconds["encode"] = time.perf_counter() - start
        start = time.perf_counter()
        partition = partitioner.fit(embeddings, seed=seed)
        seconds["cluster"] = time.perf_counter() - start
    finally:
        environment.close()
    logger.info("partition: K=%d labels=%s (%.1fs)", partition.k, partition.labels.tolist(), sum(seconds.values()))
    return PartitionResult(
        partition=partition,
        embeddings=embeddings,
        transitions=transitions,
        agent_types=np.asarray(environment.agent_types),
        seconds=seconds,
    )


def save_partition(
    directory: Path,
    partition: Partition,
    agent_types: np.ndarray,
    embeddings: Embeddings | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Write ``partition.json`` (labels, K, groups, scores, true types, ``extra`` fields) and return its content.

    With ``embeddings``, the adjusted Rand index joins the summary and the agents' means are
    written to ``embeddings.npz`` (with the true types, for the report's projection plot).
    """
    agent_types = np.asarray(agent_types)
    summary: dict[str, Any] = json.loads(partition.to_json())
    summary["agent_types"] = agent_types.tolist()
    if embeddings is not None:
        summary["ari"] = float(adjusted_rand_score(agent_types, partition.labels))
        np.savez_compressed(directory / "embeddings.npz", means=embeddings.means, agent_types=agent_types)
    summary.update(extra)
    (directory / "partition.json").write_text(json.dumps(summary, indent=2))
    return summary

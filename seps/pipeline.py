"""The SePS pre-training stages wired together: collect -> encode -> cluster.

Each stage is an ordinary function or estimator passing plain records
(:class:`Transitions`, :class:`Embeddings`, :class:`Partition`), so every stage can
also be run, cached or replaced on its own.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from seps.checks import check_seed, env_agent_count, env_factory
from seps.collect import CollectConfig, check_collect_memory, collect
from seps.deprecation import PARTITIONER_RENAMES, renamed_keywords
from seps.encoders.base import EncoderCheck
from seps.envs.base import MultiAgentEnv
from seps.errors import ConfigError
from seps.options import convert_options
from seps.progress import StageCallback, StageProgress
from seps.records import Embeddings, Partition, Transitions
from seps.registry import ENCODERS, ENVS, PARTITIONERS, resolve
from seps.threads import check_threads, pinned_threads

logger = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class PartitionResult:
    """Everything the pre-training stages produced, with the ground-truth comparison."""

    partition: Partition
    embeddings: Embeddings
    transitions: Transitions
    agent_types: np.ndarray | None
    """Ground-truth type of each agent (evaluation only); None when the env has none."""
    seconds: dict[str, float]
    """Wall-clock time of each stage."""
    agent_names: tuple[str, ...] | None = None
    """The env's own agent names (``agent_names`` of PettingZoo / VMAS adapters); None when it has none."""

    @property
    def ari(self) -> float | None:
        """Adjusted Rand index of the partition against the true agent types; None without ground truth."""
        return type_agreement(self.agent_types, self.partition.labels)


def type_agreement(agent_types: np.ndarray | None, labels: np.ndarray) -> float | None:
    """Adjusted Rand index of ``labels`` against the true types, or None when the types are unknown."""
    if agent_types is None:
        return None
    from sklearn.metrics import adjusted_rand_score  # here: importing sklearn.metrics takes seconds

    return float(adjusted_rand_score(np.asarray(agent_types), labels))


def make_env(env: Any, num_envs: int = 1, **options: Any) -> MultiAgentEnv:
    """Build an environment from a registered name, a factory, or return an env instance as it is."""
    if isinstance(env, MultiAgentEnv):
        if num_envs != env.num_envs:
            raise ConfigError(f"the env instance has {env.num_envs} copies but {num_envs} were asked for")
        return env
    options = convert_options(env_factory(env), options, label=f"env {env!r}")
    built = (
        resolve(ENVS, env, num_envs=num_envs, **options) if isinstance(env, str) else env(num_envs=num_envs, **options)
    )
    if not isinstance(built, MultiAgentEnv):
        raise ConfigError(f"env {env!r} built {type(built).__name__}, which is not a seps MultiAgentEnv")
    return built


def check_env(env: Any, num_envs: int = 1, **options: Any) -> None:
    """Refuse an unknown env or options its factory does not take, without building it (no simulator starts)."""
    if isinstance(env, MultiAgentEnv):
        return
    factory = env_factory(env)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # a builtin or C factory: its options are checked when it is built
        return
    try:
        signature.bind(num_envs=num_envs, **options)
    except TypeError as error:
        raise ConfigError(f"env {env!r}: {error}") from None
    convert_options(factory, options, label=f"env {env!r}")


@renamed_keywords(PARTITIONER_RENAMES)
def partition_agents(
    env: Any = "bps-1",
    encoder: Any = "vae",
    partitioner: Any = "kmeans_db",
    *,
    seed: int = 0,
    collect_config: CollectConfig | None = None,
    encoder_options: dict[str, Any] | None = None,
    partitioner_options: dict[str, Any] | None = None,
    transitions: Transitions | None = None,
    env_options: dict[str, Any] | None = None,
    threads: int = 1,
    progress: StageCallback | None = None,
) -> PartitionResult:
    """Run collect -> encode -> cluster and return the partition with its inputs.

    Components may be names, import strings, classes or instances. All are built
    (and so validated) before any stage runs. Pass ``transitions`` to reuse data;
    ``env_options`` go to the env factory. The stages run with ``threads`` torch and
    BLAS threads (see :mod:`seps.threads`); ``progress`` receives a
    :class:`~seps.progress.StageProgress` as each stage advances.
    """
    check_threads(threads)
    check_seed(seed)
    collect_config = collect_config or CollectConfig()
    encoder_obj = resolve(ENCODERS, encoder, **(encoder_options or {}))
    partitioner_obj = resolve(PARTITIONERS, partitioner, **(partitioner_options or {}))
    check_agents = getattr(partitioner_obj, "check_agents", None)
    known = env_agent_count(env, **(env_options or {}))
    if callable(check_agents) and known is not None:
        check_agents(known)  # before any env is built
    environment = make_env(env, num_envs=collect_config.num_envs, **(env_options or {}))
    try:
        if callable(check_agents):
            check_agents(environment.n_identities)  # the types of an env with per-episode types
        if transitions is None:
            check_collect_memory(collect_config, environment.n_agents, environment.max_obs_dim)
    except BaseException:
        environment.close()
        raise
    report = progress or _ignore
    seconds: dict[str, float] = {}
    try:
        with pinned_threads(threads):
            start = time.perf_counter()
            if transitions is None:
                transitions = collect(
                    environment,
                    collect_config.steps,
                    seed=seed,
                    callback=lambda done, total: report(
                        StageProgress(stage="collect", done=done, total=total, unit="step")
                    ),
                )
            elif transitions.n_agents != environment.n_identities:
                raise ConfigError(
                    f"the transitions hold {transitions.n_agents} agents but the env has {environment.n_identities}"
                )
            seconds["collect"] = time.perf_counter() - start
            start = time.perf_counter()
            embeddings = _encode(encoder_obj, transitions, seed, report)
            seconds["encode"] = time.perf_counter() - start
            start = time.perf_counter()
            report(StageProgress(stage="cluster", done=0, total=1, unit="fit"))
            partition = partitioner_obj.fit(embeddings, seed=seed)
            report(StageProgress(stage="cluster", done=1, total=1, unit="fit", detail=f"K = {partition.k}"))
            seconds["cluster"] = time.perf_counter() - start
    finally:
        environment.close()
    logger.info("partition: K=%d labels=%s (%.1fs)", partition.k, partition.labels.tolist(), sum(seconds.values()))
    return PartitionResult(
        partition=partition,
        embeddings=embeddings,
        transitions=transitions,
        agent_types=environment.agent_types,
        seconds=seconds,
        agent_names=getattr(environment, "agent_names", None),
    )


@renamed_keywords(PARTITIONER_RENAMES)
def partition_transitions(
    transitions: Transitions,
    encoder: Any = "vae",
    partitioner: Any = "kmeans_db",
    *,
    seed: int = 0,
    warm_start: Any = None,
    encoder_options: dict[str, Any] | None = None,
    partitioner_options: dict[str, Any] | None = None,
) -> tuple[Partition, Embeddings]:
    """Encode -> cluster on ``transitions`` already gathered (e.g. on-policy, by the trainer); builds no env.

    ``warm_start`` (an earlier ``Embeddings.weights``) continues that encoder when its ``fit``
    takes ``warm_start`` (the built-in encoders do); otherwise the encoder trains afresh.
    """
    encoder_obj = resolve(ENCODERS, encoder, **(encoder_options or {}))
    partitioner_obj = resolve(PARTITIONERS, partitioner, **(partitioner_options or {}))
    check_agents = getattr(partitioner_obj, "check_agents", None)
    if callable(check_agents):
        check_agents(transitions.n_agents)
    if warm_start is not None and "warm_start" in inspect.signature(encoder_obj.fit).parameters:
        embeddings = encoder_obj.fit(transitions, seed=seed, warm_start=warm_start)
    else:
        embeddings = encoder_obj.fit(transitions, seed=seed)
    return partitioner_obj.fit(embeddings, seed=seed), embeddings


def _ignore(update: StageProgress) -> None:
    return None


def _encode(encoder: Any, transitions: Transitions, seed: int, report: StageCallback) -> Embeddings:
    """Stage 2, reporting the encoder's checks when its ``fit`` takes a callback (user encoders need not)."""
    if "callback" not in inspect.signature(encoder.fit).parameters:
        report(StageProgress(stage="encode", done=0, total=1, unit="fit"))
        embeddings = encoder.fit(transitions, seed=seed)
        report(StageProgress(stage="encode", done=1, total=1, unit="fit"))
        return embeddings

    def on_check(check: EncoderCheck) -> None:
        detail = f"loss {check.loss:.4f}, moved {check.change:.3f}"
        report(StageProgress(stage="encode", done=check.update, total=check.max_updates, unit="update", detail=detail))

    embeddings = encoder.fit(transitions, seed=seed, callback=on_check)
    if embeddings.updates is not None:  # stopped early: show the stage as complete
        total = embeddings.updates
        report(StageProgress(stage="encode", done=total, total=total, unit="update", detail="converged"))
    return embeddings


def save_partition(
    directory: Path,
    partition: Partition,
    agent_types: np.ndarray | None,
    embeddings: Embeddings | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Write ``partition.json`` (labels, K, groups, scores, true types, ARI, ``extra`` fields); return its content.

    ``agent_types`` None (an env without ground truth) writes ``"agent_types": null`` and
    ``"ari": null``. With ``embeddings``, the agents' means (and posterior log-variances, when the
    encoder has them) go to ``embeddings.npz`` with the true types, for the report's projection plot.
    """
    summary: dict[str, Any] = json.loads(partition.to_json())
    summary["agent_types"] = None if agent_types is None else np.asarray(agent_types).tolist()
    summary["ari"] = type_agreement(agent_types, partition.labels)
    if embeddings is not None:
        np.savez_compressed(directory / "embeddings.npz", **embeddings.arrays(agent_types))
        if embeddings.updates is not None:
            summary["encoder_updates"] = embeddings.updates
    summary.update(extra)
    write_text_atomic(directory / "partition.json", json.dumps(summary, indent=2))  # its presence marks a partition
    return summary


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that a reader (or a resume after SIGKILL) sees the old file or the whole new one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)

"""The embedding cache of partition sweeps: collect + encode once per (env, encoder, collect settings, seed).

Entries are ``<sha1>.npz`` (agent means, true agent types, encoder losses) next to
``<sha1>.json`` (the key in full). Both are written atomically, so a killed sweep leaves
either a complete entry or none, and sweeps may share one cache directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from seps.collect import CollectConfig, check_collect_memory, collect
from seps.pipeline import make_env
from seps.records import Embeddings
from seps.registry import ENCODERS, resolve
from seps.sweep.components import Component

logger = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class CachedEmbeddings:
    """Agent embeddings with the true agent types, and whether they came from the cache."""

    embeddings: Embeddings
    agent_types: np.ndarray | None
    """None when the env has no ground-truth types."""
    hit: bool
    seconds: float
    """Time to load (hit) or to collect and encode (miss)."""


def cache_key(env: Component, encoder: Component, collect_config: CollectConfig, seed: int) -> dict[str, Any]:
    """The full key: the encoder with *all* its options (defaults included), so equal settings share an entry."""
    built = resolve(ENCODERS, encoder.name, **encoder.options)
    options = attrs.asdict(built) if attrs.has(type(built)) else dict(encoder.options)
    cls = type(built)
    return {
        "env": env.to_plain(),
        "encoder": {"class": f"{cls.__module__}:{cls.__qualname__}", "options": options},
        "collect": attrs.asdict(collect_config),
        "seed": seed,
    }


class EmbeddingCache:
    """A directory of cached agent embeddings."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path(self, key: dict[str, Any]) -> Path:
        text = json.dumps(key, sort_keys=True, default=str)
        return self.directory / f"{hashlib.sha1(text.encode()).hexdigest()}.npz"

    def get(self, env: Component, encoder: Component, collect_config: CollectConfig, seed: int) -> CachedEmbeddings:
        """Load the entry, or collect + encode (seeded) and store it."""
        key = cache_key(env, encoder, collect_config, seed)
        path = self.path(key)
        start = time.perf_counter()
        stored = self._load(path, key)
        if stored is not None:
            embeddings, agent_types = stored
            return CachedEmbeddings(
                embeddings=embeddings, agent_types=agent_types, hit=True, seconds=time.perf_counter() - start
            )
        environment = make_env(env.name, num_envs=collect_config.num_envs, **env.options)
        try:
            check_collect_memory(collect_config, environment.n_agents, environment.max_obs_dim)
            transitions = collect(environment, collect_config.steps, seed=seed)
            agent_types = environment.agent_types
        finally:
            environment.close()
        embeddings = resolve(ENCODERS, encoder.name, **encoder.options).fit(transitions, seed=seed)
        self._store(path, key, embeddings, agent_types)
        seconds = time.perf_counter() - start
        logger.info("cached embeddings of %s / %s / seed %d in %.1fs", env.label, encoder.label, seed, seconds)
        return CachedEmbeddings(embeddings=embeddings, agent_types=agent_types, hit=False, seconds=seconds)

    @staticmethod
    def _load(path: Path, key: dict[str, Any]) -> tuple[Embeddings, np.ndarray | None] | None:
        meta = path.with_suffix(".json")
        if not path.is_file() or not meta.is_file():
            return None
        try:
            stored = json.loads(meta.read_text())
            if stored["key"] != json.loads(json.dumps(key, default=str)):
                return None
            with np.load(path) as data:
                embeddings = Embeddings(
                    means=data["means"],
                    log_vars=data["log_vars"] if "log_vars" in data.files else None,
                    swap_losses=data["swap_losses"] if "swap_losses" in data.files else None,
                    encoder=stored["encoder"],
                    losses=tuple(data["losses"].tolist()),
                    updates=stored.get("updates"),
                )
                return embeddings, data["agent_types"] if "agent_types" in data.files else None
        except (OSError, ValueError, KeyError) as error:
            logger.warning("ignoring unreadable cache entry %s: %s", path, error)
            return None

    @staticmethod
    def _store(path: Path, key: dict[str, Any], embeddings: Embeddings, agent_types: np.ndarray | None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        losses = np.asarray(embeddings.losses, dtype=np.float64)
        np.savez(temporary, losses=losses, **embeddings.arrays(agent_types))
        os.replace(temporary, path)
        meta = {"key": key, "encoder": embeddings.encoder, "updates": embeddings.updates}
        write_json_atomic(path.with_suffix(".json"), meta)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` so that readers see the old file or the whole new one, never a part."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2, default=str))
    os.replace(temporary, path)

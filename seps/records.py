"""The plain data passed between the pipeline's stages: collect -> encode -> cluster."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from seps.errors import ConfigError


@attrs.frozen(kw_only=True)
class Transitions:
    """Stage 1 output: one shared buffer of single-agent transitions from all agents.

    Observations are zero-padded to the largest observation size (see ``seps.envs.base``);
    ``obs_dims[i]`` says how many leading features of agent i are real.
    """

    agent_id: np.ndarray
    """int64 (T,): which agent the transition belongs to."""
    obs: np.ndarray
    """float32 (T, max_obs_dim)."""
    action: np.ndarray
    """int64 (T,) for Discrete actions; float32 (T, max_n_actions) for Box actions (padding dims 0)."""
    reward: np.ndarray
    """float32 (T,)."""
    next_obs: np.ndarray
    """float32 (T, max_obs_dim)."""
    obs_dims: np.ndarray
    """int64 (N,): real observation size of each agent."""
    n_actions: np.ndarray
    """int64 (N,): action-space size (Discrete) or number of action dimensions (Box) of each agent."""

    @property
    def n_agents(self) -> int:
        return len(self.obs_dims)

    def __len__(self) -> int:
        return len(self.agent_id)

    def save(self, path: str | Path) -> Path:
        """Write the buffer as a compressed ``.npz`` file."""
        path = Path(path)
        np.savez_compressed(path, **attrs.asdict(self))
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> Transitions:
        """Read a buffer written by :meth:`save`."""
        try:
            with np.load(path) as data:
                return cls(**{field.name: data[field.name] for field in attrs.fields(cls)})
        except (OSError, KeyError, ValueError) as error:
            raise ConfigError(f"{path} is not a seps transitions file: {error}") from None


@attrs.frozen(kw_only=True)
class Embeddings:
    """Stage 2 output: one point per agent in the encoder's latent space."""

    means: np.ndarray
    """float32 (N, m): the encoder mean of each agent."""
    encoder: str
    """Name of the encoder that produced them."""
    log_vars: np.ndarray | None = None
    """float32 (N, m): log-variance of each agent's posterior code (``vae``); None for point codes."""
    swap_losses: np.ndarray | None = None
    """float64 (N, N): held-out loss of agent i's transitions decoded with agent j's code (NaN: pair not
    evaluated); None when the encoder held nothing out. See :mod:`seps.encoders.swap`."""
    losses: tuple[float, ...] = ()
    """Training loss, recorded at every convergence check."""
    updates: int | None = None
    """Gradient steps the encoder took (it stops early once the codes have converged)."""
    weights: dict[str, Any] | None = attrs.field(default=None, eq=False, repr=False)
    """The fitted model's parameters (CPU tensors), to continue it with ``fit(warm_start=...)``; not saved."""

    @property
    def n_agents(self) -> int:
        return int(self.means.shape[0])

    def arrays(self, agent_types: np.ndarray | None = None) -> dict[str, Any]:
        """The arrays to save (``np.savez``): means, and log_vars, swap_losses and agent_types where present."""
        arrays = {"means": self.means}
        if self.log_vars is not None:
            arrays["log_vars"] = self.log_vars
        if self.swap_losses is not None:
            arrays["swap_losses"] = self.swap_losses
        if agent_types is not None:
            arrays["agent_types"] = np.asarray(agent_types)
        return arrays


@attrs.frozen(kw_only=True)
class Partition:
    """Stage 3 output: the map mu from agent to parameter group.

    Labels are canonical: groups are numbered 0..K-1 in order of their lowest agent id.
    """

    labels: np.ndarray = attrs.field(converter=lambda x: canonical_labels(np.asarray(x)))
    """int64 (N,): group of each agent."""
    scores: Mapping[int, float] = attrs.field(factory=dict)
    """The selection score of every K tried (empty when K was given)."""
    method: str = "fixed"

    @property
    def k(self) -> int:
        return int(self.labels.max()) + 1

    @property
    def n_agents(self) -> int:
        return len(self.labels)

    def groups(self) -> dict[int, list[int]]:
        """Group -> sorted agent ids."""
        return {g: np.flatnonzero(self.labels == g).tolist() for g in range(self.k)}

    def to_json(self) -> str:
        return json.dumps(
            {
                "method": self.method,
                "k": self.k,
                "labels": self.labels.tolist(),
                "groups": {str(g): ids for g, ids in self.groups().items()},
                "scores": {str(k): v for k, v in self.scores.items()},
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Partition:
        data = json.loads(text)
        return cls(
            labels=np.asarray(data["labels"], dtype=np.int64),
            scores={int(k): float(v) for k, v in data.get("scores", {}).items()},
            method=data.get("method", "fixed"),
        )


def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Renumber groups 0..K-1 in order of their lowest member index."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ConfigError(f"labels must be a non-empty 1-D sequence, got shape {labels.shape}")
    _, first_index, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty_like(first_index)
    rank[np.argsort(first_index)] = np.arange(len(first_index))
    return rank[inverse].astype(np.int64)


def _evaluations(rows: object) -> tuple[tuple[int, float, float], ...]:
    return tuple((int(s), float(m), float(d)) for s, m, d in rows)  # type: ignore[attr-defined]


def _win_rates(rows: object) -> tuple[tuple[int, float], ...]:
    return tuple((int(s), float(r)) for s, r in rows)  # type: ignore[attr-defined]


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


@attrs.frozen(kw_only=True)
class RunSummary:
    """The result of one run or sweep cell: ``summary.json`` of a run, ``done.json`` of a cell, read by the report.

    One record for both kinds of cell: a training run (``kind='train'``) has evaluations and env
    steps; a partition cell (``kind='partition'``) has only the partition's K and ARI.
    """

    kind: str = "train"
    """'train' (an RL run) or 'partition' (collect -> encode -> cluster only)."""
    k: int | None = None
    """Number of parameter groups of the run's partition."""
    ari: float | None = attrs.field(default=None, converter=_optional_float)
    """Adjusted Rand index against the env's true agent types; None when the env has none."""
    env_steps: int | None = None
    evaluations: tuple[tuple[int, float, float], ...] = attrs.field(default=(), converter=_evaluations)
    """(env steps, mean, std) of every evaluation: the learning curve."""
    max_eval_return: float | None = attrs.field(default=None, converter=_optional_float)
    """The paper's Table 2 metric: the best mean evaluation return."""
    final_eval_return: float | None = attrs.field(default=None, converter=_optional_float)
    eval_win_rates: tuple[tuple[int, float], ...] = attrs.field(default=(), converter=_win_rates)
    """(env steps, share of evaluation episodes won) at every evaluation, for envs that report wins (SMAC)."""
    max_eval_win_rate: float | None = attrs.field(default=None, converter=_optional_float)
    final_eval_win_rate: float | None = attrs.field(default=None, converter=_optional_float)
    seconds: float | None = attrs.field(default=None, converter=_optional_float)
    """Wall-clock time of the run or cell."""
    stage_seconds: dict[str, float] = attrs.field(factory=dict)
    """Wall-clock time of each stage, when measured separately (partition cells: embeddings, cluster)."""
    cache_hit: bool | None = None
    """Partition cells: whether the embeddings came from the sweep's cache."""

    @classmethod
    def of_training(
        cls,
        *,
        k: int,
        ari: float | None,
        env_steps: int,
        evaluations: object,
        seconds: float | None = None,
        win_rates: object = (),
    ) -> RunSummary:
        """The summary of a training run from its evaluations (max and final return and win rate derived)."""
        rows = _evaluations(evaluations)
        wins = _win_rates(win_rates)
        return cls(
            kind="train",
            k=k,
            ari=ari,
            env_steps=env_steps,
            evaluations=rows,
            max_eval_return=max(mean for _, mean, _ in rows) if rows else None,
            final_eval_return=rows[-1][1] if rows else None,
            eval_win_rates=wins,
            max_eval_win_rate=max(rate for _, rate in wins) if wins else None,
            final_eval_win_rate=wins[-1][1] if wins else None,
            seconds=seconds,
        )

    @property
    def best_return(self) -> float:
        """``max_eval_return`` of a finished training run (a partition cell has none: an error)."""
        if self.max_eval_return is None:
            raise ValueError(f"a {self.kind} summary has no evaluation return")
        return self.max_eval_return

    def to_plain(self) -> dict[str, object]:
        plain = attrs.asdict(self)
        plain["evaluations"] = [list(row) for row in self.evaluations]
        plain["eval_win_rates"] = [list(row) for row in self.eval_win_rates]
        return plain

    @classmethod
    def from_plain(cls, data: Mapping[str, object]) -> RunSummary:
        """Read a summary written by :meth:`to_plain` (or by an older seps: unknown keys are ignored)."""
        known = {field.name for field in attrs.fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        seconds = values.get("seconds")
        if isinstance(seconds, Mapping):  # older partition cells wrote their stage times as 'seconds'
            values["stage_seconds"] = dict(seconds)
            values["seconds"] = sum(float(v) for v in seconds.values())
        if "kind" not in values:
            values["kind"] = "train" if "env_steps" in data or "max_eval_return" in data else "partition"
        return cls(**values)  # type: ignore[arg-type]

    def __getitem__(self, key: str) -> object:
        """Mapping-style access (``summary['max_eval_return']``), as when ``done.json`` was a plain dict."""
        plain = self.to_plain()
        if key not in plain:
            raise KeyError(key)
        return plain[key]


def as_summary(value: RunSummary | Mapping[str, object] | None) -> RunSummary | None:
    """A :class:`RunSummary` from a summary, its plain form, or None."""
    if value is None or isinstance(value, RunSummary):
        return value
    return RunSummary.from_plain(value)

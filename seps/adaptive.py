"""Adaptive SePS: re-partition the agents during training from their own recent experience.

The paper partitions once, from random-action data, and names the limit itself (Section 6): it
"could be further improved by regularly retraining the encoder-decoder model with newer
experience and redistributing agents to clusters if they have diverged". :class:`Repartitioner`
does that as a :class:`~seps.callbacks.TrainerCallback`:

* **experience** -- ``on_step`` records the agents' own transitions (obs without FuPS+id's
  appended ids, action, reward, the real next obs ``result.final_obs``) during the last
  ``window`` batched steps before every check, into a fixed buffer (nothing is kept between
  checks, and nothing outside the window, so the loop's hot path pays for one branch);
* **check** -- every ``every`` env steps (at the end of the update that crosses the step),
  the encoder is fitted on that window and clustered (:func:`seps.pipeline.partition_transitions`).
  It continues from the previous fit's weights with ``encoder_updates`` updates; only the
  first fit without earlier weights (``initial_partition='fups'``) trains from scratch;
* **stability rule** -- the partition in force changes only when the candidate differs from it
  *and* equals the candidate of the previous check (the same grouping on ``confirm`` = 2
  consecutive checks, compared as canonical labels). A one-off split of noisy codes never
  reaches the policy, and an oscillation between two answers never changes anything;
* **regroup** -- :meth:`GroupedActorCritic.regroup` with the trainer's optimiser
  (:mod:`seps.nn.regroup`), so agents that stay keep parameters and Adam state bit for bit;
* **restart** (``restart=True``, off by default) -- the groups whose agents changed start from
  fresh weights instead of their source group's. A policy converged under one grouping can be a
  local optimum for the new groups (on ``bps-late`` the shared "walk to the nearest landmark"
  is one for every colour, see docs/results.md); fresh weights explore again. Fresh groups act
  near-randomly, and random actions hide the types that caused the split, so ``hold`` env steps
  pass after a change before the next check (skipped checks keep the schedule).

Every check appends a line to ``partitions.jsonl`` (:meth:`seps.run_dir.RunDir.append_partition`)
and the callback's state (the candidate, the encoder weights, a half-filled window) is in every
checkpoint, so ``--resume`` continues bit-identically.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import torch

from seps.callbacks import TrainerCallback
from seps.errors import ConfigError
from seps.nn.regroup import changed_groups, restart_groups
from seps.pipeline import partition_transitions, type_agreement
from seps.records import Partition, Transitions
from seps.run_dir import RunDir
from seps.validators import at_least, boolean, positive_int

if TYPE_CHECKING:
    from seps.envs.base import StepResult
    from seps.trainer import Trainer

logger = logging.getLogger(__name__)

INITIAL_PARTITIONS = ("random", "fups")
"""'random': the paper's pre-training on random actions; 'fups': K = 1 until the first confirmed check."""


@attrs.frozen(kw_only=True)
class RepartitionConfig:
    """When and from how much experience the partition is re-checked (``repartition_options``)."""

    every: int = attrs.field(validator=positive_int)
    """Env steps (over all copies) between checks."""
    window: int = attrs.field(default=400, validator=positive_int)
    """Batched env steps of experience recorded before each check (x num_envs transitions per agent)."""
    encoder_updates: int = attrs.field(default=2000, validator=positive_int)
    """Gradient steps of a warm-started encoder fit (the first fit from scratch uses the encoder's own)."""
    confirm: int = attrs.field(default=2, validator=positive_int)
    """Consecutive checks that must agree on a new partition before it is applied (1: apply at once)."""
    restart: bool = attrs.field(default=False, validator=boolean)
    """Re-initialise the groups whose agents changed at a regroup (False: they start from their source group)."""
    hold: int = attrs.field(default=0, validator=at_least(0))
    """Env steps after a change during which checks are skipped (the new groups learn before they are judged)."""


def repartition_config(every: int, options: dict[str, Any]) -> RepartitionConfig:
    """Build the config with seps' error wording for unknown or bad options."""
    valid = [f.name for f in attrs.fields(RepartitionConfig) if f.name != "every"]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(f"repartition_options has no option {unknown[0]!r}; valid options: {', '.join(valid)}")
    return RepartitionConfig(every=every, **options)


class ExperienceWindow:
    """The last ``steps`` batched steps of every copy and agent, as numpy arrays (overwritten in a ring)."""

    def __init__(self, steps: int, num_envs: int, n_agents: int, obs_dim: int) -> None:
        self.obs = np.zeros((steps, num_envs, n_agents, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros_like(self.obs)
        self.action = np.zeros((steps, num_envs, n_agents), dtype=np.int64)
        self.reward = np.zeros((steps, num_envs, n_agents), dtype=np.float32)
        self.active = np.zeros((steps, num_envs, n_agents), dtype=bool)
        self.count = 0

    def add(self, obs: np.ndarray, action: np.ndarray, result: StepResult) -> None:
        row = self.count % len(self.obs)
        self.obs[row], self.action[row], self.next_obs[row] = obs, action, result.final_obs
        self.reward[row], self.active[row] = result.rewards, result.active
        self.count += 1

    def transitions(self, obs_dims: np.ndarray, n_actions: np.ndarray) -> Transitions:
        """The recorded steps in time order as one :class:`Transitions` buffer (active agents only)."""
        rows = min(self.count, len(self.obs))
        order = (np.arange(rows) + (self.count - rows)) % len(self.obs)
        active = self.active[order]
        agent_id = np.broadcast_to(np.arange(active.shape[-1]), active.shape)
        return Transitions(
            agent_id=agent_id[active].astype(np.int64),
            obs=self.obs[order][active],
            action=self.action[order][active],
            reward=self.reward[order][active],
            next_obs=self.next_obs[order][active],
            obs_dims=np.asarray(obs_dims),
            n_actions=np.asarray(n_actions),
        )

    def state_dict(self) -> dict[str, Any]:
        names = ("obs", "next_obs", "action", "reward", "active")
        return {"count": self.count, **{n: torch.from_numpy(getattr(self, n).copy()) for n in names}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.count = int(state["count"])
        for name in ("obs", "next_obs", "action", "reward", "active"):
            getattr(self, name)[...] = state[name].numpy()


class Repartitioner(TrainerCallback):
    """Checks the partition every ``config.every`` env steps and regroups the policy on a confirmed change."""

    def __init__(
        self,
        config: RepartitionConfig,
        *,
        encoder: Any,
        partitioner: Any,
        partition: Partition,
        agent_types: np.ndarray | None,
        seed: int,
        warm_start: dict[str, torch.Tensor] | None = None,
    ) -> None:
        if not callable(getattr(partitioner, "fit", None)) or encoder is None:
            raise ConfigError("repartitioning needs an encoder and a partitioner that learns from embeddings (seps)")
        self.config, self.encoder, self.partitioner = config, encoder, partitioner
        self.partition, self.agent_types, self.seed = partition, agent_types, seed
        self.weights = warm_start
        self.candidate: np.ndarray | None = None
        self.agreeing = 0
        self.checks = 0
        self.hold_until = 0
        self.window: ExperienceWindow | None = None
        self._record_from = 0

    # -- hooks ---------------------------------------------------------------------------------------------

    def on_train_start(self, trainer: Trainer) -> None:
        env = trainer.env
        if self.window is None:
            self.window = ExperienceWindow(self.config.window, env.num_envs, env.n_agents, env.max_obs_dim)
        self._record_from = self._record_start(trainer)

    def on_step(self, trainer: Trainer, actions: np.ndarray, result: StepResult) -> None:
        if trainer.env_steps >= self._record_from and self.window is not None:
            assert trainer.current is not None  # set by train()
            self.window.add(trainer.current.obs, actions, result)

    def on_update_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        if trainer.env_steps < self._next_check(trainer, self.checks):
            return
        self.check(trainer)
        self._record_from = self._record_start(trainer)

    # -- the check -----------------------------------------------------------------------------------------

    def _next_check(self, trainer: Trainer, checks: int | None = None) -> int:
        return self.config.every * ((self.checks if checks is None else checks) + 1)

    def _record_start(self, trainer: Trainer) -> int:
        """The env step to start recording at: a window before the next check that is not held."""
        step, every = self._next_check(trainer), self.config.every
        if step < self.hold_until:  # checks inside a hold are skipped: record nothing for them
            step += every * -(-(self.hold_until - step) // every)
        return step - self.config.window * trainer.env.num_envs

    def check(self, trainer: Trainer) -> None:
        """Fit on the window, apply the stability rule, regroup on a confirmed change, log the check."""
        assert self.window is not None  # made in on_train_start
        env = trainer.env
        self.checks += 1
        if trainer.env_steps < self.hold_until:
            self.window.count = 0
            return
        transitions = self.window.transitions(env.obs_dims, env.n_actions)
        seed = self.seed + 7919 * self.checks  # a fresh, reproducible seed per check
        encoder = self.encoder
        if self.weights is not None and attrs.has(type(encoder)):
            names = {f.name for f in attrs.fields(type(encoder))}
            if {"updates", "min_updates"} <= names:  # the built-in encoders: a short continuation
                encoder = attrs.evolve(encoder, updates=self.config.encoder_updates, min_updates=0)
        candidate, embeddings = partition_transitions(
            transitions, encoder, self.partitioner, seed=seed, warm_start=self.weights
        )
        self.weights = embeddings.weights
        self.window.count = 0
        labels = candidate.labels
        same_as_last = self.candidate is not None and np.array_equal(labels, self.candidate)
        self.agreeing = self.agreeing + 1 if same_as_last else 1
        self.candidate = labels.copy()
        changed = not np.array_equal(labels, self.partition.labels) and self.agreeing >= self.config.confirm
        if changed:
            old_k = self.partition.k
            sources = trainer.policy.regroup(labels, trainer.optimizer)
            if self.config.restart:
                fresh = changed_groups(self.partition.labels, labels, sources)
                generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.checks)
                restart_groups(trainer.policy, fresh, candidate.k, trainer.optimizer, generator)
                logger.info("step %d: restarted groups %s", trainer.env_steps, fresh.tolist())
            self.hold_until = trainer.env_steps + self.config.hold
            self.partition = candidate
            logger.info("step %d: partition changed, K %d -> %d: %s", trainer.env_steps, old_k, candidate.k, labels)
        RunDir(trainer.run_dir).append_partition(
            step=trainer.env_steps,
            event="change" if changed else "check",
            candidate=candidate,
            current=self.partition,
            ari=type_agreement(self.agent_types, labels),
            current_ari=type_agreement(self.agent_types, self.partition.labels),
            encoder_updates=embeddings.updates,
        )

    # -- checkpoints ---------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "checks": self.checks,
            "hold_until": self.hold_until,
            "agreeing": self.agreeing,
            "candidate": None if self.candidate is None else self.candidate.tolist(),
            "partition": self.partition.to_json(),
            "weights": self.weights,
            "window": None if self.window is None else self.window.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.checks, self.agreeing = int(state["checks"]), int(state["agreeing"])
        self.hold_until = int(state.get("hold_until", 0))  # absent in checkpoints from before ``hold``
        self.candidate = None if state["candidate"] is None else np.asarray(state["candidate"], dtype=np.int64)
        self.partition = Partition.from_json(state["partition"])
        self.weights = state["weights"]
        if state["window"] is not None:
            window = state["window"]
            steps, num_envs, n_agents, obs_dim = window["obs"].shape
            self.window = ExperienceWindow(steps, num_envs, n_agents, obs_dim)
            self.window.load_state_dict(window)

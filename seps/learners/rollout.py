"""Preallocated on-policy rollout buffer of T steps x E envs, holding the fields its learner declares.

A learner names the fields it keeps (:attr:`OnPolicyLearner.rollout_fields`, the shape of
Stable-Baselines3's ``rollout_buffer_class``): built-in names (:data:`BUILTIN_FIELDS`) or
:class:`RolloutField` objects of its own. Every step the trainer offers a :class:`RolloutStep`
and each field reads its value from it, so a new field needs no edit of the trainer. Values
(a critic forward) and the global state are computed only when a field asks for them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import torch
from torch import Tensor

from seps.device import resolve_device
from seps.envs.base import StepResult, global_state
from seps.errors import ConfigError
from seps.learners.returns import gae, n_step_returns

if TYPE_CHECKING:
    from seps.nn.actor_critic import GroupedActorCritic

ArrayLike = np.ndarray | Tensor


@attrs.frozen(kw_only=True)
class StorageLayout:
    """The sizes a field's shape is made of."""

    n_agents: int
    obs_dim: int
    n_actions: int
    state_dim: int = 0
    action_shape: tuple[int, ...] = ()
    action_dtype: torch.dtype = torch.int64


class RolloutStep:
    """What one step offers the rollout fields: the policy's inputs and outputs and the env's result.

    ``obs`` and ``action_masks`` are what the agents saw when acting; ``result`` is what the step
    returned. ``groups`` (E, N) is the group each agent acted with where groups follow per-episode
    types (None elsewhere). ``values`` and ``state`` are computed on first use.
    """

    def __init__(
        self,
        *,
        policy: GroupedActorCritic,
        before: StepResult,
        obs: Tensor,
        action_masks: Tensor,
        actions: Tensor,
        log_probs: Tensor,
        result: StepResult,
        device: torch.device,
        groups: Tensor | None = None,
    ) -> None:
        self.policy, self.before, self.obs, self.action_masks = policy, before, obs, action_masks
        self.actions, self.log_probs, self.result, self.device = actions, log_probs, result, device
        self.groups = groups

    @functools.cached_property
    def state(self) -> Tensor:
        """float32 (E, S): the global state the agents acted in."""
        return torch.as_tensor(global_state(self.before), dtype=torch.float32, device=self.device)

    @functools.cached_property
    def values(self) -> Tensor:
        """(E, N): the critic's values of what the agents acted on (with the state if the critic reads it)."""
        with self.policy.row_groups(self.groups):
            return self.policy.value(self.obs, self.state if self.policy.uses_state else None)

    def acting_groups(self) -> Tensor:
        """int64 (E, N): the group each agent acted with; only envs with per-episode types have one."""
        if self.groups is None:
            raise ConfigError("the rollout keeps 'groups' but this env's agents keep their identity (no episode types)")
        return self.groups

    def from_result(self, name: str) -> Tensor:
        """``result.<name>`` (rewards, terminated, truncated, active) as a tensor on the storage's device."""
        return torch.tensor(getattr(self.result, name), device=self.device)


@attrs.frozen
class RolloutField:
    """One named tensor of the rollout: (T, E, *shape(layout)) of ``dtype``, filled by ``read(step)``."""

    name: str
    shape: Callable[[StorageLayout], tuple[int, ...]]
    """Shape after the (T, E) axes, from the storage's sizes."""
    dtype: torch.dtype | Callable[[StorageLayout], torch.dtype]
    read: Callable[[RolloutStep], ArrayLike]
    """This field's value at one step (numpy or torch, cast on insert)."""

    def dtype_for(self, layout: StorageLayout) -> torch.dtype:
        return self.dtype(layout) if callable(self.dtype) else self.dtype


def _per_agent(layout: StorageLayout) -> tuple[int, ...]:
    return (layout.n_agents,)


BUILTIN_FIELDS: dict[str, RolloutField] = {
    field.name: field
    for field in (
        RolloutField("obs", lambda s: (s.n_agents, s.obs_dim), torch.float32, lambda step: step.obs),
        RolloutField("action_masks", lambda s: (s.n_agents, s.n_actions), torch.bool, lambda step: step.action_masks),
        RolloutField(
            "actions", lambda s: (s.n_agents, *s.action_shape), lambda s: s.action_dtype, lambda step: step.actions
        ),
        RolloutField("log_probs", _per_agent, torch.float32, lambda step: step.log_probs),
        RolloutField("values", _per_agent, torch.float32, lambda step: step.values),
        RolloutField("rewards", _per_agent, torch.float32, lambda step: step.from_result("rewards")),
        RolloutField("terminated", _per_agent, torch.bool, lambda step: step.from_result("terminated")),
        RolloutField("truncated", _per_agent, torch.bool, lambda step: step.from_result("truncated")),
        RolloutField("active", _per_agent, torch.bool, lambda step: step.from_result("active")),
        RolloutField("state", lambda s: (s.state_dim,), torch.float32, lambda step: step.state),
        RolloutField("groups", _per_agent, torch.int64, lambda step: step.acting_groups()),
    )
}
"""Fields every learner may name; ``values`` runs the critic while acting, ``state`` reads the global state.
``groups`` is added by the trainer on envs with per-episode types: the update routes each sample by it."""

TARGET_FIELDS = ("rewards", "terminated", "truncated", "active")
"""Fields every rollout keeps: the return and advantage estimates and the losses' masks read them."""

DEFAULT_FIELDS = ("obs", "action_masks", "actions", "log_probs", "values", *TARGET_FIELDS)
"""The independent actor-critic's rollout (PPO's; A2C drops ``values``)."""


def resolve_fields(fields: Sequence[str | RolloutField]) -> tuple[RolloutField, ...]:
    """Built-in names become their :class:`RolloutField`; the target fields are added; duplicates are errors."""
    resolved: list[RolloutField] = []
    for field in (*fields, *(name for name in TARGET_FIELDS if name not in fields)):
        if isinstance(field, str):
            if field not in BUILTIN_FIELDS:
                raise ConfigError(
                    f"unknown rollout field {field!r}; built-in fields are {', '.join(BUILTIN_FIELDS)}, "
                    "or pass a RolloutField(name, shape, dtype, read) of your own"
                )
            field = BUILTIN_FIELDS[field]
        if any(field.name == other.name for other in resolved):
            raise ConfigError(f"rollout field {field.name!r} is declared twice")
        resolved.append(field)
    return tuple(resolved)


class RolloutStorage:
    """Tensors for one rollout; row ``t`` holds the action taken at step t and what it led to.

    ``obs[t]`` and ``action_masks[t]`` are what the agents saw when acting at step t;
    ``rewards``, ``terminated``, ``truncated`` and ``active`` come from the step result of t;
    ``truncation_values[t]`` is ``V(final_obs_t)`` where ``truncated[t]`` (zero elsewhere).
    Every declared field is an attribute (``storage.obs``) and an entry of :meth:`tensors`.
    Fill with :meth:`insert` (or :meth:`record`) T times, compute targets, then :meth:`clear`.
    """

    def __init__(
        self,
        n_steps: int,
        n_envs: int,
        n_agents: int,
        obs_dim: int,
        n_actions: int,
        device: torch.device | str = "cpu",
        *,
        fields: Sequence[str | RolloutField] = DEFAULT_FIELDS,
        state_dim: int = 0,
        action_shape: tuple[int, ...] = (),
        action_dtype: torch.dtype = torch.int64,
    ) -> None:
        sizes = {"n_steps": n_steps, "n_envs": n_envs, "n_agents": n_agents, "obs_dim": obs_dim, "n_actions": n_actions}
        for name, value in sizes.items():
            if value < 1:
                raise ConfigError(f"RolloutStorage {name} must be >= 1, got {value}")
        self.n_steps, self.n_envs, self.n_agents = n_steps, n_envs, n_agents
        self.device = resolve_device(device)
        self.layout = StorageLayout(
            n_agents=n_agents,
            obs_dim=obs_dim,
            n_actions=n_actions,
            state_dim=state_dim,
            action_shape=tuple(action_shape),
            action_dtype=action_dtype,
        )
        self.fields = resolve_fields(fields)
        if any(field.name == "state" for field in self.fields) and state_dim < 1:
            raise ConfigError("the rollout keeps 'state' but state_dim is 0; pass the env's state_dim")
        self._tensors: dict[str, Tensor] = {
            field.name: torch.zeros(
                n_steps, n_envs, *field.shape(self.layout), dtype=field.dtype_for(self.layout), device=self.device
            )
            for field in self.fields
        }
        self.truncation_values = torch.zeros(n_steps, n_envs, n_agents, device=self.device)
        self.step = 0

    def __getattr__(self, name: str) -> Tensor:
        # Only called for names that are not ordinary attributes: the declared fields.
        tensors = self.__dict__.get("_tensors", {})
        if name in tensors:
            return tensors[name]  # type: ignore[no-any-return]
        raise AttributeError(f"the rollout keeps no field {name!r}; its fields: {', '.join(tensors)}")

    def tensors(self) -> dict[str, Tensor]:
        """Every declared field's (T, E, ...) tensor, by name."""
        return dict(self._tensors)

    @property
    def full(self) -> bool:
        return self.step == self.n_steps

    def record(self, step: RolloutStep, truncation_values: ArrayLike | None = None) -> None:
        """Store step ``self.step`` from what each declared field reads off ``step``."""
        self.insert(**{field.name: field.read(step) for field in self.fields}, truncation_values=truncation_values)

    @torch.no_grad()
    def insert(self, *, truncation_values: ArrayLike | None = None, **values: ArrayLike) -> None:
        """Store step ``self.step``: one value per declared field (numpy or torch; copied, detached and cast)."""
        if self.full:
            raise ConfigError(f"RolloutStorage is full ({self.n_steps} steps); call clear() after the update")
        missing = [name for name in self._tensors if name not in values]
        unknown = [name for name in values if name not in self._tensors]
        if missing or unknown:
            raise ConfigError(f"insert() got fields {sorted(values)}; the rollout keeps {list(self._tensors)}")
        t = self.step
        for name, value in values.items():  # check every shape before writing anything
            expected = self._tensors[name].shape[1:]
            if tuple(value.shape) != tuple(expected):
                raise ConfigError(f"{name} has shape {tuple(value.shape)}; the rollout expects {tuple(expected)}")
        for name, value in values.items():
            self._tensors[name][t].copy_(torch.as_tensor(value))
        if truncation_values is None:
            self.truncation_values[t].zero_()
        else:
            # Only truncated agents bootstrap from V(final_obs); zeros elsewhere keep the buffer easy to read.
            source = torch.as_tensor(truncation_values, device=self.device, dtype=torch.float32)
            truncated = self._tensors["truncated"][t]
            self.truncation_values[t] = torch.where(truncated, source, torch.zeros_like(source))
        self.step += 1

    def clear(self) -> None:
        """Start the next rollout (buffers are overwritten, not reallocated)."""
        self.step = 0

    def _check_full(self) -> None:
        if not self.full:
            raise ConfigError(f"the rollout holds {self.step} of {self.n_steps} steps; insert them all first")

    def _targets(self) -> dict[str, Any]:
        tensors = self._tensors
        return {name: tensors[name] for name in ("rewards", "terminated", "truncated")}

    def n_step_returns(self, next_value: Tensor, gamma: float) -> Tensor:
        """A2C targets (T, E, N); ``next_value`` (E, N) is V of the observations after the last step."""
        self._check_full()
        targets = self._targets()
        # n_step_returns only shape-checks the values, so a rollout without them passes its rewards.
        values = self._tensors.get("values", targets["rewards"])
        return n_step_returns(
            targets["rewards"],
            values,
            next_value.to(self.device),
            targets["terminated"],
            targets["truncated"],
            self.truncation_values,
            gamma,
        )

    def gae(self, next_value: Tensor, gamma: float, lam: float) -> tuple[Tensor, Tensor]:
        """PPO advantages and returns (T, E, N); ``next_value`` (E, N) as for :meth:`n_step_returns`."""
        self._check_full()
        if "values" not in self._tensors:
            raise ConfigError("gae() needs the rollout's 'values'; declare the field in the learner's rollout_fields")
        targets = self._targets()
        return gae(
            targets["rewards"],
            self._tensors["values"],
            next_value.to(self.device),
            targets["terminated"],
            targets["truncated"],
            self.truncation_values,
            gamma,
            lam,
        )

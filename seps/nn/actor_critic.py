"""Actor and critic networks whose parameters are shared within each group of agents."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import torch
from torch import Tensor, nn

from seps.errors import ConfigError
from seps.nn.grouped import ACTIVATIONS, GroupedMLP
from seps.nn.regroup import regroup
from seps.nn.routing import Routing, build_routing, build_row_routing

logger = logging.getLogger(__name__)


def _widths(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(int(width) for width in value)


def _positive_widths(instance: Any, attribute: attrs.Attribute[tuple[int, ...]], value: tuple[int, ...]) -> None:
    if not value or any(width < 1 for width in value):
        raise ConfigError(f"'{attribute.name}' must be a non-empty sequence of widths >= 1: {value}")


@attrs.frozen(kw_only=True)
class ActorCriticConfig:
    """Shape and initialisation of the actor and critic networks (the paper's section 4.8)."""

    actor_hidden: tuple[int, ...] = attrs.field(default=(64, 64), converter=_widths, validator=_positive_widths)
    """Hidden layer widths of the actor (the paper uses two layers of 64 or 128 units)."""
    critic_hidden: tuple[int, ...] = attrs.field(default=(64, 64), converter=_widths, validator=_positive_widths)
    """Hidden layer widths of the critic."""
    activation: str = attrs.field(default="relu", validator=attrs.validators.in_(sorted(ACTIVATIONS)))
    """Hidden activation: one of relu, tanh, elu, gelu."""
    actor_gain: float = attrs.field(default=0.01, validator=attrs.validators.gt(0))
    """Orthogonal-init gain of the policy head (small, so the first policy is near uniform)."""
    critic_gain: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    """Orthogonal-init gain of the value head."""


def one_hot_ids(n_envs: int, n_agents: int, device: torch.device | str = "cpu") -> Tensor:
    """float32 (E, N, N): agent i's one-hot id, to append to observations for FuPS+id.

    The result is a broadcast view of one identity matrix; ``torch.cat`` copies it as needed.
    """
    return torch.eye(n_agents, device=device).expand(n_envs, n_agents, n_agents)


class GroupedActorCritic(nn.Module):
    """Separate actor and critic :class:`GroupedMLP`; agent i uses group ``assignment[i]``'s parameters.

    K = ``max(assignment) + 1``: K = 1 is full sharing (FuPS), K = N with the identity
    assignment is no sharing (NoPS). The assignment and the static action mask are buffers,
    so they follow ``.to(device)`` and are saved in the ``state_dict``.

    With ``n_types`` (an env whose agent slots change type between episodes, ``n_episode_types`` in
    :mod:`seps.envs.base`) the assignment maps *types* to groups, shape (n_types,), and the group of
    each row comes from that row's type: every call runs inside :meth:`row_groups` with
    ``groups_for(episode_types)``, a group map (..., N) the trainer also keeps in the rollout, so an
    update routes each sample to the group it acted with. The layers then route rows, not agents
    (:func:`~seps.nn.routing.build_row_routing`): still one batched matmul per layer.
    """

    assignment: Tensor
    static_mask: Tensor
    uses_state: ClassVar[bool] = False
    """Whether the critic reads the global state (the trainer then passes ``state`` to ``value``/``evaluate``)."""
    action_shape: tuple[int, ...] = ()
    """Shape of one agent's action (``()``: one discrete index; ``(A,)`` in the Gaussian subclass)."""
    action_dtype: torch.dtype = torch.int64
    """dtype of the actions the policy samples (float32 in the Gaussian subclass); the rollout allocates from it."""

    def __init__(
        self,
        n_agents: int,
        assignment: Sequence[int] | np.ndarray | Tensor,
        obs_dim: int,
        n_actions: int,
        action_mask: np.ndarray | Tensor | None = None,
        config: ActorCriticConfig | None = None,
        state_dim: int = 0,
        n_types: int | None = None,
    ) -> None:
        super().__init__()
        config = config or ActorCriticConfig()
        labels = torch.as_tensor(np.asarray(assignment), dtype=torch.int64)
        if n_types is not None and (n_types < 1 or labels.shape != (n_types,)):
            raise ConfigError(f"assignment must have one group id per type, shape ({n_types},); got {labels.shape}")
        if n_types is None and labels.shape != (n_agents,):
            raise ConfigError(f"assignment must have one group id per agent, shape ({n_agents},); got {labels.shape}")
        if obs_dim < 1 or n_actions < 1:
            raise ConfigError(f"obs_dim and n_actions must be >= 1, got obs_dim={obs_dim}, n_actions={n_actions}")
        if int(labels.min()) < 0:
            raise ConfigError(f"assignment group ids must be >= 0, got {labels.tolist()}")
        mask = torch.ones(n_agents, n_actions, dtype=torch.bool)
        if action_mask is not None:
            mask = torch.as_tensor(np.asarray(action_mask), dtype=torch.bool)
            if mask.shape != (n_agents, n_actions):
                raise ConfigError(f"action_mask must have shape (n_agents, n_actions) = {(n_agents, n_actions)}")
            if not bool(mask.any(dim=1).all()):
                raise ConfigError("action_mask leaves an agent with no valid action; every row needs a True")
        if state_dim < 0 or (self.uses_state and state_dim < 1):
            raise ConfigError(f"{type(self).__name__} needs state_dim >= 1 (the env's global state), got {state_dim}")
        self.n_agents, self.obs_dim, self.n_actions = n_agents, obs_dim, n_actions
        self.state_dim = state_dim
        self.n_types = n_types
        """Number of agent types the assignment maps (per-episode types); None: it maps the agents."""
        self.n_groups = int(labels.max()) + 1
        self.config = config
        self.register_buffer("assignment", labels)
        self.register_buffer("static_mask", mask)
        self.actor = GroupedMLP(
            self.n_groups, obs_dim, config.actor_hidden, n_actions, config.activation, config.actor_gain
        )
        self.critic = GroupedMLP(
            self.n_groups, self.critic_features(), config.critic_hidden, 1, config.activation, config.critic_gain
        )
        self._routing: Routing | None = None
        self._routing_key: tuple[object, ...] = ()
        self._row_routing: Routing | None = None
        logger.debug("GroupedActorCritic: %d agents in %d groups", n_agents, self.n_groups)

    def groups_for(self, types: np.ndarray | Tensor | None) -> Tensor | None:
        """int64 (..., N): each row's group from its type (``assignment[types]``); None for a policy without types."""
        if types is None:
            if self.n_types is not None:
                raise ConfigError(
                    f"this policy groups {self.n_types} agent types and needs each episode's types "
                    "(StepResult.episode_types); the env gave none"
                )
            return None
        if self.n_types is None:
            raise ConfigError("the env reports per-episode types but this policy was built without n_types")
        index = torch.as_tensor(np.asarray(types) if not isinstance(types, Tensor) else types)
        index = index.to(device=self.assignment.device, dtype=torch.int64)
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= self.n_types):
            raise ConfigError(f"episode types must lie in 0..{self.n_types - 1}, got {index.unique().tolist()}")
        return self.assignment[index]

    @contextlib.contextmanager
    def row_groups(self, groups: Tensor | None) -> Iterator[None]:
        """Within the block, the rows (..., N) of every input use the groups ``groups`` (..., N).

        ``None`` changes nothing (the assignment routes the agents). A learner's update enters it with
        each batch's ``groups`` field, the trainer and :func:`~seps.evaluation.evaluate` with the
        episode's map (:meth:`groups_for`).
        """
        if groups is None:
            yield
            return
        previous = self._row_routing
        self._row_routing = build_row_routing(groups.to(self.assignment.device).long(), self.n_groups)
        try:
            yield
        finally:
            self._row_routing = previous

    def routing(self) -> Routing:
        """The slot layout: per row inside :meth:`row_groups`, else for the current assignment (re-planned only
        when the buffer moves or changes)."""
        if self._row_routing is not None:
            return self._row_routing
        if self.n_types is not None:
            raise ConfigError(
                "this policy groups agents by their type in each episode: call it inside "
                "policy.row_groups(policy.groups_for(episode_types))"
            )
        buffer = self.assignment
        key = (buffer.device, buffer.data_ptr(), buffer._version)
        if self._routing is None or key != self._routing_key:
            self._routing = build_routing(buffer, self.n_groups)
            self._routing_key = key
        return self._routing

    def env_actions(self, actions: Tensor) -> Tensor:
        """The actions to send to the env: Discrete indices as they are (the Gaussian policy clips to the Box)."""
        return actions

    def regroup(
        self, labels: Sequence[int] | np.ndarray | Tensor, optimizer: torch.optim.Optimizer | None = None
    ) -> np.ndarray:
        """Move the agents to the groups ``labels`` (K may grow or shrink); return each new group's source group.

        New groups start from the old group they are matched to (:mod:`seps.nn.regroup`); every
        grouped layer is regrouped and, with ``optimizer``, its Adam state too. Agents whose group
        did not change keep bit-identical parameters and optimiser state.
        """
        if self.n_types is not None:
            raise ConfigError(
                "adaptive SePS (repartition_every) cannot regroup a policy that groups per-episode types yet; "
                "use a fixed partition on this env"
            )
        new = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
        if new.shape != (self.n_agents,) or int(new.min()) < 0:
            raise ConfigError(
                f"regroup needs one group id >= 0 per agent, shape ({self.n_agents},); got {new.tolist()}"
            )
        if len(torch.unique(new)) != int(new.max()) + 1:
            raise ConfigError(f"regroup labels must use every group id 0..K-1, got {new.tolist()}")
        sources = regroup(self, self.assignment.cpu().numpy(), new.numpy(), optimizer)
        self.n_groups = len(sources)
        self.assignment.copy_(new.to(self.assignment.device))  # bumps the buffer's version: routing re-plans
        logger.debug("regrouped %d agents into %d groups (sources %s)", self.n_agents, self.n_groups, sources.tolist())
        return sources

    def _masked_logits(self, logits: Tensor, action_mask: Tensor | None) -> Tensor:
        mask = self.static_mask
        if action_mask is not None:
            mask = action_mask.to(torch.bool) & mask
            # An agent left with no valid action (e.g. dead in SMAC) falls back to its action space, so that
            # sampling stays within it; the learner masks such agents out through ``active``.
            mask = torch.where(mask.any(dim=-1, keepdim=True), mask, self.static_mask)
        # A large finite negative (not -inf) gives zero probability and keeps log-probs and gradients finite.
        return logits.masked_fill(~mask, torch.finfo(logits.dtype).min)

    def _check_obs(self, obs: Tensor) -> None:
        if obs.dim() < 2 or obs.shape[-2:] != (self.n_agents, self.obs_dim):
            raise ConfigError(
                f"obs must have shape (..., n_agents, obs_dim) = (..., {self.n_agents}, {self.obs_dim}), "
                f"got {tuple(obs.shape)}"
            )

    def critic_features(self) -> int:
        """Width of one agent's critic input (:meth:`critic_input`): here its observation."""
        return self.obs_dim

    def critic_input(self, obs: Tensor, state: Tensor | None) -> Tensor:
        """What the critic reads, (..., N, critic_features): the agent's own observation (``state`` is unused)."""
        return obs

    def critic_values(self, obs: Tensor, state: Tensor | None, routing: Routing) -> Tensor:
        """The critic on :meth:`critic_input`: values (..., N)."""
        return self.critic(self.critic_input(obs, state), routing).squeeze(-1)

    def forward(
        self, obs: Tensor, action_mask: Tensor | None = None, state: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """obs (..., N, D), mask (..., N, A) [and state (..., S)] -> masked logits (..., N, A) and values (..., N)."""
        self._check_obs(obs)
        routing = self.routing()
        logits = self._masked_logits(self.actor(obs, routing), action_mask)
        return logits, self.critic_values(obs, state, routing)

    def value(self, obs: Tensor, state: Tensor | None = None) -> Tensor:
        """Critic only: obs (..., N, D) [and state (..., S)] -> values (..., N), e.g. to bootstrap."""
        self._check_obs(obs)
        return self.critic_values(obs, state, self.routing())

    def act(
        self,
        obs: Tensor,
        action_mask: Tensor | None = None,
        greedy: bool = False,
        generator: torch.Generator | None = None,
        state: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Sample (or, if ``greedy``, take the most likely) valid actions; the actor never sees ``state``.

        Returns actions (int64 (..., N); float (..., N, A) for a Box policy), their log-probs, values and
        policy entropies (..., N).
        """
        actions, log_probs, log_probs_all = self._choose(obs, action_mask, greedy, generator)
        return actions, log_probs, self.value(obs, state), self._choice_entropy(log_probs_all)

    def sample(
        self,
        obs: Tensor,
        action_mask: Tensor | None = None,
        greedy: bool = False,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        """The actions and log-probs of :meth:`act` without running the critic (the same draws from ``generator``)."""
        actions, log_probs, _ = self._choose(obs, action_mask, greedy, generator)
        return actions, log_probs

    def _choose(
        self, obs: Tensor, action_mask: Tensor | None, greedy: bool, generator: torch.Generator | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Actions (..., N), their log-probs (..., N) and the log-probs of every action (..., N, A)."""
        self._check_obs(obs)
        logits = self._masked_logits(self.actor(obs, self.routing()), action_mask)
        log_probs_all = torch.log_softmax(logits, dim=-1)
        if greedy:
            actions = logits.argmax(dim=-1)
        else:
            flat = log_probs_all.exp().reshape(-1, self.n_actions)
            actions = torch.multinomial(flat, 1, generator=generator).reshape(logits.shape[:-1])
        log_probs = log_probs_all.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        return actions, log_probs, log_probs_all

    def _choice_entropy(self, extra: Tensor) -> Tensor:
        """Policy entropies (..., N) from the third value :meth:`_choose` returns (here every action's log-prob)."""
        return _entropy(extra)

    def evaluate(
        self, obs: Tensor, action_mask: Tensor | None, actions: Tensor, state: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Log-probs of ``actions`` (..., N), policy entropies (..., N) and values (..., N), with gradients."""
        logits, values = self(obs, action_mask, state)
        log_probs_all = torch.log_softmax(logits, dim=-1)
        log_probs = log_probs_all.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
        return log_probs, _entropy(log_probs_all), values


def _entropy(log_probs: Tensor) -> Tensor:
    # Masked actions have probability exactly 0 and a finite log-prob, so they add exactly 0.
    return -(log_probs.exp() * log_probs).sum(dim=-1)

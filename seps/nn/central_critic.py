"""The grouped actor-critic with a centralised critic: MAA2C's and MAPPO's policy.

Actors are those of :class:`~seps.nn.actor_critic.GroupedActorCritic` and see only their own
observation. The critic of agent i reads ``[state, o_i, one-hot(i)]``: the env's global state
(``StepResult.state``), the agent's own observation as its actor sees it (with FuPS+id's appended
id when the sharing mode adds one) and its one-hot id. Sources of that choice:

* EPyMARL ``src/modules/critics/centralV.py`` (``CentralVCritic._build_inputs``), the critic of
  its MAA2C and MAPPO: the state repeated per agent and the one-hot agent id, always; all agents'
  observations only with ``obs_individual_obs``, last actions with ``obs_last_action``.
* MAPPO (Yu et al., 2022, "The surprising effectiveness of PPO in cooperative multi-agent games",
  suggestion 3, and the agent-specific state of its SMAC wrapper): "include both local,
  agent-specific features and global features in the value function input".

So the state and the id follow EPyMARL's default and the own observation follows MAPPO's
agent-specific state. The id gives each agent its own value where rewards are individual (BPS,
foraging, warehouse), so one critic per group can predict every member's return; with a team
reward (SMAC, ``reward_mode="sum"``) every agent's target is the same team return.

The critic is a :class:`~seps.nn.grouped.GroupedMLP` with one parameter set per group of the
partition, routed by the same ``assignment`` as the actor: grouped and stacked like the actor,
so anything that regroups a policy's grouped layers covers it. No value normalisation is used.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from seps.errors import ConfigError
from seps.nn.actor_critic import GroupedActorCritic


class CentralCriticActorCritic(GroupedActorCritic):
    """Decentralised grouped actors, one centralised critic per group over ``[state, own obs, one-hot id]``."""

    uses_state: ClassVar[bool] = True

    def critic_features(self) -> int:
        return self.state_dim + self.obs_dim + self.n_agents

    def critic_input(self, obs: Tensor, state: Tensor | None) -> Tensor:
        """(..., N, S + D + N): the state (..., S) repeated for every agent, its observation and its one-hot id."""
        if state is None:
            raise ConfigError(f"{type(self).__name__}'s critic needs the global state; pass state=(..., state_dim)")
        if state.shape[:-1] != obs.shape[:-2] or state.shape[-1] != self.state_dim:
            raise ConfigError(
                f"state must have shape {(*obs.shape[:-2], self.state_dim)} to match obs {tuple(obs.shape)}, "
                f"got {tuple(state.shape)}"
            )
        leading = obs.shape[:-2]
        shared = state.unsqueeze(-2).expand(*leading, self.n_agents, self.state_dim)
        ids = torch.eye(self.n_agents, device=obs.device, dtype=obs.dtype).expand(*leading, -1, -1)
        return torch.cat([shared, obs, ids], dim=-1)

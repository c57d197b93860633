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

Cost: the input is ``S + D + N`` wide and the state alone is O(N), so applying the first layer
to every agent's concatenated input costs O(N^2) per row. Its product is split instead
(:meth:`CentralCriticActorCritic.critic_values`): ``[s, o_i, e_i] @ W_g = s @ W_g[:S] +
o_i @ W_g[S:S+D] + W_g[S+D+i]``, the state's part once per group rather than once per agent
and the id's part a row lookup. Same function (to float rounding; tested against
:meth:`~CentralCriticActorCritic.critic_input`), O(N + K S) per row.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from seps.errors import ConfigError
from seps.nn.actor_critic import GroupedActorCritic
from seps.nn.routing import Routing, RowRouting


class CentralCriticActorCritic(GroupedActorCritic):
    """Decentralised grouped actors, one centralised critic per group over ``[state, own obs, one-hot id]``."""

    uses_state: ClassVar[bool] = True

    def critic_features(self) -> int:
        return self.state_dim + self.obs_dim + self.n_agents

    def _checked_state(self, obs: Tensor, state: Tensor | None) -> Tensor:
        if state is None:
            raise ConfigError(f"{type(self).__name__}'s critic needs the global state; pass state=(..., state_dim)")
        if state.shape[:-1] != obs.shape[:-2] or state.shape[-1] != self.state_dim:
            raise ConfigError(
                f"state must have shape {(*obs.shape[:-2], self.state_dim)} to match obs {tuple(obs.shape)}, "
                f"got {tuple(state.shape)}"
            )
        return state

    def critic_input(self, obs: Tensor, state: Tensor | None) -> Tensor:
        """(..., N, S + D + N): the state (..., S) repeated for every agent, its observation and its one-hot id."""
        state = self._checked_state(obs, state)
        leading = obs.shape[:-2]
        shared = state.unsqueeze(-2).expand(*leading, self.n_agents, self.state_dim)
        ids = torch.eye(self.n_agents, device=obs.device, dtype=obs.dtype).expand(*leading, -1, -1)
        return torch.cat([shared, obs, ids], dim=-1)

    def critic_values(self, obs: Tensor, state: Tensor | None, routing: Routing) -> Tensor:
        """Values (..., N) of the critic on :meth:`critic_input`, with its first layer split (module docstring)."""
        if isinstance(routing, RowRouting):  # groups per row (per-episode types): the plain, unsplit input
            return super().critic_values(obs, state, routing)
        state = self._checked_state(obs, state)
        first, *rest = self.critic.linears
        s, d = self.state_dim, self.obs_dim
        labels = self.assignment
        weight = first.weight  # (K, S + D + N, H)
        from_state = torch.einsum("...s,ksh->...kh", state, weight[:, :s]).index_select(-2, labels)  # (..., N, H)
        from_obs = torch.einsum("...nd,ndh->...nh", obs, weight[labels, s : s + d])
        agents = torch.arange(self.n_agents, device=labels.device)
        from_id = weight[labels, s + d + agents] + first.bias[labels]  # (N, H): the one-hot id picks a row
        hidden = self.critic.activations[0](from_state + from_obs + from_id)
        last = len(rest) - 1
        if self.n_groups == 1:
            for index, layer in enumerate(rest):
                hidden = layer.forward_shared(hidden)
                if index < last:
                    hidden = self.critic.activations[index + 1](hidden)
            return hidden.squeeze(-1)
        slots = routing.to_slots(hidden)
        for index, layer in enumerate(rest):
            slots = layer.forward_slots(slots, routing)
            if index < last:
                slots = self.critic.activations[index + 1](slots)
        return routing.from_slots(slots, obs.shape[:-2]).squeeze(-1)

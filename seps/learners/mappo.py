"""MAPPO: PPO with a centralised critic per parameter group (Yu et al., 2022; EPyMARL's ``mappo``).

The actors, GAE, clipping and minibatches are PPO's (:mod:`seps.learners.ppo`); the critic reads
the global state (:class:`~seps.nn.central_critic.CentralCriticActorCritic`), so the rollout keeps
it and every minibatch row carries its (step, copy)'s state. MAPPO's value normalisation (PopArt /
running mean-std in the ``on-policy`` code) is not used, as in PPO here.
"""

from __future__ import annotations

import attrs

from seps.learners.ppo import PPO
from seps.nn.central_critic import CentralCriticActorCritic
from seps.registry import LEARNERS


@LEARNERS.register("mappo")
@attrs.frozen(kw_only=True)
class MAPPO(PPO):
    """PPO whose critic of agent i reads ``[state, o_i, one-hot(i)]``; actors see their own observation only."""

    policy_class = CentralCriticActorCritic
    rollout_fields = (*PPO.rollout_fields, "state")

"""MAA2C: A2C with a centralised critic per parameter group (EPyMARL's ``maa2c``; Papoudakis et al., 2021).

The actors, returns and losses are A2C's (:mod:`seps.learners.a2c`); only the policy and the
rollout differ: the critic reads the global state (:class:`~seps.nn.central_critic.CentralCriticActorCritic`),
so the rollout keeps it.
"""

from __future__ import annotations

import attrs

from seps.learners.a2c import A2C
from seps.nn.central_critic import CentralCriticActorCritic
from seps.registry import LEARNERS


@LEARNERS.register("maa2c")
@attrs.frozen(kw_only=True)
class MAA2C(A2C):
    """A2C whose critic of agent i reads ``[state, o_i, one-hot(i)]``; actors see their own observation only."""

    policy_class = CentralCriticActorCritic
    rollout_fields = (*A2C.rollout_fields, "state")

"""On-policy learners that train the grouped actor-critic: A2C and PPO, and MAA2C and MAPPO with centralised critics."""

from seps.learners import a2c, maa2c, mappo, ppo  # noqa: F401  (register 'a2c', 'maa2c', 'mappo' and 'ppo')
from seps.learners.base import OnPolicyLearner

__all__ = ["OnPolicyLearner"]

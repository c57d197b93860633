"""On-policy learners that train the grouped actor-critic: A2C and PPO."""

from seps.learners import a2c, ppo  # noqa: F401  (register 'a2c' and 'ppo')
from seps.learners.base import OnPolicyLearner

__all__ = ["OnPolicyLearner"]

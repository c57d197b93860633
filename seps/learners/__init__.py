"""On-policy learners that train the grouped actor-critic: A2C (and PPO)."""

from seps.learners import a2c  # noqa: F401  (registers 'a2c')
from seps.learners.base import OnPolicyLearner

__all__ = ["OnPolicyLearner"]

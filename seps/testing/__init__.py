"""Checks users run on their own components, in the spirit of scikit-learn's ``check_estimator``."""

from seps.testing.env import check_env_adapter
from seps.testing.partitioner import PartitionerCheckError, check_partitioner

__all__ = ["PartitionerCheckError", "check_env_adapter", "check_partitioner"]

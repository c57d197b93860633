"""Hand a seps :class:`~seps.records.Partition` to another MARL framework.

seps finds the groups; these functions write them in the shape each framework reads:

* BenchMARL / TorchRL: a ``group_map`` ``{group_name: [agent_name, ...]}``. TorchRL checks it with
  ``torchrl.envs.utils.check_marl_grouping`` (every agent in exactly one non-empty group, names as
  the env spells them) and its multi-agent envs take it as ``group_map=`` (``torchrl/envs/libs/vmas.py``
  ``VmasEnv.__init__``, ``torchrl/envs/libs/pettingzoo.py``). BenchMARL reads the env's
  ``group_map`` (``benchmarl/environments/vmas/common.py`` ``VmasClass.group_map``) and builds one
  model per group, its parameters shared inside the group when ``share_policy_params`` is on.
* RLlib: the ``policies`` set and a ``policy_mapping_fn(agent_id, episode, **kwargs) -> policy id``
  for ``AlgorithmConfig.multi_agent`` (``ray/rllib/algorithms/algorithm_config.py``
  ``AlgorithmConfig.multi_agent``: a set of ids becomes ``{id: PolicySpec()}``, each id passes
  ``ray.rllib.core.rl_module.validate_module_id``). The mapping function is a
  :class:`PolicyMapping` instance, picklable so Ray can ship it to its workers.
* a plain JSON ``{"agents": {agent_name: group_name}, "groups": {group_name: [agent_name, ...]}}``.

Group names are ``group_<g>`` with g the partition's canonical group number (lowest agent first),
valid as a TorchRL tensordict key and as an RLlib policy id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from seps.errors import ConfigError
from seps.records import Partition

FORMATS = ("benchmarl", "rllib", "json")
"""Formats ``seps partition --export`` writes."""


def group_name(group: int) -> str:
    """The exported name of group ``group``: ``"group_<g>"``."""
    return f"group_{group}"


def default_agent_names(n_agents: int) -> tuple[str, ...]:
    """Names for an env that has none of its own: ``agent_0 .. agent_{N-1}`` (seps's agent order)."""
    return tuple(f"agent_{index}" for index in range(n_agents))


def _names(partition: Partition, agent_names: Sequence[str] | None) -> tuple[str, ...]:
    names = default_agent_names(partition.n_agents) if agent_names is None else tuple(str(n) for n in agent_names)
    if len(names) != partition.n_agents:
        raise ConfigError(f"export: {len(names)} agent names for a partition of {partition.n_agents} agents")
    if len(set(names)) != len(names):
        raise ConfigError(f"export: agent names must be unique, got {list(names)}")
    return names


def agent_to_group(partition: Partition, agent_names: Sequence[str] | None = None) -> dict[str, str]:
    """``{agent_name: group_name}`` in agent order."""
    names = _names(partition, agent_names)
    return {name: group_name(int(label)) for name, label in zip(names, partition.labels, strict=True)}


def benchmarl_group_map(partition: Partition, agent_names: Sequence[str] | None = None) -> dict[str, list[str]]:
    """The BenchMARL / TorchRL ``group_map``: ``{group_name: [agent_name, ...]}``, groups and members in order."""
    names = _names(partition, agent_names)
    return {group_name(g): [names[i] for i in members] for g, members in partition.groups().items()}


class PolicyMapping:
    """RLlib's ``policy_mapping_fn``: ``mapping(agent_id, episode, **kwargs) -> policy id``.

    A plain class with a dict (not a closure or lambda) so that ``pickle`` and Ray's
    cloudpickle can send it to rollout workers. An agent id it does not know raises a
    ``KeyError`` naming the agents it does know: a silent default policy would train the
    wrong parameters.
    """

    def __init__(self, agent_to_policy: Mapping[str, str]) -> None:
        self.agent_to_policy = dict(agent_to_policy)

    def __call__(self, agent_id: Any, episode: Any = None, **kwargs: Any) -> str:
        try:
            return self.agent_to_policy[str(agent_id)]
        except KeyError:
            raise KeyError(
                f"policy_mapping_fn: unknown agent id {agent_id!r}; the exported partition maps "
                f"{sorted(self.agent_to_policy)}"
            ) from None

    @property
    def policies(self) -> set[str]:
        """The policy ids the mapping can return."""
        return set(self.agent_to_policy.values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PolicyMapping) and other.agent_to_policy == self.agent_to_policy

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.agent_to_policy.items())))

    def __repr__(self) -> str:
        return f"PolicyMapping({self.agent_to_policy!r})"


def rllib_multi_agent(partition: Partition, agent_names: Sequence[str] | None = None) -> tuple[set[str], PolicyMapping]:
    """``(policies, policy_mapping_fn)`` for ``config.multi_agent(policies=..., policy_mapping_fn=...)``."""
    mapping = PolicyMapping(agent_to_group(partition, agent_names))
    return mapping.policies, mapping


def export_dict(partition: Partition, fmt: str, agent_names: Sequence[str] | None = None) -> dict[str, Any]:
    """The JSON-ready content of ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "benchmarl":
        return benchmarl_group_map(partition, agent_names)
    if fmt == "rllib":
        mapping = agent_to_group(partition, agent_names)
        return {"policies": sorted(set(mapping.values())), "policy_mapping": mapping}
    if fmt == "json":
        return {"agents": agent_to_group(partition, agent_names), "groups": benchmarl_group_map(partition, agent_names)}
    raise ConfigError(f"export: unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")


def export_text(partition: Partition, fmt: str, agent_names: Sequence[str] | None = None) -> str:
    """:func:`export_dict` as indented JSON text."""
    return json.dumps(export_dict(partition, fmt, agent_names), indent=2)


def load_policy_mapping(text: str) -> tuple[set[str], PolicyMapping]:
    """Read the ``rllib`` export back: ``(policies, policy_mapping_fn)``."""
    data = json.loads(text)
    mapping = PolicyMapping(data["policy_mapping"])
    return set(data["policies"]), mapping


def partition_from_group_map(group_map: Mapping[str, Sequence[str]], agent_names: Sequence[str]) -> Partition:
    """The partition a ``group_map`` stands for, agents in ``agent_names`` order (the inverse of the export).

    Raises :class:`~seps.errors.ConfigError` when an agent is in no group, in two, or unknown:
    the same checks as TorchRL's ``check_marl_grouping``.
    """
    index = {name: i for i, name in enumerate(agent_names)}
    labels = np.full(len(agent_names), -1, dtype=np.int64)
    for g, members in enumerate(group_map.values()):
        for name in members:
            if name not in index:
                raise ConfigError(f"group_map: agent {name!r} is not one of {list(agent_names)}")
            if labels[index[name]] >= 0:
                raise ConfigError(f"group_map: agent {name!r} is in more than one group")
            labels[index[name]] = g
    missing = [name for name, label in zip(agent_names, labels, strict=True) if label < 0]
    if missing:
        raise ConfigError(f"group_map: agents {missing} are in no group")
    return Partition(labels=labels, method="exported")


def partition_from_agent_groups(agent_groups: Mapping[str, str], agent_names: Sequence[str]) -> Partition:
    """The partition an ``{agent_name: group_name}`` map stands for (the ``json`` / ``rllib`` exports)."""
    missing = [name for name in agent_names if name not in agent_groups]
    if missing:
        raise ConfigError(f"agent map: agents {missing} have no group")
    groups: dict[str, int] = {}
    labels = [groups.setdefault(agent_groups[name], len(groups)) for name in agent_names]
    return Partition(labels=np.asarray(labels, dtype=np.int64), method="exported")

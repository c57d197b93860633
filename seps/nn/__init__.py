"""Neural networks whose K parameter sets serve N agents in one batched pass."""

from seps.nn.actor_critic import ActorCriticConfig, GroupedActorCritic, one_hot_ids
from seps.nn.grouped import ACTIVATIONS, GroupedLinear, GroupedMLP, orthogonal_stack_
from seps.nn.routing import GroupRouting, RowRouting, build_routing, build_row_routing

__all__ = [
    "ACTIVATIONS",
    "ActorCriticConfig",
    "GroupRouting",
    "GroupedActorCritic",
    "GroupedLinear",
    "GroupedMLP",
    "RowRouting",
    "build_routing",
    "build_row_routing",
    "one_hot_ids",
    "orthogonal_stack_",
]

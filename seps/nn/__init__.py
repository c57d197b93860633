"""Neural networks whose K parameter sets serve N agents in one batched pass."""

from seps.nn.actor_critic import ActorCriticConfig, GroupedActorCritic, one_hot_ids
from seps.nn.grouped import ACTIVATIONS, GroupedLinear, GroupedMLP, GroupRouting, build_routing, orthogonal_stack_

__all__ = [
    "ACTIVATIONS",
    "ActorCriticConfig",
    "GroupRouting",
    "GroupedActorCritic",
    "GroupedLinear",
    "GroupedMLP",
    "build_routing",
    "one_hot_ids",
    "orthogonal_stack_",
]

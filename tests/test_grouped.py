"""Grouped layers equal K separate modules, keep gradients per group, and the actor-critic masks actions."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch
from torch import nn

from seps.errors import ConfigError
from seps.nn import (
    ActorCriticConfig,
    GroupedActorCritic,
    GroupedLinear,
    GroupedMLP,
    build_routing,
    one_hot_ids,
)

N_AGENTS = 7
ASSIGNMENTS = {
    "fups": [0] * N_AGENTS,
    "nops": list(range(N_AGENTS)),
    "mixed": [2, 0, 1, 0, 2, 2, 1],
    "skewed": [0, 0, 0, 0, 0, 1, 2],  # group sizes 5, 1, 1: slots are split and gather their group's weights
}


def _reference_mlp(mlp: GroupedMLP, group: int) -> nn.Sequential:
    """An ordinary nn.Sequential holding a copy of one group's weights."""
    modules: list[nn.Module] = []
    for index, layer in enumerate(mlp.linears):
        linear = nn.Linear(layer.in_features, layer.out_features, dtype=layer.weight.dtype)
        with torch.no_grad():
            linear.weight.copy_(layer.weight[group].T)
            linear.bias.copy_(layer.bias[group])
        modules.append(linear)
        if index < len(mlp.layers) - 1:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_grouped_linear_equals_separate_linears(name: str) -> None:
    torch.manual_seed(0)
    assignment = torch.tensor(ASSIGNMENTS[name])
    layer = GroupedLinear(int(assignment.max()) + 1, 5, 3)
    nn.init.normal_(layer.bias)
    x = torch.randn(4, N_AGENTS, 5)
    out = layer(x, assignment)
    for agent, group in enumerate(assignment.tolist()):
        expected = nn.functional.linear(x[:, agent], layer.weight[group].T, layer.bias[group])
        torch.testing.assert_close(out[:, agent], expected, atol=1e-6, rtol=0)


def test_grouped_linear_accepts_flat_rows_with_per_row_groups() -> None:
    torch.manual_seed(0)
    layer = GroupedLinear(3, 4, 2)
    rows, groups = torch.randn(10, 4), torch.tensor([0, 2, 2, 1, 0, 1, 2, 0, 0, 1])
    out = layer(rows, groups)
    expected = torch.stack([rows[i] @ layer.weight[g] + layer.bias[g] for i, g in enumerate(groups.tolist())])
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", sorted(ASSIGNMENTS))
def test_grouped_mlp_equals_separate_mlps(name: str) -> None:
    torch.manual_seed(1)
    assignment = torch.tensor(ASSIGNMENTS[name])
    # float64, so that the comparison checks the routing rather than float32 summation order
    mlp = GroupedMLP(int(assignment.max()) + 1, 6, (8, 8), 3).double()
    for layer in mlp.linears:
        nn.init.normal_(layer.bias)
    x = torch.randn(2, 3, N_AGENTS, 6, dtype=torch.float64)  # extra leading axes, e.g. (T, E)
    out = mlp(x, assignment)
    assert out.shape == (2, 3, N_AGENTS, 3)
    for agent, group in enumerate(assignment.tolist()):
        torch.testing.assert_close(out[..., agent, :], _reference_mlp(mlp, group)(x[..., agent, :]), atol=1e-6, rtol=0)


def test_routing_plans_without_gathers_or_scatters_where_possible() -> None:
    nops = build_routing(torch.arange(N_AGENTS), N_AGENTS)
    assert nops.slots_are_groups and nops.in_agent_order and nops.slot_size == 1
    balanced = build_routing(torch.tensor([0, 0, 1, 1]), 2)
    assert balanced.slots_are_groups and balanced.in_agent_order and balanced.slot_size == 2
    skewed = build_routing(torch.tensor(ASSIGNMENTS["skewed"]), 3)
    assert not skewed.slots_are_groups
    assert skewed.n_slots * skewed.slot_size <= 1.25 * N_AGENTS  # padding bounded
    with pytest.raises(ConfigError, match=r"0\.\.2"):
        build_routing(torch.tensor([0, 3]), 3)


def test_init_is_orthogonal_per_group_with_zero_bias() -> None:
    torch.manual_seed(0)
    mlp = GroupedMLP(3, 5, (16,), 4, output_gain=0.01)
    hidden, head = mlp.linears
    for group in range(3):
        weight = hidden.weight[group].T  # like nn.Linear.weight, (16, 5): orthonormal columns
        torch.testing.assert_close(weight.T @ weight, 2.0 * torch.eye(5), atol=1e-5, rtol=0)
        head_weight = head.weight[group].T  # (4, 16): orthonormal rows scaled by the gain
        torch.testing.assert_close(head_weight @ head_weight.T, 1e-4 * torch.eye(4), atol=1e-8, rtol=0)
    assert not torch.allclose(hidden.weight[0], hidden.weight[1])
    assert all(bool((layer.bias == 0).all()) for layer in mlp.linears)
    assert math.isclose(hidden.gain, math.sqrt(2))


@pytest.mark.parametrize("name", ["mixed", "skewed"])
def test_gradients_reach_only_the_agents_own_group(name: str) -> None:
    torch.manual_seed(0)
    assignment = torch.tensor(ASSIGNMENTS[name])
    mlp = GroupedMLP(3, 6, (8, 8), 2)
    before = [p.detach().clone() for p in mlp.parameters()]
    loss = mlp(torch.randn(5, N_AGENTS, 6), assignment)[:, assignment == 0].pow(2).sum()
    loss.backward()
    for layer in mlp.linears:
        for parameter in (layer.weight, layer.bias):
            assert parameter.grad is not None
            assert bool((parameter.grad[1:] == 0).all())
            assert bool((parameter.grad[0] != 0).any())
    torch.optim.Adam(mlp.parameters(), lr=1e-2).step()
    for old, new in zip(before, mlp.parameters(), strict=True):
        assert torch.equal(old[1:], new[1:])
        assert not torch.equal(old[0], new[0])


def _model(assignment: list[int], mask: np.ndarray | None = None, seed: int = 0) -> GroupedActorCritic:
    torch.manual_seed(seed)
    return GroupedActorCritic(len(assignment), assignment, obs_dim=6, n_actions=4, action_mask=mask)


def test_masked_actions_have_zero_probability_and_are_never_sampled() -> None:
    static = np.ones((N_AGENTS, 4), dtype=bool)
    static[:, 3] = False  # no agent has action 3
    model = _model(ASSIGNMENTS["mixed"], static)
    obs = torch.randn(256, N_AGENTS, 6, requires_grad=True)
    dynamic = torch.ones(256, N_AGENTS, 4, dtype=torch.bool)
    dynamic[:, :, 0] = False  # the env forbids action 0 right now
    generator = torch.Generator().manual_seed(0)
    actions, log_probs, values, entropy = model.act(obs, dynamic, generator=generator)
    assert set(actions.unique().tolist()) == {1, 2}
    logits, _ = model(obs, dynamic)
    probs = torch.softmax(logits, dim=-1)
    assert bool((probs[..., 0] == 0).all()) and bool((probs[..., 3] == 0).all())
    assert values.shape == log_probs.shape == entropy.shape == (256, N_AGENTS)
    assert bool((entropy <= math.log(2) + 1e-6).all())  # only two actions remain
    new_log_probs, new_entropy, _ = model.evaluate(obs, dynamic, actions)
    torch.testing.assert_close(new_log_probs, log_probs)
    (new_log_probs.sum() + new_entropy.sum()).backward()
    assert all(bool(torch.isfinite(p.grad).all()) for p in model.parameters() if p.grad is not None)
    greedy, *_ = model.act(obs, dynamic, greedy=True)
    torch.testing.assert_close(greedy, logits.argmax(-1))
    assert set(greedy.unique().tolist()) <= {1, 2}


def test_agent_without_valid_actions_falls_back_to_its_action_space() -> None:
    static = np.ones((N_AGENTS, 4), dtype=bool)
    static[:, 2:] = False
    model = _model(ASSIGNMENTS["mixed"], static)
    dynamic = torch.ones(64, N_AGENTS, 4, dtype=torch.bool)
    dynamic[:, 0] = False  # agent 0 is dead: nothing allowed
    actions, log_probs, *_ = model.act(
        torch.randn(64, N_AGENTS, 6), dynamic, generator=torch.Generator().manual_seed(1)
    )
    assert set(actions[:, 0].tolist()) <= {0, 1}
    assert bool(torch.isfinite(log_probs).all())


def test_actor_critic_groups_and_state_dict() -> None:
    model = _model(ASSIGNMENTS["mixed"])
    assert model.n_groups == 3 and model.actor.linears[0].weight.shape == (3, 6, 64)
    state = model.state_dict()
    assert state["assignment"].tolist() == ASSIGNMENTS["mixed"]
    copy = _model([0, 1, 2, 0, 1, 2, 0], seed=5)  # same K, other assignment: loading must re-plan the routing
    obs = torch.randn(3, N_AGENTS, 6)
    copy(obs)
    copy.load_state_dict(state)
    assert copy.assignment.tolist() == ASSIGNMENTS["mixed"]
    torch.testing.assert_close(copy(obs)[0], model(obs)[0])
    torch.testing.assert_close(copy.value(obs), model(obs)[1])
    # agents of one group share parameters: the same observation gives the same output
    same = torch.randn(1, 1, 6).expand(1, N_AGENTS, 6)
    logits, _ = model(same)
    torch.testing.assert_close(logits[0, 1], logits[0, 3])
    assert not torch.allclose(logits[0, 0], logits[0, 1])


def _parameter_hash(model: nn.Module) -> str:
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    return hashlib.sha256(flat.numpy().tobytes()).hexdigest()


def test_same_seed_same_parameter_hash() -> None:
    assert _parameter_hash(_model(ASSIGNMENTS["mixed"], seed=3)) == _parameter_hash(
        _model(ASSIGNMENTS["mixed"], seed=3)
    )
    assert _parameter_hash(_model(ASSIGNMENTS["mixed"], seed=3)) != _parameter_hash(
        _model(ASSIGNMENTS["mixed"], seed=4)
    )


def test_config_and_inputs_are_validated() -> None:
    with pytest.raises(ConfigError, match="one group id per agent"):
        GroupedActorCritic(3, [0, 1], obs_dim=4, n_actions=2)
    with pytest.raises(ConfigError, match="no valid action"):
        GroupedActorCritic(2, [0, 1], obs_dim=4, n_actions=2, action_mask=np.array([[True, False], [False, False]]))
    with pytest.raises(ConfigError, match="actor_hidden"):
        ActorCriticConfig(actor_hidden=(64, 0))
    with pytest.raises(ConfigError, match="unknown activation"):
        GroupedMLP(2, 3, (4,), 1, activation="swish")
    model = GroupedActorCritic(2, [0, 1], obs_dim=4, n_actions=2, config=ActorCriticConfig(critic_hidden=(32,)))
    assert model.critic.linears[0].out_features == 32
    with pytest.raises(ConfigError, match="obs must have shape"):
        model(torch.zeros(1, 2, 5))


def test_one_hot_ids() -> None:
    ids = one_hot_ids(2, 3)
    assert ids.shape == (2, 3, 3)
    assert torch.equal(ids[1], torch.eye(3))

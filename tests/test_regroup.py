"""Regrouping a live policy: unchanged agents keep parameters and Adam state bit for bit, moved agents copy."""

import numpy as np
import pytest
import torch

from seps.errors import ConfigError
from seps.nn import ActorCriticConfig, GroupedActorCritic, GroupedMLP
from seps.nn.regroup import changed_groups, group_sources, regroup, restart_groups

OLD = [0, 0, 1, 1, 2, 2]


def trained_policy(device: str = "cpu") -> tuple[GroupedActorCritic, torch.optim.Adam]:
    """A 6-agent, 3-group policy after three Adam steps, so every parameter has moments."""
    torch.manual_seed(0)
    config = ActorCriticConfig(actor_hidden=(8,), critic_hidden=(8,))
    policy = GroupedActorCritic(6, OLD, obs_dim=4, n_actions=3, config=config).to(device)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
    generator = torch.Generator(device=device).manual_seed(1)
    for _ in range(3):
        obs = torch.randn(5, 6, 4, generator=generator, device=device)
        logits, values = policy(obs)
        loss = logits.square().mean() + values.square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return policy, optimizer


def per_agent(policy: GroupedActorCritic, optimizer: torch.optim.Optimizer) -> list[dict[str, torch.Tensor]]:
    """Every agent's own slice of each stacked parameter and of its Adam moments."""
    labels = policy.assignment.tolist()
    agents: list[dict[str, torch.Tensor]] = [{} for _ in labels]
    for name, parameter in policy.named_parameters():
        state = optimizer.state[parameter]
        for agent, group in enumerate(labels):
            agents[agent][name] = parameter.detach()[group].clone()
            agents[agent][name + ".exp_avg"] = state["exp_avg"][group].clone()
            agents[agent][name + ".exp_avg_sq"] = state["exp_avg_sq"][group].clone()
            agents[agent][name + ".step"] = state["step"].clone()
    return agents


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    ("new", "sources", "moved_from"),
    [
        # K up: agent 5 leaves group 2 for a new group, which starts from group 2 (where its agent came from).
        ([0, 0, 1, 1, 2, 3], [0, 1, 2, 2], {5: 2}),
        # K down: groups 0 and 1 merge; the merged group continues group 0 (tie -> lower id), so 2, 3 move.
        ([0, 0, 0, 0, 1, 1], [0, 2], {2: 0, 3: 0}),
        # Same K, groups renumbered: nobody moves.
        ([2, 2, 0, 0, 1, 1], [1, 2, 0], {}),
        # Same K, two agents swap groups: the groups follow their majorities.
        ([0, 1, 1, 0, 2, 2], [0, 1, 2], {1: 1, 3: 0}),
    ],
)
def test_regroup_keeps_unchanged_agents_and_copies_the_matched_group_to_moved_ones(new, sources, moved_from):
    policy, optimizer = trained_policy()
    before = per_agent(policy, optimizer)
    obs = torch.randn(7, 6, 4, generator=torch.Generator().manual_seed(3))
    logits_before, values_before = policy(obs)

    got = policy.regroup(new, optimizer)

    assert got.tolist() == sources
    assert policy.n_groups == len(sources) and policy.actor.n_groups == len(sources)
    assert policy.actor.layers[0].weight.shape[0] == len(sources)
    assert policy.assignment.tolist() == new
    after = per_agent(policy, optimizer)
    old_members = {g: [i for i, o in enumerate(OLD) if o == g] for g in set(OLD)}
    for agent in range(6):
        if agent in moved_from:  # it now holds what the source group's agents held
            assert same(after[agent], before[old_members[moved_from[agent]][0]])
            assert same(after[agent], before[agent]) == (moved_from[agent] == OLD[agent])
        else:
            assert same(after[agent], before[agent])
    logits_after, values_after = policy(obs)
    unchanged = [a for a in range(6) if a not in moved_from]
    # Same parameters; the batched layout may change with the groups, so outputs agree to rounding only.
    torch.testing.assert_close(logits_after[:, unchanged], logits_before[:, unchanged], rtol=0, atol=1e-6)
    torch.testing.assert_close(values_after[:, unchanged], values_before[:, unchanged], rtol=0, atol=1e-6)
    # The optimiser keeps working on the regrouped parameters.
    loss = policy(obs)[0].square().mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def test_restart_redraws_only_the_changed_groups_and_keeps_their_second_moments():
    policy, optimizer = trained_policy()
    before = per_agent(policy, optimizer)
    new = [0, 0, 1, 1, 2, 3]  # group 2 loses agent 5 to a new group 3; groups 0 and 1 keep their agents
    sources = policy.regroup(new, optimizer)
    fresh = changed_groups(OLD, new, sources)
    assert fresh.tolist() == [2, 3]
    copied = per_agent(policy, optimizer)
    restart_groups(policy, fresh, 4, optimizer, torch.Generator().manual_seed(5))
    after = per_agent(policy, optimizer)
    for agent in range(4):
        assert same(after[agent], before[agent])
    for agent in (4, 5):
        for name, value in after[agent].items():
            if name.endswith(".exp_avg"):
                assert not value.any(), name
            elif name.endswith((".exp_avg_sq", ".step")):
                assert torch.equal(value, copied[agent][name]), name
            elif name.endswith(".bias"):
                assert not value.any(), name
            else:  # a weight drawn afresh, as at construction: orthonormal columns times the layer's gain
                assert not torch.equal(value, copied[agent][name]), name
    assert not torch.equal(after[4]["actor.layers.0.weight"], after[5]["actor.layers.0.weight"])
    layer = policy.actor.layers[0]
    gram = layer.weight[3] @ layer.weight[3].T / layer.gain**2  # (in=4, out=8): orthonormal rows
    torch.testing.assert_close(gram, torch.eye(gram.shape[0]))
    # Reproducible from the generator's seed.
    again, again_opt = trained_policy()
    again.regroup(new, again_opt)
    restart_groups(again, fresh, 4, again_opt, torch.Generator().manual_seed(5))
    assert all(torch.equal(a, b) for a, b in zip(policy.parameters(), again.parameters(), strict=True))
    assert changed_groups(OLD, [2, 2, 0, 0, 1, 1], group_sources(OLD, [2, 2, 0, 0, 1, 1])).tolist() == []
    with pytest.raises(ConfigError, match=r"must lie in 0\.\.3"):
        restart_groups(policy, [4], 4)


def test_a_layer_with_another_group_count_is_left_alone_and_a_central_critic_of_k_groups_follows():
    policy, _ = trained_policy()
    policy.shared = GroupedMLP(1, 4, (8,), 1)  # e.g. one critic for every agent: not per group
    policy.central = GroupedMLP(3, 12, (8,), 1)  # a centralised critic with one head per group
    shared = [p.detach().clone() for p in policy.shared.parameters()]
    central = policy.central.layers[0].weight.detach().clone()
    regroup(policy, OLD, [0, 0, 1, 1, 2, 3])
    assert all(torch.equal(a, b) for a, b in zip(shared, policy.shared.parameters(), strict=True))
    assert policy.central.n_groups == 4
    assert torch.equal(policy.central.layers[0].weight[3], central[2])


def test_group_sources_use_hungarian_matching_and_refuse_bad_labels():
    # Old group 0 splits 3/1 and old group 1 joins the small part: matching keeps 3 + 2 agents in place.
    assert group_sources([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 1]).tolist() == [0, 1]
    with pytest.raises(ConfigError, match="same agents"):
        group_sources([0, 1], [0, 1, 1])
    policy, _ = trained_policy()
    with pytest.raises(ConfigError, match="every group id"):
        policy.regroup([0, 0, 2, 2, 3, 3])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_regroup_on_cuda_matches_the_cpu():
    cpu, cpu_opt = trained_policy("cpu")
    gpu, gpu_opt = trained_policy("cuda")
    cpu.regroup([0, 0, 1, 1, 2, 3], cpu_opt)
    gpu.regroup([0, 0, 1, 1, 2, 3], gpu_opt)
    for (name, a), b in zip(cpu.named_parameters(), gpu.parameters(), strict=True):
        assert b.device.type == "cuda" and a.shape == b.shape, name
        assert np.allclose(a.detach().numpy(), b.detach().cpu().numpy(), atol=1e-5)

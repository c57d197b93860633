"""Grouping by unit type per episode on smacv2's generated maps, against the smacv2 stand-in.

The stand-in (:mod:`seps.testing.smac`) draws a new team at every reset and sorts the allies by
(unit_type, x, y) as smacv2's capability wrapper and ``init_units`` do. Expected groups are
computed here from the stand-in's drawn unit names (``ally_names``) and smacv2's
``get_unit_type_id`` table (:data:`GEN_TYPE_ID`), never from the adapter's own ``episode_types``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch

from seps import build, resume
from seps.builtin_components import load_builtins
from seps.callbacks import TrainerCallback
from seps.checks import env_agent_count
from seps.collect import collect
from seps.envs.smac_scenarios import scenario
from seps.errors import ConfigError
from seps.evaluation import evaluate
from seps.nn.actor_critic import GroupedActorCritic
from seps.nn.central_critic import CentralCriticActorCritic
from seps.nn.grouped import GroupedMLP
from seps.nn.routing import build_row_routing
from seps.registry import ENVS
from seps.testing.smac import GEN_TYPE_ID, CapabilityWrapperStandIn
from seps.trainer import ObservationAdapter, Trainer

load_builtins()

PROTOSS = "smacv2:protoss_5_vs_5"
STAND_IN = {"env_cls": "seps.testing.smac:CapabilityWrapperStandIn"}
TYPE_OF = GEN_TYPE_ID["protoss_gen"]  # starcraft2.py get_unit_type_id: stalker 0, zealot 1, colossus 2


def drawn_types(env: Any) -> np.ndarray:
    """(E, N): smacv2's type id of every ally the stand-in drew for each copy's current episode."""
    return np.array([[TYPE_OF[name] for name in sim.env.ally_names] for sim in env.envs])


def run(method: str, tmp_path: Any, callbacks: tuple[TrainerCallback, ...] = (), **overrides: Any) -> Any:
    settings: dict[str, Any] = {
        "env_options": STAND_IN,
        "num_envs": 2,
        "total_steps": 120,
        "eval_interval": 60,
        "eval_episodes": 2,
        "hidden_sizes": (16,),
        "run_root": str(tmp_path),
        **overrides,
    }
    return build(method, env=PROTOSS, **settings).run(callbacks=callbacks)


# -- routing ---------------------------------------------------------------------------------------


def test_row_routing_gives_each_row_its_groups_network_and_no_gradient_to_absent_groups() -> None:
    torch.manual_seed(0)
    mlp = GroupedMLP(4, 6, (8, 8), 3)
    x = torch.randn(7, 2, 5, 6, requires_grad=True)
    groups = torch.randint(0, 3, (7, 2, 5))  # group 3 owns no row
    out = mlp(x, build_row_routing(groups, 4))
    for g in range(3):
        # Group g's network on every row (a fixed assignment putting all agents in g), kept where the row is g.
        alone = mlp(x, torch.full((5,), g))
        torch.testing.assert_close(out[groups == g], alone[groups == g], rtol=1e-6, atol=1e-6)
    out.square().sum().backward()
    for layer in mlp.linears:
        assert layer.weight.grad is not None and layer.bias.grad is not None
        assert (layer.weight.grad[3] == 0).all() and (layer.bias.grad[3] == 0).all()
        assert all(layer.weight.grad[g].abs().sum() > 0 for g in range(3))


def test_an_empty_group_never_takes_another_groups_slot() -> None:
    # Group 0 needs two slots, group 1 one and group 2 none: three slots for three groups, not in group order.
    routing = build_row_routing(torch.tensor([0, 0, 0, 0, 1, 1]), 3, max_padding=1.0)
    assert routing.n_slots == 3 and not routing.slots_are_groups
    assert routing.slot_group.tolist() == [0, 0, 1]


def test_row_groups_equal_to_the_assignment_give_the_fixed_routing() -> None:
    torch.manual_seed(1)
    policy = GroupedActorCritic(5, [0, 0, 1, 2, 1], obs_dim=4, n_actions=3)
    obs = torch.randn(6, 5, 4)
    logits, values = policy(obs)
    with policy.row_groups(policy.assignment.expand(6, 5)):
        row_logits, row_values = policy(obs)
    torch.testing.assert_close(row_logits, logits, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(row_values, values, rtol=1e-6, atol=1e-6)


def test_a_central_critic_values_each_row_with_its_groups_critic() -> None:
    torch.manual_seed(2)
    policy = CentralCriticActorCritic(5, [0, 1, 2], obs_dim=4, n_actions=3, state_dim=6, n_types=3)
    obs, state = torch.randn(3, 5, 4), torch.randn(3, 6)
    groups = policy.groups_for(torch.randint(0, 3, (3, 5)))
    assert groups is not None
    with policy.row_groups(groups):
        values = policy.value(obs, state)
    features = policy.critic_input(obs, state)  # [state, own obs, one-hot slot]
    for g in range(3):
        alone = policy.critic(features, torch.full((5,), g)).squeeze(-1)
        torch.testing.assert_close(values[groups == g], alone[groups == g], rtol=1e-6, atol=1e-6)


def test_a_typed_policy_refuses_to_act_without_the_episode_types() -> None:
    policy = GroupedActorCritic(5, [0, 1, 1], obs_dim=4, n_actions=3, n_types=3)
    obs = torch.zeros(2, 5, 4)
    with pytest.raises(ConfigError, match="row_groups"):
        policy(obs)
    with pytest.raises(ConfigError, match="needs each episode's types"):
        policy.groups_for(None)
    with pytest.raises(ConfigError, match=r"0\.\.2"):
        policy.groups_for(np.full((2, 5), 3))
    types = np.array([[2, 0, 0, 1, 1], [0, 0, 0, 1, 2]])
    assert policy.groups_for(types).tolist() == [[1, 0, 0, 1, 1], [0, 0, 0, 1, 1]]
    with pytest.raises(ConfigError, match="regroup"):
        policy.regroup([0, 0, 0])


# -- the env side: types per episode, and what the encoder sees ------------------------------------


def test_step_results_carry_the_drawn_teams_types() -> None:
    env = ENVS.get(PROTOSS)(num_envs=3, env_cls=CapabilityWrapperStandIn)
    assert env.n_episode_types == 3 and env.n_identities == 3 and env.agent_types is None
    for sim in env.envs:
        sim.env.episode_limit = 4  # time-outs every few steps: many resets into new teams
    result = env.reset(seed=0)
    seen = set()
    for _ in range(40):
        assert result.episode_types is not None
        assert result.episode_types.tolist() == drawn_types(env).tolist()
        seen.add(result.episode_types.tobytes())
        result = env.step(np.where(result.action_mask[..., 1], 1, 0))  # stop (a dead unit: no-op)
    assert len(seen) > 3  # copies reset into newly drawn teams
    # MMM2 keeps fixed agents: no per-episode types in its results.
    assert ENVS.get("smac-mmm2")(env_cls="seps.testing.smac:SmacStandIn").reset(0).episode_types is None


def test_collected_transitions_are_labelled_by_unit_type() -> None:
    env = ENVS.get(PROTOSS)(num_envs=2, env_cls=CapabilityWrapperStandIn)
    for sim in env.envs:
        sim.env.episode_limit = 5  # many episodes, so every unit type is drawn
    transitions = collect(env, steps=80, seed=0)
    assert transitions.n_agents == 3 and transitions.obs_dims.tolist() == [env.max_obs_dim] * 3
    # The stand-in's observation ends with the unit's own type bits (starcraft2.py get_obs_agent).
    own_type = transitions.obs[:, -3:].argmax(axis=1)
    assert transitions.agent_id.tolist() == own_type.tolist()
    assert set(transitions.agent_id.tolist()) == {0, 1, 2}


def test_agent_counts_are_known_without_a_build() -> None:
    assert ENVS.get("smac-mmm2").agent_count() == 10
    assert ENVS.get(PROTOSS).agent_count() == 5
    assert ENVS.get(PROTOSS).identity_count() == 3  # what a partition labels there: the unit types
    assert env_agent_count(PROTOSS) == 3 and env_agent_count("smac-mmm2") == 10
    assert ENVS.get("smacv2:terran_10_vs_11").agent_count() == 10
    config = copy.deepcopy(scenario("zerg_20_vs_23")[1]["capability_config"])  # type: ignore[index]
    config["n_units"] = 7
    assert ENVS.get("smacv2:zerg_20_vs_23").agent_count(capability_config=config) == 7
    assert not hasattr(ENVS.get("smacv2:3m"), "agent_count")  # a plain map: known once built


# -- training and evaluation -----------------------------------------------------------------------


class RecordGroups(TrainerCallback):
    """Compares every stored rollout row's group with the group of the unit the stand-in drew there."""

    def __init__(self) -> None:
        self.pending: list[np.ndarray] = []
        self.rows_checked = 0
        self.distinct: set[bytes] = set()

    def on_train_start(self, trainer: Trainer) -> None:
        for sim in trainer.env.envs:  # type: ignore[attr-defined]
            sim.env.episode_limit = 6  # time-outs every 6 steps: many newly drawn teams within the run
        self.pending = [drawn_types(trainer.env)]

    def on_step(self, trainer: Trainer, actions: np.ndarray, result: Any) -> None:
        self.pending.append(drawn_types(trainer.env))  # the types the next step acts with

    def on_rollout_end(self, trainer: Trainer) -> None:
        mu = trainer.policy.assignment.numpy()
        stored = trainer.storage.groups.numpy()
        for t in range(trainer.storage.n_steps):
            assert stored[t].tolist() == mu[self.pending[t]].tolist()
            self.distinct.add(stored[t].tobytes())
            self.rows_checked += stored[t].size
        self.pending = self.pending[-1:]


@pytest.mark.parametrize("learner", ["a2c", "ppo", "mappo"])
def test_training_routes_each_agent_to_its_unit_types_group(tmp_path: Any, learner: str) -> None:
    recorder = RecordGroups()
    ppo_like = {"learner_options": {"rollout_steps": 20, "n_minibatches": 2, "n_epochs": 2}}
    options = ppo_like if learner != "a2c" else {}
    # mu: stalker -> 0, zealot and colossus -> 1, a map no agent slot has in every episode.
    result = run(
        "seps",
        tmp_path,
        (recorder,),
        partitioner="fixed",
        partitioner_options={"labels": (0, 1, 1)},
        learner=learner,
        total_steps=160,
        **options,
    )
    assert result.partition.labels.tolist() == [0, 1, 1]
    assert recorder.rows_checked >= 160 * 5 and len(recorder.distinct) > 2


def test_a_type_absent_from_every_episode_gets_no_gradient(tmp_path: Any) -> None:
    config = copy.deepcopy(scenario("protoss_5_vs_5")[1]["capability_config"])  # type: ignore[index]
    config["team_gen"]["weights"] = [0.5, 0.5, 0.0]  # never a colossus
    snapshots: dict[str, dict[str, torch.Tensor]] = {}

    class Snapshot(TrainerCallback):
        def on_train_start(self, trainer: Trainer) -> None:
            snapshots["start"] = {k: v.clone() for k, v in trainer.policy.state_dict().items()}

        def on_train_end(self, trainer: Trainer) -> None:
            snapshots["end"] = {k: v.clone() for k, v in trainer.policy.state_dict().items()}

    result = run("nops", tmp_path, (Snapshot(),), env_options={**STAND_IN, "capability_config": config})
    assert result.partition.labels.tolist() == [0, 1, 2]  # NoPS over the three types
    start, end = snapshots["start"], snapshots["end"]
    grouped = [name for name in start if name.endswith((".weight", ".bias"))]
    assert grouped
    for name in grouped:
        assert torch.equal(start[name][2], end[name][2]), name  # the colossus group never moved
        assert not torch.equal(start[name][0], end[name][0]), name  # stalkers and zealots learned
        assert not torch.equal(start[name][1], end[name][1]), name


def test_evaluation_acts_with_the_episodes_groups() -> None:
    config = copy.deepcopy(scenario("protoss_5_vs_5")[1]["capability_config"])  # type: ignore[index]
    config["team_gen"]["weights"] = [0.4, 0.3, 0.3]  # colossi (0.1 in smacv2) in the few teams drawn here
    env = ENVS.get(PROTOSS)(num_envs=2, env_cls=CapabilityWrapperStandIn, seed=5, capability_config=config)
    policy = GroupedActorCritic(5, [0, 1, 2], obs_dim=env.max_obs_dim, n_actions=env.max_n_actions, n_types=3)
    preferred = [1, 2, 3]  # stop, north, south: group g's greedy choice whenever the action is available
    with torch.no_grad():
        last = policy.actor.linears[-1]
        last.weight.zero_()
        last.bias.zero_()
        for group, action in enumerate(preferred):
            last.bias[group, action] = 10.0
    checked: list[int] = []
    step = env.step

    def recording_step(actions: np.ndarray) -> Any:
        types = drawn_types(env)
        mask = np.stack([np.asarray(sim.get_avail_actions(), dtype=bool) for sim in env.envs])
        for e, n in np.ndindex(types.shape):
            want = preferred[types[e, n]]
            if mask[e, n, 1:].any() and mask[e, n, want]:  # an alive unit that may take its group's action
                assert actions[e, n] == want
                checked.append(int(types[e, n]))
        return step(actions)

    env.step = recording_step  # type: ignore[method-assign]
    evaluate(policy, env, ObservationAdapter(3, False, torch.device("cpu")), episodes=2, greedy=True, seed=5)
    assert set(checked) == {0, 1, 2} and len(checked) > 50


def test_fups_id_appends_the_unit_type_as_the_id(tmp_path: Any) -> None:
    prepare = ObservationAdapter(3, True, torch.device("cpu"))
    obs = np.zeros((1, 5, 2), dtype=np.float32)
    out = prepare(obs, np.array([[2, 0, 0, 1, 1]]))
    assert out[0, :, 2:].argmax(dim=-1).tolist() == [2, 0, 0, 1, 1]
    result = run("fups_id", tmp_path)
    assert result.partition.labels.tolist() == [0, 0, 0]


def test_seps_partitions_unit_types_and_resumes(tmp_path: Any) -> None:
    config = copy.deepcopy(scenario("protoss_5_vs_5")[1]["capability_config"])  # type: ignore[index]
    # The encoder needs transitions of every type, and a short collection sees few teams: colossi are
    # made as likely as the others (at smacv2's 0.1 the encoder may refuse: "[2] have no transitions").
    config["team_gen"]["weights"] = [0.4, 0.3, 0.3]
    overrides: dict[str, Any] = {
        "env_options": {**STAND_IN, "capability_config": config},
        "collect": {"steps": 40, "num_envs": 2},
        "encoder_options": {"updates": 300, "min_updates": 0, "check_interval": 100, "holdout": 0},
        "checkpoint_interval": 60,
    }
    first = run("seps", tmp_path, **overrides)
    assert first.partition.n_agents == 3  # the encoder embedded, and the partitioner grouped, the three types
    checkpoint = torch.load(sorted(first.run_dir.glob("checkpoints/*.pt"))[-1], weights_only=True)
    assert checkpoint["policy"]["assignment"].tolist() == first.partition.labels.tolist()
    again = resume(first.run_dir, total_steps=240).run()
    assert again.env_steps >= 240 and again.partition.labels.tolist() == first.partition.labels.tolist()
    assert again.evaluations[: len(first.evaluations)] == first.evaluations

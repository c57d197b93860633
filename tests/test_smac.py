"""SMAC adapter against the smacv2 stand-in: truncations, wins, scenarios, per-episode types, launches, errors."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from seps.builtin_components import load_builtins
from seps.envs.smac import check_sc2path
from seps.errors import MissingDependencyError
from seps.registry import ENVS
from seps.testing.env import check_env_adapter
from seps.testing.smac import CapabilityWrapperStandIn, SmacStandIn

load_builtins()


def test_mmm2_sizes_and_types_follow_smacv2() -> None:
    env = ENVS.get("smac-mmm2")(num_envs=2, env_cls=SmacStandIn)
    assert env.n_agents == 10 and env.obs_dims.tolist() == [176] * 10 and env.n_actions.tolist() == [18] * 10
    assert env.state_shape == 322 and env.episode_limit == 180 and env.team_reward
    # Sorted by unit type: marauders, marines, medivac (ranked custom ids).
    assert env.agent_types.tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1, 2]
    # smacv2's MMM branch of get_unit_type_id gives every ally type id 2.
    assert (env.episode_types == 2).all()
    check_env_adapter(env, n_steps=40)


def test_time_out_is_a_truncation_and_a_win_a_termination() -> None:
    env = ENVS.get("smac-mmm2")(num_envs=1, env_cls=SmacStandIn)
    assert env.envs[0].continuing_episode
    env.envs[0].episode_limit = 3
    env.reset(seed=0)
    stop = np.ones((1, 10), dtype=np.int64)  # allies start out of range: stopping never ends the battle
    results = [env.step(stop) for _ in range(3)]
    assert not results[1].truncated.any()
    assert results[2].truncated.all() and not results[2].terminated.any()
    assert env.episode_wins.tolist() == [0.0]
    # Without continuing_episode smacv2 reports a time-out as a plain termination.
    raw = SmacStandIn(continuing_episode=False)
    raw.episode_limit = 1
    raw.reset()
    terminated, info = raw.step([1] * 10)[1:]
    assert terminated and "episode_limit" not in info


def test_a_won_battle_terminates_with_a_win() -> None:
    env = ENVS.get("smac-mmm2")(num_envs=1, env_cls=SmacStandIn)
    env.reset(seed=0)
    sim = env.envs[0]
    sim.enemy_health[:] = 0.0
    sim.enemy_health[0] = 0.5
    sim.enemy_pos[0] = sim.ally_pos[0]
    mask = np.asarray(sim.get_avail_actions(), dtype=bool)
    actions = np.where(mask[:, 6], 6, 1)[None]
    result = env.step(actions)
    assert result.terminated.all() and not result.truncated.any()
    assert env.episode_wins.tolist() == [1.0]


def test_protoss_5_vs_5_builds_the_wrapper_with_types_per_episode() -> None:
    env = ENVS.get("smacv2:protoss_5_vs_5")(num_envs=2, env_cls=CapabilityWrapperStandIn)
    sim = env.envs[0]
    assert sim.env.map_name == "10gen_protoss" and env.n_agents == 5 and env.agent_types is None
    config = sim.distribution_config
    assert config["team_gen"]["unit_types"] == ["stalker", "zealot", "colossus"]
    assert config["team_gen"]["weights"] == [0.45, 0.45, 0.1]
    assert config["start_positions"]["dist_type"] == "surrounded_and_reflect"
    assert (config["n_units"], config["n_enemies"]) == (5, 5)
    seen = []
    env.reset(seed=0)
    for _ in range(6):
        for index, copy in enumerate(env.envs):
            names = copy.env.ally_names
            expected = [{"stalker": 0, "zealot": 1, "colossus": 2}[n] for n in names]
            assert env.episode_types[index].tolist() == expected
        seen.append(env.episode_types.copy())
        env.reset(seed=0)
    assert len({s.tobytes() for s in seen}) > 1  # the drawn teams change between episodes


def test_scenario_seeds_the_team_draws() -> None:
    first = ENVS.get("smacv2:terran_10_vs_11")(num_envs=1, env_cls=CapabilityWrapperStandIn, seed=3)
    second = ENVS.get("smacv2:terran_10_vs_11")(num_envs=1, env_cls=CapabilityWrapperStandIn, seed=3)
    assert first.n_agents == 10 and first.envs[0].env.n_enemies == 11
    assert first.envs[0].env.ally_names == second.envs[0].env.ally_names


def test_reset_reuses_each_game_process() -> None:
    before = SmacStandIn.launches
    env = ENVS.get("smac-mmm2")(num_envs=3, env_cls=SmacStandIn)
    env.reset(seed=0)
    for copy in env.envs:
        copy.episode_limit = 2
    stop = np.ones((3, 10), dtype=np.int64)
    for _ in range(7):
        env.step(stop)
    env.reset(seed=1)
    assert SmacStandIn.launches - before == 3
    assert [copy.launches_here for copy in env.envs] == [1, 1, 1]


def test_empty_sc2path_is_a_one_line_error(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match=r"no Versions folder.*SC2PATH") as info:
        check_sc2path()
    assert "\n" not in str(info.value)


@pytest.mark.skipif(importlib.util.find_spec("smacv2") is not None, reason="smacv2 is installed")
def test_missing_smacv2_is_a_one_line_error_saying_how_to_install() -> None:
    with pytest.raises(MissingDependencyError, match=r"smacv2.*SC2PATH") as info:
        ENVS.get("smac-mmm2")()
    assert "\n" not in str(info.value)


@pytest.mark.skipif(not os.environ.get("SC2PATH"), reason="needs StarCraft II: set SC2PATH")
def test_real_mmm2_map() -> None:
    env = ENVS.get("smac-mmm2")(num_envs=1)
    try:
        assert env.n_agents == 10 and env.n_actions.tolist() == [18] * 10
        check_env_adapter(env, n_steps=10)
    finally:
        env.close()


def test_win_rate_reaches_metrics_csv(tmp_path: object) -> None:
    import csv

    from seps import build

    result = build(
        "fups_id",
        env="smac-mmm2",
        env_options={"env_cls": "seps.testing.smac:SmacStandIn"},
        num_envs=2,
        total_steps=400,
        eval_interval=200,
        eval_episodes=2,
        hidden_sizes=(16,),
        run_root=str(tmp_path),
    ).run()
    with (result.run_dir / "metrics.csv").open(newline="") as source:
        rows = list(csv.DictReader(source))
    evals = [r for r in rows if r["kind"] == "eval"]
    # Every evaluation ran two whole episodes (each ends in a win, loss or time-out), so a rate is logged.
    assert evals and all(r["eval_win_rate"] != "" and 0.0 <= float(r["eval_win_rate"]) <= 1.0 for r in evals)
    # ... and the run's summary (summary.json, a sweep cell's done.json) and the report carry it.
    assert [steps for steps, _ in result.win_rates] == [int(r["env_steps"]) for r in evals]
    summary = result.summary()
    assert summary.max_eval_win_rate == max(float(r["eval_win_rate"]) for r in evals)
    assert summary.final_eval_win_rate == float(evals[-1]["eval_win_rate"])
    from seps.records import RunSummary

    assert RunSummary.from_plain(summary.to_plain()) == summary

"""Environment adapters: every registered env passes check_env_adapter; C-RWARE, LBF, Gymnasium, PettingZoo."""

from __future__ import annotations

import subprocess
import sys
from typing import Any, ClassVar

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv

import seps.envs
import seps.envs.registrations  # noqa: F401
from seps.envs.base import StepResult
from seps.envs.gymnasium_adapter import GymnasiumEnv, make_gymnasium
from seps.envs.pettingzoo_adapter import PettingZooEnv
from seps.errors import ConfigError, EnvError, MissingDependencyError, UnknownComponentError
from seps.registry import ENVS
from seps.testing.env import check_env_adapter
from seps.testing.smac import SmacStandIn as MMM2StandIn


def _random_actions(result: StepResult, rng: np.random.Generator) -> np.ndarray:
    return np.argmax(rng.random(result.action_mask.shape) * result.action_mask, axis=-1)


@pytest.mark.parametrize("name", ENVS.list())
def test_every_registered_env_passes_the_checker(name: str) -> None:
    kwargs: dict[str, Any] = {"env_cls": MMM2StandIn} if name.startswith("smac") else {}
    try:
        env = ENVS.get(name)(num_envs=2, **kwargs)
    except (MissingDependencyError, UnknownComponentError) as error:
        pytest.skip(f"{name}: optional package missing ({error})")
    check_env_adapter(env, n_steps=8)


def test_importing_seps_imports_no_optional_env_package() -> None:
    code = (
        "import sys, seps, seps.envs, seps.envs.registrations; "
        "print(sorted(m for m in ('rware', 'lbforaging', 'smacv2', 'mpe2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- coloured warehouse -------------------------------------------------------------------------
def test_crware_tasks_colour_agents_in_contiguous_blocks() -> None:
    from seps.envs.coloured_rware import action_permutations

    assert ENVS.get("crware-1")().agent_types.tolist() == [0, 0, 1, 1]
    assert ENVS.get("crware-9ag-3c")().agent_types.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    table = action_permutations(3)
    assert table[0].tolist() == [0, 1, 2, 3, 4]
    for a in range(3):  # any two colours disagree on every action
        for b in range(a + 1, 3):
            assert (table[a] != table[b]).all()


def test_crware_with_more_colours_than_agents_is_a_one_line_error() -> None:
    with pytest.raises(ConfigError, match="use at most 2 colours") as info:
        ENVS.get("crware:tiny-2ag-3c")
    assert "\n" not in str(info.value)


def test_crware_shelf_colours_follow_the_seed() -> None:
    env = ENVS.get("crware-ref-1")(num_envs=2)
    env.reset(seed=3)
    first = [e.unwrapped.shelf_colours.copy() for e in env.envs]
    env.reset(seed=3)
    again = [e.unwrapped.shelf_colours.copy() for e in env.envs]
    env.reset(seed=4)
    other = env.envs[0].unwrapped.shelf_colours
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], first[1])  # copies are seeded differently
    assert not np.array_equal(first[0], other)
    assert set(np.unique(first[0]).tolist()) == {0, 1}


def _deliver(colour_of_shelf: int) -> tuple[float, bool, Any]:
    """Agent 0 (colour 0) carries a requested shelf of the given colour onto a goal; return its reward."""
    from rware.warehouse import Action, Direction

    env = ENVS.get("crware-ref-1")(num_envs=1)
    env.reset(seed=0)
    wh = env.envs[0].unwrapped
    goal_x, goal_y = wh.goals[0]
    agent, shelf = wh.agents[0], wh.request_queue[0]
    for other in wh.agents[1:]:  # park the others away from the goal
        other.x, other.y = 0, other.id
    agent.x, agent.y, agent.dir = goal_x, goal_y - 1, Direction.DOWN
    agent.carrying_shelf = shelf
    shelf.x, shelf.y = agent.x, agent.y
    wh.shelf_colours[shelf.id - 1] = colour_of_shelf
    wh._colour_rows[shelf.id] = np.eye(2)[colour_of_shelf]
    wh._recalc_grid()
    table = wh.action_table
    actions = np.array(
        [
            [
                int(np.flatnonzero(table[c] == target)[0])
                for c, target in zip(wh.agent_colours, [Action.FORWARD.value] + [Action.NOOP.value] * 3, strict=True)
            ]
        ]
    )
    result = env.step(actions)
    return float(result.rewards[0, 0]), shelf in wh.request_queue, (agent.x, agent.y) == (goal_x, goal_y)


def test_crware_rewards_only_deliveries_of_the_agents_own_colour() -> None:
    reward, still_requested, arrived = _deliver(colour_of_shelf=0)
    assert arrived and reward == 1.0 and not still_requested
    reward, still_requested, arrived = _deliver(colour_of_shelf=1)
    assert arrived and reward == 0.0 and still_requested


def test_crware_observation_shows_shelf_colours_in_the_view() -> None:
    env = ENVS.get("crware-ref-1")(num_envs=1)
    result = env.reset(seed=1)
    wh = env.envs[0].unwrapped
    assert env.obs_dims.tolist() == [71 + 9 * 2] * 4
    for index, agent in enumerate(wh.agents):
        centre = result.obs[0, index, 71 + 4 * 2 : 71 + 5 * 2]  # cell 4 of the 3x3 view is the agent's own
        shelf_id = wh.grid[1, agent.y, agent.x]
        expected = np.eye(2)[wh.shelf_colours[shelf_id - 1]] if shelf_id else np.zeros(2)
        assert np.array_equal(centre, expected)


def test_crware_time_limit_is_a_truncation() -> None:
    from seps.envs.coloured_rware import make_crware

    env = make_crware(num_envs=2, n_agents=2, n_colours=2, max_steps=3)
    result = env.reset(seed=0)
    for _ in range(3):
        result = env.step(np.zeros((2, 2), dtype=np.int64))
    assert result.truncated.all() and not result.terminated.any()
    assert not np.array_equal(result.final_obs, result.obs)


# -- level-based foraging ------------------------------------------------------------------------
def test_lbf_levels_are_fixed_per_agent_and_never_observed() -> None:
    from seps.envs.lbf import FixedLevelForaging

    env = ENVS.get("lbf-12ag-3lvl-lbforaging")(num_envs=2)
    assert env.agent_types.tolist() == [0, 1, 2] * 4
    for seed in (0, 1):
        env.reset(seed=seed)
        for copy in env.envs:
            assert [p.level for p in copy.unwrapped.players] == [1, 2, 3] * 4
    # Same seed with the levels reversed: identical observations, so levels are not in them.
    kwargs = dict(
        min_food_level=1,
        max_food_level=3,
        field_size=(8, 8),
        max_num_food=3,
        sight=2,
        max_episode_steps=50,
        force_coop=False,
    )
    up = FixedLevelForaging(levels=np.array([1, 2, 3]), **kwargs).reset(seed=5)[0]
    down = FixedLevelForaging(levels=np.array([3, 2, 1]), **kwargs).reset(seed=5)[0]
    assert np.array_equal(np.stack(up), np.stack(down))
    assert env.obs_dims.tolist() == [3 * 8 + 2 * 12] * 12


def test_lbf_masks_are_lbforagings_valid_actions() -> None:
    from seps.envs.lbf import lbf_action_mask

    env = ENVS.get("lbf-12ag-3lvl-lbforaging")(num_envs=2)
    result = env.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(5):
        for e, copy in enumerate(env.envs):
            assert np.array_equal(result.action_mask[e], lbf_action_mask(copy))
        result = env.step(_random_actions(result, rng))
    assert not result.action_mask.all()  # some moves are blocked


def test_lbf_step_limit_is_a_truncation() -> None:
    from seps.envs.lbf import make_lbf

    env = make_lbf(num_envs=1, max_episode_steps=2)
    result = env.reset(seed=0)
    for _ in range(2):
        result = env.step(np.zeros((1, 12), dtype=np.int64))
    assert result.truncated.all() and not result.terminated.any()


# -- Gymnasium adapter -------------------------------------------------------------------------
class SplitTupleEnv(gymnasium.Env):
    """Agent 0: 3 features, 2 actions. Agent 1: 5 features, 4 actions, terminates after 2 steps.

    Scalar team reward 1.0, truncation after ``limit`` steps.
    """

    def __init__(self, limit: int = 4) -> None:
        self.limit = limit
        self.observation_space = spaces.Tuple((spaces.Box(-1, 1, (3,)), spaces.Box(-1, 1, (5,))))
        self.action_space = spaces.Tuple((spaces.Discrete(2), spaces.Discrete(4)))

    def _obs(self) -> tuple[np.ndarray, np.ndarray]:
        return self.np_random.uniform(-1, 1, 3), np.full(5, self.t / 10)

    def reset(self, seed: int | None = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, actions: Any) -> tuple[Any, float, list[bool], bool, dict[str, Any]]:
        assert len(actions) == 2 and actions[0] < 2 and actions[1] < 4
        self.t += 1
        return self._obs(), 1.0, [False, self.t >= 2], self.t >= self.limit, {}


def test_gymnasium_adapter_handles_heterogeneous_spaces_and_agents_leaving() -> None:
    env = GymnasiumEnv(SplitTupleEnv, num_envs=2, name="split")
    check_env_adapter(env, n_steps=10)
    assert env.obs_dims.tolist() == [3, 5] and env.n_actions.tolist() == [2, 4]
    result = env.reset(seed=0)
    assert result.action_mask[0].tolist() == [[True, True, False, False], [True, True, True, True]]
    assert (result.obs[:, 0, 3:] == 0).all()
    steps = [env.step(np.zeros((2, 2), dtype=np.int64)) for _ in range(4)]
    assert steps[1].terminated[:, 1].all() and steps[1].active[:, 1].all()  # leaves at step 2
    assert not steps[2].active[:, 1].any() and (steps[2].obs[:, 1] == 0).all()
    assert steps[2].action_mask[:, 1].tolist() == [[True, False, False, False]] * 2
    assert steps[3].truncated[:, 0].all() and not steps[3].terminated[:, 0].any()
    assert steps[3].active[:, 0].all() and (steps[3].rewards[:, 0] == 1.0).all()
    assert all(copy.unwrapped.t == 0 for copy in env.envs)  # both copies reset themselves
    assert (steps[3].final_obs[:, 1] == 0).all()


def test_gymnasium_family_runs_rware_and_lbforaging_ids() -> None:
    rware_env = ENVS.get("gymnasium:rware-tiny-2ag-v2")(num_envs=2)
    check_env_adapter(rware_env, n_steps=5)
    lbf = ENVS.get("gymnasium:Foraging-8x8-2p-2f-v3")(num_envs=2)
    result = lbf.reset(seed=0)
    from seps.envs.lbf import lbf_action_mask

    assert np.array_equal(result.action_mask[1], lbf_action_mask(lbf.envs[1]))


def test_unknown_gymnasium_id_is_a_one_line_error_naming_the_fix() -> None:
    with pytest.raises(UnknownComponentError, match=r"Did you mean 'rware-tiny-2ag-v2'.*gymnasium:my_package") as info:
        ENVS.get("gymnasium:rware-tiny-2ag-v9")
    assert "\n" not in str(info.value)


def test_gymnasium_single_agent_env_is_rejected() -> None:
    with pytest.raises(EnvError, match="not a Tuple"):
        make_gymnasium("CartPole-v1")


# -- PettingZoo adapter -------------------------------------------------------------------------
class ScoutAndTank(ParallelEnv):
    """'scout': 2 features, 3 actions, terminates after 2 steps; 'tank': 4 features, 5 actions."""

    metadata: ClassVar[dict[str, Any]] = {"name": "scout_and_tank"}

    def __init__(self, limit: int = 4) -> None:
        self.limit = limit
        self.possible_agents = ["scout", "tank"]
        self._spaces = {
            "scout": (spaces.Box(-1, 1, (2,)), spaces.Discrete(3)),
            "tank": (spaces.Box(-1, 1, (4,)), spaces.Discrete(5)),
        }
        self._rng = np.random.default_rng()

    def observation_space(self, agent: str) -> spaces.Space:
        return self._spaces[agent][0]

    def action_space(self, agent: str) -> spaces.Space:
        return self._spaces[agent][1]

    def _obs(self) -> dict[str, np.ndarray]:
        return {a: self._rng.uniform(-1, 1, self._spaces[a][0].shape) for a in self.agents}

    def reset(self, seed: int | None = None, options: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.agents, self.t = list(self.possible_agents), 0
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, int]) -> tuple[dict[str, Any], ...]:
        self.t += 1
        rewards = {a: float(actions[a]) for a in self.agents}
        terminations = {a: a == "scout" and self.t >= 2 for a in self.agents}
        truncations = {a: self.t >= self.limit for a in self.agents}
        obs = self._obs()
        self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
        return obs, rewards, terminations, truncations, {a: {} for a in obs}


def test_pettingzoo_adapter_handles_heterogeneous_spaces_and_agents_leaving() -> None:
    env = PettingZooEnv(ScoutAndTank, num_envs=2, name="scout", reward_mode="sum")
    check_env_adapter(env, n_steps=10)
    assert env.obs_dims.tolist() == [2, 4] and env.n_actions.tolist() == [3, 5]
    env.reset(seed=0)
    steps = [env.step(np.array([[2, 4], [1, 3]])) for _ in range(4)]
    assert steps[0].rewards.tolist() == [[6.0, 6.0], [4.0, 4.0]]  # shared team reward
    assert steps[1].terminated[:, 0].all() and not steps[1].terminated[:, 1].any()
    assert not steps[2].active[:, 0].any() and steps[2].rewards.tolist() == [[4.0, 4.0], [3.0, 3.0]]
    assert steps[3].truncated[:, 1].all() and not steps[3].terminated[:, 1].any()
    assert steps[3].active.tolist() == [[False, True]] * 2
    assert np.array_equal(steps[3].final_obs[:, 0], np.zeros((2, 4)))


def test_pettingzoo_family_runs_mpe2_with_different_spaces_per_agent() -> None:
    pytest.importorskip("mpe2", reason="the mpe2 package is not installed")
    env = ENVS.get("pettingzoo:mpe2.simple_world_comm_v3")(num_envs=2, max_cycles=4)
    assert env.obs_dims.tolist() == [34, 34, 34, 34, 28, 28]
    assert env.n_actions.tolist() == [20, 5, 5, 5, 5, 5]
    check_env_adapter(env, n_steps=6)


def test_pettingzoo_errors_are_one_line_and_name_the_fix() -> None:
    pytest.importorskip("mpe2", reason="the mpe2 package is not installed")
    with pytest.raises(UnknownComponentError, match="install the package"):
        ENVS.get("pettingzoo:no_such_package.env_v0")


# -- the checker itself ----------------------------------------------------------------------------
class _LeakyPadding(GymnasiumEnv):
    def reset(self, seed: int | None = None) -> StepResult:
        result = super().reset(seed)
        result.obs[:, 0, -1] = 1.0
        return result


def test_checker_reports_broken_padding_and_masks() -> None:
    with pytest.raises(EnvError, match="zero beyond each agent's obs_dims"):
        check_env_adapter(_LeakyPadding(SplitTupleEnv, num_envs=1, name="leaky"))

    class NoActions(GymnasiumEnv):
        def reset(self, seed: int | None = None) -> StepResult:
            result = super().reset(seed)
            result.action_mask[:] = False
            return result

    with pytest.raises(EnvError, match="at least one allowed action"):
        check_env_adapter(NoActions(SplitTupleEnv, num_envs=1, name="no-actions"))


def test_checker_reports_unseeded_envs() -> None:
    class Unseeded(SplitTupleEnv):
        def reset(self, seed: int | None = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
            return super().reset(seed=None)

    with pytest.raises(EnvError, match="seeding"):
        check_env_adapter(GymnasiumEnv(Unseeded, num_envs=1, name="unseeded"))

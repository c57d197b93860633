"""The vectorised warehouse (seps/envs/warehouse.py) equals the rware-backed reference step for step.

Design: both envs hold E copies. After every reference reset the reference's state is copied into
the vectorised env (:func:`load_reference`), and a clone of that copy's rware generator
(``Warehouse.np_random``) is handed to the vectorised env's ``_draw`` hook, so request-queue
replacements (``np_random.choice(candidates)`` in ``Warehouse.step``) and the redraws of
``ColouredWarehouse._undo_wrong_deliveries`` consume the same numbers. From then on nothing is
copied: each step both envs get the same actions, and observations, final observations, rewards,
terminated/truncated flags and action masks must be identical. The edge cases are counted by the
vectorised env (``events``) and the test asserts each occurred.
"""

from __future__ import annotations

import copy

import attrs
import numpy as np
import pytest

from seps.envs.coloured_rware import make_crware
from seps.envs.warehouse import VectorWarehouse

TASKS = {
    "crware-1": {"n_agents": 4, "n_colours": 2, "size": "tiny"},
    "crware-2": {"n_agents": 8, "n_colours": 2, "size": "small"},
    "crware-3": {"n_agents": 16, "n_colours": 2, "size": "medium"},
    "crware-9ag-3c": {"n_agents": 9, "n_colours": 3, "size": "small"},
}
EDGE_CASES = (
    "blocked",  # a forward move that failed (collision with a standing robot, a lost contest, a swap)
    "contest",  # two robots with equal chains wanting one cell: dag_longest_path's tie-break
    "set_order_tie",  # such a tie in a small component, broken by networkx's set order
    "chain",  # a robot moving into a cell its leader vacates in the same step
    "swap",  # a 2-cycle (A <-> B), which rware refuses
    "cancelled",  # a loaded robot heading for a standing shelf (cancelled to NOOP)
    "delivery",  # a requested shelf of the carrier's colour at a goal: reward and replacement
    "wrong_delivery",  # a requested shelf of another colour: undone, stays requested
    "episode_end",  # 500-step truncation and auto-reset
)


class ReplayWarehouse(VectorWarehouse):
    """The vectorised env with its random draws taken from clones of the reference's generators."""

    shadows: list[np.random.Generator]

    def _draw(self, copies: np.ndarray, n: np.ndarray) -> np.ndarray:
        return np.array([self.shadows[c].integers(0, k) for c, k in zip(copies.tolist(), n.tolist(), strict=True)])


def load_reference(vec: ReplayWarehouse, index: int, ware) -> None:
    """Copy one rware copy's state into copy ``index`` of the vectorised env."""
    vec.agent_x[index] = [a.x for a in ware.agents]
    vec.agent_y[index] = [a.y for a in ware.agents]
    vec.agent_dir[index] = [a.dir.value for a in ware.agents]
    vec.carrying[index] = [-1 if a.carrying_shelf is None else a.carrying_shelf.id - 1 for a in ware.agents]
    vec.shelf_x[index] = [s.x for s in ware.shelfs]
    vec.shelf_y[index] = [s.y for s in ware.shelfs]
    vec.shelf_colours[index] = ware.shelf_colours
    vec.queue[index] = [s.id - 1 for s in ware.request_queue]
    vec.steps[index] = ware._cur_steps
    vec.shadows[index] = copy.deepcopy(ware.np_random)


def _actions(rng: np.random.Generator, shape: tuple[int, int], tables: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Random actions, biased towards forward and load in rware's own action order so deliveries happen."""
    rware_actions = rng.choice(5, size=shape, p=[0.05, 0.5, 0.15, 0.15, 0.15])
    inverse = np.argsort(tables, axis=1)  # agent action that performs each rware action, per colour
    return inverse[colours[None, :], rware_actions]


def run_equivalence(task: str, copies: int, steps: int, seed: int = 0) -> dict[str, int]:
    spec = TASKS[task]
    ref = make_crware(copies, **spec)
    vec = ReplayWarehouse(num_envs=copies, **spec)
    vec.shadows = [np.random.default_rng() for _ in range(copies)]
    vec.events = dict.fromkeys(EDGE_CASES, 0)
    first = ref.reset(seed=seed)
    vec.reset(seed=seed)
    for index, ware in enumerate(ref.envs):
        load_reference(vec, index, ware)
    mine = vec._result_now()
    np.testing.assert_array_equal(mine.obs, first.obs)
    rng = np.random.default_rng(seed)
    for t in range(steps):
        actions = _actions(rng, (copies, vec.n_agents), vec.action_table, vec.agent_types)
        want = ref.step(actions)
        got = vec.step(actions)
        ended = np.nonzero(want.truncated.all(axis=1))[0]
        for index in ended:  # both reset: take the reference's new episode, then compare its first obs
            load_reference(vec, index, ref.envs[index])
            vec.events["episode_end"] += 1
        if len(ended):
            got = attrs.evolve(got, obs=vec._observe())
        for field in ("obs", "final_obs", "rewards", "terminated", "truncated", "action_mask", "active"):
            np.testing.assert_array_equal(getattr(got, field), getattr(want, field), err_msg=f"{task} step {t}: {field}")
    ref.close()
    return vec.events


@pytest.mark.parametrize("task", sorted(TASKS))
def test_vectorised_warehouse_equals_rware(task: str) -> None:
    events = run_equivalence(task, copies=4, steps=1250)  # 5,000 copy-steps, two episode ends per copy
    missing = [name for name in EDGE_CASES if events[name] == 0 and not (name == "swap" and task == "crware-1")]
    assert not missing, f"{task}: edge cases never occurred: {missing} ({events})"


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(TASKS))
def test_vectorised_warehouse_equals_rware_long(task: str) -> None:
    events = run_equivalence(task, copies=8, steps=5000, seed=1)
    assert all(events[name] > 0 for name in EDGE_CASES), events

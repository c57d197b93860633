"""Lock-step harness for tests/test_foraging_equivalence.py: lbforaging next to VectorForaging.

Each reference copy is an lbforaging ``ForagingEnv`` (2.0.0). At every reset the reference's
state (field, agent positions and levels, step counter, spawned food) is copied into the
vectorised env; from then on both are stepped with the same actions and every output is
compared. The reference runs unmodified.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from seps.envs.foraging import VectorForaging


def reference_state(refs: list[Any]) -> dict[str, np.ndarray]:
    """The reference copies' state in VectorForaging's layout."""
    return {
        "field": np.stack([ref.field for ref in refs]),
        "pos": np.array([[p.position for p in ref.players] for ref in refs], dtype=np.int64),
        "levels": np.array([[p.level for p in ref.players] for ref in refs], dtype=np.int64),
        "t": np.array([ref.current_step for ref in refs], dtype=np.int64),
        "food_spawned": np.array([ref._food_spawned for ref in refs], dtype=np.int64),
    }


def reference_mask(ref: Any) -> np.ndarray:
    mask = np.zeros((len(ref.players), 6), dtype=bool)
    for index, player in enumerate(ref.players):
        mask[index, [action.value for action in ref._valid_actions[player]]] = True
    return mask


def _edge_cases(
    before: dict[str, np.ndarray], actions: np.ndarray, mask: np.ndarray, ref: Any, rewards: np.ndarray
) -> Counter:
    """Name what happened in one reference copy's step (counted so the test can demand each case)."""
    seen: Counter = Counter()
    n_agents = actions.size
    valid = mask[np.arange(n_agents), actions]
    seen["invalid action -> NONE"] += int((~valid).sum())
    effective = np.where(valid, actions, 0)
    moves = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1], [0, 0]])
    target = before["pos"] + moves[effective]
    claims = Counter(map(tuple, target.tolist()))
    movers = (effective >= 1) & (effective <= 4)
    blocked = movers & np.array([claims[tuple(cell)] > 1 for cell in target.tolist()])
    seen["move blocked by a conflict"] += int(blocked.sum())
    seen["move blocked by a standing agent"] += int(
        sum(
            1
            for i in np.flatnonzero(blocked)
            if any(np.array_equal(target[i], before["pos"][j]) and not movers[j] for j in range(n_agents))
        )
    )
    start = {tuple(p): i for i, p in enumerate(before["pos"].tolist())}
    free = movers & ~blocked
    follows = [i for i in np.flatnonzero(free) if tuple(target[i]) in start and free[start[tuple(target[i])]]]
    seen["move into a cell being vacated (chain)"] += len(follows)
    seen["swap or cycle"] += sum(
        1 for i in follows if tuple(target[start[tuple(target[i])]]) == tuple(before["pos"][i])
    )
    after = np.array([p.position for p in ref.players])
    seen["agents stacked on one cell"] += int(len(set(map(tuple, after.tolist()))) < n_agents)
    loaders = effective == 5
    eaten = int((before["field"] > 0).sum() - (ref.field > 0).sum())
    rewarded = int((rewards > 0).sum())
    seen["food loaded"] += eaten
    seen["simultaneous load (2+ agents, one food)"] += int(rewarded > eaten)
    seen["two foods loaded in one step"] += int(eaten >= 2)
    seen["failed load (levels too low)"] += int((loaders & (rewards == 0)).sum())
    rows, cols = ref.field.shape
    two_foods = 0
    for i in np.flatnonzero(loaders):
        r, c = before["pos"][i]
        near = [(r + dr, c + dc) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))]
        two_foods += sum(1 for y, x in near if 0 <= y < rows and 0 <= x < cols and before["field"][y, x] > 0) >= 2
    seen["loader next to two foods"] += two_foods
    return seen


def run_lockstep(make_reference: Any, vector: VectorForaging, n_steps: int, seed: int) -> Counter:
    """Step len(refs) reference copies and ``vector`` together; assert equal outputs; count edge cases."""
    rng = np.random.default_rng(seed)
    refs = [make_reference() for _ in range(vector.num_envs)]
    first = [ref.reset(seed=seed + e)[0] for e, ref in enumerate(refs)]
    result = vector.set_state(reference_state(refs))
    np.testing.assert_array_equal(result.obs, np.stack([np.stack(o) for o in first]))
    np.testing.assert_array_equal(result.action_mask, np.stack([reference_mask(ref) for ref in refs]))
    seen: Counter = Counter()
    for _step in range(n_steps):
        mask = result.action_mask
        # Mostly allowed actions, LOAD whenever allowed half the time, and some invalid ones.
        actions = np.argmax(rng.random(mask.shape) * mask, axis=-1)
        actions = np.where(mask[..., 5] & (rng.random(actions.shape) < 0.5), 5, actions)
        actions = np.where(rng.random(actions.shape) < 0.05, rng.integers(0, 6, actions.shape), actions)
        before = reference_state(refs)
        result = vector.step(actions)
        for e, ref in enumerate(refs):
            obs, rewards, *_ = ref.step(tuple(actions[e].tolist()))
            done = bool(ref.game_over)  # FixedLevelForaging already splits lbforaging's done
            terminated = bool(ref.field.sum() == 0)
            truncated = bool(done) and not terminated
            copy_before = {key: value[e] for key, value in before.items()}
            seen += _edge_cases(copy_before, actions[e], mask[e], ref, np.asarray(rewards))
            np.testing.assert_array_equal(result.rewards[e], np.asarray(rewards, dtype=np.float32))
            assert result.terminated[e].tolist() == [terminated] * ref.n_agents
            assert result.truncated[e].tolist() == [truncated] * ref.n_agents
            np.testing.assert_array_equal(result.final_obs[e], np.stack(obs))
            if done:
                seen["terminated (all food eaten)" if terminated else "truncated (step limit)"] += 1
                ref.reset()
            else:
                np.testing.assert_array_equal(result.obs[e], np.stack(obs))
                np.testing.assert_array_equal(result.action_mask[e], reference_mask(ref))
        if result.terminated.any() or result.truncated.any():
            # New episodes: lbforaging placed agents and food; the vectorised env takes them over.
            result = vector.set_state(reference_state(refs))
            np.testing.assert_array_equal(result.obs, np.stack([np.stack(ref._make_gym_obs()) for ref in refs]))
            np.testing.assert_array_equal(result.action_mask, np.stack([reference_mask(ref) for ref in refs]))
    return seen

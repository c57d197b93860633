"""A stand-in for smacv2's ``StarCraft2Env`` on MMM2, for tests without StarCraft II.

It implements smacv2's env API (``reset``, ``step -> (reward, terminated, info)``, ``get_obs``,
``get_state``, ``get_avail_actions``, ``get_env_info``, ``get_unit_by_id``, ``close``) with
MMM2's sizes: 10 allies sorted as smacv2 sorts them (2 marauders, 7 marines, 1 medivac),
12 enemies, 18 actions (no-op, stop, 4 moves, 12 targets) and 176-value observations
(4 move + 12 x 8 enemy + 9 x 8 ally + 4 own features). Behaviour depends on the unit type:
marauders are slow and hit hard, marines are fast and weak, and the medivac cannot attack but
heals wounded allies through the target actions. Unlike SMAC, an agent's own unit-type bits
are left zero, so the types show only in behaviour. The game is a toy, not StarCraft.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

N_ALLIES, N_ENEMIES, N_NO_ATTACK = 10, 12, 6
N_ACTIONS = N_NO_ATTACK + N_ENEMIES
EPISODE_LIMIT = 180
MARAUDER, MARINE, MEDIVAC = 1970, 1971, 1972  # smacv2 numbers MMM units marauder < marine < medivac
UNIT_TYPES = np.array([MARAUDER] * 2 + [MARINE] * 7 + [MEDIVAC])
SPEED = {MARAUDER: 0.6, MARINE: 1.0, MEDIVAC: 1.5}
DAMAGE = {MARAUDER: 3.0, MARINE: 1.0, MEDIVAC: 0.0}
MAX_HEALTH = {MARAUDER: 12.0, MARINE: 6.0, MEDIVAC: 15.0}
SIGHT, RANGE, HEAL = 9.0, 6.0, 2.0
MOVES = np.array([[0.0, 1.0], [0.0, -1.0], [1.0, 0.0], [-1.0, 0.0]])  # north, south, east, west


class MMM2StandIn:
    """Toy MMM2 with smacv2's env API; ``seed`` fixes every episode's start."""

    def __init__(
        self, map_name: str = "MMM2", seed: int | None = None, episode_limit: int = EPISODE_LIMIT, **_: Any
    ) -> None:
        self.map_name = map_name
        self.episode_limit = episode_limit
        self._rng = np.random.default_rng(seed)
        self._speed = np.array([SPEED[t] for t in UNIT_TYPES])
        self._damage = np.array([DAMAGE[t] for t in UNIT_TYPES])
        self._max_health = np.array([MAX_HEALTH[t] for t in UNIT_TYPES])
        self._type_bits = np.eye(3)[np.unique(UNIT_TYPES, return_inverse=True)[1]]
        self.reset()

    # -- smacv2 API -----------------------------------------------------------------------
    def get_env_info(self) -> dict[str, int]:
        return {
            "state_shape": 3 * (N_ALLIES + N_ENEMIES),
            "obs_shape": 176,
            "n_actions": N_ACTIONS,
            "n_agents": N_ALLIES,
            "episode_limit": self.episode_limit,
        }

    def reset(self) -> tuple[list[np.ndarray], np.ndarray]:
        self.steps = 0
        self.ally_pos = np.column_stack([self._rng.uniform(4, 8, N_ALLIES), self._rng.uniform(12, 20, N_ALLIES)])
        self.enemy_pos = np.column_stack([self._rng.uniform(16, 20, N_ENEMIES), self._rng.uniform(12, 20, N_ENEMIES)])
        self.ally_health = self._max_health.copy()
        self.enemy_health = np.full(N_ENEMIES, 6.0)
        return self.get_obs(), self.get_state()

    def get_unit_by_id(self, a_id: int) -> SimpleNamespace:
        x, y = self.ally_pos[a_id]
        return SimpleNamespace(unit_type=int(UNIT_TYPES[a_id]), health=float(self.ally_health[a_id]), pos=(x, y))

    def get_avail_actions(self) -> list[list[int]]:
        alive = self.ally_health > 0
        avail = np.zeros((N_ALLIES, N_ACTIONS), dtype=int)
        avail[:, 1:N_NO_ATTACK] = alive[:, None]
        avail[~alive, 0] = 1
        enemy_dist = np.linalg.norm(self.ally_pos[:, None] - self.enemy_pos[None], axis=-1)
        can_hit = (enemy_dist <= RANGE) & (self.enemy_health > 0)[None] & (self._damage > 0)[:, None]
        avail[:, N_NO_ATTACK:] = can_hit & alive[:, None]
        # The medivac's target slots name allies it can heal.
        medic = N_ALLIES - 1
        ally_dist = np.linalg.norm(self.ally_pos - self.ally_pos[medic], axis=-1)
        wounded = (self.ally_health > 0) & (self.ally_health < self._max_health) & (ally_dist <= RANGE)
        wounded[medic] = False
        avail[medic, N_NO_ATTACK : N_NO_ATTACK + N_ALLIES] = wounded & alive[medic]
        return avail.tolist()

    def step(self, actions: list[int]) -> tuple[float, bool, dict[str, Any]]:
        actions_arr = np.asarray(actions)
        avail = np.asarray(self.get_avail_actions(), dtype=bool)
        if not avail[np.arange(N_ALLIES), actions_arr].all():
            raise ValueError("an agent took an unavailable action")
        self.steps += 1
        moving = (actions_arr >= 2) & (actions_arr < N_NO_ATTACK)
        self.ally_pos[moving] += MOVES[actions_arr[moving] - 2] * self._speed[moving, None]
        self.ally_pos = np.clip(self.ally_pos, 0, 32)
        targets = actions_arr - N_NO_ATTACK
        hitting = targets >= 0
        hits = np.zeros(N_ENEMIES)
        medic = N_ALLIES - 1
        for agent in np.flatnonzero(hitting):
            if agent == medic:
                patient = targets[agent]
                self.ally_health[patient] = min(self.ally_health[patient] + HEAL, self._max_health[patient])
            else:
                hits[targets[agent]] += self._damage[agent]
        before = self.enemy_health.copy()
        self.enemy_health = np.maximum(self.enemy_health - hits, 0.0)
        # Each living enemy shoots the nearest living ally in range.
        alive_allies = self.ally_health > 0
        dist = np.linalg.norm(self.enemy_pos[:, None] - self.ally_pos[None], axis=-1)
        dist[:, ~alive_allies] = np.inf
        for enemy in np.flatnonzero(self.enemy_health > 0):
            victim = int(dist[enemy].argmin())
            if dist[enemy, victim] <= RANGE:
                self.ally_health[victim] = max(self.ally_health[victim] - 0.5, 0.0)
        reward = float((before - self.enemy_health).sum() + 2.0 * ((before > 0) & (self.enemy_health == 0)).sum())
        won, lost = not (self.enemy_health > 0).any(), not (self.ally_health > 0).any()
        info: dict[str, Any] = {"battle_won": won}
        terminated = won or lost
        if self.steps >= self.episode_limit and not terminated:
            terminated = True
            info["episode_limit"] = True
        return reward, terminated, info

    def get_obs(self) -> list[np.ndarray]:
        return [self._agent_obs(agent) for agent in range(N_ALLIES)]

    def _agent_obs(self, agent: int) -> np.ndarray:
        obs = np.zeros(176, dtype=np.float32)
        if self.ally_health[agent] <= 0:
            return obs
        pos = self.ally_pos[agent]
        obs[:4] = ((pos + MOVES) >= 0).all(1) & ((pos + MOVES) <= 32).all(1)
        rel = self.enemy_pos - pos
        dist = np.linalg.norm(rel, axis=-1)
        seen = (dist <= SIGHT) & (self.enemy_health > 0)
        enemy = np.column_stack(
            [dist <= RANGE, dist / SIGHT, rel / SIGHT, self.enemy_health / 6.0, np.tile([0, 1, 0], (N_ENEMIES, 1))]
        )
        obs[4:100] = (enemy * seen[:, None]).reshape(-1)
        others = np.delete(np.arange(N_ALLIES), agent)
        rel = self.ally_pos[others] - pos
        dist = np.linalg.norm(rel, axis=-1)
        seen = (dist <= SIGHT) & (self.ally_health[others] > 0)
        ally = np.column_stack(
            [
                seen,
                dist / SIGHT,
                rel / SIGHT,
                self.ally_health[others] / self._max_health[others],
                self._type_bits[others],
            ]
        )
        obs[100:172] = (ally * seen[:, None]).reshape(-1)
        obs[172] = self.ally_health[agent] / self._max_health[agent]
        # obs[173:176] would hold the own unit-type bits in SMAC; they stay zero here so that, as in
        # the paper's other envs, types can only be told apart from behaviour.
        return obs

    def get_state(self) -> np.ndarray:
        allies = np.column_stack([self.ally_health / self._max_health, self.ally_pos / 32])
        enemies = np.column_stack([self.enemy_health / 6.0, self.enemy_pos / 32])
        return np.concatenate([allies.reshape(-1), enemies.reshape(-1)]).astype(np.float32)

    def close(self) -> None:
        """Nothing to release."""

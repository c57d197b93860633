"""A stand-in for smacv2's ``StarCraft2Env`` and ``StarCraftCapabilityEnvWrapper``, for tests without StarCraft II.

Each behaviour the seps adapter depends on copies the semantics (not the code) of smacv2; the
comments name the file and function (``starcraft2.py`` is ``smacv2/env/starcraft2/starcraft2.py``).
The battle itself is a toy, not StarCraft: units move, shoot the nearest enemy in range, and
medivacs heal. Supported maps: ``MMM2`` and ``10gen_{protoss,terran,zerg}`` (with a
``capability_config``).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np

# smac_maps.py: map_param_registry entries used here.
MAP_PARAMS: dict[str, dict[str, Any]] = {
    "MMM2": {"n_agents": 10, "n_enemies": 12, "limit": 180, "race": "T", "bits": 3, "map_type": "MMM"},
    "10gen_protoss": {"n_agents": 10, "n_enemies": 10, "limit": 200, "race": "P", "bits": 3, "map_type": "protoss_gen"},
    "10gen_terran": {"n_agents": 10, "n_enemies": 10, "limit": 200, "race": "T", "bits": 3, "map_type": "terran_gen"},
    "10gen_zerg": {"n_agents": 10, "n_enemies": 10, "limit": 200, "race": "Z", "bits": 3, "map_type": "zerg_gen"},
}
MIN_UNIT_TYPE = 1970
"""The first custom ally unit id (smacv2 reads it from the game; any value works)."""
# starcraft2.py _init_ally_unit_types: on 10gen maps ally ids are min + 0..8 in this order; on MMM
# maps marauder = min, marine = min + 1, medivac = min + 2.
GEN_ORDER = ["baneling", "colossus", "hydralisk", "marauder", "marine", "medivac", "stalker", "zealot", "zergling"]
MMM_ORDER = ["marauder", "marine", "medivac"]
MMM2_TEAM = ["marauder"] * 2 + ["marine"] * 7 + ["medivac"]
MMM2_ENEMIES = ["marauder"] * 3 + ["marine"] * 8 + ["medivac"]
# starcraft2.py get_unit_type_id: the type bits of each generated map_type.
GEN_TYPE_ID = {
    "protoss_gen": {"stalker": 0, "zealot": 1, "colossus": 2},
    "terran_gen": {"marine": 0, "marauder": 1, "medivac": 2},
    "zerg_gen": {"zergling": 0, "hydralisk": 1, "baneling": 2},
}
# Toy battle stats: (health, speed, damage, range); damage 0 heals instead (medivac).
STATS = {
    "marauder": (12.0, 0.6, 3.0, 6.0),
    "marine": (6.0, 1.0, 1.0, 6.0),
    "medivac": (15.0, 1.5, 0.0, 4.0),
    "stalker": (10.0, 1.0, 2.0, 6.0),
    "zealot": (10.0, 1.0, 2.0, 1.5),
    "colossus": (20.0, 0.8, 3.0, 7.0),
    "zergling": (4.0, 1.6, 1.0, 1.0),
    "baneling": (3.0, 1.2, 4.0, 1.0),
    "hydralisk": (7.0, 1.0, 2.0, 5.0),
}
SIGHT, N_NO_ATTACK, MAP = 9.0, 6, 32.0
MOVES = np.array([[0.0, 1.0], [0.0, -1.0], [1.0, 0.0], [-1.0, 0.0]])  # north, south, east, west


class SmacStandIn:
    """``StarCraft2Env`` on one of :data:`MAP_PARAMS`; ``launches`` counts StarCraft II starts (all instances)."""

    launches: ClassVar[int] = 0

    def __init__(
        self,
        map_name: str = "MMM2",
        seed: int | None = None,
        continuing_episode: bool = False,
        capability_config: dict[str, Any] | None = None,
        state_last_action: bool = True,
        **_: Any,
    ) -> None:
        params = MAP_PARAMS[map_name]  # starcraft2.py __init__: map_params = get_map_params(map_name)
        self.map_name, self.map_type = map_name, str(params["map_type"])
        self.capability_config = capability_config or {}
        # starcraft2.py __init__: with team_gen the team sizes come from the capability config.
        replace = "team_gen" in self.capability_config
        self.n_agents = int(self.capability_config["n_units"] if replace else params["n_agents"])
        self.n_enemies = int(self.capability_config["n_enemies"] if replace else params["n_enemies"])
        self.episode_limit = int(params["limit"])
        self.unit_type_bits = int(params["bits"])
        self.shield = 1 if params["race"] == "P" else 0
        # starcraft2.py __init__: MMM / terran_gen maps with more allies than enemies target allies.
        targets = (
            self.n_agents
            if self.map_type in ("MMM", "terran_gen") and self.n_agents > self.n_enemies
            else self.n_enemies
        )
        self.n_actions = N_NO_ATTACK + targets
        self.continuing_episode = continuing_episode
        self.state_last_action = state_last_action
        self._seed = seed
        self._episode_count = 0
        self._sc2_running = False
        self.launches_here = 0
        self._rng = np.random.default_rng(seed)

    # starcraft2.py _launch: the game (and its random_seed) starts only here.
    def _launch(self) -> None:
        type(self).launches += 1
        self.launches_here += 1
        self._sc2_running = True
        self._rng = np.random.default_rng(self._seed)

    # multiagentenv.py get_env_info; sizes from starcraft2.py get_obs_size / get_state_size.
    def get_env_info(self) -> dict[str, int]:
        return {
            "state_shape": self.get_state_size(),
            "obs_shape": self.get_obs_size(),
            "n_actions": self.n_actions,
            "n_agents": self.n_agents,
            "episode_limit": self.episode_limit,
        }

    def get_obs_size(self) -> int:
        # move 4; per enemy: visible, distance, dx, dy, health (+ shield) + type bits; the same per
        # other ally; own: health (+ shield) + type bits. MMM2: 4 + 12*8 + 9*8 + 4 = 176.
        enemy = 5 + self.shield + self.unit_type_bits
        ally = 5 + self.shield + self.unit_type_bits
        return 4 + self.n_enemies * enemy + (self.n_agents - 1) * ally + 1 + self.shield + self.unit_type_bits

    def get_state_size(self) -> int:
        # Ally: health, cooldown, x, y (+ shield) + bits; enemy: health, x, y (+ shield) + bits; plus the
        # last actions (state_last_action). MMM2: 10*7 + 12*6 + 10*18 = 322.
        size = self.n_agents * (4 + self.shield + self.unit_type_bits) + self.n_enemies * (
            3 + self.shield + self.unit_type_bits
        )
        return size + (self.n_agents * self.n_actions if self.state_last_action else 0)

    # starcraft2.py reset: launch on the first episode, else _restart (kill the units; same process).
    def reset(self, episode_config: dict[str, Any] | None = None) -> tuple[list[np.ndarray], np.ndarray]:
        episode_config = episode_config or {}
        self._episode_steps = 0
        if self._episode_count == 0:
            self._launch()
        team = episode_config.get("team_gen", {})
        allies = list(team.get("ally_team") or MMM2_TEAM)
        enemies = list(team.get("enemy_team") or MMM2_ENEMIES)
        starts = episode_config.get("ally_start_positions", {}).get("item")
        enemy_starts = episode_config.get("enemy_start_positions", {}).get("item")
        # starcraft2.py _create_new_team: without start positions allies spawn at (8, 16), enemies at (24, 16).
        jitter = self._rng.uniform(-2, 2, size=(self.n_agents, 2))
        ally_pos = (np.asarray(starts, dtype=float) if starts is not None else np.array([8.0, 16.0])) + jitter
        enemy_pos = (
            np.asarray(enemy_starts, dtype=float)
            if enemy_starts is not None
            else np.tile([24.0, 16.0], (self.n_enemies, 1))
        )
        enemy_pos = enemy_pos + self._rng.uniform(-2, 2, size=(self.n_enemies, 2))
        order = MMM_ORDER if self.map_type == "MMM" else GEN_ORDER
        ids = [MIN_UNIT_TYPE + order.index(name) for name in allies]
        # starcraft2.py init_units: allies sorted by (unit_type, pos.x, pos.y).
        sort = sorted(range(self.n_agents), key=lambda i: (ids[i], ally_pos[i, 0], ally_pos[i, 1]))
        self.ally_names = [allies[i] for i in sort]
        self.ally_ids = np.array([ids[i] for i in sort])
        self.ally_pos = np.clip(ally_pos[sort], 0, MAP)
        self.enemy_names, self.enemy_pos = enemies, np.clip(enemy_pos, 0, MAP)
        self.ally_max = np.array([STATS[n][0] for n in self.ally_names])
        self.enemy_max = np.array([STATS[n][0] for n in enemies])
        self.ally_health, self.enemy_health = self.ally_max.copy(), self.enemy_max.copy()
        self.last_action = np.zeros((self.n_agents, self.n_actions))
        return self.get_obs(), self.get_state()

    # starcraft2.py get_unit_by_id: the sorted ally unit (unit_type, health, pos).
    def get_unit_by_id(self, a_id: int) -> SimpleNamespace:
        x, y = self.ally_pos[a_id]
        return SimpleNamespace(
            unit_type=int(self.ally_ids[a_id]), health=float(self.ally_health[a_id]), pos=SimpleNamespace(x=x, y=y)
        )

    # starcraft2.py get_unit_types: ally then enemy unit types of the current episode.
    def get_unit_types(self) -> list[int]:
        return [int(t) for t in self.ally_ids] + [MIN_UNIT_TYPE + GEN_ORDER.index(n) for n in self.enemy_names]

    # starcraft2.py get_unit_type_id: per-map lookup; the MMM branch compares ally ids with the SC2
    # ids 51 (marauder) / 48 (marine), which the custom ally ids never equal, so every ally gets 2.
    def get_unit_type_id(self, unit: Any, ally: bool) -> int:
        name = (GEN_ORDER if self.map_type != "MMM" else MMM_ORDER)[int(unit.unit_type) - MIN_UNIT_TYPE]
        if self.map_type in GEN_TYPE_ID:
            return GEN_TYPE_ID[self.map_type][name]
        return 2

    def _type_bits(self, agent: int) -> np.ndarray:
        bits = np.zeros(self.unit_type_bits)
        bits[self.get_unit_type_id(self.get_unit_by_id(agent), True)] = 1
        return bits

    # starcraft2.py get_avail_agent_actions: dead units only no-op; alive: stop, moves, targets in range;
    # a medivac's targets are the allies that are not medivacs.
    def get_avail_agent_actions(self, agent: int) -> list[int]:
        if self.ally_health[agent] <= 0:
            return [1] + [0] * (self.n_actions - 1)
        avail = np.zeros(self.n_actions, dtype=int)
        avail[1] = 1
        pos = self.ally_pos[agent]
        avail[2:6] = ((pos + MOVES >= 0) & (pos + MOVES <= MAP)).all(1)
        name = self.ally_names[agent]
        reach = STATS[name][3]
        if name == "medivac":
            others = [i for i, n in enumerate(self.ally_names) if n != "medivac" and self.ally_health[i] > 0]
            for i in others:
                if np.linalg.norm(self.ally_pos[i] - pos) <= reach:
                    avail[N_NO_ATTACK + i] = 1
        else:
            dist = np.linalg.norm(self.enemy_pos - pos, axis=1)
            avail[N_NO_ATTACK : N_NO_ATTACK + self.n_enemies] = (dist <= reach) & (self.enemy_health > 0)
        return avail.tolist()

    def get_avail_actions(self) -> list[list[int]]:
        return [self.get_avail_agent_actions(a) for a in range(self.n_agents)]

    # starcraft2.py step: (reward, terminated, info); info["battle_won"] always, episode_limit only with
    # continuing_episode; a time-out also terminates; _episode_count grows when an episode ends.
    def step(self, actions: list[int]) -> tuple[float, bool, dict[str, Any]]:
        acts = np.array([int(a) for a in actions])
        avail = np.asarray(self.get_avail_actions(), dtype=bool)
        if not avail[np.arange(self.n_agents), acts].all():
            raise ValueError("an agent took an unavailable action")
        self.last_action = np.eye(self.n_actions)[acts]
        self._episode_steps += 1
        speed = np.array([STATS[n][1] for n in self.ally_names])
        moving = (acts >= 2) & (acts < N_NO_ATTACK)
        self.ally_pos[moving] = np.clip(self.ally_pos[moving] + MOVES[acts[moving] - 2] * speed[moving, None], 0, MAP)
        before = self.enemy_health.copy()
        for agent in np.flatnonzero(acts >= N_NO_ATTACK):
            target, name = acts[agent] - N_NO_ATTACK, self.ally_names[agent]
            if name == "medivac":
                self.ally_health[target] = min(self.ally_health[target] + 2.0, self.ally_max[target])
            else:
                self.enemy_health[target] = max(self.enemy_health[target] - STATS[name][2], 0.0)
        alive = self.ally_health > 0
        for enemy in np.flatnonzero(self.enemy_health > 0):
            dist = np.where(alive, np.linalg.norm(self.ally_pos - self.enemy_pos[enemy], axis=1), np.inf)
            victim = int(dist.argmin())
            if dist[victim] <= STATS[self.enemy_names[enemy]][3]:
                self.ally_health[victim] = max(self.ally_health[victim] - 0.5, 0.0)
        reward = float((before - self.enemy_health).sum() + 2.0 * ((before > 0) & (self.enemy_health == 0)).sum())
        info: dict[str, Any] = {"battle_won": False}
        info["dead_allies"], info["dead_enemies"] = (
            int((self.ally_health == 0).sum()),
            int((self.enemy_health == 0).sum()),
        )
        terminated = False
        if not (self.enemy_health > 0).any():
            terminated, info["battle_won"] = True, True
            reward += 20.0
        elif not (self.ally_health > 0).any():
            terminated = True
        elif self._episode_steps >= self.episode_limit:
            terminated = True
            if self.continuing_episode:
                info["episode_limit"] = True
        if terminated:
            self._episode_count += 1
        return reward, terminated, info

    # starcraft2.py get_obs_agent: zeros for a dead unit; else move, enemy, ally and own features.
    def get_obs(self) -> list[np.ndarray]:
        return [self._agent_obs(agent) for agent in range(self.n_agents)]

    def _agent_obs(self, agent: int) -> np.ndarray:
        obs = np.zeros(self.get_obs_size(), dtype=np.float32)
        if self.ally_health[agent] <= 0:
            return obs
        pos = self.ally_pos[agent]
        obs[:4] = self.get_avail_agent_actions(agent)[2:6]
        rows = []
        for group, health, top, names, skip in (
            (self.enemy_pos, self.enemy_health, self.enemy_max, self.enemy_names, None),
            (self.ally_pos, self.ally_health, self.ally_max, self.ally_names, agent),
        ):
            for i in range(len(names)):
                if i == skip:
                    continue
                rel = group[i] - pos
                dist = float(np.linalg.norm(rel))
                row = np.zeros(5 + self.shield + self.unit_type_bits)
                if dist <= SIGHT and health[i] > 0:
                    row[:5] = [1.0, dist / SIGHT, rel[0] / SIGHT, rel[1] / SIGHT, health[i] / top[i]]
                    name = names[i]
                    order = MMM_ORDER if self.map_type == "MMM" else GEN_ORDER
                    unit = SimpleNamespace(
                        unit_type=MIN_UNIT_TYPE + order.index(name) if name in order else MIN_UNIT_TYPE
                    )
                    row[5 + self.shield + self.get_unit_type_id(unit, skip is not None)] = 1.0
                rows.append(row)
        feats = np.concatenate(rows)
        obs[4 : 4 + feats.size] = feats
        obs[4 + feats.size] = self.ally_health[agent] / self.ally_max[agent]
        obs[-self.unit_type_bits :] = self._type_bits(agent)
        return obs

    # starcraft2.py get_state -> get_state_dict (smacv2 main): one row per ally (health / health_max,
    # weapon cooldown / max cooldown, (x - map_x / 2) / max_distance_x, the same for y, shield, type
    # one-hot in the last unit_type_bits columns) and per enemy (health, relative x, relative y, shield,
    # type one-hot); a dead unit's row stays all zeros. Then the last actions (state_last_action), all
    # appended and cast to float32. The toy has no cooldowns or shields (those columns are 0).
    def get_state(self) -> np.ndarray:
        ally_width, enemy_width = 4 + self.shield + self.unit_type_bits, 3 + self.shield + self.unit_type_bits
        allies = np.zeros((self.n_agents, ally_width))
        enemies = np.zeros((self.n_enemies, enemy_width))
        for agent in np.flatnonzero(self.ally_health > 0).tolist():
            allies[agent, 0] = self.ally_health[agent] / self.ally_max[agent]
            allies[agent, 2:4] = (self.ally_pos[agent] - MAP / 2) / MAP
            allies[agent, -self.unit_type_bits :] = self._type_bits(agent)
        for enemy in np.flatnonzero(self.enemy_health > 0).tolist():
            enemies[enemy, 0] = self.enemy_health[enemy] / self.enemy_max[enemy]
            enemies[enemy, 1:3] = (self.enemy_pos[enemy] - MAP / 2) / MAP
            enemies[enemy, enemy_width - self.unit_type_bits + self._enemy_type_id(enemy)] = 1.0
        state = np.append(allies.flatten(), enemies.flatten())
        if self.state_last_action:
            state = np.append(state, self.last_action.flatten())
        return state.astype(np.float32)

    # starcraft2.py get_unit_type_id(unit, ally=False): on MMM maps the SC2 ids of marauder (51) and
    # marine (48) give 0 and 1, anything else (medivac) 2; generated maps use the race's lookup.
    def _enemy_type_id(self, enemy: int) -> int:
        name = self.enemy_names[enemy]
        if self.map_type in GEN_TYPE_ID:
            return GEN_TYPE_ID[self.map_type][name]
        return {"marauder": 0, "marine": 1}.get(name, 2)

    # starcraft2.py close: stops the StarCraft II process.
    def close(self) -> None:
        self._sc2_running = False


class CapabilityWrapperStandIn:
    """``StarCraftCapabilityEnvWrapper`` (wrapper.py) over :class:`SmacStandIn`.

    wrapper.py __init__ builds one distribution per capability_config key (but n_units/n_enemies);
    reset draws each and passes the merged dict to ``StarCraft2Env.reset``; other attributes are
    forwarded. Here team_gen follows distributions.py WeightedTeamsDistribution (numpy
    ``default_rng()`` choice by weights, redrawn while the team is all exception types; the enemy team
    copies it) and start_positions draws allies uniformly left of the middle and reflects them
    (distributions.py ReflectPositionDistribution; the surrounded variant is not reproduced).
    """

    def __init__(self, **kwargs: Any) -> None:
        self.distribution_config = kwargs["capability_config"]
        # wrapper.py _parse_distribution_config: env_key -> distribution; each draws from its own
        # numpy default_rng() with no seed (distributions.py), so nothing seeds it unless a caller does.
        self.env_key_to_distribution_map = {
            key: SimpleNamespace(rng=np.random.default_rng())
            for key in self.distribution_config
            if key not in ("n_units", "n_enemies")
        }
        self.env = SmacStandIn(**kwargs)

    def reset(self) -> tuple[list[np.ndarray], np.ndarray]:
        config = self.distribution_config
        reset_config: dict[str, Any] = {}
        n_units, n_enemies = config["n_units"], config["n_enemies"]
        if "team_gen" in config:
            gen = config["team_gen"]
            exceptions = set(gen.get("exception_unit_types", []))
            rng = self.env_key_to_distribution_map["team_gen"].rng
            team: list[str] = []
            while not team or all(member in exceptions for member in team):
                team = list(rng.choice(gen["unit_types"], size=n_units, p=gen["weights"]))
            enemy = team[:n_enemies] + list(
                rng.choice(gen["unit_types"], size=max(n_enemies - n_units, 0), p=gen["weights"])
            )
            reset_config["team_gen"] = {"ally_team": team, "enemy_team": enemy, "id": 0}
        if "start_positions" in config:
            sp, rng = config["start_positions"], self.env_key_to_distribution_map["start_positions"].rng
            ally = rng.uniform((0, 0), (sp["map_x"] / 2 - 1, sp["map_y"]), size=(n_units, 2))
            enemy_pos = np.zeros((n_enemies, 2))
            shared = min(n_units, n_enemies)
            enemy_pos[:shared] = np.column_stack([sp["map_x"] - ally[:shared, 0], ally[:shared, 1]])
            if n_enemies > n_units:
                enemy_pos[shared:] = rng.uniform(
                    (sp["map_x"] / 2, 0), (sp["map_x"], sp["map_y"]), size=(n_enemies - n_units, 2)
                )
            reset_config["ally_start_positions"] = {"item": ally, "id": 0}
            reset_config["enemy_start_positions"] = {"item": enemy_pos, "id": 0}
        return self.env.reset(reset_config)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)

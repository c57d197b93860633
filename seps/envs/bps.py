"""Blind-particle Spread (BPS) and BPS-h, the SePS paper's toy environment (Section 4.1, Table 1).

Every agent has a hidden colour and there is one landmark per colour. An agent is
rewarded for standing on its own colour's landmark, but nothing in its observation
says which colour it has: it has to infer it from the rewards it gets. Agent types
are colour indices, assigned in contiguous blocks: ``2-2-2-15-9`` gives agents 0-1
colour 0, agents 2-3 colour 1, and so on.

Observation of an agent (``4 + 2 * n_colours`` float32 features): own velocity (2),
own position (2), then ``landmark_pos - agent_pos`` for every landmark in colour order.
In BPS-h every type sees these features through its own fixed permutation (a
different "sensor" layout per type); :func:`feature_permutations` makes them.

Physics is the point mass of the multi-agent particle envs (MPE ``core.py``): five
discrete actions (no-op, -x, +x, -y, +y) push with ``accel = 5`` on mass 1, and
``integrate_state`` damps the velocity, adds ``force / mass * dt`` and then moves by
``velocity * dt``. Agents do not collide and speed is not capped.

Global state (``StepResult.state``, for centralised critics only): every agent's absolute
position and velocity in agent order, then every landmark's absolute position in colour order
(``4 * N + 2 * n_colours`` float32). It is the simulator state and nothing more: no colour or
type label is in it, so what it says about colours is what the env holds anyway (which landmark
has which colour, as every observation also lists the landmarks in colour order). It is the
same frame for BPS-h (the per-type feature permutations are a property of the agents' sensors).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from seps.envs.base import MultiAgentEnv, StepResult
from seps.errors import ConfigError, EnvError
from seps.registry import ENVS
from seps.validators import is_integer, require_positive_int

ACCEL = 5.0
"""MPE agent ``accel``: magnitude of the force an action applies."""
MASS = 1.0
"""MPE entity mass."""
DT = 0.1
"""MPE world time step."""
DAMPING = 0.25
"""MPE world damping: the fraction of velocity lost every step."""
REWARD_SCALE = 0.5
"""Reward per step is ``-REWARD_SCALE * distance to the own landmark``."""
AGENT_SPAWN = 1.0
"""Agents spawn uniformly in ``[-AGENT_SPAWN, AGENT_SPAWN]^2``."""
LANDMARK_SPAWN = 3.0
"""Landmarks spawn uniformly in ``[-LANDMARK_SPAWN, LANDMARK_SPAWN]^2``."""
N_ACTIONS = 5
"""No-op, -x, +x, -y, +y (the MPE discrete action order)."""
PERMUTATION_SEED = 20210
"""Seed of BPS-h's feature permutations: they are part of the task, so they never change."""

_DIRECTIONS = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.float64)
# Velocity change of each action in one step, in MPE's order: (u * accel / mass) * dt.
_DELTA_V = ((_DIRECTIONS * ACCEL / MASS) * DT).astype(np.float32)


def feature_permutations(n_types: int, obs_dim: int, seed: int = PERMUTATION_SEED) -> np.ndarray:
    """int64 (n_types, obs_dim): BPS-h's feature order per type; pairwise distinct, never the identity.

    Type ``t``'s row depends only on ``(seed, obs_dim, t)`` and the rows of lower types,
    so the same task always gets the same permutations. Row ``t`` maps output column
    ``j`` to plain feature ``perm[t, j]``: the permuted observation is ``plain[perm[t]]``.
    """
    if obs_dim < 3:
        raise ConfigError(
            f"feature_permutations needs obs_dim >= 3 to give distinct non-identity orders, got {obs_dim}"
        )
    identity = np.arange(obs_dim)
    rows: list[np.ndarray] = []
    for type_index in range(n_types):  # once per construction, over types (not agents or steps)
        rng = np.random.default_rng([seed, obs_dim, type_index])
        perm = rng.permutation(obs_dim)
        while np.array_equal(perm, identity) or any(np.array_equal(perm, row) for row in rows):
            perm = rng.permutation(obs_dim)
        rows.append(perm)
    return np.stack(rows).astype(np.int64)


def _check_type_counts(type_counts: Any) -> tuple[int, ...]:
    if (
        isinstance(type_counts, (str, bytes))
        or not isinstance(type_counts, (Sequence, np.ndarray))
        or len(type_counts) == 0
    ):
        raise ConfigError(
            f"BlindParticleSpread: 'type_counts' must be a non-empty sequence of agents per colour, "
            f"e.g. (5, 5, 5), got {type_counts!r}"
        )
    for count in type_counts:
        if not is_integer(count) or count < 1:
            raise ConfigError(
                "BlindParticleSpread: every entry of 'type_counts' must be a positive integer, "
                f"got {tuple(type_counts)!r}"
            )
    return tuple(int(count) for count in type_counts)


class BlindParticleSpread(MultiAgentEnv):
    """``num_envs`` copies of BPS (or BPS-h with ``heterogeneous=True``), stepped together with numpy.

    The physical state is public and may be written between steps (tests do):
    ``agent_pos`` and ``agent_vel`` float32 (E, N, 2), ``landmark_pos`` float32 (E, L, 2)
    with landmark ``c`` the one of colour ``c``. All copies share one step counter, so
    they truncate and reset together after ``episode_limit`` steps.
    """

    team_reward = False

    def __init__(
        self,
        *,
        type_counts: Sequence[int],
        heterogeneous: bool = False,
        num_envs: int = 1,
        episode_limit: int = 50,
        name: str | None = None,
    ) -> None:
        counts = _check_type_counts(type_counts)
        num_envs = require_positive_int("num_envs", num_envs, "BlindParticleSpread")
        episode_limit = require_positive_int("episode_limit", episode_limit, "BlindParticleSpread")
        if not isinstance(heterogeneous, (bool, np.bool_)):
            raise ConfigError(f"BlindParticleSpread: 'heterogeneous' must be True or False, got {heterogeneous!r}")
        self.type_counts = counts
        self.heterogeneous = bool(heterogeneous)
        self.num_envs = num_envs
        self.episode_limit = episode_limit
        self.n_colours = len(counts)
        self.name = name or f"{'bps-h' if heterogeneous else 'bps'}:{'-'.join(map(str, counts))}"
        self.team_reward = False
        self.agent_types = np.repeat(np.arange(self.n_colours), counts).astype(np.int64)
        self.obs_dim = 4 + 2 * self.n_colours

        n_agents = len(self.agent_types)
        # One space object per type: BPS-h types read different layouts of equal size.
        boxes = [spaces.Box(-np.inf, np.inf, (self.obs_dim,), np.float32) for _ in counts]
        self.observation_spaces = tuple(boxes[t] for t in self.agent_types)
        self.action_spaces = (spaces.Discrete(N_ACTIONS),) * n_agents

        self.feature_permutations: np.ndarray | None = None
        self._gather: np.ndarray | None = None
        if self.heterogeneous:
            self.feature_permutations = feature_permutations(self.n_colours, self.obs_dim)
            per_agent = self.feature_permutations[self.agent_types]  # (N, D)
            self._gather = (np.arange(n_agents)[:, None] * self.obs_dim + per_agent).ravel()

        shape = (num_envs, n_agents)
        self.agent_pos = np.zeros((*shape, 2), dtype=np.float32)
        self.agent_vel = np.zeros((*shape, 2), dtype=np.float32)
        self.landmark_pos = np.zeros((num_envs, self.n_colours, 2), dtype=np.float32)
        self._move = np.empty((*shape, 2), dtype=np.float32)
        self._agent_index = np.arange(n_agents)
        self._own_slot = self.agent_types + 2  # slot of the own landmark among the (2 + L) feature pairs
        self._rng = np.random.default_rng()
        self._t = 0
        self._started = False
        # Constant outputs are shared between steps, so they are read-only.
        self._false = _frozen(np.zeros(shape, dtype=bool))
        self._true = _frozen(np.ones(shape, dtype=bool))
        self._mask = _frozen(np.ones((*shape, N_ACTIONS), dtype=bool))
        self._zero_rewards = _frozen(np.zeros(shape, dtype=np.float32))

    def reset(self, seed: int | None = None) -> StepResult:
        """Start new episodes in every copy.

        ``seed`` re-seeds the one generator all copies draw from (copies draw different
        numbers, so they differ; everything after the reset is reproducible). ``None``
        continues the current generator.
        """
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise EnvError(f"{self.name}: reset(seed) needs a non-negative integer or None, got {seed!r}")
            self._rng = np.random.default_rng(int(seed))
        self._respawn()
        self._started = True
        return self._first_result()

    def step(self, actions: np.ndarray) -> StepResult:
        """Move every agent of every copy by ``actions`` (int (E, N), values 0-4) and score the new positions."""
        actions = self.check_step_actions(actions, N_ACTIONS, started=self._started)
        # MPE integrate_state: damp, accelerate, then move with the new velocity.
        self.agent_vel *= 1.0 - DAMPING
        self.agent_vel += _DELTA_V[actions]
        np.multiply(self.agent_vel, DT, out=self._move)
        self.agent_pos += self._move
        obs, distance = self._observe()
        rewards = np.multiply(distance, -REWARD_SCALE, out=distance)
        self._t += 1
        state = final_state = self.global_state()
        if self._t < self.episode_limit:
            truncated, final_obs = self._false, obs
        else:
            truncated, final_obs = self._true, obs
            self._respawn()
            obs, _ = self._observe()
            state = self.global_state()
        return StepResult(
            obs=obs,
            rewards=rewards,
            terminated=self._false,
            truncated=truncated,
            final_obs=final_obs,
            action_mask=self._mask,
            active=self._true,
            state=state,
            final_state=final_state,
        )

    def get_state(self) -> dict[str, Any]:
        """Positions, velocities, step counter and generator state: enough for a bit-exact resume."""
        return {
            "agent_pos": self.agent_pos.copy(),
            "agent_vel": self.agent_vel.copy(),
            "landmark_pos": self.landmark_pos.copy(),
            "t": self._t,
            "rng": json.dumps(self._rng.bit_generator.state),
        }

    def set_state(self, state: dict[str, Any]) -> StepResult:
        """Restore :meth:`get_state` output and return the observations of that moment."""
        for key in ("agent_pos", "agent_vel", "landmark_pos"):
            getattr(self, key)[...] = np.asarray(state[key], dtype=np.float32)
        self._t = int(state["t"])
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = json.loads(state["rng"])
        self._started = True
        return self._first_result()

    @property
    def state_dim(self) -> int:
        return 4 * self.n_agents + 2 * self.n_colours

    def global_state(self) -> np.ndarray:
        """float32 (E, 4 N + 2 L): positions and velocities of every agent, then the landmarks (module docstring)."""
        num_envs = self.num_envs
        return np.concatenate(
            [
                self.agent_pos.reshape(num_envs, -1),
                self.agent_vel.reshape(num_envs, -1),
                self.landmark_pos.reshape(num_envs, -1),
            ],
            axis=1,
        )

    def _first_result(self) -> StepResult:
        """The result of a reset (or a restored snapshot): observations, no reward, nothing done."""
        obs, _ = self._observe()
        state = self.global_state()
        return StepResult(
            obs=obs,
            rewards=self._zero_rewards,
            terminated=self._false,
            truncated=self._false,
            final_obs=obs,
            action_mask=self._mask,
            active=self._true,
            state=state,
            final_state=state,
        )

    def _respawn(self) -> None:
        """Draw new agent and landmark positions for every copy and zero the velocities."""
        self._rng.random(out=self.agent_pos, dtype=np.float32)
        self.agent_pos *= 2.0 * AGENT_SPAWN
        self.agent_pos -= AGENT_SPAWN
        self._rng.random(out=self.landmark_pos, dtype=np.float32)
        self.landmark_pos *= 2.0 * LANDMARK_SPAWN
        self.landmark_pos -= LANDMARK_SPAWN
        self.agent_vel.fill(0.0)
        self._t = 0

    def _observe(self) -> tuple[np.ndarray, np.ndarray]:
        """Fresh observations float32 (E, N, D) and each agent's distance to its own landmark float32 (E, N)."""
        num_envs, n_agents = self.agent_pos.shape[:2]
        # Build the plain layout as (2 + L) feature pairs: velocity, position, relative landmarks.
        pairs = np.empty((num_envs, n_agents, 2 + self.n_colours, 2), dtype=np.float32)
        pairs[:, :, 0] = self.agent_vel
        pairs[:, :, 1] = self.agent_pos
        np.subtract(self.landmark_pos[:, None], self.agent_pos[:, :, None], out=pairs[:, :, 2:])
        own = pairs[:, self._agent_index, self._own_slot]  # (E, N, 2)
        distance = np.sqrt(np.einsum("enk,enk->en", own, own))
        obs = pairs.reshape(num_envs, n_agents, self.obs_dim)
        if self._gather is not None:
            flat = obs.reshape(num_envs, n_agents * self.obs_dim)
            obs = np.take(flat, self._gather, axis=1).reshape(num_envs, n_agents, self.obs_dim)
        return obs, distance


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _task_factory(type_counts: tuple[int, ...], heterogeneous: bool, name: str) -> Callable[..., BlindParticleSpread]:
    """A factory ``make(num_envs=1, **kwargs)`` for one fixed type distribution."""

    def make(num_envs: int = 1, **kwargs: Any) -> BlindParticleSpread:
        for fixed in ("type_counts", "heterogeneous"):
            if fixed in kwargs:
                raise ConfigError(
                    f"{name} fixes {fixed!r}; use the 'bps:...' or 'bps-h:...' family "
                    "or BlindParticleSpread to choose it"
                )
        kwargs.setdefault("name", name)
        return BlindParticleSpread(type_counts=type_counts, heterogeneous=heterogeneous, num_envs=num_envs, **kwargs)

    kind = "BPS-h" if heterogeneous else "BPS"
    make.__doc__ = f"Build {name}: {kind} with {sum(type_counts)} agents in colours {'-'.join(map(str, type_counts))}."
    # The options are BlindParticleSpread's (less the two fixed here): sweep validation binds them without building.
    parameters = inspect.signature(BlindParticleSpread).parameters
    make.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [p for n, p in parameters.items() if n not in ("type_counts", "heterogeneous", "name")]
        + [inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=name)]
    )
    make.agent_count = lambda **options: sum(type_counts)  # type: ignore[attr-defined]
    return make


def parse_type_counts(spec: str, prefix: str = "bps") -> tuple[int, ...]:
    """Parse a type distribution such as ``"2-2-2-15-9"`` into agents per colour."""
    parts = spec.split("-")
    if not all(part.isascii() and part.isdigit() and int(part) > 0 for part in parts):
        raise ConfigError(
            f"bad {prefix} type distribution {spec!r}: expected positive agent counts per colour joined by '-', "
            f"e.g. '{prefix}:5-5-5'"
        )
    return tuple(int(part) for part in parts)


def bps_family(spec: str) -> Callable[..., BlindParticleSpread]:
    """``ENVS.get("bps:5-5-5")``: a BPS factory for any type distribution."""
    return _task_factory(parse_type_counts(spec, "bps"), False, f"bps:{spec}")


def bps_h_family(spec: str) -> Callable[..., BlindParticleSpread]:
    """``ENVS.get("bps-h:5-5-5")``: a BPS-h factory for any type distribution."""
    return _task_factory(parse_type_counts(spec, "bps-h"), True, f"bps-h:{spec}")


TASKS: dict[str, tuple[tuple[int, ...], bool]] = {
    "bps-1": ((5, 5, 5), False),
    "bps-2": ((10, 10, 10), False),
    "bps-3": ((6, 6, 6, 6, 6), False),
    "bps-4": ((2, 2, 2, 15, 9), False),
    "bps-h-1": ((5, 5, 5), True),
    "bps-h-2": ((6, 6, 6, 6, 6), True),
    "bps-h-3": ((50, 50, 50, 50), True),
}
"""The paper's Table 1 tasks: name -> (agents per colour, heterogeneous)."""

for _task, (_counts, _heterogeneous) in TASKS.items():
    ENVS.register(_task, _task_factory(_counts, _heterogeneous, _task))
ENVS.register_family("bps", bps_family)
ENVS.register_family("bps-h", bps_h_family)

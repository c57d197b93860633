"""Late-colour BPS: agent types that random actions cannot reveal and learning does (the paper's Section 6).

A :class:`~seps.envs.bps.BlindParticleSpread` (same physics, observations and hidden colours) with
two changes:

* **the colour only matters near a landmark.** Every agent is rewarded
  ``-REWARD_SCALE * distance to the nearest landmark`` whatever its colour, plus ``bonus`` on
  every step it ends within ``radius`` of its own colour's landmark. Far from the landmarks all
  colours have one reward function;
* **the landmarks are far away.** They spawn at a distance in ``[ring_min, ring_max]`` from the
  origin (uniform direction) and the agents in ``[-agent_spawn, agent_spawn]^2``, so an agent
  moving at random almost never comes near one within an episode.

So under random actions every agent's transitions come from the same dynamics and the same
reward: the encoder sees one type and static SePS shares one policy (FuPS). Agents that learn
walk to the landmarks and sit there, the bonus appears in their experience only on their own
colour's landmark, and the types separate -- what adaptive SePS (:mod:`seps.adaptive`)
re-partitions on. A group that knows its colour walks to its own landmark and earns the bonus on
every step; one policy for all colours (FuPS) can only walk to the nearest and earns it on a third
of them (with three colours).

A first version paid a penalty near the wrong landmarks instead of a bonus near the own one: one
shared policy then learned to keep away from all landmarks, the colour signal vanished from the
experience as fast as it appeared, and no re-partition was ever confirmed (seeds 0-2).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from seps.envs.base import StepResult
from seps.envs.bps import AGENT_SPAWN, REWARD_SCALE, BlindParticleSpread, parse_type_counts
from seps.errors import ConfigError


class LateColourSpread(BlindParticleSpread):
    """BPS whose colour-dependent reward starts only near the landmarks (see the module docstring)."""

    def __init__(
        self,
        *,
        type_counts: Sequence[int],
        num_envs: int = 1,
        episode_limit: int = 50,
        radius: float = 0.5,
        bonus: float = 1.0,
        ring_min: float = 2.5,
        ring_max: float = 3.5,
        agent_spawn: float = 0.5,
        name: str | None = None,
    ) -> None:
        values = {"radius": radius, "bonus": bonus, "ring_min": ring_min, "agent_spawn": agent_spawn}
        for key, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"LateColourSpread: {key!r} must be a positive number, got {value!r}")
        if isinstance(ring_max, bool) or not isinstance(ring_max, (int, float)) or ring_max < ring_min:
            raise ConfigError(f"LateColourSpread: 'ring_max' must be a number >= ring_min={ring_min}, got {ring_max!r}")
        self.radius, self.bonus = float(radius), float(bonus)
        self.ring_min, self.ring_max, self.agent_spawn = float(ring_min), float(ring_max), float(agent_spawn)
        counts = tuple(type_counts)
        super().__init__(
            type_counts=counts,
            num_envs=num_envs,
            episode_limit=episode_limit,
            name=name or f"bps-late:{'-'.join(map(str, counts))}",
        )

    def step(self, actions: np.ndarray) -> StepResult:
        result = super().step(actions)
        # final_obs holds the positions the step ended at (obs may already be the next episode's start):
        # its features 4.. are landmark - agent for every colour, in colour order.
        relative = result.final_obs[:, :, 4:].reshape(self.num_envs, -1, self.n_colours, 2)
        distances = np.sqrt(np.einsum("enlk,enlk->enl", relative, relative))
        own = distances[:, self._agent_index, self.agent_types]
        rewards = (-REWARD_SCALE * distances.min(axis=-1) + self.bonus * (own <= self.radius)).astype(np.float32)
        return attrs.evolve(result, rewards=rewards)

    def _respawn(self) -> None:
        """BPS's draws (so the generator advances as there), then agents shrunk and landmarks put on the ring."""
        super()._respawn()
        self.agent_pos *= self.agent_spawn / AGENT_SPAWN
        # The uniform draw in the square gives the direction; the distance is drawn from the same generator.
        norms = np.linalg.norm(self.landmark_pos, axis=-1, keepdims=True)
        direction = self.landmark_pos / np.maximum(norms, 1e-6)
        distance = self.ring_min + (self.ring_max - self.ring_min) * self._rng.random(norms.shape, dtype=np.float32)
        self.landmark_pos[...] = direction * distance


def _late_factory(type_counts: tuple[int, ...], name: str) -> Callable[..., LateColourSpread]:
    def make(num_envs: int = 1, **kwargs: Any) -> LateColourSpread:
        if "type_counts" in kwargs:
            raise ConfigError(f"{name} fixes 'type_counts'; use the 'bps-late:...' family to choose it")
        kwargs.setdefault("name", name)
        return LateColourSpread(type_counts=type_counts, num_envs=num_envs, **kwargs)

    make.__doc__ = f"Build {name}: late-colour BPS with colours {'-'.join(map(str, type_counts))}."
    parameters = inspect.signature(LateColourSpread).parameters
    make.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [p for n, p in parameters.items() if n not in ("type_counts", "name")]
        + [inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=name)]
    )
    make.agent_count = lambda **options: sum(type_counts)  # type: ignore[attr-defined]
    return make


def bps_late_family(spec: str) -> Callable[..., LateColourSpread]:
    """``ENVS.get("bps-late:5-5-5")``: late-colour BPS for any type distribution."""
    return _late_factory(parse_type_counts(spec, "bps-late"), f"bps-late:{spec}")


bps_late_1 = _late_factory((5, 5, 5), "bps-late-1")
"""bps-late-1: 15 agents in colours 5-5-5 (registered lazily in :mod:`seps.envs.registrations`)."""

"""smacv2's published procedurally generated scenarios, as ``StarCraftCapabilityEnvWrapper`` arguments.

Copied from smacv2's ``smacv2/examples/configs/sc2_gen_{protoss,terran,zerg}.yaml`` (``env_args`` and
``capability_config``) and the scenario table of its README (``protoss_5_vs_5`` ... ``terran_20_vs_23``:
the yaml of the race with ``n_units`` / ``n_enemies`` set). The maps are ``10gen_<race>`` of
``smacv2/env/starcraft2/maps/smac_maps.py``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

UNITS = {
    # race: (unit_types, weights, exception_unit_types) from sc2_gen_<race>.yaml, team_gen
    "protoss": (["stalker", "zealot", "colossus"], [0.45, 0.45, 0.1], []),
    "terran": (["marine", "marauder", "medivac"], [0.45, 0.45, 0.1], ["medivac"]),
    "zerg": (["zergling", "baneling", "hydralisk"], [0.45, 0.1, 0.45], ["baneling"]),
}
SIZES = ((5, 5), (10, 10), (20, 20), (10, 11), (20, 23))
"""(allies, enemies) of the README's scenario table."""
ENV_ARGS: dict[str, Any] = {
    # sc2_gen_<race>.yaml env_args that differ from StarCraft2Env's defaults (continuing_episode is
    # set by the adapter, see seps.envs.smac).
    "use_unit_ranges": True,
    "obs_own_pos": True,
    "min_attack_range": 2,
    "action_mask": True,
    "prob_obs_enemy": 1.0,
}
_NAME = re.compile(r"^(protoss|terran|zerg)_(\d+)_vs_(\d+)$")


def scenario_names() -> list[str]:
    """Every published scenario name, e.g. ``protoss_5_vs_5``."""
    return [f"{race}_{a}_vs_{e}" for race in UNITS for a, e in SIZES]


def scenario(name: str) -> tuple[str, dict[str, Any]] | None:
    """(map name, wrapper kwargs with ``capability_config``) of a published scenario; None for a plain map."""
    match = _NAME.match(name)
    if match is None:
        return None
    race, n_units, n_enemies = match.group(1), int(match.group(2)), int(match.group(3))
    units, weights, exceptions = UNITS[race]
    team_gen: dict[str, Any] = {
        "dist_type": "weighted_teams",
        "unit_types": list(units),
        "weights": list(weights),
        "observe": True,
    }
    if exceptions:
        team_gen["exception_unit_types"] = list(exceptions)
    capability_config = {
        "n_units": n_units,
        "n_enemies": n_enemies,
        "team_gen": team_gen,
        "start_positions": {"dist_type": "surrounded_and_reflect", "p": 0.5, "map_x": 32, "map_y": 32},
    }
    return f"10gen_{race}", {**copy.deepcopy(ENV_ARGS), "capability_config": capability_config}

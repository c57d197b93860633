"""lbforaging's valid actions as a mask: shared by the Gymnasium adapter and the lbf tasks (no seps imports).

``lbforaging/foraging/environment.py``: ``ForagingEnv._valid_actions`` maps each player to the
``Action`` members it may take this step; ``Action`` numbers NONE, NORTH, SOUTH, WEST, EAST, LOAD 0-5.
"""

from __future__ import annotations

from typing import Any

import numpy as np

N_ACTIONS = 6
"""lbforaging's actions: none, north, south, west, east, load."""


def is_lbforaging(env: Any) -> bool:
    """True for a (wrapped) lbforaging env."""
    return type(env.unwrapped).__module__.startswith("lbforaging")


def lbf_action_mask(env: Any) -> np.ndarray:
    """bool (N, 6): lbforaging's currently valid actions of each agent."""
    foraging = env.unwrapped
    mask = np.zeros((len(foraging.players), N_ACTIONS), dtype=bool)
    for index, player in enumerate(foraging.players):
        mask[index, [action.value for action in foraging._valid_actions[player]]] = True
    return mask

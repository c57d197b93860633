"""Small settings and parameter-hash helpers shared by the training tests."""

import hashlib
from pathlib import Path

from seps.checkpoint import latest_checkpoint, load_checkpoint

SMALL = {"env": "bps:2-2", "num_envs": 4, "eval_episodes": 4, "hidden_sizes": (16, 16)}
"""A 4-agent, 2-colour BPS task with small networks: runs of a few hundred steps take a second."""


def param_hash(state: dict) -> str:
    """sha256 over a state dict's tensors, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().cpu().numpy().tobytes())
    return digest.hexdigest()


def final_policy(run_dir: Path) -> dict:
    """The policy state dict of a run's last checkpoint."""
    return load_checkpoint(latest_checkpoint(run_dir))["policy"]

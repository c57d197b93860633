"""Parameter hashes after a short fixed-seed training of a2c/ppo x nops/fups/fups_id/seps on bps-1.

``python -m tests.param_hashes --write`` records them in ``tests/data/param_hashes.json``; the
test in ``tests/test_param_hashes.py`` reruns every case and requires the same hashes, so a
refactor that changes any number (weights, optimiser state, evaluations, partition) fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import torch

from seps import build
from seps.checkpoint import latest_checkpoint, load_checkpoint
from seps.collect import CollectConfig

DATA = Path(__file__).parent / "data" / "param_hashes.json"
RECORDED_PATH = DATA
METHODS = ("nops", "fups", "fups_id", "seps")
LEARNERS = ("a2c", "ppo")
SETTINGS: dict[str, Any] = {
    "env": "bps-1",
    "seed": 3,
    "total_steps": 320,
    "num_envs": 4,
    "eval_interval": 160,
    "eval_episodes": 2,
    "checkpoint_interval": 160,
    "hidden_sizes": (16, 16),
}
SEPS_SETTINGS: dict[str, Any] = {"collect": CollectConfig(steps=25, num_envs=8), "encoder_options": {"updates": 200}}
LEARNER_OPTIONS = {"a2c": {}, "ppo": {"rollout_steps": 20, "n_epochs": 2, "n_minibatches": 2}}


def _digest(value: Any, digest: Any) -> None:
    if isinstance(value, torch.Tensor):
        digest.update(str(value.dtype).encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    elif isinstance(value, dict):
        for key in sorted(value, key=str):
            digest.update(str(key).encode())
            _digest(value[key], digest)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _digest(item, digest)
    else:
        digest.update(repr(value).encode())


def state_hash(value: Any) -> str:
    digest = hashlib.sha256()
    _digest(value, digest)
    return digest.hexdigest()


def run_case(method: str, learner: str, root: Path, *, plain: bool = False, **options: Any) -> dict[str, Any]:
    """Train one case; the hashes of its final policy and optimiser, its evaluations and labels.

    ``options`` are further ``build()`` keywords; ``plain`` drops the seps pre-training settings.
    """
    extra = SEPS_SETTINGS if method == "seps" and not plain else {}
    result = build(
        method,
        learner=learner,
        learner_options=LEARNER_OPTIONS[learner],
        run_root=str(root),
        **SETTINGS,
        **extra,
        **options,
    ).run()
    state = load_checkpoint(latest_checkpoint(result.run_dir))
    return {
        "policy": state_hash(state["policy"]),
        "optimizer": state_hash(state["optimizer"]),
        "evaluations": [list(row) for row in result.evaluations],
        "labels": result.partition.labels.tolist(),
    }


def all_cases(root: Path) -> dict[str, dict[str, Any]]:
    return {f"{learner}-{method}": run_case(method, learner, root) for learner in LEARNERS for method in METHODS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {DATA}")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        hashes = all_cases(Path(root))
    text = json.dumps(hashes, indent=1, sort_keys=True)
    if args.write:
        DATA.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

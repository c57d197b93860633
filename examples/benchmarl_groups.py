"""Train BenchMARL's MAPPO with the agent groups seps found: partition, export, hand over.

    python examples/benchmarl_groups.py                      # seps partition on vmas:simple_tag, then MAPPO
    python examples/benchmarl_groups.py --group-map gm.json  # a map from `seps partition --export benchmarl`

1. seps partitions the agents of VMAS ``simple_tag`` (three adversaries, one good agent) from
   random-action transitions: no RL, no agent names or types used.
2. :func:`seps.export.benchmarl_group_map` turns the partition into a BenchMARL / TorchRL
   ``group_map`` with VMAS's own agent names.
3. The map goes into the task config. BenchMARL passes the config to TorchRL's
   ``VmasEnv(..., group_map=...)`` (``benchmarl/environments/vmas/common.py``
   ``VmasClass.get_env_fun``) and builds one actor and one critic per group; with
   ``share_policy_params`` the agents of a group share one parameter set: that is SePS's
   partition, trained by BenchMARL.

Needs the ``interop`` extra (``pip install seps[interop]``: benchmarl, torchrl, vmas). Runs a few
iterations only (``--iters``); the point is the wiring, not the returns.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

SCENARIO = "simple_tag"


def missing_interop() -> str | None:
    """Why the example cannot run here (a missing package), or None."""
    for module in ("benchmarl", "torchrl", "vmas"):
        try:
            __import__(module)
        except ImportError as error:
            return f"{module} is not importable ({error}); install the extra: pip install 'seps[interop]'"
    return None


def seps_group_map(seed: int, encoder_updates: int | None = None) -> dict[str, list[str]]:
    """Partition the scenario's agents with seps and export the groups as a BenchMARL group_map."""
    from seps.export import benchmarl_group_map
    from seps.pipeline import partition_agents

    options = {} if encoder_updates is None else {"updates": encoder_updates}
    result = partition_agents(f"vmas:{SCENARIO}", seed=seed, encoder_options=options)
    return benchmarl_group_map(result.partition, result.agent_names)


def build_experiment(
    group_map: dict[str, list[str]], *, iters: int, seed: int, folder: str, frames_per_batch: int = 400
) -> Any:
    """A BenchMARL MAPPO experiment on VMAS ``simple_tag`` whose agent groups are ``group_map``."""
    from benchmarl.algorithms import MappoConfig
    from benchmarl.environments import VmasTask
    from benchmarl.experiment import Experiment, ExperimentConfig
    from benchmarl.models.mlp import MlpConfig

    task = VmasTask.SIMPLE_TAG.get_from_yaml()
    task.config["group_map"] = group_map  # goes to torchrl's VmasEnv(group_map=...)
    config = ExperimentConfig.get_from_yaml()
    config.share_policy_params = True  # one parameter set per group
    config.prefer_continuous_actions = False
    config.max_n_iters = iters
    config.max_n_frames = None
    config.on_policy_collected_frames_per_batch = frames_per_batch
    config.on_policy_n_envs_per_worker = 4
    config.on_policy_n_minibatch_iters = 2
    config.on_policy_minibatch_size = frames_per_batch // 2
    config.evaluation = False
    config.render = False
    config.loggers = []
    config.create_json = False
    config.checkpoint_at_end = False
    config.save_folder = folder
    return Experiment(
        task=task,
        algorithm_config=MappoConfig.get_from_yaml(),
        model_config=MlpConfig.get_from_yaml(),
        critic_model_config=MlpConfig.get_from_yaml(),
        seed=seed,
        config=config,
    )


def group_structure(experiment: Any) -> dict[str, dict[str, Any]]:
    """Per group of the built experiment: its agents, and the actor's agent count and parameter sharing."""
    structure = {}
    for group, agents in experiment.group_map.items():
        actor = experiment.losses[group].actor_network
        models = [m for m in actor.modules() if hasattr(m, "n_agents") and hasattr(m, "share_params")]
        structure[group] = {
            "agents": list(agents),
            "actor_n_agents": [int(m.n_agents) for m in models],
            "actor_share_params": [bool(m.share_params) for m in models],
            "actor_in_keys": [key for key in actor.in_keys if isinstance(key, tuple)],
        }
    return structure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group-map", type=Path, default=None, help="a `seps partition --export benchmarl` file")
    parser.add_argument("--iters", type=int, default=3, help="BenchMARL iterations (400 frames each)")
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args(argv)
    reason = missing_interop()
    if reason is not None:
        print(f"skipped: {reason}")
        return 0
    group_map = json.loads(args.group_map.read_text()) if args.group_map else seps_group_map(args.seed)
    print("group_map from seps:", json.dumps(group_map))
    with tempfile.TemporaryDirectory() as folder:
        experiment = build_experiment(group_map, iters=args.iters, seed=args.seed, folder=folder)
        for group, info in group_structure(experiment).items():
            print(f"BenchMARL group {group}: agents {info['agents']}, actor over {info['actor_n_agents']} agents")
        experiment.run()
        print(f"ran {experiment.n_iters_performed} iterations, {experiment.total_frames} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time per training timestep of MAPPO against PPO (and MAA2C against A2C) at N agents, in one run.

    python benchmarks/bench_critics.py                      # bps-h-3 (N = 200), the docs/performance.md row
    python benchmarks/bench_critics.py --env bps:100-100 --learners a2c maa2c --repeats 5

A training timestep is one batched step of E env copies, the actor forward that chose the actions
(plus, for PPO and MAPPO, the critic forward whose values the rollout keeps) and 1/n_steps of the
learner's update, measured on the real :class:`~seps.trainer.Trainer` with one torch thread. The
partition is the env's true types (SePS with its partition known: pre-training is not timed). Each
repeat times one full rollout + update of every learner back to back, so load from other processes
hits them alike; a learner's figure is the median over repeats, and the ratio is the median of the
per-repeat ratios to the first learner.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402  (thread limits must be set before numpy and torch load)
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's seps, not an installed one

from seps import build  # noqa: E402
from seps.methods import SharingPlan  # noqa: E402
from seps.pipeline import make_env  # noqa: E402
from seps.records import Partition  # noqa: E402
from seps.trainer import LoopSettings, Trainer  # noqa: E402


def make_trainer(learner: str, env_name: str, num_envs: int, run_dir: Path) -> Trainer:
    """A trainer of ``learner`` on ``env_name`` with the true types as the partition."""
    experiment = build("seps", env=env_name, learner=learner, num_envs=num_envs, device="cpu", seed=0)
    env = make_env(env_name, num_envs=num_envs)
    plan = SharingPlan(partition=Partition(labels=env.agent_types, method="true_types"))
    policy, prepare = experiment.build_policy(plan, env)
    settings = LoopSettings(
        total_steps=2**62, eval_interval=2**62, eval_episodes=1, eval_greedy=True, checkpoint_interval=2**62, seed=0
    )
    trainer = Trainer(
        env=env,
        eval_env=env,
        policy=policy,
        learner=experiment.learner,
        prepare=prepare,
        settings=settings,
        run_dir=run_dir,
        device=torch.device("cpu"),
    )
    trainer.current = env.reset(0)
    return trainer


def cycle(trainer: Trainer) -> float:
    """Seconds per env timestep of one rollout + update."""
    assert trainer.current is not None
    start = time.perf_counter()
    trainer._rollout()
    trainer.learner.update(
        trainer.policy, trainer.optimizer, trainer.storage, trainer._value(trainer.current), trainer.generator
    )
    return (time.perf_counter() - start) / trainer.learner.n_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="bps-h-3")
    parser.add_argument("--learners", nargs="+", default=["ppo", "mappo"])
    parser.add_argument("--envs", type=int, default=8, help="env copies (the paper's 8)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as root:
        trainers = {name: make_trainer(name, args.env, args.envs, Path(root)) for name in args.learners}
        for trainer in trainers.values():
            cycle(trainer)  # warm-up
        times: dict[str, list[float]] = {name: [] for name in trainers}
        for _ in range(args.repeats):
            for name, trainer in trainers.items():
                times[name].append(cycle(trainer))
    base = args.learners[0]
    n_agents = trainers[base].env.n_agents
    result = {
        "env": args.env,
        "n_agents": n_agents,
        "num_envs": args.envs,
        "repeats": args.repeats,
        "ms_per_timestep": {name: 1e3 * statistics.median(values) for name, values in times.items()},
        f"ratio_to_{base}": {
            name: statistics.median(v / b for v, b in zip(values, times[base], strict=True))
            for name, values in times.items()
        },
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

"""``build()``: the user's entry point. An experiment runs collect -> encode -> cluster -> build -> learn.

>>> from seps import build
>>> result = build("seps", encoder="vae", cluster="kmeans_db").run()   # default env: bps-1
>>> result.partition.groups(), result.max_eval_return
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch

from seps.checkpoint import latest_checkpoint, load_checkpoint
from seps.collect import CollectConfig
from seps.components import load_builtins
from seps.config import ExperimentConfig, to_plain
from seps.device import resolve_device
from seps.errors import CheckpointError, ConfigError
from seps.evaluation import evaluate
from seps.methods import SharingPlan
from seps.nn.actor_critic import ActorCriticConfig, GroupedActorCritic
from seps.pipeline import make_env, save_partition, type_agreement
from seps.progress import StageCallback
from seps.records import Partition
from seps.registry import ENCODERS, LEARNERS, METHODS, PARTITIONERS, resolve
from seps.run_log import RunLog
from seps.threads import pinned_threads
from seps.trainer import LoopSettings, ObservationAdapter, Progress, Trainer

logger = logging.getLogger(__name__)

COMPONENT_REGISTRIES = {"encoder": ENCODERS, "cluster": PARTITIONERS, "learner": LEARNERS}


@attrs.frozen(kw_only=True)
class RunResult:
    """What a finished run returns."""

    partition: Partition
    run_dir: Path
    evaluations: tuple[tuple[int, float, float], ...]
    """(env steps, mean, std) of every evaluation: the learning curve."""
    env_steps: int
    ari: float | None = None
    """Adjusted Rand index of the partition against the env's true agent types; None when it has none."""

    @property
    def max_eval_return(self) -> float:
        """The paper's Table 2 metric: the best mean evaluation return of the run."""
        return max(mean for _, mean, _ in self.evaluations)

    @property
    def final_eval_return(self) -> float:
        return self.evaluations[-1][1]


def build(
    method: str = "seps",
    *,
    env: str = "bps-1",
    encoder: Any = None,
    cluster: Any = None,
    learner: Any = "a2c",
    seed: int = 0,
    **overrides: Any,
) -> Experiment:
    """Configure an experiment; nothing runs until :meth:`Experiment.run`.

    ``encoder`` and ``cluster`` apply to ``seps`` only (default ``vae`` and ``kmeans_db``);
    giving them with a fixed sharing mode is an error, so an ablation never silently ignores
    a component. Other keywords are :class:`ExperimentConfig` fields.
    """
    load_builtins()
    valid = [field.name for field in attrs.fields(ExperimentConfig)]
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ConfigError(f"build() got an unknown option {unknown[0]!r}; valid options: {', '.join(valid)}")
    try:
        config = ExperimentConfig(
            method=method, env=env, encoder=encoder, cluster=cluster, learner=learner, seed=seed, **overrides
        )
    except (TypeError, ValueError) as error:
        raise ConfigError(f"build(): {error}") from None
    return Experiment(config)


class Experiment:
    """A configured run; components are built and validated on construction, before any work."""

    def __init__(self, config: ExperimentConfig, run_dir: Path | None = None) -> None:
        self.config = config
        self.method = resolve(METHODS, config.method)
        if self.method.uses_partitioner:
            self.encoder = resolve(ENCODERS, config.encoder or "vae", **config.encoder_options)
            self.cluster = resolve(PARTITIONERS, config.cluster or "kmeans_db", **config.cluster_options)
        elif (
            config.encoder is not None or config.cluster is not None or config.encoder_options or config.cluster_options
        ):
            raise ConfigError(
                f"method {config.method!r} does not partition agents, so an encoder or partitioner has no effect; "
                "drop encoder/cluster or use method 'seps'"
            )
        self.learner = resolve(LEARNERS, config.learner, **config.learner_options)
        self.device = resolve_device(config.device)
        self.env = make_env(config.env, num_envs=config.num_envs, **config.env_options)
        self.run_dir = run_dir

    def run(self, progress: Callable[[Progress], None] | None = None, stages: StageCallback | None = None) -> RunResult:
        """Collect -> encode -> cluster (seps only) -> build the grouped policy -> learn.

        Everything runs with ``config.torch_threads`` torch and BLAS threads. ``progress`` sees the
        trainer after every update, ``stages`` the pre-training stages as they advance.
        """
        with pinned_threads(self.config.torch_threads):
            return self._run(progress, stages)

    def _run(self, progress: Callable[[Progress], None] | None, stages: StageCallback | None) -> RunResult:
        config = self.config
        resuming = self.run_dir is not None and (self.run_dir / "checkpoints").exists()
        run_dir = self.run_dir or self._new_run_dir()
        plan = self._load_plan(run_dir) if resuming else self._make_plan(run_dir, stages)
        policy, prepare = self.build_policy(plan)
        eval_env = make_env(config.env, num_envs=config.eval_episodes, **config.env_options)
        settings = LoopSettings(
            total_steps=config.total_steps,
            eval_interval=config.eval_interval,
            eval_episodes=config.eval_episodes,
            eval_greedy=config.eval_greedy,
            checkpoint_interval=config.checkpoint_interval,
            seed=config.seed,
        )
        trainer = Trainer(
            env=self.env,
            eval_env=eval_env,
            policy=policy,
            learner=self.learner,
            prepare=prepare,
            settings=settings,
            run_dir=run_dir,
            device=self.device,
        )
        log = RunLog(run_dir)
        try:
            if resuming:
                trainer.load_state_dict(load_checkpoint(latest_checkpoint(run_dir)))
                log.truncate_after(trainer.env_steps)
                logger.info("resuming %s from env step %d", run_dir, trainer.env_steps)
            trainer.train(log, progress)
        finally:
            log.close()
            self.env.close()
            eval_env.close()
        return RunResult(
            partition=plan.partition,
            run_dir=run_dir,
            evaluations=tuple(trainer.evaluations),
            env_steps=trainer.env_steps,
            ari=type_agreement(self.env.agent_types, plan.partition.labels),
        )

    def build_policy(self, plan: SharingPlan) -> tuple[GroupedActorCritic, ObservationAdapter]:
        """Stage 4: the grouped actor-critic for ``plan`` (seeded), and its observation adapter."""
        torch.manual_seed(self.config.seed)
        env = self.env
        prepare = ObservationAdapter(env.n_agents, plan.append_agent_ids, self.device)
        hidden = self.config.hidden_sizes
        policy = GroupedActorCritic(
            n_agents=env.n_agents,
            assignment=plan.partition.labels,
            obs_dim=env.max_obs_dim + prepare.extra_features(env.n_agents),
            n_actions=env.max_n_actions,
            action_mask=env.static_action_mask(),
            config=ActorCriticConfig(actor_hidden=hidden, critic_hidden=hidden),
        ).to(self.device)
        return policy, prepare

    def evaluate(self, episodes: int | None = None, greedy: bool | None = None) -> np.ndarray:
        """Evaluate the last checkpoint of this experiment's run directory; returns each episode's return."""
        if self.run_dir is None:
            raise CheckpointError("this experiment has no run directory yet; run() it or use seps.resume(run_dir)")
        config = self.config
        episodes = episodes or config.eval_episodes
        policy, prepare = self.build_policy(self._load_plan(self.run_dir))
        policy.load_state_dict(load_checkpoint(latest_checkpoint(self.run_dir))["policy"])
        eval_env = make_env(config.env, num_envs=episodes, **config.env_options)
        try:
            return evaluate(
                policy,
                eval_env,
                prepare,
                episodes=episodes,
                greedy=config.eval_greedy if greedy is None else greedy,
                seed=config.seed + 2**31,
            )
        finally:
            eval_env.close()

    def _new_run_dir(self) -> Path:
        config = self.config
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = Path(config.run_root) / f"{config.method}-{config.env}-{config.seed}-{stamp}".replace(":", "_")
        run_dir, suffix = base, 1
        while run_dir.exists():
            run_dir, suffix = base.with_name(f"{base.name}-{suffix}"), suffix + 1
        run_dir.mkdir(parents=True)
        (run_dir / "config.json").write_text(json.dumps(to_plain(config, COMPONENT_REGISTRIES), indent=2))
        return run_dir

    def _make_plan(self, run_dir: Path, stages: StageCallback | None = None) -> SharingPlan:
        config = self.config
        if self.method.uses_partitioner:
            plan: SharingPlan = self.method.plan(
                config.env,
                self.env.n_agents,
                seed=config.seed,
                encoder=self.encoder,
                cluster=self.cluster,
                collect_config=config.collect,
                env_options=config.env_options,
                threads=config.torch_threads,
                progress=stages,
            )
        else:
            plan = self.method.plan(config.env, self.env.n_agents, seed=config.seed)
        pretraining = plan.pretraining
        save_partition(
            run_dir,
            plan.partition,
            self.env.agent_types,
            None if pretraining is None else pretraining.embeddings,
            append_agent_ids=plan.append_agent_ids,
            **({} if pretraining is None else {"seconds": pretraining.seconds}),
        )
        return plan

    @staticmethod
    def _load_plan(run_dir: Path) -> SharingPlan:
        summary = json.loads((run_dir / "partition.json").read_text())
        partition = Partition.from_json(json.dumps(summary))
        return SharingPlan(partition=partition, append_agent_ids=bool(summary["append_agent_ids"]))


def resume(run_dir: str | Path, total_steps: int | None = None) -> Experiment:
    """An experiment that continues ``run_dir`` from its last checkpoint (optionally to a new step budget)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file() or not (run_dir / "partition.json").is_file():
        raise CheckpointError(f"{run_dir} is not a seps run directory (no config.json / partition.json)")
    latest_checkpoint(run_dir)  # fail before building anything when there is no checkpoint
    load_builtins()
    plain = json.loads((run_dir / "config.json").read_text())
    for field in COMPONENT_REGISTRIES:
        spec = plain[field]
        if isinstance(spec, dict):
            plain[field] = spec["class"]
            plain[f"{field}_options"] = {**spec["options"], **plain[f"{field}_options"]}
    plain["collect"] = CollectConfig(**plain["collect"])
    if total_steps is not None:
        plain["total_steps"] = total_steps
    return Experiment(ExperimentConfig(**plain), run_dir=run_dir)

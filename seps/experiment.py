"""``build()``: the user's entry point. An experiment runs collect -> encode -> cluster -> build -> learn.

>>> from seps import build
>>> result = build("seps", encoder="vae", partitioner="kmeans_db").run()   # default env: bps-1
>>> result.partition.groups(), result.max_eval_return
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch

from seps.adaptive import RepartitionConfig, Repartitioner, repartition_config
from seps.builtin_components import load_builtins
from seps.callbacks import TrainerCallback
from seps.checkpoint import load_latest
from seps.checkpoint_timer import TimedCheckpoints
from seps.collect import check_collect_memory
from seps.config import ExperimentConfig, make_config
from seps.deprecation import PARTITIONER_RENAMES, deprecated_name, renamed_keywords
from seps.device import resolve_device
from seps.divergence import DivergenceGuard
from seps.envs.base import MultiAgentEnv
from seps.errors import CheckpointError, ConfigError, TrainingDiverged
from seps.evaluation import evaluate
from seps.methods import DEFAULT_ENCODER, DEFAULT_PARTITIONER, SharingPlan, resolve_grouping
from seps.nn.actor_critic import ActorCriticConfig, GroupedActorCritic
from seps.nn.gaussian import GroupedGaussianActorCritic
from seps.pipeline import check_env, env_agent_count, make_env, partition_agents, type_agreement
from seps.progress import StageCallback
from seps.records import Partition, RunSummary
from seps.registry import ENCODERS, LEARNERS, PARTITIONERS, resolve
from seps.run_dir import CONFIG, RunDir
from seps.run_log import RunLog
from seps.threads import pinned_threads
from seps.trainer import LoopSettings, ObservationAdapter, Progress, Trainer

logger = logging.getLogger(__name__)

COMPONENT_REGISTRIES = {"encoder": ENCODERS, "partitioner": PARTITIONERS, "learner": LEARNERS}


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
    win_rates: tuple[tuple[int, float], ...] = ()
    """(env steps, evaluation win rate) of every evaluation, for envs that report wins (SMAC); else empty."""

    @property
    def max_eval_return(self) -> float:
        """The paper's Table 2 metric: the best mean evaluation return of the run."""
        return max(mean for _, mean, _ in self.evaluations)

    @property
    def final_eval_return(self) -> float:
        return self.evaluations[-1][1]

    def summary(self, seconds: float | None = None) -> RunSummary:
        """The run's :class:`~seps.records.RunSummary`: its ``summary.json`` and a sweep cell's ``done.json``."""
        return RunSummary.of_training(
            k=self.partition.k,
            ari=self.ari,
            env_steps=self.env_steps,
            evaluations=self.evaluations,
            seconds=seconds,
            win_rates=self.win_rates,
        )


@renamed_keywords(PARTITIONER_RENAMES)
def build(
    method: str = "seps",
    *,
    env: str = "bps-1",
    encoder: Any = None,
    partitioner: Any = None,
    learner: Any = "a2c",
    seed: int = 0,
    **overrides: Any,
) -> Experiment:
    """Configure an experiment; nothing runs until :meth:`Experiment.run`.

    ``encoder`` and ``partitioner`` apply to ``seps`` only (default ``vae`` and ``kmeans_db``);
    giving them with a fixed sharing mode is an error, so an ablation never silently ignores
    a component. Other keywords are :class:`ExperimentConfig` fields. The old names ``cluster``
    and ``cluster_options`` still work, with a DeprecationWarning.
    """
    load_builtins()
    config = make_config(
        "build()",
        method=method,
        env=env,
        encoder=encoder,
        partitioner=partitioner,
        learner=learner,
        seed=seed,
        **overrides,
    )
    return Experiment(config)


class Experiment:
    """A configured run. The constructor only validates (it builds no env); :meth:`run` builds and runs."""

    def __init__(self, config: ExperimentConfig, run_dir: Path | RunDir | None = None) -> None:
        self.config = config
        self.grouping = resolve_grouping(
            config.method,
            encoder=config.encoder,
            partitioner=config.partitioner,
            encoder_options=config.encoder_options,
            partitioner_options=config.partitioner_options,
            append_agent_ids=config.append_agent_ids,
        )
        self.learner = resolve(LEARNERS, config.learner, **config.learner_options)
        self.repartition = self._repartition_config(config)
        self.device = resolve_device(config.device)
        check_env(config.env, config.num_envs, **config.env_options)
        check_agents = getattr(self.grouping.partitioner, "check_agents", None)
        n_agents = env_agent_count(config.env, **config.env_options)
        if callable(check_agents) and n_agents is not None:  # K against N, when the env can tell without a build
            check_agents(n_agents)
        self.run_dir = None if run_dir is None else Path(run_dir)

    def _repartition_config(self, config: ExperimentConfig) -> RepartitionConfig | None:
        if config.repartition_every is None:
            if config.initial_partition != "random" or config.repartition_options:
                raise ConfigError("initial_partition and repartition_options need repartition_every (adaptive SePS)")
            return None
        if self.grouping.encoder is None:
            raise ConfigError(
                f"repartition_every needs a partition learned from data (method 'seps' with a partitioner that "
                f"fits embeddings); method {config.method!r} with this partitioner has a fixed partition"
            )
        return repartition_config(config.repartition_every, config.repartition_options)

    @property
    def encoder(self) -> Any:
        """The encoder of the partition pipeline; None when the partition needs no embeddings."""
        return self.grouping.encoder

    @property
    def partitioner(self) -> Any:
        """The partitioner that groups the agents (``fixed`` for nops, fups and fups_id)."""
        return self.grouping.partitioner

    @property
    def cluster(self) -> Any:
        """Deprecated name of :attr:`partitioner`."""
        deprecated_name("cluster", "partitioner", "Experiment")
        return self.grouping.partitioner

    def run(
        self,
        progress: Callable[[Progress], None] | None = None,
        stages: StageCallback | None = None,
        callbacks: Sequence[TrainerCallback] = (),
    ) -> RunResult:
        """Build the envs, then collect -> encode -> cluster (when the partition needs data) -> build -> learn.

        Everything runs with ``config.torch_threads`` torch and BLAS threads. ``progress`` sees the
        trainer after every update, ``stages`` the pre-training stages as they advance and
        ``callbacks`` (:class:`~seps.callbacks.TrainerCallback`) the trainer at every rollout,
        update and evaluation.
        """
        with pinned_threads(self.config.torch_threads):
            return self._run(progress, stages, callbacks)

    def _run(
        self,
        progress: Callable[[Progress], None] | None,
        stages: StageCallback | None,
        callbacks: Sequence[TrainerCallback],
    ) -> RunResult:
        config = self.config
        start = time.perf_counter()
        existing = RunDir(self.run_dir) if self.run_dir is not None else None
        checkpoint = load_latest(existing.path) if existing is not None and existing.has_checkpoint() else None
        self._initial_weights: dict[str, Any] | None = None
        env = make_env(config.env, num_envs=config.num_envs, **config.env_options)
        eval_env: MultiAgentEnv | None = None
        log: RunLog | None = None
        try:
            run_dir = existing
            if run_dir is None or not run_dir.has_partition():
                self.check_env_fits(env)  # before a run directory exists and before any stage runs
            if run_dir is None:
                run_dir = RunDir.for_config(config)
            if not (run_dir.path / CONFIG).is_file():
                run_dir.write_config(self.resolved_config())
            self.run_dir = run_dir.path
            if run_dir.has_partition():  # a resume: from its checkpoint's partition, else the first one
                plan = self._load_plan(run_dir, None if checkpoint is None else checkpoint[1])
                run_dir.truncate_partitions(0 if checkpoint is None else int(checkpoint[1]["env_steps"]))
            else:
                plan = self._make_plan(env, run_dir, stages)
            policy, prepare = self.build_policy(plan, env)
            repartitioner: Repartitioner | None = None
            if self.repartition is not None:
                repartitioner = Repartitioner(
                    self.repartition,
                    encoder=self.grouping.encoder,
                    partitioner=self.grouping.partitioner,
                    partition=plan.partition,
                    agent_types=env.agent_types,
                    seed=config.seed,
                    warm_start=self._initial_weights,
                )
                callbacks = [repartitioner, *callbacks]
            eval_env = make_env(config.env, num_envs=config.eval_episodes, **config.env_options)
            trainer = Trainer(
                env=env,
                eval_env=eval_env,
                policy=policy,
                learner=self.learner,
                prepare=prepare,
                settings=LoopSettings(
                    total_steps=config.total_steps,
                    eval_interval=config.eval_interval,
                    eval_episodes=config.eval_episodes,
                    eval_greedy=config.eval_greedy,
                    checkpoint_interval=config.checkpoint_interval,
                    seed=config.seed,
                    log_interval=config.log_interval,
                ),
                run_dir=run_dir.path,
                device=self.device,
            )
            log = RunLog(run_dir.path)
            if checkpoint is not None:
                trainer.load_state_dict(checkpoint[1])
                trainer.last_checkpoint = checkpoint[0]
                logger.info("resuming %s from env step %d", run_dir.path, trainer.env_steps)
            # Rows a killed attempt logged after its checkpoint (all of them without one) are logged again.
            log.truncate_after(trainer.env_steps if checkpoint is not None else -1)
            guards = [TimedCheckpoints(config.checkpoint_seconds), DivergenceGuard()]
            try:
                trainer.train(log, progress, [*guards, *callbacks])
            except RuntimeError as error:  # finite but overflowing parameters: inf logits at the next sampling
                if "probability tensor contains" not in str(error):
                    raise
                kept = trainer.last_checkpoint.name if trainer.last_checkpoint else "none"
                raise TrainingDiverged(
                    f"training diverged at env step {trainer.env_steps:,}: the policy's action probabilities are "
                    f"not finite; the learning rate is likely too high; last good checkpoint: {kept}; "
                    "lower learner.lr and start a new run"
                ) from None
        finally:
            if log is not None:
                log.close()
            env.close()
            if eval_env is not None:
                eval_env.close()
        final = plan.partition if repartitioner is None else repartitioner.partition
        result = RunResult(
            partition=final,
            run_dir=run_dir.path,
            evaluations=tuple(trainer.evaluations),
            env_steps=trainer.env_steps,
            ari=type_agreement(env.agent_types, final.labels),
            win_rates=tuple(trainer.win_rates),
        )
        run_dir.write_summary(result.summary(seconds=time.perf_counter() - start))
        return result

    def check_env_fits(self, env: MultiAgentEnv) -> None:
        """What needs the built env but no work: the partitioner's K against N, the collection's memory."""
        check_agents = getattr(self.grouping.partitioner, "check_agents", None)
        if callable(check_agents):
            check_agents(env.n_identities)  # the agents, or the types of an env with per-episode types
        if self.repartition is not None and env.n_episode_types is not None:
            raise ConfigError(f"repartition_every cannot regroup {env.name}'s per-episode types yet; drop it")
        if self.grouping.encoder is not None:
            check_collect_memory(self.config.collect, env.n_agents, env.max_obs_dim)

    def resolved_config(self) -> ExperimentConfig:
        """The config with every component by name (or path) and all its options: ``config.json`` rebuilds it alone.

        ``seps`` runs record the encoder and partitioner they use (``vae`` / ``kmeans_db`` when none
        was given); modes that fix their partition keep ``encoder`` and ``partitioner`` empty.
        """
        config, grouping = self.config, self.grouping
        changes: dict[str, Any] = {}
        slots = [("learner", config.learner, "a2c", self.learner)]
        if not grouping.fixed_by_mode:
            slots.append(("partitioner", config.partitioner, DEFAULT_PARTITIONER, grouping.partitioner))
            if grouping.encoder is not None:
                slots.append(("encoder", config.encoder, DEFAULT_ENCODER, grouping.encoder))
        for field, spec, default, built in slots:
            name = default if spec is None else spec
            if not isinstance(name, (str, type)):
                continue  # an instance: to_plain records its class and options
            changes[field] = name
            options = init_options(built)
            if options is not None:
                changes[f"{field}_options"] = options
        return attrs.evolve(config, **changes)

    def build_policy(self, plan: SharingPlan, env: MultiAgentEnv) -> tuple[GroupedActorCritic, ObservationAdapter]:
        """Stage 4: the learner's ``policy_class`` for ``plan`` on ``env`` (seeded), and its observation adapter."""
        torch.manual_seed(self.config.seed)
        prepare = ObservationAdapter(env.n_identities, plan.append_agent_ids, self.device)
        hidden = self.config.hidden_sizes
        config = ActorCriticConfig(actor_hidden=hidden, critic_hidden=hidden)
        obs_dim = env.max_obs_dim + prepare.extra_features(env.n_identities)
        # Per-episode types (seps.envs.base): the partition maps types to groups.
        typed = {} if env.n_episode_types is None else {"n_types": env.n_episode_types}
        policy: GroupedActorCritic
        if env.continuous_actions:  # Box actions: a diagonal Gaussian per agent, log-std per group
            if typed:
                raise ConfigError(f"{env.name}: per-episode types with Box actions are not supported yet")
            if self.learner.policy_class is not GroupedActorCritic:
                raise ConfigError(
                    f"learner {self.config.learner!r} has no policy for continuous (Box) actions yet; "
                    "use a2c or ppo, or the env's discrete actions"
                )
            low, high = env.action_bounds()
            policy = GroupedGaussianActorCritic(
                env.n_agents, plan.partition.labels, obs_dim, env.n_actions, low=low, high=high, config=config
            )
        else:
            policy = self.learner.policy_class(
                n_agents=env.n_agents,
                assignment=plan.partition.labels,
                obs_dim=obs_dim,
                n_actions=env.max_n_actions,
                action_mask=env.static_action_mask(),
                config=config,
                state_dim=env.state_dim,
                **typed,
            )
        return policy.to(self.device), prepare

    def evaluate(self, episodes: int | None = None, greedy: bool | None = None) -> np.ndarray:
        """Evaluate the last checkpoint of this experiment's run directory; returns each episode's return."""
        if self.run_dir is None:
            raise CheckpointError("this experiment has no run directory yet; run() it or use seps.resume(run_dir)")
        config = self.config
        run_dir = RunDir(self.run_dir)
        episodes = episodes or config.eval_episodes
        eval_env = make_env(config.env, num_envs=episodes, **config.env_options)
        try:
            checkpoint = run_dir.load_latest()
            policy, prepare = self.build_policy(self._load_plan(run_dir, checkpoint), eval_env)
            policy.load_state_dict(checkpoint["policy"])
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

    def _make_plan(self, env: MultiAgentEnv, run_dir: RunDir, stages: StageCallback | None = None) -> SharingPlan:
        """Stages 1-3: the partition, from data when the partitioner needs it; written to ``partition.json``."""
        config, grouping = self.config, self.grouping
        partition = grouping.fixed_partition(env.n_identities, config.seed)
        if partition is None and config.initial_partition == "fups":  # adaptive SePS from K = 1, no random actions
            partition = Partition(labels=np.zeros(env.n_identities, dtype=np.int64), method="fups")
        pretraining = None
        if partition is None:
            pretraining = partition_agents(
                config.env,
                grouping.encoder,
                grouping.partitioner,
                seed=config.seed,
                collect_config=config.collect,
                env_options=config.env_options,
                threads=config.torch_threads,
                progress=stages,
            )
            partition = pretraining.partition
            self._initial_weights = pretraining.embeddings.weights
        # The plan keeps no pre-training result: the transitions buffer is not held through training.
        plan = SharingPlan(partition=partition, append_agent_ids=grouping.append_agent_ids)
        run_dir.write_partition(
            plan.partition,
            env.agent_types,
            None if pretraining is None else pretraining.embeddings,
            append_agent_ids=plan.append_agent_ids,
            **({} if pretraining is None else {"seconds": pretraining.seconds}),
        )
        ari = type_agreement(env.agent_types, partition.labels)
        run_dir.append_partition(
            step=0, event="initial", candidate=partition, current=partition, ari=ari, current_ari=ari
        )
        return plan

    @staticmethod
    def _load_plan(run_dir: RunDir, checkpoint: dict[str, Any] | None = None) -> SharingPlan:
        """The plan at ``checkpoint``: its policy's assignment is the partition in force (adaptive runs regroup);
        without a checkpoint, the run's first partition."""
        partition, summary = run_dir.read_partition()
        labels = partition.labels if checkpoint is None else checkpoint["policy"]["assignment"].numpy()
        if not np.array_equal(labels, partition.labels):
            partition = Partition(labels=labels, method=partition.method)
        return SharingPlan(partition=partition, append_agent_ids=bool(summary["append_agent_ids"]))


RESUME_OVERRIDES = (
    "total_steps",
    "eval_interval",
    "eval_episodes",
    "eval_greedy",
    "checkpoint_interval",
    "checkpoint_seconds",
    "log_interval",
    "device",
    "torch_threads",
)
"""Config fields a resume may change: none of them changes the trained parameters (the device aside, in float
rounding); everything else (env, method, seed, components, options, sizes) is the run's own."""


def resume(run_dir: str | Path, total_steps: int | None = None, **overrides: Any) -> Experiment:
    """An experiment that continues ``run_dir``: from its newest intact checkpoint, else from its partition.

    ``total_steps`` and the other :data:`RESUME_OVERRIDES` may be given (e.g. a larger budget); any
    other field is the run's own, and giving it is an error.
    """
    directory = RunDir(run_dir)
    directory.check_resumable()  # fail before building anything when it is no run directory
    load_builtins()
    if total_steps is not None:
        overrides["total_steps"] = total_steps
    refused = sorted(set(overrides) - set(RESUME_OVERRIDES))
    if refused:
        raise ConfigError(
            f"resume cannot change {', '.join(refused)} (the run's own settings); "
            f"it may change: {', '.join(RESUME_OVERRIDES)}"
        )
    config = directory.read_config()
    return Experiment(
        make_config("resume()", **{**attrs.asdict(config, recurse=False), **overrides}), run_dir=directory.path
    )


def init_options(component: Any) -> dict[str, Any] | None:
    """Every constructor option of an attrs component with its value; None when not attrs or not JSON-friendly."""
    cls = type(component)
    if not attrs.has(cls):
        return None
    options = {f.alias or f.name: getattr(component, f.name) for f in attrs.fields(cls) if f.init}
    try:
        json.dumps(options, default=_no_default)
    except TypeError:
        return None
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}


def _no_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value).__name__)

"""The on-policy training loop shared by every learner: rollout -> update, evaluate, log, checkpoint."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch
from torch import Tensor

from seps.callbacks import CallbackList, TrainerCallback
from seps.checkpoint import save_checkpoint
from seps.envs.base import MultiAgentEnv, StepResult, global_state
from seps.errors import RunInterrupted
from seps.evaluation import EpisodeTracker, episode_flags, evaluate
from seps.learners.base import OnPolicyLearner
from seps.learners.rollout import RolloutStep, RolloutStorage
from seps.nn.actor_critic import GroupedActorCritic
from seps.run_log import RunLog

logger = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class Progress:
    """What the trainer reports after every update (the CLI draws its progress bar from it)."""

    env_steps: int
    total_steps: int
    steps_per_second: float
    last_eval_return: float | None


@attrs.frozen(kw_only=True)
class LoopSettings:
    """The parts of the experiment configuration the loop needs."""

    total_steps: int
    eval_interval: int
    eval_episodes: int
    eval_greedy: bool
    checkpoint_interval: int
    seed: int
    log_interval: int | None = None
    """Env steps between training rows of the log; None: at every evaluation only."""


class ObservationAdapter:
    """numpy observations (E, N, D) -> policy input tensors, with one-hot agent ids appended for FuPS+id.

    ``n_agents`` is the env's ``n_identities``: on an env with per-episode types the id is the agent's
    type in the episode (pass ``types`` (E, N)), as it is for the encoder.
    """

    def __init__(self, n_agents: int, append_agent_ids: bool, device: torch.device) -> None:
        self.append_agent_ids = append_agent_ids
        self.device = device
        self._ids = torch.eye(n_agents, device=device)

    def extra_features(self, n_agents: int) -> int:
        return n_agents if self.append_agent_ids else 0

    def __call__(self, obs: np.ndarray, types: np.ndarray | None = None) -> Tensor:
        tensor = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        if not self.append_agent_ids:
            return tensor
        if types is not None:
            return torch.cat([tensor, self._ids[torch.as_tensor(types, device=self.device)]], dim=-1)
        return torch.cat([tensor, self._ids.expand(*tensor.shape[:-1], -1)], dim=-1)


class Trainer:
    """Trains ``policy`` on ``env`` with ``learner``; owns everything a checkpoint must restore."""

    def __init__(
        self,
        *,
        env: MultiAgentEnv,
        eval_env: MultiAgentEnv,
        policy: GroupedActorCritic,
        learner: OnPolicyLearner,
        prepare: ObservationAdapter,
        settings: LoopSettings,
        run_dir: Path,
        device: torch.device,
    ) -> None:
        self.env, self.eval_env, self.policy, self.learner = env, eval_env, policy, learner
        self.prepare, self.settings, self.run_dir, self.device = prepare, settings, run_dir, device
        # Only centralised critics read the global state; evaluation runs the actors alone.
        env.global_state_enabled, eval_env.global_state_enabled = policy.uses_state, False
        self.optimizer = learner.make_optimizer(policy)
        fields = tuple(learner.rollout_fields)
        if policy.n_types is not None and "groups" not in fields:  # the update routes samples as they acted
            fields = (*fields, "groups")
        self.storage = RolloutStorage(
            learner.n_steps,
            env.num_envs,
            env.n_agents,
            policy.obs_dim,
            policy.n_actions,
            device=device,
            fields=fields,
            state_dim=env.state_dim,
            action_shape=policy.action_shape,
            action_dtype=policy.action_dtype,
        )
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(settings.seed)
        self.tracker = EpisodeTracker(env.num_envs, env.n_agents, env.team_reward)
        self.env_steps = 0
        self.evaluations: list[tuple[int, float, float]] = []
        self.win_rates: list[tuple[int, float]] = []
        """(env steps, evaluation win rate) for envs that report wins (SMAC); empty otherwise."""
        self.current: StepResult | None = None
        self.callback = CallbackList()
        self.checkpoint_requested = False
        """Set by a callback (time, signal): the loop checkpoints at the end of this iteration."""
        self.stop_requested = False
        """Set by a callback (signal): the loop checkpoints and raises :class:`~seps.errors.RunInterrupted`."""
        self.last_checkpoint: Path | None = None
        self._train_returns: list[float] = []
        self._wins: list[float] = []
        self._callback_state: list[Any] | None = None

    # -- the loop ---------------------------------------------------------------------------------------------

    def train(
        self,
        log: RunLog,
        progress: Callable[[Progress], None] | None = None,
        callbacks: Sequence[TrainerCallback] = (),
    ) -> None:
        """Run until ``total_steps`` env steps (over all copies), evaluating and checkpointing on the way.

        ``callbacks`` see the trainer at the end of every rollout, update and evaluation (see
        :mod:`seps.callbacks`); ``progress`` receives a :class:`Progress` after every update.
        """
        settings = self.settings
        self.callback = CallbackList(callbacks)
        if self._callback_state is not None:  # a resumed run: callbacks continue where they were saved
            self.callback.load_state_dict(self._callback_state)
            self._callback_state = None
        if self.current is None:
            self.current = self.env.reset(settings.seed)
        self.callback.on_train_start(self)
        if not self.evaluations:
            self._evaluate(log)
        start_time, start_steps = time.perf_counter(), self.env_steps
        while self.env_steps < settings.total_steps and not self.stop_requested:
            crossed_eval = self._crossed(settings.eval_interval)
            crossed_log = self._crossed(settings.log_interval or settings.eval_interval)
            crossed_ckpt = self._crossed(settings.checkpoint_interval)
            self._train_returns += self._rollout()
            self.callback.on_rollout_end(self)
            metrics = self.learner.update(
                self.policy, self.optimizer, self.storage, self._value(self.current), self.generator
            )
            self.callback.on_update_end(self, metrics)
            speed = (self.env_steps - start_steps) / max(time.perf_counter() - start_time, 1e-9)
            if crossed_log(self.env_steps) or crossed_eval(self.env_steps):
                returns = self._train_returns
                episode_return = float(np.mean(returns)) if returns else float("nan")
                wins = {"win_rate": float(np.mean(self._wins))} if self._wins else {}
                log.write(
                    self.env_steps,
                    "train",
                    {**metrics, "episode_return": episode_return, "steps_per_second": speed, **wins},
                )
                self._train_returns, self._wins = [], []
            if crossed_eval(self.env_steps):
                self._evaluate(log)
            due = crossed_ckpt(self.env_steps) or self.checkpoint_requested
            if due and self.env_steps < settings.total_steps:
                self.checkpoint()
            if progress is not None:
                last = self.evaluations[-1][1] if self.evaluations else None
                progress(
                    Progress(
                        env_steps=self.env_steps,
                        total_steps=settings.total_steps,
                        steps_per_second=speed,
                        last_eval_return=last,
                    )
                )
        if self.stop_requested and self.env_steps < settings.total_steps:
            raise RunInterrupted(self.env_steps, self.last_checkpoint)
        if self.evaluations[-1][0] != self.env_steps:
            self._evaluate(log)
        self.checkpoint()
        self.callback.on_train_end(self)

    def _crossed(self, interval: int) -> Callable[[int], bool]:
        before = self.env_steps // interval
        return lambda steps: steps // interval > before

    def _rollout(self) -> list[float]:
        """Fill the rollout storage with ``learner.n_steps`` steps of every copy; return finished episodes' returns."""
        assert self.current is not None  # set by train()
        finished: list[float] = []
        self.storage.clear()
        with torch.no_grad():
            for _ in range(self.learner.n_steps):
                before = self.current
                types = before.episode_types  # None unless agents change type between episodes
                groups = self.policy.groups_for(types)
                obs = self._prepare(before.obs, types)
                mask = torch.tensor(before.action_mask, device=self.device)
                with self.policy.row_groups(groups):
                    actions, log_probs = self.policy.sample(obs, mask, generator=self.generator)
                env_actions = self.policy.env_actions(actions).cpu().numpy()
                result = self.env.step(env_actions)
                self.callback.on_step(self, env_actions, result)
                step = RolloutStep(
                    policy=self.policy,
                    before=before,
                    obs=obs,
                    action_masks=mask,
                    actions=actions,
                    log_probs=log_probs,
                    result=result,
                    device=self.device,
                    groups=groups,
                )
                # Each field the learner declared reads its value off the step (values, state only if asked).
                # A final observation belongs to the episode the agents acted in: its types are ``before``'s.
                truncated = result.truncated.any()
                self.storage.record(step, self._value(result, final=True, types=types) if truncated else None)
                _, totals = self.tracker.add(result)
                finished += totals.tolist()
                self._wins += episode_flags(self.env)
                self.current = result
                self.env_steps += self.env.num_envs
        return finished

    def _prepare(self, obs: np.ndarray, types: np.ndarray | None) -> Tensor:
        return self.prepare(obs) if types is None else self.prepare(obs, types)

    def _value(self, result: StepResult, final: bool = False, types: np.ndarray | None = None) -> Tensor:
        """V of ``result``'s observations (its ``final_obs`` and final state if ``final``).

        ``types``: the agents' types for those observations (default ``result.episode_types``).
        """
        obs = result.final_obs if final else result.obs
        types = result.episode_types if types is None else types
        state = None
        if self.policy.uses_state:
            state = torch.as_tensor(global_state(result, final), dtype=torch.float32, device=self.device)
        with torch.no_grad(), self.policy.row_groups(self.policy.groups_for(types)):
            return self.policy.value(self._prepare(obs, types), state)

    def _evaluate(self, log: RunLog) -> None:
        index = len(self.evaluations)
        # Evaluation episodes use their own seeds so they never disturb the training envs or sampling.
        eval_generator = torch.Generator(device=self.device)
        eval_generator.manual_seed(self.settings.seed * 1_000_003 + index)
        eval_wins: list[float] = []
        returns = evaluate(
            self.policy,
            self.eval_env,
            self.prepare,
            episodes=self.settings.eval_episodes,
            greedy=self.settings.eval_greedy,
            seed=self.settings.seed * 1_000_003 + index,
            generator=eval_generator,
            wins=eval_wins,
        )
        mean, std = float(returns.mean()), float(returns.std())
        self.evaluations.append((self.env_steps, mean, std))
        win_rate = {"eval_win_rate": float(np.mean(eval_wins))} if eval_wins else {}
        if eval_wins:
            self.win_rates.append((self.env_steps, win_rate["eval_win_rate"]))
        log.write(self.env_steps, "eval", {"eval_return": mean, "eval_return_std": std, **win_rate})
        logger.info("step %d: evaluation return %.2f ± %.2f", self.env_steps, mean, std)
        self.callback.on_evaluation_end(self, mean, std)

    # -- checkpoints --------------------------------------------------------------------------------------------

    def checkpoint(self) -> Path:
        self.checkpoint_requested = False
        self.last_checkpoint = save_checkpoint(self.run_dir, self.state_dict(), self.env_steps)
        return self.last_checkpoint

    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain data that continue this run exactly."""
        assert self.current is not None  # checkpoints are taken inside train()
        try:
            env_state: dict[str, Any] | None = self.env.get_state()
        except NotImplementedError:
            env_state = None
        return {
            "env_steps": self.env_steps,
            "policy": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "episode_returns": torch.as_tensor(self.tracker.returns),
            "evaluations": [list(row) for row in self.evaluations],
            "win_rates": [list(row) for row in self.win_rates],
            "env_state": None if env_state is None else _arrays_to_tensors(env_state),
            "train_returns": list(self._train_returns),  # so a resumed run logs the same training rows
            "wins": list(self._wins),
            "callbacks": self.callback.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.env_steps = int(state["env_steps"])
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.tracker.returns[...] = state["episode_returns"].numpy()
        self.evaluations = [(int(s), float(m), float(d)) for s, m, d in state["evaluations"]]
        self.win_rates = [(int(s), float(r)) for s, r in state.get("win_rates", [])]
        self._train_returns = [float(r) for r in state.get("train_returns", [])]
        self._wins = [float(w) for w in state.get("wins", [])]
        self._callback_state = state.get("callbacks")
        if state["env_state"] is not None:
            self.current = self.env.set_state(_tensors_to_arrays(state["env_state"]))
        else:
            logger.warning("%s cannot restore its state: the resumed run starts new episodes", self.env.name)
            self.current = self.env.reset(self.settings.seed + self.env_steps)
            self.tracker.returns[...] = 0.0


def _arrays_to_tensors(state: dict[str, Any]) -> dict[str, Any]:
    """numpy arrays become tensors so the checkpoint loads with ``weights_only=True``."""
    return {k: torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v for k, v in state.items()}


def _tensors_to_arrays(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v.numpy() if isinstance(v, Tensor) else v for k, v in state.items()}

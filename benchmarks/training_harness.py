"""Build the real training loop of one sharing mode on BPS, and the naive policies it is compared with.

Used by ``bench_scaling.py``. :func:`make_trainer` wires env, policy, learner and
:class:`~seps.trainer.Trainer` exactly as :meth:`seps.experiment.Experiment.run` does
(the same ``build(...)`` config, ``Experiment.build_policy`` and ``Trainer`` constructor),
without the evaluation, logging and checkpoint side work; :func:`train_cycle` is one
iteration of ``Trainer.train``'s loop: a rollout of ``n_steps`` batched env steps, then
the learner's update.

Modes: the library's ``nops``, ``fups``, ``fups_id``, ``seps`` (assignment = the env's true
types, so no pre-training runs here), and two naive implementations of a K-group policy:

* ``looped-<mode>``: K separate ``nn.Sequential`` actor and critic networks and a Python loop
  over groups, each network run on its own agents (what one writes without stacked weights);
* ``paper-<mode>``: every group's network runs on every agent and each agent's output is then
  selected by its group (the SePS paper code's way).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from seps import build
from seps.methods import SharingPlan
from seps.nn import GroupedMLP
from seps.pipeline import make_env
from seps.records import Partition
from seps.trainer import LoopSettings, Trainer

LIBRARY_MODES = ("nops", "fups", "fups_id", "seps")
NAIVE_KINDS = ("looped", "paper")

TYPE_COUNTS = {15: (3,) * 5, 30: (6,) * 5, 100: (25,) * 4, 200: (50,) * 4, 1000: (200,) * 5}
"""BPS colours per agent count (4-5 true types, as the SePS paper's BPS tasks)."""


def type_counts(n_agents: int) -> tuple[int, ...]:
    """Agents per colour for ``n_agents``: the table above, else 5 (or 4) near-equal colours."""
    if n_agents in TYPE_COUNTS:
        return TYPE_COUNTS[n_agents]
    n_types = 5 if n_agents >= 5 else n_agents
    base, extra = divmod(n_agents, n_types)
    return tuple(base + (index < extra) for index in range(n_types))


def _sequential(grouped: GroupedMLP, group: int) -> nn.Sequential:
    """An ordinary MLP holding a copy of group ``group``'s weights of ``grouped``."""
    layers: list[nn.Module] = []
    for index, layer in enumerate(grouped.linears):
        linear = nn.Linear(layer.in_features, layer.out_features)
        with torch.no_grad():
            linear.weight.copy_(layer.weight[group].T)
            linear.bias.copy_(layer.bias[group])
        layers.append(linear)
        if index < len(grouped.linears) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class LoopedMLP(nn.Module):
    """K separate MLPs; a Python loop runs each on its own group's agents, then the rows are put back in order."""

    def __init__(self, grouped: GroupedMLP, assignment: Tensor) -> None:
        super().__init__()
        self.nets = nn.ModuleList(_sequential(grouped, group) for group in range(grouped.n_groups))
        self.members = [torch.nonzero(assignment == group).squeeze(1) for group in range(grouped.n_groups)]
        self.inverse = torch.argsort(torch.cat(self.members))

    def forward(self, x: Tensor, routing: object = None) -> Tensor:
        outputs = [net(x.index_select(-2, index)) for net, index in zip(self.nets, self.members, strict=True)]
        return torch.cat(outputs, dim=-2).index_select(-2, self.inverse)


class PaperMLP(nn.Module):
    """K separate MLPs, every one run on every agent; each agent's output is selected by its group."""

    def __init__(self, grouped: GroupedMLP, assignment: Tensor) -> None:
        super().__init__()
        self.nets = nn.ModuleList(_sequential(grouped, group) for group in range(grouped.n_groups))
        self.assignment = assignment

    def forward(self, x: Tensor, routing: object = None) -> Tensor:
        every = torch.stack([net(x) for net in self.nets])  # (K, ..., N, out)
        index = self.assignment.view(1, *([1] * (x.dim() - 2)), -1, 1).expand(1, *every.shape[1:])
        return every.gather(0, index).squeeze(0)


def make_trainer(mode: str, n_agents: int, num_envs: int = 8, seed: int = 0, fused_adam: bool = False) -> Trainer:
    """The trainer of ``mode`` (a library mode or ``looped-<mode>`` / ``paper-<mode>``) on BPS with ``n_agents``."""
    kind, _, method = mode.rpartition("-")
    if method not in LIBRARY_MODES or kind not in ("", *NAIVE_KINDS):
        raise ValueError(f"unknown mode {mode!r}; use one of {LIBRARY_MODES}, optionally prefixed by looped- or paper-")
    env_name = "bps:" + "-".join(map(str, type_counts(n_agents)))
    learner_options = {"fused_adam": True} if fused_adam else {}
    experiment = build(
        method, env=env_name, seed=seed, num_envs=num_envs, device="cpu", learner_options=learner_options
    )
    if method == "seps":  # the true types stand in for the learned partition (its cost: bench_pretraining.py)
        labels = np.asarray(experiment.env.agent_types)
        plan = SharingPlan(partition=Partition(labels=labels, method="true_types"))
    else:
        plan = experiment.method.plan(env_name, experiment.env.n_agents, seed=seed)
    policy, prepare = experiment.build_policy(plan)
    if kind:
        naive = LoopedMLP if kind == "looped" else PaperMLP
        probe = prepare(experiment.env.reset(seed).obs)
        expected = policy(probe)
        # nn.Module.__setattr__ swaps the submodule; GroupedActorCritic only calls it as ``mlp(obs, routing)``.
        policy.actor = naive(policy.actor, policy.assignment)  # type: ignore[assignment]
        policy.critic = naive(policy.critic, policy.assignment)  # type: ignore[assignment]
        for want, got in zip(expected, policy(probe), strict=True):  # the naive policy computes the same function
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    settings = LoopSettings(
        total_steps=2**62,
        eval_interval=2**62,
        eval_episodes=1,
        eval_greedy=True,
        checkpoint_interval=2**62,
        seed=seed,
    )
    trainer = Trainer(
        env=experiment.env,
        eval_env=make_env(env_name, num_envs=1),
        policy=policy,
        learner=experiment.learner,
        prepare=prepare,
        settings=settings,
        run_dir=Path(tempfile.gettempdir()) / "seps-bench-unused",
        device=experiment.device,
    )
    trainer.current = trainer.env.reset(seed)
    return trainer


def train_cycle(trainer: Trainer) -> None:
    """One iteration of ``Trainer.train``: a rollout, then the learner's update (no evaluation or logging)."""
    assert trainer.current is not None  # make_trainer resets the env
    trainer._rollout()
    trainer.learner.update(
        trainer.policy, trainer.optimizer, trainer.storage, trainer._value(trainer.current.obs), trainer.generator
    )

"""``deterministic``: the SePS encoder-decoder with a plain learned code per agent.

Ablation of ``vae``: z(i) is a trainable vector (an embedding table, initialised at
zero so only the data moves agents apart), with no sampling and no KL term. The
embeddings are the learned vectors.
"""

from __future__ import annotations

from typing import Any

import attrs
import torch
from torch import nn

from seps.encoders.base import AgentLatent, IdentityEncoder, positive_int
from seps.encoders.manual import ManualLatent
from seps.registry import ENCODERS


class TableAgentLatent(AgentLatent, ManualLatent):
    """f_e as a lookup table: agent id -> learned vector."""

    def __init__(self, n_agents: int, latent_dim: int) -> None:
        super().__init__()
        self.table = nn.Embedding(n_agents, latent_dim)
        nn.init.zeros_(self.table.weight)

    def forward(self, agent_id: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return self.table(agent_id), torch.zeros((), device=agent_id.device)

    def manual_forward(
        self, agent_id: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, Any]:
        return self.table.weight[agent_id], torch.zeros((), device=agent_id.device), agent_id

    def manual_backward(self, saved: Any, grad_z: torch.Tensor) -> None:
        assert self.table.weight.grad is not None
        self.table.weight.grad.zero_().index_add_(0, saved, grad_z)

    def means(self) -> torch.Tensor:
        return self.table.weight


@ENCODERS.register("deterministic")
@attrs.frozen(kw_only=True)
class DeterministicEncoder(IdentityEncoder):
    """The encoder-decoder without sampling or KL: each agent's code is a free parameter."""

    name = "deterministic"

    updates: int = attrs.field(default=6000, validator=positive_int)
    """Number of gradient steps (fewer than ``vae``: without the KL pull, longer runs let codes overfit)."""

    def make_latent(self, n_agents: int) -> AgentLatent:
        return TableAgentLatent(n_agents, self.latent_dim)

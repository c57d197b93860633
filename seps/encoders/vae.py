"""``vae``: the paper's variational encoder of agent identities (Section 3.1).

q(z|i) = N(mu(i), diag(sigma(i)^2)), where an MLP maps the one-hot agent id to the mean
and log-variance; z is sampled with the reparameterisation trick and the loss adds
``kl_weight * KL(q(z|i) || N(0, I))``. The embeddings are the means mu(i).
"""

from __future__ import annotations

from typing import Any, cast

import attrs
import torch
from torch import nn

from seps.encoders.base import AgentLatent, IdentityEncoder, mlp
from seps.encoders.manual import LinearView, ManualLatent, linear_views, mlp_backward, mlp_forward
from seps.registry import ENCODERS
from seps.validators import non_negative


class GaussianAgentLatent(AgentLatent, ManualLatent):
    """f_e of the VAE: one-hot id -> (mean, log-variance) of an m-dimensional Gaussian."""

    def __init__(self, n_agents: int, latent_dim: int, hidden_sizes: tuple[int, ...], kl_weight: float) -> None:
        super().__init__()
        self.n_agents = n_agents
        self.kl_weight = kl_weight
        self.net = mlp(n_agents, hidden_sizes, 2 * latent_dim)

    def _parameters_of(self, agent_id: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # one_hot(id) @ W.T + b is column id of W: a lookup instead of an (B, N) matmul (exact; N may be 1000).
        first = cast(nn.Linear, self.net[0])
        hidden = nn.functional.embedding(agent_id, first.weight.t()) + first.bias
        mean, log_var = self.net[1:](hidden).chunk(2, dim=-1)
        return mean, log_var

    def forward(self, agent_id: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self._parameters_of(agent_id)
        std = (0.5 * log_var).exp()
        noise = torch.randn(mean.shape, device=mean.device, generator=generator)
        kl = 0.5 * (mean.square() + log_var.exp() - 1.0 - log_var).sum(-1).mean()
        return mean + std * noise, self.kl_weight * kl

    def manual_bind(self) -> None:
        self._views: list[LinearView] = linear_views(self.net)

    def manual_forward(
        self, agent_id: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, Any]:
        layers = self._views
        first = nn.functional.embedding(agent_id, layers[0].weight_t) + layers[0].bias
        outputs = mlp_forward(layers, agent_id, first=first)
        mean, log_var = outputs[-1].chunk(2, dim=-1)
        std = (0.5 * log_var).exp()
        noise = torch.randn(mean.shape, device=mean.device, generator=generator)
        variance = std.square()
        kl = 0.5 * (mean.square() + variance - 1.0 - log_var).sum(-1).mean()
        return torch.addcmul(mean, std, noise), self.kl_weight * kl, (layers, outputs, mean, std, variance, noise)

    def manual_backward(self, saved: Any, grad_z: torch.Tensor) -> None:
        layers, outputs, mean, std, variance, noise = saved
        pull = self.kl_weight / grad_z.shape[0]  # d penalty / d mean = pull * mean
        grad_mean = grad_z + pull * mean
        grad_log_var = 0.5 * (grad_z * noise * std + pull * (variance - 1.0))
        mlp_backward(layers, outputs, torch.cat([grad_mean, grad_log_var], dim=1), lookup=True)

    def means(self) -> torch.Tensor:
        return self._all_agents()[0]

    def log_vars(self) -> torch.Tensor:
        return self._all_agents()[1]

    def _all_agents(self) -> tuple[torch.Tensor, torch.Tensor]:
        device = next(self.parameters()).device
        return self._parameters_of(torch.arange(self.n_agents, device=device))


@ENCODERS.register("vae")
@attrs.frozen(kw_only=True)
class VAEEncoder(IdentityEncoder):
    """SePS's encoder-decoder: Gaussian agent codes with a KL prior; embeddings are the means."""

    name = "vae"

    kl_weight: float = attrs.field(default=1e-3, validator=non_negative)
    """Scale of KL(q(z|i) || N(0, I)) in the loss (paper: 1e-4 on raw targets; ours are standardised)."""

    def make_latent(self, n_agents: int) -> AgentLatent:
        return GaussianAgentLatent(n_agents, self.latent_dim, self.hidden_sizes, self.kl_weight)

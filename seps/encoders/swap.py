"""The code-swap test: does agent j's code predict agent i's *held-out* transitions as well as i's own?

Why: with a few thousand transitions per agent the encoder-decoder can separate agents whose
dynamics and rewards are identical (it fits each agent's sample; on ``mpe2.simple_spread_v3``
the three identical agents end up at three corners of the latent space, posteriors tight).
Distances between codes, or between codes and their posterior spread, cannot tell that apart
from a real difference; held-out data can. Before training, ``holdout`` transitions per agent are
set aside; after training, each agent's held-out transitions are decoded with its own code and
with the code of each partner agent (all agents for N <= ``partners``, else a seeded sample).

``swap_losses[i, j]`` is the mean held-out loss of agent i's transitions decoded with agent j's
code (NaN where j was not a sampled partner of i); the diagonal is the own-code loss. The
partitioners turn it into the *swap gain* of a split and call the agents one type when it is
below a tolerance (see :mod:`seps.clustering.single_type`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seps.encoders.data import TrainingData

_ROWS_PER_CHUNK = 65536


def split_held_out(data: TrainingData, per_agent: int) -> tuple[TrainingData, TrainingData | None]:
    """Keep the last eighth of each agent's transitions (buffer order = time) out of training.

    The tail rather than a random sample: neighbouring steps of one trajectory are nearly the same
    transition, so a random held-out transition has its neighbours in the training data and an agent's
    own code "predicts" it by memory (identical agents of ``mpe2.simple_spread_v3`` then look 10-20 %
    apart). ``per_agent`` evenly spaced transitions of that tail are returned as held-out data, which is
    None when ``per_agent`` is 0 or an agent has fewer than 16 transitions.
    """
    agent_id = data.agent_id.cpu().numpy()
    counts = np.bincount(agent_id)
    if per_agent < 1 or counts.min() < 16:
        return data, None
    order = np.argsort(agent_id, kind="stable")  # grouped by agent, in time order within
    start = np.cumsum(counts) - counts
    rank = np.arange(len(order)) - np.repeat(start, counts)
    tail = np.repeat(counts - counts // 8, counts)
    held = np.zeros(len(agent_id), dtype=bool)
    held[order[rank >= tail]] = True
    size = counts // 8
    take = np.minimum(per_agent, size)
    # evenly spaced picks within each agent's tail, all agents at once
    slot = np.arange(int(take.max()))[None, :]
    offsets = np.floor(slot * (size - 1)[:, None] / np.maximum(take - 1, 1)[:, None]).astype(np.int64)
    rows = (start + counts - size)[:, None] + offsets
    picked = order[rows[slot < take[:, None]]]
    return data.subset(np.flatnonzero(~held)), data.subset(picked)


def partner_table(n_agents: int, partners: int, seed: int) -> np.ndarray:
    """int64 (N, P): the agents whose codes each agent is decoded with; column 0 is the agent itself."""
    if n_agents <= partners:
        others = np.tile(np.arange(n_agents), (n_agents, 1))
        first = others[np.arange(n_agents)[:, None] == others].reshape(n_agents, 1)
        rest = others[np.arange(n_agents)[:, None] != others].reshape(n_agents, n_agents - 1)
        return np.concatenate([first, rest], axis=1)
    rng = np.random.default_rng(seed)
    draws = np.argsort(rng.random((n_agents, n_agents - 1)), axis=1)[:, : partners - 1]
    draws = draws + (draws >= np.arange(n_agents)[:, None])  # skip the agent itself
    return np.concatenate([np.arange(n_agents)[:, None], draws], axis=1)


@torch.no_grad()
def swap_losses(decoder: nn.Module, means: torch.Tensor, held: TrainingData, partners: np.ndarray) -> np.ndarray:
    """float64 (N, N): mean held-out loss of agent i's transitions with agent j's code; NaN off the partners."""
    n_agents = means.shape[0]
    device = held.agent_id.device
    table = torch.as_tensor(partners, device=device)
    rows = held.agent_id.shape[0]
    width = table.shape[1]
    totals = torch.zeros((rows, width), dtype=torch.float64, device=device)
    step = max(1, _ROWS_PER_CHUNK // width)
    for start in range(0, rows, step):
        part = slice(start, min(rows, start + step))
        agent = held.agent_id[part]
        codes = means[table[agent]]  # (B, P, m)
        inputs = held.inputs[part, None, :].expand(-1, width, -1)
        obs_pred, reward_pred = decoder(torch.cat([inputs, codes], dim=2).reshape(-1, inputs.shape[2] + means.shape[1]))
        obs_pred = obs_pred.reshape(len(agent), width, -1)
        reward_pred = reward_pred.reshape(len(agent), width)
        obs_loss = ((obs_pred - held.obs_target[part, None, :]).square() * held.obs_weight[agent][:, None, :]).sum(2)
        reward_loss = (reward_pred - held.reward_target[part, None]).square()
        totals[part] = (obs_loss + reward_loss).double()
    counts = torch.bincount(held.agent_id, minlength=n_agents).double()
    per_agent = torch.zeros((n_agents, width), dtype=torch.float64, device=device)
    per_agent.index_add_(0, held.agent_id, totals)
    per_agent /= counts[:, None]
    result = np.full((n_agents, n_agents), np.nan)
    result[np.arange(n_agents)[:, None], partners] = per_agent.cpu().numpy()
    return result

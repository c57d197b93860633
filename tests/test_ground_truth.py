"""Ground truth only where the env has it; pinned threads and early stopping in the pre-training."""

from __future__ import annotations

import json

import attrs
import numpy as np
import pytest
import torch

from seps.cli import main
from seps.collect import CollectConfig
from seps.encoders.vae import VAEEncoder
from seps.envs.pettingzoo_adapter import role_from_name, types_from_names
from seps.pipeline import make_env, partition_agents
from seps.records import Embeddings, Transitions

pytest.importorskip("mpe2", reason="the PettingZoo tests use mpe2's envs")


def test_roles_come_from_the_name_before_the_last_index() -> None:
    assert role_from_name("leadadversary_0") == "leadadversary"
    assert role_from_name("pursuer_12") == "pursuer"
    assert role_from_name("red_team_3") == "red_team"
    assert role_from_name("player") is None
    names = ["leadadversary_0", "adversary_0", "adversary_1", "agent_0", "agent_1"]
    assert types_from_names(names).tolist() == [0, 1, 1, 2, 2]
    assert types_from_names(["agent_0", "boss"]) is None


def test_pettingzoo_envs_take_their_types_from_the_agent_names() -> None:
    env = make_env("pettingzoo:mpe2.simple_world_comm_v3")
    try:
        assert env.types_known
        assert env.agent_types.tolist() == [0, 1, 1, 1, 2, 2]  # leadadversary_0, adversary_0..2, agent_0..1
    finally:
        env.close()
    env = make_env("pettingzoo:mpe2.simple_spread_v3")
    assert env.agent_types.tolist() == [0, 0, 0]
    env.close()


def test_types_can_be_overridden_by_list_or_function() -> None:
    env = make_env("pettingzoo:mpe2.simple_spread_v3", agent_types=[0, 1, 1])
    assert env.agent_types.tolist() == [0, 1, 1]
    env.close()
    env = make_env("pettingzoo:mpe2.simple_spread_v3", type_from=lambda name: name == "agent_0")
    assert env.agent_types.tolist() == [0, 1, 1]
    env.close()
    env = make_env("pettingzoo:mpe2.simple_spread_v3", type_from=lambda name: None)
    assert not env.types_known and env.agent_types is None
    env.close()


def test_gymnasium_envs_have_no_ground_truth_types() -> None:
    pytest.importorskip("rware", reason="needs rware")
    env = make_env("gymnasium:rware-tiny-2ag-v2")
    try:
        assert not env.types_known and env.agent_types is None
    finally:
        env.close()


def test_unknown_types_give_no_ari_in_the_result_the_cli_or_partition_json(capsys, tmp_path) -> None:
    pytest.importorskip("rware", reason="needs rware")
    args = ["partition", "--env", "gymnasium:rware-tiny-2ag-v2", "--collect-steps", "20", "--no-progress"]
    args += ["--num-envs", "2", "-o", "encoder.updates=200", "--out", str(tmp_path / "p")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "no ground-truth types" in out
    assert "index vs true types: 0" not in out and "index vs true types: 1" not in out
    saved = json.loads((tmp_path / "p" / "partition.json").read_text())
    assert saved["ari"] is None
    assert "agent_types" not in np.load(tmp_path / "p" / "embeddings.npz").files


@attrs.frozen
class ThreadRecordingEncoder:
    """A user encoder (no callback parameter) that records the torch thread count it ran with."""

    seen: list = attrs.field(factory=list)

    def fit(self, transitions: Transitions, seed: int = 0) -> Embeddings:
        self.seen.append(torch.get_num_threads())
        return Embeddings(means=np.eye(transitions.n_agents, dtype=np.float32), encoder="recording")


@pytest.mark.parametrize("threads", [1, 2])
def test_partition_agents_pins_threads_for_the_stages_and_restores_them(threads: int) -> None:
    before = torch.get_num_threads()
    encoder = ThreadRecordingEncoder()
    partition_agents("bps:2-2", encoder, "fixed", collect_config=CollectConfig(steps=5, num_envs=2), threads=threads)
    assert encoder.seen == [threads]
    assert torch.get_num_threads() == before


def test_the_encoder_stops_once_the_code_geometry_settles() -> None:
    env = make_env("bps:3-3", num_envs=16)
    try:
        from seps.collect import collect

        transitions = collect(env, 60, seed=0)
    finally:
        env.close()
    stopped = VAEEncoder(updates=16000).fit(transitions, seed=0)
    assert stopped.updates is not None and 2000 <= stopped.updates < 16000
    full = VAEEncoder(updates=stopped.updates, stop_change=0.0).fit(transitions, seed=0)
    np.testing.assert_array_equal(stopped.means, full.means)  # stopping early = training that many updates
    assert stopped.swap_losses is not None and stopped.swap_losses.shape == (6, 6)

"""``MultiAgentEnv.global_state_enabled``: the state is built only for centralised critics, and turning it off
changes nothing else the env returns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from seps import build
from seps.allocator import keep_freed_memory
from seps.builtin_components import load_builtins
from seps.callbacks import TrainerCallback
from seps.collect import collect
from seps.errors import MissingDependencyError
from seps.registry import ENVS

load_builtins()

COSTLY = ("crware-1", "crware-ref-1", "lbf-12ag-3lvl", "lbf-12ag-3lvl-lbforaging")  # vectorised and looped
TINY: dict[str, Any] = {"num_envs": 2, "eval_episodes": 2, "hidden_sizes": (8,), "total_steps": 40, "eval_interval": 20}


def _run(name: str, enabled: bool, steps: int = 30) -> list[Any]:
    try:
        env = ENVS.get(name)(num_envs=3)
    except MissingDependencyError as error:
        pytest.skip(f"{name}: optional package missing ({error})")
    env.global_state_enabled = enabled
    rng = np.random.default_rng(0)
    results = [env.reset(seed=0)]
    for _ in range(steps):
        actions = np.argmax(rng.random(results[-1].action_mask.shape) * results[-1].action_mask, axis=-1)
        results.append(env.step(actions))
    env.close()
    return results


@pytest.mark.parametrize("name", COSTLY)
def test_switched_off_the_state_is_none_and_every_other_field_is_unchanged(name: str) -> None:
    on, off = _run(name, True), _run(name, False)
    for with_state, without in zip(on, off, strict=True):
        assert without.state is None and without.final_state is None
        assert with_state.state is not None and with_state.final_state is not None
        for field in ("obs", "rewards", "terminated", "truncated", "final_obs", "action_mask", "active"):
            np.testing.assert_array_equal(getattr(with_state, field), getattr(without, field))


class _Flags(TrainerCallback):
    seen: tuple[bool, bool] | None = None

    def on_train_start(self, trainer: Any) -> None:
        _Flags.seen = (trainer.env.global_state_enabled, trainer.eval_env.global_state_enabled)


@pytest.mark.parametrize(("learner", "training_env_builds_state"), [("a2c", False), ("mappo", True)])
def test_the_trainer_builds_the_state_only_for_a_centralised_critic(learner, training_env_builds_state, tmp_path):
    options = {"rollout_steps": 5, "n_epochs": 1, "n_minibatches": 1} if learner == "mappo" else {}
    build("fups", env="crware-1", learner=learner, learner_options=options, run_root=str(tmp_path), **TINY).run(
        callbacks=[_Flags()]
    )
    assert _Flags.seen == (training_env_builds_state, False)  # evaluation runs the actors alone


def test_collect_turns_the_state_off_while_it_runs_and_restores_the_setting() -> None:
    env = ENVS.get("crware-1")(num_envs=2)
    calls = []
    original = env.global_state

    def counting() -> np.ndarray:
        calls.append(1)
        return original()

    env.global_state = counting  # type: ignore[method-assign]
    collect(env, steps=5)
    assert calls == [] and env.global_state_enabled is True


def test_keeping_freed_memory_is_accepted_by_glibc_and_done_once() -> None:
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("glibc only")
    assert keep_freed_memory() is keep_freed_memory()

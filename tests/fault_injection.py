"""Run a training or a sweep and SIGKILL this process at a chosen point; used by tests/test_faults.py.

python -m tests.fault_injection POINT AT JOB ARG
POINT: pretrain (as the encoder starts), rollout (the 3rd env step of the first rollout at or after
       env step AT), checkpoint (half-way through writing the first checkpoint), none
JOB:   start (ARG: JSON of build() keywords), resume (ARG: run directory), sweep (ARG: JSON sweep spec)
"""

import json
import os
import signal
import sys
from pathlib import Path

import torch

import seps.pipeline
import seps.trainer
from seps import build, resume
from seps.sweep import run_sweep


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str, at: int) -> None:
    if point == "pretrain":
        seps.pipeline._encode = lambda *args, **kwargs: die()
    elif point == "rollout":
        original_rollout = seps.trainer.Trainer._rollout

        def rollout(self):
            if self.env_steps >= at:
                step, calls = self.env.step, []

                def dying_step(actions):
                    calls.append(1)
                    if len(calls) == 3:
                        die()
                    return step(actions)

                self.env.step = dying_step
            return original_rollout(self)

        seps.trainer.Trainer._rollout = rollout
    elif point == "checkpoint":
        original_save = torch.save

        def save(obj, path, *args, **kwargs):
            original_save(obj, path, *args, **kwargs)
            data = Path(path).read_bytes()
            Path(path).write_bytes(data[: len(data) // 2])  # the bytes a kill mid-write would leave
            die()

        torch.save = save


def main(point: str, at: str, job: str, argument: str) -> None:
    arm(point, int(at))
    if job == "start":
        build(**json.loads(argument)).run()
    elif job == "resume":
        resume(argument).run()
    else:
        run_sweep(json.loads(argument), workers=0)


if __name__ == "__main__":
    main(*sys.argv[1:])

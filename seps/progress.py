"""Progress of the pre-training stages (collect -> encode -> cluster), for progress displays."""

from __future__ import annotations

from collections.abc import Callable

import attrs

STAGES = ("collect", "encode", "cluster", "train")


@attrs.frozen(kw_only=True)
class StageProgress:
    """How far one stage has got; reported several times per stage, the last time with ``done == total``."""

    stage: str
    """One of :data:`STAGES`."""
    done: int
    total: int
    unit: str
    """What ``done`` counts: env steps, encoder updates, partitioner fits."""
    detail: str = ""
    """A short status, e.g. the encoder's loss."""


StageCallback = Callable[[StageProgress], None]

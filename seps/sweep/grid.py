"""Grid expansion: a :class:`SweepSpec` becomes a list of :class:`Cell`, each with a stable name.

Sharing modes with a fixed partition (nops, fups, fups_id) are not multiplied by encoders
and partitioners, and a partitioner that needs no embeddings (``fixed``) by no encoder.
A cell's name is readable parts plus a hash of everything that defines it, so re-running
a sweep finds its cells and a changed setting makes a new cell.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import attrs

from seps.collect import CollectConfig
from seps.config import ExperimentConfig, make_config
from seps.methods import mode_fixes_partitioner, needs_embeddings
from seps.registry import PARTITIONERS
from seps.sweep.components import Component
from seps.sweep.spec import SweepSpec, env_settings, experiment_value

_MAX_NAME = 150


@attrs.frozen(kw_only=True, eq=False)
class Cell:
    """One point of the grid: a training run (``mode='train'``) or one partition (``mode='partition'``)."""

    mode: str
    env: Component
    seed: int
    method: str | None = None
    """Sharing mode (train cells only)."""
    encoder: Component | None = None
    """Encoder (seps and partition cells only)."""
    partitioner: Component | None = None
    """Partitioner (seps and partition cells only)."""
    learner: Component | None = None
    """Learner (train cells only)."""
    settings: dict[str, Any] = attrs.field(factory=dict)
    """ExperimentConfig overrides (train) or ``collect`` (partition), as plain JSON values."""
    axes: dict[str, Any] = attrs.field(factory=dict)
    """The values of the spec's extra ``grid`` axes in this cell (also in ``settings``)."""

    def to_plain(self) -> dict[str, Any]:
        """Everything that defines the cell, as JSON-friendly data."""
        return {
            "mode": self.mode,
            "method": self.method,
            "env": self.env.to_plain(),
            "seed": self.seed,
            "encoder": None if self.encoder is None else self.encoder.to_plain(),
            "partitioner": None if self.partitioner is None else self.partitioner.to_plain(),
            "learner": None if self.learner is None else self.learner.to_plain(),
            "settings": self.settings,
            "axes": self.axes,
        }

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> Cell:
        def component(key: str) -> Component | None:
            return None if data.get(key) is None else Component.from_plain(data[key])

        return cls(
            mode=data["mode"],
            method=data.get("method"),
            env=Component.from_plain(data["env"]),
            seed=int(data["seed"]),
            encoder=component("encoder"),
            partitioner=component("partitioner"),
            learner=component("learner"),
            settings=data.get("settings", {}),
            axes=data.get("axes", {}),
        )

    @property
    def digest(self) -> str:
        """First 8 hex digits of the SHA-1 of the cell's definition."""
        text = json.dumps(self.to_plain(), sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:8]

    @property
    def name(self) -> str:
        """Directory name, e.g. ``seps-vae-kmeans_db-a2c-bps-1-s0-1f2e3d4c``."""
        parts: list[str] = [self.method] if self.method else []
        parts += [c.slug for c in (self.encoder, self.partitioner, self.learner) if c is not None]
        parts.append(self.env.slug)
        parts += [Component(name=key, options={}).slug + "=" + _short(value) for key, value in self.axes.items()]
        readable = "-".join(parts)[: _MAX_NAME - 20]
        return f"{readable}-s{self.seed}-{self.digest}"

    @property
    def group_key(self) -> str:
        """Cells with the same key share collected data and embeddings (partition sweeps)."""
        encoder = None if self.encoder is None else self.encoder.to_plain()
        collect = self.settings.get("collect", {})
        plain = {"env": self.env.to_plain(), "encoder": encoder, "collect": collect, "seed": self.seed}
        return json.dumps(plain, sort_keys=True, default=str)

    def collect_config(self) -> CollectConfig:
        return CollectConfig(**self.settings.get("collect", {}))

    def experiment_config(self, run_root: str) -> ExperimentConfig:
        """The training run's configuration (train cells)."""
        overrides = {key: experiment_value(key, value) for key, value in self.settings.items()}
        return make_config(
            f"cell {self.name}",
            method=self.method or "seps",
            env=self.env.name,
            env_options=dict(self.env.options),
            encoder=None if self.encoder is None else self.encoder.name,
            encoder_options=dict(self.encoder.options) if self.encoder else {},
            partitioner=None if self.partitioner is None else self.partitioner.name,
            partitioner_options=dict(self.partitioner.options) if self.partitioner else {},
            learner=self.learner.name if self.learner else "a2c",
            learner_options=dict(self.learner.options) if self.learner else {},
            seed=self.seed,
            run_root=run_root,
            **overrides,
        )


def _short(value: Any) -> str:
    text = json.dumps(value, default=str).replace(" ", "").strip('"')
    return text[:24]


def component_pairs(spec: SweepSpec) -> list[tuple[Component | None, Component | None]]:
    """(encoder, partitioner) of the partitioning cells; a partitioner that needs no embeddings gets no encoder."""
    pairs: dict[str, tuple[Component | None, Component | None]] = {}
    for each, partitioner in itertools.product(spec.encoders, spec.partitioners):
        encoder = each if needs_embeddings(PARTITIONERS.get(partitioner.name)) else None
        key = json.dumps([None if encoder is None else encoder.key, partitioner.key])
        pairs.setdefault(key, (encoder, partitioner))
    return list(pairs.values())


SEPS_ONLY_SETTINGS = ("repartition_every", "initial_partition", "repartition_options")
"""Settings of a learned partition: like encoders and partitioners they multiply (and reach) seps cells only."""

ADAPTIVE_OPTIONS = ("initial_partition", "repartition_options")
"""Settings of the checks: from ``config`` they skip the static cells of ``grid: {repartition_every: [..., null]}``."""


def expand(spec: SweepSpec) -> list[Cell]:
    """Every cell of the sweep, in a stable order (env, method, components, grid values, seed).

    Cells of a mode with a fixed partition (nops, fups, fups_id) get no encoder or partitioner and
    none of the :data:`SEPS_ONLY_SETTINGS`, from ``config`` or ``grid``: baselines are not multiplied by them.
    A cell whose grid value of ``repartition_every`` is null gets none of ``config``'s :data:`ADAPTIVE_OPTIONS`.
    """
    cells: list[Cell] = []
    for env in spec.envs:
        if spec.mode == "partition":
            for encoder, partitioner, seed in itertools.product(spec.encoders, spec.partitioners, spec.seeds):
                cells.append(
                    Cell(
                        mode="partition",
                        env=env,
                        seed=seed,
                        encoder=encoder,
                        partitioner=partitioner,
                        settings=dict(spec.config),
                    )
                )
            continue
        for method in spec.methods:
            fixed = mode_fixes_partitioner(method)
            pairs = [(None, None)] if fixed else component_pairs(spec)
            axis_names = [name for name in spec.grid if not (fixed and name in SEPS_ONLY_SETTINGS)]
            axis_values = list(itertools.product(*(spec.grid[name] for name in axis_names)))
            config = {k: v for k, v in env_settings(spec, env).items() if not (fixed and k in SEPS_ONLY_SETTINGS)}
            static_config = {k: v for k, v in config.items() if k not in ADAPTIVE_OPTIONS}
            for (encoder, partitioner), learner, values, seed in itertools.product(
                pairs, spec.learners, axis_values, spec.seeds
            ):
                axes = dict(zip(axis_names, values, strict=True))
                # config's options of the checks reach the adaptive cells of a static-vs-adaptive grid only.
                static = "repartition_every" in axes and axes["repartition_every"] is None
                settings = {**(static_config if static else config), **axes}
                cells.append(
                    Cell(
                        mode="train",
                        method=method,
                        env=env,
                        seed=seed,
                        encoder=encoder,
                        partitioner=partitioner,
                        learner=learner,
                        settings=settings,
                        axes=axes,
                    )
                )
    return cells

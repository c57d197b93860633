"""The experiment configuration: one frozen record with the paper's numbers as defaults."""

from __future__ import annotations

from typing import Any

import attrs
from attrs import validators as v

from seps.collect import CollectConfig
from seps.deprecation import PARTITIONER_RENAMES, deprecated_name, rename_keys, renamed_keywords
from seps.errors import ConfigError
from seps.options import convert_options
from seps.registry import Registry
from seps.validators import positive, seed_value, widths


@attrs.frozen(kw_only=True)
class ExperimentConfig:
    """Everything that defines a training run; ``attrs.asdict`` of it is saved in every run directory."""

    method: str = "seps"
    """Sharing mode: nops, fups, fups_id or seps (see ``seps list``)."""
    env: str = "bps-1"
    """Registered env name."""
    encoder: Any = None
    """Encoder (seps only): name, class or instance; None means 'vae' for seps."""
    partitioner: Any = None
    """Partitioner (seps only): name, class or instance; None means 'kmeans_db' for seps (old name: ``cluster``)."""
    learner: Any = "a2c"
    """Learner: name, class or instance."""
    seed: int = attrs.field(default=0, validator=seed_value)
    """Seeds the pre-training, the networks, the sampling and the envs."""
    total_steps: int = attrs.field(default=1_000_000, validator=positive)
    """Environment steps of RL training, counted over all parallel copies."""
    num_envs: int = attrs.field(default=8, validator=positive)
    """Parallel env copies during training (paper: 8)."""
    hidden_sizes: tuple[int, ...] = attrs.field(default=(64, 64), converter=tuple, validator=widths)
    """Hidden layer widths of actor and critic (paper: two layers of 64 or 128)."""
    eval_interval: int = attrs.field(default=50_000, validator=positive)
    """Environment steps between evaluations."""
    eval_episodes: int = attrs.field(default=8, validator=positive)
    """Episodes per evaluation."""
    eval_greedy: bool = True
    """Evaluate with the most likely action (False: sample from the policy)."""
    checkpoint_interval: int = attrs.field(default=250_000, validator=positive)
    """Environment steps between checkpoints (a final one is always written)."""
    checkpoint_seconds: float = attrs.field(default=300.0, validator=positive)
    """Wall-clock seconds between checkpoints: whichever of this and ``checkpoint_interval`` comes first."""
    log_interval: int = attrs.field(default=10_000, validator=positive)
    """Environment steps between training rows (losses, episode return, speed) of ``metrics.csv``."""
    run_root: str = "runs"
    """Directory under which run directories are made."""
    device: str = "auto"
    """'auto' (CUDA when present, else CPU), 'cpu' or 'cuda[:i]'."""
    torch_threads: int = attrs.field(default=1, validator=positive)
    """CPU threads for torch; the paper-sized networks run fastest on one (run seeds in parallel instead)."""
    collect: CollectConfig = attrs.field(factory=CollectConfig, validator=v.instance_of(CollectConfig))
    """Random-action data collection for the partition (seps only)."""
    env_options: dict[str, Any] = attrs.field(factory=dict)
    """Keyword arguments of the env factory."""
    encoder_options: dict[str, Any] = attrs.field(factory=dict)
    """Options of the encoder, e.g. {'updates': 2000}."""
    partitioner_options: dict[str, Any] = attrs.field(factory=dict)
    """Options of the partitioner, e.g. {'k_max': 8}."""
    learner_options: dict[str, Any] = attrs.field(factory=dict)
    """Options of the learner, e.g. {'lr': 1e-3}."""
    append_agent_ids: bool | None = attrs.field(default=None, validator=v.optional(v.instance_of(bool)))
    """Policy option: append a one-hot agent id to each observation; None takes the method's (True for fups_id)."""
    repartition_every: int | None = attrs.field(default=None, validator=v.optional(positive))
    """Adaptive SePS (seps only): re-check the partition on the agents' own experience every this many env
    steps and regroup on a confirmed change (:mod:`seps.adaptive`); None partitions once, as the paper."""
    initial_partition: str = attrs.field(default="random", validator=v.in_(("random", "fups")))
    """With ``repartition_every``: 'random' (pre-train on random actions, the paper) or 'fups' (start at K = 1)."""
    repartition_options: dict[str, Any] = attrs.field(factory=dict)
    """Options of the re-partition checks: window, encoder_updates, confirm, restart, hold (see RepartitionConfig)."""

    @property
    def cluster(self) -> Any:
        """Deprecated name of :attr:`partitioner`."""
        deprecated_name("cluster", "partitioner", "ExperimentConfig")
        return self.partitioner

    @property
    def cluster_options(self) -> dict[str, Any]:
        """Deprecated name of :attr:`partitioner_options`."""
        deprecated_name("cluster_options", "partitioner_options", "ExperimentConfig")
        return self.partitioner_options


# ExperimentConfig(cluster=...) still works, with a DeprecationWarning.
setattr(ExperimentConfig, "__init__", renamed_keywords(PARTITIONER_RENAMES)(ExperimentConfig.__init__))  # noqa: B010

COMPONENT_FIELDS = ("encoder", "partitioner", "learner")
"""Config fields that hold a component (name, class or instance) with an ``<field>_options`` partner."""


def component_spec(component: Any, registry: Registry[Any] | None = None) -> Any:
    """A JSON-friendly description of a component given as name, class or instance."""
    if component is None or isinstance(component, str):
        return component
    cls = component if isinstance(component, type) else type(component)
    path = f"{cls.__module__}:{cls.__qualname__}"
    if isinstance(component, type) or not attrs.has(cls):
        return path
    return {"class": path, "options": attrs.asdict(component)}


def to_plain(config: ExperimentConfig, registries: dict[str, Registry[Any]] | None = None) -> dict[str, Any]:
    """``attrs.asdict`` of the config with components turned into names or ``{'class', 'options'}``.

    ``registries`` is accepted for compatibility and not needed: a component's spec does not depend on it.
    """
    plain = attrs.asdict(config, recurse=False)
    plain["collect"] = attrs.asdict(config.collect)
    for field in COMPONENT_FIELDS:
        plain[field] = component_spec(plain[field])
    plain["hidden_sizes"] = list(config.hidden_sizes)
    return plain


def make_config(label: str, **fields: Any) -> ExperimentConfig:
    """An :class:`ExperimentConfig` from plain values converted to each field's type; one error line otherwise.

    ``label`` starts the message (``build()``, ``config.json``, a sweep cell), e.g. ``build(): option
    'total_steps' must be an int, got 'many' (str)``.
    """
    fields = dict(fields)
    for old in rename_keys(fields, PARTITIONER_RENAMES, label):
        deprecated_name(old, PARTITIONER_RENAMES[old], label)
    valid = [field.name for field in attrs.fields(ExperimentConfig)]
    unknown = sorted(set(fields) - set(valid))
    if unknown:
        raise ConfigError(f"{label} got an unknown option {unknown[0]!r}; valid options: {', '.join(valid)}")
    converted = convert_options(ExperimentConfig, fields, label=label)
    try:
        return ExperimentConfig(**converted)
    except (TypeError, ValueError) as error:  # a validator's message, without the source: add it
        raise ConfigError(f"{label}: {error}") from None


def from_plain(plain: dict[str, Any]) -> ExperimentConfig:
    """The inverse of :func:`to_plain`: a ``{'class', 'options'}`` component becomes its import path and options."""
    plain = dict(plain)
    rename_keys(plain, PARTITIONER_RENAMES, "config.json")  # written by seps before the rename: no warning
    for field in COMPONENT_FIELDS:
        spec = plain.get(field)
        if isinstance(spec, dict):
            plain[field] = spec["class"]
            plain[f"{field}_options"] = {**spec["options"], **plain.get(f"{field}_options", {})}
    return make_config("config.json", **plain)

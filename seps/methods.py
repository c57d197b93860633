"""Sharing modes: named presets of the one grouping concept, a :class:`~seps.records.Partition`.

A mode is a partitioner and a policy option, nothing else:

* ``nops``: the fixed partition K = N (every agent its own parameters);
* ``fups``: the fixed partition K = 1 (one parameter set);
* ``fups_id``: K = 1 with ``append_agent_ids`` (a one-hot agent id on every observation);
* ``seps``: the run's own ``partitioner`` and ``encoder`` (default ``kmeans_db`` on ``vae`` codes).

A partitioner that needs no embeddings (it has ``fit_agents(n_agents, seed)``, as ``fixed``
does) gets no data: no random-action collection, no encoder. So ``build("seps",
partitioner="fixed")`` is FuPS reached by another name, and trains no VAE. A new mode is one
registered factory returning a :class:`SharingMode` (``METHODS.register("my_mode")``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from seps.clustering.fixed import Fixed
from seps.errors import ConfigError, SepsError
from seps.records import Partition
from seps.registry import ENCODERS, METHODS, PARTITIONERS, resolve

if TYPE_CHECKING:
    from seps.pipeline import PartitionResult

DEFAULT_ENCODER = "vae"
DEFAULT_PARTITIONER = "kmeans_db"


@attrs.frozen(kw_only=True)
class SharingMode:
    """A named grouping: the partitioner the mode fixes (None: the run chooses) and the agent-id option."""

    partitioner: Any = None
    """The partitioner this mode always uses; None lets the run's ``partitioner``/``encoder`` decide (``seps``)."""
    append_agent_ids: bool = False
    """Append a one-hot agent id to every observation the policy sees (FuPS+id)."""
    title: str = ""
    """The name reports print (the paper's: NoPS, FuPS, FuPS+id, SePS); empty: the registered name."""


@METHODS.register("nops")
def no_sharing() -> SharingMode:
    """NoPS: every agent has its own parameters (the fixed partition K = N)."""
    return SharingMode(partitioner=Fixed(k="all"), title="NoPS")


@METHODS.register("fups")
def full_sharing() -> SharingMode:
    """FuPS: one parameter set for all agents (the fixed partition K = 1)."""
    return SharingMode(partitioner=Fixed(k=1), title="FuPS")


@METHODS.register("fups_id")
def full_sharing_with_id() -> SharingMode:
    """FuPS+id: K = 1, with the one-hot agent id appended to each observation."""
    return SharingMode(partitioner=Fixed(k=1), append_agent_ids=True, title="FuPS+id")


@METHODS.register("seps")
def selective_sharing() -> SharingMode:
    """SePS: groups found by the run's partitioner (default: collect -> encode with vae -> kmeans_db)."""
    return SharingMode(title="SePS")


def needs_embeddings(partitioner: Any) -> bool:
    """False for a partitioner (class or instance) that partitions without data (it has ``fit_agents``)."""
    return not callable(getattr(partitioner, "fit_agents", None))


@attrs.frozen(kw_only=True)
class Grouping:
    """How one run groups its agents, resolved and validated from the mode and the configuration."""

    method: str
    """The sharing mode's name (written into ``partition.json`` for the fixed modes)."""
    partitioner: Any
    encoder: Any | None
    """The encoder when the partitioner needs embeddings; None otherwise (nothing is collected)."""
    append_agent_ids: bool
    fixed_by_mode: bool
    """True when the mode fixes the partitioner (nops, fups, fups_id)."""

    def fixed_partition(self, n_agents: int, seed: int) -> Partition | None:
        """The partition without any data, or None when it needs embeddings."""
        if self.encoder is not None:
            return None
        partition: Partition = self.partitioner.fit_agents(n_agents, seed)
        return attrs.evolve(partition, method=self.method) if self.fixed_by_mode else partition


def resolve_mode(method: Any) -> SharingMode:
    """The :class:`SharingMode` for a registered name, an import string, a factory or a mode."""
    mode = method if isinstance(method, SharingMode) else resolve(METHODS, method)
    if not isinstance(mode, SharingMode):
        raise ConfigError(f"method {method!r} built {type(mode).__name__}, not a seps.methods.SharingMode")
    return mode


def method_title(method: str) -> str:
    """The mode's title for reports ('FuPS'), or the name itself for an unknown or untitled mode."""
    try:
        return resolve_mode(method).title or method
    except SepsError:
        return method


def mode_fixes_partitioner(method: Any) -> bool:
    """True for a mode whose partition is fixed (nops, fups, fups_id): encoders and partitioners do not apply."""
    return resolve_mode(method).partitioner is not None


def resolve_grouping(
    method: Any,
    *,
    encoder: Any = None,
    partitioner: Any = None,
    encoder_options: dict[str, Any] | None = None,
    partitioner_options: dict[str, Any] | None = None,
    append_agent_ids: bool | None = None,
) -> Grouping:
    """Build (and so validate) the grouping of a run; nothing is collected or trained.

    Components given where they have no effect are refused, so an ablation never silently
    ignores one: an encoder or partitioner with a fixed mode, an encoder with a partitioner
    that needs no embeddings.
    """
    mode = resolve_mode(method)
    name = method if isinstance(method, str) else getattr(method, "__name__", type(method).__name__)
    if mode.partitioner is not None:
        if encoder is not None or partitioner is not None or encoder_options or partitioner_options:
            raise ConfigError(
                f"method {name!r} does not partition agents, so an encoder or partitioner has no effect; "
                "drop encoder/partitioner or use method 'seps'"
            )
        partitioner_obj = mode.partitioner
    else:
        partitioner_obj = resolve(PARTITIONERS, partitioner or DEFAULT_PARTITIONER, **(partitioner_options or {}))
    encoder_obj = None
    if needs_embeddings(partitioner_obj):
        encoder_obj = resolve(ENCODERS, encoder or DEFAULT_ENCODER, **(encoder_options or {}))
    elif encoder is not None or encoder_options:
        raise ConfigError(
            f"partitioner {partitioner!r} needs no embeddings, so an encoder has no effect; "
            "drop encoder/encoder_options"
        )
    return Grouping(
        method=name,
        partitioner=partitioner_obj,
        encoder=encoder_obj,
        append_agent_ids=mode.append_agent_ids if append_agent_ids is None else bool(append_agent_ids),
        fixed_by_mode=mode.partitioner is not None,
    )


@attrs.frozen(kw_only=True)
class SharingPlan:
    """Stage 4 input: which group each agent uses, and whether the policy sees agent ids."""

    partition: Partition
    append_agent_ids: bool = False
    """FuPS+id: a one-hot agent id is appended to every observation."""
    pretraining: PartitionResult | None = None
    """The pre-training result when the partition was learned from data."""

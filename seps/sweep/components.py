"""Grid entries that name a component, with options: ``kmeans_db`` or ``{name: kmeans, k: 3}``."""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from seps.errors import ConfigError, SepsError
from seps.registry import Registry, resolve
from seps.sweep.yaml_lines import line_of

_GLOB = re.compile(r"[*?\[]")
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]+")


def _plain(value: Any) -> Any:
    """YAML/JSON-friendly value: tuples become lists, mappings plain dicts (recursively)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _frozen_options(options: dict[str, Any]) -> dict[str, Any]:
    # lists become tuples so that options given in YAML equal the tuple defaults of attrs configs
    return {key: tuple(v) if isinstance(v, list) else v for key, v in sorted(options.items())}


@attrs.frozen(kw_only=True, eq=False)
class Component:
    """A registered name (or ``"module:Class"``) and the options it is built with."""

    name: str
    options: dict[str, Any] = attrs.field(factory=dict, converter=_frozen_options)
    where: str = ""
    """Where the entry was given ('sweep.yaml line 7 (partitioners[1])'), for error messages."""

    @property
    def label(self) -> str:
        """Short human name: ``kmeans_db`` or ``kmeans(k=3)``; import paths keep the class name only."""
        short = self.name.rpartition(":")[2] if ":" in self.name and "." in self.name else self.name
        if not self.options:
            return short
        return f"{short}({', '.join(f'{k}={v}' for k, v in self.options.items())})"

    @property
    def slug(self) -> str:
        """A file-name-safe form of :attr:`label`."""
        short = self.name.rpartition(":")[2] if ":" in self.name and "." in self.name else self.name
        parts = [short] + [f"{k}{_plain(v)}" for k, v in self.options.items()]
        return _UNSAFE.sub("_", "-".join(parts)).strip("_")[:60]

    @property
    def key(self) -> str:
        """Canonical JSON of name and options: equal keys mean the same component."""
        return json.dumps(self.to_plain(), sort_keys=True, default=str)

    def to_plain(self) -> dict[str, Any]:
        return {"name": self.name, "options": _plain(self.options)}

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> Component:
        return cls(name=data["name"], options=data.get("options", {}))


def parse_entries(
    section: str,
    raw: Any,
    registry: Registry[Any],
    source: str,
    *,
    build: bool = True,
) -> tuple[Component, ...]:
    """Read a list of component entries; each is checked by building it (``build=True``) or looking it up.

    Entries are names, ``"module:Class"`` paths, shell patterns over registered names
    (``"kmeans_*"``) or mappings ``{name: ..., option: value, ...}``.
    """
    entries = raw if isinstance(raw, list) else [raw]
    components: list[Component] = []
    for index, entry in enumerate(entries):
        line = line_of(raw, index) if isinstance(raw, list) else None
        where = f"{source} line {line} ({section}[{index}])" if line else f"{source} ({section}[{index}])"
        if isinstance(entry, str):
            name, options = entry, {}
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            name, options = entry["name"], {str(k): v for k, v in entry.items() if k != "name"}
        else:
            raise ConfigError(f"{where}: expected a name or a mapping with 'name', got {entry!r}")
        names = registry.list(name) if _GLOB.search(name) and ":" not in name else [name]
        if not names:
            raise ConfigError(f"{where}: pattern {name!r} matches no registered {registry.kind}")
        for each in names:
            component = Component(name=each, options=options, where=where)
            try:
                if build:
                    resolve(registry, each, **component.options)
                else:  # checked when it is built (envs are built once per sweep during validation)
                    registry.get(each)
            except SepsError as error:
                raise ConfigError(f"{where}: {error}") from None
            components.append(component)
    if len({component.key for component in components}) != len(components):
        raise ConfigError(f"{source}: '{section}' lists the same entry twice; drop the repeat")
    return tuple(components)

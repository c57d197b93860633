"""YAML loading that remembers the line of every mapping key and list item, for error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from seps.errors import ConfigError
from seps.options import NumberLoader


class LineDict(dict):  # type: ignore[type-arg]  # a plain dict to every consumer, plus key lines
    """A mapping read from YAML; ``lines[key]`` is the 1-based line of each key."""

    lines: dict[Any, int]


class LineList(list):  # type: ignore[type-arg]
    """A sequence read from YAML; ``lines[i]`` is the 1-based line of item i."""

    lines: list[int]


class _LineLoader(NumberLoader):
    """The options' loader (YAML 1.2 numbers and booleans) building LineDict / LineList, refusing duplicate keys."""


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise ConfigError(f"line {line}: a mapping key must be a plain value, got {type(key).__name__}")
        if key in result:
            raise ConfigError(f"line {line}: key {key!r} appears twice (first on line {result.lines[key]})")
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = line
    return result


def _sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(item, deep=True) for item in node.value)
    result.lines = [item.start_mark.line + 1 for item in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load_yaml(text: str, source: str = "<sweep>") -> Any:
    """Parse YAML text; a syntax error becomes a one-line :class:`ConfigError` naming ``source`` and the line."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: no arbitrary objects
    except ConfigError as error:
        raise ConfigError(f"{source} {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"{source}{where}: malformed YAML: {problem}") from None


def load_yaml_file(path: str | Path) -> Any:
    """Read and parse a YAML file, with one-line errors for a missing file or bad syntax."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"cannot read sweep file {path}: {error.strerror}") from None
    return load_yaml(text, str(path))


def line_of(container: Any, key: Any) -> int | None:
    """The line of ``key`` in a :class:`LineDict` or of item ``key`` in a :class:`LineList`, if known."""
    lines = getattr(container, "lines", None)
    if isinstance(lines, dict):
        return lines.get(key)
    if isinstance(lines, list) and isinstance(key, int) and 0 <= key < len(lines):
        return lines[key]
    return None

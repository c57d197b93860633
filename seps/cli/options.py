"""Parsing shared by the CLI commands: ``-o section.key=value`` overrides and output directories."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from seps.errors import ConfigError
from seps.options import Mismatch, coerce, parse_value

RENAMED_SECTIONS = {"cluster": "partitioner"}
"""Old ``-o`` section names that still work, with a deprecation note on stderr."""


def deprecated_flag(old: str, new: str) -> None:
    """The CLI's note for an old flag or option name (DeprecationWarnings are hidden outside ``__main__``)."""
    print(f"seps: warning: {old} is deprecated, use {new}", file=sys.stderr)


def take_renamed_flag(args: argparse.Namespace, old: str, new: str) -> None:
    """Move the value of the deprecated flag ``--old`` (dest ``old``) to ``--new``; both given is an error."""
    value = getattr(args, old, None)
    if value is None:
        return
    old_flag, new_flag = "--" + old.replace("_", "-"), "--" + new.replace("_", "-")
    if getattr(args, new, None) is not None:
        raise ConfigError(f"give {new_flag} or its old name {old_flag}, not both")
    deprecated_flag(old_flag, new_flag)
    setattr(args, new, value)


def parse_options(items: list[str] | None, sections: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Turn ``["encoder.updates=500", "partitioner.k=3"]`` into ``{"encoder": {...}, "partitioner": {"k": 3}}``.

    Values are read by :func:`seps.options.parse_value`: ``3`` is an int, ``1e-3`` a float, ``[0, 0, 1]`` a
    list and ``true`` a bool; the component then converts each to the type its field declares.
    """
    parsed: dict[str, dict[str, Any]] = {section: {} for section in sections}
    for item in items or []:
        key, sep, raw = item.partition("=")
        section, dot, name = key.partition(".")
        if not sep or not dot or not name:
            raise ConfigError(f"option {item!r} must look like SECTION.KEY=VALUE, e.g. partitioner.k_max=8")
        if RENAMED_SECTIONS.get(section) in parsed:
            deprecated_flag(f"-o {section}.*", f"-o {RENAMED_SECTIONS[section]}.*")
            section = RENAMED_SECTIONS[section]
        if section not in parsed:
            raise ConfigError(f"option {item!r}: unknown section {section!r}; valid sections: {', '.join(sections)}")
        try:
            value = parse_value(raw)
        except ConfigError:
            raise ConfigError(f"option {item!r}: cannot read the value {raw!r}") from None
        parsed[section][name] = tuple(value) if isinstance(value, list) else value
    return parsed


def integer(text: str) -> int:
    """argparse type for counts and seeds: ``200000``, ``2e5`` and ``200_000`` are the same int."""
    try:
        return int(coerce(text, int))
    except (Mismatch, ConfigError):
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def check_writable_dir(path: str | Path, flag: str = "--out") -> Path:
    """Raise unless ``path`` is, or can be created as, a writable directory; leaves nothing behind.

    Permission bits do not tell (root passes ``os.access`` on ``/proc``), so the nearest existing
    directory is tried: a temporary file is created in it and removed.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} {path} exists and is not a directory; choose another path")
    existing = path.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{flag} {path} is not writable ({existing} is not a directory); choose another path")
    try:
        handle, name = tempfile.mkstemp(prefix=".seps-write-check-", dir=existing)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(f"{flag} {path} is not writable ({existing}: {reason}); choose another path") from None
    os.close(handle)
    os.unlink(name)
    return path

"""Old keyword names that still work for a while: :func:`renamed_keywords` maps them and warns once per call site.

``cluster`` / ``cluster_options`` became ``partitioner`` / ``partitioner_options`` (one name for the
component kind that the registry, ``seps list`` and sweep files already called a partitioner). Saved
``config.json`` files keep loading: :func:`seps.config.from_plain` maps their old keys without a warning.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from seps.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])

PARTITIONER_RENAMES = {"cluster": "partitioner", "cluster_options": "partitioner_options"}
"""Old keyword -> new keyword of the partitioner, wherever a component is chosen."""


def rename_keys(values: dict[str, Any], renames: dict[str, str], where: str) -> list[str]:
    """Move old keys of ``values`` to their new names in place; return the old names found.

    Giving a key under both names is a ConfigError naming ``where``.
    """
    found = []
    for old, new in renames.items():
        if old in values:
            if new in values:
                raise ConfigError(f"{where}: give {new!r} or its old name {old!r}, not both")
            values[new] = values.pop(old)
            found.append(old)
    return found


def deprecated_name(old: str, new: str, where: str, stacklevel: int = 3) -> None:
    """The one warning shape for an old name."""
    warnings.warn(f"{where}: {old!r} is deprecated, use {new!r}", DeprecationWarning, stacklevel=stacklevel)


def renamed_keywords(renames: dict[str, str]) -> Callable[[F], F]:
    """Decorator: calls may still pass the old keyword names of ``renames`` (with a DeprecationWarning)."""

    def decorate(function: F) -> F:
        where = f"{function.__qualname__.removesuffix('.__init__')}()"

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old in rename_keys(kwargs, renames, where):
                deprecated_name(old, renames[old], where)
            return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate

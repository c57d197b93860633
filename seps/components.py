"""Deprecated name of :mod:`seps.builtin_components` (it clashed with :mod:`seps.sweep.components`)."""

from __future__ import annotations

import warnings
from typing import Any

from seps import builtin_components as _builtins

_NAMES = ("BUILTIN_MODULES", "load_builtins")


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        message = "seps.components is deprecated; import from seps.builtin_components"
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return getattr(_builtins, name)
    raise AttributeError(f"module 'seps.components' has no attribute {name!r}")

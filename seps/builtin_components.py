"""Importing the built-in components, which registers them."""

from __future__ import annotations

import importlib

BUILTIN_MODULES = ("seps.envs", "seps.encoders", "seps.clustering", "seps.learners", "seps.methods")


def load_builtins() -> None:
    """Import every built-in component package so its registrations run (cheap: heavy ones register lazily)."""
    for module in BUILTIN_MODULES:
        importlib.import_module(module)

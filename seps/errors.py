"""Every error seps raises on purpose derives from :class:`SepsError`."""

from __future__ import annotations


class SepsError(Exception):
    """Base class of seps errors; the CLI prints these as one line and exits with code 2."""


class ConfigError(SepsError, ValueError):
    """A configuration value, argument or file is invalid."""


class UnknownComponentError(SepsError, KeyError):
    """A name was looked up in a registry that does not hold it."""

    def __str__(self) -> str:  # KeyError would repr() the message and add quotes
        return str(self.args[0]) if self.args else ""


class DuplicateComponentError(SepsError, ValueError):
    """A name was registered twice in the same registry."""


class MissingDependencyError(SepsError, ImportError):
    """An optional package that a component needs is not installed."""


class EnvError(SepsError, ValueError):
    """An environment was used or built incorrectly."""


class CheckpointError(SepsError, ValueError):
    """A checkpoint or run directory is missing, corrupt or foreign."""

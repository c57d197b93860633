"""Every error seps raises on purpose derives from :class:`SepsError`."""

from __future__ import annotations

from pathlib import Path


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


class TrainingDiverged(SepsError, FloatingPointError):
    """A loss or a parameter became non-finite; the run stopped with its last good checkpoint kept."""


class RunInterrupted(KeyboardInterrupt):
    """Training stopped on SIGINT/SIGTERM after writing a checkpoint; ``seps train --resume`` continues it."""

    def __init__(self, env_steps: int, checkpoint: Path | None) -> None:
        super().__init__(f"stopped at env step {env_steps:,}; checkpoint {checkpoint}")
        self.env_steps = env_steps
        self.checkpoint = checkpoint

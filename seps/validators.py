"""The attrs validators of every seps config, with one message shape: ``'name' must be <rule>: <value>``.

That is attrs' own shape (``attrs.validators.gt(0)`` says ``'lr' must be > 0: -1.0``), so a message
reads the same whichever validator raised it. Every validator raises :class:`~seps.errors.ConfigError`;
``build()``, ``resolve()`` and the CLI prefix it with the component or file it came from.
:func:`require_positive_int` is the same check for plain function arguments (env factories).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from seps.errors import ConfigError

Validator = Callable[[Any, Any, Any], None]


def shown(value: Any) -> str:
    """``repr`` of a value, numpy scalars as the Python number they hold (``-1.0``, not ``np.float64(-1.0)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def is_integer(value: Any) -> bool:
    """An int or numpy integer, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_number(value: Any) -> bool:
    """A real int or float (numpy included), not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def fail(name: str, rule: str, value: Any) -> ConfigError:
    """The one message shape."""
    return ConfigError(f"'{name}' must be {rule}: {shown(value)}")


def positive(instance: Any, attribute: Any, value: Any) -> None:
    """A number > 0."""
    if not is_number(value):
        raise fail(attribute.name, "a number > 0", value)
    if not value > 0:
        raise fail(attribute.name, "> 0", value)


def positive_or_none(instance: Any, attribute: Any, value: Any) -> None:
    """None or a number > 0."""
    if value is not None:
        positive(instance, attribute, value)


def non_negative(instance: Any, attribute: Any, value: Any) -> None:
    """A number >= 0."""
    if not is_number(value) or not value >= 0:
        raise fail(attribute.name, "a number >= 0", value)


def boolean(instance: Any, attribute: Any, value: Any) -> None:
    """True or False (not 0 / 1 or a string)."""
    if not isinstance(value, bool):
        raise fail(attribute.name, "true or false", value)


def positive_int(instance: Any, attribute: Any, value: Any) -> None:
    """An integer >= 1."""
    if not is_integer(value) or value <= 0:
        raise fail(attribute.name, "a positive integer", value)


def at_least(minimum: int) -> Validator:
    """An integer >= ``minimum``."""

    def validate(instance: Any, attribute: Any, value: Any) -> None:
        if not is_integer(value):
            raise fail(attribute.name, f"an integer >= {minimum}", value)
        if value < minimum:
            raise fail(attribute.name, f">= {minimum}", value)

    return validate


def in_interval(low: float, high: float, *, low_open: bool = False) -> Validator:
    """A number in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    bracket = "(" if low_open else "["

    def validate(instance: Any, attribute: Any, value: Any) -> None:
        above = value > low if low_open else value >= low
        if not is_number(value) or not above or not value <= high:
            raise fail(attribute.name, f"a number in {bracket}{low}, {high}]", value)

    return validate


def at_most_field(other: str) -> Validator:
    """At most the value of the attrs field ``other`` of the same instance (declared before this one)."""

    def validate(instance: Any, attribute: Any, value: Any) -> None:
        bound = getattr(instance, other)
        if value > bound:
            raise fail(attribute.name, f"<= '{other}' ({shown(bound)})", value)

    return validate


def widths(instance: Any, attribute: Any, value: Any) -> None:
    """A non-empty sequence of positive integers (hidden layer sizes)."""
    if not value or not all(is_integer(width) and width > 0 for width in value):
        raise fail(attribute.name, "a non-empty sequence of positive integers", value)


def layer_sizes(instance: Any, attribute: Any, value: Any) -> None:
    """A sequence of positive integers, possibly empty (no hidden layer)."""
    if not all(is_integer(width) and width > 0 for width in value):
        raise fail(attribute.name, "a sequence of positive integers", value)


def seed_value(instance: Any, attribute: Any, value: Any) -> None:
    """A seed numpy and torch both accept."""
    if not is_integer(value) or not 0 <= value < 2**32:
        raise fail(attribute.name, "an integer in [0, 2**32)", value)


def require_positive_int(name: str, value: Any, owner: str = "") -> int:
    """``value`` as an int, or a ConfigError in the one shape (prefixed ``owner: `` when given)."""
    if not is_integer(value) or value <= 0:
        error = fail(name, "a positive integer", value)
        raise ConfigError(f"{owner}: {error}") if owner else error
    return int(value)

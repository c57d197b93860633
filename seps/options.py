"""One typed path for every option: ``-o KEY=VALUE``, sweep files and Python keywords.

Values are read by one parser (:func:`parse_value`, also the loader of sweep files): YAML with
the YAML 1.2 core schema's numbers and booleans, so ``1e-3``, ``1e6`` and ``1.0e6`` are floats
(YAML 1.1, PyYAML's default, reads them as strings) and only ``true``/``false`` are booleans
(``off`` stays the string a ``refine`` option expects). Every value is then converted to the
type its field declares (:func:`convert_options`): ``1e6`` for an ``int`` field is
``1000000``, the string ``"100"`` is ``100``, ``True`` for an ``int`` or ``"fast"`` for a
``float`` is refused with one line naming the component, the option, the type and the value.
"""

from __future__ import annotations

import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, Literal, Union

import attrs
import numpy as np
import yaml

from seps.errors import ConfigError


class NumberLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core booleans (true/false only) and floats (``1e-3`` without a dot)."""


# PyYAML (``yaml/resolver.py``, ``Resolver.add_implicit_resolver`` calls at the end of the module) reads
# yes/no/on/off as booleans and needs a dot in a float: YAML 1.1. Replace both resolvers with the YAML 1.2
# core schema's (yaml.org/spec/1.2.2, 10.3.2 Tag Resolution).
NumberLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:bool",)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
NumberLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
NumberLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def parse_value(text: str) -> Any:
    """Read one option value: ``3`` is an int, ``1e-3`` a float, ``[64, 64]`` a list, ``true`` a bool."""
    try:
        return yaml.load(text, Loader=NumberLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError:
        raise ConfigError(f"cannot read the value {text!r}") from None


class Mismatch(Exception):
    """The value does not fit the annotation."""


def describe(annotation: Any) -> str:
    """A reader's name for a type: 'an int', 'a float', 'a list of int', 'one of 'eom', 'leaf''."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin in (Union, types.UnionType):
        return " or ".join(describe(arg) for arg in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(arg) for arg in args)
    if origin in (tuple, list, Sequence):
        inner = [arg for arg in args if arg is not Ellipsis]
        return "a list" + (f" of {inner[0].__name__}" if len(inner) == 1 and isinstance(inner[0], type) else "")
    names = {bool: "a boolean (true/false)", int: "an int", float: "a float", str: "a string", dict: "a mapping"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def coerce(value: Any, annotation: Any) -> Any:
    """``value`` as ``annotation`` asks; raises :class:`Mismatch` when it cannot be."""
    if annotation in (Any, inspect.Parameter.empty, object):
        return value
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        ordered = sorted((a for a in args if a is not type(None)), key=lambda a: a is str)  # str last: "3" is 3
        for arg in ordered:
            try:
                return coerce(value, arg)
            except Mismatch:
                continue
        raise Mismatch
    if isinstance(value, str) and annotation is not str and origin is not Literal:
        parsed = parse_value(value) if value.strip() else value
        if isinstance(parsed, str):
            raise Mismatch
        return coerce(parsed, annotation)
    if annotation is type(None):
        if value is None:
            return None
        raise Mismatch
    if origin is Literal:
        if value in args and not (isinstance(value, bool) and True not in args and False not in args):
            return value
        raise Mismatch
    if annotation is bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise Mismatch
    if annotation is int:
        if isinstance(value, (bool, np.bool_)):
            raise Mismatch
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
            return int(value)
        raise Mismatch
    if annotation is float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise Mismatch
        return float(value)
    if annotation is str:
        if isinstance(value, str):
            return value
        raise Mismatch
    if origin in (tuple, list, Sequence):
        if not isinstance(value, (list, tuple)):
            raise Mismatch
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise Mismatch
            return tuple(coerce(v, a) for v, a in zip(value, args, strict=True))
        inner = args[0] if args else Any
        items = [coerce(v, inner) for v in value]
        return items if origin is list else tuple(items)
    if origin is dict or annotation is dict:
        if isinstance(value, dict):
            return value
        raise Mismatch
    if isinstance(annotation, type):
        if isinstance(value, annotation):
            return value
        if attrs.has(annotation) and isinstance(value, dict):
            return annotation(**convert_options(annotation, value, label=annotation.__name__))
        raise Mismatch
    return value  # an annotation this parser does not know (a Protocol, a TypeVar): the factory checks it


def field_types(factory: Any) -> dict[str, Any]:
    """The declared type of each keyword of ``factory`` (an attrs class, a class or a function); {} if unknown."""
    try:
        if attrs.has(factory):
            attrs.resolve_types(factory)
            return {f.alias or f.name: f.type for f in attrs.fields(factory) if f.init and f.type is not None}
        target: Callable[..., Any] = factory.__init__ if isinstance(factory, type) else factory  # type: ignore[misc]  # the class's own __init__ is what we read
        hints = typing.get_type_hints(target)
    except Exception:  # an annotation that does not resolve (a TYPE_CHECKING import): leave its values as given
        return {}
    hints.pop("return", None)
    return hints


def convert_options(factory: Any, options: dict[str, Any], *, label: str) -> dict[str, Any]:
    """``options`` converted to the types ``factory`` declares; a wrong value is one :class:`ConfigError` line."""
    types_ = field_types(factory)
    converted = dict(options)
    for name, value in options.items():
        if name not in types_:
            continue
        try:
            converted[name] = coerce(value, types_[name])
        except (Mismatch, ConfigError):
            raise ConfigError(
                f"{label}: option {name!r} must be {describe(types_[name])}, got {value!r} ({type(value).__name__})"
            ) from None
    return converted

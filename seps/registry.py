"""One generic name -> factory registry, and one instance per kind of component.

Register with a decorator in the module that defines the component::

    from seps.registry import PARTITIONERS

    @PARTITIONERS.register("agglomerative")
    class Agglomerative: ...

or lazily by import string, so importing seps does not import optional packages::

    ENVS.register("smac-mmm2", "seps.envs.smac:make_mmm2")

Anywhere seps accepts a name it also accepts ``"package.module:Attribute"``, and a
registry may hold *families*: ``ENVS.get("bps:5-5-5")`` calls the ``bps`` family's
factory with ``"5-5-5"``.
"""

from __future__ import annotations

import builtins
import difflib
import fnmatch
import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import attrs

from seps.errors import ConfigError, DuplicateComponentError, SepsError, UnknownComponentError
from seps.options import convert_options

T = TypeVar("T")


def import_string(path: str) -> Any:
    """Import ``"package.module:Attribute"`` (the attribute may be dotted)."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise UnknownComponentError(f"{path!r} is not of the form 'package.module:Attribute'")
    try:
        target: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise UnknownComponentError(
            f"cannot import module {module_name!r} named in {path!r}: {error}; "
            "check the spelling and that the module is on PYTHONPATH"
        ) from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise UnknownComponentError(f"module {module_name!r} has no attribute {attribute!r} (from {path!r})")
        target = getattr(target, part)
    return target


class Registry(Generic[T]):
    """Maps names to factories (classes or functions) of one kind of component."""

    def __init__(self, kind: str, register_hint: str, builtins: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self._register_hint = register_hint
        self._table: dict[str, T | str] = {}
        self._family_table: dict[str, Callable[[str], T] | str] = {}
        self._builtins = builtins
        self._builtins_loaded = not builtins

    def _load_builtins(self) -> None:
        """Import the modules that register the built-ins, at the first look-up (so ``import seps`` stays light)."""
        if not self._builtins_loaded:
            self._builtins_loaded = True
            for module in self._builtins:
                importlib.import_module(module)

    @property
    def _entries(self) -> dict[str, T | str]:
        self._load_builtins()
        return self._table

    @_entries.setter
    def _entries(self, table: dict[str, T | str]) -> None:
        self._table = table

    @property
    def _families(self) -> dict[str, Callable[[str], T] | str]:
        self._load_builtins()
        return self._family_table

    def register(self, name: str, target: T | str | None = None) -> Any:
        """Register ``target`` (object or import string) under ``name``; without a target, act as a decorator."""
        if target is not None:
            self._add(self._entries, name, target)
            return target

        def decorator(obj: T) -> T:
            self._add(self._entries, name, obj)
            return obj

        return decorator

    def register_family(self, prefix: str, factory: Callable[[str], T] | str) -> None:
        """Register a parametrised family: ``get(f"{prefix}:{arg}")`` returns ``factory(arg)``."""
        self._add(self._families, prefix, factory)

    def _add(self, table: dict[str, Any], name: str, target: Any) -> None:
        if name in self._entries or name in self._families:
            raise DuplicateComponentError(f"{self.kind} {name!r} is already registered; pick another name")
        table[name] = target

    def get(self, name: str) -> T:
        """Return the factory registered as ``name``, a family member, or an imported ``module:Attribute``."""
        if name in self._entries:
            entry = self._entries[name]
            if isinstance(entry, str):
                entry = import_string(entry)
                self._entries[name] = entry
            return entry  # type: ignore[return-value]
        prefix, sep, argument = name.partition(":")
        if sep and prefix in self._families:
            family = self._families[prefix]
            if isinstance(family, str):
                family = import_string(family)
                self._families[prefix] = family
            return family(argument)  # type: ignore[operator,no-any-return]
        if sep:
            try:
                return import_string(name)  # type: ignore[no-any-return]
            except UnknownComponentError as error:
                raise UnknownComponentError(f"{self._unknown_message(name)} ({error})") from None
        raise UnknownComponentError(self._unknown_message(name))

    def _unknown_message(self, name: str) -> str:
        valid = self.list()
        match = difflib.get_close_matches(name, valid, n=1)
        hint = f" Did you mean {match[0]!r}?" if match else ""
        families = "".join(f", '{p}:...'" for p in sorted(self._families))
        return (
            f"unknown {self.kind} {name!r}.{hint} Valid names: {', '.join(valid)}{families}. "
            f"To use your own, {self._register_hint} or pass 'package.module:ClassName'."
        )

    def list(self, pattern: str = "*") -> builtins.list[str]:
        """Registered names matching the shell-style ``pattern``, sorted."""
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def families(self) -> builtins.list[str]:
        """Registered family prefixes, sorted."""
        return sorted(self._families)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._entries)


# Each registry imports the package of its built-ins at its first look-up: a CLI error about an env
# or a partitioner is found without importing torch.
ENVS: Registry[Any] = Registry("env", "decorate a factory with @seps.registry.ENVS.register('my-env')", ("seps.envs",))
ENCODERS: Registry[Any] = Registry(
    "encoder", "decorate your class with @seps.registry.ENCODERS.register('my-encoder')", ("seps.encoders",)
)
PARTITIONERS: Registry[Any] = Registry(
    "partitioner",
    "decorate your class with @seps.registry.PARTITIONERS.register('my-partitioner')",
    ("seps.clustering",),
)
LEARNERS: Registry[Any] = Registry(
    "learner", "decorate your class with @seps.registry.LEARNERS.register('my-learner')", ("seps.learners",)
)
METHODS: Registry[Any] = Registry(
    "method", "decorate your factory with @seps.registry.METHODS.register('my-method')", ("seps.methods",)
)

REGISTRIES: dict[str, Registry[Any]] = {
    "envs": ENVS,
    "encoders": ENCODERS,
    "partitioners": PARTITIONERS,
    "learners": LEARNERS,
    "methods": METHODS,
}


def resolve(registry: Registry[Any], spec: Any, **options: Any) -> Any:
    """Build a component from a name, an import string or a class; return an instance as it is.

    Options go to the factory; for attrs classes unknown options and invalid values
    become one-line :class:`ConfigError` messages naming the component.
    """
    if not isinstance(spec, (str, type)):
        if options:
            raise ConfigError(
                f"options {sorted(options)} cannot be applied to an already built {registry.kind} {spec!r}; "
                "pass its name or class instead"
            )
        return spec
    factory = registry.get(spec) if isinstance(spec, str) else spec
    label = spec if isinstance(spec, str) else getattr(spec, "__name__", repr(spec))
    if attrs.has(factory):
        valid = [f.name for f in attrs.fields(factory) if f.init]
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ConfigError(
                f"{registry.kind} {label!r} has no option {unknown[0]!r}; valid options: {', '.join(valid) or 'none'}"
            )
    options = convert_options(factory, options, label=f"{registry.kind} {label!r}")
    try:
        return factory(**options)
    except (TypeError, ValueError) as error:
        if isinstance(error, SepsError) and not isinstance(error, ConfigError):
            raise
        raise ConfigError(f"{registry.kind} {label!r}: {error}") from None  # a validator's message: add its source

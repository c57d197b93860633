"""The sweep file: what to vary, read and checked line by line before anything runs.

A sweep file is YAML::

    mode: train                      # or 'partition' (collect -> encode -> cluster only, no RL)
    imports: [examples.custom_partitioner]   # modules that register your components
    methods: [nops, fups, fups_id, seps]
    envs: [bps-1]
    seeds: [0, 1, 2]
    encoders: [vae]                  # seps cells only (default: vae)
    partitioners: [kmeans_db, {name: kmeans, k: 3}]   # seps cells only (default: kmeans_db)
    learners: [a2c]
    config: {total_steps: 100000, eval_interval: 10000}   # ExperimentConfig fields for every cell
    grid: {hidden_sizes: [[64, 64], [128, 128]]}          # extra axes over ExperimentConfig fields

Every error names the file, the line and the key at fault.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import sys
from pathlib import Path
from typing import Any

import attrs

from seps.builtin_components import load_builtins
from seps.collect import CollectConfig
from seps.config import ExperimentConfig, make_config
from seps.errors import ConfigError, SepsError
from seps.methods import mode_fixes_partitioner
from seps.registry import ENCODERS, ENVS, LEARNERS, METHODS, PARTITIONERS
from seps.sweep.components import Component, parse_entries
from seps.sweep.yaml_lines import line_of, load_yaml, load_yaml_file

MODES = ("train", "partition")
COMMON_KEYS = ("mode", "name", "out", "imports", "envs", "seeds", "encoders", "partitioners", "config")
TRAIN_KEYS = (*COMMON_KEYS, "methods", "learners", "grid", "env_config")
PARTITION_KEYS = (*COMMON_KEYS, "cache")
RESERVED_FIELDS = {
    "method": "methods",
    "env": "envs",
    "seed": "seeds",
    "encoder": "encoders",
    "partitioner": "partitioners",
    "cluster": "partitioners",
    "learner": "learners",
    "run_root": "out",
    "env_options": "envs",
    "encoder_options": "encoders",
    "partitioner_options": "partitioners",
    "cluster_options": "partitioners",
    "learner_options": "learners",
}
"""ExperimentConfig fields a sweep sets itself, and the key to use instead."""


@attrs.frozen(kw_only=True, eq=False)
class SweepSpec:
    """A checked sweep file: the axes of the grid and the settings shared by every cell."""

    mode: str
    """'train' (RL runs) or 'partition' (collect -> encode -> cluster only)."""
    name: str
    """Name of the sweep (default: the file name without extension)."""
    out: Path
    """Sweep directory; every cell is a run directory under ``out/cells``."""
    imports: tuple[str, ...] = ()
    """Modules imported first (in every worker too) so that their components register."""
    paths: tuple[str, ...] = ()
    """Directories put on ``sys.path`` for ``imports``: the current one and the sweep file's."""
    methods: tuple[str, ...] = ()
    envs: tuple[Component, ...] = ()
    seeds: tuple[int, ...] = ()
    encoders: tuple[Component, ...] = ()
    partitioners: tuple[Component, ...] = ()
    learners: tuple[Component, ...] = ()
    config: dict[str, Any] = attrs.field(factory=dict)
    """Fixed ExperimentConfig overrides (train) or ``collect`` settings (partition), plain JSON values."""
    grid: dict[str, tuple[Any, ...]] = attrs.field(factory=dict)
    """Extra axes: ExperimentConfig field -> values."""
    env_config: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    """Per-env overrides of ``config`` (train sweeps): env name or shell pattern -> settings, e.g. a budget per
    task family. The first matching pattern applies; its settings replace those of ``config``."""
    cache: Path | None = None
    """Embedding cache directory of a partition sweep (default ``out/cache``)."""
    text: str = ""
    """The YAML the spec was read from (copied into the sweep directory)."""


def load_spec(path: str | Path, out: str | Path | None = None) -> SweepSpec:
    """Read and check a sweep file; ``out`` overrides its ``out`` key."""
    path = Path(path)
    raw = load_yaml_file(path)
    return parse_spec(raw, source=str(path), default_name=path.stem, base=path.parent, out=out, text=path.read_text())


def parse_text(text: str, source: str = "<sweep>", out: str | Path | None = None) -> SweepSpec:
    """Check a sweep given as YAML text."""
    return parse_spec(load_yaml(text, source), source=source, out=out, text=text)


def parse_spec(
    raw: Any,
    *,
    source: str = "<sweep>",
    default_name: str = "sweep",
    base: Path | None = None,
    out: str | Path | None = None,
    text: str = "",
) -> SweepSpec:
    """Check a parsed sweep mapping (from :func:`load_yaml` or plain Python) and return the spec."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a sweep file must be a mapping of keys such as 'envs' and 'seeds'")

    def where(key: str) -> str:
        return _at(source, raw, key, key)

    mode = raw.get("mode", "train")
    if mode not in MODES:
        raise ConfigError(f"{where('mode')}: mode must be one of {', '.join(MODES)}, got {mode!r}")
    valid = TRAIN_KEYS if mode == "train" else PARTITION_KEYS
    for key in raw:
        if key not in valid:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            other = " (a train-sweep key; this is a partition sweep)" if key in TRAIN_KEYS else ""
            raise ConfigError(f"{where(key)}: unknown key {key!r}{other}.{hint} Valid keys: {', '.join(valid)}")
    for key in ("envs", "seeds"):
        if key not in raw:
            raise ConfigError(f"{source}: missing key {key!r}; a sweep needs at least one env and one seed")

    paths = tuple(dict.fromkeys(str(p) for p in (Path.cwd(), (base or Path.cwd()).resolve())))
    imports = _strings(raw, "imports", where)
    import_modules(imports, paths, where("imports"))
    load_builtins()

    def axis(key: str, registry: Any, *, default: list[Any] | None = None, build: bool = True) -> tuple[Component, ...]:
        if key not in raw:
            return tuple(Component(name=name) for name in default or [])
        entries = parse_entries(key, raw[key], registry, source, build=build)
        if not entries:
            raise ConfigError(f"{where(key)}: '{key}' is empty, so the grid has no cells; list at least one")
        return entries

    envs = axis("envs", ENVS, build=False)
    seeds = _seeds(raw, where)
    methods: tuple[str, ...] = ()
    if mode == "train":
        method_entries = axis("methods", METHODS, default=["seps"], build=False)
        if any(entry.options for entry in method_entries):
            raise ConfigError(f"{where('methods')}: methods take no options; list their names")
        methods = tuple(entry.name for entry in method_entries)
    partitioning = mode == "partition" or not all(_fixes_partitioner(m, where("methods")) for m in methods)
    if not partitioning:
        for key in ("encoders", "partitioners"):
            if key in raw:
                raise ConfigError(
                    f"{where(key)}: no method of this sweep partitions agents (only seps does), "
                    f"so '{key}' would be ignored; drop it or add seps to 'methods'"
                )
    encoders = axis("encoders", ENCODERS, default=["vae"]) if partitioning else ()
    partitioners = axis("partitioners", PARTITIONERS, default=["kmeans_db"]) if partitioning else ()
    learners = axis("learners", LEARNERS, default=["a2c"]) if mode == "train" else ()
    config = _config(raw, mode, source)
    grid = _grid(raw, source) if mode == "train" else {}
    for key in set(grid) & set(config):
        raise ConfigError(f"{where('grid')}: {key!r} is both in 'config' and in 'grid'; keep one")
    env_config = _env_config(raw, source, envs, grid)
    out_value = out if out is not None else raw.get("out")
    name = str(raw.get("name", default_name))
    sweep_dir = Path(out_value) if out_value is not None else Path("sweeps") / name
    cache = Path(raw["cache"]) if raw.get("cache") is not None else None
    return SweepSpec(
        mode=mode,
        name=name,
        out=sweep_dir,
        imports=imports,
        paths=paths,
        methods=methods,
        envs=envs,
        seeds=seeds,
        encoders=encoders,
        partitioners=partitioners,
        learners=learners,
        config=config,
        grid=grid,
        env_config=env_config,
        cache=cache,
        text=text,
    )


def _fixes_partitioner(method: str, where: str) -> bool:
    try:
        return mode_fixes_partitioner(method)
    except SepsError as error:
        raise ConfigError(f"{where}: {error}") from None


def import_modules(modules: tuple[str, ...], paths: tuple[str, ...], where: str = "imports") -> None:
    """Put ``paths`` on ``sys.path`` and import ``modules`` (which register components)."""
    for path in paths:
        if path not in sys.path:
            sys.path.append(path)
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ConfigError(
                f"{where}: cannot import {module!r}: {error}; run from the directory that holds it"
            ) from None


def _strings(raw: dict[str, Any], key: str, where: Any) -> tuple[str, ...]:
    value = raw.get(key, [])
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v for v in values):
        raise ConfigError(f"{where(key)}: '{key}' must be a list of module names, got {value!r}")
    return tuple(values)


def _seeds(raw: dict[str, Any], where: Any) -> tuple[int, ...]:
    value = raw["seeds"]
    seeds = value if isinstance(value, list) else [value]
    if not seeds:
        raise ConfigError(f"{where('seeds')}: 'seeds' is empty, so the grid has no cells; list at least one seed")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"{where('seeds')}: seeds must be integers >= 0, got {seed!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where('seeds')}: a seed is listed twice: {value!r}")
    return tuple(seeds)


def _at(source: str, container: Any, key: Any, label: str) -> str:
    """'file line 7 (config.total_steps)' — where a key is, for error messages."""
    line = line_of(container, key)
    return f"{source} line {line} ({label})" if line else f"{source} ({label})"


def _config(raw: dict[str, Any], mode: str, source: str) -> dict[str, Any]:
    config = raw.get("config", {})
    if not isinstance(config, dict):
        raise ConfigError(f"{_at(source, raw, 'config', 'config')}: 'config' must be a mapping, got {config!r}")
    allowed = ["collect"] if mode == "partition" else _settable_fields()
    for key, value in config.items():
        _check_field(key, value, allowed, _at(source, config, key, f"config.{key}"))
    return {str(k): _jsonable(v) for k, v in config.items()}


def _grid(raw: dict[str, Any], source: str) -> dict[str, tuple[Any, ...]]:
    grid = raw.get("grid", {})
    if not isinstance(grid, dict):
        raise ConfigError(f"{_at(source, raw, 'grid', 'grid')}: 'grid' must map config fields to lists, got {grid!r}")
    axes: dict[str, tuple[Any, ...]] = {}
    for key, values in grid.items():
        at = _at(source, grid, key, f"grid.{key}")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{at}: give a non-empty list of values to sweep over, got {values!r}")
        for value in values:
            _check_field(key, value, _settable_fields(), at)
        axes[str(key)] = tuple(_jsonable(v) for v in values)
    return axes


def _env_config(
    raw: dict[str, Any], source: str, envs: tuple[Component, ...], grid: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    per_env = raw.get("env_config", {})
    at = _at(source, raw, "env_config", "env_config")
    if not isinstance(per_env, dict):
        raise ConfigError(f"{at}: 'env_config' must map env names or patterns to settings, got {per_env!r}")
    checked: dict[str, dict[str, Any]] = {}
    for pattern, settings in per_env.items():
        where = _at(source, per_env, pattern, f"env_config.{pattern}")
        if not isinstance(settings, dict):
            raise ConfigError(f"{where}: give a mapping of settings such as {{total_steps: 2000000}}, got {settings!r}")
        if not any(fnmatch.fnmatchcase(env.name, str(pattern)) for env in envs):
            names = ", ".join(env.name for env in envs)
            raise ConfigError(f"{where}: {pattern!r} matches none of the sweep's envs ({names})")
        for key, value in settings.items():
            if key in grid:
                raise ConfigError(f"{where}: {key!r} is a 'grid' axis; it cannot also be set per env")
            _check_field(key, value, _settable_fields(), _at(source, settings, key, f"env_config.{pattern}.{key}"))
        checked[str(pattern)] = {str(k): _jsonable(v) for k, v in settings.items()}
    return checked


def env_settings(spec: SweepSpec, env: Component) -> dict[str, Any]:
    """``config`` with the first matching ``env_config`` entry applied, for the cells of ``env``."""
    for pattern, settings in spec.env_config.items():
        if fnmatch.fnmatchcase(env.name, pattern):
            return {**spec.config, **settings}
    return dict(spec.config)


def _settable_fields() -> list[str]:
    return [f.name for f in attrs.fields(ExperimentConfig) if f.name not in RESERVED_FIELDS]


def _check_field(key: Any, value: Any, allowed: list[str], at: str) -> None:
    if key in RESERVED_FIELDS:
        raise ConfigError(f"{at}: {key!r} is set by the sweep itself; use the '{RESERVED_FIELDS[key]}' key")
    if key not in allowed:
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{at}: unknown setting {key!r}.{hint} Valid settings: {', '.join(allowed)}")
    make_config(at, **{key: experiment_value(key, value)})


def experiment_value(key: str, value: Any) -> Any:
    """Turn a plain (YAML/JSON) value into what the ExperimentConfig field expects."""
    if key == "collect":
        if not isinstance(value, dict):
            raise ConfigError(f"'collect' must be a mapping such as {{steps: 400, num_envs: 8}}, got {value!r}")
        return CollectConfig(**value)
    if isinstance(value, list):
        return tuple(value)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value

"""Configuration: conf/base.yaml overlaid by conf/<profile>.yaml, then by --set overrides.

Each section is a frozen dataclass; unknown or missing keys are errors, so a typo in an
overlay fails loudly instead of being ignored. Nothing environment-specific lives in
Python: paths, table names, Spark settings and hyper-parameters all come from conf/.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crosslake.errors import ConfigError
from train.config import TrainConfig

DEFAULT_PROFILE = "local"
PROFILE_ENV = "CROSSLAKE_PROFILE"
LAKE_ROOT_ENV = "CROSSLAKE_LAKE_ROOT"
CONF_DIR_ENV = "CROSSLAKE_CONF_DIR"


@dataclass(frozen=True)
class LakeConfig:
    root: str
    time_travel_hours: int  # how far back every table stays readable; VACUUM never goes below it


@dataclass(frozen=True)
class TableConfig:
    path: str
    keys: list[str]
    partition_by: list[str]
    properties: dict[str, Any]
    volatile: list[str]
    schema_evolution: bool


@dataclass(frozen=True)
class MaintenanceConfig:
    vacuum_retention_hours: int
    optimize: bool


@dataclass(frozen=True)
class ModelsConfig:
    store: str
    name: str


@dataclass(frozen=True)
class SourceConfig:
    path: str


@dataclass(frozen=True)
class DatabaseConfig:
    url: str             # JDBC URL, without credentials
    driver: str          # JDBC driver class (DriverManager cannot see jars added through spark.jars)
    user_env: str        # names of the environment variables holding the credentials
    password_env: str


@dataclass(frozen=True)
class ExtractConfig:
    database: str                  # a name under databases:
    table: str                     # schema.table in the source database
    target: str                    # the logical table (under tables:) the rows land in
    watermark: str | None          # column that grows with every change; None: always full
    partition_column: str | None   # numeric column to split the read on; None: one reader
    num_partitions: int
    fetch_size: int


@dataclass(frozen=True)
class GenerateConfig:
    train: int
    test: int
    unsup: int
    seed: int


@dataclass(frozen=True)
class CleanConfig:
    validation_fraction: float
    split_seed: int
    max_text_chars: int
    max_quarantine_fraction: float
    min_rows: int


@dataclass(frozen=True)
class FeaturesConfig:
    vocab_size: int
    min_count: int
    max_len: int


@dataclass(frozen=True)
class BaselineConfig:
    num_features: int
    standardization: bool
    reg_param: float
    elastic_net: float
    max_iter: int


@dataclass(frozen=True)
class ScoreConfig:
    input_table: str
    splits: list[str]
    batch_size: int


@dataclass(frozen=True)
class SparkConfig:
    master: str
    log_level: str
    conf: dict[str, Any]


@dataclass(frozen=True)
class Config:
    profile: str
    lake: LakeConfig
    tables: dict[str, TableConfig]
    models: ModelsConfig
    source: SourceConfig
    databases: dict[str, DatabaseConfig]
    extracts: dict[str, ExtractConfig]
    generate: GenerateConfig
    clean: CleanConfig
    features: FeaturesConfig
    train: TrainConfig
    baseline: BaselineConfig
    score: ScoreConfig
    spark: SparkConfig
    maintenance: MaintenanceConfig

    def table(self, name: str) -> TableConfig:
        if name not in self.tables:
            raise ConfigError(f"unknown table '{name}': known tables are {', '.join(sorted(self.tables))}")
        return self.tables[name]

    def table_path(self, name: str) -> str:
        """Location of a logical table, e.g. ``table_path("silver")``."""
        return _join(self.lake.root, self.table(name).path)

    @property
    def model_store(self) -> str:
        return _join(self.lake.root, self.models.store)


def conf_dir() -> Path:
    return Path(os.environ.get(CONF_DIR_ENV) or Path(__file__).resolve().parents[1] / "conf")


def available_profiles() -> list[str]:
    return sorted(p.stem for p in conf_dir().glob("*.yaml") if p.stem != "base")


def load_config(
    profile: str | None = None,
    *,
    lake_root: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> Config:
    """Build the configuration for `profile` (default: $CROSSLAKE_PROFILE, else 'local')."""
    profile = profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    base, overlay = conf_dir() / "base.yaml", conf_dir() / f"{profile}.yaml"
    if not overlay.is_file():
        raise ConfigError(
            f"unknown profile '{profile}': choose one of {', '.join(available_profiles())} "
            f"(files in {conf_dir()}/) or add conf/{profile}.yaml"
        )
    data = _merge(_read_yaml(base), _read_yaml(overlay))
    for item in overrides:
        data = _merge(data, _parse_override(item))
    root = lake_root or os.environ.get(LAKE_ROOT_ENV) or data["lake"]["root"]
    data["lake"]["root"] = _absolute(root)
    data["source"]["path"] = _absolute(data["source"]["path"])
    return _build(Config, {"profile": profile, **data}, "config")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of sections")
    return data


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _parse_override(item: str) -> dict[str, Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects section.key=value, got '{item}'")
    value: Any = yaml.safe_load(raw) if raw else ""
    for part in reversed(key.strip().split(".")):
        value = {part: value}
    return value


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"'{where}' must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} in '{where}': known keys are {', '.join(sorted(names))}")
    missing = sorted(names - set(data))
    if missing:
        raise ConfigError(f"missing key(s) {', '.join(missing)} in '{where}'")
    values = {}
    for name in names:
        hint, value = hints[name], data[name]
        path = f"{where}.{name}" if where != "config" else name
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, value, path)
        elif typing.get_origin(hint) is dict and dataclasses.is_dataclass(typing.get_args(hint)[1]):
            item_cls = typing.get_args(hint)[1]
            values[name] = {k: _build(item_cls, v, f"{path}.{k}") for k, v in _coerce(dict, value, path).items()}
        else:
            values[name] = _coerce(hint, value, f"{where}.{name}")
    return cls(**values)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint) or hint
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin in (int, float, str, bool, list, dict) and not isinstance(value, origin):
        raise ConfigError(f"'{where}' must be {origin.__name__}, got {value!r}")
    if origin is int and isinstance(value, bool):
        raise ConfigError(f"'{where}' must be int, got {value!r}")
    return value


def _absolute(path: str) -> str:
    if "://" in path:
        return path
    return str(Path(path).expanduser().resolve())


def _join(root: str, rel: str) -> str:
    return f"{root.rstrip('/')}/{rel.lstrip('/')}"

"""Configuration: conf/base.yaml overlaid by conf/<profile>.yaml, then by --set overrides.

Nothing environment-specific lives in Python: paths, table names, Spark settings and
hyper-parameters all come from conf/. This module is the public entry: ``load_config``
reads and merges the files, binds the result to ``Config`` and checks it; every other
module imports what it needs from here. The parts live beside it, each with its rules:

* crosslake/settings.py: the pipeline's sections (lake, clean, train, serve, ...);
* crosslake/catalog.py: tables, the cluster and the model store, and who writes each;
* crosslake/datasets.py and crosslake/names.py: tabular dataset declarations, their
  checks and the column-name rules;
* crosslake/binder.py: the typed YAML binder (unknown, missing and mistyped keys refused);
* crosslake/ranges.py: the range of every numeric setting.

Each section is a frozen dataclass; unknown or missing keys are errors, so a typo in an
overlay fails loudly instead of being ignored.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from crosslake import catalog, ranges, storage
from crosslake.binder import TEXT_SETTINGS, YAML_KINDS, bind, check_dataset_scalars, read_yaml  # noqa: F401
from crosslake.catalog import (  # noqa: F401  (re-exported)
    DATASET_TABLES, EACH, ROLES, ClusterConfig, ModelsConfig, TableConfig, check_owners, dataset_tables,
)
from crosslake.datasets import (  # noqa: F401  (re-exported)
    COLUMN_TYPES, DECIMAL, SOURCE_FORMATS, DatasetCleanConfig, DatasetConfig, DatasetFeaturesConfig,
    DatasetModelConfig, DatasetSourceConfig, DatasetSplitConfig, check_dataset, check_expectation_columns,
    column_type,
)
from crosslake.errors import ConfigError
from crosslake.names import (  # noqa: F401  (re-exported)
    PLAIN_NAME, RESERVED_COLUMNS, RESERVED_KEYS, check_column_names, is_plain_name, plain_name_for, rename_hint,
)
from crosslake.ranges import (  # noqa: F401  (re-exported)
    ANY, COUNT, DROPOUT, FRACTION, GENERATE_MAX, NON_NEGATIVE, POSITIVE, RANGES, Range, check_ranges,
    train_setting_problem,
)
from crosslake.settings import (  # noqa: F401  (re-exported)
    BaselineConfig, CleanConfig, DatabaseConfig, ExtractConfig, FeaturesConfig, GenerateConfig, IngestConfig,
    LakeConfig, MaintenanceConfig, ScoreConfig, ServeConfig, SourceConfig, SparkConfig, StreamConfig, TrainConfig,
)
from crosslake.storage import StorageConfig

DEFAULT_PROFILE = "local"
PROFILE_ENV = "CROSSLAKE_PROFILE"
LAKE_ROOT_ENV = "CROSSLAKE_LAKE_ROOT"
CONF_DIR_ENV = "CROSSLAKE_CONF_DIR"


@dataclass(frozen=True)
class Config:
    profile: str
    cluster: ClusterConfig
    storage: StorageConfig
    lake: LakeConfig
    tables: dict[str, TableConfig]
    models: ModelsConfig
    source: SourceConfig
    databases: dict[str, DatabaseConfig]
    extracts: dict[str, ExtractConfig]
    datasets: dict[str, DatasetConfig]
    generate: GenerateConfig
    clean: CleanConfig
    features: FeaturesConfig
    train: TrainConfig
    baseline: BaselineConfig
    score: ScoreConfig
    stream: StreamConfig
    serve: ServeConfig
    spark: SparkConfig
    maintenance: MaintenanceConfig
    ingest: IngestConfig = IngestConfig()

    def table(self, name: str) -> TableConfig:
        return catalog.table(self, name)

    def table_path(self, name: str) -> str:
        """Location of a logical table, e.g. ``table_path("silver")``."""
        return catalog.table_path(self, name)

    def require_writer(self, name: str) -> None:
        """Refuse to write table `name` (or "models": the model store) from a cluster whose
        roles do not include its owner: Delta on object storage is safe with one writing
        cluster per table, and the model store with one writer."""
        catalog.require_writer(self, name)

    @property
    def scratch(self) -> str:
        """This cluster's local working folder: checkpoints, caches, extracted archives, reports."""
        return self.lake.scratch or self.lake.root

    def dataset(self, name: str) -> DatasetConfig:
        if name not in self.datasets:
            declared = ", ".join(sorted(self.datasets)) or "none"
            raise ConfigError(f"unknown dataset '{name}': declared datasets are {declared}"
                              f" (add one under datasets: in conf/)")
        return self.datasets[name]

    @property
    def model_store(self) -> storage.Location:
        """The model store's folder, with this profile's object-store settings."""
        return storage.Location(catalog.model_store(self), self.storage)


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
    """Build the configuration for `profile` (default: $CROSSLAKE_PROFILE, else 'local').
    Profiles combine with commas, each overlaying the ones before it: `cloud-cpu,test` is
    the scoring cluster's settings at the test profile's sizes."""
    profile = profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    data = read_yaml(conf_dir() / "base.yaml")
    written = read_yaml(conf_dir() / "base.yaml", raw=True)  # the same, every scalar as the text written
    for name in profile.split(","):
        overlay = conf_dir() / f"{name.strip()}.yaml"
        if not overlay.is_file():
            raise ConfigError(
                f"unknown profile '{name}': choose one of {', '.join(available_profiles())} "
                f"(files in {conf_dir()}/) or add conf/{name}.yaml"
            )
        data = _merge(data, read_yaml(overlay))
        written = _merge(written, read_yaml(overlay, raw=True))
    for item in overrides:
        data = _merge(data, _parse_override(item))
        written = _merge(written, _parse_override(item, raw=True))
    declared, as_written = data.get("datasets"), written.get("datasets")
    for name, ds in (declared.items() if isinstance(declared, dict) else ()):
        check_dataset_scalars(name, ds, as_written.get(name) if isinstance(as_written, dict) else None)
    root = lake_root or os.environ.get(LAKE_ROOT_ENV) or data["lake"]["root"]
    data["lake"]["root"] = _absolute(root)
    if data["lake"].get("scratch") is None and storage.is_remote(data["lake"]["root"]):
        data["lake"]["scratch"] = ".crosslake"  # a remote lake: per-cluster files stay on local disk
    if data["lake"].get("scratch") is not None:
        data["lake"]["scratch"] = _absolute(data["lake"]["scratch"])
    data["source"]["path"] = _absolute(data["source"]["path"])
    if isinstance(data.get("cluster"), dict) and isinstance(data["cluster"].get("shared_paths"), list):
        data["cluster"]["shared_paths"] = [_absolute(str(p)) for p in data["cluster"]["shared_paths"]]
    for ds in (data.get("datasets") or {}).values():
        if isinstance(ds, dict) and isinstance(ds.get("source"), dict) and ds["source"].get("path"):
            ds["source"]["path"] = _absolute(ds["source"]["path"])
    cfg = bind(Config, {"profile": profile, **data}, "config")
    check_ranges(cfg, overrides, conf_dir())
    for name, ds in cfg.datasets.items():
        check_dataset(name, ds, cfg)
    check_owners(cfg)
    return dataclasses.replace(cfg, tables={**dataset_tables(cfg), **cfg.tables})


def numeric_settings(cls: type | None = None, where: str = "") -> Iterator[tuple[str, str, type]]:
    """(pattern, field, hint) of every numeric setting of `cls` (default: the whole Config)."""
    return ranges.numeric_settings(cls or Config, where)


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _parse_override(item: str, *, raw: bool = False) -> dict[str, Any]:
    key, sep, text = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects section.key=value, got '{item}'")
    try:
        if raw:  # as written, for messages that quote what the user typed
            value: Any = yaml.load(text, Loader=yaml.BaseLoader) if text else ""
        else:
            value = yaml.safe_load(text) if text else ""
    except yaml.YAMLError as exc:
        problem = str(exc).splitlines()[0]
        raise ConfigError(f"--set {item}: the value is not valid YAML ({problem}); quote it: "
                          f"--set '{key.strip()}=\"{text}\"'") from None
    if not raw:
        if isinstance(value, str) and re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", value.strip()):
            value = float(value)  # YAML 1.1 reads 1e-3 (no dot) as a string; on the command line it means a number
    for part in reversed(key.strip().split(".")):
        value = {part: value}
    return value


def _absolute(path: str) -> str:
    if "://" in path:
        return path
    return str(Path(path).expanduser().resolve())

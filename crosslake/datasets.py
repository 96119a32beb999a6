"""Tabular dataset declarations: a dataset under ``datasets:`` in conf/ needs no Python.

A declaration names its source (CSV, Parquet or a database extract), its columns and
their types, the business key, the label, the suite (as in expectations/from_config.py),
the features, and optionally its cleaning rules, split, model and training overrides
(docs in conf/base.yaml). ``check_dataset`` refuses a declaration that could not work,
naming the setting to fix, before any job touches data; the rules for column names
themselves are in crosslake/names.py.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crosslake.errors import ConfigError
from crosslake.names import check_column_names, rename_hint
from crosslake.settings import TrainConfig

if TYPE_CHECKING:
    from crosslake.config import Config

SOURCE_FORMATS = ("csv", "parquet", "jdbc")
COLUMN_TYPES = ("string", "boolean", "int", "bigint", "double", "float", "date", "timestamp")
DECIMAL = re.compile(r"^decimal\(\d+,\s*\d+\)$")


@dataclass(frozen=True)
class DatasetSourceConfig:
    format: str                    # csv | parquet | jdbc
    path: str | None = None        # csv/parquet: a file or a folder of files (relative: to the working dir)
    extract: str | None = None     # jdbc: the extract (under extracts:) that lands the table as <dataset>_bronze
    delimiter: str = ","           # csv only
    quote: str = '"'               # csv only
    encoding: str = "utf-8"        # csv only; bytes that do not decode are quarantined, not guessed at


@dataclass(frozen=True)
class DatasetCleanConfig:
    trim: bool = True                      # strip surrounding whitespace from every text value
    null_values: list[str] = dataclasses.field(default_factory=lambda: ["", "NA", "N/A", "null", "NULL"])
    lowercase: list[str] = dataclasses.field(default_factory=list)  # columns folded to lower case
    max_field_chars: int = 1000            # longer values are quarantined as oversized
    max_quarantine_fraction: float = 0.05  # more quarantined than this blocks the publish


@dataclass(frozen=True)
class DatasetFeaturesConfig:
    numeric: list[str] = dataclasses.field(default_factory=list)      # standardised with train-split mean/std
    categorical: list[str] = dataclasses.field(default_factory=list)  # one-hot over the train split's top values
    max_categories: int = 20               # per column; rarer values share one "other" slot


@dataclass(frozen=True)
class DatasetModelConfig:
    hidden: list[int] = dataclasses.field(default_factory=lambda: [64, 32])  # MLP layer widths
    dropout: float = 0.1


@dataclass(frozen=True)
class DatasetSplitConfig:
    validation_fraction: float = 0.1       # chosen by a hash of the key: stable across runs
    test_fraction: float = 0.2
    seed: int = 7


@dataclass(frozen=True)
class DatasetConfig:
    """A tabular dataset declared in conf/: no Python needed to add one (docs in base.yaml)."""
    source: DatasetSourceConfig
    columns: dict[str, Any]        # name -> type, or {type: ..., format: ...} for dates/timestamps
    keys: list[str]
    label: str
    expectations: dict[str, Any]   # the suite, as in expectations/from_config.py
    features: DatasetFeaturesConfig
    rename: dict[str, str] = dataclasses.field(default_factory=dict)  # source column -> declared column
    extra_columns: str = "error"   # error | ignore: columns in the source that are not declared
    clean: DatasetCleanConfig = DatasetCleanConfig()
    split: DatasetSplitConfig = DatasetSplitConfig()
    model: DatasetModelConfig = DatasetModelConfig()
    train: dict[str, Any] = dataclasses.field(default_factory=dict)  # overrides of train: for this dataset


def column_type(spec: Any) -> tuple[str, str | None]:
    """(type, format) of a declared column: `bigint` or `{type: date, format: dd/MM/yyyy}`."""
    if isinstance(spec, dict):
        return spec.get("type", ""), spec.get("format")
    return spec, None


def check_dataset(name: str, ds: DatasetConfig, cfg: Config) -> None:
    """Mistakes in a dataset declaration, named, before any job touches data."""
    where = f"datasets.{name}"
    if ds.source.format not in SOURCE_FORMATS:
        raise ConfigError(f"{where}.source.format must be one of {', '.join(SOURCE_FORMATS)}, got '{ds.source.format}'")
    if ds.source.format == "jdbc":
        spec = cfg.extracts.get(ds.source.extract or "")
        if spec is None:
            raise ConfigError(f"{where}.source.extract must name an extract under extracts: "
                              f"(declared: {', '.join(cfg.extracts) or 'none'})")
        if spec.target != f"{name}_bronze":
            raise ConfigError(f"extracts.{ds.source.extract}.target must be '{name}_bronze' to feed dataset '{name}'")
    elif not ds.source.path:
        raise ConfigError(f"{where}.source.path is needed for a {ds.source.format} source")
    if not ds.columns:
        raise ConfigError(f"{where}.columns: declare at least one column (name: type)")
    for col, spec in ds.columns.items():
        kind, fmt = column_type(spec)
        if kind not in COLUMN_TYPES and not DECIMAL.match(str(kind)):
            raise ConfigError(f"{where}.columns.{col}: unknown type '{kind}'; use one of {', '.join(COLUMN_TYPES)} "
                              f"or decimal(p,s)")
        if fmt is not None and kind not in ("date", "timestamp"):
            raise ConfigError(f"{where}.columns.{col}: a format applies to date and timestamp columns only")
        if col.startswith("_"):
            raise ConfigError(f"{where}.columns.{col}: names starting with '_' are reserved for lineage columns")
    check_column_names(name, ds)
    check_expectation_columns(name, ds)
    label_kind = column_type(ds.columns.get(ds.label, "boolean"))[0]
    if label_kind in ("string", "date", "timestamp"):
        raise ConfigError(f"{where}.label: column {ds.label} is declared {label_kind}, but the model learns a "
                          f"two-class outcome: declare it boolean (true/false, yes/no, y/n, t/f and 1/0 all read as "
                          f"booleans) or int (0/1)")
    odd = [s for s in ds.rename if not isinstance(s, str)]
    if odd:
        raise ConfigError(f"{where}.rename: the source name {odd[0]!r} was read by YAML as "
                          f"{type(odd[0]).__name__}; quote it: {rename_hint({str(odd[0]): ds.rename[odd[0]]})}")
    named = {"keys": ds.keys, "label": [ds.label], "features.numeric": ds.features.numeric,
             "features.categorical": ds.features.categorical, "clean.lowercase": ds.clean.lowercase,
             "rename (targets)": list(ds.rename.values())}
    for what, cols in named.items():
        unknown = [c for c in cols if c not in ds.columns]
        if unknown:
            raise ConfigError(f"{where}.{what}: {', '.join(unknown)} not among the declared columns")
    if not ds.keys:
        raise ConfigError(f"{where}.keys: declare the business key (one or more columns)")
    unknown_train = sorted(set(ds.train) - {f.name for f in dataclasses.fields(TrainConfig)})
    if unknown_train:
        raise ConfigError(f"{where}.train: unknown key(s) {', '.join(unknown_train)} (they override train:)")
    if ds.extra_columns not in ("error", "ignore"):
        raise ConfigError(f"{where}.extra_columns must be 'error' or 'ignore', got '{ds.extra_columns}'")
    split = ds.split
    if not (0 <= split.validation_fraction and 0 <= split.test_fraction
            and split.validation_fraction + split.test_fraction < 1):
        raise ConfigError(f"{where}.split: fractions must be >= 0 and leave rows for training")


def check_expectation_columns(name: str, ds: DatasetConfig) -> None:
    """A check on a column the rows it runs on do not have would fail deep in Spark: row
    checks see the declared columns, output checks silver's (plus split and the lineage),
    input checks only `quarantined`."""
    seen = {"row": set(ds.columns), "output": {*ds.columns, "split", "_source", "_source_row"},
            "input": {"quarantined"}}
    for group, checks in (ds.expectations or {}).items():
        for check, entry in (checks or {}).items() if isinstance(checks, dict) else ():
            if not isinstance(entry, dict) or group not in seen:
                continue  # suite_from_config names those mistakes
            named = [entry.get(k) for k in ("column", "column_A", "column_B") if isinstance(entry.get(k), str)]
            named += [c for c in entry.get("columns") or [] if isinstance(c, str)] if isinstance(
                entry.get("columns"), list) else []
            unknown = [c for c in named if c not in seen[group]]
            if unknown:
                hint = ("declared under columns:" if group != "input"
                        else "input checks see one column, quarantined (true for each quarantined row)")
                raise ConfigError(f"datasets.{name}.expectations.{group}.{check}: column {', '.join(unknown)} is not "
                                  f"{'among the columns ' + group + ' checks see: ' if group == 'input' else ''}"
                                  f"{hint}")

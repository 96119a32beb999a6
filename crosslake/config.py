"""Configuration: conf/base.yaml overlaid by conf/<profile>.yaml, then by --set overrides.

Each section is a frozen dataclass; unknown or missing keys are errors, so a typo in an
overlay fails loudly instead of being ignored. Nothing environment-specific lives in
Python: paths, table names, Spark settings and hyper-parameters all come from conf/.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crosslake import storage
from crosslake.errors import ConfigError
from crosslake.storage import StorageConfig
from train.config import TrainConfig

DEFAULT_PROFILE = "local"
PROFILE_ENV = "CROSSLAKE_PROFILE"
LAKE_ROOT_ENV = "CROSSLAKE_LAKE_ROOT"
CONF_DIR_ENV = "CROSSLAKE_CONF_DIR"


@dataclass(frozen=True)
class LakeConfig:
    root: str
    time_travel_hours: int  # how far back every table stays readable; VACUUM never goes below it
    scratch: str | None = None  # this cluster's own local working folder (default: the lake root if local)


ROLES = ("training", "scoring")
EACH = "each"  # a table every cluster keeps for itself, at a path with {cluster} in it


@dataclass(frozen=True)
class ClusterConfig:
    """Which cluster this profile runs on and which roles it plays. A table or the model
    store is written only by clusters that play its owner's role (one writer per table)."""
    name: str
    roles: list[str]


@dataclass(frozen=True)
class TableConfig:
    path: str
    keys: list[str]
    partition_by: list[str]
    properties: dict[str, Any]
    volatile: list[str]
    schema_evolution: bool
    owner: str = "training"  # the role whose cluster writes it: training | scoring | each


@dataclass(frozen=True)
class MaintenanceConfig:
    vacuum_retention_hours: int
    optimize: bool


@dataclass(frozen=True)
class ModelsConfig:
    store: str
    name: str
    owner: str = "training"  # the role whose cluster writes the store


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
    # input check: the positive rate among quarantined labelled rows may differ from the
    # published rows' by at most this much (absolute), once label_skew_min_rows are quarantined
    max_label_skew: float = 0.2
    label_skew_min_rows: int = 20


@dataclass(frozen=True)
class IngestConfig:
    max_file_bytes: int = 10 * 1024 * 1024  # a larger file is not read: bronze keeps its size, clean quarantines it


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
class StreamConfig:
    max_files_per_trigger: int     # input files (Delta commits' files or dropped files) per micro-batch
    dropzone: str | None = None    # folder of JSON-lines files for `crosslake stream --source files`


@dataclass(frozen=True)
class ServeConfig:
    host: str
    port: int
    max_chars: int                 # longest review the page accepts
    max_request_bytes: int         # larger requests are refused before they are read
    reload_seconds: float          # how often the page re-reads the production alias
    min_known_fraction: float = 0.3  # below this share of known words the page cannot judge a text


@dataclass(frozen=True)
class SparkConfig:
    master: str
    log_level: str
    conf: dict[str, Any]
    extra_jars: list[str] = field(default_factory=list)   # jar sets beyond .jars/: gpu -> .jars-gpu/


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
        if name not in self.tables:
            raise ConfigError(f"unknown table '{name}': known tables are {', '.join(sorted(self.tables))}")
        return self.tables[name]

    def table_path(self, name: str) -> str:
        """Location of a logical table, e.g. ``table_path("silver")``."""
        return _join(self.lake.root, self.table(name).path.replace("{cluster}", self.cluster.name))

    def require_writer(self, name: str) -> None:
        """Refuse to write table `name` (or "models": the model store) from a cluster whose
        roles do not include its owner: Delta on object storage is safe with one writing
        cluster per table, and the model store with one writer."""
        owner = self.models.owner if name == "models" else self.table(name).owner
        if owner == EACH or owner in self.cluster.roles:
            return
        what = "the model store" if name == "models" else f"table '{name}'"
        raise ConfigError(f"{what} is written only by the {owner} cluster; this profile ({self.profile}) runs on "
                          f"cluster '{self.cluster.name}' with role(s) {', '.join(self.cluster.roles)}. "
                          f"Run this job under a profile of the {owner} side")

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
    """Build the configuration for `profile` (default: $CROSSLAKE_PROFILE, else 'local').
    Profiles combine with commas, each overlaying the ones before it: `cloud-cpu,test` is
    the scoring cluster's settings at the test profile's sizes."""
    profile = profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    data = _read_yaml(conf_dir() / "base.yaml")
    written = _read_yaml(conf_dir() / "base.yaml", raw=True)  # the same, every scalar as the text written
    for name in profile.split(","):
        overlay = conf_dir() / f"{name.strip()}.yaml"
        if not overlay.is_file():
            raise ConfigError(
                f"unknown profile '{name}': choose one of {', '.join(available_profiles())} "
                f"(files in {conf_dir()}/) or add conf/{name}.yaml"
            )
        data = _merge(data, _read_yaml(overlay))
        written = _merge(written, _read_yaml(overlay, raw=True))
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
    for ds in (data.get("datasets") or {}).values():
        if isinstance(ds, dict) and isinstance(ds.get("source"), dict) and ds["source"].get("path"):
            ds["source"]["path"] = _absolute(ds["source"]["path"])
    cfg = _build(Config, {"profile": profile, **data}, "config")
    check_ranges(cfg, overrides)
    for name, ds in cfg.datasets.items():
        check_dataset(name, ds, cfg)
    check_owners(cfg)
    storage.configure(cfg.storage)
    return dataclasses.replace(cfg, tables={**dataset_tables(cfg), **cfg.tables})


DATASET_TABLES = ("bronze", "silver", "quarantine", "encoding", "gold")
SOURCE_FORMATS = ("csv", "parquet", "jdbc")
COLUMN_TYPES = ("string", "boolean", "int", "bigint", "double", "float", "date", "timestamp")
DECIMAL = re.compile(r"^decimal\(\d+,\s*\d+\)$")


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


# -- ranges of numeric settings ---------------------------------------------------------
@dataclass(frozen=True)
class Range:
    """Allowed values of a numeric setting: low <= x <= high (open: < instead of <=); None: no bound."""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, x: float) -> bool:
        return ((self.low is None or (x > self.low if self.low_open else x >= self.low))
                and (self.high is None or (x < self.high if self.high_open else x <= self.high)))

    def __str__(self) -> str:
        low = None if self.low is None else f"{'>' if self.low_open else '>='} {self.low:,}"
        high = None if self.high is None else f"{'<' if self.high_open else '<='} {self.high:,}"
        if low and high and not (self.low_open or self.high_open):
            return f"between {self.low:,} and {self.high:,}"
        return " and ".join(b for b in (low, high) if b) or "any number"


ANY = Range()                            # seeds
FRACTION = Range(0, 1)
COUNT = Range(1)                         # sizes, limits, counts
NON_NEGATIVE = Range(0)                  # where 0 has a documented meaning (off, none, auto)
POSITIVE = Range(0, low_open=True)
DROPOUT = Range(0, 1, high_open=True)    # 1 would zero every activation: nothing learns
GENERATE_MAX = {"train": 25_000, "test": 25_000, "unsup": 50_000}  # the real aclImdb's sizes

# Every numeric setting (int, float, list of them) and its range; `*` stands for a name under
# tables:, extracts:, datasets: (tests/bad_input/test_usage_errors.py checks none is missing).
RANGES: dict[str, Range] = {
    "lake.time_travel_hours": NON_NEGATIVE,
    "maintenance.vacuum_retention_hours": NON_NEGATIVE,
    "extracts.*.num_partitions": COUNT,
    "extracts.*.fetch_size": COUNT,
    "datasets.*.clean.max_field_chars": COUNT,
    "datasets.*.clean.max_quarantine_fraction": FRACTION,
    "datasets.*.features.max_categories": COUNT,
    "datasets.*.model.hidden": COUNT,
    "datasets.*.model.dropout": DROPOUT,
    "datasets.*.split.validation_fraction": FRACTION,
    "datasets.*.split.test_fraction": FRACTION,
    "datasets.*.split.seed": ANY,
    **{f"generate.{k}": Range(0, cap) for k, cap in GENERATE_MAX.items()},
    "generate.seed": ANY,
    "clean.validation_fraction": FRACTION,
    "clean.split_seed": ANY,
    "clean.max_text_chars": COUNT,
    "clean.max_quarantine_fraction": FRACTION,
    "clean.min_rows": NON_NEGATIVE,          # 0: an empty silver is allowed
    "clean.max_label_skew": FRACTION,        # a difference of two positive rates
    "clean.label_skew_min_rows": COUNT,
    "ingest.max_file_bytes": COUNT,
    "features.vocab_size": COUNT,
    "features.min_count": COUNT,
    "features.max_len": COUNT,
    "train.epochs": COUNT,
    "train.batch_size": COUNT,
    "train.lr": POSITIVE,
    "train.weight_decay": NON_NEGATIVE,
    "train.embed_dim": COUNT,
    "train.num_filters": COUNT,
    "train.kernel_sizes": COUNT,
    "train.dropout": DROPOUT,
    "train.seed": ANY,
    "train.num_threads": NON_NEGATIVE,       # 0: one per core
    "train.loader_workers": COUNT,
    "train.patience": NON_NEGATIVE,          # 0: no early stopping
    "train.processes": COUNT,
    "baseline.num_features": COUNT,
    "baseline.reg_param": NON_NEGATIVE,
    "baseline.elastic_net": FRACTION,
    "baseline.max_iter": COUNT,
    "score.batch_size": COUNT,
    "stream.max_files_per_trigger": COUNT,
    "serve.port": Range(0, 65_535),          # 0: any free port
    "serve.max_chars": COUNT,
    "serve.max_request_bytes": COUNT,
    "serve.min_known_fraction": FRACTION,
    "serve.reload_seconds": NON_NEGATIVE,    # 0: re-read the alias on every request
}


def numeric_settings(cls: type = None, where: str = "") -> typing.Iterator[tuple[str, str, type]]:
    """(pattern, field, hint) of every numeric field of `cls` (default Config) and the
    dataclasses inside it; the pattern writes a name under a mapping as `*`."""
    cls = cls or Config
    for name, hint in typing.get_type_hints(cls).items():
        path = f"{where}.{name}" if where else name
        if dataclasses.is_dataclass(hint):
            yield from numeric_settings(hint, path)
        elif typing.get_origin(hint) is dict and dataclasses.is_dataclass(typing.get_args(hint)[1]):
            yield from numeric_settings(typing.get_args(hint)[1], f"{path}.*")
        elif _numeric(hint):
            yield path, name, hint


def _numeric(hint: Any) -> bool:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is list:
        return bool(args) and args[0] in (int, float)
    if args:  # X | None
        return len(args) == 1 and _numeric(args[0])
    return hint in (int, float)


def check_ranges(cfg: Config, overrides: list[str] | tuple[str, ...] = ()) -> None:
    """Refuse a numeric setting outside its range (RANGES), naming it, the value and where to
    fix it: before any job runs, so a mistake never reaches Spark or a stored model."""
    for path, value, rng in _numbers(cfg, ""):
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if v is not None and (not math.isfinite(v) or v not in rng)]
        if bad:
            each = " each" if isinstance(value, list) else ""
            raise ConfigError(f"{path} must{each} be {rng} (got {value!r}): {_fix_hint(cfg.profile, overrides, path)}")
    for name, ds in cfg.datasets.items():  # overrides of train: for one dataset
        for key, value in ds.train.items():
            path = f"datasets.{name}.train.{key}"
            if (problem := train_setting_problem(key, value, path)) is not None:
                raise ConfigError(f"{problem}: {_fix_hint(cfg.profile, overrides, path)}")


def train_setting_problem(key: str, value: Any, where: str) -> str | None:
    """What is wrong with `value` for train.<key> (its type or range), or None; for values that
    bypass the config's own checks: a dataset's train: overrides, `crosslake sweep --grid`."""
    hints = typing.get_type_hints(TrainConfig)
    if key not in hints:
        return None  # unknown keys are named by the caller's own check
    try:
        value = _coerce(hints[key], value, where)
    except ConfigError as exc:
        return str(exc)
    rng = RANGES.get(f"train.{key}")
    values = value if isinstance(value, list) else [value]
    if rng is not None and any(isinstance(v, (int, float)) and not (math.isfinite(v) and v in rng) for v in values):
        return f"{where} must{' each' if isinstance(value, list) else ''} be {rng} (got {value!r})"
    return None


def _numbers(obj: Any, where: str, pattern: str = "") -> typing.Iterator[tuple[str, Any, Range]]:
    """(path, value, range) of every numeric field of the dataclass `obj` that has a range."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value, hint = getattr(obj, f.name), hints[f.name]
        path = f"{where}.{f.name}" if where else f.name
        pat = f"{pattern}.{f.name}" if pattern else f.name
        if dataclasses.is_dataclass(value):
            yield from _numbers(value, path, pat)
        elif typing.get_origin(hint) is dict and dataclasses.is_dataclass(typing.get_args(hint)[1]):
            for key, item in value.items():
                yield from _numbers(item, f"{path}.{key}", f"{pat}.*")
        elif _numeric(hint) and pat in RANGES:
            yield path, value, RANGES[pat]


def _fix_hint(profile: str, overrides: list[str] | tuple[str, ...], path: str) -> str:
    """Where a setting's value came from: the last --set of it, else the last conf/ file that sets it."""
    if any(item.partition("=")[0].strip() == path for item in overrides):
        return f"fix --set {path}=..."
    files = ["base.yaml"] + [f"{n.strip()}.yaml" for n in profile.split(",")]
    found = [f for f in files if _sets(_read_yaml(conf_dir() / f), path.split("."))]
    where = f"conf/{found[-1]}" if found else f"conf/{files[-1]}"
    return f"fix {where} or --set {path}=..."


def _sets(data: Any, keys: list[str]) -> bool:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True
# Declared column names are plain: a letter (any script), then letters, digits or '_'.
# Spark reads `a.b` as a field of a struct, Delta refuses " ,;{}()=" and tabs or newlines
# in names, and SQL text needs quotes around `1st` or `a-b`; a source column with any
# other name (an empty header included) is mapped to a plain one under rename:.
PLAIN_NAME = re.compile(r"^[^\W\d_]\w*$")
# Columns the jobs add beside the declared ones: silver's split, clean's failed_checks;
# gold carries the keys beside label, features and the versions it was made from.
RESERVED_COLUMNS = ("split", "failed_checks")
RESERVED_KEYS = ("split", "label", "features", "silver_version", "encoding_version")


def is_plain_name(name: str) -> bool:
    return bool(PLAIN_NAME.match(name))


def plain_name_for(source: str, position: int | None = None) -> str:
    """A plain name to suggest for a source column: `sample.yr` -> sample_yr, `1st` ->
    col_1st, an empty header -> row_name (first column) or col_<n>."""
    name = re.sub(r"\W+", "_", source).strip("_")
    if not name:
        return "row_name" if position == 0 else f"col_{(position or 0) + 1}" if position is not None else "col"
    return f"col_{name}" if not name[0].isalpha() else name


def rename_hint(pairs: dict[str, str]) -> str:
    """`rename: {"sample.yr": sample_yr}`, ready to paste into the dataset's declaration."""
    return "rename: {" + ", ".join(f"{json.dumps(s, ensure_ascii=False)}: {d}" for s, d in pairs.items()) + "}"


def check_column_names(name: str, ds: DatasetConfig) -> None:
    """Declared names that Spark, Delta or the jobs' own columns would trip on, refused
    with the rename that fixes them."""
    where = f"datasets.{name}"
    for col in ds.columns:
        if not is_plain_name(col):
            plain = plain_name_for(col)
            raise ConfigError(f"{where}.columns: {json.dumps(col, ensure_ascii=False)} is not a plain name "
                              f"(letters, digits and _, starting with a letter): declare it as {plain} and map the "
                              f"source column to it: {rename_hint({col: plain})}")
        if col.lower() in RESERVED_COLUMNS:
            raise ConfigError(f"{where}.columns.{col}: the name is taken by the {col.lower()} column the jobs add; "
                              f"declare it as source_{col} and map it: {rename_hint({col: f'source_{col}'})}")
    folded: dict[str, str] = {}
    for col in ds.columns:
        if col.lower() in folded:
            raise ConfigError(f"{where}.columns: {folded[col.lower()]} and {col} differ only in case, which Spark "
                              f"does not tell apart: declare one under another name and map it under rename:")
        folded[col.lower()] = col
    taken = [k for k in ds.keys if k.lower() in RESERVED_KEYS]
    if taken:
        raise ConfigError(f"{where}.keys: {', '.join(taken)} is also a column of gold ({', '.join(RESERVED_KEYS)}): "
                          f"declare the key under another name and map it under rename:")
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


# Settings of a dataset declaration that hold text: a value YAML typed otherwise (yes/no
# and on/off are booleans, 1.0 and 01 numbers, null and ~ nothing) would be compared or
# matched as that type, silently. (path in the declaration, what it holds)
TEXT_SETTINGS = (
    (("label",), "value"), (("keys",), "list"), (("features", "numeric"), "list"),
    (("features", "categorical"), "list"), (("clean", "lowercase"), "list"), (("clean", "null_values"), "list"),
    (("rename",), "mapping"), (("columns",), "names"),
)


def check_dataset_scalars(name: str, ds: Any, written: Any) -> None:
    """Text settings YAML read as something else, refused with the quoting that fixes them.
    `written` is the same declaration read with every scalar as text (what the user typed)."""
    if not isinstance(ds, dict):
        return
    written = written if isinstance(written, dict) else {}
    where = f"datasets.{name}"
    for path, shape in TEXT_SETTINGS:
        value, text = _at(ds, path), _at(written, path)
        setting, field_name = f"{where}.{'.'.join(path)}", path[-1]
        if shape == "value" and value is not None and not isinstance(value, str):
            _refuse_typed(setting, [(value, text)], f"{field_name}: {_q(text)}")
        elif shape == "list" and isinstance(value, list):
            texts = text if isinstance(text, list) and len(text) == len(value) else value
            _refuse_typed(setting, list(zip(value, texts)), f"{field_name}: [{', '.join(map(_q, texts))}]")
        elif shape in ("mapping", "names") and isinstance(value, dict):
            pairs = list(zip(value.items(), text.items() if isinstance(text, dict) and len(text) == len(value)
                             else value.items()))
            bad_keys = [(k, tk) for (k, _), (tk, _) in pairs if not isinstance(k, str)]
            _refuse_typed(f"{setting} (a name)", bad_keys, f"{field_name}: {{" + ", ".join(
                f"{_q(tk)}: {tv if isinstance(tv, str) else '...'}" for (k, _), (tk, tv) in pairs
                if not isinstance(k, str)) + "}")
            if shape == "mapping":
                bad_values = [(v, tv) for (_, v), (_, tv) in pairs if not isinstance(v, str)]
                _refuse_typed(setting, bad_values, f"{field_name}: {{" + ", ".join(
                    f"{_q(tk)}: {_q(tv)}" for (_, v), (tk, tv) in pairs if not isinstance(v, str)) + "}")
    columns = ds.get("columns") if isinstance(ds.get("columns"), dict) else {}
    text_columns = {c for c, spec in columns.items() if (spec.get("type") if isinstance(spec, dict) else spec)
                    == "string"}
    expectations = ds.get("expectations") if isinstance(ds.get("expectations"), dict) else {}
    for group, checks in expectations.items():
        for check, entry in (checks.items() if isinstance(checks, dict) else ()):
            if not isinstance(entry, dict):
                continue
            shown = _at(written, ("expectations", group, check))
            shown = shown if isinstance(shown, dict) else {}
            setting = f"{where}.expectations.{group}.{check}"
            for key in ("column", "column_A", "column_B", "regex"):
                if key in entry and not isinstance(entry[key], str):
                    _refuse_typed(f"{setting}.{key}", [(entry[key], shown.get(key))], f"{key}: {_q(shown.get(key))}")
            values = entry.get("values")
            if entry.get("column") in text_columns and isinstance(values, list):
                texts = shown.get("values")
                texts = texts if isinstance(texts, list) and len(texts) == len(values) else values
                _refuse_typed(f"{setting}.values", list(zip(values, texts)),
                              f"values: [{', '.join(map(_q, texts))}]",
                              why=f" (column {entry['column']} is declared string)")


def _at(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _q(text: Any) -> str:
    return json.dumps(str(text), ensure_ascii=False)


YAML_KINDS = {bool: ("the boolean", "booleans"), int: ("the number", "numbers"), float: ("the number", "numbers"),
              type(None): ("null", "null")}


def _refuse_typed(setting: str, pairs: list[tuple[Any, Any]], fix: str, *, why: str = "") -> None:
    """One line: the values (as written) YAML did not read as text, what it read them as, and
    the quoted form to write instead. pairs: (value as typed, text as written)."""
    bad = [(v, t) for v, t in pairs if not isinstance(v, str)]
    if not bad:
        return
    typed = ", ".join("null" if v is None else json.dumps(v) if isinstance(v, (bool, int, float)) else repr(v)
                      for v, _ in bad)
    kinds = {YAML_KINDS.get(type(v), (type(v).__name__,) * 2) for v, _ in bad}
    if len(bad) == 1:
        [(one, _)] = kinds
        read = f"was read by YAML as {one} {typed}" if one != "null" else "was read by YAML as null (no value)"
    elif len(kinds) == 1:
        [(_, many)] = kinds
        read = f"were read by YAML as {many} {typed}" if many != "null" else "were read by YAML as null (no value)"
    else:
        read = f"were read by YAML as {typed}, not as text"
    raise ConfigError(f"{setting}: {', '.join(str(t) for _, t in bad)} {read}{why}; "
                      f"quote {'it' if len(bad) == 1 else 'them'}: {fix}")


def check_owners(cfg: Config) -> None:
    unknown_roles = sorted(set(cfg.cluster.roles) - set(ROLES))
    if unknown_roles:
        raise ConfigError(f"cluster.roles: unknown role(s) {', '.join(unknown_roles)}; roles are {', '.join(ROLES)}")
    owners = {f"tables.{n}.owner": t.owner for n, t in cfg.tables.items()} | {"models.owner": cfg.models.owner}
    for where, owner in owners.items():
        if owner not in (*ROLES, EACH):
            raise ConfigError(f"{where} must be one of {', '.join((*ROLES, EACH))}, got '{owner}'")
    for name, table in cfg.tables.items():
        if table.owner == EACH and "{cluster}" not in table.path:
            raise ConfigError(f"tables.{name}: a table every cluster writes (owner: each) needs {{cluster}} in its "
                              f"path, so that each cluster writes its own copy")


def dataset_tables(cfg: Config) -> dict[str, TableConfig]:
    """The tables each dataset gets without declaring them: <name>_bronze, _silver,
    _quarantine, _encoding, _gold and _predictions (batch scoring's output, written by the
    scoring side) under datasets/<name>/. A table declared under
    tables: with the same name wins."""
    out = {}
    for name, ds in cfg.datasets.items():
        from_db = ds.source.format == "jdbc"
        source_name = {declared: original for original, declared in ds.rename.items()}
        out[f"{name}_bronze"] = TableConfig(  # files: one row per record, keyed by where it came from
            path=f"datasets/{name}/bronze",
            keys=[source_name.get(k, k) for k in ds.keys] if from_db else ["_source", "_source_row"],
            partition_by=[], properties={}, schema_evolution=False,
            volatile=["_extracted_at", "_run_id"] if from_db else ["_ingested_at", "_run_id"])
        out[f"{name}_silver"] = TableConfig(
            path=f"datasets/{name}/silver", keys=list(ds.keys), partition_by=[],
            properties={"delta.enableChangeDataFeed": True}, volatile=[], schema_evolution=False)
        out[f"{name}_quarantine"] = TableConfig(
            path=f"datasets/{name}/quarantine", keys=["_source", "_source_row"], partition_by=[], properties={},
            volatile=["run_id", "quarantined_at", "bronze_version"], schema_evolution=False)
        out[f"{name}_encoding"] = TableConfig(
            path=f"datasets/{name}/encoding", keys=["feature", "category"], partition_by=[], properties={},
            volatile=[], schema_evolution=False)
        out[f"{name}_gold"] = TableConfig(
            path=f"datasets/{name}/gold", keys=list(ds.keys), partition_by=["split"], properties={},
            volatile=[], schema_evolution=False)
        out[f"{name}_predictions"] = TableConfig(
            path=f"datasets/{name}/predictions", keys=[*ds.keys, "model_version"], partition_by=[], properties={},
            volatile=["scored_at"], schema_evolution=True, owner="scoring")
    return out


def _read_yaml(path: Path, *, raw: bool = False) -> dict[str, Any]:
    """The file's mapping; raw: every scalar as the text written (YAML's BaseLoader), to
    say what a value was before YAML typed it."""
    try:
        text = path.read_text()
        data = (yaml.load(text, Loader=yaml.BaseLoader) if raw else yaml.safe_load(text)) or {}
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


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"'{where}' must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} in '{where}': "
                          f"known keys are {', '.join(sorted(names))}")
    required = {f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    missing = sorted(required - set(data))
    if missing:
        raise ConfigError(f"missing key(s) {', '.join(missing)} in '{where}'")
    values = {}
    for name in names & set(data):
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

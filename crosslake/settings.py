"""The pipeline's settings sections: one frozen dataclass per top-level block of conf/.

Each class lists its fields and says why they exist; the values live in conf/ (base.yaml,
overlaid per profile, then --set), so there is one place to change them. Unknown or
missing keys are refused by the binder (crosslake/binder.py), numbers outside their
range by crosslake/ranges.py. The blocks with rules of their own live beside those
rules: tables, the cluster and the model store in crosslake/catalog.py, tabular
datasets in crosslake/datasets.py.

``TrainConfig`` is defined here, not in train/, so that loading the configuration never
imports the training side (train/config.py re-exports it for train/'s own use). Kept
free of torch and Spark imports so configuration loads fast everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LakeConfig:
    root: str
    time_travel_hours: int  # how far back every table stays readable; VACUUM never goes below it
    scratch: str | None = None  # this cluster's own local working folder (default: the lake root if local)


@dataclass(frozen=True)
class MaintenanceConfig:
    vacuum_retention_hours: int
    optimize: bool


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
    # input check: the positive rate among quarantined labelled rows may differ from the
    # published rows' by at most this much (absolute), once label_skew_min_rows are quarantined
    max_label_skew: float = 0.2
    label_skew_min_rows: int = 20


@dataclass(frozen=True)
class IngestConfig:
    max_file_bytes: int = 10 * 1024 * 1024  # a larger file is not read: bronze keeps its size, clean quarantines it


@dataclass(frozen=True)
class TokenizerConfig:
    """The review workload's tokenizer rules (transforms/tokens.py: TokenizerRules)."""
    urls: bool
    mentions: bool
    hashtags: bool
    numbers: bool
    repeats: int


@dataclass(frozen=True)
class FeaturesConfig:
    vocab_size: int
    min_count: int
    max_len: int
    tokenizer: TokenizerConfig


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters; the whole dataclass is saved into every model's metadata."""
    epochs: int
    batch_size: int
    lr: float                 # peak learning rate of the one-cycle schedule
    weight_decay: float
    embed_dim: int            # word embedding width
    num_filters: int          # convolution filters per kernel width
    kernel_sizes: list[int]   # n-gram widths read in order (3-5 cover "not very good", "but it was dull")
    dropout: float            # before the classifier head
    seed: int
    device: str               # auto | cpu | cuda
    num_threads: int          # torch CPU threads; 0 = one per core
    loader_workers: int       # feeder: row groups read ahead of training
    patience: int             # early stopping: epochs without a better validation accuracy; 0 = off
    processes: int            # data-parallel processes on this machine (DDP); 1 = train in this process
    text_model: str = "cnn"   # the review workload's network: cnn (text_cnn) | ngram (text_ngram)
    ngram_buckets: int = 262144  # text_ngram: hashed word-pair slots
    nb_alpha: float = 1.0     # text_ngram: smoothing of the naive-Bayes log-count ratios
    class_weight: str = "none"  # none | balanced: each class weighs in the loss as if both were equally common


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
    node_jars: str | None = None    # the jars' folder on every node of a cluster (conf/base.yaml: spark.node_jars)

"""The one Delta helper: every job reads and writes tables through these functions.

Writes say their mode explicitly (overwrite, append, merge with named keys, or
insert_new) and return the table version they committed, for the run's record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from crosslake.config import Config
from crosslake.errors import CrosslakeError

log = logging.getLogger(__name__)

WriteMode = Literal["overwrite", "append", "merge", "insert_new"]


@dataclass(frozen=True)
class TableInfo:
    name: str
    path: str
    version: int
    rows: int


def exists(spark: SparkSession, path: str) -> bool:
    return DeltaTable.isDeltaTable(spark, path)


def require(spark: SparkSession, cfg: Config, name: str) -> str:
    path = cfg.table_path(name)
    if not exists(spark, path):
        raise CrosslakeError(
            f"table '{name}' does not exist yet at {path}: run the job that writes it first "
            f"(see `crosslake --help`; the whole chain is `crosslake pipeline`)"
        )
    return path


def pinned_version(spark: SparkSession, cfg: Config, name: str, version: int | None = None) -> int:
    """The version a job will read: `version` if given (checked to exist), else the latest."""
    path = require(spark, cfg, name)
    latest = current_version(spark, path)
    if version is None:
        return latest
    if not 0 <= version <= latest:
        raise CrosslakeError(f"table '{name}' has versions 0..{latest}; version {version} does not exist")
    return version


def read_table(
    spark: SparkSession,
    cfg: Config,
    name: str,
    *,
    version: int | None = None,
    timestamp: str | None = None,
) -> DataFrame:
    """Read a table, optionally as of an earlier version or timestamp (time travel)."""
    path = require(spark, cfg, name)
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", pinned_version(spark, cfg, name, version))
    elif timestamp is not None:
        reader = reader.option("timestampAsOf", timestamp)
    return reader.load(path)


def current_version(spark: SparkSession, path: str) -> int:
    return DeltaTable.forPath(spark, path).history(1).select("version").first()[0]


def history(spark: SparkSession, cfg: Config, name: str, limit: int = 20) -> DataFrame:
    path = require(spark, cfg, name)
    return (
        DeltaTable.forPath(spark, path)
        .history(limit)
        .select("version", "timestamp", "operation", "operationParameters", "operationMetrics")
    )


def write_table(
    df: DataFrame,
    cfg: Config,
    name: str,
    *,
    mode: WriteMode,
    merge_keys: list[str] | None = None,
    partition_by: list[str] | None = None,
) -> int:
    """Write `df` to the logical table `name`; returns the committed version.

    overwrite: replace contents (schema must match unless it is a new table).
    append: add rows. merge: upsert by `merge_keys`. insert_new: add only rows whose
    `merge_keys` are not in the table yet (idempotent landing).
    """
    spark = df.sparkSession
    path = cfg.table_path(name)
    if mode in ("merge", "insert_new") and not merge_keys:
        raise ValueError(f"mode={mode} needs merge_keys")
    if mode in ("merge", "insert_new") and exists(spark, path):
        cond = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in merge_keys)
        merge = DeltaTable.forPath(spark, path).alias("t").merge(df.alias("s"), cond)
        if mode == "merge":
            merge = merge.whenMatchedUpdateAll()
        merge.whenNotMatchedInsertAll().execute()
    else:
        writer = df.write.format("delta").mode("append" if mode == "append" else "overwrite")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.save(path)
    version = current_version(spark, path)
    log.info("wrote %s (%s) version %d", name, mode, version)
    return version


def list_tables(spark: SparkSession, cfg: Config) -> list[TableInfo]:
    """Every configured table that exists, with its current version and row count."""
    out = []
    for name in cfg.tables:
        path = cfg.table_path(name)
        if exists(spark, path):
            rows = spark.read.format("delta").load(path).count()
            out.append(TableInfo(name, path, current_version(spark, path), rows))
    return out


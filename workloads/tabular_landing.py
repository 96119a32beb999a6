"""How a declared dataset lands: CSV or Parquet files -> its bronze table, one row per
record; a JDBC source is landed by its extract (jobs/extract.py) instead.

Files are judged before anything is written: a file whose header lacks a declared
column, or has an undeclared one (unless extra_columns: ignore), stops the ingest with
an error naming the file and the columns. Records are upserted by (file, line): the
same files again change nothing; a corrected file with the same name replaces its rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from crosslake import lake, storage
from crosslake.config import DatasetConfig
from crosslake.errors import ConfigError, CrosslakeError
from crosslake.files import list_files, read_files
from transforms.tabular import (
    RECORD_SCHEMA, explode_csv_records, header_problems, records_from_columns, shown_name,
)

log = logging.getLogger(__name__)
SUFFIX = {"csv": ".csv", "parquet": ".parquet"}


@dataclass
class DatasetIngestResult:
    dataset: str
    source: str
    files_read: int
    records: int
    rows_added: int
    table: lake.TableInfo
    empty_files: list[str] = field(default_factory=list)

    def report(self) -> str:
        t = self.table
        empty = f" ({len(self.empty_files)} without records)" if self.empty_files else ""
        return (f"{t.name}: {t.path} (version {t.version}, {t.rows:,} rows)\n"
                f"  read {self.files_read:,} files{empty}, {self.records:,} records from {self.source}; "
                f"{self.rows_added:,} new or changed")


def land(lk: lake.Lake, name: str, table: str, *, source: str | None = None, full: bool = False):
    """Land dataset `name`'s records in the bronze `table`: see the module docstring."""
    spark, cfg = lk.spark, lk.cfg
    ds = cfg.dataset(name)
    if ds.source.format == "jdbc":
        from jobs import extract

        return extract.run(spark, cfg, name=ds.source.extract, full=full, recorder=lk.run)
    where = source or ds.source.path
    # the executors read the files themselves: on a cluster, from every node
    storage.check_reachable(spark.sparkContext.master, where, what=f"dataset {name}'s source",
                            setting=f"datasets.{name}.source.path", shared=cfg.cluster.shared_paths)
    files = _data_files(spark, where, ds.source.format)
    lk.run.record_input(f"source:{where}", None)
    records = (_csv_records(spark, files, ds) if ds.source.format == "csv" else _parquet_records(spark, files))
    records = records.cache()
    n = records.count()
    headers = {r._source: r._header for r in records.select("_source", "_header").distinct().collect()}
    problems = [p for path, header in sorted(headers.items()) for p in header_problems(path, header, ds)]
    if problems:
        records.unpersist()
        # the declaration and the source disagree: the fix is a rename or a declaration (exit 2)
        raise ConfigError(f"dataset '{name}': " + "; ".join(problems) + ". Nothing was ingested.")
    ignored = sorted({shown_name(h, i) for header in headers.values() for i, h in enumerate(header or [])
                      if ds.rename.get(h, h) not in ds.columns})
    if ignored:  # only reachable with extra_columns: ignore
        log.info("dataset '%s': undeclared source column(s) %s are kept in bronze but not used (extra_columns: "
                 "ignore)", name, ", ".join(ignored))
    bronze = (records.withColumn("_ingested_at", F.current_timestamp())
              .withColumn("_run_id", F.lit(lk.run_id)))
    path = cfg.table_path(table)
    commit = lk.write(bronze, table, mode="upsert")
    version = commit.version
    total = spark.read.format("delta").option("versionAsOf", version).load(path).count()
    changed = commit.inserted + commit.updated  # Delta's own count of what the commit changed
    records.unpersist()
    empty = sorted(set(f[0] for f in files) - set(headers))
    for key, value in (("files_read", len(files)), ("records", n), ("rows_added", changed),
                       ("files_without_records", len(empty))):
        lk.run.record_count(key, value)
    if empty:
        log.info("%d file(s) held no records (empty, or a header only): %s", len(empty), ", ".join(empty[:5]))
    return DatasetIngestResult(name, where, len(files), n, changed,
                               lk.info(table, version, total), empty)


def _data_files(spark: SparkSession, where: str, fmt: str) -> list[tuple]:
    try:
        listed = list_files(spark, [where], SUFFIX[fmt])
    except FileNotFoundError:
        raise CrosslakeError(f"{where} does not exist: point datasets.<name>.source.path (or --source) at a "
                             f"{fmt} file or folder, or run `crosslake generate --dataset NAME`") from None
    hidden = [f for f in listed if f[0].rsplit("/", 1)[-1].startswith((".", "_"))]
    if hidden:
        log.info("skipping %d hidden file(s) (names starting with . or _): %s", len(hidden),
                 ", ".join(f[0] for f in hidden[:5]))
    files = [f for f in listed if f not in hidden]
    if not files:
        raise CrosslakeError(f"no *{SUFFIX[fmt]} files in {where}: nothing to ingest")
    return files


def _csv_records(spark: SparkSession, files: list[tuple], ds: DatasetConfig) -> DataFrame:
    src = ds.source
    contents = read_files(spark, sorted({f[0].rsplit("/", 1)[0] for f in files}), SUFFIX["csv"])
    wanted = spark.createDataFrame([(f[0],) for f in files], "path string")
    return explode_csv_records(contents.join(wanted, "path"), delimiter=src.delimiter, quote=src.quote,
                               encoding=src.encoding)


def _parquet_records(spark: SparkSession, files: list[tuple]) -> DataFrame:
    """Each file read on its own, so a file missing a column is caught (a multi-file read
    would fill it with nulls) and a corrupt file is named."""
    parts = []
    for path, length, _ in files:
        if length == 0:
            continue
        try:
            df = spark.read.parquet(path)
            columns = df.columns
        except Exception as exc:
            raise CrosslakeError(f"{path} is not a readable Parquet file "
                                 f"({str(exc).strip().splitlines()[0][:160]}); move it out of the drop zone") from exc
        parts.append(records_from_columns(
            df.select("*", F.col("_metadata.row_index").alias("_row_index")), columns=columns,
            source=F.lit(path), source_row=F.col("_row_index")))
    if not parts:
        return spark.createDataFrame([], RECORD_SCHEMA)
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out


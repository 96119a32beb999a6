"""The one Delta helper: every job reads and writes tables through a `Lake`.

A `Lake` is the lake as one run sees it: the Spark session, the configuration and the
run (crosslake/recorder.py) that records every version read and written, with the rows
each commit inserted, updated and deleted taken from Delta's own commit metrics. The
module-level functions below are the same operations without a run (tests, tools).

Writes state their mode explicitly; keys, partitioning, properties and whether the
schema may evolve come from the table's block in conf/ (``tables.<name>``). Every write
returns the table version it committed, for the run's record.

Idempotence: ``sync`` and ``upsert`` first check whether the incoming rows differ from
the table (ignoring the table's ``volatile`` columns, such as run ids and timestamps).
When nothing differs, nothing is committed: re-running a job on the same input leaves
the table, its version and its change feed exactly as they were.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from functools import reduce
from typing import Literal

from delta import exceptions as delta_errors
from delta.tables import DeltaTable
from py4j.protocol import Py4JError, Py4JJavaError
from pyspark.errors.exceptions.captured import CapturedException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from crosslake.config import Config, TableConfig
from crosslake.recorder import Run
from crosslake.errors import ConfigError, CrosslakeError, storage_failure

log = logging.getLogger(__name__)

WriteMode = Literal["overwrite", "append", "insert_new", "upsert", "sync", "apply"]

# Another writer committed to the table between our read and our commit. Delta then commits
# nothing of ours, so every write mode can simply run again on the new snapshot: MERGE and
# overwrite recompute against it, an append with txn is skipped if it already landed.
CONFLICTS = (delta_errors.ConcurrentAppendException, delta_errors.ConcurrentDeleteReadException,
             delta_errors.ConcurrentDeleteDeleteException, delta_errors.MetadataChangedException,
             delta_errors.ProtocolChangedException, delta_errors.ConcurrentTransactionException,
             delta_errors.ConcurrentWriteException, delta_errors.DeltaConcurrentModificationException)
CONFLICT_NAMES = {c.__name__ for c in CONFLICTS}
WRITE_ATTEMPTS = 5


class SchemaError(CrosslakeError):
    """The data to write does not match the table's schema; the message names the column."""


@dataclass(frozen=True)
class Commit:
    """What one write did: the table's version afterwards and, from Delta's commit
    metrics, the rows it inserted, updated and deleted (all 0 when nothing was committed)."""
    table: str
    version: int
    operation: str
    inserted: int = 0
    updated: int = 0
    deleted: int = 0

    @property
    def committed(self) -> bool:
        return self.operation != "unchanged"


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
    try:
        found = exists(spark, path)
        if found:
            DeltaTable.forPath(spark, path)  # replays the log: a damaged one fails here, named, not mid-job
    except (CapturedException, Py4JJavaError) as exc:
        raise CrosslakeError(
            f"table '{name}' at {path} cannot be read: its Delta log is damaged ({_first_line(exc)}). A file under "
            f"{path}/_delta_log was removed or changed outside Delta: restore it from a backup or the "
            f"store's object versioning. Nothing was read or written"
        ) from exc
    if not found:
        raise CrosslakeError(
            f"table '{name}' does not exist yet at {path}: run the job that writes it first "
            f"(see `crosslake --help`; the whole chain is `crosslake pipeline`)"
        )
    return path


def _first_line(exc: BaseException) -> str:
    """The JVM error's own first line, without py4j's wrapper ("An error occurred while calling ...")."""
    if isinstance(exc, Py4JJavaError):
        text = str(exc.java_exception.toString())
    else:
        text = str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0][:300]


def _conflict(exc: BaseException) -> str | None:
    """The name of the concurrent-commit conflict `exc` is, or None. DeltaTable's MERGE raises
    the JVM exception as a bare Py4JJavaError, the DataFrame writer as Delta's Python class."""
    if isinstance(exc, CONFLICTS):
        return type(exc).__name__
    if isinstance(exc, Py4JJavaError):
        java_class = str(exc.java_exception.getClass().getName())
        if java_class.rsplit(".", 1)[-1] in CONFLICT_NAMES:
            return java_class.rsplit(".", 1)[-1]
    return None


def _delta_log(spark: SparkSession, path: str):
    """Delta's own log object for the table at `path` (JVM side; cached by Delta per path)."""
    return spark._jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)


def _latest(spark: SparkSession, path: str):
    """(Delta's log, its latest version) from the log itself, brought up to date: one listing
    of _delta_log and no Spark job. DESCRIBE HISTORY answers the same with a Spark job
    (0.4-0.9 s each on the 2-core machine against ~0.01 s); it stays the way when this
    Delta build's log API differs (its update() arguments come from its own defaults)."""
    log_ = _delta_log(spark, path)
    update = log_.update(*(getattr(log_, f"update$default${i}")() for i in (1, 2, 3)))
    return log_, int(update.version())


def current_version(spark: SparkSession, path: str) -> int:
    try:
        _, version = _latest(spark, path)
        if version >= 0:
            return version
    except Py4JError:
        pass  # another Delta build: ask through its public API (also the one that names a damaged log)
    return DeltaTable.forPath(spark, path).history(1).select("version").first()[0]


def _last_commit(spark: SparkSession, path: str) -> tuple[int, dict[str, str]]:
    """(latest version, its commit's operationMetrics), read from that one commit file."""
    try:
        log_, version = _latest(spark, path)
        if version >= 0:
            actions = log_.getChanges(version, False).next()._2()
            for i in range(actions.size()):
                action = actions.apply(i)
                if action.getClass().getSimpleName() == "CommitInfo":
                    metrics, found = {}, action.operationMetrics()
                    if found.isDefined():
                        pairs = found.get().iterator()
                        while pairs.hasNext():
                            pair = pairs.next()
                            metrics[str(pair._1())] = str(pair._2())
                    return version, metrics
    except Py4JError:
        pass
    last = DeltaTable.forPath(spark, path).history(1).select("version", "operationMetrics").first()
    return last.version, dict(last.operationMetrics or {})


def pinned_version(spark: SparkSession, cfg: Config, name: str, version: int | None = None) -> int:
    """The version a job will read: `version` if given (checked to exist), else the latest."""
    path = require(spark, cfg, name)
    latest = current_version(spark, path)
    if version is None:
        return latest
    if not 0 <= version <= latest:
        raise ConfigError(f"table '{name}' has versions 0..{latest}; version {version} does not exist")
    return version


def read_table(
    spark: SparkSession,
    cfg: Config,
    name: str,
    *,
    version: int | None = None,
    timestamp: str | None = None,
) -> DataFrame:
    """Read a table as of a version (default: the latest, pinned now, so the whole job sees
    one version) or a timestamp (time travel)."""
    path = require(spark, cfg, name)
    if timestamp is not None:
        try:
            df = spark.read.format("delta").option("timestampAsOf", timestamp).load(path)
        except CapturedException as exc:  # Delta resolves the time travel on load: the mistake is found here
            raise _time_travel_error(spark, name, path, timestamp, exc) from exc
        return df
    return _at_version(spark, path, pinned_version(spark, cfg, name, version))


def _at_version(spark: SparkSession, path: str, version: int) -> DataFrame:
    return spark.read.format("delta").option("versionAsOf", version).load(path)


def read_changes(spark: SparkSession, cfg: Config, name: str, *, since_version: int,
                 until_version: int | None = None) -> DataFrame:
    """Rows inserted, updated or deleted since `since_version` (inclusive), from the change
    data feed: columns of the table plus _change_type, _commit_version, _commit_timestamp."""
    path = require(spark, cfg, name)
    if str(cfg.table(name).properties.get("delta.enableChangeDataFeed", "false")).lower() != "true":
        raise CrosslakeError(f"table '{name}' has no change data feed: set "
                             f"tables.{name}.properties.delta.enableChangeDataFeed: true (applies to new tables)")
    latest = current_version(spark, path)
    for what, v in (("since", since_version), ("until", until_version)):
        if v is not None and not 0 <= v <= latest:
            raise ConfigError(f"changes {what} version {v}: table '{name}' has versions 0..{latest} "
                              f"({latest} is its latest); pick a version in that range")
    reader = spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", since_version)
    if until_version is not None:
        reader = reader.option("endingVersion", until_version)
    try:
        return reader.load(path)
    except CapturedException as exc:  # e.g. the change feed was switched on after that version
        raise ConfigError(f"table '{name}': no change feed from version {since_version}: {_first_line(exc)}") from exc


def _time_travel_error(spark: SparkSession, name: str, path: str, timestamp: str, exc: Exception) -> CrosslakeError:
    """What a failed read as of `timestamp` means, in one line (Delta's own text spans lines)."""
    text = str(exc)
    if "DELTA_TIMESTAMP_INVALID" in text or "cannot be converted to a valid timestamp" in text:
        from crosslake.arguments import TIMESTAMP_FORMAT

        return ConfigError(f"timestamp {timestamp!r} is not a timestamp: use {TIMESTAMP_FORMAT}, "
                           f"e.g. '2026-11-21 08:00:00'")
    commits = DeltaTable.forPath(spark, path).history().select("version", "timestamp").orderBy("version").collect()
    first, last = commits[0], commits[-1]
    if "before the earliest version" in text:
        return ConfigError(f"table '{name}' did not exist yet at {timestamp}: its first commit (version "
                           f"{first.version}) is at {first.timestamp:%Y-%m-%d %H:%M:%S} UTC; use a timestamp at "
                           f"or after it")
    if "DELTA_TIMESTAMP_GREATER_THAN_COMMIT" in text or "after the latest version" in text:
        return ConfigError(f"timestamp {timestamp} is after table '{name}''s latest commit (version {last.version} "
                           f"at {last.timestamp:%Y-%m-%d %H:%M:%S} UTC); use a timestamp at or before it, or read "
                           f"the latest version without a timestamp")
    return CrosslakeError(f"table '{name}' cannot be read as of {timestamp}: {_first_line(exc)}")


def history(spark: SparkSession, cfg: Config, name: str, limit: int = 20) -> DataFrame:
    path = require(spark, cfg, name)
    return (
        DeltaTable.forPath(spark, path)
        .history(limit)
        .select("version", "timestamp", "operation", "operationParameters", "operationMetrics")
    )


def write_table(df: DataFrame, cfg: Config, name: str, *, mode: WriteMode,
                txn: tuple[str, int] | None = None, delete_keys: DataFrame | None = None) -> int:
    """Write `df` to the logical table `name`; returns the table's version afterwards
    (`commit_table` returns the whole Commit).

    sync: make the table hold exactly `df`'s rows (by the table's keys): insert new rows,
      update changed ones, delete rows no longer present.
    upsert: insert new rows and update changed ones; delete nothing.
    insert_new: insert only rows whose keys are not in the table yet (landing raw data).
    apply: a change set the caller has worked out: `df`'s rows inserted or replaced by key,
      the keys in `delete_keys` (a frame of the key columns) deleted, every other row left
      unread and untouched; one commit, no comparison pass (the caller passes only changes).
    overwrite / append: plain Delta writes.
    A new table is created with the configured partitioning and properties.
    txn (append only): (application id, increasing number); Delta skips a write whose pair
      it has already committed, which makes a replayed streaming micro-batch harmless.
    """
    return commit_table(df, cfg, name, mode=mode, txn=txn, delete_keys=delete_keys).version


def commit_table(df: DataFrame, cfg: Config, name: str, *, mode: WriteMode,
                 txn: tuple[str, int] | None = None, delete_keys: DataFrame | None = None) -> Commit:
    """write_table, returning the Commit (version and rows inserted/updated/deleted)."""
    if txn is not None and mode != "append":
        raise CrosslakeError("txn applies to mode='append' only")
    if delete_keys is not None and mode != "apply":
        raise CrosslakeError("delete_keys applies to mode='apply' only")
    return _write(df, cfg, name, mode, txn, delete_keys)


def _write(df: DataFrame, cfg: Config, name: str, mode: WriteMode, txn: tuple[str, int] | None = None,
           delete_keys: DataFrame | None = None) -> Commit:
    """One logical write, retried when a concurrent writer wins the commit (see CONFLICTS)."""
    cfg.require_writer(name)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return _write_once(df, cfg, name, mode, txn, delete_keys)
        except (CapturedException, Py4JJavaError, *CONFLICTS) as exc:
            conflict = _conflict(exc)
            if conflict is None:
                if (cause := storage_failure(exc)) is not None:
                    raise CrosslakeError(
                        f"table '{name}': writing {cfg.table_path(name)} failed because {cause}; nothing of this "
                        f"run was committed (a Delta commit is all or nothing), the table is as it was. Run the "
                        f"job again once the storage is back") from exc
                raise
            if attempt == WRITE_ATTEMPTS:
                raise CrosslakeError(
                    f"table '{name}': {attempt} commits in a row lost to concurrent writers ({conflict}); nothing of "
                    f"this run was committed. Run the job again once the other writer is done") from exc
            wait = random.uniform(0.2, 1.0) * attempt
            log.warning("table '%s': a concurrent writer committed first (%s); retrying in %.1f s (attempt %d of %d)",
                        name, conflict, wait, attempt + 1, WRITE_ATTEMPTS)
            time.sleep(wait)
    raise AssertionError("unreachable")


def _write_once(df: DataFrame, cfg: Config, name: str, mode: WriteMode, txn: tuple[str, int] | None,
                delete_keys: DataFrame | None = None) -> Commit:
    spark = df.sparkSession
    table, path = cfg.table(name), cfg.table_path(name)
    if mode in ("sync", "upsert", "insert_new", "apply") and table.keys:
        check_unique_keys(df, table.keys, name)
    if not exists(spark, path):
        writer = df.write.format("delta").mode("overwrite")
        if txn is not None:
            writer = writer.option("txnAppId", txn[0]).option("txnVersion", txn[1])
        for key, value in table.properties.items():
            writer = writer.option(key, str(value).lower() if isinstance(value, bool) else str(value))
        if table.partition_by:
            writer = writer.partitionBy(*table.partition_by)
        writer.save(path)
        return _committed(spark, name, path, "create")
    target = DeltaTable.forPath(spark, path)
    check_schema(df.schema, target.toDF().schema, name, evolution=table.schema_evolution)
    if mode in ("overwrite", "append"):
        writer = df.write.format("delta").mode(mode).option("mergeSchema", str(table.schema_evolution).lower())
        if txn is not None:
            writer = writer.option("txnAppId", txn[0]).option("txnVersion", txn[1])
        writer.save(path)
        return _committed(spark, name, path, mode)
    if not table.keys:
        raise CrosslakeError(f"mode {mode} needs tables.{name}.keys in the configuration")
    if mode == "apply":
        return _apply(df, delete_keys, target, table, name, path)
    if mode in ("sync", "upsert") and not has_changes(df, target.toDF(), table, deletes=mode == "sync"):
        log.info("%s unchanged: nothing to commit", name)
        return Commit(name, current_version(spark, path), "unchanged")
    merge = target.alias("t").merge(df.alias("s"), _same_keys(table.keys))
    if table.schema_evolution:
        merge = merge.withSchemaEvolution()
    if mode in ("sync", "upsert"):
        if set(df.columns) - set(target.toDF().columns):
            merge = merge.whenMatchedUpdateAll()  # evolving: every matched row gets the new columns
        elif (changed := _changed(df, table)) is not None:
            merge = merge.whenMatchedUpdateAll(condition=changed)
    merge = merge.whenNotMatchedInsertAll()
    if mode == "sync":
        merge = merge.whenNotMatchedBySourceDelete()
    merge.execute()
    return _committed(spark, name, path, mode)


def _apply(df: DataFrame, delete_keys: DataFrame | None, target: DeltaTable, table: TableConfig, name: str,
           path: str) -> Commit:
    """One MERGE of a change set: rows of `df` replace or join the table, `delete_keys` leave it."""
    spark = df.sparkSession
    columns = target.toDF().columns
    changes = df.withColumn("_delete", F.lit(False))
    if delete_keys is not None:
        changes = changes.unionByName(delete_keys.select(*table.keys).withColumn("_delete", F.lit(True)),
                                      allowMissingColumns=True)
    row = {f"`{c}`": f"s.`{c}`" for c in columns}
    (target.alias("t").merge(changes.alias("s"), _same_keys(table.keys))
     .whenMatchedDelete(condition="s._delete")
     .whenMatchedUpdate(condition="NOT s._delete", set=row)
     .whenNotMatchedInsert(condition="NOT s._delete", values=row)
     .execute())
    return _committed(spark, name, path, "apply")


def check_unique_keys(df: DataFrame, keys: list[str], name: str) -> None:
    """Refuse a batch in which two rows share a key: MERGE would fail on an existing key
    (or insert both copies of a new one), and no rule can say which copy is right."""
    key_cols = [F.col(f"`{k}`") for k in keys]
    dups = df.groupBy(*key_cols).count().filter(F.col("count") > 1)
    # ordered, then limited: one job (a bare limit().collect() scans the partitions in up to
    # four growing jobs until it has its rows, and a clean table has none to find)
    sample = dups.orderBy(*key_cols).limit(3).collect()
    if sample:
        shown = "; ".join(", ".join(f"{k}={r[k]!r}" for k in keys) + f" ({r['count']} rows)" for r in sample)
        raise CrosslakeError(f"the rows for table '{name}' are not unique on its key ({', '.join(keys)}): {shown}. "
                             f"Nothing was written; de-duplicate the source or fix tables.{name}.keys")


def has_changes(incoming: DataFrame, existing: DataFrame, table: TableConfig, *, deletes: bool) -> bool:
    """Whether writing `incoming` would change `existing` (volatile columns ignored)."""
    if set(incoming.columns) - set(existing.columns):
        return True  # schema evolution: a new column is a change
    compared = [c for c in incoming.columns if c not in table.volatile]
    if not incoming.select(compared).exceptAll(existing.select(compared)).isEmpty():
        return True
    return deletes and not existing.select(table.keys).subtract(incoming.select(table.keys)).isEmpty()


def check_schema(incoming: StructType, existing: StructType, name: str, *, evolution: bool) -> None:
    """Refuse new, missing or retyped columns with a message that names them."""
    have = {f.name: f.dataType.simpleString() for f in existing.fields}
    new = {f.name: f.dataType.simpleString() for f in incoming.fields}
    for col, dtype in new.items():
        if col in have and have[col] != dtype:
            raise SchemaError(f"column '{col}' is {have[col]} in table '{name}' but {dtype} in the new data: "
                              f"retyping is refused; fix the producing job or migrate the table explicitly")
        if col not in have and not evolution:
            raise SchemaError(f"column '{col}' ({dtype}) is not in table '{name}': set "
                              f"tables.{name}.schema_evolution: true in the profile to allow new columns")
    missing = [c for c in have if c not in new]
    if missing:
        raise SchemaError(f"column(s) {', '.join(missing)} of table '{name}' are missing from the new data")


def _same_keys(keys: list[str]) -> str:
    return " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)


def _changed(df: DataFrame, table: TableConfig) -> Column | None:
    cols = [c for c in df.columns if c not in table.keys and c not in table.volatile]
    if not cols:
        return None
    return reduce(lambda a, b: a | b, [~F.col(f"t.`{c}`").eqNullSafe(F.col(f"s.`{c}`")) for c in cols])


# Delta's operationMetrics names, per what they count (MERGE reports target rows; a plain
# write reports the rows it wrote; an overwrite's removed rows are not counted by Delta).
INSERTED = ("numTargetRowsInserted", "numOutputRows")
UPDATED = ("numTargetRowsUpdated",)
DELETED = ("numTargetRowsDeleted", "numDeletedRows")


def _committed(spark: SparkSession, name: str, path: str, how: str) -> Commit:
    """The commit just made, with its row counts from Delta's commit metrics (no re-read of
    the data)."""
    version, metrics = _last_commit(spark, path)

    def metric(names: tuple[str, ...]) -> int:
        return next((int(metrics[n]) for n in names if metrics.get(n) is not None), 0)

    commit = Commit(name, version, how, metric(INSERTED), metric(UPDATED), metric(DELETED))
    log.info("wrote %s (%s) version %d: %d inserted, %d updated, %d deleted", name, how, commit.version,
             commit.inserted, commit.updated, commit.deleted)
    return commit


def list_tables(spark: SparkSession, cfg: Config) -> list[TableInfo]:
    """Every configured table that exists, with its current version and row count."""
    out = []
    for name in cfg.tables:
        path = cfg.table_path(name)
        if exists(spark, path):
            rows = spark.read.format("delta").load(path).count()
            out.append(TableInfo(name, path, current_version(spark, path), rows))
    return out


class Lake:
    """The lake as one run sees it: every read and write goes through here and is recorded
    in `run` (the version read or written, and each commit's inserted/updated/deleted rows).
    Without a run (a notebook, a tool), the reads and writes are the same and recorded in a
    run of its own that is never written to the ledger."""

    def __init__(self, spark: SparkSession, cfg: Config, run: Run | None = None):
        self.spark, self.cfg = spark, cfg
        self.run = run if run is not None else Run("adhoc")

    @property
    def run_id(self) -> str:
        return self.run.run_id

    def path(self, name: str) -> str:
        return self.cfg.table_path(name)

    def exists(self, name: str) -> bool:
        return exists(self.spark, self.path(name))

    def pin(self, name: str, version: int | None = None) -> int:
        """The version this run reads: `version` if given (checked), else the latest now."""
        return pinned_version(self.spark, self.cfg, name, version)

    def read(self, name: str, *, version: int | None = None, timestamp: str | None = None) -> DataFrame:
        if timestamp is not None:
            df = read_table(self.spark, self.cfg, name, timestamp=timestamp)
            self.run.record_input(name, None)
            return df
        version = self.pin(name, version)
        self.run.record_input(name, version)
        return _at_version(self.spark, self.path(name), version)  # pinned (and checked) just now

    def changes(self, name: str, *, since_version: int, until_version: int | None = None) -> DataFrame:
        return read_changes(self.spark, self.cfg, name, since_version=since_version, until_version=until_version)

    def history(self, name: str, limit: int = 20) -> DataFrame:
        return history(self.spark, self.cfg, name, limit)

    def write(self, df: DataFrame, name: str, *, mode: WriteMode, txn: tuple[str, int] | None = None,
              delete_keys: DataFrame | None = None) -> Commit:
        commit = commit_table(df, self.cfg, name, mode=mode, txn=txn, delete_keys=delete_keys)
        self.run.record_output(name, commit.version)
        for what in ("inserted", "updated", "deleted"):
            if n := getattr(commit, what):
                self.run.counts[f"{name}.{what}"] = self.run.counts.get(f"{name}.{what}", 0) + n
        return commit

    def info(self, name: str, version: int, rows: int) -> TableInfo:
        return TableInfo(name, self.path(name), version, rows)

    def tables(self) -> list[TableInfo]:
        return list_tables(self.spark, self.cfg)

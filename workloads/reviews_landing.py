"""How the review corpus lands: its files -> bronze (bytes exactly as landed).

Each entry of the review folders becomes one bronze row: source path, content bytes, size,
modification time, ingest time, run id, and file_issue: why an entry was not read (a link,
a fifo, a nested file, a file over ingest.max_file_bytes: the policy is in
crosslake/files.py). Such rows keep null content and are quarantined by clean, named.

Bronze mirrors the source, keyed by source path (rows landed from another source are
left alone). The listing (path, size, modification time) is compared with bronze first:

  added      a path bronze does not have: read and inserted.
  changed    size, modification time or issue differ: read again, and the row replaced.
             When the bytes turn out identical (content hash), only its time is updated
             and it counts as unchanged.
  deleted    a path the source no longer has: its row is deleted from bronze, and the
             next clean removes it from silver and quarantine (they sync with bronze).
  unchanged  same path, size and time: not read again (a re-run on an unchanged corpus
             reads no file and commits nothing).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from crosslake import lake, storage
from crosslake.errors import ConfigError
from crosslake.files import read_local, scan_local
from sources.imdb_reader import open_corpus
from transforms.landing import with_landing_fields


@dataclass
class IngestResult:
    source: str
    files_listed: int      # entries in the review folders
    files_read: int        # files opened this run (added, or changed by their listing)
    added: int
    changed: int
    deleted: int
    unchanged: int
    table: lake.TableInfo
    not_read: dict[str, int] = field(default_factory=dict)  # issue -> entries in the source not read

    @property
    def rows_added(self) -> int:
        return self.added

    def report(self) -> str:
        t = self.table
        out = (f"{t.name}: {t.path} (version {t.version}, {t.rows:,} rows)\n"
               f"  listed {self.files_listed:,} files in {self.source}: {self.added:,} added, "
               f"{self.changed:,} changed, {self.deleted:,} deleted, {self.unchanged:,} unchanged "
               f"({self.files_read:,} read)")
        if self.not_read:
            shown = ", ".join(f"{k}: {v:,}" for k, v in sorted(self.not_read.items()))
            out += f"\n  {sum(self.not_read.values()):,} not read ({shown}); clean quarantines them"
        return out


def land(lk: lake.Lake, table: str, *, source: str | None = None) -> IngestResult:
    """Mirror the corpus (a folder or an archive) into the bronze `table`: see the module docstring."""
    spark, cfg = lk.spark, lk.cfg
    corpus = open_corpus(source or cfg.source.path, landing_dir=f"{cfg.scratch}/_landing")
    # the executors read the review files themselves (crosslake/files.py read_local)
    storage.check_reachable(spark.sparkContext.master, str(corpus.root),
                            what="the archive's extraction" if corpus.archive else "the source folder",
                            setting="lake.scratch" if corpus.archive else "source.path", shared=cfg.cluster.shared_paths)
    lk.run.record_input(f"source:{corpus.origin}", None)
    max_bytes = cfg.ingest.max_file_bytes
    listed = {corpus.origin_path(e.path): e for e in scan_local(corpus.root, corpus.review_dirs, max_bytes=max_bytes)}
    if not listed:  # review folders holding only empty directories
        raise ConfigError(f"no review files under {corpus.origin}: its review folders hold only empty "
                          f"directories; point source.path (--set source.path=...) at the corpus")
    path = cfg.table_path(table)
    bronze, landed = None, {}
    if lake.exists(spark, path):
        bronze, legacy = _bronze(spark, path)
        # Paths of every source: a path landed before under another origin (the same folder
        # reached by another route) is this run's to re-read and take over, never a second row.
        landed = {r.source_path: r for r in bronze.select(
            "source_path", "source", "length", F.unix_millis("modification_time").alias("mtime_ms"), "file_issue",
            (F.col("content").isNull() if legacy else F.lit(False)).alias("no_content")).collect()}
    new = [p for p in listed if p not in landed]
    stale = [p for p in listed if p in landed and _differs(listed[p], landed[p], corpus.origin)]
    gone = [p for p, r in landed.items() if r.source == corpus.origin and p not in listed]
    fresh = None
    if new or stale:
        fresh = read_local(spark, [listed[p] for p in new + stale], max_bytes=max_bytes).transform(
            with_landing_fields, run_id=lk.run_id, origin=corpus.origin,
            local_prefix=str(corpus.extracted_to) if corpus.archive else None,
            origin_prefix=f"{corpus.archive}!" if corpus.archive else None,
        ).cache()
        fresh.count()
    changed = _content_changed(spark, fresh, bronze, stale) if stale else 0
    if fresh is None and not gone:
        version = lake.current_version(spark, path)  # nothing new, nothing gone: nothing to commit
    elif bronze is None:
        version = lk.write(fresh, table, mode="apply").version
    else:
        # Only the change set is merged: rows of other sources and unchanged rows are not rewritten,
        # and a retry after a concurrent commit cannot delete what another ingest just landed.
        keys = spark.createDataFrame([(p,) for p in gone], "source_path string") if gone else None
        version = lk.write(fresh if fresh is not None else spark.createDataFrame([], bronze.schema),
                           table, mode="apply", delete_keys=keys).version
    rows = spark.read.format("delta").load(path).count()
    result = IngestResult(
        corpus.origin, len(listed), sum(listed[p].issue is None for p in new + stale), len(new), changed, len(gone),
        len(listed) - len(new) - changed, lk.info(table, version, rows),
        dict(Counter(e.issue for e in listed.values() if e.issue)))
    for key in ("files_listed", "files_read", "added", "changed", "deleted", "unchanged"):
        lk.run.record_count(key, getattr(result, key))
    if fresh is not None:
        fresh.unpersist()
    return result


def _bronze(spark: SparkSession, path: str) -> tuple[DataFrame, bool]:
    """Bronze at its latest version, and whether it was landed before file_issue existed. Such
    a table gets the column (null: every file of it was read), once, so that old and new rows
    share one schema; its hidden files were landed without their bytes and are read again."""
    df = spark.read.format("delta").load(path)
    legacy = "file_issue" not in df.columns
    if legacy:
        spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS (file_issue STRING)")
        df = spark.read.format("delta").load(path)
    return df, legacy


def _differs(entry, row, origin: str) -> bool:
    """Whether a listed entry may differ from its bronze row (then it is read again): its listing
    changed, it was landed under another origin, or it was landed without bytes it should have."""
    return ((entry.length, entry.mtime_ms, entry.issue) != (row.length, row.mtime_ms, row.file_issue)
            or row.source != origin or (row.no_content and row.file_issue is None))


def _content_changed(spark: SparkSession, fresh: DataFrame, bronze: DataFrame, stale: list[str]) -> int:
    """How many of the re-read `stale` paths really changed: other bytes or another issue (a
    file only touched, or taken over from another origin, is re-read but unchanged)."""
    paths = spark.createDataFrame([(p,) for p in stale], "source_path string")
    before = bronze.join(paths, "source_path").select(
        "source_path", F.sha2("content", 256).alias("old_hash"), F.col("file_issue").alias("old_issue"))
    compared = fresh.join(before, "source_path")
    return compared.filter(~F.sha2("content", 256).eqNullSafe(F.col("old_hash"))
                           | ~F.col("file_issue").eqNullSafe(F.col("old_issue"))).count()

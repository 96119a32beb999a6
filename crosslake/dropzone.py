"""What the stream's file source will not read, found and reported (jobs/stream.py).

Spark's file source skips names starting with "." or "_" (and "._COPYING_" files, and
everything inside folders so named), and it reads each file once, by path: lines appended
to a file it has processed, or a file rewritten in place, are never read. Here the drop
zone is listed through Hadoop's FileSystem (local disks and s3a:// alike) and compared
with what the stream has processed (the `stream_files` table, written by each micro-batch
before it commits); every file that will not be read becomes one `stream_rejects` row,
reason `file_not_read:<why>`, once per state of the file (path, size, modification time):

  hidden             a name starting with "."
  underscore         a name starting with "_" (without "=")
  copying            a name ending in "._COPYING_" (a `hadoop fs -put` in progress)
  in_hidden_folder   a file inside a folder whose name starts with "." or "_"
  changed_after_read a file whose size or modification time changed after it was processed
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from py4j.protocol import Py4JJavaError
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import Config
from crosslake.errors import ConfigError

log = logging.getLogger(__name__)
FILES_SCHEMA = "stream string, file string, size long, modified_ms long, batch_id long"
REJECT_SCHEMA = ("stream string, record_hash string, reason string, record string, file string, line long, "
                 "received_at timestamp, batch_id long")


@dataclass(frozen=True)
class Listed:
    file: str        # the URI, as Spark's _metadata.file_path spells it
    size: int
    modified_ms: int
    skipped: str | None  # why Spark's file index skips it, or None


def file_uri(uri: str) -> str:
    """One spelling per file: Spark's _metadata.file_path writes file:/x, a qualified Hadoop
    path file:///x."""
    return re.sub(r"^file://(?=/)", "file:", uri)


def skipped_name(name: str) -> str | None:
    """Why Spark's file index leaves out a file or folder of this name (its
    InMemoryFileIndex.shouldFilterOutPathName rule), or None."""
    if name.startswith("."):
        return "hidden"
    if name.startswith("_") and "=" not in name:
        return "underscore"
    if name.endswith("._COPYING_"):
        return "copying"
    return None


def check_folder(spark: SparkSession, folder: str) -> None:
    """A one-line error unless `folder` is an existing folder (local or object store)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(folder)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(path):
        raise ConfigError(f"drop zone {folder} does not exist: create it, or pass --path (stream.dropzone) "
                          f"naming the folder files are dropped into")
    if not fs.getFileStatus(path).isDirectory():
        raise ConfigError(f"drop zone {folder} is a file, not a folder: pass --path (stream.dropzone) naming "
                          f"the folder JSON-lines files are dropped into")


def list_zone(spark: SparkSession, folder: str) -> list[Listed]:
    """Every plain file under `folder`, at any depth, with why Spark skips it (if it does)."""
    jvm = spark.sparkContext._jvm
    root = jvm.org.apache.hadoop.fs.Path(folder)
    fs = root.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    out: list[Listed] = []
    pending = [(root, None)]
    while pending:
        path, inherited = pending.pop()
        try:
            statuses = fs.listStatus(path)
        except Py4JJavaError as exc:  # a sub-folder removed since its parent was listed: gone, nothing to report
            if "FileNotFoundException" not in str(exc.java_exception.getClass().getName()):
                raise
            continue
        for status in statuses:
            name = status.getPath().getName()
            why = skipped_name(name)
            if status.isDirectory():
                pending.append((status.getPath(), inherited or ("in_hidden_folder" if why else None)))
            elif status.isFile():
                out.append(Listed(file_uri(status.getPath().toUri().toString()), status.getLen(),
                                  status.getModificationTime(), inherited or why))
    return sorted(out, key=lambda f: f.file)


class DropZone:
    """The drop zone's files against what the stream has processed; reports what it will not read."""

    def __init__(self, spark: SparkSession, cfg: Config, stream: str, folder: str):
        self.spark, self.cfg, self.stream, self.folder = spark, cfg, stream, folder
        self.processed: dict[str, tuple[int, int]] = {}
        self.reported: set[str] = set()
        self.unread: list[tuple[Listed, str]] = []  # what the last check found
        if lake.exists(spark, cfg.table_path("stream_files")):
            rows = lake.read_table(spark, cfg, "stream_files").filter(F.col("stream") == stream).collect()
            for r in sorted(rows, key=lambda r: r.recorded_at):  # the latest row of a file wins
                self.processed[r.file] = (r.size, r.modified_ms)
        if lake.exists(spark, cfg.table_path("stream_rejects")):
            done = (lake.read_table(spark, cfg, "stream_rejects")
                    .filter((F.col("stream") == stream) & F.col("reason").startswith("file_not_read:")))
            self.reported = {r.record_hash for r in done.select("record_hash").collect()}

    def record(self, files: list[tuple[str, int, int]], batch: tuple[str, int] | None = None) -> None:
        """Note files as processed: (file, size, modification time in ms) as a batch read them.
        With `batch` (query id, batch id) the rows are appended under it (a replay is skipped
        by Delta); the latest row of a file is what counts."""
        files = [(file_uri(f), size, ms) for f, size, ms in files]
        files = [f for f in files if self.processed.get(f[0]) != (f[1], f[2])]
        if not files:
            return
        rows = [(self.stream, f, size, ms, batch[1] if batch else None) for f, size, ms in files]
        df = self.spark.createDataFrame(rows, FILES_SCHEMA).withColumn("recorded_at", F.current_timestamp())
        txn = (f"crosslake-stream-files:{batch[0]}", batch[1]) if batch else None
        lake.write_table(df, self.cfg, "stream_files", mode="append", txn=txn)
        self.processed.update({f: (size, ms) for f, size, ms in files})

    def check(self, batch_id: int | None) -> int:
        """List the zone; record every file that will not be read once in stream_rejects;
        returns how many were recorded now (new files, or files changed again)."""
        listing = list_zone(self.spark, self.folder)
        # an empty file yields no row, so no batch would note it: Spark has seen it, and will
        # not read what is appended to it later. Noted here, its growth is then reported.
        self.record([(f.file, 0, f.modified_ms) for f in listing
                     if f.size == 0 and f.skipped is None and f.file not in self.processed])
        unread = []
        for f in listing:
            why = f.skipped
            if why is None and f.file in self.processed and self.processed[f.file] != (f.size, f.modified_ms):
                why = "changed_after_read"
            if why is not None:
                unread.append((f, why))
        self.unread = unread
        new = []
        for f, why in unread:
            modified = datetime.fromtimestamp(f.modified_ms / 1000, tz=timezone.utc)
            record = json.dumps({"file": f.file, "size": f.size, "modified": modified.isoformat()})
            digest = hashlib.sha256(f"{why}\n{record}".encode()).hexdigest()
            if digest not in self.reported:
                new.append((self.stream, digest, f"file_not_read:{why}", record, f.file, 0, modified, batch_id))
                log.warning("drop zone: %s will not be read (%s; %d bytes): recorded in stream_rejects", f.file,
                            why, f.size)
        if new:
            df = self.spark.createDataFrame(new, REJECT_SCHEMA).withColumn("rejected_at", F.current_timestamp())
            # appended: each is new by its digest (self.reported, reloaded at start), and an append
            # evolves an older table that lacks file and line (a MERGE on those keys could not)
            lake.write_table(df, self.cfg, "stream_rejects", mode="append")
            self.reported.update(row[1] for row in new)
        return len(new)

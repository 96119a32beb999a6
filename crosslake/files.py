"""Read every file in a set of folders, including the ones Spark's file sources skip.

Two readers:

* ``list_files`` / ``read_files`` (tabular datasets, any Hadoop file system such as s3a://):
  the folders are listed through Hadoop's FileSystem and the listing is left-joined with
  what Spark's binaryFile source read. Spark's file index drops zero-length files and
  hidden names (starting with "_" or "."): every listed file still becomes a row; an empty
  file gets empty content, a file Spark would not read gets null content.
* ``scan_local`` / ``read_local`` (a corpus on local disk): the folders are walked with
  ``os.scandir`` without following links, every entry is judged by the policy below, and
  only the vetted regular files are opened (by Spark tasks, never following a link, never
  blocking on a fifo, never reading more than the size limit). Hidden files are read with
  their bytes like any other.

The policy for a local source (every entry becomes one row; ``issue`` names why a row has
no content; such rows are quarantined downstream under that name):

  regular file                        read (content = its bytes, an empty file b"")
  regular file > max_bytes            ``file_too_large``: not read; its size is kept
  symbolic link, any target           never followed, never read:
      resolving inside the source     ``symlink`` (the file it points to, if it is in a
                                      review folder, is read under its own name)
      resolving outside the source    ``link_outside_source``
      pointing nowhere                ``dangling_link``
      a loop of links                 ``link_loop``
  fifo, socket, device                ``special_file``: never opened
  a directory inside a review folder  every file under it (at any depth) is a row
                                      ``nested_file``, not read (an empty one adds no row)
  cannot be opened                    ``unreadable`` (e.g. permission denied)
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from crosslake.errors import ConfigError

LISTING_SCHEMA = "path string, length long, modificationTime timestamp"


def list_files(spark: SparkSession, folders: list[str], suffix: str | None = None) -> list[tuple]:
    """(path, length, modification time) of the plain files directly inside `folders`
    (a path that is itself a file lists just that file); with `suffix`, only names ending so."""
    jvm = spark.sparkContext._jvm
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    rows = []
    for folder in folders:
        path = jvm.org.apache.hadoop.fs.Path(folder)
        fs = path.getFileSystem(hadoop_conf)
        if not fs.exists(path):
            raise FileNotFoundError(folder)
        for status in fs.listStatus(path):
            if status.isFile() and (suffix is None or status.getPath().getName().endswith(suffix)):
                rows.append((status.getPath().toString(), status.getLen(), _timestamp(status.getModificationTime())))
    return rows


def read_text(spark: SparkSession, uri: str, max_bytes: int = 1 << 20) -> str:
    """A small file's text (a checkpoint's offsets, a marker) through Hadoop's file system,
    on any store the session reaches, without a Spark job (spark.read.text costs one)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    size = fs.getFileStatus(path).getLen()
    if size > max_bytes:
        raise ValueError(f"{uri} is {size:,} bytes, more than the {max_bytes:,} expected")
    stream = fs.open(path)
    try:
        data = jvm.org.apache.commons.io.IOUtils.toByteArray(stream)
    finally:
        stream.close()
    return bytes(data).decode("utf-8")


def read_files(spark: SparkSession, folders: list[str], suffix: str | None = None) -> DataFrame:
    """binaryFile-shaped rows (path, length, modificationTime, content) for every file."""
    listing = spark.createDataFrame(list_files(spark, folders, suffix), LISTING_SCHEMA)
    reader = spark.read.format("binaryFile")
    if suffix:
        reader = reader.option("pathGlobFilter", f"*{suffix}")
    content = reader.load(folders).select("path", "content")
    return listing.join(content, "path", "left").withColumn(
        "content", F.when(F.col("length") == 0, F.lit(bytearray())).otherwise(F.col("content")))


def _timestamp(millis: int):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc)


# -- local sources: judge every entry, read only vetted regular files -------------------------

LOCAL_SCHEMA = "path string, length long, mtime_ms long, issue string"
READ_SCHEMA = "path string, length long, mtime_ms long, issue string, content binary"
READ_CHUNK_BYTES = 64 << 20  # a task hands back its bytes in chunks of about this size


@dataclass(frozen=True)
class Entry:
    path: str              # file:/abs/path, as Hadoop names a local file
    length: int            # bytes (for a link: the link's own size)
    mtime_ms: int          # modification time in milliseconds, as Hadoop's listing has it
    issue: str | None      # why it is not read (see the policy above); None: read it


def scan_local(root: str | Path, folders: list[str | Path], *, max_bytes: int) -> list[Entry]:
    """Every entry directly inside `folders` (and every file under a directory there), judged
    by the policy in the module docstring; nothing is opened, no link is followed. `root` is
    the source: a link is inside it when its target resolves under root."""
    root = Path(os.path.realpath(root))
    out: list[Entry] = []
    for folder in folders:
        folder = Path(folder)
        if folder.is_symlink():  # a whole review folder that is a link: judged like any link
            issue = _link_issue(folder, root)
            if issue != "symlink":
                out.append(_entry(folder, os.lstat(folder), issue))
                continue
        try:
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as exc:  # the source's problem, not the lake's: say which folder
            raise ConfigError(f"cannot list the review folder {folder} ({exc.strerror or exc}): give the user "
                              f"running crosslake read access to it, or point source.path elsewhere") from None
        for item in items:
            out.extend(_judge(Path(item.path), root, max_bytes))
    return out


def _judge(path: Path, root: Path, max_bytes: int) -> Iterator[Entry]:
    try:
        st = os.lstat(path)
    except FileNotFoundError:  # removed while the folder was being listed: it is gone from the source
        return
    if stat.S_ISLNK(st.st_mode):
        yield _entry(path, st, _link_issue(path, root))
    elif stat.S_ISDIR(st.st_mode):
        yield from _nested(path)
    elif stat.S_ISREG(st.st_mode):
        yield _entry(path, st, "file_too_large" if st.st_size > max_bytes else None)
    else:
        yield _entry(path, st, "special_file")


def _nested(folder: Path) -> Iterator[Entry]:
    """Every non-directory under `folder`, at any depth, as nested_file (links not followed)."""
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            items = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:  # a directory that cannot be listed is still counted, as one unreadable entry
            yield _entry(current, os.lstat(current), "unreadable")
            continue
        for item in items:
            if item.is_dir(follow_symlinks=False):
                stack.append(Path(item.path))
            else:
                try:
                    st = item.stat(follow_symlinks=False)
                except FileNotFoundError:  # removed while being listed: gone from the source
                    continue
                yield _entry(Path(item.path), st, "nested_file")


def _link_issue(path: Path, root: Path) -> str:
    try:
        target = Path(os.path.realpath(path, strict=True))
    except OSError as exc:  # strict: a missing target or a loop raises instead of returning a path
        return "link_loop" if exc.errno == errno.ELOOP else "dangling_link"
    return "symlink" if target == root or root in target.parents else "link_outside_source"


def _entry(path: Path, st: os.stat_result, issue: str | None) -> Entry:
    return Entry(f"file:{path}", st.st_size, st.st_mtime_ns // 1_000_000, issue)


def read_local(spark: SparkSession, entries: list[Entry], *, max_bytes: int) -> DataFrame:
    """binaryFile-shaped rows (path, length, modificationTime, content) plus `issue`, one per
    entry: the vetted regular files are read by Spark tasks (see _read_batches), the others
    keep null content and their issue."""
    listing = spark.createDataFrame([(e.path, e.length, e.mtime_ms, e.issue) for e in entries], LOCAL_SCHEMA)
    parts = max(1, min(len(entries) // 2000 + 1, spark.sparkContext.defaultParallelism * 4))
    read = listing.repartition(parts).mapInPandas(lambda batches: _read_batches(batches, max_bytes), READ_SCHEMA)
    return read.select("path", "length", F.timestamp_millis("mtime_ms").alias("modificationTime"),
                       "content", "issue")


def _read_batches(batches, max_bytes: int):
    import pandas as pd

    for batch in batches:
        rows, size = [], 0
        for path, length, mtime_ms, issue in batch.itertuples(index=False):
            content = None
            if issue is None or pd.isna(issue):
                issue, content = _read_one(path[len("file:"):] if path.startswith("file:") else path, max_bytes)
                length = len(content) if content is not None else length
            rows.append((path, length, mtime_ms, issue, content))
            size += len(content or b"")
            if size >= READ_CHUNK_BYTES:
                yield pd.DataFrame(rows, columns=["path", "length", "mtime_ms", "issue", "content"])
                rows, size = [], 0
        if rows:
            yield pd.DataFrame(rows, columns=["path", "length", "mtime_ms", "issue", "content"])


def _read_one(path: str, max_bytes: int) -> tuple[str | None, bytes | None]:
    """(issue, content) of one file, judged again as it is opened: the listing may be stale
    (a file swapped for a link or a fifo after the scan is still neither followed nor waited on)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink", None  # became a link since the scan: not followed
        return "unreadable", None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return "special_file", None
        if st.st_size > max_bytes:
            return "file_too_large", None
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # grew since the scan
                return "file_too_large", None
        return None, b"".join(chunks)
    except OSError:
        return "unreadable", None
    finally:
        os.close(fd)

"""Read every file in a set of folders, including the ones Spark's file sources skip.

Spark's file index drops zero-length files and hidden names (starting with "_" or
"."), so `spark.read.format("binaryFile")` alone would lose an empty review without a
trace. Here the folders are listed through Hadoop's FileSystem (the same code path for
local disks and s3a://) and the listing is left-joined with the content Spark read:
every listed file becomes a row; an empty file gets empty content, a file Spark would
not read gets null content (and is quarantined downstream, not lost).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

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

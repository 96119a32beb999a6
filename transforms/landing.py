"""Pure transforms for files as they land (binaryFile rows -> bronze rows)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from transforms.reviews import require_columns

BRONZE_COLUMNS = ("source_path", "content", "length", "modification_time", "source", "ingest_time", "run_id",
                  "file_issue")


def with_landing_fields(
    files_df: DataFrame,
    *,
    run_id: str,
    origin: str,
    local_prefix: str | None = None,
    origin_prefix: str | None = None,
) -> DataFrame:
    """Bronze rows from Spark's binaryFile rows.

    Requires: path, content, length, modificationTime; optional: issue (why a file was not
    read: crosslake/files.py), which becomes file_issue. Returns BRONZE_COLUMNS. When the
    files were extracted from an archive, `local_prefix` in each path is replaced by
    `origin_prefix` (e.g. "aclImdb_v1.tar.gz!") so bronze names the archive member.
    """
    require_columns(files_df, "path", "content", "length", "modificationTime")
    path = F.col("path")
    if local_prefix and origin_prefix:
        path = F.replace(path, F.lit(local_prefix), F.lit(origin_prefix))
    return files_df.select(
        path.alias("source_path"),
        "content",
        "length",
        F.col("modificationTime").alias("modification_time"),
        F.lit(origin).alias("source"),
        F.current_timestamp().alias("ingest_time"),
        F.lit(run_id).alias("run_id"),
        (F.col("issue") if "issue" in files_df.columns else F.lit(None)).cast("string").alias("file_issue"),
    )

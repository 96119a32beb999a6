"""From a model, or a gold table version, down to the exact source rows behind it.

The run ledger (`crosslake runs trace`) follows table versions; this follows rows. Gold
rows of a tabular dataset carry their source and place there (file and line, Parquet
row index, or the database table and key); review gold rows are joined to the silver
version they were built from, whose rows carry the file each review was read from.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import Config
from crosslake.errors import CrosslakeError

COLUMNS = ["key", "split", "source", "source_row"]


def model_gold(cfg: Config, metadata: dict) -> tuple[str, int]:
    """(logical gold table, version) a stored model was trained on, from its metadata."""
    data = metadata.get("data") or {}
    if "gold_version" not in data:
        raise CrosslakeError(f"model {metadata.get('name')} v{metadata.get('version')} records no gold version")
    path = data.get("gold_table")
    names = [n for n in cfg.tables if cfg.table_path(n) == path]
    return (names[0] if names else data.get("gold_table_name", "gold")), int(data["gold_version"])


def gold_source_rows(spark: SparkSession, cfg: Config, table: str, version: int) -> DataFrame:
    """One row per gold row: key (as text), split, source (file or jdbc:db/table) and
    source_row (line, row index or key; null where a whole file is one row)."""
    gold = spark.read.format("delta").option("versionAsOf", lake.pinned_version(spark, cfg, table, version)) \
        .load(cfg.table_path(table))
    keys = cfg.table(table).keys
    key = F.concat_ws(",", *[F.col(f"`{k}`").cast("string") for k in keys]).alias("key")
    if "_source" in gold.columns:
        return gold.select(key, "split", F.col("_source").alias("source"), F.col("_source_row").alias("source_row"))
    if "silver_version" not in gold.columns:
        raise CrosslakeError(f"table '{table}' carries neither source columns nor a silver version to trace")
    silver_versions = [r[0] for r in gold.select("silver_version").distinct().collect()]
    if len(silver_versions) != 1:
        raise CrosslakeError(f"{table} v{version} mixes silver versions {silver_versions}: cannot trace")
    silver = spark.read.format("delta").option("versionAsOf", silver_versions[0]).load(cfg.table_path("silver"))
    return (gold.select(*keys, "split")
            .join(silver.select(*keys, F.col("source_path").alias("source")), keys, "left")
            .select(key, "split", "source", F.lit(None).cast("string").alias("source_row")))

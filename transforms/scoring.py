"""Pure transforms for the stream scorer (jobs/stream.py): why an arriving row cannot be
scored, and the reject rows that record it."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from transforms.reviews import require_columns


def scoring_problem() -> Column:
    """Why a row cannot be scored, or null when it can. Needs: _raw (the line when it was
    not valid JSON, else null), review_id, text."""
    return (F.when(F.col("_raw").isNotNull(), F.lit("not valid JSON"))
            .when(F.col("review_id").isNull() | (F.trim("review_id") == ""), F.lit("no review_id"))
            .when(F.col("text").isNull() | (F.trim("text") == ""), F.lit("no text")))


def rejected_rows(batch: DataFrame, *, source: str, batch_id: int) -> DataFrame:
    """Rows with a _problem, as stream_rejects rows: the reason and what arrived, keyed by
    a hash of the record (a replayed batch yields the same keys)."""
    require_columns(batch, "_problem", "_raw", "review_id", "text", "received_at")
    raw = F.coalesce(F.col("_raw"), F.to_json(F.struct("review_id", "text")))
    return batch.filter(F.col("_problem").isNotNull()).select(
        F.lit(source).alias("stream"), F.sha2(raw, 256).alias("record_hash"), F.col("_problem").alias("reason"),
        raw.alias("record"), "received_at", F.lit(batch_id).cast("long").alias("batch_id"),
        F.current_timestamp().alias("rejected_at")).dropDuplicates(["stream", "record_hash"])

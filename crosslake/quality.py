"""The publish gate: keep every check's result, and stop a publish whose batch checks failed.

Each job validates what it is about to write (expectations/), then calls `block_if_failed`
before the write and `record_results` with the version after it. Results land in the
dq_results table either way, so `crosslake dq report` shows blocked runs too.
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from crosslake import lake, ledger
from crosslake.config import Config
from crosslake.errors import CrosslakeError, DataQualityError
from crosslake.runner import new_run_id
from expectations.suite import RESULTS_SCHEMA, CheckResult, results_rows

log = logging.getLogger(__name__)


def account_rows(*, rows_in: int, published: int, quarantined: int, dropped: int) -> None:
    """Nothing lost: refuse to write unless rows in = published + quarantined + dropped
    (identical repeats), then log the equation and record its terms in the run ledger."""
    if rows_in != published + quarantined + dropped:
        raise CrosslakeError(f"row counts do not add up: in {rows_in}, published {published}, quarantined "
                             f"{quarantined}, repeats dropped {dropped}; nothing written")
    log.info("rows in %d = published %d + quarantined %d + duplicates dropped %d",
             rows_in, published, quarantined, dropped)
    for key, n in (("rows_in", rows_in), ("published", published), ("quarantined", quarantined),
                   ("duplicates_dropped", dropped)):
        ledger.record_count(key, n)


def quarantine_reasons(quarantine: DataFrame) -> dict[str, int]:
    """Failed check -> rows quarantined for it (a row failing two checks counts for both)."""
    return {r["reason"]: r["count"] for r in quarantine.select(F.explode("failed_checks").alias("reason"))
            .groupBy("reason").count().collect()}


def run_id() -> str:
    """The ledger's id for this run (a fresh one outside a ledger run, e.g. in a notebook)."""
    current = ledger.current()
    return current.run_id if current else new_run_id()


def record_results(spark: SparkSession, cfg: Config, checks: list[CheckResult], run_id: str,
                   table_version: int | None, table: str) -> None:
    rows = results_rows(checks, run_id=run_id, table=table, table_version=table_version)
    lake.write_table(spark.createDataFrame(rows, RESULTS_SCHEMA), cfg, "dq_results", mode="append")


def block_if_failed(spark: SparkSession, cfg: Config, checks: list[CheckResult], run_id: str, table: str,
                    hint: str) -> None:
    """Raise DataQualityError (exit code 3) if a batch check failed, after recording the results."""
    failed = [c for c in checks if not c.success and c.group != "row"]
    if failed:
        record_results(spark, cfg, checks, run_id, table_version=None, table=table)
        raise DataQualityError(f"{table} publish blocked by data quality: "
                               + "; ".join(c.describe() for c in failed) + f". Nothing was published; {hint}")

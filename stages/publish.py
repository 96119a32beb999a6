"""The one publish: quarantine first, then the gate, then the table, then the results.

Every stage that publishes a table ends here, so the order is the same everywhere: the
quarantine (the record of what was wrong) is written even when the publish is blocked;
a failed batch check blocks the write (exit code 3, results recorded with no version);
otherwise the table is written and the check results are recorded with its version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from crosslake import lake, quality

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from crosslake.config import Config
    from crosslake.lake import WriteMode
    from expectations.suite import CheckResult


class Published(NamedTuple):
    version: int                      # the table's version after the write
    quarantine_version: int | None    # the quarantine's, when one was written


def publish(spark: SparkSession, cfg: Config, df: DataFrame, *, table: str, checks: list[CheckResult],
            run_id: str, hint: str, mode: WriteMode = "sync", limits: dict[str, tuple[str, float]] | None = None,
            quarantine: tuple[DataFrame, str] | None = None) -> Published:
    """Gate `df` on `checks`, write it to `table` (mode), record the results in dq_results.

    quarantine: (rows, table) written first with mode sync, blocked or not.
    hint: what to do when blocked; limits: check -> (setting, value), for the message.
    """
    q_version = None
    if quarantine is not None:
        rows, name = quarantine
        q_version = lake.write_table(rows, cfg, name, mode="sync")
    quality.block_if_failed(spark, cfg, checks, run_id, table, hint, limits=limits)
    version = lake.write_table(df, cfg, table, mode=mode)
    quality.record_results(spark, cfg, checks, run_id, table_version=version, table=table)
    return Published(version, q_version)

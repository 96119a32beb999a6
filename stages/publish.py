"""The one publish: quarantine first, then the gate, then the table, then the results.

Every stage that publishes a table ends here, so the order is the same everywhere: the
quarantine (the record of what was wrong) is written even when the publish is blocked;
a failed batch check blocks the write (exit code 3, results recorded with no version);
otherwise the table is written and the check results are recorded with its version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from crosslake import quality

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from crosslake.lake import Lake, WriteMode
    from expectations.suite import CheckResult


class Published(NamedTuple):
    version: int                      # the table's version after the write
    quarantine_version: int | None    # the quarantine's, when one was written


def publish(lk: Lake, df: DataFrame, *, table: str, checks: list[CheckResult],
            hint: str, mode: WriteMode = "sync", limits: dict[str, tuple[str, float]] | None = None,
            quarantine: tuple[DataFrame, str] | None = None) -> Published:
    """Gate `df` on `checks`, write it to `table` (mode), record the results in dq_results.

    quarantine: (rows, table) written first with mode sync, blocked or not.
    hint: what to do when blocked; limits: check -> (setting, value), for the message.
    """
    q_version = None
    if quarantine is not None:
        rows, name = quarantine
        q_version = lk.write(rows, name, mode="sync").version
    quality.block_if_failed(lk, checks, table, hint, limits=limits)
    version = lk.write(df, table, mode=mode).version
    quality.record_results(lk, checks, table_version=version, table=table)
    return Published(version, q_version)

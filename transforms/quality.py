"""Row-level data-quality flags: which named checks each row fails."""

from __future__ import annotations

from typing import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def with_failed_checks(df: DataFrame, checks: Mapping[str, Column]) -> DataFrame:
    """Adds failed_checks: array<string>, the names of the checks whose pass predicate
    is not true for the row (a null predicate counts as failed: nothing slips through)."""
    flags = [F.when(~F.coalesce(passed, F.lit(False)), F.lit(name)) for name, passed in checks.items()]
    return df.withColumn("failed_checks", F.filter(F.array(*flags), lambda c: c.isNotNull()))


def filter_passed(df: DataFrame) -> DataFrame:
    """Rows that failed no check. Requires: failed_checks."""
    return df.filter(F.size("failed_checks") == 0)


def filter_failed(df: DataFrame) -> DataFrame:
    """Rows that failed at least one check. Requires: failed_checks."""
    return df.filter(F.size("failed_checks") > 0)

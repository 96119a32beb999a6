"""The publish gate: keep every check's result, and stop a publish whose batch checks failed.

Each stage validates what it is about to write (expectations/), then publishes it with
stages/publish.py's `publish`, which calls `block_if_failed` before the write and
`record_results` with the version after it. Results land in the dq_results table either
way, so `crosslake dq report` shows blocked runs too.

The block message names, for a check with a limit in conf/ (the quarantine fraction, the
label skew), what was observed, the limit and the setting that controls it.

The label-skew check (`label_skew`) is an input check like the quarantine fraction: a
quarantine that takes one label far more often than the other would shift what the
model learns without a word, so it blocks the publish (exit code 3) rather than warns.
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from crosslake.errors import CrosslakeError, DataQualityError
from crosslake.lake import Lake
from crosslake.recorder import Run
from expectations.suite import RESULTS_SCHEMA, CheckResult, results_rows

log = logging.getLogger(__name__)


def account_rows(run: Run, *, rows_in: int, published: int, quarantined: int, dropped: int) -> None:
    """Nothing lost: refuse to write unless rows in = published + quarantined + dropped
    (identical repeats), then log the equation and record its terms in the run ledger."""
    if rows_in != published + quarantined + dropped:
        raise CrosslakeError(f"row counts do not add up: in {rows_in}, published {published}, quarantined "
                             f"{quarantined}, repeats dropped {dropped}; nothing written")
    log.info("rows in %d = published %d + quarantined %d + duplicates dropped %d",
             rows_in, published, quarantined, dropped)
    for key, n in (("rows_in", rows_in), ("published", published), ("quarantined", quarantined),
                   ("duplicates_dropped", dropped)):
        run.record_count(key, n)


def quarantine_reasons(quarantine: DataFrame) -> dict[str, int]:
    """Failed check -> rows quarantined for it (a row failing two checks counts for both)."""
    return {r["reason"]: r["count"] for r in quarantine.select(F.explode("failed_checks").alias("reason"))
            .groupBy("reason").count().collect()}


def record_results(lk: Lake, checks: list[CheckResult], *, table_version: int | None, table: str) -> None:
    """Every check's result in dq_results, under the run's id and the version it gated."""
    rows = results_rows(checks, run_id=lk.run_id, table=table, table_version=table_version)
    lk.write(lk.spark.createDataFrame(rows, RESULTS_SCHEMA), "dq_results", mode="append")


def label_skew(df: DataFrame, *, suite: str, label: str, positive: object, max_skew: float,
               min_rows: int) -> CheckResult:
    """Input check: the share of `positive` labels among the quarantined rows of `df` against
    the share among the rest (rows with a null label ignored). Fails when they differ by more
    than `max_skew` and at least `min_rows` labelled rows were quarantined. Requires:
    quarantined, <label>."""
    col = F.col(f"`{label}`")
    stats = {r["quarantined"]: r for r in df.filter(col.isNotNull()).groupBy("quarantined").agg(
        F.count(F.lit(1)).alias("n"), F.sum(F.when(col == F.lit(positive), 1).otherwise(0)).alias("pos")).collect()}
    q, p = stats.get(True), stats.get(False)
    n_q, n_p = (q["n"] if q else 0), (p["n"] if p else 0)
    q_rate = q["pos"] / n_q if n_q else None
    p_rate = p["pos"] / n_p if n_p else None
    # rounded: 0.8 - 0.5 is 0.30000000000000004 in floating point, and must not exceed a limit of 0.3
    skew = round(abs(q_rate - p_rate), 6) if q_rate is not None and p_rate is not None else 0.0
    observed = {"quarantined_positive_rate": q_rate, "published_positive_rate": p_rate,
                "quarantined_labelled": n_q, "published_labelled": n_p, "skew": skew}
    return CheckResult(suite=suite, check="label_skew", group="input", expectation="crosslake.label_skew",
                       success=not (n_q >= min_rows and skew > max_skew), observed_value=observed,
                       unexpected_count=None, element_count=n_q + n_p)


def describe_failure(check: CheckResult, limits: dict[str, tuple[str, float]]) -> str:
    """One failed batch check in words; with its limit and setting when it has one."""
    if check.check not in limits:
        return check.describe()
    setting, limit = limits[check.check]
    fix, name = f"--set {setting}=<limit>", f"{check.suite}.{check.check}"
    if check.check == "label_skew" and isinstance(check.observed_value, dict):
        o = check.observed_value
        return (f"{name}: {o['quarantined_positive_rate']:.1%} of the "
                f"{o['quarantined_labelled']:,} quarantined labelled rows are positive against "
                f"{o['published_positive_rate']:.1%} of the {o['published_labelled']:,} published ones, a gap of "
                f"{o['skew']:.1%} above {setting}={limit:g}: the quarantine takes one label more than the other; "
                f"fix what quarantines them or raise the limit with {fix}")
    if check.check == "quarantine_fraction" and check.element_count:
        n, total = check.unexpected_count or 0, check.element_count
        return (f"{name}: quarantined {n / total:.1%} of rows ({n:,} of {total:,}), above {setting}={limit:g}: "
                f"fix the source or raise the limit with {fix}")
    return f"{check.describe()}, limit {setting}={limit:g} (change it with {fix})"


def block_if_failed(lk: Lake, checks: list[CheckResult], table: str, hint: str,
                    limits: dict[str, tuple[str, float]] | None = None) -> None:
    """Raise DataQualityError (exit code 3) if a batch check failed, after recording the results.
    `limits`: check name -> (the setting that sets its limit, its value), for the message."""
    failed = [c for c in checks if not c.success and c.group != "row"]
    if failed:
        record_results(lk, checks, table_version=None, table=table)
        raise DataQualityError(f"{table} publish blocked by data quality: "
                               + "; ".join(describe_failure(c, limits or {}) for c in failed)
                               + f". Nothing was published; {hint}")

"""Clean, for any workload: bronze -> silver, gated by the workload's suite; bad rows -> quarantine.

The order is the same for every workload: pin the bronze version, read it, parse and flag
every row (failed_checks names each check it fails), split quarantine from silver, account
for every row (rows in = published + quarantined + repeats dropped, checked before
anything is written), run the row, input and output checks, then publish: quarantine
(written even when blocked), the gate, silver, the check results. What differs (the
parse, the checks, the conflict rules, extra rows) comes from the workload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crosslake import lake, quality
from crosslake.errors import CrosslakeError
from stages import freshness
from stages.publish import publish

if TYPE_CHECKING:
    from crosslake.lake import Lake
    from expectations.suite import CheckResult, Suite
    from workloads.base import Workload


@dataclass
class CleanResult:
    rows_in: int
    published: int
    quarantined: int
    duplicates: int
    silver: lake.TableInfo
    quarantine: lake.TableInfo
    checks: list[CheckResult] = field(default_factory=list)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    feedback: int = 0  # labelled rows from the scoring side's feedback table, added to train

    def report(self) -> str:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(self.quarantine_reasons.items())) or "none"
        extra = f"\n  plus {self.feedback:,} labelled feedback rows in the train split" if self.feedback else ""
        return (f"{self.silver.name}: {self.silver.path} (version {self.silver.version}, "
                f"{self.published + self.feedback:,} rows)\n"
                f"{self.quarantine.name}: {self.quarantine.path} (version {self.quarantine.version}, "
                f"{self.quarantined:,} rows; {reasons})\n"
                f"  rows in {self.rows_in:,} = published {self.published:,} + quarantined "
                f"{self.quarantined:,} + duplicates dropped {self.duplicates:,}{extra}")


def row_check_results(suite: Suite, reasons: dict[str, int], rows_in: int) -> list[CheckResult]:
    """Row checks quarantine rather than block; their counts are recorded beside the batch checks."""
    from expectations.suite import CheckResult

    return [CheckResult(suite=suite.name, check=name, group="row", expectation=exp.expectation_type,
                        success=reasons.get(name, 0) == 0, observed_value=None,
                        unexpected_count=reasons.get(name, 0), element_count=rows_in)
            for name, exp in suite.row_checks.items()]


def run(lk: Lake, workload: Workload, *, bronze_version: int | None = None,
        rebuild: bool = False) -> CleanResult | freshness.UpToDate:
    from expectations.suite import run_checks

    bronze, silver_table, quarantine_table = (workload.table(t) for t in ("bronze", "silver", "quarantine"))
    cfg = lk.cfg
    bronze_version = lk.pin(bronze, bronze_version)
    lk.run.fingerprint = freshness.fingerprint(cfg)
    # every input the build may read, at its version now: a feedback table that did not exist at
    # the last build has no version in its ledger row, so its appearance makes the build stale
    watched = {bronze: bronze_version}
    if (feedback := workload.tables.get("feedback")) and lk.exists(feedback):
        watched[feedback] = lk.pin(feedback)
    if not rebuild and (done := freshness.last_build(lk, "clean", outputs=[silver_table, quarantine_table],
                                                      pinned=watched, fp=lk.run.fingerprint)):
        return done
    suite = workload.suite()
    flagged = workload.flag(workload.parse(lk.read(bronze, version=bronze_version)), suite).cache()
    rows_in = flagged.count()
    if rows_in == 0:
        raise CrosslakeError(workload.empty_bronze(bronze_version))
    made = workload.make_silver(flagged, bronze_version=bronze_version, run_id=lk.run_id)
    quarantine, silver = made.quarantine.cache(), made.silver.cache()
    n_quarantined, n_candidates, n_published = quarantine.count(), made.candidates.count(), silver.count()
    repeats = n_candidates - n_published
    quality.account_rows(lk.run, rows_in=rows_in, published=n_published, quarantined=n_quarantined, dropped=repeats)
    published, n_extra = workload.with_extra_rows(lk, silver)
    published = published.cache()
    reasons = quality.quarantine_reasons(quarantine)
    skew = []
    if workload.skew_label is not None:
        label, positive = workload.skew_label
        skew = [quality.label_skew(made.judged, suite=suite.name, label=label, positive=positive,
                                   max_skew=cfg.clean.max_label_skew, min_rows=cfg.clean.label_skew_min_rows)]
    checks = (workload.record_check_results(suite, reasons, rows_in) + row_check_results(suite, reasons, rows_in)
              + run_checks(made.judged, suite, "input") + skew + run_checks(published, suite, "output"))
    done = publish(lk, published, table=silver_table, checks=checks,
                   hint=workload.clean_hint(), quarantine=(quarantine, quarantine_table),
                   limits={"quarantine_fraction": workload.quarantine_limit(),
                           "label_skew": ("clean.max_label_skew", cfg.clean.max_label_skew)})
    for df in (flagged, quarantine, silver, published, *made.cached):
        df.unpersist()
    return CleanResult(
        rows_in, n_published, n_quarantined, repeats,
        lk.info(silver_table, done.version, n_published + n_extra),
        lk.info(quarantine_table, done.quarantine_version, n_quarantined),
        checks, reasons, n_extra,
    )

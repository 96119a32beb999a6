"""Clean: bronze -> silver, gated by the silver_reviews suite; bad rows -> quarantine.

    crosslake clean [--bronze-version N]
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/clean.py

Rows failing a row-level check go to the quarantine table with the failed checks
named and their original bytes kept: the suite's checks, a file that ingest did not read
(its issue: link_outside_source, nested_file, file_too_large:<bytes>, ...), control
characters in the text, and conflicts between otherwise good rows (two files with one
review_id: duplicate_review_id; one text under both labels: conflicting_labels; every row
involved). Identical texts under one label are de-duplicated (the test copy wins). A
failed batch-level check (the quarantine fraction, the label skew of the quarantine, the
output checks) publishes nothing and exits with code 3. The job checks and logs:
rows in = rows published + rows quarantined + duplicates dropped.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crosslake import arguments
from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.errors import CrosslakeError
from crosslake.runner import job_main

if TYPE_CHECKING:
    from crosslake import lake
    from expectations.suite import CheckResult
    from pyspark.sql import DataFrame, SparkSession

NAME = "clean"
ROLE = "training"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--bronze-version", type=arguments.version, help="bronze version to read (default: latest)")
    parser.add_argument("--dataset", help="clean a tabular dataset declared under datasets: in conf/ "
                                          "(<name>_bronze -> <name>_silver) instead of the reviews")


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


def parse_bronze(bronze: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F
    from transforms.reviews import with_clean_text, with_content_hash, with_decoded_text, with_label, with_source_fields

    if "file_issue" not in bronze.columns:  # a bronze version landed before ingest recorded issues
        bronze = bronze.withColumn("file_issue", F.lit(None).cast("string"))
    return (bronze.transform(with_source_fields).transform(with_decoded_text)
            .transform(with_clean_text).transform(with_label).transform(with_content_hash))


def flag_rows(parsed: DataFrame, suite) -> DataFrame:
    """Every check a row fails (failed_checks), and whether it is quarantined."""
    from pyspark.sql import functions as F
    from transforms.quality import with_failed_checks
    from transforms.reviews import review_checks, with_conflict_checks, with_file_issue_named

    return (parsed.transform(with_failed_checks, {**review_checks(), **suite.row_predicates()})
            .transform(with_file_issue_named).transform(with_conflict_checks)
            .withColumn("quarantined", F.size("failed_checks") > 0))


def builtin_check_results(suite, reasons: dict[str, int], rows_in: int) -> list[CheckResult]:
    """Results of the row checks beside the GX suite (file issues, control characters,
    conflicts), recorded like the suite's own."""
    from expectations.suite import CheckResult
    from transforms.reviews import review_checks

    names = [*review_checks(), "duplicate_review_id", "conflicting_labels"]
    count = lambda name: sum(n for r, n in reasons.items() if r == name or r.startswith(f"{name}:"))  # noqa: E731
    return [CheckResult(suite=suite.name, check=name, group="row", expectation="crosslake.record_check",
                        success=count(name) == 0, observed_value=None, unexpected_count=count(name),
                        element_count=rows_in) for name in names]


def quarantine_rows(flagged: DataFrame, run_id: str, bronze_version: int) -> DataFrame:
    """Failed rows with everything needed to inspect and replay them (the original bytes)."""
    from pyspark.sql import functions as F
    from transforms.quality import filter_failed

    return flagged.transform(filter_failed).select(
        "source_path", "review_id", "file_name", "failed_checks", "raw_text", "content",
        F.lit(bronze_version).alias("bronze_version"), F.lit(run_id).alias("run_id"),
        F.current_timestamp().alias("quarantined_at"),
    )


def row_check_results(suite, reasons: dict[str, int], rows_in: int) -> list[CheckResult]:
    """Row checks quarantine rather than block; their counts are recorded beside the batch checks."""
    from expectations.suite import CheckResult

    return [CheckResult(suite=suite.name, check=name, group="row", expectation=exp.expectation_type,
                        success=reasons.get(name, 0) == 0, observed_value=None,
                        unexpected_count=reasons.get(name, 0), element_count=rows_in)
            for name, exp in suite.row_checks.items()]


def with_feedback(spark: SparkSession, cfg: Config, corpus: DataFrame) -> tuple[DataFrame, int]:
    """The corpus plus the labelled feedback the scoring side has recorded (at its latest
    version, pinned for this run and recorded in the ledger), as training rows."""
    from crosslake import lake, ledger
    from pyspark.sql import functions as F
    from transforms.reviews import feedback_training_rows

    if not lake.exists(spark, cfg.table_path("feedback")):
        return corpus, 0
    version = lake.pinned_version(spark, cfg, "feedback")
    feedback = lake.read_table(spark, cfg, "feedback", version=version)
    added = feedback_training_rows(feedback, corpus, feedback_version=version).cache()
    labelled = feedback.filter(F.col("label").isNotNull()).count()
    n_added = added.count()
    log.info("feedback v%d: %d labelled rows; %d added to the train split, %d already in the corpus or repeated",
             version, labelled, n_added, labelled - n_added)
    ledger.record_count("feedback_added", n_added)
    return corpus.unionByName(added), n_added


def run(spark: SparkSession, cfg: Config, *, bronze_version: int | None = None,
        dataset: str | None = None) -> CleanResult:
    from crosslake import lake, quality
    from expectations.silver_reviews import silver_reviews_suite
    from expectations.suite import run_checks
    from transforms.quality import filter_passed
    from transforms.reviews import SILVER_COLUMNS, filter_duplicates, select_silver, with_split

    if dataset:
        from jobs.tabular import clean as tabular_clean

        return tabular_clean.run(spark, cfg, dataset, bronze_version=bronze_version)
    run_id = quality.run_id()
    bronze_version = lake.pinned_version(spark, cfg, "bronze", bronze_version)
    suite = silver_reviews_suite(max_text_chars=cfg.clean.max_text_chars, min_rows=cfg.clean.min_rows,
                                 max_quarantine_fraction=cfg.clean.max_quarantine_fraction, columns=SILVER_COLUMNS)
    flagged = (
        lake.read_table(spark, cfg, "bronze", version=bronze_version)
        .transform(parse_bronze)
        .transform(flag_rows, suite)
        .cache()
    )
    rows_in = flagged.count()
    if rows_in == 0:
        raise CrosslakeError(f"bronze version {bronze_version} is empty: run `crosslake ingest` on a corpus first")
    quarantine = quarantine_rows(flagged, run_id, bronze_version).cache()
    passed = (flagged.transform(filter_passed)
              .transform(with_split, validation_fraction=cfg.clean.validation_fraction, seed=cfg.clean.split_seed))
    corpus = passed.transform(filter_duplicates).transform(select_silver).cache()
    n_quarantined, n_passed, n_corpus = quarantine.count(), passed.count(), corpus.count()
    duplicates = n_passed - n_corpus
    quality.account_rows(rows_in=rows_in, published=n_corpus, quarantined=n_quarantined, dropped=duplicates)
    silver, n_feedback = with_feedback(spark, cfg, corpus)
    silver = silver.cache()
    reasons = quality.quarantine_reasons(quarantine)
    checks = (builtin_check_results(suite, reasons, rows_in) + row_check_results(suite, reasons, rows_in)
              + run_checks(flagged, suite, "input")
              + [quality.label_skew(flagged, suite=suite.name, label="label", positive=1,
                                    max_skew=cfg.clean.max_label_skew, min_rows=cfg.clean.label_skew_min_rows)]
              + run_checks(silver, suite, "output"))
    # Quarantine is written even when the publish is blocked: it is the record of what was wrong.
    q_version = lake.write_table(quarantine, cfg, "quarantine", mode="sync")
    quality.block_if_failed(spark, cfg, checks, run_id, "silver",
                            "inspect `crosslake tables show quarantine` and the source files.",
                            limits={"quarantine_fraction": ("clean.max_quarantine_fraction",
                                                            cfg.clean.max_quarantine_fraction),
                                    "label_skew": ("clean.max_label_skew", cfg.clean.max_label_skew)})
    s_version = lake.write_table(silver, cfg, "silver", mode="sync")
    quality.record_results(spark, cfg, checks, run_id, table_version=s_version, table="silver")
    for df in (flagged, quarantine, corpus, silver):
        df.unpersist()
    return CleanResult(
        rows_in, n_corpus, n_quarantined, duplicates,
        lake.TableInfo("silver", cfg.table_path("silver"), s_version, n_corpus + n_feedback),
        lake.TableInfo("quarantine", cfg.table_path("quarantine"), q_version, n_quarantined),
        checks, reasons, n_feedback,
    )


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

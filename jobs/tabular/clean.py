"""Clean a declared dataset: <name>_bronze -> <name>_silver, bad rows -> <name>_quarantine.

Every record is named by the declared columns, cleaned (trim, null markers, case),
parsed into the declared types and checked: first the checks every dataset gets
(the reader's findings, unparseable, non-finite or oversized values, a missing key),
then the dataset's own suite from conf/. A failing row goes to quarantine with every
failed check named and its raw text kept. Rows sharing a key with different values
are all quarantined (duplicate_key); identical repeats are dropped and counted.
Batch checks (the quarantine fraction and the suite's output checks) gate the publish.

    rows in = published + quarantined + exact repeats dropped   (checked before writing)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crosslake.config import Config, DatasetConfig, column_type
from crosslake.errors import ConfigError, CrosslakeError

if TYPE_CHECKING:
    from expectations.suite import Suite
    from jobs.clean import CleanResult
    from pyspark.sql import DataFrame, SparkSession

LINEAGE = ["_source", "_source_row"]


def dataset_suite(name: str, ds: DatasetConfig) -> Suite:
    """The dataset's suite from conf/, plus the quarantine-fraction gate every dataset gets."""
    import great_expectations.expectations as gxe
    from expectations.from_config import suite_from_config

    suite = suite_from_config(f"{name}_silver", ds.expectations)
    suite.input_checks.setdefault("quarantine_fraction", gxe.ExpectColumnValuesToBeInSet(
        column="quarantined", value_set=[False], mostly=1.0 - ds.clean.max_quarantine_fraction))
    return suite


def records(cfg: Config, name: str, bronze: DataFrame) -> DataFrame:
    """Bronze rows as records (transforms/tabular.py); a database table's columns are
    checked against the declaration here, as files are at ingest."""
    from pyspark.sql import functions as F
    from transforms.tabular import header_problems, records_from_columns

    ds = cfg.dataset(name)
    if ds.source.format != "jdbc":
        return bronze.select("_source", "_source_row", "_header", "_fields", "_problems", "_raw")
    spec = cfg.extracts[ds.source.extract]
    source = f"jdbc:{spec.database}/{spec.table}"
    columns = [c for c in bronze.columns if not c.startswith("_")]
    problems = header_problems(source, columns, ds)
    if problems:
        raise ConfigError(f"dataset '{name}': " + "; ".join(problems) + ". Nothing was published.")
    source_name = {declared: original for original, declared in ds.rename.items()}
    shown = [F.coalesce(F.col(f"`{source_name.get(k, k)}`").cast("string"), F.lit("NULL")) for k in ds.keys]
    position = F.concat_ws(",", *[F.concat(F.lit(f"{k}="), v) for k, v in zip(ds.keys, shown)])
    return records_from_columns(bronze, columns=columns, source=F.lit(source), source_row=position)


def run(spark: SparkSession, cfg: Config, name: str, *, bronze_version: int | None = None) -> CleanResult:
    from crosslake import lake, quality
    from expectations.suite import CheckResult, run_checks
    from jobs.clean import CleanResult, row_check_results
    from pyspark.sql import functions as F
    from transforms.quality import filter_failed, filter_passed, with_failed_checks
    from transforms.tabular import (
        guard_checks, reader_checks, value_checks, with_clean_text, with_duplicate_status, with_named_values,
        with_split, with_typed_columns,
    )

    ds = cfg.dataset(name)
    run_id = quality.run_id()
    bronze_version = lake.pinned_version(spark, cfg, f"{name}_bronze", bronze_version)
    suite = dataset_suite(name, ds)
    columns = list(ds.columns)
    suite_columns = {check: [c for c in (getattr(exp, a, None) for a in ("column", "column_A", "column_B")) if c]
                     for check, exp in suite.row_checks.items()}
    checks = guard_checks(
        {**value_checks(columns=ds.columns, keys=ds.keys, max_field_chars=ds.clean.max_field_chars),
         **suite.row_predicates()},
        record_checks=reader_checks(), columns_of=suite_columns)
    flagged = (
        records(cfg, name, lake.read_table(spark, cfg, f"{name}_bronze", version=bronze_version))
        .transform(with_named_values, columns=columns, rename=ds.rename)
        .transform(with_clean_text, columns=columns, rules=ds.clean)
        .transform(with_typed_columns, columns=ds.columns)
        .transform(with_failed_checks, checks)
        .cache()
    )
    rows_in = flagged.count()
    if rows_in == 0:
        raise CrosslakeError(f"{name}_bronze version {bronze_version} holds no records: the source is empty "
                             f"(an empty table, or files with a header only); nothing to clean")
    passed = flagged.transform(filter_passed).transform(with_duplicate_status, keys=ds.keys, columns=columns).cache()
    conflicting = passed.filter(F.col("_key_variants") > 1).withColumn("failed_checks", F.array(F.lit("duplicate_key")))
    quarantine = (flagged.transform(filter_failed).unionByName(conflicting.select(flagged.columns))
                  .select(*LINEAGE, "failed_checks", F.col("_raw").alias("raw_record"),
                          F.lit(bronze_version).alias("bronze_version"), F.lit(run_id).alias("run_id"),
                          F.current_timestamp().alias("quarantined_at"))).cache()
    unique = passed.filter(F.col("_key_variants") == 1)
    silver = (unique.filter(F.col("_copy") == 1).transform(with_split, keys=ds.keys, split=ds.split)
              .select(*columns, *LINEAGE, "split")).cache()
    n_quarantined, n_published = quarantine.count(), silver.count()
    repeats = unique.filter(F.col("_copy") > 1).count()
    quality.account_rows(rows_in=rows_in, published=n_published, quarantined=n_quarantined, dropped=repeats)
    reasons = quality.quarantine_reasons(quarantine)
    label = F.col(f"`{ds.label}`").alias("_label")
    judged = (flagged.transform(filter_failed).select(F.lit(True).alias("quarantined"), label)
              .unionByName(passed.select((F.col("_key_variants") > 1).alias("quarantined"), label)))
    skew = ([quality.label_skew(judged, suite=suite.name, label="_label", positive=True,
                                max_skew=cfg.clean.max_label_skew, min_rows=cfg.clean.label_skew_min_rows)]
            if column_type(ds.columns[ds.label])[0] == "boolean" else [])  # a positive rate needs a yes/no label
    builtin = [CheckResult(suite=suite.name, check=check, group="row", expectation="crosslake.record_check",
                           success=reasons.get(check, 0) == 0, observed_value=None,
                           unexpected_count=reasons.get(check, 0), element_count=rows_in)
               for check in [*checks, "duplicate_key"]
               if check not in suite.row_checks and (reasons.get(check) or check in ("key_missing", "duplicate_key"))]
    results = (builtin + row_check_results(suite, reasons, rows_in) + run_checks(judged, suite, "input") + skew
               + run_checks(silver, suite, "output"))
    q_version = lake.write_table(quarantine, cfg, f"{name}_quarantine", mode="sync")
    quality.block_if_failed(spark, cfg, results, run_id, f"{name}_silver",
                            f"inspect `crosslake tables show {name}_quarantine`.",
                            limits={"quarantine_fraction": (f"datasets.{name}.clean.max_quarantine_fraction",
                                                            ds.clean.max_quarantine_fraction),
                                    "label_skew": ("clean.max_label_skew", cfg.clean.max_label_skew)})
    s_version = lake.write_table(silver, cfg, f"{name}_silver", mode="sync")
    quality.record_results(spark, cfg, results, run_id, table_version=s_version, table=f"{name}_silver")
    for df in (flagged, passed, quarantine, silver):
        df.unpersist()
    return CleanResult(
        rows_in, n_published, n_quarantined, repeats,
        lake.TableInfo(f"{name}_silver", cfg.table_path(f"{name}_silver"), s_version, n_published),
        lake.TableInfo(f"{name}_quarantine", cfg.table_path(f"{name}_quarantine"), q_version, n_quarantined),
        results, reasons,
    )

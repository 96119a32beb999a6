"""The tabular workload: a dataset declared under datasets: in conf/ (no Python to add one).

Records land from CSV or Parquet files, or a database table through its extract
(tabular_landing.py). Every record is named by the declared columns, cleaned (trim, null
markers, case), parsed into the declared types and checked: first the checks every
dataset gets (the reader's findings, unparseable, non-finite or oversized values, a
missing key), then the dataset's own suite from conf/. Rows sharing a key with different
values are all quarantined (duplicate_key); identical repeats are dropped and counted.
Gold is a fixed-length float vector per row over an encoding (numeric means and standard
deviations, the categories kept per column) learnt from the train split, with the source
file and row each came from (lineage down to the record). The pure steps are in
transforms/tabular.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F

from crosslake.config import DatasetConfig, column_type
from crosslake.errors import ConfigError, CrosslakeError
from transforms.quality import filter_failed, filter_passed, with_failed_checks
from transforms.tabular import (
    ENCODING_SCHEMA, guard_checks, header_problems, reader_checks, records_from_columns, records_from_json,
    feedback_training_rows, value_checks,
    with_clean_text, with_duplicate_status, with_feature_vector, with_named_values, with_split, with_typed_columns,
)
from workloads.base import Silver, Workload

if TYPE_CHECKING:
    from pyspark.sql import Column

    from crosslake.config import Config
    from crosslake.lake import Lake
    from expectations.suite import CheckResult, Suite

LINEAGE = ["_source", "_source_row"]
# The catalog's tables of a declared dataset (crosslake/config.py, dataset_tables): logical
# name -> the part after "<dataset>_".
TABLE_SUFFIXES = {"bronze": "bronze", "silver": "silver", "quarantine": "quarantine", "features": "encoding",
                  "gold": "gold", "predictions": "predictions", "incoming": "incoming",
                  "live_predictions": "live_predictions", "stream_inputs": "stream_inputs", "feedback": "feedback",
                  "feedback_rejects": "feedback_rejects"}


def dataset_table_names(name: str) -> dict[str, str]:
    """Logical name -> catalog table of dataset `name` (bronze -> loans_bronze, ...)."""
    return {role: f"{name}_{suffix}" for role, suffix in TABLE_SUFFIXES.items()}


def dataset_suite(name: str, ds: DatasetConfig) -> Suite:
    """The dataset's suite from conf/, plus the quarantine-fraction gate every dataset gets."""
    import great_expectations.expectations as gxe

    from expectations.from_config import suite_from_config

    suite = suite_from_config(f"{name}_silver", ds.expectations)
    suite.input_checks.setdefault("quarantine_fraction", gxe.ExpectColumnValuesToBeInSet(
        column="quarantined", value_set=[False], mostly=1.0 - ds.clean.max_quarantine_fraction))
    return suite


def learn_encoding(train: DataFrame, ds: DatasetConfig, silver_version: int) -> list[Row]:
    """Encoding rows (ENCODING_SCHEMA) from the train split: one numeric slot per numeric
    column (standardised; a missing value is imputed with the train mean, 0 after scaling),
    followed by a `missing` slot (1 where the value is missing) for each numeric column
    that has missing values in the train split, so the model can tell an imputed mean from
    a real one; then per categorical column its most frequent values and an `other` slot
    (unseen and missing values)."""
    rows: list[Row] = []

    def slot(feature: str, category: str | None, kind: str, mean: float | None = None, std: float | None = None):
        rows.append(Row(feature=feature, category=category, kind=kind, position=len(rows), mean=mean, std=std,
                        silver_version=silver_version))

    if ds.features.numeric:
        stats = train.agg(*[F.mean(c).alias(f"{c}__mean") for c in ds.features.numeric],
                          *[F.stddev_pop(c).alias(f"{c}__std") for c in ds.features.numeric],
                          *[F.sum(F.col(c).isNull().cast("int")).alias(f"{c}__missing")
                            for c in ds.features.numeric]).first()
        for c in ds.features.numeric:
            mean, std = stats[f"{c}__mean"], stats[f"{c}__std"]
            slot(c, None, "numeric", float(mean or 0.0), float(std) if std else 1.0)
            if stats[f"{c}__missing"]:
                slot(c, "__missing__", "missing")
    for c in ds.features.categorical:
        top = (train.filter(F.col(c).isNotNull()).groupBy(c).count()
               .orderBy(F.desc("count"), F.col(c)).limit(ds.features.max_categories).collect())
        for r in top:
            slot(c, str(r[c]), "categorical")
        slot(c, "__other__", "other")
    return rows


class TabularWorkload(Workload):
    features_unit = "feature slots"

    def __init__(self, cfg: Config, name: str) -> None:
        super().__init__(cfg)
        self.ds = cfg.dataset(name)  # an undeclared name is refused here, named
        self.name = self.dataset = name
        self.tables = dataset_table_names(name)
        missing = [t for t in self.tables.values() if t not in cfg.tables]
        if missing:
            raise ConfigError(f"dataset '{name}': the catalog has no table(s) {', '.join(missing)}")
        from workloads import model_name

        self.model_name = model_name(cfg, name)
        self.label = self.ds.label
        boolean = column_type(self.ds.columns[self.ds.label])[0] == "boolean"
        self.skew_label = ("_label", True) if boolean else None  # a positive rate needs a yes/no label

    lineage = tuple(LINEAGE)  # a prediction traces to its source file and line, or database row

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.ds.keys)

    # ---- ingest ---------------------------------------------------------------------
    def land(self, lk: Lake, *, source: str | None = None, full: bool = False):
        from workloads.tabular_landing import land

        return land(lk, self.name, self.table("bronze"), source=source, full=full)

    # ---- clean ----------------------------------------------------------------------
    def suite(self) -> Suite:
        return dataset_suite(self.name, self.ds)

    def parse(self, bronze: DataFrame) -> DataFrame:
        """Bronze rows as records (transforms/tabular.py) with the declared, typed columns; a
        database table's columns are checked against the declaration here, as files are at
        ingest."""
        ds, columns = self.ds, list(self.ds.columns)
        return (self._records(bronze)
                .transform(with_named_values, columns=columns, rename=ds.rename)
                .transform(with_clean_text, columns=columns, rules=ds.clean)
                .transform(with_typed_columns, columns=ds.columns))

    def _records(self, bronze: DataFrame) -> DataFrame:
        ds = self.ds
        if ds.source.format != "jdbc":
            return bronze.select("_source", "_source_row", "_header", "_fields", "_problems", "_raw")
        spec = self.cfg.extracts[ds.source.extract]
        source = f"jdbc:{spec.database}/{spec.table}"
        columns = [c for c in bronze.columns if not c.startswith("_")]
        problems = header_problems(source, columns, ds)
        if problems:
            raise ConfigError(f"dataset '{self.name}': " + "; ".join(problems) + ". Nothing was published.")
        source_name = {declared: original for original, declared in ds.rename.items()}
        shown = [F.coalesce(F.col(f"`{source_name.get(k, k)}`").cast("string"), F.lit("NULL")) for k in ds.keys]
        position = F.concat_ws(",", *[F.concat(F.lit(f"{k}="), v) for k, v in zip(ds.keys, shown)])
        return records_from_columns(bronze, columns=columns, source=F.lit(source), source_row=position)

    def _checks(self, suite: Suite) -> dict[str, Column]:
        """The checks every dataset gets, then the suite's row checks, each guarded so that a
        row fails only the first check its broken value explains."""
        ds = self.ds
        suite_columns = {check: [c for c in (getattr(exp, a, None) for a in ("column", "column_A", "column_B")) if c]
                         for check, exp in suite.row_checks.items()}
        return guard_checks(
            {**value_checks(columns=ds.columns, keys=ds.keys, max_field_chars=ds.clean.max_field_chars),
             **suite.row_predicates()},
            record_checks=reader_checks(), columns_of=suite_columns)

    def flag(self, parsed: DataFrame, suite: Suite) -> DataFrame:
        return parsed.transform(with_failed_checks, self._checks(suite))

    def make_silver(self, flagged: DataFrame, *, bronze_version: int, run_id: str) -> Silver:
        ds, columns = self.ds, list(self.ds.columns)
        passed = (flagged.transform(filter_passed).transform(with_duplicate_status, keys=ds.keys, columns=columns)
                  .cache())
        conflicting = passed.filter(F.col("_key_variants") > 1).withColumn("failed_checks",
                                                                            F.array(F.lit("duplicate_key")))
        quarantine = (flagged.transform(filter_failed).unionByName(conflicting.select(flagged.columns))
                      .select(*LINEAGE, "failed_checks", F.col("_raw").alias("raw_record"),
                              F.lit(bronze_version).alias("bronze_version"), F.lit(run_id).alias("run_id"),
                              F.current_timestamp().alias("quarantined_at")))
        unique = passed.filter(F.col("_key_variants") == 1)
        silver = (unique.filter(F.col("_copy") == 1).transform(with_split, keys=ds.keys, split=ds.split)
                  .select(*columns, *LINEAGE, "split"))
        label = F.col(f"`{ds.label}`").alias("_label")
        judged = (flagged.transform(filter_failed).select(F.lit(True).alias("quarantined"), label)
                  .unionByName(passed.select((F.col("_key_variants") > 1).alias("quarantined"), label)))
        return Silver(quarantine, unique, silver, judged, cached=[passed])

    def record_check_results(self, suite: Suite, reasons: dict[str, int], rows_in: int) -> list[CheckResult]:
        """The checks every dataset gets that found something (key_missing and duplicate_key
        always, so a clean run shows they were checked)."""
        from expectations.suite import CheckResult

        return [CheckResult(suite=suite.name, check=check, group="row", expectation="crosslake.record_check",
                            success=reasons.get(check, 0) == 0, observed_value=None,
                            unexpected_count=reasons.get(check, 0), element_count=rows_in)
                for check in [*self._checks(suite), "duplicate_key"]
                if check not in suite.row_checks
                and (reasons.get(check) or check in ("key_missing", "duplicate_key"))]

    def quarantine_limit(self) -> tuple[str, float]:
        return f"datasets.{self.name}.clean.max_quarantine_fraction", self.ds.clean.max_quarantine_fraction

    def empty_bronze(self, version: int) -> str:
        return (f"{self.table('bronze')} version {version} holds no records: the source is empty (an empty table, "
                f"or files with a header only); nothing to clean")

    # ---- features -------------------------------------------------------------------
    def fit_encoder(self, labelled: DataFrame, silver_version: int) -> tuple[list, Any]:
        train = labelled.filter(F.col("split") == "train")
        if train.isEmpty():
            raise CrosslakeError(f"{self.table('silver')} version {silver_version} has no labelled train rows to "
                                 f"learn the feature encoding from")
        encoding = learn_encoding(train, self.ds, silver_version)
        if not encoding:
            raise CrosslakeError(f"datasets.{self.name}.features declares no numeric or categorical columns")
        return encoding, ENCODING_SCHEMA

    def make_gold(self, labelled: DataFrame, encoder: list, *, silver_version: int,
                  encoder_version: int) -> DataFrame:
        return (labelled.transform(with_feature_vector, encoding=encoder, label=self.ds.label)
                .select(*self.ds.keys, "split", "label", "features", *LINEAGE,
                        F.lit(silver_version).alias("silver_version"),
                        F.lit(encoder_version).alias("encoding_version")))

    def gold_checks(self, gold: DataFrame, encoder: list) -> list[CheckResult]:
        from expectations.gold import checked_view, gold_dataset_suite
        from expectations.suite import run_checks

        return run_checks(checked_view(gold, "features"), gold_dataset_suite(self.name, self.ds.keys, len(encoder)),
                          "output")

    def gold_hint(self) -> str:
        return f"check {self.table('silver')} and datasets.{self.name}.features."

    # ---- generate / pipeline --------------------------------------------------------
    def generate(self, cfg: Config, *, seed=None, out=None, rows: int = 2000, to: str = "csv", **_ignored):
        """The example dataset (loans), as CSV files in its source folder or into the table its
        extract reads."""
        from sources import loans_generator
        from stages.generate import DatasetGenerateResult, check_replaceable, mark, write_database_table

        name, ds = self.name, self.ds
        seed = cfg.generate.seed if seed is None else seed
        if list(ds.columns) != loans_generator.COLUMNS:
            raise ConfigError(f"there is a generator for the example dataset's columns only "
                              f"({', '.join(loans_generator.COLUMNS)}); dataset '{name}' declares others: "
                              f"point its source at your own data instead")
        if to == "csv":
            target = out or ds.source.path
            if not target:
                raise ConfigError(f"datasets.{name}.source.path is not set: pass --out FOLDER")
            check_replaceable(target, "--out" if out else f"datasets.{name}.source.path")
            manifest = loans_generator.write_csv(target, rows, seed=seed)
            mark(target)
            return DatasetGenerateResult(name, target, manifest)
        spec = cfg.extracts.get(ds.source.extract or "")
        if spec is None:
            raise ConfigError(f"datasets.{name}.source.extract names no extract: nothing says which table to write")
        data, manifest = loans_generator.rows_for_database(rows, seed=seed)
        write_database_table(cfg, spec.database, spec.table, data)
        return DatasetGenerateResult(name, f"{cfg.databases[spec.database].url} table {spec.table}", manifest)

    def missing_source(self) -> str | None:
        missing = self.ds.source.format == "csv" and not Path(self.ds.source.path).exists()
        return self.generate_reason() if missing else None

    def generate_reason(self) -> str:
        return f"no files at {self.ds.source.path}: generating the example data"

    # ---- train and score ------------------------------------------------------------
    def training_plan(self, lk: Lake, gold: DataFrame, gold_version: int):
        from workloads.tabular_training import plan

        return plan(lk, self, gold, gold_version)

    def rows_to_score(self, rows: DataFrame) -> DataFrame:
        """Besides score.splits, a dataset's unlabelled rows: what it has instead of an unsup split."""
        return rows.filter(F.col("split").isin(*self.cfg.score.splits) | F.col(f"`{self.label}`").isNull())

    def prediction_extras(self, scorer) -> list:
        return [F.lit(scorer.kind).alias("model_kind")]

    # ---- stream ---------------------------------------------------------------------
    # what a key was scored with: its values (the label left out), typed, as one JSON object
    payload = "_scored_record"
    conflicts = ("conflicting_records_in_batch", "key_already_scored_with_other_record")
    line_format = '{"<column>": <value>, ...} (the declared columns by name; the label may be left out)'
    incoming_columns = ("record", "received_at")

    def model_columns(self) -> list[str]:
        return [c for c in self.ds.columns if c != self.ds.label]

    def feedback_columns(self) -> list[str]:
        return [c for c in self.model_columns() if c not in self.ds.keys]

    def stream_rows(self, rows: DataFrame, *, dropzone: bool) -> DataFrame:
        """Each arriving JSON object (a drop-zone line, or an incoming row's `record`) read as
        a record of the declared columns by the rules a CSV line is read by (trim, null
        markers, the declared types; transforms/tabular.py), and checked as every dataset's
        rows are (a value that does not parse, a non-finite number, an oversized field, a
        missing key): the first problem names the reject."""
        from transforms.scoring import with_json_object

        ds, columns, inputs = self.ds, list(self.ds.columns), self.model_columns()
        if dropzone:
            objects = rows.select("record", "line", "valid_utf8", F.col("file").alias("_file"),
                                  F.col("received_at").alias("_received_at"))
        else:
            objects = rows.select("record", F.lit(None).cast("long").alias("line"), F.lit(True).alias("valid_utf8"),
                                  F.lit(None).cast("string").alias("_file"), F.col("received_at").alias("_received_at"))
        parsed = (records_from_json(objects.transform(with_json_object), columns=columns,
                                    source=F.coalesce("_file", F.lit(self.table("incoming"))))
                  .transform(with_named_values, columns=columns, rename={})
                  .transform(with_clean_text, columns=columns, rules=ds.clean)
                  .transform(with_typed_columns, columns=ds.columns))
        checks = value_checks(columns={c: ds.columns[c] for c in inputs}, keys=ds.keys,
                              max_field_chars=ds.clean.max_field_chars)
        problem = F.when(F.size("_problems") > 0, F.element_at("_problems", 1))
        for name, passes in checks.items():
            problem = problem.when(~passes, F.lit(name))
        return parsed.select(*inputs, F.to_json(F.struct(*inputs)).alias(self.payload), problem.alias("_problem"),
                             F.col("_raw").alias("_record"), "_file", F.col("_source_row").cast("long").alias("_line"),
                             "_received_at")

    def feedback_training_rows(self, feedback: DataFrame, silver: DataFrame, *, feedback_version: int) -> DataFrame:
        """Records whose key silver does not hold, with their label (transforms/tabular.py)."""
        return feedback_training_rows(feedback, silver, keys=self.ds.keys, label=self.ds.label,
                                      label_type=column_type(self.ds.columns[self.ds.label])[0],
                                      source=f"{self.table('feedback')}@v{feedback_version}")

    def with_train_settings(self, params: dict) -> Config:
        import dataclasses

        ds = dataclasses.replace(self.ds, train={**self.ds.train, **params})
        return dataclasses.replace(self.cfg, datasets={**self.cfg.datasets, self.name: ds})

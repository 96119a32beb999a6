"""What a workload is: everything the stages need that differs from one kind of data to another.

The stages (stages/) are written once and never ask which dataset they run on; a Workload
answers for them: which catalog tables it uses, how its records land, the pure parse of
bronze, the row checks and the suite, how silver is made, how the encoder (the features
table) is fitted and gold is made, and the model it trains. Kind-specific logic stays in
transforms/ (pure functions); a workload module only wires those transforms together.

The defaults below are what a simple workload needs: row checks from `row_checks()` and
the suite, exact repeats dropped, failed rows quarantined with every column kept. The
review and tabular workloads override the steps where their rules differ.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from crosslake.config import Config
    from crosslake.lake import Lake
    from expectations.suite import CheckResult, Suite
    from stages.train import TrainingPlan

log = logging.getLogger(__name__)

# The logical names every workload maps to its catalog tables: the training side's, then the
# scoring side's (batch predictions; the stream's input, output and what it scored; feedback).
TABLE_ROLES = ("bronze", "silver", "quarantine", "features", "gold", "predictions", "incoming", "live_predictions",
               "stream_inputs", "feedback", "feedback_rejects")


@dataclass
class Silver:
    """What a workload makes of the flagged rows (all lazy, nothing counted yet).

    quarantine: the rows quarantined, in the quarantine table's columns.
    candidates: the rows that passed every row check; silver is these less exact repeats,
                so candidates - silver is the count of repeats dropped.
    silver:     the rows to publish, in the silver table's columns.
    judged:     every row with a boolean `quarantined`: what the suite's input checks see.
    cached:     frames the workload cached on the way, unpersisted when the stage is done.
    """

    quarantine: DataFrame
    candidates: DataFrame
    silver: DataFrame
    judged: DataFrame
    cached: list[DataFrame] = field(default_factory=list)


class Workload:
    """Base class: subclasses set the attributes and override the steps that differ."""

    name: str                      # shown in logs and results: "reviews", or the dataset's name
    dataset: str | None = None     # the --dataset value that picks it (None: the review corpus)
    tables: Mapping[str, str]      # logical name (TABLE_ROLES) -> catalog table name
    model_name: str                # the model the train stage registers for this workload
    features_unit: str = "rows"    # what one row of the features table is, in the features report
    label: str = "label"           # silver's label column
    # (column, positive value) the label-skew check compares between quarantined and published
    # rows, or None when the label is not a yes/no outcome
    skew_label: tuple[str, Any] | None = None
    # silver's columns (default make_silver: rows equal in these are exact repeats); None: all
    silver_columns: tuple[str, ...] | None = None

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg

    def table(self, role: str) -> str:
        return self.tables[role]

    # ---- ingest ---------------------------------------------------------------------
    def land(self, lk: Lake, *, source: str | None = None, full: bool = False) -> Any:
        """Land the source's records in the bronze table; returns a result with report()."""
        raise NotImplementedError(f"workload '{self.name}' has no ingest")

    # ---- clean ----------------------------------------------------------------------
    def suite(self) -> Suite:
        raise NotImplementedError

    def parse(self, bronze: DataFrame) -> DataFrame:
        """Bronze rows -> parsed records (pure)."""
        return bronze

    def row_checks(self) -> dict[str, Column]:
        """Row checks beside the suite's, as pass predicates (true: the row is fine)."""
        return {}

    def flag(self, parsed: DataFrame, suite: Suite) -> DataFrame:
        """Every row with failed_checks (the names of the checks it fails) and `quarantined`."""
        from pyspark.sql import functions as F

        from transforms.quality import with_failed_checks

        return (parsed.transform(with_failed_checks, {**self.row_checks(), **suite.row_predicates()})
                .withColumn("quarantined", F.size("failed_checks") > 0))

    def make_silver(self, flagged: DataFrame, *, bronze_version: int, run_id: str) -> Silver:
        """Quarantine the failed rows (every column, stamped with the bronze version and run);
        publish one copy of each passing row, in silver_columns."""
        from pyspark.sql import functions as F

        from transforms.quality import filter_failed, filter_passed

        columns = [c for c in flagged.columns if c not in ("failed_checks", "quarantined")]
        quarantine = flagged.transform(filter_failed).select(
            *columns, "failed_checks", F.lit(bronze_version).alias("bronze_version"), F.lit(run_id).alias("run_id"),
            F.current_timestamp().alias("quarantined_at"))
        candidates = flagged.transform(filter_passed).select(*columns)
        silver = candidates.select(*(self.silver_columns or columns)).dropDuplicates()
        return Silver(quarantine, candidates, silver, flagged)

    def with_extra_rows(self, lk: Lake, silver: DataFrame) -> tuple[DataFrame, int]:
        """Silver plus the labelled feedback the scoring side has recorded (at its latest
        version, pinned for this run and recorded in the ledger) as training rows, and how
        many were added."""
        from pyspark.sql import functions as F

        table = self.tables.get("feedback")
        if table is None or not lk.exists(table):
            return silver, 0
        version = lk.pin(table)
        feedback = lk.read(table, version=version)
        added = self.feedback_training_rows(feedback, silver, feedback_version=version).cache()
        labelled = feedback.filter(F.col("label").isNotNull()).count()
        n_added = added.count()
        log.info("%s v%d: %d labelled rows; %d added to the train split, %d already in %s or repeated", table,
                 version, labelled, n_added, labelled - n_added, self.table("silver"))
        lk.run.record_count("feedback_added", n_added)
        return silver.unionByName(added), n_added

    def feedback_training_rows(self, feedback: DataFrame, silver: DataFrame, *, feedback_version: int) -> DataFrame:
        """The labelled feedback rows that become training rows, in silver's columns."""
        raise NotImplementedError

    def record_check_results(self, suite: Suite, reasons: dict[str, int], rows_in: int) -> list[CheckResult]:
        """Results of the row checks beside the suite's (recorded like the suite's own)."""
        from expectations.suite import CheckResult

        return [CheckResult(suite=suite.name, check=name, group="row", expectation="crosslake.record_check",
                            success=reasons.get(name, 0) == 0, observed_value=None,
                            unexpected_count=reasons.get(name, 0), element_count=rows_in)
                for name in self.row_checks()]

    def quarantine_limit(self) -> tuple[str, float]:
        """(the setting, its value) that limits the quarantined fraction, for the block message."""
        return "clean.max_quarantine_fraction", self.cfg.clean.max_quarantine_fraction

    def clean_hint(self) -> str:
        """What to do when the silver publish is blocked."""
        return f"inspect `crosslake tables show {self.table('quarantine')}`."

    def empty_bronze(self, version: int) -> str:
        return f"{self.table('bronze')} version {version} holds no records: nothing to clean"

    # ---- features -------------------------------------------------------------------
    def labelled(self, silver: DataFrame) -> DataFrame:
        """The silver rows that become gold (model-ready, labelled)."""
        from pyspark.sql import functions as F

        return silver.filter(F.col(self.label).isNotNull())

    def fit_encoder(self, labelled: DataFrame, silver_version: int) -> tuple[list, Any]:
        """Rows of the features table learnt from the train split, and their schema."""
        raise NotImplementedError(f"workload '{self.name}' has no features")

    def make_gold(self, labelled: DataFrame, encoder: list, *, silver_version: int,
                  encoder_version: int) -> DataFrame:
        raise NotImplementedError

    def gold_checks(self, gold: DataFrame, encoder: list) -> list[CheckResult]:
        raise NotImplementedError

    def gold_hint(self) -> str:
        return f"check {self.table('silver')} and the features settings."

    # ---- train ----------------------------------------------------------------------
    def training_plan(self, lk: Lake, gold: DataFrame, gold_version: int) -> TrainingPlan:
        """What to train on the pinned gold version: the encoder, the model, its baselines
        (stages/train.py runs it)."""
        raise NotImplementedError(f"workload '{self.name}' has no model")

    # ---- score ----------------------------------------------------------------------
    keys: tuple[str, ...] = ()             # the key columns a prediction carries
    lineage: tuple[str, ...] = ()          # columns tracing a prediction to its source row

    def score_input(self) -> str:
        """The table batch scoring reads."""
        return self.table("silver")

    def rows_to_score(self, rows: DataFrame) -> DataFrame:
        """The rows of score_input() that batch scoring scores."""
        from pyspark.sql import functions as F

        return rows.filter(F.col("split").isin(*self.cfg.score.splits))

    def truth(self) -> Column:
        """The known label of a scored row (0/1, null when unknown)."""
        from pyspark.sql import functions as F

        return F.col(f"`{self.label}`").cast("int")

    def prediction_extras(self, scorer: Any) -> list[Column]:
        """Columns beside the standard ones in this workload's predictions table."""
        return []

    def with_train_settings(self, params: dict[str, Any]) -> Config:
        """The configuration with `params` as this workload's training settings (a sweep trial)."""
        import dataclasses

        return dataclasses.replace(self.cfg, train=dataclasses.replace(self.cfg.train, **params))

    # ---- stream (the scoring side) ---------------------------------------------------
    # What a key was scored with: kept in stream_inputs, compared when the key is sent again.
    payload: str = "text"
    # (every row of a key sent with two payloads in one batch, a key scored before sent with another)
    conflicts: tuple[str, str] = ("conflicting_payloads_in_batch", "key_already_scored_with_other_payload")
    # One drop-zone line, for the stream's help and its errors.
    line_format: str = "{...}"
    # the columns of the incoming table the stream reads
    incoming_columns: tuple[str, ...] = ()

    def stream_rows(self, rows: DataFrame, *, dropzone: bool) -> DataFrame:
        """Rows arriving at the stream as rows it can sort and score: keys, payload, the
        model's input columns, _problem (the reject reason, null when it can be scored),
        record (what arrived, as text), file, line, received_at.

        rows: the incoming table's rows; or, from a drop zone (dropzone=True), its lines as
        transforms/scoring.py explode_lines cut them (record, file, line, valid_utf8,
        received_at)."""
        raise NotImplementedError(f"workload '{self.name}' has no stream")

    def model_columns(self) -> list[str]:
        """The columns the scorer reads (its encoder's input)."""
        raise NotImplementedError

    def default_dropzone(self) -> str | None:
        """The drop-zone folder when --path is not given."""
        return None

    def dropzone_hint(self) -> str:
        return f"pass --path (dataset '{self.name}' has a zone of its own: its records are not reviews)"

    def zone_tag(self, source: str) -> str:
        """The checkpoint folder of a drop-zone source: a hash of its folder and the workload
        (two workloads never share a checkpoint, even on one folder)."""
        import hashlib

        return "dropzone-" + hashlib.sha1(f"{source}|{self.name}".encode()).hexdigest()[:12]

    def older_stream_inputs(self, lk: Lake) -> DataFrame | None:
        """What was scored for keys the stream inputs table does not hold (a lake scored
        before the stream kept them), in its key and feedback columns; None: nothing."""
        return None

    def feedback_columns(self) -> list[str]:
        """What a feedback row keeps of the input beside its keys (what it was scored with)."""
        return [self.payload]

    # ---- generate / pipeline --------------------------------------------------------
    def generate(self, cfg: Config, **options: Any) -> Any:
        """Write example source data; returns a result with report()."""
        raise NotImplementedError(f"workload '{self.name}' has no generator")

    def missing_source(self) -> str | None:
        """Why the pipeline must generate data first (a log line), or None if there is a source."""
        return None

    def generate_reason(self) -> str:
        """The log line when the pipeline generates data (asked, or no source yet)."""
        return f"generating example data for {self.name}"

    @property
    def scores(self) -> bool:
        """Whether the pipeline ends with batch scoring for this workload."""
        return False

    def options(self) -> dict[str, Any]:
        """The options that pick this workload again in the jobs the pipeline chains."""
        return {"dataset": self.dataset} if self.dataset else {}

"""Score: the latest (or a chosen) model -> predictions for a Delta table's reviews.

    crosslake score [--model-version N|production|candidate] [--input-version N] [--dataset NAME]
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/score.py

Scores through the model's stored encoder and the one scoring path (train/scoring.py: a
torch model through a batch (Arrow) UDF, a Spark ML baseline natively) and merges
into the predictions table by (review_id, model_version): every row names the model
version and the input table and version it came from; re-scoring replaces, never doubles.
With --dataset NAME: the dataset's silver rows (test split and unlabelled rows) with its
production model -> <name>_predictions, by (business keys, model_version), each row
carrying _source/_source_row from silver (the file and line, or database row, it came from).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crosslake import arguments
from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.recorder import Run
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from crosslake import lake

NAME = "score"
ROLE = "scoring"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)


def add_arguments(parser) -> None:
    parser.add_argument("--model-version", help="a version number or an alias (candidate, production); "
                                                "default: production if set, else the latest")
    parser.add_argument("--input-version", type=arguments.version, help="input table version (default: latest)")
    parser.add_argument("--dataset", help="score a tabular dataset declared under datasets: in conf/ with its "
                                          "production model (<name>_silver -> <name>_predictions, model <name>_mlp)")


@dataclass
class ScoreResult:
    model_version: int
    input_table: str
    input_version: int
    scored: int
    labelled_accuracy: float | None
    table: lake.TableInfo

    def report(self) -> str:
        acc = f"; accuracy on the {self.input_table} rows that have labels: {self.labelled_accuracy:.4f}" \
            if self.labelled_accuracy is not None else ""
        return (f"{self.table.name}: {self.table.path} (version {self.table.version}, {self.table.rows:,} rows)\n"
                f"  scored {self.scored:,} rows of {self.input_table} version {self.input_version} "
                f"with model v{self.model_version}{acc}")


def run(spark: SparkSession, cfg: Config, *, model_version: int | str | None = None,
        input_version: int | None = None, dataset: str | None = None, recorder: Run | None = None) -> ScoreResult:
    from pyspark.sql import functions as F

    from crosslake import quality
    from crosslake.lake import Lake
    from expectations.predictions import predictions_suite
    from expectations.suite import run_checks
    from train import registry
    from train.scoring import load_scorer

    from workloads import pick

    workload = pick(cfg, dataset)  # its input table, model, predictions table, keys and lineage
    model_name, name, out_table = workload.model_name, workload.score_input(), workload.table("predictions")
    keys, lineage = list(workload.keys), list(workload.lineage)
    lk = Lake(spark, cfg, recorder)
    model_version = registry.resolve(cfg.model_store, model_name, model_version)
    scorer = load_scorer(cfg.model_store, model_name, model_version)  # fails fast, on the driver
    lk.run.record_input(f"model:{scorer.name}", scorer.version)
    input_version = lk.pin(name, input_version)
    rows = workload.rows_to_score(lk.read(name, version=input_version))
    truth = workload.truth()
    predictions = (
        scorer.score(spark, rows.withColumn("_truth", truth), batch_size=cfg.score.batch_size)
        .select(*keys, "split", F.col("_truth").alias("label"), "probability", "prediction",
                F.lit(scorer.name).alias("model_name"), F.lit(scorer.version).alias("model_version"),
                *workload.prediction_extras(scorer),
                F.lit(name).alias("input_table"), F.lit(input_version).alias("input_version"), *lineage,
                F.current_timestamp().alias("scored_at"))
    ).cache()
    from stages.publish import publish

    checks = run_checks(predictions, predictions_suite(keys, name=out_table), "output")
    version = publish(lk, predictions, table=out_table, checks=checks, hint="check the model and the input rows.",
                      mode="upsert").version
    predictions.unpersist()
    table = lk.read(out_table, version=version)
    this_run = table.filter((F.col("model_version") == scorer.version) & (F.col("input_version") == input_version))
    stats = this_run.agg(F.count("*").alias("n"),
                         F.avg(F.when(F.col("label").isNotNull(),
                                      (F.col("label") == F.col("prediction")).cast("double"))).alias("acc")).first()
    lk.run.record_count("scored", stats.n)
    return ScoreResult(scorer.version, name, input_version, stats.n, stats.acc,
                       lk.info(out_table, version, table.count()))


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

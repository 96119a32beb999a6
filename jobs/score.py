"""Score: the latest (or a chosen) model -> predictions for a Delta table's reviews.

    crosslake score [--model-version N|production|candidate] [--input-version N]
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/score.py

Tokenises with the model's own vocabulary, scores with a batch (Arrow) UDF and merges
into the predictions table by (review_id, model_version): every row names the model
version and the input table and version it came from; re-scoring replaces, never doubles.
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
from crosslake.runner import job_main

if TYPE_CHECKING:
    from crosslake import lake
    from pyspark.sql import SparkSession

NAME = "score"
ROLE = "scoring"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)


def add_arguments(parser) -> None:
    parser.add_argument("--model-version", help="a version number or an alias (candidate, production); "
                                                "default: production if set, else the latest")
    parser.add_argument("--input-version", type=arguments.version, help="input table version (default: latest)")


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
        return (f"predictions: {self.table.path} (version {self.table.version}, {self.table.rows:,} rows)\n"
                f"  scored {self.scored:,} rows of {self.input_table} version {self.input_version} "
                f"with model v{self.model_version}{acc}")


def run(spark: SparkSession, cfg: Config, *, model_version: int | str | None = None,
        input_version: int | None = None) -> ScoreResult:
    from crosslake import lake, ledger, quality
    from expectations.predictions import predictions_suite
    from expectations.suite import run_checks
    from pyspark.sql import functions as F
    from serving.udf import broadcast_model, with_predictions
    from train import registry
    from train.store import load_model
    from transforms.features import with_token_ids, with_tokens

    model_version = registry.resolve(cfg.model_store, cfg.models.name, model_version)
    stored = load_model(cfg.model_store, cfg.models.name, model_version)  # fails fast, on the driver
    ledger.record_input(f"model:{stored.name}", stored.version)
    name = cfg.score.input_table
    input_version = lake.pinned_version(spark, cfg, name, input_version)
    max_len = stored.metadata["spec"]["max_len"]
    rows = lake.read_table(spark, cfg, name, version=input_version).filter(F.col("split").isin(*cfg.score.splits))
    predictions = (
        rows.transform(with_tokens)
        .transform(with_token_ids, vocab=stored.vocabulary, max_len=max_len)
        .transform(with_predictions, model=broadcast_model(spark, cfg.model_store, stored),
                   max_len=max_len, batch_size=cfg.score.batch_size)
        .select("review_id", "split", "label", "probability", "prediction",
                F.lit(stored.name).alias("model_name"), F.lit(stored.version).alias("model_version"),
                F.lit(name).alias("input_table"), F.lit(input_version).alias("input_version"),
                F.current_timestamp().alias("scored_at"))
    ).cache()
    run_id = quality.run_id()
    checks = run_checks(predictions, predictions_suite(), "output")
    quality.block_if_failed(spark, cfg, checks, run_id, "predictions", "check the model and the input rows.")
    version = lake.write_table(predictions, cfg, "predictions", mode="upsert")
    quality.record_results(spark, cfg, checks, run_id, table_version=version, table="predictions")
    predictions.unpersist()
    table = lake.read_table(spark, cfg, "predictions", version=version)
    this_run = table.filter((F.col("model_version") == stored.version) & (F.col("input_version") == input_version))
    stats = this_run.agg(F.count("*").alias("n"),
                         F.avg(F.when(F.col("label").isNotNull(),
                                      (F.col("label") == F.col("prediction")).cast("double"))).alias("acc")).first()
    ledger.record_count("scored", stats.n)
    return ScoreResult(stored.version, name, input_version, stats.n, stats.acc,
                       lake.TableInfo("predictions", cfg.table_path("predictions"), version, table.count()))


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

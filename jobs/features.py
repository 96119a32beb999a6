"""Features: silver -> vocabulary + gold (fixed-length token-id arrays for the model).

    crosslake features [--silver-version N]
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/features.py

The vocabulary is built from the train split only (nothing learnt from validation or
test) and written as its own Delta table, stamped with the silver version it came from;
gold rows carry both the silver and the vocabulary version. Unlabelled rows (unsup)
are not model-ready training data and stay in silver only.
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
from crosslake.errors import CrosslakeError
from crosslake.runner import job_main

if TYPE_CHECKING:
    from crosslake import lake
    from pyspark.sql import SparkSession

NAME = "features"
ROLE = "training"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
LABELLED_SPLITS = ("train", "validation", "test")


def add_arguments(parser) -> None:
    parser.add_argument("--silver-version", type=arguments.version, help="silver version to read (default: latest)")
    parser.add_argument("--dataset", help="a tabular dataset declared under datasets: in conf/ "
                                          "(<name>_silver -> <name>_encoding + <name>_gold)")


@dataclass
class FeaturesResult:
    silver_version: int
    unlabelled_skipped: int
    vocabulary: lake.TableInfo
    gold: lake.TableInfo
    split_rows: dict[str, int]

    def report(self) -> str:
        splits = ", ".join(f"{k} {v:,}" for k, v in sorted(self.split_rows.items()))
        return (f"vocabulary: {self.vocabulary.path} (version {self.vocabulary.version}, "
                f"{self.vocabulary.rows:,} tokens)\n"
                f"gold: {self.gold.path} (version {self.gold.version}, {self.gold.rows:,} rows: {splits}; "
                f"from silver version {self.silver_version}, {self.unlabelled_skipped:,} unlabelled rows not used)")


def run(spark: SparkSession, cfg: Config, *, silver_version: int | None = None,
        dataset: str | None = None) -> FeaturesResult:
    from crosslake import lake, ledger, quality
    from expectations.gold import checked_view, gold_reviews_suite
    from expectations.suite import run_checks
    from pyspark.sql import functions as F
    from transforms.features import vocabulary, with_token_ids, with_tokens

    if dataset:
        from jobs.tabular import features as tabular_features

        return tabular_features.run(spark, cfg, dataset, silver_version=silver_version)
    silver_version = lake.pinned_version(spark, cfg, "silver", silver_version)
    silver = lake.read_table(spark, cfg, "silver", version=silver_version)
    labelled = silver.filter(F.col("split").isin(*LABELLED_SPLITS)).transform(with_tokens).cache()
    n_silver, n_labelled = silver.count(), labelled.count()
    f = cfg.features
    vocab_df = (vocabulary(labelled.filter(F.col("split") == "train"), size=f.vocab_size, min_count=f.min_count)
                .withColumn("silver_version", F.lit(silver_version)))
    vocab_rows = vocab_df.collect()
    if not vocab_rows:
        raise CrosslakeError(f"silver version {silver_version} has no train-split tokens to build a vocabulary from")
    vocab_version = lake.write_table(spark.createDataFrame(vocab_rows, vocab_df.schema), cfg, "vocabulary",
                                     mode="sync")
    gold = (
        labelled.transform(with_token_ids, vocab={r.token: r.id for r in vocab_rows}, max_len=f.max_len)
        .select("review_id", "split", "label", "token_ids", "n_tokens",
                F.lit(silver_version).alias("silver_version"), F.lit(vocab_version).alias("vocab_version"))
    ).cache()
    run_id = quality.run_id()
    checks = run_checks(checked_view(gold, "token_ids"), gold_reviews_suite(f.max_len), "output")
    quality.block_if_failed(spark, cfg, checks, run_id, "gold", "check the silver rows and features settings.")
    gold_version = lake.write_table(gold, cfg, "gold", mode="sync")
    quality.record_results(spark, cfg, checks, run_id, table_version=gold_version, table="gold")
    gold.unpersist()
    split_rows = {r.split: r["count"] for r in lake.read_table(spark, cfg, "gold", version=gold_version)
                  .groupBy("split").count().collect()}
    labelled.unpersist()
    ledger.record_count("gold_rows", sum(split_rows.values()))
    ledger.record_count("unlabelled_skipped", n_silver - n_labelled)
    return FeaturesResult(
        silver_version, n_silver - n_labelled,
        lake.TableInfo("vocabulary", cfg.table_path("vocabulary"), vocab_version, len(vocab_rows)),
        lake.TableInfo("gold", cfg.table_path("gold"), gold_version, sum(split_rows.values())),
        split_rows,
    )


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

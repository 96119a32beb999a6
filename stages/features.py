"""Features, for any workload: silver -> the fitted encoder's table + gold (model-ready rows).

The encoder (reviews: the vocabulary; a dataset: its encoding) is learnt from the train
split only (nothing learnt from validation or test) and written as its own Delta table,
stamped with the silver version it came from; gold rows carry both the silver and the
encoder version. Rows that are not labelled training data stay in silver only. Gold is
checked as a batch before it is written (publish).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from crosslake import lake, ledger, quality
from stages.publish import publish

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from crosslake.config import Config
    from workloads.base import Workload


@dataclass
class FeaturesResult:
    silver_version: int
    unlabelled_skipped: int
    vocabulary: lake.TableInfo     # the fitted encoder's table (vocabulary, or <dataset>_encoding)
    gold: lake.TableInfo
    split_rows: dict[str, int]
    unit: str = "tokens"           # what one row of the encoder's table is
    dataset: str | None = None

    @property
    def encoding(self) -> lake.TableInfo:
        return self.vocabulary

    @property
    def width(self) -> int:
        """Rows of the encoder's table: for a dataset, the length of its feature vector."""
        return self.vocabulary.rows

    def report(self) -> str:
        splits = ", ".join(f"{k} {v:,}" for k, v in sorted(self.split_rows.items()))
        enc = self.vocabulary
        return (f"{enc.name}: {enc.path} (version {enc.version}, {enc.rows:,} {self.unit})\n"
                f"{self.gold.name}: {self.gold.path} (version {self.gold.version}, {self.gold.rows:,} rows: "
                f"{splits}; from silver version {self.silver_version}, {self.unlabelled_skipped:,} unlabelled rows "
                f"not used)")


def run(spark: SparkSession, cfg: Config, workload: Workload, *, silver_version: int | None = None) -> FeaturesResult:
    silver_table, encoder_table, gold_table = (workload.table(t) for t in ("silver", "features", "gold"))
    silver_version = lake.pinned_version(spark, cfg, silver_table, silver_version)
    silver = lake.read_table(spark, cfg, silver_table, version=silver_version)
    labelled = workload.labelled(silver).cache()
    n_silver, n_labelled = silver.count(), labelled.count()
    encoder, schema = workload.fit_encoder(labelled, silver_version)
    # Written before gold's gate: gold's rows carry the encoder version they were made with.
    encoder_version = lake.write_table(spark.createDataFrame(encoder, schema), cfg, encoder_table, mode="sync")
    gold = workload.make_gold(labelled, encoder, silver_version=silver_version, encoder_version=encoder_version).cache()
    run_id = quality.run_id()
    done = publish(spark, cfg, gold, table=gold_table, checks=workload.gold_checks(gold, encoder), run_id=run_id,
                   hint=workload.gold_hint())
    gold.unpersist()
    split_rows = {r.split: r["count"] for r in lake.read_table(spark, cfg, gold_table, version=done.version)
                  .groupBy("split").count().collect()}
    labelled.unpersist()
    ledger.record_count("gold_rows", sum(split_rows.values()))
    ledger.record_count("unlabelled_skipped", n_silver - n_labelled)
    return FeaturesResult(
        silver_version, n_silver - n_labelled,
        lake.TableInfo(encoder_table, cfg.table_path(encoder_table), encoder_version, len(encoder)),
        lake.TableInfo(gold_table, cfg.table_path(gold_table), done.version, sum(split_rows.values())),
        split_rows, workload.features_unit, workload.dataset,
    )

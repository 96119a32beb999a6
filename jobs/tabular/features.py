"""Features for a declared dataset: <name>_silver -> <name>_encoding + <name>_gold.

The encoding (numeric means and standard deviations, the categories kept per column)
is learnt from the train split only and written as its own table, stamped with the
silver version; gold rows carry a fixed-length float vector, the label, the split, and
the source file and row they came from (lineage down to the record), plus the silver
and encoding versions. Rows without a label stay in silver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from crosslake.config import Config, DatasetConfig
from crosslake.errors import CrosslakeError

if TYPE_CHECKING:
    from crosslake import lake
    from pyspark.sql import DataFrame, Row, SparkSession


@dataclass
class DatasetFeaturesResult:
    dataset: str
    silver_version: int
    unlabelled_skipped: int
    width: int
    encoding: lake.TableInfo
    gold: lake.TableInfo
    split_rows: dict[str, int]

    def report(self) -> str:
        splits = ", ".join(f"{k} {v:,}" for k, v in sorted(self.split_rows.items()))
        return (f"{self.encoding.name}: {self.encoding.path} (version {self.encoding.version}, "
                f"{self.width} feature slots)\n"
                f"{self.gold.name}: {self.gold.path} (version {self.gold.version}, {self.gold.rows:,} rows: {splits}; "
                f"from silver version {self.silver_version}, {self.unlabelled_skipped:,} unlabelled rows not used)")


def learn_encoding(train: DataFrame, ds: DatasetConfig, silver_version: int) -> list[Row]:
    """Encoding rows (ENCODING_SCHEMA) from the train split: one numeric slot per numeric
    column, then per categorical column its most frequent values and an `other` slot."""
    from pyspark.sql import Row, functions as F

    rows: list[Row] = []

    def slot(feature: str, category: str | None, kind: str, mean: float | None = None, std: float | None = None):
        rows.append(Row(feature=feature, category=category, kind=kind, position=len(rows), mean=mean, std=std,
                        silver_version=silver_version))

    if ds.features.numeric:
        stats = train.agg(*[F.mean(c).alias(f"{c}__mean") for c in ds.features.numeric],
                          *[F.stddev_pop(c).alias(f"{c}__std") for c in ds.features.numeric]).first()
        for c in ds.features.numeric:
            mean, std = stats[f"{c}__mean"], stats[f"{c}__std"]
            slot(c, None, "numeric", float(mean or 0.0), float(std) if std else 1.0)
    for c in ds.features.categorical:
        top = (train.filter(F.col(c).isNotNull()).groupBy(c).count()
               .orderBy(F.desc("count"), F.col(c)).limit(ds.features.max_categories).collect())
        for r in top:
            slot(c, str(r[c]), "categorical")
        slot(c, "__other__", "other")
    return rows


def run(spark: SparkSession, cfg: Config, name: str, *, silver_version: int | None = None) -> DatasetFeaturesResult:
    from crosslake import lake, ledger, quality
    from expectations.gold import checked_view, gold_dataset_suite
    from expectations.suite import run_checks
    from pyspark.sql import functions as F
    from transforms.tabular import ENCODING_SCHEMA, with_feature_vector

    ds = cfg.dataset(name)
    silver_version = lake.pinned_version(spark, cfg, f"{name}_silver", silver_version)
    silver = lake.read_table(spark, cfg, f"{name}_silver", version=silver_version)
    labelled = silver.filter(F.col(ds.label).isNotNull()).cache()
    n_silver, n_labelled = silver.count(), labelled.count()
    train = labelled.filter(F.col("split") == "train")
    if train.isEmpty():
        raise CrosslakeError(f"{name}_silver version {silver_version} has no labelled train rows to learn the "
                             f"feature encoding from")
    encoding = learn_encoding(train, ds, silver_version)
    if not encoding:
        raise CrosslakeError(f"datasets.{name}.features declares no numeric or categorical columns")
    enc_version = lake.write_table(spark.createDataFrame(encoding, ENCODING_SCHEMA), cfg, f"{name}_encoding",
                                   mode="sync")
    gold = (labelled.transform(with_feature_vector, encoding=encoding, label=ds.label)
            .select(*ds.keys, "split", "label", "features", "_source", "_source_row",
                    F.lit(silver_version).alias("silver_version"), F.lit(enc_version).alias("encoding_version"))
            ).cache()
    run_id = quality.run_id()
    checks = run_checks(checked_view(gold, "features"), gold_dataset_suite(name, ds.keys, len(encoding)), "output")
    quality.block_if_failed(spark, cfg, checks, run_id, f"{name}_gold",
                            f"check {name}_silver and datasets.{name}.features.")
    gold_version = lake.write_table(gold, cfg, f"{name}_gold", mode="sync")
    quality.record_results(spark, cfg, checks, run_id, table_version=gold_version, table=f"{name}_gold")
    gold.unpersist()
    split_rows = {r.split: r["count"] for r in lake.read_table(spark, cfg, f"{name}_gold", version=gold_version)
                  .groupBy("split").count().collect()}
    labelled.unpersist()
    ledger.record_count("gold_rows", sum(split_rows.values()))
    ledger.record_count("unlabelled_skipped", n_silver - n_labelled)
    return DatasetFeaturesResult(
        name, silver_version, n_silver - n_labelled, len(encoding),
        lake.TableInfo(f"{name}_encoding", cfg.table_path(f"{name}_encoding"), enc_version, len(encoding)),
        lake.TableInfo(f"{name}_gold", cfg.table_path(f"{name}_gold"), gold_version, sum(split_rows.values())),
        split_rows)

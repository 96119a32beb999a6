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

from crosslake import lake
from stages import freshness
from stages.publish import publish

if TYPE_CHECKING:
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


def run(lk: lake.Lake, workload: Workload, *, silver_version: int | None = None,
        rebuild: bool = False) -> FeaturesResult | freshness.UpToDate:
    silver_table, encoder_table, gold_table = (workload.table(t) for t in ("silver", "features", "gold"))
    silver_version = lk.pin(silver_table, silver_version)
    lk.run.fingerprint = freshness.fingerprint(lk.cfg)
    if not rebuild and (done := freshness.last_build(lk, "features", outputs=[gold_table, encoder_table],
                                                      pinned={silver_table: silver_version}, fp=lk.run.fingerprint)):
        return done
    silver = lk.read(silver_table, version=silver_version)
    labelled = workload.labelled(silver).cache()
    n_silver, n_labelled = silver.count(), labelled.count()
    encoder, schema = workload.fit_encoder(labelled, silver_version)
    # Written before gold's gate: gold's rows carry the encoder version they were made with.
    encoder_version = lk.write(lk.spark.createDataFrame(encoder, schema), encoder_table, mode="sync").version
    gold = workload.make_gold(labelled, encoder, silver_version=silver_version, encoder_version=encoder_version).cache()
    done = publish(lk, gold, table=gold_table, checks=workload.gold_checks(gold, encoder),
                   hint=workload.gold_hint())
    gold.unpersist()
    split_rows = {r.split: r["count"] for r in lk.read(gold_table, version=done.version)
                  .groupBy("split").count().collect()}
    labelled.unpersist()
    lk.run.record_count("gold_rows", sum(split_rows.values()))
    lk.run.record_count("unlabelled_skipped", n_silver - n_labelled)
    return FeaturesResult(
        silver_version, n_silver - n_labelled,
        lk.info(encoder_table, encoder_version, len(encoder)),
        lk.info(gold_table, done.version, sum(split_rows.values())),
        split_rows, workload.features_unit, workload.dataset,
    )

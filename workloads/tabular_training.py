"""How a declared dataset trains: <name>_gold (pinned) -> the tabular MLP, model <name>_mlp.

The same service as the text CNN (train/service.py: petastorm from a pinned Delta version,
checkpoints, early stopping, curves, the registry's `candidate` alias), with a feed-forward
network over gold's feature vectors; then two Spark ML baselines on the same vectors, a
logistic regression and gradient-boosted trees, each stored as a version of <name>_mlp with
`baseline_of` pointing at the MLP, so promotion can pick the best of them.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from crosslake.config import Config
from crosslake.errors import CrosslakeError

if TYPE_CHECKING:
    from crosslake.lake import Lake
    from workloads.tabular import TabularWorkload
    from train.service import TrainResult


log = logging.getLogger(__name__)
BASELINE_KINDS = ("logreg", "gbt")


def encoder_of(cfg: Config, name: str, encoding: list[dict]):
    """The dataset's encoder: its encoding rows, label, declared columns and clean rules."""
    from train.encoders import TabularEncoder

    ds = cfg.dataset(name)
    return TabularEncoder(name, ds.label, encoding, dict(ds.columns), dataclasses.asdict(ds.clean))


def train(lk: Lake, workload: TabularWorkload, *, gold_version: int | None = None, fresh: bool = False,
          baselines: bool = True) -> TrainResult:
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    from train.baseline import fit_tabular_baseline
    from train.device import seed_everything
    from train.model import MLPSpec, TabularMLP
    from train.service import (SPLITS, BaselineRequest, TrainRequest, TrainResult, fit_baseline, store_baseline,
                               train_and_store)

    spark, cfg, name, ds = lk.spark, lk.cfg, workload.name, workload.ds
    tcfg = dataclasses.replace(cfg.train, **ds.train)
    table, silver_table = workload.table("gold"), workload.table("silver")
    gold_version = lk.pin(table, gold_version)
    gold = lk.read(table, version=gold_version)
    first = gold.select("silver_version", "encoding_version", F.size("features").alias("width")).first()
    if first is None:
        raise CrosslakeError(f"{table} version {gold_version} is empty: run `crosslake features --dataset {name}`")
    splits = {s: gold.filter(F.col("split") == s) for s in SPLITS}
    encoding = [r.asDict() for r in lk.read(workload.table("features"), version=first.encoding_version)
                .orderBy("position").collect()]
    encoder = encoder_of(cfg, name, encoding)
    model_name = workload.model_name
    data = {"silver_version": first.silver_version, "encoding_version": first.encoding_version}
    fitted = []
    if baselines:
        # fitted on gold's own vectors; measured, like the MLP, on the test rows (read from silver
        # at gold's silver version: what promotion compares on), through the stored encoder
        vectors = splits["train"].withColumn("_ml_vector", array_to_vector("features"))
        test_rows = lk.read(silver_table, version=first.silver_version).join(
            splits["test"].select(*ds.keys), list(ds.keys))
        for kind in BASELINE_KINDS:
            fitted.append(fit_baseline(spark, cfg, BaselineRequest(
                kind=kind, name=model_name, encoder=encoder,
                fit=lambda kind=kind: fit_tabular_baseline(vectors, kind, cfg.baseline, seed=tcfg.seed),
                test_rows=test_rows, label_col=ds.label, gold_table=table, gold_version=gold_version,
                silver_table=silver_table, data=data, config={"dataset": name, "label": ds.label})))
    seed_everything(tcfg.seed)
    spec = MLPSpec(in_dim=first.width, hidden=tuple(ds.model.hidden), dropout=ds.model.dropout)
    trained = train_and_store(spark, cfg, TrainRequest(
        model=TabularMLP(spec), name=model_name, encoder=encoder, splits=splits, feature_col="features", tcfg=tcfg,
        gold_table=table, gold_version=gold_version, silver_table=silver_table, unit="row", data=data,
        config={"dataset": name, "label": ds.label, "model": dataclasses.asdict(ds.model)}, fresh=fresh,
        baseline_accuracies={f.kind: f.test_accuracy for f in fitted}), lk.run)
    stored = [store_baseline(spark, cfg, f, trained.version, lk.run) for f in fitted]
    return TrainResult(model_name, trained.version, trained.path, gold_version, trained.test.accuracy,
                       trained.device, trained.rows, stored, what="MLP")

"""How a declared dataset trains: <name>_gold (pinned) -> the tabular MLP, model <name>_mlp.

A feed-forward network over gold's feature vectors, then two Spark ML baselines on the same
vectors, a logistic regression and gradient-boosted trees, each stored as a version of
<name>_mlp with `baseline_of` pointing at the MLP, so promotion can pick the best of them
(the train stage, stages/train.py, runs the plan through the one training service).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from crosslake.config import Config
from crosslake.errors import CrosslakeError
from stages.train import Baseline, TrainingPlan

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from crosslake.lake import Lake
    from workloads.tabular import TabularWorkload

BASELINE_KINDS = ("logreg", "gbt")


def encoder_of(cfg: Config, name: str, encoding: list[dict]):
    """The dataset's encoder: its encoding rows, label, declared columns and clean rules."""
    from train.encoders import TabularEncoder

    ds = cfg.dataset(name)
    return TabularEncoder(name, ds.label, encoding, dict(ds.columns), dataclasses.asdict(ds.clean))


def plan(lk: Lake, workload: TabularWorkload, gold: DataFrame, gold_version: int) -> TrainingPlan:
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    from train.baseline import fit_tabular_baseline
    from train.model import MLPSpec, TabularMLP

    cfg, name, ds = lk.cfg, workload.name, workload.ds
    tcfg = dataclasses.replace(cfg.train, **ds.train)
    first = gold.select("silver_version", "encoding_version", F.size("features").alias("width")).first()
    if first is None:
        raise CrosslakeError(f"{workload.table('gold')} version {gold_version} is empty: run "
                             f"`crosslake features --dataset {name}`")
    encoding = [r.asDict() for r in lk.read(workload.table("features"), version=first.encoding_version)
                .orderBy("position").collect()]
    vectors = gold.filter(F.col("split") == "train").withColumn("_ml_vector", array_to_vector("features"))

    def test_rows() -> DataFrame:
        # measured, like the MLP, on the test rows (read from silver at gold's silver version:
        # what promotion compares on), through the stored encoder
        silver = lk.read(workload.table("silver"), version=first.silver_version)
        return silver.join(gold.filter(F.col("split") == "test").select(*ds.keys), list(ds.keys))

    spec = MLPSpec(in_dim=first.width, hidden=tuple(ds.model.hidden), dropout=ds.model.dropout)
    return TrainingPlan(
        encoder=encoder_of(cfg, name, encoding), build_model=lambda: TabularMLP(spec), feature_col="features",
        tcfg=tcfg, unit="row", data={"silver_version": first.silver_version, "encoding_version": first.encoding_version},
        config={"dataset": name, "label": ds.label, "model": dataclasses.asdict(ds.model)},
        baselines=[Baseline(kind, lambda kind=kind: fit_tabular_baseline(vectors, kind, cfg.baseline, seed=tcfg.seed),
                            {"dataset": name, "label": ds.label}) for kind in BASELINE_KINDS],
        test_rows=test_rows, label_col=ds.label, what="MLP")

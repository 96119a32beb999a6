"""Train, for any workload: a pinned gold version -> the workload's model and its baselines.

The order is the same for every workload: pin and read gold, let the workload plan the
training on it (its encoder, the model to build, its baselines and the test rows they are
measured on: workloads/reviews_training.py, workloads/tabular_training.py), fit the
baselines, seed and train the model, store it (alias candidate), store each baseline as
a version with `baseline_of` pointing at it. Feeding, checkpoints, early stopping and
storing a model with its encoder and lineage are the one training service,
train/service.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from crosslake.lake import Lake
    from train.config import TrainConfig
    from train.encoders import Encoder
    from train.service import TrainResult
    from workloads.base import Workload

log = logging.getLogger(__name__)


@dataclass
class Baseline:
    """A classic model the candidate must beat: fitted on the same split, stored beside it."""
    kind: str                       # tfidf_logreg | logreg | gbt
    fit: Callable[[], Any]          # -> a fitted Spark ML PipelineModel
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingPlan:
    """What a workload trains on a pinned gold version (everything lazy: nothing is read
    until the stage asks)."""
    encoder: Encoder                          # stored with every model: how scoring turns rows into input
    build_model: Callable[[], Any]            # -> the torch module, built after seeding
    feature_col: str                          # gold's model-input column
    tcfg: TrainConfig                         # the training settings (a dataset's overrides applied)
    unit: str                                 # what a progress bar counts
    data: dict[str, Any]                      # lineage: the silver and encoder versions gold was built from
    config: dict[str, Any]                    # more settings to record with the model
    baselines: list[Baseline]
    test_rows: Callable[[], DataFrame]        # the baselines' labelled test rows, in the encoder's columns
    label_col: str                            # their label column
    what: str = "CNN"                         # the model's short name in the report


def run(lk: Lake, workload: Workload, *, gold_version: int | None = None, fresh: bool = False,
        baselines: bool = True) -> TrainResult:
    from pyspark.sql import functions as F

    from train.device import seed_everything
    from train.service import SPLITS, BaselineRequest, TrainRequest, TrainResult, fit_baseline, store_baseline, \
        stored_already, train_and_store, training_key

    spark, cfg = lk.spark, lk.cfg
    gold_table, silver_table, name = workload.table("gold"), workload.table("silver"), workload.model_name
    gold_version = lk.pin(gold_table, gold_version)
    gold = lk.read(gold_table, version=gold_version)
    plan = workload.training_plan(lk, gold, gold_version)
    splits = {s: gold.filter(F.col("split") == s) for s in SPLITS}
    kinds = [b.kind for b in plan.baselines] if baselines else []
    seed_everything(plan.tcfg.seed)
    key = training_key(cfg, plan.build_model().spec.to_dict(), plan.tcfg, gold_table, gold_version)
    reused = None if fresh else stored_already(cfg, name, key, kinds)
    fitted = []
    if reused is not None:  # the same model, settings and data: stored already, with every baseline
        log.info("%s v%d and its baselines (%s) are stored for %s v%d: nothing to fit", name, reused[0],
                 ", ".join(kinds) or "none", gold_table, gold_version)
    elif kinds:
        test_rows = plan.test_rows()
        for b in plan.baselines:
            log.info("fitting the %s baseline", b.kind)
            fitted.append(fit_baseline(spark, cfg, BaselineRequest(
                kind=b.kind, name=name, encoder=plan.encoder, fit=b.fit, test_rows=test_rows,
                label_col=plan.label_col, gold_table=gold_table, gold_version=gold_version,
                silver_table=silver_table, data=plan.data, config=b.config)))
    seed_everything(plan.tcfg.seed)
    trained = train_and_store(spark, cfg, TrainRequest(
        model=plan.build_model(), name=name, encoder=plan.encoder, splits=splits, feature_col=plan.feature_col,
        tcfg=plan.tcfg, gold_table=gold_table, gold_version=gold_version, silver_table=silver_table,
        unit=plan.unit, data=plan.data, config=plan.config, fresh=fresh,
        baseline_accuracies={f.kind: f.test_accuracy for f in fitted}), lk.run)
    if reused is not None:
        stored = reused[1]
        for b in stored:
            lk.run.record_output(f"model:{name}", b.version)
    else:
        stored = [store_baseline(spark, cfg, f, trained.version, lk.run) for f in fitted]
    return TrainResult(name, trained.version, trained.path, gold_version, trained.test.accuracy,
                       trained.device, trained.rows, stored, what=plan.what)

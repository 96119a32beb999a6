"""The training service: a pinned gold version -> a stored candidate, and its baselines.

    trained = train_and_store(spark, cfg, TrainRequest(model=TextCNN(spec), name=..., ...), run)
    stored = store_baselines(spark, cfg, BaselineRequest(...))

One path for every neural model (the text CNN, the tabular MLP): petastorm feeds the
splits, checkpoints every epoch, early stopping, the curves, the `candidate` alias and the
run ledger. Each baseline is stored as a version of the same registered model with
`baseline_of: <candidate version>`, so that promotion compares them on one test set.
"""

from __future__ import annotations

import dataclasses
import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from torch import nn
from tqdm import tqdm

from crosslake.config import Config
from crosslake.errors import CrosslakeError
from crosslake.ledger import code_version
from crosslake.recorder import Run
from train import registry
from train.checkpoint import Checkpoints, fingerprint
from train.config import TrainConfig
from train.curves import curves_png, evaluation_png
from train.device import pick_device
from train.distributed import run_distributed, shard
from train.encoders import Encoder
from train.evaluation import Evaluation
from train.evaluation import evaluate as evaluate_answers
from train.loop import FitResult, Metrics, evaluate, fit
from train.petastorm_feeder import PetastormFeeder, RankFeeders
from train.store import load_metadata, model_dir, save_model, save_sparkml, versions

SPLITS = ("train", "validation", "test")
log = logging.getLogger(__name__)


@dataclass
class TrainRequest:
    """What to train, on what, and what to record with it."""
    model: nn.Module
    name: str                      # the registered model name
    encoder: Encoder               # stored beside the weights: how scoring turns rows into input
    splits: dict[str, DataFrame]   # train / validation / test rows of the pinned gold version
    feature_col: str               # gold's model-input column (token_ids, features)
    tcfg: TrainConfig
    gold_table: str
    gold_version: int
    silver_table: str              # the frozen test set's table (promotion reads its test split)
    unit: str = "row"              # what a progress bar counts
    data: dict[str, Any] = field(default_factory=dict)    # more lineage (silver_version, vocabulary_version)
    config: dict[str, Any] = field(default_factory=dict)  # more settings to record
    fresh: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    baseline_accuracies: dict[str, float] = field(default_factory=dict)  # kind -> test accuracy, fitted first


@dataclass
class Trained:
    version: int
    path: str
    test: Metrics
    rows: dict[str, int]
    device: str
    reused: bool = False


@dataclass
class TrainResult:
    model_name: str
    model_version: int
    model_path: str
    gold_version: int
    test_accuracy: float
    device: str
    rows: dict[str, int]
    baselines: list = field(default_factory=list)  # StoredBaseline, one per baseline kind
    what: str = "CNN"

    @property
    def cnn_test_accuracy(self) -> float:
        return self.test_accuracy

    @property
    def baseline_test_accuracy(self) -> float:
        return max((b.test_accuracy for b in self.baselines), default=float("nan"))

    def report(self) -> str:
        lines = [f"model: {self.model_path} ({self.model_name} v{self.model_version}, trained on gold version "
                 f"{self.gold_version}, {self.device}, {self.rows['train']:,} train rows)",
                 f"  test accuracy: {self.what} {self.test_accuracy:.4f} (v{self.model_version}, candidate)"]
        for b in self.baselines:
            verdict = "beats" if self.test_accuracy > b.test_accuracy else "does NOT beat"
            lines.append(f"                 {b.kind} baseline {b.test_accuracy:.4f} (v{b.version}, baseline_of "
                         f"v{self.model_version}; the {self.what} {verdict} it)")
        return "\n".join(lines)


def train_and_store(spark: SparkSession, cfg: Config, req: TrainRequest, run: Run) -> Trained:
    """Feed req.splits through petastorm into req.model, test it, store it as req.name's next
    version (alias candidate) with its encoder and lineage (run.run_id in its metadata), and
    record it in `run`."""
    cfg.require_writer("models")
    model, tcfg, name = req.model, req.tcfg, req.name
    key = training_key(cfg, model.spec.to_dict(), tcfg, req.gold_table, req.gold_version)
    # A model already trained with the same model, settings and data is reused rather than
    # trained again; otherwise a killed run with them resumes from its last epoch.
    checkpoints = Checkpoints(f"{cfg.scratch}/_checkpoints/{name}", key)
    if req.fresh:
        checkpoints.clear()
    elif done := _already_trained(cfg.model_store, name, key):
        checkpoints.clear()  # left by a run killed after it stored the model: nothing to resume
        log.info("%s v%d was already trained with these settings on %s v%d: nothing to do (--fresh retrains)",
                 name, done["version"], req.gold_table, req.gold_version)
        registry.set_alias(cfg.model_store, name, "candidate", done["version"])
        run.record_output(f"model:{name}", done["version"])
        return Trained(done["version"], str(model_dir(cfg.model_store, name) / f"v{done['version']}"),
                       Metrics(done["metrics"]["test_loss"], done["metrics"]["test_accuracy"],
                               done["data"]["rows"]["test"]), done["data"]["rows"], done["device"], reused=True)
    run_id = run.run_id
    device = pick_device(tcfg)
    model = model.to(device)
    bars: list[tqdm] = []

    def progress(desc: str, total: int):
        if bars:
            bars.pop().close()
        bars.append(tqdm(total=total, desc=desc, unit=req.unit, disable=None, leave=False))
        return bars[-1].update

    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    extra_meta: dict = {}
    if tcfg.processes > 1:
        history, test, rows, extra_meta = _fit_data_parallel(
            spark, cfg, model, req.splits, tcfg, feature_col=req.feature_col, order_by=cfg.table(req.gold_table).keys,
            run_id=run_id, use_gpu=device.type == "cuda")
    else:
        try:
            history, test, rows = _fit_here(spark, cfg, model, req.splits, tcfg, device, feature_col=req.feature_col,
                                            run_id=run_id, checkpoints=checkpoints, progress=progress,
                                            what=f"{req.gold_table} version {req.gold_version}")
        finally:
            for bar in bars:
                bar.close()
    log.info("%s test accuracy %.4f", name, test.accuracy)
    _require_learned(model, initial, tcfg)

    what = f"{name}: {req.gold_table} v{req.gold_version}"
    files = {"curves.png": curves_png(history.history, best_epoch=history.best_epoch,
                                      title=f"{what}, test accuracy {test.accuracy:.3f}")}
    ev = None
    if test.truth is not None:  # a data-parallel run's test rows are spread over its processes
        ev = evaluate_answers(test.truth, test.probability)
        files["evaluation.png"] = evaluation_png(ev, title=f"{what}, test split")
    metadata = {
        "run_id": run_id,
        "fingerprint": key,
        "data": _data(cfg, req, rows),
        "metrics": {"test_accuracy": test.accuracy, "test_loss": test.loss,
                    **({"evaluation": ev.to_dict()} if ev else {}),
                    **({"baseline_test_accuracy": max(req.baseline_accuracies.values()),
                        "baselines": req.baseline_accuracies} if req.baseline_accuracies else {}),
                    "best_epoch": history.best_epoch, "history": history.history,
                    "resumed_from_epoch": history.resumed_from, "stopped_early_at_epoch": history.stopped_early},
        "config": {"train": dataclasses.asdict(tcfg), **req.config, "profile": cfg.profile},
        "code_version": code_version(),
        "device": str(device),
        **extra_meta,
    }
    version, path = save_model(cfg.model_store, name, model.cpu(), req.encoder, metadata=metadata,
                               files={**files, **req.files})
    checkpoints.clear()  # the model is safely stored: nothing left to resume
    registry.set_alias(cfg.model_store, name, "candidate", version)
    run.record_output(f"model:{name}", version)
    for split, n in rows.items():
        run.record_count(f"{split}_rows", n)
    return Trained(version, str(path), test, rows, str(device))


def _data(cfg: Config, req: TrainRequest, rows: dict[str, int]) -> dict[str, Any]:
    return {"gold_table": cfg.table_path(req.gold_table), "gold_table_name": req.gold_table,
            "gold_version": req.gold_version, "silver_table_name": req.silver_table, **req.data, "rows": rows}


@dataclass
class BaselineRequest:
    """A classic model to fit on the candidate's data and store beside it."""
    kind: str                                  # tfidf_logreg | logreg | gbt
    name: str
    encoder: Encoder
    fit: Callable[[], Any]                     # -> a fitted PipelineModel
    test_rows: DataFrame                       # labelled test rows, in the columns the encoder reads
    label_col: str
    gold_table: str
    gold_version: int
    silver_table: str
    data: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class FittedBaseline:
    request: BaselineRequest
    model: Any
    evaluation: Evaluation

    @property
    def test_accuracy(self) -> float:
        return self.evaluation.accuracy

    @property
    def test_rows(self) -> int:
        return self.evaluation.rows

    @property
    def kind(self) -> str:
        return self.request.kind


@dataclass
class StoredBaseline:
    kind: str
    version: int
    test_accuracy: float
    reused: bool = False


def fit_baseline(spark: SparkSession, cfg: Config, req: BaselineRequest) -> FittedBaseline:
    """Fit, and measure on the test rows through the same Scorer that will serve it
    (train/scoring.py), before anything is stored."""
    from train.scoring import Scorer

    model = req.fit()
    probe = Scorer(cfg.model_store, req.name, 0, req.kind, {}, req.encoder, "", _pipeline=model)
    _, truth, probability = test_predictions(spark, probe, req.test_rows, req.label_col,
                                             batch_size=cfg.score.batch_size)
    ev = evaluate_answers(truth, probability)
    log.info("%s baseline on the test split: %s", req.kind, ev.summary())
    return FittedBaseline(req, model, ev)


def store_baseline(spark: SparkSession, cfg: Config, fitted: FittedBaseline, baseline_of: int,
                   run: Run) -> StoredBaseline:
    """Store a fitted baseline as the next version of its model name, with baseline_of. A
    candidate trained again on the same data keeps the baselines it already has."""
    from train.baseline import explain, portable

    req, store = fitted.request, cfg.model_store
    for v in versions(store, req.name):
        meta = load_metadata(store, req.name, v)
        if meta.get("baseline_of") == baseline_of and meta.get("kind") == req.kind:
            run.record_output(f"model:{req.name}", v)
            return StoredBaseline(req.kind, v, meta["metrics"]["test_accuracy"], reused=True)
    metadata = {
        "run_id": run.run_id,
        "baseline_of": baseline_of,
        "data": {"gold_table": cfg.table_path(req.gold_table), "gold_table_name": req.gold_table,
                 "gold_version": req.gold_version, "silver_table_name": req.silver_table, **req.data},
        "metrics": {"test_accuracy": fitted.test_accuracy, "test_rows": fitted.test_rows,
                    "evaluation": fitted.evaluation.to_dict()},
        "config": {"baseline": dataclasses.asdict(cfg.baseline), **req.config, "profile": cfg.profile},
        "code_version": code_version(),
        "device": "spark",
    }
    version, _path = save_sparkml(store, req.name, fitted.model, req.encoder, metadata, kind=req.kind,
                                  portable=lambda uri: portable(spark, req.kind, fitted.model, uri),
                                  explain=explain(req.kind, fitted.model, req.encoder),
                                  files={"evaluation.png": evaluation_png(
                                      fitted.evaluation, title=f"{req.name} ({req.kind} baseline of v{baseline_of}): "
                                                               f"{req.gold_table} v{req.gold_version}, test split")})
    log.info("%s baseline stored as %s v%d (baseline of v%d)", req.kind, req.name, version, baseline_of)
    run.record_output(f"model:{req.name}", version)  # traced like the candidate (`crosslake runs trace`)
    run.record_count(f"baseline_{req.kind}_version", version)
    return StoredBaseline(req.kind, version, fitted.test_accuracy)


def test_predictions(spark: SparkSession, scorer, rows: DataFrame, label_col: str, *, batch_size: int = 256,
                     keys: tuple[str, ...] = ()) -> tuple[list[tuple], np.ndarray, np.ndarray]:
    """(each row's keys, its 0/1 label, P(label 1)) for the labelled `rows`, in key order,
    through the same scoring path as batch scoring."""
    label = F.col(f"`{label_col}`").cast("double")
    odd = rows.filter(~label.isin(0.0, 1.0)).select(f"`{label_col}`").distinct().limit(3).collect()
    if odd:  # a cast to int would turn 0.7 into 0 without a word
        raise CrosslakeError(f"the label column '{label_col}' holds values other than 0/1 or true/false "
                             f"({', '.join(repr(r[0]) for r in odd)}): models are compared as binary classifiers; "
                             f"declare a boolean or 0/1 label")
    scored = scorer.score(spark, rows.withColumn("_truth", label.cast("int")), batch_size=batch_size)
    picked = scored.select(*[F.col(f"`{k}`") for k in keys], "_truth", "probability")
    got = (picked.orderBy(*keys) if keys else picked).collect()
    if not got:
        raise CrosslakeError(f"no labelled test rows to measure {scorer.label()} on")
    n = len(keys)
    unscored = sum(1 for r in got if r[n + 1] is None)
    if unscored:
        raise CrosslakeError(f"{scorer.label()} gave no probability for {unscored} of {len(got)} labelled test rows: "
                             f"their model input could not be built; check the rows' inputs against the encoder")
    return ([tuple(r[:n]) for r in got], np.array([r[n] for r in got], dtype=np.int64),
            np.array([r[n + 1] for r in got], dtype=np.float64))


def _require_learned(model: nn.Module, initial: dict, tcfg: TrainConfig) -> None:
    """Refuse to store a model whose weights are exactly as initialised: nothing was learned,
    and a stored version could be promoted and served as if it had been."""
    after = model.state_dict()
    if all(torch.equal(initial[k], after[k].detach().to(initial[k].device)) for k in initial):
        raise CrosslakeError(f"training changed none of the model's weights (train.lr {tcfg.lr}, "
                             f"{tcfg.epochs} epoch(s)): nothing was learned and no model was stored; check the "
                             f"training settings (train.lr, train.epochs) and that the train split has rows")


def petastorm_cache(spark: SparkSession, cfg: Config) -> str:
    """Where petastorm materialises the pinned splits: written by the executors, read here."""
    from crosslake import storage

    storage.check_reachable(spark.sparkContext.master, cfg.scratch, setting="lake.scratch", shared=cfg.cluster.shared_paths,
                            what="lake.scratch (petastorm's cache: the executors write the training data there)")
    return f"{cfg.scratch}/_petastorm_cache"


def _fit_here(spark: SparkSession, cfg: Config, model: nn.Module, splits: dict[str, DataFrame], tcfg: TrainConfig,
              device, *, feature_col: str, run_id: str, checkpoints: Checkpoints, progress, what: str):
    """Train in this process, fed by petastorm; checkpoints every epoch."""
    feeder = PetastormFeeder(spark, splits, cache_root=petastorm_cache(spark, cfg), run_id=run_id,
                             batch_size=tcfg.batch_size, workers=tcfg.loader_workers, seed=tcfg.seed,
                             feature_col=feature_col)
    with feeder:
        for split in SPLITS:
            if feeder.rows(split) == 0:
                raise CrosslakeError(f"{what} has no '{split}' rows: the data is too small or its validation/test "
                                     f"fraction is 0")
        history = fit(model, feeder, tcfg, device, progress=progress, checkpoints=checkpoints)
        test = evaluate(model, feeder.batches("test", shuffle=False, epoch=0), device, keep=True)
        return history, test, {s: feeder.rows(s) for s in SPLITS}


def _fit_data_parallel(spark: SparkSession, cfg: Config, model: nn.Module, splits: dict[str, DataFrame],
                       tcfg: TrainConfig, *, feature_col: str, order_by: list[str], run_id: str, use_gpu: bool):
    """Train in tcfg.processes processes (DDP), each fed its own shard by petastorm.
    Checkpoints are not written in this mode (yet): a killed run starts over."""
    world = tcfg.processes
    shards = {s: shard(df.select(*order_by, feature_col, "label"), order_by=order_by, world=world, pad=s == "train")
              for s, df in splits.items()}
    rows = {s: df.count() for s, df in splits.items()}
    with ExitStack() as stack:
        feeders = [stack.enter_context(PetastormFeeder(
            spark, {s: parts[r].drop(*order_by) for s, parts in shards.items()},
            cache_root=petastorm_cache(spark, cfg), run_id=f"{run_id}-rank{r}", batch_size=tcfg.batch_size,
            workers=tcfg.loader_workers, seed=tcfg.seed, feature_col=feature_col)) for r in range(world)]
        make_feeder = RankFeeders([f.for_process() for f in feeders])
        out = run_distributed(make_feeder, model.spec.to_dict(), tcfg, use_gpu=use_gpu)
    model.load_state_dict(out["state"])
    history = FitResult(out["history"], out["best_epoch"], None, out["stopped_early"])
    return history, Metrics(**out["test"]), rows, {"processes": world, "rows_per_process": out["rows_per_process"]}


def training_key(cfg: Config, spec: dict, tcfg: TrainConfig, gold_table: str, gold_version: int) -> str:
    """What makes two trainings the same: the model's spec, the settings and the exact data."""
    return fingerprint(spec=spec, train=dataclasses.asdict(tcfg), gold=cfg.table_path(gold_table), version=gold_version)


def stored_already(cfg: Config, name: str, key: str, kinds: list[str]) -> tuple[int, list[StoredBaseline]] | None:
    """(version, its baselines) when a model trained with exactly `key` is stored with a
    baseline of every kind in `kinds`: a re-run on the same data then has nothing to fit
    (the baselines would be fitted only to be dropped for the ones already stored)."""
    done = _already_trained(cfg.model_store, name, key)
    if done is None:
        return None
    found = {}
    for v in versions(cfg.model_store, name):
        meta = load_metadata(cfg.model_store, name, v)
        if meta.get("baseline_of") == done["version"] and meta.get("kind") in kinds:
            found.setdefault(meta["kind"], StoredBaseline(meta["kind"], v, meta["metrics"]["test_accuracy"],
                                                          reused=True))
    if set(found) != set(kinds):
        return None
    return done["version"], [found[k] for k in kinds]


def _already_trained(store: str, name: str, key: str) -> dict | None:
    """The newest stored version trained with exactly these settings on this data, if any."""
    for v in reversed(versions(store, name)):
        meta = load_metadata(store, name, v)
        if meta.get("fingerprint") == key:
            return meta
    return None

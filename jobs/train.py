"""Train: a pinned gold version -> petastorm -> PyTorch CNN -> the model store.

    crosslake train [--gold-version N]
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/train.py

Also fits the TF-IDF + logistic regression baseline on the same split and records both
test accuracies with the model, beside the exact data versions, config and code version.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import dataclasses
import logging
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crosslake import arguments
from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.errors import CrosslakeError
from crosslake.runner import code_version, job_main, new_run_id
from train.config import TrainConfig

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from torch import nn
    from train.checkpoint import Checkpoints
    from train.loop import Metrics

NAME = "train"
ROLE = "training"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
SPLITS = ("train", "validation", "test")
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--gold-version", type=arguments.version, help="gold version to train on (default: latest)")
    parser.add_argument("--dataset", help="train the tabular MLP on a dataset declared under datasets: in conf/ "
                                          "(<name>_gold -> model <name>_mlp)")
    parser.add_argument("--fresh", action="store_true",
                        help="train again from epoch 1 even if a model with the same settings and data exists or an "
                             "interrupted run left checkpoints")


@dataclass
class TrainResult:
    model_name: str
    model_version: int
    model_path: str
    gold_version: int
    cnn_test_accuracy: float
    baseline_test_accuracy: float
    device: str
    rows: dict[str, int]

    def report(self) -> str:
        verdict = "beats" if self.cnn_test_accuracy > self.baseline_test_accuracy else "does NOT beat"
        return (f"model: {self.model_path} ({self.model_name} v{self.model_version}, trained on gold version "
                f"{self.gold_version}, {self.device}, {self.rows['train']:,} train rows)\n"
                f"  test accuracy: CNN {self.cnn_test_accuracy:.4f} | TF-IDF logistic regression baseline "
                f"{self.baseline_test_accuracy:.4f} (the CNN {verdict} the baseline)")


def run(spark: SparkSession, cfg: Config, *, gold_version: int | None = None, fresh: bool = False,
        dataset: str | None = None) -> TrainResult:
    from crosslake import lake
    from pyspark.sql import functions as F
    from train.baseline import accuracy, fit_baseline
    from train.device import seed_everything
    from train.model import ModelSpec, TextCNN

    if dataset:
        from jobs.tabular import train as tabular_train

        return tabular_train.run(spark, cfg, dataset, gold_version=gold_version, fresh=fresh)
    gold_version = lake.pinned_version(spark, cfg, "gold", gold_version)
    gold = lake.read_table(spark, cfg, "gold", version=gold_version)
    first = gold.select("vocab_version", "silver_version", F.size("token_ids").alias("max_len")).first()
    if first is None:
        raise CrosslakeError(f"gold version {gold_version} is empty: run `crosslake features` on a non-empty silver")
    vocab = {r.token: r.id for r in lake.read_table(spark, cfg, "vocabulary", version=first.vocab_version)
             .select("token", "id").collect()}
    splits = {s: gold.filter(F.col("split") == s) for s in SPLITS}

    log.info("fitting the TF-IDF + logistic regression baseline")
    baseline = fit_baseline(splits["train"], cfg.baseline)
    baseline_acc = accuracy(baseline, splits["test"])
    log.info("baseline test accuracy %.4f", baseline_acc)

    seed_everything(cfg.train.seed)
    spec = ModelSpec.from_config(cfg.train, vocab_size=max(vocab.values()) + 1, max_len=first.max_len)
    trained = train_and_store(
        spark, cfg, TextCNN(spec), name=cfg.models.name, splits=splits, feature_col="token_ids", tcfg=cfg.train,
        gold_table="gold", gold_version=gold_version, vocabulary=vocab, unit="review", baseline_acc=baseline_acc,
        data={"silver_version": first.silver_version, "vocabulary_version": first.vocab_version},
        config={"features": dataclasses.asdict(cfg.features), "baseline": dataclasses.asdict(cfg.baseline)},
        fresh=fresh)
    return TrainResult(cfg.models.name, trained.version, trained.path, gold_version, trained.test.accuracy,
                       baseline_acc, trained.device, trained.rows)


@dataclass
class Trained:
    version: int
    path: str
    test: Metrics
    rows: dict[str, int]
    device: str


def train_and_store(spark: SparkSession, cfg: Config, model: nn.Module, *, name: str, splits: dict[str, DataFrame],
                    feature_col: str, tcfg: TrainConfig, gold_table: str, gold_version: int,
                    vocabulary: dict[str, int], unit: str, baseline_acc: float, data: dict, config: dict,
                    fresh: bool = False, files: dict[str, bytes] | None = None) -> Trained:
    """Feed `splits` through petastorm into `model`, test it, store it as `name`'s next
    version (alias candidate) with its lineage, and record it in the run ledger. The
    same path for every model: the CNN here, the tabular MLP in jobs/tabular/train.py."""
    from crosslake import ledger
    from tqdm import tqdm
    from train import registry
    from train.checkpoint import Checkpoints, fingerprint
    from train.curves import curves_png
    from train.device import pick_device
    from train.loop import Metrics
    from train.store import model_dir, save_model

    cfg.require_writer("models")
    key = fingerprint(spec=model.spec.to_dict(), train=dataclasses.asdict(tcfg), gold=cfg.table_path(gold_table),
                      version=gold_version)
    # A model already trained with the same model, settings and data is reused rather than
    # trained again; otherwise a killed run with them resumes from its last epoch.
    checkpoints = Checkpoints(f"{cfg.scratch}/_checkpoints/{name}", key)
    if fresh:
        checkpoints.clear()
    elif done := _already_trained(cfg.model_store, name, key):
        checkpoints.clear()  # left by a run killed after it stored the model: nothing to resume
        log.info("%s v%d was already trained with these settings on %s v%d: nothing to do (--fresh retrains)",
                 name, done["version"], gold_table, gold_version)
        registry.set_alias(cfg.model_store, name, "candidate", done["version"])
        ledger.record_output(f"model:{name}", done["version"])
        return Trained(done["version"], str(model_dir(cfg.model_store, name) / f"v{done['version']}"),
                       Metrics(done["metrics"]["test_loss"], done["metrics"]["test_accuracy"],
                               done["data"]["rows"]["test"]), done["data"]["rows"], done["device"])
    run_id = new_run_id()
    device = pick_device(tcfg)
    model = model.to(device)
    bars: list[tqdm] = []

    def progress(desc: str, total: int):
        if bars:
            bars.pop().close()
        bars.append(tqdm(total=total, desc=desc, unit=unit, disable=None, leave=False))
        return bars[-1].update

    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    extra_meta: dict = {}
    if tcfg.processes > 1:
        history, test, rows, extra_meta = _fit_data_parallel(
            spark, cfg, model, splits, tcfg, feature_col=feature_col, order_by=cfg.table(gold_table).keys,
            run_id=run_id, use_gpu=device.type == "cuda")
    else:
        try:
            history, test, rows = _fit_here(spark, cfg, model, splits, tcfg, device, feature_col=feature_col,
                                            run_id=run_id, checkpoints=checkpoints, progress=progress,
                                            what=f"{gold_table} version {gold_version}")
        finally:
            for bar in bars:
                bar.close()
    log.info("%s test accuracy %.4f (baseline %.4f)", name, test.accuracy, baseline_acc)
    _require_learned(model, initial, tcfg)

    png = curves_png(history.history, best_epoch=history.best_epoch,
                     title=f"{name}: {gold_table} v{gold_version}, test accuracy {test.accuracy:.3f}")
    metadata = {
        "run_id": run_id,
        "fingerprint": key,
        "data": {"gold_table": cfg.table_path(gold_table), "gold_table_name": gold_table, "gold_version": gold_version,
                 **data, "rows": rows},
        "metrics": {"test_accuracy": test.accuracy, "test_loss": test.loss, "baseline_test_accuracy": baseline_acc,
                    "best_epoch": history.best_epoch, "history": history.history,
                    "resumed_from_epoch": history.resumed_from, "stopped_early_at_epoch": history.stopped_early},
        "config": {"train": dataclasses.asdict(tcfg), **config, "profile": cfg.profile},
        "code_version": code_version(),
        "device": str(device),
        **extra_meta,
    }
    version, path = save_model(cfg.model_store, name, model.cpu(), vocabulary, metadata=metadata,
                               files={"curves.png": png, **(files or {})})
    checkpoints.clear()  # the model is safely stored: nothing left to resume
    registry.set_alias(cfg.model_store, name, "candidate", version)
    ledger.record_output(f"model:{name}", version)
    for split, n in rows.items():
        ledger.record_count(f"{split}_rows", n)
    return Trained(version, str(path), test, rows, str(device))


def _require_learned(model: nn.Module, initial: dict, tcfg: TrainConfig) -> None:
    """Refuse to store a model whose weights are exactly as initialised: nothing was learned,
    and a stored version could be promoted and served as if it had been."""
    import torch

    after = model.state_dict()
    if all(torch.equal(initial[k], after[k].detach().to(initial[k].device)) for k in initial):
        raise CrosslakeError(f"training changed none of the model's weights (train.lr {tcfg.lr}, "
                             f"{tcfg.epochs} epoch(s)): nothing was learned and no model was stored; check the "
                             f"training settings (train.lr, train.epochs) and that the train split has rows")


def _fit_here(spark: SparkSession, cfg: Config, model: nn.Module, splits: dict[str, DataFrame], tcfg: TrainConfig,
              device, *, feature_col: str, run_id: str, checkpoints: Checkpoints, progress, what: str):
    """Train in this process, fed by petastorm; checkpoints every epoch."""
    from train.loop import evaluate, fit
    from train.petastorm_feeder import PetastormFeeder

    feeder = PetastormFeeder(spark, splits, cache_root=f"{cfg.scratch}/_petastorm_cache", run_id=run_id,
                             batch_size=tcfg.batch_size, workers=tcfg.loader_workers, seed=tcfg.seed,
                             feature_col=feature_col)
    with feeder:
        for split in SPLITS:
            if feeder.rows(split) == 0:
                raise CrosslakeError(f"{what} has no '{split}' rows: the data is too small or its validation/test "
                                     f"fraction is 0")
        history = fit(model, feeder, tcfg, device, progress=progress, checkpoints=checkpoints)
        test = evaluate(model, feeder.batches("test", shuffle=False, epoch=0), device)
        return history, test, {s: feeder.rows(s) for s in SPLITS}


def _fit_data_parallel(spark: SparkSession, cfg: Config, model: nn.Module, splits: dict[str, DataFrame],
                       tcfg: TrainConfig, *, feature_col: str, order_by: list[str], run_id: str, use_gpu: bool):
    """Train in tcfg.processes processes (DDP), each fed its own shard by petastorm.
    Checkpoints are not written in this mode (yet): a killed run starts over."""
    from train.distributed import run_distributed, shard
    from train.loop import FitResult, Metrics
    from train.petastorm_feeder import PetastormFeeder, RankFeeders

    world = tcfg.processes
    shards = {s: shard(df.select(*order_by, feature_col, "label"), order_by=order_by, world=world, pad=s == "train")
              for s, df in splits.items()}
    rows = {s: df.count() for s, df in splits.items()}
    with ExitStack() as stack:
        feeders = [stack.enter_context(PetastormFeeder(
            spark, {s: parts[r].drop(*order_by) for s, parts in shards.items()},
            cache_root=f"{cfg.scratch}/_petastorm_cache", run_id=f"{run_id}-rank{r}", batch_size=tcfg.batch_size,
            workers=tcfg.loader_workers, seed=tcfg.seed, feature_col=feature_col)) for r in range(world)]
        make_feeder = RankFeeders([f.for_process() for f in feeders])
        out = run_distributed(make_feeder, model.spec.to_dict(), tcfg, use_gpu=use_gpu)
    model.load_state_dict(out["state"])
    history = FitResult(out["history"], out["best_epoch"], None, out["stopped_early"])
    return history, Metrics(**out["test"]), rows, {"processes": world, "rows_per_process": out["rows_per_process"]}


def _already_trained(store: str, name: str, key: str) -> dict | None:
    """The newest stored version trained with exactly these settings on this data, if any."""
    from train.store import load_metadata, versions

    for v in reversed(versions(store, name)):
        meta = load_metadata(store, name, v)
        if meta.get("fingerprint") == key:
            return meta
    return None


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

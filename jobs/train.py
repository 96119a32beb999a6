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
from dataclasses import dataclass

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from tqdm import tqdm

from crosslake import lake, ledger
from crosslake.config import Config
from crosslake.errors import CrosslakeError
from crosslake.runner import code_version, job_main, new_run_id
from train.baseline import accuracy, fit_baseline
from train.device import pick_device, seed_everything
from train.loop import evaluate, fit
from train.model import ModelSpec, TextCNN
from train.petastorm_feeder import PetastormFeeder
from train.store import save_model

NAME = "train"
HELP = ("Train the sentiment CNN on a pinned gold version (fed by petastorm) and the TF-IDF + "
        "logistic regression baseline on the same split; save the model with its lineage.")
SPLITS = ("train", "validation", "test")
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--gold-version", type=int, help="gold version to train on (default: latest)")


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


def run(spark: SparkSession, cfg: Config, *, gold_version: int | None = None) -> TrainResult:
    run_id = new_run_id()
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
    device = pick_device(cfg.train)
    spec = ModelSpec.from_config(cfg.train, vocab_size=max(vocab.values()) + 1, max_len=first.max_len)
    model = TextCNN(spec).to(device)
    bars: list[tqdm] = []

    def progress(desc: str, total: int):
        if bars:
            bars.pop().close()
        bars.append(tqdm(total=total, desc=desc, unit="review", disable=None, leave=False))
        return bars[-1].update

    feeder = PetastormFeeder(spark, splits, cache_root=f"{cfg.lake.root}/_petastorm_cache", run_id=run_id,
                             batch_size=cfg.train.batch_size, workers=cfg.train.loader_workers, seed=cfg.train.seed)
    with feeder:
        for split in SPLITS:
            if feeder.rows(split) == 0:
                raise CrosslakeError(f"gold version {gold_version} has no '{split}' rows: the corpus is too small "
                                     f"or clean.validation_fraction is 0")
        try:
            history = fit(model, feeder, cfg.train, device, progress=progress)
        finally:
            for bar in bars:
                bar.close()
        test = evaluate(model, feeder.batches("test", shuffle=False, epoch=0), device)
        rows = {s: feeder.rows(s) for s in SPLITS}
    log.info("CNN test accuracy %.4f (baseline %.4f)", test.accuracy, baseline_acc)

    version, path = save_model(cfg.model_store, cfg.models.name, model.cpu(), vocab, metadata={
        "run_id": run_id,
        "data": {"gold_table": cfg.table_path("gold"), "gold_version": gold_version, "silver_version": first.silver_version,
                 "vocabulary_version": first.vocab_version, "rows": rows},
        "metrics": {"test_accuracy": test.accuracy, "test_loss": test.loss, "baseline_test_accuracy": baseline_acc,
                    "best_epoch": history.best_epoch, "history": history.history},
        "config": {"train": dataclasses.asdict(cfg.train), "features": dataclasses.asdict(cfg.features),
                   "baseline": dataclasses.asdict(cfg.baseline), "profile": cfg.profile},
        "code_version": code_version(),
        "device": str(device),
    })
    ledger.record_output(f"model:{cfg.models.name}", version)
    for split, n in rows.items():
        ledger.record_count(f"{split}_rows", n)
    return TrainResult(cfg.models.name, version, str(path), gold_version, test.accuracy, baseline_acc,
                       str(device), rows)


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

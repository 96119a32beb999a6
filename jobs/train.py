"""Train: a pinned gold version -> petastorm -> PyTorch CNN -> the model store.

    crosslake train [--gold-version N]
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/train.py

Stores the CNN (alias candidate) with its encoder, the exact data versions, config and code
version, and, as versions of the same registered model with `baseline_of` pointing at it,
the TF-IDF + logistic regression baseline fitted on the same split (train/service.py).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import dataclasses
import logging
from typing import TYPE_CHECKING

from crosslake import arguments
from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.errors import CrosslakeError
from crosslake.recorder import Run
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from train.service import TrainResult

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


def run(spark: SparkSession, cfg: Config, *, gold_version: int | None = None, fresh: bool = False,
        dataset: str | None = None, baselines: bool = True, recorder: Run | None = None) -> TrainResult:
    if dataset:
        from jobs.tabular import train as tabular_train

        return tabular_train.run(spark, cfg, dataset, gold_version=gold_version, fresh=fresh, baselines=baselines,
                                 recorder=recorder)
    from pyspark.sql import functions as F

    from crosslake.lake import Lake
    from train.baseline import fit_text_baseline
    from train.device import seed_everything
    from train.encoders import TextEncoder
    from train.model import ModelSpec, TextCNN
    from train.service import (SPLITS, BaselineRequest, TrainRequest, TrainResult, fit_baseline, store_baseline,
                               train_and_store)

    lk = Lake(spark, cfg, recorder)
    gold_version = lk.pin("gold", gold_version)
    gold = lk.read("gold", version=gold_version)
    first = gold.select("vocab_version", "silver_version", F.size("token_ids").alias("max_len")).first()
    if first is None:
        raise CrosslakeError(f"gold version {gold_version} is empty: run `crosslake features` on a non-empty silver")
    vocab = {r.token: r.id for r in lk.read("vocabulary", version=first.vocab_version)
             .select("token", "id").collect()}
    encoder = TextEncoder(vocab, first.max_len)
    splits = {s: gold.filter(F.col("split") == s) for s in SPLITS}

    data = {"silver_version": first.silver_version, "vocabulary_version": first.vocab_version}
    fitted = []
    if baselines:
        # the baseline reads the texts of gold's rows (silver at gold's silver version): the same
        # rows and the same first max_len tokens as the CNN, as a bag of words
        silver = lk.read("silver", version=first.silver_version)
        texts = {s: silver.join(splits[s].select("review_id"), "review_id") for s in ("train", "test")}
        log.info("fitting the TF-IDF + logistic regression baseline")
        fitted.append(fit_baseline(spark, cfg, BaselineRequest(
            kind="tfidf_logreg", name=cfg.models.name, encoder=encoder,
            fit=lambda: fit_text_baseline(texts["train"].transform(encoder.with_words), cfg.baseline),
            test_rows=texts["test"], label_col="label", gold_table="gold", gold_version=gold_version,
            silver_table="silver", data=data)))
    seed_everything(cfg.train.seed)
    spec = ModelSpec.from_config(cfg.train, vocab_size=max(vocab.values()) + 1, max_len=first.max_len)
    trained = train_and_store(spark, cfg, TrainRequest(
        model=TextCNN(spec), name=cfg.models.name, encoder=encoder, splits=splits, feature_col="token_ids",
        tcfg=cfg.train, gold_table="gold", gold_version=gold_version, silver_table="silver", unit="review",
        data=data, config={"features": dataclasses.asdict(cfg.features)}, fresh=fresh,
        baseline_accuracies={f.kind: f.test_accuracy for f in fitted}), lk.run)
    stored = [store_baseline(spark, cfg, f, trained.version, lk.run) for f in fitted]
    return TrainResult(cfg.models.name, trained.version, trained.path, gold_version, trained.test.accuracy,
                       trained.device, trained.rows, stored)


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

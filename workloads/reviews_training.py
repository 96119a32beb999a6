"""How the review workload trains: gold's token ids -> the text CNN, and its TF-IDF + logistic
regression baseline on the same split, both stored through train/service.py.

The CNN is stored (alias candidate) with its encoder (the vocabulary, max_len and the
tokeniser rule), the exact data versions, config and code version; the baseline is a
version of the same registered model with `baseline_of` pointing at it.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from crosslake.errors import CrosslakeError

if TYPE_CHECKING:
    from crosslake.lake import Lake
    from train.service import TrainResult
    from workloads.reviews import ReviewsWorkload

log = logging.getLogger(__name__)


def train(lk: Lake, workload: ReviewsWorkload, *, gold_version: int | None = None, fresh: bool = False,
          baselines: bool = True) -> TrainResult:
    from pyspark.sql import functions as F

    from train.baseline import fit_text_baseline
    from train.device import seed_everything
    from train.encoders import TextEncoder
    from train.model import ModelSpec, TextCNN
    from train.service import (SPLITS, BaselineRequest, TrainRequest, TrainResult, fit_baseline, store_baseline,
                               train_and_store)

    spark, cfg = lk.spark, lk.cfg
    gold_table, silver_table = workload.table("gold"), workload.table("silver")
    gold_version = lk.pin(gold_table, gold_version)
    gold = lk.read(gold_table, version=gold_version)
    first = gold.select("vocab_version", "silver_version", F.size("token_ids").alias("max_len")).first()
    if first is None:
        raise CrosslakeError(f"gold version {gold_version} is empty: run `crosslake features` on a non-empty silver")
    vocab = {r.token: r.id for r in lk.read(workload.table("features"), version=first.vocab_version)
             .select("token", "id").collect()}
    encoder = TextEncoder(vocab, first.max_len)
    splits = {s: gold.filter(F.col("split") == s) for s in SPLITS}

    data = {"silver_version": first.silver_version, "vocabulary_version": first.vocab_version}
    fitted = []
    if baselines:
        # the baseline reads the texts of gold's rows (silver at gold's silver version): the same
        # rows and the same first max_len tokens as the CNN, as a bag of words
        silver = lk.read(silver_table, version=first.silver_version)
        texts = {s: silver.join(splits[s].select("review_id"), "review_id") for s in ("train", "test")}
        log.info("fitting the TF-IDF + logistic regression baseline")
        fitted.append(fit_baseline(spark, cfg, BaselineRequest(
            kind="tfidf_logreg", name=workload.model_name, encoder=encoder,
            fit=lambda: fit_text_baseline(texts["train"].transform(encoder.with_words), cfg.baseline),
            test_rows=texts["test"], label_col="label", gold_table=gold_table, gold_version=gold_version,
            silver_table=silver_table, data=data)))
    seed_everything(cfg.train.seed)
    spec = ModelSpec.from_config(cfg.train, vocab_size=max(vocab.values()) + 1, max_len=first.max_len)
    trained = train_and_store(spark, cfg, TrainRequest(
        model=TextCNN(spec), name=workload.model_name, encoder=encoder, splits=splits, feature_col="token_ids",
        tcfg=cfg.train, gold_table=gold_table, gold_version=gold_version, silver_table=silver_table, unit="review",
        data=data, config={"features": dataclasses.asdict(cfg.features)}, fresh=fresh,
        baseline_accuracies={f.kind: f.test_accuracy for f in fitted}), lk.run)
    stored = [store_baseline(spark, cfg, f, trained.version, lk.run) for f in fitted]
    return TrainResult(workload.model_name, trained.version, trained.path, gold_version, trained.test.accuracy,
                       trained.device, trained.rows, stored)

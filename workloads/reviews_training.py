"""How the review workload trains: gold's token ids -> the text CNN, and its TF-IDF + logistic
regression baseline on the same split (the train stage, stages/train.py, runs the plan).

The CNN is stored (alias candidate) with its encoder (the vocabulary, max_len and the
tokeniser rule), the exact data versions, config and code version; the baseline is a
version of the same registered model with `baseline_of` pointing at it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from crosslake.errors import CrosslakeError
from stages.train import Baseline, TrainingPlan

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from crosslake.lake import Lake
    from workloads.reviews import ReviewsWorkload


def plan(lk: Lake, workload: ReviewsWorkload, gold: DataFrame, gold_version: int) -> TrainingPlan:
    from pyspark.sql import functions as F

    from train.baseline import fit_text_baseline
    from train.encoders import TextEncoder
    from train.model import ModelSpec, NgramSpec, TextCNN, TextNgram

    cfg = lk.cfg
    first = gold.select("vocab_version", "silver_version", F.size("token_ids").alias("max_len")).first()
    if first is None:
        raise CrosslakeError(f"gold version {gold_version} is empty: run `crosslake features` on a non-empty silver")
    vocab = {r.token: r.id for r in lk.read(workload.table("features"), version=first.vocab_version)
             .select("token", "id").collect()}
    encoder = TextEncoder(vocab, first.max_len, rules=workload.tokenizer_rules())

    def texts(split: str) -> DataFrame:
        # the baseline reads the texts of gold's rows (silver at gold's silver version): the same
        # rows and the same first max_len tokens as the CNN, as a bag of words
        silver = lk.read(workload.table("silver"), version=first.silver_version)
        return silver.join(gold.filter(F.col("split") == split).select("review_id"), "review_id")

    vocab_size = max(vocab.values()) + 1
    if cfg.train.text_model == "ngram":
        spec, network, what = NgramSpec.from_config(cfg.train, vocab_size=vocab_size, max_len=first.max_len), TextNgram, "n-gram model"
    else:
        spec, network, what = ModelSpec.from_config(cfg.train, vocab_size=vocab_size, max_len=first.max_len), TextCNN, "CNN"
    return TrainingPlan(
        encoder=encoder, build_model=lambda: network(spec), feature_col="token_ids", tcfg=cfg.train, unit="review",
        what=what,
        data={"silver_version": first.silver_version, "vocabulary_version": first.vocab_version},
        config={"features": dataclasses.asdict(cfg.features)},
        baselines=[Baseline("tfidf_logreg", lambda: fit_text_baseline(
            texts("train").transform(encoder.with_words), cfg.baseline))],
        test_rows=lambda: texts("test"), label_col="label")

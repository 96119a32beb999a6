"""How the review workload trains: gold's token ids -> the text CNN, and its TF-IDF + logistic
regression baseline on the same split (the train stage, stages/train.py, runs the plan).

The CNN is stored (alias candidate) with its encoder (the vocabulary, max_len and the
tokenizer rules gold was cut by), the exact data versions, config and code version; the baseline is a
version of the same registered model with `baseline_of` pointing at it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import TYPE_CHECKING

from crosslake.errors import CrosslakeError
from stages.train import Baseline, TrainingPlan
from transforms.tokens import TokenizerRules

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from crosslake.lake import Lake
    from workloads.reviews import ReviewsWorkload


def gold_rules(vocab_rows: DataFrame, configured: TokenizerRules, vocab_version: int) -> TokenizerRules:
    """The tokenizer rules gold's words were cut by, which the encoder must store: those the
    vocabulary records. A vocabulary written before it recorded them was cut by the
    configured ones (features and train read the same profile then)."""
    if "tokenizer" not in vocab_rows.columns:
        return configured
    stored = {r.tokenizer for r in vocab_rows.select("tokenizer").distinct().collect()}
    if len(stored) != 1:
        raise CrosslakeError(f"vocabulary version {vocab_version} records {len(stored)} sets of tokenizer rules, "
                             f"not one: run `crosslake features` to rebuild it")
    try:
        rules = TokenizerRules.from_dict(json.loads(stored.pop()))
    except ValueError as err:
        raise CrosslakeError(f"vocabulary version {vocab_version} was cut with {err}: run `crosslake features` "
                             f"with this version to rebuild it") from None
    if rules != configured:
        log.warning("features.tokenizer is %s, but gold was cut by %s (vocabulary version %d): the model keeps "
                    "gold's rules; run `crosslake features` first to train with the configured ones",
                    configured.to_dict(), rules.to_dict(), vocab_version)
    return rules


def plan(lk: Lake, workload: ReviewsWorkload, gold: DataFrame, gold_version: int) -> TrainingPlan:
    from pyspark.sql import functions as F

    from train.baseline import fit_text_baseline
    from train.encoders import TextEncoder
    from train.model import ModelSpec, NgramSpec, TextCNN, TextNgram

    cfg = lk.cfg
    first = gold.select("vocab_version", "silver_version", F.size("token_ids").alias("max_len")).first()
    if first is None:
        raise CrosslakeError(f"gold version {gold_version} is empty: run `crosslake features` on a non-empty silver")
    vocab_rows = lk.read(workload.table("features"), version=first.vocab_version)
    vocab = {r.token: r.id for r in vocab_rows.select("token", "id").collect()}
    encoder = TextEncoder(vocab, first.max_len, rules=gold_rules(vocab_rows, workload.tokenizer_rules(),
                                                                   first.vocab_version))

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

"""The review workload: the aclImdb-style corpus of movie reviews, the text CNN.

Records land as files (reviews_landing.py); the parse, the checks and the conflict rules are
the pure transforms of transforms/reviews.py; gold is fixed-length token-id arrays over a
vocabulary learnt from the train split (transforms/features.py). Great Expectations is
imported only where a suite is built, so `crosslake generate` stays light.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.errors import CrosslakeError
from transforms.features import vocabulary, with_token_ids, with_tokens
from transforms.tokens import TokenizerRules
from transforms.quality import filter_failed, filter_passed, with_failed_checks
from transforms.reviews import (
    feedback_training_rows, filter_duplicates, review_checks, select_silver, with_clean_text, with_conflict_checks,
    with_content_hash, with_decoded_text, with_file_issue_named, with_label, with_source_fields, with_split,
)
from workloads.base import Silver, Workload

if TYPE_CHECKING:
    from crosslake.config import Config
    from expectations.suite import CheckResult, Suite

log = logging.getLogger(__name__)
LABELLED_SPLITS = ("train", "validation", "test")


def parse_bronze(bronze: DataFrame) -> DataFrame:
    if "file_issue" not in bronze.columns:  # a bronze version landed before ingest recorded issues
        bronze = bronze.withColumn("file_issue", F.lit(None).cast("string"))
    return (bronze.transform(with_source_fields).transform(with_decoded_text)
            .transform(with_clean_text).transform(with_label).transform(with_content_hash))


def flag_rows(parsed: DataFrame, suite: Suite) -> DataFrame:
    """Every check a row fails (failed_checks), and whether it is quarantined."""
    return (parsed.transform(with_failed_checks, {**review_checks(), **suite.row_predicates()})
            .transform(with_file_issue_named).transform(with_conflict_checks)
            .withColumn("quarantined", F.size("failed_checks") > 0))


def quarantine_rows(flagged: DataFrame, run_id: str, bronze_version: int) -> DataFrame:
    """Failed rows with everything needed to inspect and replay them (the original bytes)."""
    return flagged.transform(filter_failed).select(
        "source_path", "review_id", "file_name", "failed_checks", "raw_text", "content",
        F.lit(bronze_version).alias("bronze_version"), F.lit(run_id).alias("run_id"),
        F.current_timestamp().alias("quarantined_at"),
    )


class ReviewsWorkload(Workload):
    name = "reviews"
    dataset = None
    tables = {"bronze": "bronze", "silver": "silver", "quarantine": "quarantine", "features": "vocabulary",
              "gold": "gold", "predictions": "predictions", "incoming": "incoming",
              "live_predictions": "live_predictions", "stream_inputs": "stream_inputs", "feedback": "feedback",
              "feedback_rejects": "feedback_rejects"}
    features_unit = "tokens"
    skew_label = ("label", 1)

    def __init__(self, cfg: Config) -> None:
        super().__init__(cfg)
        self.model_name = cfg.models.name

    keys = ("review_id",)

    # ---- ingest ---------------------------------------------------------------------
    def land(self, lk: lake.Lake, *, source: str | None = None, full: bool = False):
        from workloads.reviews_landing import land

        return land(lk, self.table("bronze"), source=source)

    # ---- clean ----------------------------------------------------------------------
    def suite(self) -> Suite:
        from expectations.silver_reviews import silver_reviews_suite
        from transforms.reviews import SILVER_COLUMNS

        c = self.cfg.clean
        return silver_reviews_suite(max_text_chars=c.max_text_chars, min_rows=c.min_rows,
                                    max_quarantine_fraction=c.max_quarantine_fraction, columns=SILVER_COLUMNS)

    def parse(self, bronze: DataFrame) -> DataFrame:
        return parse_bronze(bronze)

    def row_checks(self) -> dict:
        return review_checks()

    def flag(self, parsed: DataFrame, suite: Suite) -> DataFrame:
        return flag_rows(parsed, suite)

    def make_silver(self, flagged: DataFrame, *, bronze_version: int, run_id: str) -> Silver:
        c = self.cfg.clean
        passed = (flagged.transform(filter_passed)
                  .transform(with_split, validation_fraction=c.validation_fraction, seed=c.split_seed))
        corpus = passed.transform(filter_duplicates).transform(select_silver)
        return Silver(quarantine_rows(flagged, run_id, bronze_version), passed, corpus, flagged)

    def feedback_training_rows(self, feedback: DataFrame, silver: DataFrame, *, feedback_version: int) -> DataFrame:
        """Texts the corpus does not hold yet, under `feedback/<id>` (transforms/reviews.py)."""
        return feedback_training_rows(feedback, silver, feedback_version=feedback_version)

    def record_check_results(self, suite: Suite, reasons: dict[str, int], rows_in: int) -> list[CheckResult]:
        """The file issues, control characters and conflicts; a file_too_large:<bytes> reason
        counts for file_too_large."""
        from expectations.suite import CheckResult

        names = [*review_checks(), "duplicate_review_id", "conflicting_labels"]
        count = lambda name: sum(n for r, n in reasons.items() if r == name or r.startswith(f"{name}:"))  # noqa: E731
        return [CheckResult(suite=suite.name, check=name, group="row", expectation="crosslake.record_check",
                            success=count(name) == 0, observed_value=None, unexpected_count=count(name),
                            element_count=rows_in) for name in names]

    def clean_hint(self) -> str:
        return f"inspect `crosslake tables show {self.table('quarantine')}` and the source files."

    def empty_bronze(self, version: int) -> str:
        return f"{self.table('bronze')} version {version} is empty: run `crosslake ingest` on a corpus first"

    # ---- features -------------------------------------------------------------------
    def labelled(self, silver: DataFrame) -> DataFrame:
        """Unlabelled rows (unsup) are not model-ready training data: they stay in silver."""
        return silver.filter(F.col("split").isin(*LABELLED_SPLITS)).transform(with_tokens, rules=self.tokenizer_rules())

    def tokenizer_rules(self) -> TokenizerRules:
        """features.tokenizer: the rules the vocabulary is fitted with and the encoder stores."""
        return TokenizerRules.from_dict(dataclasses.asdict(self.cfg.features.tokenizer))

    def fit_encoder(self, labelled: DataFrame, silver_version: int) -> tuple[list, Any]:
        """The vocabulary, from the train split only (nothing learnt from validation or test),
        each row with the tokenizer rules it was cut by (JSON): training stores those in the
        encoder, whatever features.tokenizer says by then."""
        f = self.cfg.features
        vocab_df = (vocabulary(labelled.filter(F.col("split") == "train"), size=f.vocab_size, min_count=f.min_count)
                    .withColumn("silver_version", F.lit(silver_version))
                    .withColumn("tokenizer", F.lit(json.dumps(self.tokenizer_rules().to_dict(), sort_keys=True))))
        rows = vocab_df.collect()
        if not rows:
            raise CrosslakeError(f"{self.table('silver')} version {silver_version} has no train-split tokens to "
                                 f"build a vocabulary from")
        return rows, vocab_df.schema

    def make_gold(self, labelled: DataFrame, encoder: list, *, silver_version: int,
                  encoder_version: int) -> DataFrame:
        return (labelled.transform(with_token_ids, vocab={r.token: r.id for r in encoder},
                                   max_len=self.cfg.features.max_len)
                .select("review_id", "split", "label", "token_ids", "n_tokens",
                        F.lit(silver_version).alias("silver_version"),
                        F.lit(encoder_version).alias("vocab_version")))

    def gold_checks(self, gold: DataFrame, encoder: list) -> list[CheckResult]:
        from expectations.gold import checked_view, gold_reviews_suite
        from expectations.suite import run_checks

        return run_checks(checked_view(gold, "token_ids"), gold_reviews_suite(self.cfg.features.max_len), "output")

    def gold_hint(self) -> str:
        return "check the silver rows and features settings."

    # ---- generate / pipeline --------------------------------------------------------
    def training_plan(self, lk: lake.Lake, gold: DataFrame, gold_version: int):
        from workloads.reviews_training import plan

        return plan(lk, self, gold, gold_version)

    def score_input(self) -> str:
        return self.cfg.score.input_table

    # ---- stream ---------------------------------------------------------------------
    payload = "text"
    conflicts = ("conflicting_texts_in_batch", "id_already_scored_with_other_text")
    line_format = '{"review_id": "<string>", "text": "<string>"}'
    incoming_columns = ("review_id", "text", "received_at")

    def stream_rows(self, rows: DataFrame, *, dropzone: bool) -> DataFrame:
        """The incoming table's typed review_id and text, or a drop-zone line parsed with its
        JSON types checked (transforms/scoring.py)."""
        from transforms.scoring import scoring_problem, with_parsed_record

        if dropzone:
            rows = rows.transform(with_parsed_record)
            where = [F.col("record").alias("_record"), F.col("file").alias("_file"), F.col("line").alias("_line")]
        else:
            rows = rows.withColumn("_problem", scoring_problem())
            where = [F.to_json(F.struct("review_id", "text")).alias("_record"),
                     F.lit(None).cast("string").alias("_file"), F.lit(None).cast("long").alias("_line")]
        return rows.select("review_id", "text", "_problem", *where, F.col("received_at").alias("_received_at"))

    def model_columns(self) -> list[str]:
        return ["text"]

    def default_dropzone(self) -> str | None:
        return self.cfg.stream.dropzone

    def dropzone_hint(self) -> str:
        return "pass --path or set stream.dropzone"

    def zone_tag(self, source: str) -> str:
        """A hash of the folder alone, as before datasets could stream (existing checkpoints stay valid)."""
        import hashlib

        return "dropzone-" + hashlib.sha1(source.encode()).hexdigest()[:12]

    def older_stream_inputs(self, lk: lake.Lake) -> DataFrame | None:
        """The incoming table's texts: lakes scored before stream_inputs kept them."""
        if not lk.exists(self.table("incoming")):
            return None
        return lk.read(self.table("incoming")).select("review_id", "text").dropDuplicates(["review_id"])

    def truth(self):
        return F.col("label")

    def generate(self, cfg: Config, *, train=None, test=None, unsup=None, seed=None, out=None, **_ignored):
        """A synthetic corpus in the aclImdb layout; sizes default to the profile's."""
        from tqdm import tqdm

        from sources.imdb_generator import generate_corpus
        from stages.generate import GenerateResult, check_replaceable, mark

        g = cfg.generate
        sizes = dict(train=g.train if train is None else train, test=g.test if test is None else test,
                     unsup=g.unsup if unsup is None else unsup)
        target = out or cfg.source.path
        check_replaceable(target, "--out" if out else "source.path")
        with tqdm(total=sum(sizes.values()), desc="generate", unit="review", disable=None) as bar:
            summary = generate_corpus(target, seed=g.seed if seed is None else seed, progress=bar.update, **sizes)
        mark(target)
        return GenerateResult(summary.root, summary.total_files, summary.duplicates, len(summary.malformed))

    def missing_source(self) -> str | None:
        source = Path(self.cfg.source.path)
        return None if source.exists() or source.name.endswith((".tar.gz", ".tgz")) else self.generate_reason()

    def generate_reason(self) -> str:
        return f"no corpus at {Path(self.cfg.source.path)}: generating a synthetic one"

    @property
    def scores(self) -> bool:
        return True

"""Feedback: what people said about the live predictions, kept on the scoring side for
the next training run on the other side.

    crosslake feedback label --file labels.csv    # review_id,label (0 negative, 1 positive)
    crosslake feedback review --margin 0.15       # send low-confidence predictions for review
    crosslake feedback list

`label` joins each labelled id with its live prediction and the review's text and
upserts it into the `feedback` table: reason `wrong` when the model got it wrong,
`labelled` otherwise. `review` adds predictions whose probability is within --margin of
0.5 and that nobody has looked at yet, with reason `low_confidence` and no label: a
later `label` fills it in. The training side's clean job reads the labelled rows at a
pinned version of this table and adds them to the training split (jobs/clean.py).

Every id in a labels file must name a live prediction and every label must be 0 or 1:
otherwise nothing is written and the error lists the offending lines.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import csv
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from crosslake import lake, ledger
from crosslake import arguments
from crosslake.config import Config
from crosslake.errors import CrosslakeError
from crosslake.runner import job_main

NAME = "feedback"
ROLE = "scoring"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = ("Record labels for live predictions (wrong ones included) and send low-confidence ones for review: "
        "the feedback table the next training run learns from.")


def add_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", choices=("label", "review", "list"), default="list")
    parser.add_argument("--file", help="label: a CSV with columns review_id,label")
    parser.add_argument("--margin", type=arguments.number(0, 0.5), default=0.15,
                        help="review: probabilities within this distance of 0.5 count as low-confidence")


@dataclass
class FeedbackResult:
    action: str
    rows: int
    wrong: int
    version: int | None

    def report(self) -> str:
        where = f" (feedback version {self.version})" if self.version is not None else ""
        if self.action == "label":
            return f"feedback: {self.rows:,} labelled rows, {self.wrong:,} of them predicted wrong{where}"
        return f"feedback: {self.rows:,} low-confidence predictions sent for review{where}"


def read_labels(path: str) -> list[tuple[str, int]]:
    """(review_id, label) pairs; every bad line named."""
    if not Path(path).is_file():
        raise CrosslakeError(f"labels file {path} does not exist")
    rows, problems = [], []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"review_id", "label"} <= set(reader.fieldnames):
            raise CrosslakeError(f"{path} needs a header with review_id and label, got {reader.fieldnames}")
        for line, rec in enumerate(reader, start=2):
            rid, label = (rec.get("review_id") or "").strip(), (rec.get("label") or "").strip()
            if not rid or label not in ("0", "1"):
                problems.append(f"line {line}: review_id={rid!r} label={label!r}")
            else:
                rows.append((rid, int(label)))
    if problems:
        raise CrosslakeError(f"{path}: labels must be 0 or 1 with a review_id; nothing written. "
                             + "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
    return rows


def predictions_with_text(spark: SparkSession, cfg: Config) -> DataFrame:
    live = lake.read_table(spark, cfg, "live_predictions")
    texts = lake.read_table(spark, cfg, "incoming").select("review_id", "text")
    return live.join(texts, "review_id", "left")


def label(spark: SparkSession, cfg: Config, path: str) -> FeedbackResult:
    pairs = read_labels(path)
    labels = spark.createDataFrame(pairs, "review_id string, label int").dropDuplicates(["review_id"])
    joined = labels.join(predictions_with_text(spark, cfg), "review_id", "left")
    unknown = [r.review_id for r in joined.filter(F.col("prediction").isNull()).limit(5).collect()]
    if unknown:
        raise CrosslakeError(f"{path}: no live prediction for review_id(s) {', '.join(unknown)}: nothing written")
    rows = joined.select(
        "review_id", "text", "label", "prediction", "probability", "model_version",
        F.when(F.col("label") != F.col("prediction"), "wrong").otherwise("labelled").alias("reason"),
        F.current_timestamp().alias("flagged_at")).cache()
    n, wrong = rows.count(), rows.filter(F.col("reason") == "wrong").count()
    version = lake.write_table(rows, cfg, "feedback", mode="upsert")
    rows.unpersist()
    ledger.record_count("labelled", n)
    return FeedbackResult("label", n, wrong, version)


def review(spark: SparkSession, cfg: Config, margin: float) -> FeedbackResult:
    unsure = predictions_with_text(spark, cfg).filter(F.abs(F.col("probability") - 0.5) < margin)
    if lake.exists(spark, cfg.table_path("feedback")):
        unsure = unsure.join(lake.read_table(spark, cfg, "feedback").select("review_id"), "review_id", "left_anti")
    rows = unsure.select("review_id", "text", F.lit(None).cast("int").alias("label"), "prediction", "probability",
                         "model_version", F.lit("low_confidence").alias("reason"),
                         F.current_timestamp().alias("flagged_at")).cache()
    n = rows.count()
    version = lake.write_table(rows, cfg, "feedback", mode="insert_new") if n else None
    rows.unpersist()
    return FeedbackResult("review", n, 0, version)


def run(spark: SparkSession, cfg: Config, *, action: str = "list", file: str | None = None,
        margin: float = 0.15):
    if action == "label":
        if not file:
            raise CrosslakeError("feedback label needs --file labels.csv (columns review_id,label)")
        return label(spark, cfg, file)
    if action == "review":
        return review(spark, cfg, margin)
    table = lake.read_table(spark, cfg, "feedback")
    counts = {r.reason: r["count"] for r in table.groupBy("reason").count().collect()}
    waiting = table.filter(F.col("label").isNull()).count()
    return (f"feedback: {sum(counts.values()):,} rows ("
            + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) + f"); {waiting:,} awaiting a label")


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

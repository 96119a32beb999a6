"""Feedback: what people said about the live predictions, kept on the scoring side for
the next training run on the other side.

    crosslake feedback label --file labels.csv    # review_id,label (0 negative, 1 positive)
    crosslake feedback review --margin 0.15       # send low-confidence predictions for review
    crosslake feedback list

`label` joins each labelled id with its live prediction and the text it was scored with
(the stream keeps it in `stream_inputs`, for drop-zone rows too; lakes scored before that
fall back to the `incoming` table) and upserts it into the `feedback` table: reason
`wrong` when the model got it wrong, `labelled` otherwise. `review` adds predictions
whose probability is within --margin of 0.5 and that nobody has looked at yet, with
reason `low_confidence` and no label: a later `label` fills it in. The training side's
clean job reads the labelled rows at a pinned version of this table and adds them to the
training split (jobs/clean.py).

A labels file is UTF-8 CSV text with a review_id,label header (a byte-order mark before
it, as spreadsheet programs save, is fine); a file that is not UTF-8 text is refused
before Spark starts, naming the byte offset. Every id must name a live prediction and
every label must be 0 or 1: otherwise nothing is written and the error lists the
offending lines. Contradictions are not resolved: when one id is labelled 0 on one line
and 1 on another, or labelled otherwise than the feedback table already holds, every
line involved goes to `feedback_rejects` with reason `conflicting_labels` (the table
keeps what it had) and the rest is written. The same label repeated is counted once.
Lines in = labelled + rejected + repeated, printed.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import argparse
import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crosslake import arguments
from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.errors import ConfigError, CrosslakeError
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

NAME = "feedback"
ROLE = "scoring"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
EPILOG = """\
labels file: UTF-8 CSV with a header naming review_id and label (0 negative, 1 positive); a
byte-order mark is fine. One id labelled both 0 and 1 (or otherwise than the feedback table
already holds) is not resolved: those lines go to feedback_rejects (conflicting_labels)."""
REJECT_SCHEMA = "file string, line long, record_hash string, review_id string, label int, reason string, record string"


@dataclass(frozen=True)
class LabelLine:
    line: int
    review_id: str
    label: int
    record: str


def decode_labels(path: str) -> str:
    """The text of a labels file: UTF-8, with or without a byte-order mark; anything else
    (Latin-1, a binary file) is a one-line error naming the byte offset."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"labels file {path} does not exist")
    if not p.is_file():
        raise ConfigError(f"labels file {path} is not a file")
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"labels file {path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                          f"{exc.start}): save it as UTF-8 CSV") from None
    if "\x00" in text:
        offset = data.index(b"\x00")
        raise ConfigError(f"labels file {path} is not text (a NUL byte at offset {offset}): pass a UTF-8 CSV")
    return text


def labels_file_arg(value: str) -> str:
    """--file, checked by the parser: before Spark starts, exit 2."""
    try:
        decode_labels(value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def add_arguments(parser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("action", nargs="?", choices=("label", "review", "list"), default="list")
    parser.add_argument("--file", type=labels_file_arg,
                        help="label (required): a UTF-8 CSV with columns review_id,label")
    parser.add_argument("--margin", type=arguments.number(0, 0.5), default=0.15,
                        help="review: probabilities within this distance (0 to 0.5) of 0.5 count as low-confidence")
    parse_known_args = parser.parse_known_args

    def parse_and_check(args=None, namespace=None):  # a usage error found by the parser: exit 2, no JVM
        namespace, extras = parse_known_args(args, namespace)
        if getattr(namespace, "action", None) == "label" and not getattr(namespace, "file", None):
            parser.error("feedback label needs --file labels.csv (a CSV with columns review_id,label)")
        return namespace, extras

    parser.parse_known_args = parse_and_check


@dataclass
class FeedbackResult:
    action: str
    rows: int
    wrong: int
    version: int | None
    lines: int = 0
    rejected: int = 0
    repeated: int = 0

    def report(self) -> str:
        where = f" (feedback version {self.version})" if self.version is not None else ""
        if self.action == "label":
            text = f"feedback: {self.rows:,} labelled rows, {self.wrong:,} of them predicted wrong{where}"
            return text + (f"\n  {self.lines:,} lines = {self.rows:,} labelled + {self.rejected:,} rejected "
                           f"(conflicting_labels, see feedback_rejects) + {self.repeated:,} repeated")
        return f"feedback: {self.rows:,} low-confidence predictions sent for review{where}"


def read_labels(path: str) -> list[LabelLine]:
    """Every labelled line of the file; every bad line named."""
    reader = csv.DictReader(io.StringIO(decode_labels(path), newline=""))
    if reader.fieldnames is None or not {"review_id", "label"} <= {(f or "").strip() for f in reader.fieldnames}:
        raise CrosslakeError(f"{path} needs a header with review_id and label, got {reader.fieldnames}")
    reader.fieldnames = [(f or "").strip() for f in reader.fieldnames]
    rows, problems = [], []
    for rec in reader:
        line = reader.line_num
        rid, label = (rec.get("review_id") or "").strip(), (rec.get("label") or "").strip()
        if not rid or label not in ("0", "1"):
            problems.append(f"line {line}: review_id={rid!r} label={label!r}")
        else:
            rows.append(LabelLine(line, rid, int(label), f"{rec.get('review_id')},{rec.get('label')}"))
    if problems:
        raise CrosslakeError(f"{path}: labels must be 0 or 1 with a review_id; nothing written. "
                             + "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
    return rows


def conflicting(lines: list[LabelLine], held: dict[str, int]) -> set[str]:
    """Ids labelled both ways in the file, or otherwise than the feedback table holds."""
    seen: dict[str, set[int]] = {}
    for ln in lines:
        seen.setdefault(ln.review_id, set()).add(ln.label)
    return {rid for rid, labels in seen.items() if len(labels) > 1 or (rid in held and held[rid] not in labels)}


def predictions_with_text(spark: SparkSession, cfg: Config) -> DataFrame:
    """Live predictions with the text each was scored with: stream_inputs (written by the
    stream for both sources), else the incoming table (lakes scored before stream_inputs)."""
    from crosslake import lake
    from pyspark.sql import functions as F

    live = lake.read_table(spark, cfg, "live_predictions")
    texts = None
    if lake.exists(spark, cfg.table_path("stream_inputs")):
        # one row per id (its key), but appends from two streams racing on one id could leave two
        texts = lake.read_table(spark, cfg, "stream_inputs").select("review_id", "text").dropDuplicates(["review_id"])
    if lake.exists(spark, cfg.table_path("incoming")):
        older = lake.read_table(spark, cfg, "incoming").select("review_id", "text").dropDuplicates(["review_id"])
        texts = older if texts is None else texts.unionByName(older.join(texts, "review_id", "left_anti"))
    if texts is None:
        return live.withColumn("text", F.lit(None).cast("string"))
    return live.join(texts, "review_id", "left")


def label(spark: SparkSession, cfg: Config, path: str) -> FeedbackResult:
    from crosslake import lake, ledger
    from pyspark.sql import functions as F

    lines = read_labels(path)
    held = {}
    if lake.exists(spark, cfg.table_path("feedback")):
        ids = sorted({ln.review_id for ln in lines})
        held = {r.review_id: r.label for r in lake.read_table(spark, cfg, "feedback")
                .filter(F.col("review_id").isin(ids) & F.col("label").isNotNull()).collect()}
    bad = conflicting(lines, held)
    if bad:
        source = str(Path(path).resolve())
        rejects = spark.createDataFrame(
            [(source, ln.line, hashlib.sha256(ln.record.encode()).hexdigest(), ln.review_id, ln.label,
              "conflicting_labels", ln.record) for ln in lines if ln.review_id in bad], REJECT_SCHEMA,
        ).withColumn("rejected_at", F.current_timestamp())
        lake.write_table(rejects, cfg, "feedback_rejects", mode="insert_new")
    kept = {ln.review_id: ln.label for ln in lines if ln.review_id not in bad}
    rejected = sum(1 for ln in lines if ln.review_id in bad)
    repeated = len(lines) - rejected - len(kept)
    n, wrong, version = 0, 0, None
    if kept:
        labels = spark.createDataFrame(sorted(kept.items()), "review_id string, label int")
        joined = labels.join(predictions_with_text(spark, cfg), "review_id", "left")
        unknown = [r.review_id for r in joined.filter(F.col("prediction").isNull()).limit(5).collect()]
        if unknown:
            raise CrosslakeError(f"{path}: no live prediction for review_id(s) {', '.join(unknown)}: nothing written")
        textless = [r.review_id for r in joined.filter(F.col("text").isNull()).limit(5).collect()]
        if textless:
            raise CrosslakeError(f"{path}: the text scored for review_id(s) {', '.join(textless)} was not kept "
                                 f"(neither stream_inputs nor incoming holds it): nothing written")
        rows = joined.select(
            "review_id", "text", "label", "prediction", "probability", "model_version",
            F.when(F.col("label") != F.col("prediction"), "wrong").otherwise("labelled").alias("reason"),
            F.current_timestamp().alias("flagged_at")).cache()
        n, wrong = rows.count(), rows.filter(F.col("reason") == "wrong").count()
        version = lake.write_table(rows, cfg, "feedback", mode="upsert")
        rows.unpersist()
    ledger.record_count("labelled", n)
    ledger.record_count("rejected", rejected)
    return FeedbackResult("label", n, wrong, version, len(lines), rejected, repeated)


def review(spark: SparkSession, cfg: Config, margin: float) -> FeedbackResult:
    from crosslake import lake
    from pyspark.sql import functions as F

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
    from crosslake import lake
    from pyspark.sql import functions as F

    if action == "label":
        if not file:
            raise ConfigError("feedback label needs --file labels.csv (columns review_id,label)")
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

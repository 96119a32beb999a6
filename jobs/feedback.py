"""Feedback: what people said about the live predictions, kept on the scoring side for
the next training run on the other side.

    crosslake feedback label --file labels.csv    # review_id,label (0 negative, 1 positive)
    crosslake feedback review --margin 0.15       # send low-confidence predictions for review
    crosslake feedback list
    crosslake feedback label --dataset loans --file labels.csv   # loan_id,label: a dataset's keys and label

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

For a dataset declared under datasets: (--dataset NAME) the same holds over its tables:
the labels file names the dataset's key columns and label; NAME_feedback keeps each
labelled record's values as the stream scored them (NAME_stream_inputs), and the training
side's clean adds the records whose key silver does not hold to its train split, with
_source naming the feedback table version (workloads/tabular.py).
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
from crosslake.recorder import Run
from crosslake.runner import job_main

if TYPE_CHECKING:
    from crosslake import lake
    from pyspark.sql import DataFrame, SparkSession

    from workloads.base import Workload

NAME = "feedback"
ROLE = "scoring"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
EPILOG = """\
labels file: UTF-8 CSV with a header naming review_id and label (0 negative, 1 positive), or for
--dataset NAME the dataset's key columns and label (0 or 1); a byte-order mark is fine. One id labelled both 0 and 1 (or otherwise than the feedback table
already holds) is not resolved: those lines go to feedback_rejects (conflicting_labels)."""


@dataclass(frozen=True)
class LabelLine:
    line: int
    key: tuple[str, ...]  # the key columns' values as the file gave them (trimmed)
    label: int
    record: str

    @property
    def review_id(self) -> str:  # the review workload's one key
        return self.key[0]


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
                        help="label (required): a UTF-8 CSV with columns review_id,label (for --dataset NAME: "
                             "the dataset's key columns and label)")
    parser.add_argument("--margin", type=arguments.number(0, 0.5), default=0.15,
                        help="review: probabilities within this distance (0 to 0.5) of 0.5 count as low-confidence")
    parser.add_argument("--dataset", help="a dataset declared under datasets: in conf/: its live predictions "
                                          "(NAME_live_predictions -> NAME_feedback)")
    parse_known_args = parser.parse_known_args

    def parse_and_check(args=None, namespace=None):  # a usage error found by the parser: exit 2, no JVM
        namespace, extras = parse_known_args(args, namespace)
        if getattr(namespace, "action", None) == "label" and not getattr(namespace, "file", None):
            parser.error("feedback label needs --file labels.csv (a CSV with columns review_id,label, or the "
                         "dataset's keys and label)")
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


def read_labels(path: str, keys: tuple[str, ...] = ("review_id",)) -> list[LabelLine]:
    """Every labelled line of the file; every bad line named."""
    reader = csv.DictReader(io.StringIO(decode_labels(path), newline=""))
    wanted = [*keys, "label"]
    if reader.fieldnames is None or not set(wanted) <= {(f or "").strip() for f in reader.fieldnames}:
        raise CrosslakeError(f"{path} needs a header with {' and '.join([', '.join(keys), 'label'])}, "
                             f"got {reader.fieldnames}")
    reader.fieldnames = [(f or "").strip() for f in reader.fieldnames]
    rows, problems = [], []
    for rec in reader:
        line = reader.line_num
        key = tuple((rec.get(k) or "").strip() for k in keys)
        label = (rec.get("label") or "").strip()
        if not all(key) or label not in ("0", "1"):
            shown = " ".join(f"{k}={v!r}" for k, v in zip(keys, key))
            problems.append(f"line {line}: {shown} label={label!r}")
        else:
            rows.append(LabelLine(line, key, int(label), ",".join(rec.get(k) or "" for k in wanted)))
    if problems:
        raise CrosslakeError(f"{path}: labels must be 0 or 1 with a {' and '.join(keys)}; nothing written. "
                             + "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
    return rows


def conflicting(lines: list[LabelLine], held: dict[tuple, int]) -> set[tuple]:
    """Keys labelled both ways in the file, or otherwise than the feedback table holds."""
    seen: dict[tuple, set[int]] = {}
    for ln in lines:
        seen.setdefault(ln.key, set()).add(ln.label)
    return {key for key, labels in seen.items() if len(labels) > 1 or (key in held and held[key] not in labels)}


def keyed(lk: lake.Lake, workload: Workload, pairs: list[tuple[tuple, int]]) -> DataFrame:
    """(key values as text, label) as a DataFrame with the key columns in the types of the
    live predictions table (a key that does not parse as its type matches nothing) and
    `_given`, the key as the file wrote it."""
    from pyspark.sql import functions as F

    keys = list(workload.keys)
    types = dict(lk.read(workload.table("live_predictions")).dtypes)
    df = lk.spark.createDataFrame([(*k, v) for k, v in pairs],
                                  ", ".join(f"`_k{i}` string" for i in range(len(keys))) + ", label int")
    given = F.array(*[F.col(f"_k{i}") for i in range(len(keys))]).alias("_given")
    return df.select(given, *[F.col(f"_k{i}").try_cast(types[k]).alias(k) for i, k in enumerate(keys)], "label")


def predictions_with_inputs(lk: lake.Lake, workload: Workload) -> DataFrame:
    """Live predictions with what each was scored with: the stream inputs table (written by
    the stream for both sources), else, for reviews, the incoming table (lakes scored before
    stream_inputs)."""
    from pyspark.sql import functions as F

    keys, columns = list(workload.keys), workload.feedback_columns()
    live = lk.read(workload.table("live_predictions"))
    inputs = None
    if lk.exists(workload.table("stream_inputs")):
        # one row per key (its key), but appends from two streams racing on one key could leave two
        inputs = lk.read(workload.table("stream_inputs")).select(*keys, *columns).dropDuplicates(keys)
    if (older := workload.older_stream_inputs(lk)) is not None:
        inputs = older if inputs is None else inputs.unionByName(older.join(inputs, keys, "left_anti"))
    if inputs is None:
        return live.select("*", *[F.lit(None).cast("string").alias(c) for c in columns], F.lit(False).alias("_kept"))
    return live.join(inputs.withColumn("_kept", F.lit(True)), keys, "left")


def label(lk: lake.Lake, workload: Workload, path: str) -> FeedbackResult:
    from pyspark.sql import functions as F

    spark = lk.spark
    keys, columns, table = list(workload.keys), workload.feedback_columns(), workload.table("feedback")
    lines = read_labels(path, tuple(keys))
    held = {}
    if lk.exists(table):
        wanted = keyed(lk, workload, [(k, 0) for k in sorted({ln.key for ln in lines})]).drop("label")
        held = {tuple(r._given): r.label for r in lk.read(table).filter(F.col("label").isNotNull())
                .join(wanted, keys).collect()}
    bad = conflicting(lines, held)
    if bad:
        source = str(Path(path).resolve())
        schema = "file string, line long, record_hash string, " + ", ".join(f"`{k}` string" for k in keys) + \
            ", label int, reason string, record string"
        rejects = spark.createDataFrame(
            [(source, ln.line, hashlib.sha256(ln.record.encode()).hexdigest(), *ln.key, ln.label,
              "conflicting_labels", ln.record) for ln in lines if ln.key in bad], schema,
        ).withColumn("rejected_at", F.current_timestamp())
        lk.write(rejects, workload.table("feedback_rejects"), mode="insert_new")
    kept = {ln.key: ln.label for ln in lines if ln.key not in bad}
    rejected = sum(1 for ln in lines if ln.key in bad)
    repeated = len(lines) - rejected - len(kept)
    n, wrong, version = 0, 0, None
    if kept:
        joined = keyed(lk, workload, sorted(kept.items())).join(predictions_with_inputs(lk, workload), keys, "left")
        unknown = [",".join(r._given) for r in joined.filter(F.col("prediction").isNull()).orderBy("_given")
                   .limit(5).collect()]
        if unknown:
            what = "review_id(s)" if keys == ["review_id"] else ",".join(keys)
            raise CrosslakeError(f"{path}: no live prediction for {what} {', '.join(unknown)}: nothing written")
        missing = [",".join(r._given) for r in joined.filter(~F.coalesce("_kept", F.lit(False))).orderBy("_given")
                   .limit(5).collect()]
        if missing:
            raise CrosslakeError(f"{path}: what was scored for {', '.join(missing)} was not kept (neither "
                                 f"{workload.table('stream_inputs')} nor an incoming table holds it): nothing written")
        rows = joined.select(
            *keys, *columns, "label", "prediction", "probability", "model_version",
            F.when(F.col("label") != F.col("prediction"), "wrong").otherwise("labelled").alias("reason"),
            F.current_timestamp().alias("flagged_at")).cache()
        n, wrong = rows.count(), rows.filter(F.col("reason") == "wrong").count()
        version = lk.write(rows, table, mode="upsert").version
        rows.unpersist()
    lk.run.record_count("labelled", n)
    lk.run.record_count("rejected", rejected)
    return FeedbackResult("label", n, wrong, version, len(lines), rejected, repeated)


def review(lk: lake.Lake, workload: Workload, margin: float) -> FeedbackResult:
    from pyspark.sql import functions as F

    keys, table = list(workload.keys), workload.table("feedback")
    unsure = predictions_with_inputs(lk, workload).filter(F.abs(F.col("probability") - 0.5) < margin)
    if lk.exists(table):
        unsure = unsure.join(lk.read(table).select(*keys), keys, "left_anti")
    rows = unsure.select(*keys, *workload.feedback_columns(), F.lit(None).cast("int").alias("label"), "prediction",
                         "probability", "model_version", F.lit("low_confidence").alias("reason"),
                         F.current_timestamp().alias("flagged_at")).cache()
    n = rows.count()
    version = lk.write(rows, table, mode="insert_new").version if n else None
    rows.unpersist()
    return FeedbackResult("review", n, 0, version)


def run(spark: SparkSession, cfg: Config, *, action: str = "list", file: str | None = None,
        margin: float = 0.15, dataset: str | None = None, recorder: Run | None = None):
    from crosslake import lake
    from pyspark.sql import functions as F

    from workloads import pick

    workload = pick(cfg, dataset)  # its keys, what a prediction was scored with, its tables
    lk = lake.Lake(spark, cfg, recorder)
    if action == "label":
        if not file:
            raise ConfigError(f"feedback label needs --file labels.csv (columns {','.join(workload.keys)},label)")
        return label(lk, workload, file)
    if action == "review":
        return review(lk, workload, margin)
    table = lk.read(workload.table("feedback"))
    counts = {r.reason: r["count"] for r in table.groupBy("reason").count().collect()}
    waiting = table.filter(F.col("label").isNull()).count()
    return (f"feedback: {sum(counts.values()):,} rows ("
            + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())) + f"); {waiting:,} awaiting a label")


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

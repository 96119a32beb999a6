"""Stream: score new records as they arrive, exactly once, into live predictions.

    crosslake stream                                 # cron-style: everything new, then exit
    crosslake stream --trigger 10                    # always on: a micro-batch every 10 s
    crosslake stream --source files --path DROPZONE  # JSON-lines files dropped in a folder
    crosslake stream --dataset loans                 # a declared dataset's records, its production model
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/stream.py --trigger 10

Sources: the workload's incoming Delta table (rows appended by whatever receives records),
or a drop zone of JSON-lines files, one object per line. Reviews (the default): the
`incoming` table (review_id, text, received_at) and lines {"review_id": "<string>", "text":
"<string>"}, into `live_predictions`. A dataset declared under datasets: (--dataset NAME):
the `NAME_incoming` table (record: one JSON object per row, received_at) and lines that are
such objects, {"<column>": <value>, ...} by the declared names, read by the rules its CSV
files are read by (workloads/tabular.py), into `NAME_live_predictions` by its keys. The
stage is the same for both; the workload says how a row is read, keyed and scored.

What arrives is kept, never coerced (transforms/scoring.py names every reason):
  * a line that cannot be scored goes to `stream_rejects` with the reason and the line
    exactly as it arrived, its file and line number: invalid UTF-8, a blank line, not JSON,
    not an object, no review_id or no text, or one of a wrong JSON type
    (`review_id_not_a_string:number`, `text_not_a_string:object`, ...). A review_id must be
    a JSON string: a number is refused, not read as its digits (123, 123.0 and "123"
    would be one id or three depending on the sender). Two identical bad lines are two rows.
  * a dataset's record is refused for a field it does not declare (`unknown_field:<name>`),
    an object or array as a value (`not_a_value:<column>`), a value that does not parse as
    its declared type (`unparseable:<column>`), a non-finite number, an oversized value or
    a missing key (`key_missing`).
  * conflicts are rejected, not resolved: every row of an id that comes with two different
    texts in one batch (`conflicting_texts_in_batch`; a dataset's key with two records:
    `conflicting_records_in_batch`), and an id scored before sent again with another text
    (`id_already_scored_with_other_text`; `key_already_scored_with_other_record`). The same
    input sent again is counted as `resent`; an exact repeat within a batch as `repeated`.
    Per batch: rows in = scored + rejected + repeated + resent, logged and in `stream_metrics`.
  * what each key was scored with goes to the stream inputs table (`stream_inputs`,
    `NAME_stream_inputs`; the feedback job labels it), with the file and line it came from.

A drop zone takes NEW files: write a file outside the zone, then rename it in (a temp file
inside the zone is reported as not read while it is there). Spark reads each file once,
by path, and skips names starting with "." or "_": lines appended to a processed file, a
file rewritten in place and hidden files are never read.
They are not lost without a word: when the stream starts and before each micro-batch the
zone is listed (crosslake/dropzone.py) and each such file is reported (a WARNING, a count,
and one `stream_rejects` row, reason `file_not_read:<why>`). Files in sub-folders are read.

Every prediction is stamped with the model name and version that scored it and, from the
incoming table, the table version its micro-batch read up to (`input_version`; a drop
zone's rows keep their file and line in the stream inputs table instead).

Each micro-batch is scored through the production model's stored encoder and the one
scoring path (train/scoring.py: serving/udf.py's Arrow path for a torch model, natively for
a Spark ML baseline), and the predictions of the ids not scored before are appended to
`live_predictions`.

Exactly once: Structured Streaming writes a batch's offsets to the checkpoint (on the
lake's store, beside the tables) before running it and marks it done after; a process
killed in between replays the same batch on restart. Every write of a batch (rejects,
stream inputs, predictions, the metrics row) is an append under the batch's (query id,
batch id), which Delta skips when it has committed it, so every input row ends with
exactly one prediction and a batch costs the same however large the tables grow; a replay
recognises its own earlier rows in stream_inputs by the same pair, so they are not taken
for re-sends. Should another writer commit to live_predictions between a batch's reading
it and its append (a second stream into the same table), that batch merges
insert-if-absent instead.

A new `production` model is picked up at the next micro-batch (the alias is read before
each batch); rows already scored keep the version that scored them. Every batch logs
its rows, duration, rows/s and latency (received -> prediction committed) and adds a row
to the `stream_metrics` table.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import argparse
import json
import logging
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.errors import ConfigError, CrosslakeError
from crosslake.recorder import Run
from crosslake.runner import job_main

if TYPE_CHECKING:
    from crosslake import lake
    from crosslake.dropzone import DropZone
    from pyspark.sql import DataFrame, SparkSession

    from workloads.base import Workload

NAME = "stream"
ROLE = "scoring"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
EPILOG = """\
drop zone (--source files): one JSON object per line, UTF-8: {"review_id": "<string>", "text":
"<string>"} for reviews; for --dataset NAME a record {"<column>": <value>, ...} by the names declared
under datasets.NAME.columns (the label may be left out). The zone takes NEW files: write each file outside the zone (same file system), then
rename it in; a file is read once, so lines appended to it or a rewrite are not read.
Files in sub-folders are read. Hidden ("."), "_"-prefixed and changed files are not:
each is reported (a WARNING, and a stream_rejects row with reason file_not_read:<why>). Lines
that cannot be scored (not JSON, a review_id or text that is missing or not a JSON string, ...)
go to stream_rejects with the reason and the line as it arrived."""
log = logging.getLogger(__name__)
METRICS_SCHEMA = ("stream string, batch_id long, rows_in long, rows long, rejected long, repeated long, resent long, "
                  "ignored_files long, duration_s double, rows_per_s double, latency_p50_s double, "
                  "latency_p99_s double, model_version int")


def trigger_arg(value: str) -> str:
    """--trigger: available-now, or a positive number of seconds (checked before Spark starts)."""
    if value == "available-now":
        return value
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"takes available-now or a number of seconds > 0, got '{value}'")
    return value


def path_arg(value: str) -> str:
    """--path: a local folder must exist and be a folder (an object-store URI is checked once
    Spark can reach the store)."""
    if "://" not in value or value.startswith("file:"):
        local = Path(value.removeprefix("file://").removeprefix("file:"))
        if not local.exists():
            raise argparse.ArgumentTypeError(f"drop zone {value} does not exist")
        if not local.is_dir():
            raise argparse.ArgumentTypeError(f"drop zone {value} is a file, not a folder")
    return value


def positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"takes a number of seconds > 0, got '{value}'")
    return seconds


def add_arguments(parser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("--dataset", help="score a dataset declared under datasets: in conf/ with its production "
                                          "model (NAME_incoming or a drop zone -> NAME_live_predictions)")
    parser.add_argument("--source", choices=("table", "files"), default="table",
                        help="table: the incoming Delta table (default); files: JSON-lines files in --path")
    parser.add_argument("--path", type=path_arg,
                        help="--source files: the drop-zone folder (default for reviews: stream.dropzone; a "
                             "dataset needs its own); it takes new files only (write, then rename in): see below")
    parser.add_argument("--trigger", default="available-now", type=trigger_arg,
                        help="available-now (default: process what is there, then exit) or seconds (> 0) between "
                             "micro-batches for an always-on stream")
    parser.add_argument("--model-version", help="pin a version or alias (default: follow production, "
                                                "picked up at the next micro-batch)")
    parser.add_argument("--timeout", type=positive_seconds,
                        help="always-on only: stop after this many seconds (default: run until stopped)")


@dataclass
class StreamResult:
    source: str
    batches: int = 0
    rows_in: int = 0
    rows: int = 0
    rejected: int = 0
    repeated: int = 0
    resent: int = 0
    ignored_files: int = 0   # files newly recorded as not read (stream_rejects, file_not_read:*)
    unread_files: int = 0    # files in the drop zone that will not be read, at the last check
    models: set[int] = field(default_factory=set)
    seconds: float = 0.0
    table: lake.TableInfo | None = None

    def report(self) -> str:
        used = ", ".join(f"v{v}" for v in sorted(self.models)) or "none"
        lines = [f"stream from {self.source}: {self.batches} micro-batches, {self.rows_in:,} rows in = "
                 f"{self.rows:,} new rows scored + {self.rejected:,} rejected (see stream_rejects) + "
                 f"{self.repeated:,} repeated + {self.resent:,} re-sent ids already scored; in "
                 f"{self.seconds:.1f} s (model {used})"]
        if self.unread_files or self.ignored_files:
            lines.append(f"{self.unread_files:,} files in the drop zone will not be read ({self.ignored_files:,} "
                         f"newly recorded in stream_rejects, reason file_not_read:*): drop new files only")
        if self.table is not None:
            t = self.table
            lines.append(f"{t.name}: {t.path} (version {t.version}, {t.rows:,} rows)")
        return "\n".join(lines)


class Scorer:
    """The foreachBatch function: follows the production alias, sorts every row into scored,
    repeated, re-sent or rejected, scores, writes, measures. What a row is (its keys, what it
    is scored with, how it is read) comes from the workload."""

    def __init__(self, lk: lake.Lake, workload: Workload, source: str, pinned: str | None, result: StreamResult,
                 checkpoint: str, zone: DropZone | None = None):
        self.lake, self.spark, self.cfg, self.workload = lk, lk.spark, lk.cfg, workload
        self.source, self.pinned, self.result = source, pinned, result
        self.checkpoint, self.zone = checkpoint, zone
        self.keys = list(workload.keys)
        self.live, self.inputs = workload.table("live_predictions"), workload.table("stream_inputs")
        self._query_id: str | None = None
        self._live_version: int | None = None  # live_predictions' version this batch judged keys against
        self.stored = None  # the model's train.scoring.Scorer

    def model(self):
        from train import registry
        from train.scoring import load_scorer

        name = self.workload.model_name
        version = registry.resolve(self.cfg.model_store, name, self.pinned)
        if self.stored is None or self.stored.version != version:
            if self.stored is not None:
                log.info("production model changed: v%d -> v%d (from the next rows on)", self.stored.version, version)
                self.stored.release()
            self.stored = load_scorer(self.cfg.model_store, name, version)
        return self.stored

    def rows(self, batch: DataFrame) -> DataFrame:
        """The batch as the workload's stream rows (keys, payload, model input, _problem,
        _record, _file, _line, _received_at)."""
        from transforms.scoring import explode_lines

        if self.zone is None:
            return self.workload.stream_rows(batch, dropzone=False)
        return self.workload.stream_rows(batch.transform(explode_lines), dropzone=True)

    def known(self, batch_id: int) -> DataFrame | None:
        """Keys scored before this batch, with what they were scored with (null for rows
        scored before the stream kept it). A replayed batch's own rows do not count."""
        from pyspark.sql import functions as F

        keys, payload = self.keys, self.workload.payload
        self._live_version = None
        if not self.lake.exists(self.live):
            return None  # nothing scored yet
        self._live_version = self.lake.pin(self.live)
        live = self.lake.read(self.live, version=self._live_version).select(*keys)
        if not self.lake.exists(self.inputs):
            return live.withColumn("known_payload", F.lit(None).cast("string"))
        inputs = self.lake.read(self.inputs).select(
            *keys, F.col(payload).alias("known_payload"), F.col("query_id").alias("_q"),
            F.col("batch_id").alias("_b")).dropDuplicates(keys)
        this_batch = F.coalesce((F.col("_q") == self.query_id()) & (F.col("_b") == batch_id), F.lit(False))
        return live.join(inputs, keys, "left").filter(~this_batch).select(*keys, "known_payload")

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        from crosslake import lake
        from pyspark.sql import functions as F
        from transforms.scoring import rejected_rows, REPEATED, RESENT, SCORED, with_outcome

        w = self.workload
        started = time.time()
        stored = self.model()
        ignored = 0
        if self.zone is not None:
            ignored = self.zone.check(batch_id)
            # noted before this batch's outputs: a batch cut short is replayed and notes them again
            self.zone.record([(r.file, r.file_size, r.file_mtime) for r in
                              batch.select("file", "file_size", "file_mtime").distinct().collect()],
                             (self.query_id(), batch_id))
        rows = self.rows(batch)
        known = self.known(batch_id)
        if known is None:  # the keys' types are the batch's
            known = rows.select(*self.keys, F.lit(None).cast("string").alias("known_payload")).limit(0)
        rows = rows.transform(with_outcome, known=known, keys=tuple(self.keys), payload=w.payload,
                              conflicts=w.conflicts).cache()
        try:
            scored = F.col("outcome") == SCORED
            stats = rows.agg(
                F.count(F.lit(1)).alias("n_in"), F.count(F.when(scored, 1)).alias("n"),
                F.count(F.when(F.col("outcome") == REPEATED, 1)).alias("repeated"),
                F.count(F.when(F.col("outcome") == RESENT, 1)).alias("resent"),
                F.percentile_approx(F.when(scored, F.col("_received_at").cast("double")), [0.01, 0.5]).alias("q"),
            ).first()
            n_in, n, repeated, resent = stats.n_in, stats.n, stats.repeated, stats.resent
            n_rejected = n_in - n - repeated - resent
            if n_rejected:
                # appended under the batch's (query, batch id): a replay is skipped by Delta, and two
                # identical bad lines stay two rows
                lake.write_table(rejected_rows(rows, source=self.source, batch_id=batch_id), self.cfg,
                                 "stream_rejects", mode="append",
                                 txn=(f"crosslake-stream-rejects:{self.query_id()}", batch_id))
            if n:
                # a micro-batch is small: a task per shuffle partition would each pay a Python
                # crossing for a handful of rows; one task per ~2,000 rows, at most one per core
                good = rows.filter(scored).coalesce(max(1, min(self.spark.sparkContext.defaultParallelism,
                                                               math.ceil(n / 2000))))
                inputs = [c for c in (w.payload, *w.model_columns()) if c not in self.keys]
                # what each key was scored with: feedback labels it, a later re-send is compared with it.
                # Written before the predictions, so a replay finds this batch's own rows by (query, batch).
                lake.write_table(good.select(
                    *self.keys, *dict.fromkeys(inputs), F.lit(self.source).alias("stream"),
                    F.col("_file").alias("file"), F.col("_line").alias("line"),
                    F.col("_received_at").alias("received_at"),
                    F.lit(self.query_id()).alias("query_id"), F.lit(batch_id).cast("long").alias("batch_id")),
                    self.cfg, self.inputs, mode="append",
                    txn=(f"crosslake-stream-inputs:{self.query_id()}", batch_id))
                model_input = [c for c in w.model_columns() if c not in self.keys]
                predictions = (stored.score(self.spark, good.select(*self.keys, *model_input, "_received_at"),
                                            batch_size=self.cfg.score.batch_size)
                               .select(*self.keys, "probability", "prediction",
                                       F.lit(stored.name).alias("model_name"),
                                       F.lit(stored.version).alias("model_version"), *w.prediction_extras(stored),
                                       F.lit(self.source).alias("source"),
                                       F.lit(self.input_version(batch_id)).cast("long").alias("input_version"),
                                       F.col("_received_at").alias("received_at"),
                                       F.lit(batch_id).cast("long").alias("batch_id"),
                                       F.current_timestamp().alias("scored_at")))
                self.write_predictions(predictions, batch_id)
            committed = time.time()
            p99, p50 = [max(0.0, committed - q) for q in stats.q] if n else [0.0, 0.0]
        finally:
            rows.unpersist()
        duration = committed - started
        r = self.result
        r.batches += 1
        r.rows_in, r.rows, r.rejected, r.repeated, r.resent = (
            r.rows_in + n_in, r.rows + n, r.rejected + n_rejected, r.repeated + repeated, r.resent + resent)
        r.ignored_files += ignored
        r.models.add(stored.version)
        log.info("batch %d: %d rows in = %d scored + %d rejected + %d repeated + %d re-sent ids already scored; "
                 "%d files newly found unread; %.2f s (%.0f rows/s), latency p50 %.2f s p99 %.2f s, model v%d",
                 batch_id, n_in, n, n_rejected, repeated, resent, ignored, duration,
                 n / duration if duration else 0.0, p50, p99, stored.version)
        metrics = self.spark.createDataFrame(
            [(self.source, batch_id, n_in, n, n_rejected, repeated, resent, ignored, duration,
              n / duration if duration else 0.0, p50, p99, stored.version)], METRICS_SCHEMA,
        ).withColumn("at", F.current_timestamp())
        # a replayed batch's metrics row is skipped by Delta (same query id and batch id)
        lake.write_table(metrics, self.cfg, "stream_metrics", mode="append",
                         txn=(f"crosslake-stream-metrics:{self.query_id()}", batch_id))

    def write_predictions(self, predictions: DataFrame, batch_id: int) -> None:
        """Append the batch's predictions under its (query id, batch id): Delta skips the pair
        on a replay, and the cost does not grow with the table. The keys were judged new
        against the version known() read; when another writer (a second stream into the
        same table) committed since, the insert-if-absent MERGE decides instead, against the
        whole table."""
        from crosslake import lake

        path = self.lake.path(self.live)
        now = lake.current_version(self.spark, path) if self.lake.exists(self.live) else None
        if now == self._live_version:
            self.lake.write(predictions, self.live, mode="append",
                            txn=(f"crosslake-stream-predictions:{self.query_id()}", batch_id))
        else:
            log.info("%s changed since this batch read it (v%s -> v%s): insert-if-absent merge",
                     self.live, self._live_version, now)
            self.lake.write(predictions, self.live, mode="insert_new")

    def input_version(self, batch_id: int) -> int | None:
        """The incoming table's version this micro-batch read up to, from the offsets its
        checkpoint recorded before running it (Delta's source offset: a reservoir version and
        the index of the next file in it; index -1 means none of that version was read).
        None for a drop zone, whose rows carry their file and line instead."""
        if self.zone is not None:
            return None
        from crosslake.files import read_text

        # the offsets file: a version line, the batch's metadata, then one offset per source
        last = json.loads(read_text(self.spark, f"{self.checkpoint}/offsets/{batch_id}").strip().splitlines()[-1])
        version = int(last["reservoirVersion"])
        return version - 1 if int(last.get("index", -1)) == -1 and not last.get("isStartingVersion") else version

    def query_id(self) -> str:
        """The streaming query's id, kept in its checkpoint: the same across restarts, new
        with a new checkpoint (so batch ids starting again from 0 are not mistaken for replays)."""
        if self._query_id is None:
            from crosslake.files import read_text

            self._query_id = json.loads(read_text(self.spark, f"{self.checkpoint}/metadata").splitlines()[0])["id"]
        return self._query_id


def source_frame(lk: lake.Lake, workload: Workload, source: str, path: str | None) -> tuple[str, DataFrame]:
    """(name of the source, its streaming DataFrame): the workload's incoming table (the
    columns it reads); or a drop zone's files whole (value, file, file_size, file_mtime,
    received_at)."""
    from crosslake import lake
    from crosslake.dropzone import check_folder
    from pyspark.sql import functions as F

    spark, cfg = lk.spark, lk.cfg
    per_trigger = str(cfg.stream.max_files_per_trigger)
    if source == "table":
        table = workload.table("incoming")
        table_path = lake.require(spark, cfg, table)
        columns = workload.incoming_columns
        df = spark.readStream.format("delta").option("maxFilesPerTrigger", per_trigger).load(table_path)
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ConfigError(f"{table} ({table_path}) has no column(s) {', '.join(missing)}: the stream reads "
                              f"{', '.join(columns)} from it")
        return table, df.select(*columns)
    folder = path or workload.default_dropzone()
    if not folder:
        raise ConfigError(f"--source files needs a drop-zone folder: {workload.dropzone_hint()}")
    check_folder(spark, folder)
    # Whole files, cut into lines by explode_lines: each line keeps its file and line number,
    # and its bytes as they arrived. recursiveFileLookup reads sub-folders (and keeps a folder
    # named k=v from being taken for a partition); maxFileAge would otherwise skip a file
    # dropped with a modification time a week older than the newest file seen.
    # ignoreMissingFiles: a file deleted after Spark planned its batch would otherwise fail that
    # batch on every restart (the same offsets replay); a deleted file has nothing left to read.
    df = (spark.readStream.option("maxFilesPerTrigger", per_trigger).option("recursiveFileLookup", "true")
          .option("maxFileAge", "36500d").option("ignoreMissingFiles", "true").text(folder, wholetext=True))
    # a file's arrival is when it landed in the drop zone
    return f"files:{folder}", df.select(
        "value", F.col("_metadata.file_path").alias("file"), F.col("_metadata.file_size").alias("file_size"),
        F.unix_millis(F.col("_metadata.file_modification_time")).alias("file_mtime"),
        F.col("_metadata.file_modification_time").alias("received_at"))


def run(spark: SparkSession, cfg: Config, *, source: str = "table", path: str | None = None,
        trigger: str = "available-now", model_version: str | None = None, timeout: float | None = None,
        dataset: str | None = None, recorder: Run | None = None) -> StreamResult:
    from crosslake import lake
    from crosslake.dropzone import DropZone

    from workloads import pick

    workload = pick(cfg, dataset)  # its tables, keys, how a row is read, its model
    lk = lake.Lake(spark, cfg, recorder)
    try:
        trigger = trigger_arg(str(trigger))
    except argparse.ArgumentTypeError as exc:
        raise ConfigError(f"--trigger {exc}") from None
    name, frame = source_frame(lk, workload, source, path)
    result = StreamResult(name)
    # one checkpoint per source: the incoming table's name, or a drop zone's folder
    checkpoint = f"{cfg.lake.root}/_checkpoints/streams/{name if source == 'table' else workload.zone_tag(name)}"
    zone = DropZone(spark, cfg, name, name.removeprefix("files:")) if source == "files" else None
    scorer = Scorer(lk, workload, name, model_version, result, checkpoint, zone)
    stored = scorer.model()  # fail before starting the stream if there is no model
    lk.run.record_input(f"model:{stored.name}", stored.version)
    if zone is not None:
        # what an earlier run left unread (an append, a hidden file) is found even when nothing new arrived
        result.ignored_files += zone.check(None)
        for f, why in zone.unread:
            log.warning("drop zone: %s is not read (%s)", f.file, why)
    writer = frame.writeStream.foreachBatch(scorer).option("checkpointLocation", checkpoint) \
        .queryName(f"crosslake-stream-{workload.name}-{source}")
    if trigger == "available-now":
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=f"{float(trigger)} seconds")
    started = time.monotonic()
    query = writer.start()
    stop = threading.Event()
    previous = None
    # SIGTERM (docker stop, k8s) stops the query; a batch cut short is replayed on the next start
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while query.isActive and not stop.is_set():
            if timeout is not None and time.monotonic() - started > timeout:
                break
            query.awaitTermination(1)
        if query.exception() is not None:
            raise CrosslakeError(f"the stream failed: {query.exception()}")
    finally:
        if query.isActive:
            query.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    result.seconds = time.monotonic() - started
    result.unread_files = len(zone.unread) if zone is not None else 0
    for what in ("rows_in", "rejected", "repeated", "resent", *(["ignored_files"] if zone is not None else [])):
        lk.run.record_count(what, getattr(result, what))
    lk.run.record_count("scored", result.rows)
    if lk.exists(scorer.live):
        version = lake.current_version(spark, cfg.table_path(scorer.live))
        result.table = lk.info(scorer.live, version, lk.read(scorer.live, version=version).count())
    return result


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

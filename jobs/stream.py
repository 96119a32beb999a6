"""Stream: score new reviews as they arrive, exactly once, into live_predictions.

    crosslake stream                                 # cron-style: everything new, then exit
    crosslake stream --trigger 10                    # always on: a micro-batch every 10 s
    crosslake stream --source files --path DROPZONE  # JSON-lines files dropped in a folder
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/stream.py --trigger 10

Sources: the `incoming` Delta table (rows appended by whatever receives reviews), or a
drop zone of JSON-lines files ({"review_id": ..., "text": ...} per line). A row that
cannot be scored (a line that is not JSON, no review_id, no text) goes to `stream_rejects`
with the reason and what arrived; per batch, rows in = scored + rejected + repeated ids. Each
micro-batch is tokenised with the production model's own vocabulary, scored with the
batch UDF (serving/udf.py) and merged into `live_predictions` by review_id, inserting
only ids not there yet.

Exactly once: Structured Streaming writes a batch's offsets to the checkpoint (on the
lake's store, beside the tables) before running it and marks it done after; a process
killed in between replays the same batch on restart. The insert-if-absent merge makes
the replay harmless, so every input row ends with exactly one prediction.

A new `production` model is picked up at the next micro-batch (the alias is read before
each batch); rows already scored keep the version that scored them. Every batch logs
its rows, duration, rows/s and latency (received -> prediction committed) and adds a row
to the `stream_metrics` table.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import hashlib
import json
import logging
import signal
import threading
import time
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from crosslake import lake, ledger
from crosslake.config import Config
from crosslake.errors import CrosslakeError
from crosslake.runner import job_main
from serving.udf import broadcast_model, with_predictions
from train import registry
from train.store import load_model
from transforms.features import with_token_ids, with_tokens
from transforms.scoring import rejected_rows, scoring_problem

NAME = "stream"
ROLE = "scoring"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = ("Score new reviews from the incoming table (or a drop zone of JSON-lines files) into live_predictions "
        "with Structured Streaming: exactly once across restarts; cron-style (available-now) or always on.")
log = logging.getLogger(__name__)
INPUT_SCHEMA = "review_id string, text string, _raw string"  # _raw: a line that is not valid JSON


def add_arguments(parser) -> None:
    parser.add_argument("--source", choices=("table", "files"), default="table",
                        help="table: the incoming Delta table (default); files: JSON-lines files in --path")
    parser.add_argument("--path", help="--source files: the drop-zone folder (default: stream.dropzone)")
    parser.add_argument("--trigger", default="available-now",
                        help="available-now (default: process what is there, then exit) or seconds between "
                             "micro-batches for an always-on stream")
    parser.add_argument("--model-version", help="pin a version or alias (default: follow production, "
                                                "picked up at the next micro-batch)")
    parser.add_argument("--timeout", type=float,
                        help="always-on only: stop after this many seconds (default: run until stopped)")


@dataclass
class StreamResult:
    source: str
    batches: int = 0
    rows: int = 0
    rejected: int = 0
    models: set[int] = field(default_factory=set)
    seconds: float = 0.0
    table: lake.TableInfo | None = None

    def report(self) -> str:
        used = ", ".join(f"v{v}" for v in sorted(self.models)) or "none"
        lines = [f"stream from {self.source}: {self.batches} micro-batches, {self.rows:,} new rows scored in "
                 f"{self.seconds:.1f} s (model {used}); {self.rejected:,} rejected (see stream_rejects)"]
        if self.table is not None:
            t = self.table
            lines.append(f"live_predictions: {t.path} (version {t.version}, {t.rows:,} rows)")
        return "\n".join(lines)


class Scorer:
    """The foreachBatch function: follows the production alias, scores, merges, measures."""

    def __init__(self, spark: SparkSession, cfg: Config, source: str, pinned: str | None, result: StreamResult,
                 checkpoint: str):
        self.spark, self.cfg, self.source, self.pinned, self.result = spark, cfg, source, pinned, result
        self.checkpoint = checkpoint
        self._query_id: str | None = None
        self.stored = None
        self.broadcast = None

    def model(self):
        version = registry.resolve(self.cfg.model_store, self.cfg.models.name, self.pinned)
        if self.stored is None or self.stored.version != version:
            if self.stored is not None:
                log.info("production model changed: v%d -> v%d (from the next rows on)", self.stored.version, version)
            self.stored = load_model(self.cfg.model_store, self.cfg.models.name, version)
            if self.broadcast is not None:
                self.broadcast.unpersist()
            self.broadcast = broadcast_model(self.spark, self.cfg.model_store, self.stored)
        return self.stored

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.time()
        stored = self.model()
        max_len = stored.metadata["spec"]["max_len"]
        batch = batch.withColumn("_problem", scoring_problem()).cache()
        try:
            # one pass for the counts and the arrival-time quantiles (latency p50 needs the
            # median arrival, p99 the 1st percentile: latency = commit time - arrival)
            good = F.col("_problem").isNull()
            stats = batch.agg(
                F.count(F.lit(1)).alias("n_in"), F.count(F.when(~good, 1)).alias("n_rejected"),
                F.countDistinct(F.when(good, F.col("review_id"))).alias("n"),
                F.percentile_approx(F.when(good, F.col("received_at").cast("double")), [0.01, 0.5]).alias("q"),
            ).first()
            n_in, n_rejected, n = stats.n_in, stats.n_rejected, stats.n
            repeats = n_in - n_rejected - n
            if n_rejected:
                rejects = rejected_rows(batch, source=self.source, batch_id=batch_id)
                lake.write_table(rejects, self.cfg, "stream_rejects", mode="insert_new", record=False)
            if n:
                rows = (batch.filter(good)
                        .dropDuplicates(["review_id"])  # one prediction per id, even if a sender repeats one
                        .transform(with_tokens)
                        .transform(with_token_ids, vocab=stored.vocabulary, max_len=max_len)
                        .transform(with_predictions, model=self.broadcast, max_len=max_len,
                                   batch_size=self.cfg.score.batch_size)
                        .select("review_id", "probability", "prediction",
                                F.lit(stored.name).alias("model_name"),
                                F.lit(stored.version).alias("model_version"),
                                F.lit(self.source).alias("source"), "received_at",
                                F.lit(batch_id).cast("long").alias("batch_id"),
                                F.current_timestamp().alias("scored_at")))
                lake.write_table(rows, self.cfg, "live_predictions", mode="insert_new")
            committed = time.time()
            p99, p50 = [max(0.0, committed - q) for q in stats.q] if n else [0.0, 0.0]
        finally:
            batch.unpersist()
        duration = committed - started
        self.result.batches += 1
        self.result.rows += n
        self.result.rejected += n_rejected
        self.result.models.add(stored.version)
        log.info("batch %d: %d rows in = %d scored + %d rejected + %d repeated ids; %.2f s (%.0f rows/s), "
                 "latency p50 %.2f s p99 %.2f s, model v%d", batch_id, n_in, n, n_rejected, repeats, duration,
                 n / duration if duration else 0.0, p50, p99, stored.version)
        metrics = self.spark.createDataFrame(
            [(self.source, batch_id, n_in, n, n_rejected, duration, n / duration if duration else 0.0, p50, p99,
              stored.version)],
            "stream string, batch_id long, rows_in long, rows long, rejected long, duration_s double, "
            "rows_per_s double, latency_p50_s double, latency_p99_s double, model_version int"
        ).withColumn("at", F.current_timestamp())
        # a replayed batch's metrics row is skipped by Delta (same query id and batch id)
        lake.write_table(metrics, self.cfg, "stream_metrics", mode="append", record=False,
                         txn=(f"crosslake-stream-metrics:{self.query_id()}", batch_id))

    def query_id(self) -> str:
        """The streaming query's id, kept in its checkpoint: the same across restarts, new
        with a new checkpoint (so batch ids starting again from 0 are not mistaken for replays)."""
        if self._query_id is None:
            self._query_id = json.loads(self.spark.read.text(f"{self.checkpoint}/metadata").first()[0])["id"]
        return self._query_id


def source_frame(spark: SparkSession, cfg: Config, source: str, path: str | None) -> tuple[str, DataFrame]:
    """(name of the source, its streaming DataFrame with review_id, text, received_at)."""
    per_trigger = str(cfg.stream.max_files_per_trigger)
    if source == "table":
        table_path = lake.require(spark, cfg, "incoming")
        df = (spark.readStream.format("delta").option("maxFilesPerTrigger", per_trigger).load(table_path))
        return "incoming", df.select("review_id", "text", "received_at", F.lit(None).cast("string").alias("_raw"))
    folder = path or cfg.stream.dropzone
    if not folder:
        raise CrosslakeError("--source files needs a drop-zone folder: pass --path or set stream.dropzone")
    df = (spark.readStream.schema(INPUT_SCHEMA).option("maxFilesPerTrigger", per_trigger)
          .option("mode", "PERMISSIVE").option("columnNameOfCorruptRecord", "_raw").json(folder))
    # a file's arrival is when it landed in the drop zone
    return f"files:{folder}", df.select("review_id", "text",
                                        F.col("_metadata.file_modification_time").alias("received_at"), "_raw")


def run(spark: SparkSession, cfg: Config, *, source: str = "table", path: str | None = None,
        trigger: str = "available-now", model_version: str | None = None, timeout: float | None = None) -> StreamResult:
    name, frame = source_frame(spark, cfg, source, path)
    result = StreamResult(name)
    # one checkpoint per source: a drop zone's names the folder (a hash of its path)
    tag = "incoming" if source == "table" else "dropzone-" + hashlib.sha1(name.encode()).hexdigest()[:12]
    checkpoint = f"{cfg.lake.root}/_checkpoints/streams/{tag}"
    scorer = Scorer(spark, cfg, name, model_version, result, checkpoint)
    scorer.model()  # fail before starting the stream if there is no model
    writer = frame.writeStream.foreachBatch(scorer).option("checkpointLocation", checkpoint) \
        .queryName(f"crosslake-stream-{source}")
    if trigger == "available-now":
        writer = writer.trigger(availableNow=True)
    else:
        try:
            seconds = float(trigger)
        except ValueError:
            raise CrosslakeError(f"--trigger takes available-now or a number of seconds, got '{trigger}'") from None
        writer = writer.trigger(processingTime=f"{seconds} seconds")
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
    ledger.record_count("scored", result.rows)
    ledger.record_count("rejected", result.rejected)
    if lake.exists(spark, cfg.table_path("live_predictions")):
        path_ = cfg.table_path("live_predictions")
        version = lake.current_version(spark, path_)
        result.table = lake.TableInfo("live_predictions", path_, version,
                                      spark.read.format("delta").load(path_).count())
    return result


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

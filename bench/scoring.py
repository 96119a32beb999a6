"""Scoring speed, side by side in one run:

    .venv/bin/python bench/scoring.py [--rows 100000] [--cnn-rows 20000] [--rate 20] [--seconds 60] [--profile local]

Batch (rows/s over the same rows, the same model, the same Spark session):
  (a) the path scoring uses (serving/udf.py: mapInArrow, whole Arrow batches, the model
      broadcast once and built once per Python worker);
  (b) pyspark's predict_batch_udf with the same model (built once per worker too): the
      path before, which converts every batch through pandas;
  (c) a row-at-a-time Python UDF with the same model, the way scoring is often first written;
  (d) plain in-process PyTorch over the same rows in batches, no Spark: the upper bound;
  (e) text in (Scorer.score, what `crosslake score` and the stream run): Spark cuts the
      words, one Python crossing turns them into ids and scores them.
Streaming: `crosslake stream --trigger 1` runs in its own process against a local lake
while this process appends reviews to the incoming table at a fixed rate (one commit a
second); the latency of a row is from its commit to incoming (received_at) to the
commit of its prediction (the live_predictions change feed's _commit_timestamp).
Batch runs twice over: with the CNN at the profile's size (compute-bound: the model's
cost dominates) and with a tiny CNN (8-d embeddings, 8 filters: what is left is the
cost of moving rows between the JVM and Python, which is where the UDF styles differ).
Weights are random: speed does not depend on what they have learnt. Each batch
measurement runs twice; the second counts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch
from pyspark.sql import functions as F
from pyspark.sql.types import FloatType

from common import WORDS, machine, random_production_model, save_result
from crosslake import lake
from crosslake.config import load_config
from crosslake.runner import setup_logging
from crosslake.session import build_session
from serving.udf import broadcast_model, with_predictions
from train.model import ModelSpec
from train.scoring import load_scorer
from train.store import load_model, predict_proba



def timed(df) -> float:
    started = time.perf_counter()
    df.write.format("noop").mode("overwrite").save()  # run every row through, keep nothing
    return time.perf_counter() - started


def row_udf(model_bc):
    state = {}

    def score(ids) -> float:
        if "net" not in state:
            from train.store import model_from_bytes

            torch.set_num_threads(1)
            weights, meta = model_bc.value[:2]
            state["net"] = model_from_bytes(weights, meta)
        return float(predict_proba(state["net"], torch.tensor([ids]))[0])

    return F.udf(score, FloatType())


def batch_udf(model_bc, max_len: int, batch_size: int):
    """The scoring path before serving/udf.py's mapInArrow: pyspark's predict_batch_udf."""
    from pyspark.ml.functions import predict_batch_udf

    def make_predict_fn():
        from train.store import model_from_bytes

        torch.set_num_threads(1)
        weights, meta = model_bc.value[:2]
        net = model_from_bytes(weights, meta)
        return lambda ids: predict_proba(net, torch.from_numpy(ids.astype(np.int64))).numpy()

    return predict_batch_udf(make_predict_fn, return_type=FloatType(), batch_size=batch_size,
                             input_tensor_shapes=[[max_len]])


def in_process(model, ids: np.ndarray, batch_size: int) -> float:
    started = time.perf_counter()
    for i in range(0, len(ids), batch_size):
        predict_proba(model, torch.from_numpy(ids[i:i + batch_size]))
    return time.perf_counter() - started


def batch_bench(spark, cfg, stored, rows: int, name: str, text_rows: int) -> dict[str, float]:
    """rows/s of each path over `rows` rows of token ids (and `text_rows` texts for the
    text-in path); a warm-up pass over a slice first, then one measured pass each."""
    max_len = stored.metadata["spec"]["max_len"]
    gold = (spark.range(rows).select(
        F.transform(F.sequence(F.lit(1), F.lit(max_len)),
                    lambda i: (F.abs(F.xxhash64(F.col("id"), i)) % 20000 + 2).cast("int")).alias("token_ids"))
            .cache())
    gold.count()
    ids = np.stack([np.array(r.token_ids, dtype=np.int64) for r in gold.collect()])
    rng = np.random.default_rng(0)
    texts = spark.createDataFrame([(f"r{i}", " ".join(rng.choice(WORDS, 200))) for i in range(text_rows)],
                                  "review_id string, text string").repartition(spark.sparkContext.defaultParallelism)
    texts = texts.cache()
    texts.count()
    bc = broadcast_model(spark, cfg.model_store, stored)
    predict_udf = batch_udf(bc, max_len, cfg.score.batch_size)
    scorer = load_scorer(cfg.model_store, name, stored.version)
    paths = {
        "mapInArrow (serving/udf.py)": lambda df: df.transform(with_predictions, model=bc, max_len=max_len,
                                                               batch_size=cfg.score.batch_size),
        "batch UDF (predict_batch_udf)": lambda df: df.withColumn("probability", predict_udf(F.col("token_ids"))),
        "row-at-a-time Python UDF": lambda df: df.withColumn("probability", row_udf(bc)(F.col("token_ids"))),
    }
    out = {}
    for label, path in paths.items():
        timed(path(gold.limit(2000)))  # warm: workers started, the model built
        out[label] = rows / timed(path(gold))
    in_process(stored.model, ids[:2000], cfg.score.batch_size)
    out["in-process PyTorch (no Spark)"] = rows / in_process(stored.model, ids, cfg.score.batch_size)
    timed(scorer.score(spark, texts.limit(2000), batch_size=cfg.score.batch_size))
    out["text in, fused (Scorer.score)"] = text_rows / timed(scorer.score(spark, texts, batch_size=cfg.score.batch_size))
    gold.unpersist()
    texts.unpersist()
    return out


def stream_bench(spark, cfg, lake_root: str, rate: int, seconds: int, profile: str,
                 backlog: int = 10_000) -> dict[str, float]:
    """Append `rate` rows a second for `seconds` while the stream runs in its own process
    (latency); then `backlog` rows in one commit (the rate one micro-batch sustains)."""
    rng = np.random.default_rng(0)

    def rows(start: int, n: int):
        return [(f"r{start + i}", " ".join(rng.choice(WORDS, 30))) for i in range(n)]

    def append(batch):
        df = (spark.createDataFrame(batch, "review_id string, text string")
              .withColumn("received_at", F.current_timestamp()).coalesce(1))
        lake.write_table(df, cfg, "incoming", mode="append")

    append(rows(0, rate))  # the table must exist before the stream starts
    cmd = [str(Path(sys.executable).with_name("crosslake")), "stream", "--trigger", "1", "--timeout",
           str(seconds + 400), "--profile", profile, "--lake-root", lake_root]  # stopped below once all is scored
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log_lines: list[str] = []
    threading.Thread(target=lambda: log_lines.extend(proc.stderr), daemon=True).start()
    while not any("batch" in line and "rows in" in line for line in log_lines):  # warm: first batch done
        if proc.poll() is not None:
            raise RuntimeError("the stream exited early:\n" + "".join(log_lines[-30:]))
        time.sleep(0.5)
    sent, started = rate, time.monotonic()
    while time.monotonic() - started < seconds:
        tick = time.monotonic()
        append(rows(sent, rate))
        sent += rate
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    deadline = time.monotonic() + 60
    path = cfg.table_path("live_predictions")
    while time.monotonic() < deadline and spark.read.format("delta").load(path).count() < sent:
        time.sleep(1)
    achieved = (sent - rate) / seconds
    # the sustainable rate: a backlog arrives in one commit and is scored as one micro-batch;
    # the stream's own metrics row for it says how many rows a second a batch can take
    backlog_from = sent
    append(rows(sent, backlog))
    sent += backlog
    deadline = time.monotonic() + 600
    while spark.read.format("delta").load(path).count() < sent:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the stream stopped before scoring the backlog:\n" + "".join(log_lines[-30:]))
        time.sleep(2)
    proc.terminate()
    proc.wait(60)
    changes = (spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 0).load(path)
               .filter(F.col("_change_type") == "insert")
               .filter(~F.col("review_id").isin([f"r{i}" for i in range(rate)]))  # not the warm-up rows
               .filter(F.regexp_extract("review_id", r"(\d+)", 1).cast("long") < backlog_from))  # nor the backlog
    lat = changes.select((F.col("_commit_timestamp").cast("double") - F.col("received_at").cast("double"))
                         .alias("s")).toPandas()["s"].to_numpy()
    live = spark.read.format("delta").load(path)
    scored, distinct = live.count(), live.select("review_id").distinct().count()
    batches = spark.read.format("delta").load(cfg.table_path("stream_metrics")).toPandas()
    biggest = batches.loc[batches["rows"].idxmax()]
    return {"batch s p50": float(batches["duration_s"].median()), "batches": len(batches),
            "backlog rows": int(biggest["rows"]), "backlog batch s": float(biggest["duration_s"]),
            "sustainable rows/s": float(biggest["rows"] / biggest["duration_s"]),
            "rows per batch": float(batches["rows"].drop(batches["rows"].idxmax()).mean()),
            "rows sent": sent, "rows scored": scored,
            "duplicates": scored - distinct, "latency p50 s": float(np.percentile(lat, 50)),
            "latency p99 s": float(np.percentile(lat, 99)), "rows measured": len(lat),
            "achieved rate": achieved}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000, help="rows of token ids scored by each path")
    ap.add_argument("--cnn-rows", type=int, default=20_000, help="the same for the profile's CNN (compute-bound)")
    ap.add_argument("--rate", type=int, default=20, help="streaming: rows appended per second (one commit)")
    ap.add_argument("--seconds", type=int, default=60, help="streaming: how long to send")
    ap.add_argument("--profile", default="local")
    args = ap.parse_args()
    setup_logging()
    with tempfile.TemporaryDirectory(prefix="crosslake-bench-scoring-") as tmp:
        root = os.path.join(tmp, "lake")
        cfg = load_config(args.profile, lake_root=root)
        spark = build_session("bench-scoring", cfg)
        try:
            t = cfg.train
            spec = ModelSpec.from_config(t, vocab_size=cfg.features.vocab_size + 2, max_len=cfg.features.max_len)
            tiny = ModelSpec(spec.vocab_size, spec.max_len, 8, 8, (3,), 0.0)
            tiny_version = random_production_model(cfg, "tiny", tiny)
            version = random_production_model(cfg)
            stored = load_model(cfg.model_store, cfg.models.name, version)
            torch.set_num_threads(os.cpu_count() or 1)
            batch = batch_bench(spark, cfg, stored, args.cnn_rows, cfg.models.name, args.cnn_rows)
            light = batch_bench(spark, cfg, load_model(cfg.model_store, "tiny", tiny_version), args.rows, "tiny",
                                args.rows)
            stream = stream_bench(spark, cfg, root, args.rate, args.seconds, args.profile)
        finally:
            spark.stop()
    print(f"\nmachine: {machine()}\nprofile: {args.profile} (master {cfg.spark.master}); {args.rows:,} rows "
          f"({args.cnn_rows:,} for the CNN) of {spec.max_len} token ids; batch {cfg.score.batch_size}\n")
    print("| model | path | rows/s | vs in-process PyTorch | vs row-at-a-time UDF |")
    print("|---|---|---:|---:|---:|")
    for label, figures in ((f"CNN {spec.embed_dim}-d, {spec.num_filters}x{list(spec.kernel_sizes)}", batch),
                           ("tiny CNN 8-d, 8x[3]", light)):
        top, row = figures["in-process PyTorch (no Spark)"], figures["row-at-a-time Python UDF"]
        for name, r in figures.items():
            print(f"| {label} | {name} | {r:,.0f} | {r / top:.2f} | {r / row:.1f} |")
    save_result("scoring", {"rows": args.rows, "cnn_rows": args.cnn_rows, "batch_size": cfg.score.batch_size,
                            "batch": {"cnn": batch, "tiny": light}, "stream": stream,
                            "spec": {"embed_dim": spec.embed_dim, "num_filters": spec.num_filters,
                                     "kernel_sizes": list(spec.kernel_sizes)}},
                profile=args.profile, rate=args.rate, seconds=args.seconds)
    print(f"\nstreaming: {stream['rows sent']:,} rows sent at {args.rate} rows/s (one commit a second; achieved "
          f"{stream['achieved rate']:.1f}/s) for {args.seconds} s, trigger every 1 s; "
          f"{stream['rows scored']:,} scored, {stream['duplicates']} duplicates")
    print(f"latency (committed to incoming -> prediction committed) over {stream['rows measured']:,} rows: "
          f"p50 {stream['latency p50 s']:.2f} s, p99 {stream['latency p99 s']:.2f} s; "
          f"{stream['batches']} micro-batches, median {stream['batch s p50']:.2f} s, "
          f"{stream['rows per batch']:.0f} rows each on average")
    print(f"sustainable rate: a backlog of {stream['backlog rows']:,} rows scored in one micro-batch of "
          f"{stream['backlog batch s']:.1f} s: {stream['sustainable rows/s']:,.0f} rows/s")


if __name__ == "__main__":
    main()

"""Soak: the streaming scorer for a long, bounded time at a fixed input rate.

    .venv/bin/python bench/soak_stream.py                     # 20 minutes, 20 rows/s
    .venv/bin/python bench/soak_stream.py --minutes 3         # a quick look
    .venv/bin/python bench/report.py --soak                   # the same, as part of the report

Not part of `make test`: it takes as long as it is told to. `crosslake stream --source files
--trigger T` runs in its own process (its own Spark application) on a local lake. This
process drops one JSON-lines file a second into the drop zone, `--rate` reviews each, and
every `--bad-every`-th file carries one line that is not JSON (it must end in
stream_rejects, not vanish). Every `--sample` seconds it records the stream's memory: the
resident size of the driver's Python process and of its JVM, and the JVM heap in use
(jstat). At the end it waits for the stream to catch up, stops it with SIGTERM, and checks:

  * every id sent is in live_predictions exactly once, and every bad line is in
    stream_rejects exactly once (nothing lost, nothing doubled);
  * memory is bounded: the JVM heap in use and the driver's Python resident size over the
    last quarter of the run are within --max-growth of the second quarter's (the first
    quarter is warm-up). The JVM's resident size is reported but not judged: G1 keeps the
    heap it has grown into, so it shows what was reserved, not what is live.

It prints the figures, writes bench/results/soak.json for the report and
bench/charts/soak.png (latency and memory over time), and exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CHARTS, WORDS, machine, random_production_model, save_result  # noqa: E402
from crosslake.config import load_config  # noqa: E402


def drop_files(dropzone: Path, rate: int, bad_every: int, stop: threading.Event, sent: dict) -> None:
    """One file a second, written aside and renamed in (the stream never sees half a file)."""
    rng = np.random.default_rng(0)
    n, next_at = 0, time.monotonic()
    while not stop.is_set():
        lines = [json.dumps({"review_id": f"s{n:06d}-{i:03d}", "text": " ".join(rng.choice(WORDS, 40))})
                 for i in range(rate)]
        if bad_every and n % bad_every == bad_every - 1:
            lines.append(f"not json, file {n}")
            sent["bad"] += 1
        # written beside the drop zone, not in it: the stream reports hidden files it finds there
        tmp = dropzone.parent / f".batch-{n:06d}.jsonl.tmp"
        tmp.write_text("\n".join(lines) + "\n")
        os.rename(tmp, dropzone / f"batch-{n:06d}.jsonl")
        sent["rows"] += rate
        sent["files"] += 1
        n += 1
        next_at += 1.0
        stop.wait(max(0.0, next_at - time.monotonic()))


def heap_used_mb(java_pid: int) -> float | None:
    """The JVM heap in use (survivors + eden + old), from jstat; None if it cannot attach."""
    try:
        out = subprocess.run(["jstat", "-gc", str(java_pid)], capture_output=True, text=True, timeout=10).stdout
        names, values = (line.split() for line in out.strip().splitlines()[-2:])
        row = dict(zip(names, map(float, values)))
        return sum(row[k] for k in ("S0U", "S1U", "EU", "OU")) / 1024
    except (OSError, ValueError, KeyError, subprocess.SubprocessError):
        return None


def sample_memory(proc: subprocess.Popen, started: float) -> dict | None:
    try:
        driver = psutil.Process(proc.pid)
        java = next((c for c in driver.children(recursive=True) if "java" in c.name()), None)
        return {"t": time.monotonic() - started, "python_mb": driver.memory_info().rss / 2**20,
                "jvm_mb": java.memory_info().rss / 2**20 if java else None,
                "heap_mb": heap_used_mb(java.pid) if java else None}
    except psutil.Error:
        return None


def quarter_growth(samples: list[dict], key: str) -> float:
    """Median of the last quarter over the median of the second quarter."""
    values = [s[key] for s in samples if s.get(key) is not None]
    q = len(values) // 4
    if q < 2:
        return float("nan")
    return float(np.median(values[-q:]) / np.median(values[q:2 * q]))


def verify(lake_root: str, profile: str, sent: dict) -> dict:
    from pyspark.sql import functions as F

    from crosslake.session import build_session

    cfg = load_config(profile, lake_root=lake_root)
    spark = build_session("soak-check", cfg)
    try:
        live = spark.read.format("delta").load(cfg.table_path("live_predictions"))
        rejects = spark.read.format("delta").load(cfg.table_path("stream_rejects"))
        ids = live.agg(F.count("*").alias("n"), F.countDistinct("review_id").alias("d"),
                       F.sum(F.col("review_id").rlike(r"^s\d{6}-\d{3}$").cast("int")).alias("ours")).first()
        lat = (spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 0)
               .load(cfg.table_path("live_predictions")).filter(F.col("_change_type") == "insert")
               .select((F.col("_commit_timestamp").cast("double") - F.col("received_at").cast("double")).alias("s"),
                        F.col("_commit_timestamp").cast("double").alias("at"))
               .toPandas())
        metrics = spark.read.format("delta").load(cfg.table_path("stream_metrics")).orderBy("batch_id").toPandas()
        return {"rows_scored": int(ids["n"]), "distinct_scored": int(ids["d"]), "ours": int(ids["ours"] or 0),
                "rejects": rejects.count(), "latency": lat, "metrics": metrics}
    finally:
        spark.stop()


def chart(samples: list[dict], latency, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    start = latency["at"].min()
    minutes = (latency["at"] - start) / 60
    top.scatter(minutes, latency["s"], s=2, alpha=0.3, label="latency of a row (s)")
    top.set_ylabel("file dropped -> prediction committed (s)")
    top.set_title("crosslake stream soak: latency and driver memory over time")
    t = [s["t"] / 60 for s in samples]
    for key, label in (("jvm_mb", "JVM resident (MB)"), ("heap_mb", "JVM heap in use (MB)"),
                       ("python_mb", "driver Python resident (MB)")):
        bottom.plot(t, [s.get(key) or np.nan for s in samples], label=label)
    bottom.set_xlabel("minutes")
    bottom.set_ylabel("MB")
    bottom.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--rate", type=int, default=20, help="reviews per second (one file a second)")
    ap.add_argument("--trigger", type=float, default=2.0, help="seconds between micro-batches")
    ap.add_argument("--bad-every", type=int, default=50, help="one non-JSON line in every Nth file (0: none)")
    ap.add_argument("--sample", type=float, default=10.0, help="seconds between memory samples")
    ap.add_argument("--max-growth", type=float, default=1.25,
                    help="fail if late-run memory exceeds this multiple of early-run memory")
    ap.add_argument("--profile", default="local")
    args = ap.parse_args(argv)
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="crosslake-soak-") as tmp:
        lake_root, dropzone = os.path.join(tmp, "lake"), Path(tmp) / "dropzone"
        dropzone.mkdir()
        cfg = load_config(args.profile, lake_root=lake_root)
        random_production_model(cfg)
        cmd = [str(Path(sys.executable).with_name("crosslake")), "stream", "--source", "files", "--path",
               str(dropzone), "--trigger", str(args.trigger), "--timeout", str(seconds + 600),
               "--profile", args.profile, "--lake-root", lake_root]
        log_path = Path(tmp) / "stream.log"
        with open(log_path, "w") as log_file:
            proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        sent = {"rows": 0, "bad": 0, "files": 0}
        stop = threading.Event()
        writer = threading.Thread(target=drop_files, args=(dropzone, args.rate, args.bad_every, stop, sent))
        started = time.monotonic()
        writer.start()
        samples: list[dict] = []
        try:
            while time.monotonic() - started < seconds:
                if proc.poll() is not None:
                    raise SystemExit(f"the stream exited early ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
                if (s := sample_memory(proc, started)) is not None:
                    samples.append(s)
                    print(f"{s['t'] / 60:5.1f} min  sent {sent['rows']:,}  python {s['python_mb']:.0f} MB  "
                          f"jvm {s['jvm_mb'] or 0:.0f} MB  heap {s['heap_mb'] or 0:.0f} MB", flush=True)
                time.sleep(args.sample)
        finally:
            stop.set()
            writer.join()
        # let it catch up: every file's rows scored or rejected (the log's per-batch lines)
        expected = sent["rows"] + sent["bad"]
        caught_up = time.monotonic()
        while time.monotonic() - caught_up < 300 and proc.poll() is None:
            done = sum(int(line.split(" rows in")[0].rsplit(" ", 1)[-1])
                       for line in log_path.read_text().splitlines() if " rows in" in line)
            if done >= expected:
                break
            time.sleep(2)
        catch_up_s = time.monotonic() - caught_up
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(120)
        found = verify(lake_root, args.profile, sent)
    lat, metrics = found["latency"], found["metrics"]
    ok_rows = (found["ours"] == found["rows_scored"] == found["distinct_scored"] == sent["rows"]
               and found["rejects"] == sent["bad"])
    growth = {k: quarter_growth(samples, k) for k in ("jvm_mb", "python_mb", "heap_mb")}
    # the heap in use and Python's resident size must level off; the JVM's resident size is
    # reported, not judged: G1 keeps heap it has grown into, so it says what was reserved
    ok_memory = all(not (growth[k] > args.max_growth) for k in ("heap_mb", "python_mb"))
    quarter = len(lat) // 4
    by_time = lat.sort_values("at")["s"].to_numpy()
    figures = {
        "minutes": args.minutes, "rate": args.rate, "trigger_s": args.trigger, "rows_sent": sent["rows"],
        "bad_lines_sent": sent["bad"], "rows_scored": found["rows_scored"], "distinct_scored": found["distinct_scored"],
        "rejects": found["rejects"], "lost": sent["rows"] - found["distinct_scored"],
        "doubled": found["rows_scored"] - found["distinct_scored"],
        "throughput_rows_s": found["rows_scored"] / seconds, "batches": len(metrics),
        "batch_s_p50": float(metrics["duration_s"].median()),
        "latency_p50_s": float(np.percentile(lat["s"], 50)), "latency_p95_s": float(np.percentile(lat["s"], 95)),
        "latency_p99_s": float(np.percentile(lat["s"], 99)), "latency_max_s": float(lat["s"].max()),
        "latency_p50_first_quarter_s": float(np.median(by_time[:quarter])),
        "latency_p50_last_quarter_s": float(np.median(by_time[-quarter:])),
        **{f"latency_p{q}_after_first_quarter_s": float(np.percentile(by_time[quarter:], q)) for q in (50, 95, 99)},
        "catch_up_s": catch_up_s,
        **{f"{k}_{stat}": float(f([s[k] for s in samples if s.get(k) is not None]))
           for k in ("jvm_mb", "python_mb", "heap_mb") for stat, f in (("min", min), ("max", max))},
        **{f"growth_{k}": g for k, g in growth.items()},
        "memory_samples": [{k: (round(v, 1) if v is not None else None) for k, v in s.items()} for s in samples],
        "rows_ok": ok_rows, "memory_ok": ok_memory,
    }
    chart(samples, lat, CHARTS / "soak.png")
    save_result("soak", figures, command=" ".join(["bench/soak_stream.py", *(argv or sys.argv[1:])]),
                profile=args.profile)
    print(f"\nmachine: {machine()}")
    print(f"{args.minutes:g} min at {args.rate} rows/s, trigger {args.trigger:g} s: sent {sent['rows']:,} rows "
          f"+ {sent['bad']} bad lines; scored {found['rows_scored']:,} ({found['distinct_scored']:,} distinct), "
          f"rejected {found['rejects']}")
    print(f"latency p50 {figures['latency_p50_s']:.2f} s, p95 {figures['latency_p95_s']:.2f} s, p99 "
          f"{figures['latency_p99_s']:.2f} s (first quarter p50 {figures['latency_p50_first_quarter_s']:.2f} s, "
          f"last {figures['latency_p50_last_quarter_s']:.2f} s); {len(metrics)} batches, median "
          f"{figures['batch_s_p50']:.2f} s")
    print("memory growth, last quarter / second quarter: " + ", ".join(f"{k} {g:.2f}" for k, g in growth.items()))
    if not ok_rows:
        print("FAIL: rows lost or doubled", file=sys.stderr)
    if not ok_memory:
        print(f"FAIL: memory grew more than {args.max_growth}x", file=sys.stderr)
    return 0 if ok_rows and ok_memory else 1


if __name__ == "__main__":
    sys.exit(main())

"""A real standalone cluster against local mode, and what the jars cost each application.

    .venv/bin/python bench/cluster.py [--rows 200000] [--repeat 2]

A standalone master and two workers on this machine (tests/standalone.py: separate JVMs,
each worker with its own work and local folders, started from a clean environment). The
same small application runs, each time in a new driver process:
  (a) local[2]: one JVM, the jars on its classpath;
  (b) on the cluster, the jars sent with the application (spark.jars, what --jars does);
  (c) on the cluster, the jars installed on the nodes (spark.node_jars: the executors'
      classpath names the nodes' folder).
The work: --rows rows through a Python UDF into a Delta table, read back and counted.
Reported: wall time per run (driver start to stop) and the disk each application leaves
in a worker's work folder (what a cron job every few minutes accumulates).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import machine, save_result  # noqa: E402
from tests import standalone  # noqa: E402

APP = r'''
import sys, time
sys.path.insert(0, {root!r})
from pyspark.sql import SparkSession, functions as F
from pyspark.sql.types import LongType
from crosslake.session import jar_settings, local_jars
master, mode, out, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
builder = (SparkSession.builder.master(master).appName("bench-cluster-" + mode)
           .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
           .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
           .config("spark.executor.memory", "1g").config("spark.sql.shuffle.partitions", "4"))
jars = local_jars()
node = str(__import__("pathlib").Path(jars[0]).parent) if mode == "node_jars" else None
for k, v in jar_settings(master, jars, node).items():
    builder = builder.config(k, v)
spark = builder.getOrCreate()
plus = F.udf(lambda x: x + 1, LongType())
spark.range(rows, numPartitions=4).withColumn("y", plus("id")).write.format("delta").save(out)
assert spark.read.format("delta").load(out).count() == rows
spark.stop()
'''


def run_app(master: str, mode: str, out: Path, rows: int) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", APP.format(root=str(ROOT)), master, mode, str(out), str(rows)],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    times: dict[str, list[float]] = {"local": [], "cluster_jars": [], "cluster_node_jars": []}
    disk: dict[str, list[float]] = {"cluster_jars": [], "cluster_node_jars": []}
    with tempfile.TemporaryDirectory(prefix="crosslake-bench-cluster-") as tmp:
        root = Path(tmp)
        cluster_started = time.perf_counter()
        with standalone.running(root / "cluster", workers=2, cores=1, memory="1500m") as cluster:
            cluster_s = time.perf_counter() - cluster_started
            n = 0
            for _ in range(args.repeat):
                for key, master, mode in (("local", "local[2]", "local"), ("cluster_jars", cluster.url, "jars"),
                                          ("cluster_node_jars", cluster.url, "node_jars")):
                    before = set(cluster.work_dirs())
                    n += 1
                    times[key].append(run_app(master, mode, root / f"t{n}", args.rows))
                    if key in disk:
                        new = [p for p in cluster.work_dirs() if p not in before]
                        disk[key].append(statistics.mean(folder_mb(p) for p in new))
    med = {k: statistics.median(v) for k, v in times.items()}
    per_app = {k: statistics.median(v) for k, v in disk.items()}
    print(f"\nmachine: {machine()}\nstandalone master + 2 workers (1 core, 1.5 GiB each), up in {cluster_s:.1f} s; "
          f"{args.rows:,} rows through a Python UDF into Delta, read back; median of {args.repeat}\n")
    print("| run | wall (s) | vs local | disk per application per worker (MB) |")
    print("|---|---:|---:|---:|")
    for key in times:
        print(f"| {key} | {med[key]:.1f} | {med[key] / med['local']:.2f} | "
              f"{per_app[key]:.1f} |" if key in per_app else f"| {key} | {med[key]:.1f} | 1.00 | - |")
    save_result("cluster", {"rows": args.rows, "repeat": args.repeat, "cluster_start_s": cluster_s,
                            "wall_s": med, "disk_mb_per_app_per_worker": per_app, "runs": times})
    print(json.dumps({"wall_s": med, "disk_mb": per_app}))


if __name__ == "__main__":
    main()

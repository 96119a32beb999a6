"""The clean + gate + publish path at 1x, 4x and 16x a base size, against a plain copy.

    .venv/bin/python bench/etl_scale.py [--base 1000] [--profile local]
    .venv/bin/python bench/etl_scale.py --dataset loans --base 10000    the tabular path

For each size a corpus is generated and ingested (not timed). Then, in the same run,
the same bronze rows are (a) copied Parquet -> Delta with nothing else, the I/O floor,
and (b) put through `crosslake clean`: parse, clean, check every row, de-duplicate,
validate the batch with Great Expectations, MERGE into silver and quarantine and record
the results. The ratio (b)/(a) says how far above the I/O floor the data-quality path
runs; the growth columns say how each grows with size. A warm-up pass runs first.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from crosslake.config import load_config
from crosslake.runner import setup_logging
from crosslake.session import build_session
from jobs import clean, generate, ingest
from common import machine, save_result, spark_jobs


def measure(spark, profile: str, root: Path, reviews: int, dataset: str | None = None) -> tuple[int, float, float, int]:
    if dataset:
        return measure_dataset(spark, profile, root, reviews, dataset)
    half = reviews // 2
    cfg = load_config(profile, lake_root=str(root / "lake"), overrides=[
        f"source.path={root / 'aclImdb'}", f"generate.train={half}", f"generate.test={half}", "generate.unsup=0"])
    generate.run(None, cfg)
    ingest.run(spark, cfg)
    bronze = spark.read.format("delta").load(cfg.table_path("bronze"))
    bronze.write.parquet(str(root / "bronze.parquet"))  # the copy's source: same rows, plain files
    started = time.perf_counter()
    spark.read.parquet(str(root / "bronze.parquet")).write.format("delta").save(str(root / "copy"))
    copy_s = time.perf_counter() - started
    jobs, started = spark_jobs(spark), time.perf_counter()
    result = clean.run(spark, cfg)
    return result.rows_in, copy_s, time.perf_counter() - started, spark_jobs(spark) - jobs


def measure_dataset(spark, profile: str, root: Path, rows: int, dataset: str) -> tuple[int, float, float, int]:
    """The same for a declared dataset: CSV files -> <name>_bronze (not timed), then copy vs clean."""
    cfg = load_config(profile, lake_root=str(root / "lake"), overrides=[
        f"datasets.{dataset}.source.path={root / 'drop'}", f"datasets.{dataset}.source.format=csv"])
    generate.run(None, cfg, dataset=dataset, rows=rows, to="csv")
    ingest.run(spark, cfg, dataset=dataset)
    spark.read.format("delta").load(cfg.table_path(f"{dataset}_bronze")).write.parquet(str(root / "bronze.parquet"))
    started = time.perf_counter()
    spark.read.parquet(str(root / "bronze.parquet")).write.format("delta").save(str(root / "copy"))
    copy_s = time.perf_counter() - started
    jobs, started = spark_jobs(spark), time.perf_counter()
    result = clean.run(spark, cfg, dataset=dataset)
    return result.rows_in, copy_s, time.perf_counter() - started, spark_jobs(spark) - jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=int, default=1000, help="labelled reviews at 1x (max 3,125: 16x <= 50k)")
    ap.add_argument("--profile", default="local")
    ap.add_argument("--dataset", help="a tabular dataset with a generator (loans): --base is rows at 1x")
    args = ap.parse_args()
    setup_logging()
    spark = build_session("bench-etl", load_config(args.profile))
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            measure(spark, args.profile, Path(tmp) / "warmup", args.base, args.dataset)
            for factor in (1, 4, 16):
                rows.append((factor, *measure(spark, args.profile, Path(tmp) / f"x{factor}", args.base * factor,
                                              args.dataset)))
    finally:
        spark.stop()
    print(f"\nmachine: {machine()}\nprofile: {args.profile}\nworkload: {args.dataset or 'reviews'}\n")
    print("| size | rows | copy Parquet->Delta (s) | clean + gate + publish (s) | rows/s (clean) "
          "| ratio clean/copy | growth vs 1x (copy, clean) | Spark jobs (clean) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    _, _, copy1, clean1, _ = rows[0]
    for factor, n, copy_s, clean_s, jobs in rows:
        print(f"| {factor}x | {n:,} | {copy_s:.2f} | {clean_s:.2f} | {n / clean_s:,.0f} | {clean_s / copy_s:.1f} "
              f"| {copy_s / copy1:.2f}, {clean_s / clean1:.2f} | {jobs} |")
    save_result(f"etl_scale_{args.dataset or 'reviews'}", {
        "base": args.base, "sizes": [{"factor": f, "rows": n, "copy_s": c, "clean_s": s, "spark_jobs": j} for f, n, c, s, j in rows],
    }, profile=args.profile, workload=args.dataset or "reviews")


if __name__ == "__main__":
    main()

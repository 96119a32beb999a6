"""The clean + gate + publish path at 1x, 4x and 16x a base size, against a plain copy.

    .venv/bin/python bench/etl_scale.py [--base 1000] [--profile local]
    .venv/bin/python bench/etl_scale.py --dataset loans --base 10000    the tabular path
    .venv/bin/python bench/etl_scale.py --dataset loans --base 62500 --factors 1 4 8 16   up to 1M rows

For each size a corpus is generated and ingested (not timed). Then, in the same run,
the same bronze rows are (a) copied Parquet -> Delta with nothing else, the I/O floor,
(b) parsed and de-duplicated by key by the workload's own transforms and written, with no
check at all, the transform floor, and (c) put through `crosslake clean`: parse, clean,
check every row, de-duplicate, run the batch checks, MERGE into silver and quarantine and
record the results. The ratios (c)/(a) and (c)/(b) say how far above the I/O floor and
above the bare transforms the data-quality path runs; the growth columns say how each grows with size; a least-squares line through the
sizes splits each into a fixed cost (s) and a cost per row (us). A warm-up pass runs first.
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
from workloads import pick
from common import machine, save_result, spark_jobs, spark_queries


def measure(spark, profile: str, root: Path, size: int, dataset: str | None = None) -> dict:
    """One size: generate and ingest (not timed), then the copy, the transform floor and clean."""
    if dataset:  # a declared dataset: CSV files -> <name>_bronze
        cfg = load_config(profile, lake_root=str(root / "lake"), overrides=[
            f"datasets.{dataset}.source.path={root / 'drop'}", f"datasets.{dataset}.source.format=csv"])
        generate.run(None, cfg, dataset=dataset, rows=size, to="csv")
    else:
        half = size // 2
        cfg = load_config(profile, lake_root=str(root / "lake"), overrides=[
            f"source.path={root / 'aclImdb'}", f"generate.train={half}", f"generate.test={half}", "generate.unsup=0"])
        generate.run(None, cfg)
    ingest.run(spark, cfg, dataset=dataset)
    workload = pick(cfg, dataset)
    bronze = spark.read.format("delta").load(cfg.table_path(workload.table("bronze")))
    bronze.write.parquet(str(root / "bronze.parquet"))  # the copy's source: same rows, plain files
    started = time.perf_counter()
    spark.read.parquet(str(root / "bronze.parquet")).write.format("delta").save(str(root / "copy"))
    copy_s = time.perf_counter() - started
    # the transform floor: the same parse and de-duplication by key, written, with no check at all
    started = time.perf_counter()
    keys = cfg.table(workload.table("silver")).keys
    (workload.parse(spark.read.format("delta").load(cfg.table_path(workload.table("bronze"))))
     .dropDuplicates(keys).write.format("delta").save(str(root / "floor")))
    floor_s = time.perf_counter() - started
    jobs, queries, started = spark_jobs(spark), spark_queries(spark), time.perf_counter()
    result = clean.run(spark, cfg, dataset=dataset)
    return {"rows": result.rows_in, "copy_s": copy_s, "floor_s": floor_s, "clean_s": time.perf_counter() - started,
            "spark_jobs": spark_jobs(spark) - jobs, "spark_queries": spark_queries(spark) - queries}


def fit(rows: list[int], seconds: list[float]) -> tuple[float, float]:
    """(fixed seconds, seconds per row): the least-squares line through (rows, seconds)."""
    n, mx, my = len(rows), sum(rows) / len(rows), sum(seconds) / len(seconds)
    slope = (sum((x - mx) * (y - my) for x, y in zip(rows, seconds))
             / (sum((x - mx) ** 2 for x in rows) or 1.0))
    return my - slope * mx, slope


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", type=int, default=1000, help="labelled reviews at 1x (max 3,125: 16x <= 50k)")
    ap.add_argument("--profile", default="local")
    ap.add_argument("--dataset", help="a tabular dataset with a generator (loans): --base is rows at 1x")
    ap.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16], help="sizes, as multiples of --base")
    args = ap.parse_args()
    setup_logging()
    spark = build_session("bench-etl", load_config(args.profile))
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            measure(spark, args.profile, Path(tmp) / "warmup", min(args.base, 10_000), args.dataset)
            for factor in args.factors:
                rows.append({"factor": factor, **measure(spark, args.profile, Path(tmp) / f"x{factor}",
                                                         args.base * factor, args.dataset)})
    finally:
        spark.stop()
    print(f"\nmachine: {machine()}\nprofile: {args.profile}\nworkload: {args.dataset or 'reviews'}\n")
    print("| size | rows | copy Parquet->Delta (s) | transform floor (s) | clean + gate + publish (s) | rows/s (clean) "
          "| clean/copy | clean/floor | Spark jobs (queries) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['factor']}x | {r['rows']:,} | {r['copy_s']:.2f} | {r['floor_s']:.2f} | {r['clean_s']:.2f} "
              f"| {r['rows'] / r['clean_s']:,.0f} | {r['clean_s'] / r['copy_s']:.1f} | {r['clean_s'] / r['floor_s']:.1f} "
              f"| {r['spark_jobs']} ({r['spark_queries']}) |")
    fits = {what: fit([r["rows"] for r in rows], [r[f"{what}_s"] for r in rows]) for what in ("copy", "floor", "clean")}
    for what, (fixed, per_row) in fits.items():
        print(f"{what}: {fixed:.2f} s fixed + {per_row * 1e6:.1f} us per row")
    save_result(f"etl_scale_{args.dataset or 'reviews'}", {
        "base": args.base, "fit": {k: {"fixed_s": a, "per_row_us": b * 1e6} for k, (a, b) in fits.items()},
        "sizes": rows,
    }, profile=args.profile, workload=args.dataset or "reviews")


if __name__ == "__main__":
    main()

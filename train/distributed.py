"""Data-parallel training: one model replica per process (PyTorch DDP: gloo on CPU, nccl
on GPUs), launched by Spark's TorchDistributor, each process reading its own shard.

Sharding follows torch's DistributedSampler: rows are numbered in key order and dealt
round-robin. The train split is padded by wrapping around (at most processes - 1 rows
read twice per epoch) so every process runs the same number of steps, which DDP's
gradient all-reduce requires; validation and test are not padded, and their metrics are
summed over the processes. DDP starts every replica from rank 0's weights and averages
the gradients, so P processes with batch b train like one process with batch P*b.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from typing import Any, Callable

import torch
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from train.config import TrainConfig
from train.feeder import Feeder
from train.loop import Metrics, evaluate, fit
from train.model import build_model

log = logging.getLogger(__name__)


def shard(df: DataFrame, *, order_by: list[str], world: int, pad: bool) -> list[DataFrame]:
    """`world` DataFrames: rows numbered by `order_by` and dealt round-robin; with `pad`,
    the first rows are dealt again so that every shard has the same number of rows."""
    numbered = df.withColumn("_idx", F.row_number().over(Window.orderBy(*order_by)) - 1)
    if pad:
        n = df.count()
        extra = -n % world
        numbered = numbered.unionByName(numbered.filter(F.col("_idx") < extra).withColumn("_idx", F.col("_idx") + n))
    return [numbered.filter(F.col("_idx") % world == r).drop("_idx") for r in range(world)]


def summed(m: Metrics) -> Metrics:
    """A process's metrics combined with every other process's (weighted by rows)."""
    import torch.distributed as dist

    t = torch.tensor([m.loss * m.rows, m.accuracy * m.rows, float(m.rows)], dtype=torch.float64)
    dist.all_reduce(t)
    rows = int(t[2].item())
    return Metrics(t[0].item() / max(rows, 1), t[1].item() / max(rows, 1), rows)


def worker(make_feeder: Callable[[int, int], Feeder], spec: dict, train_cfg: dict, result_path: str) -> None:
    """What each process runs. Rank 0 saves the trained weights, the history, the test
    metrics and the rows every process saw per split to `result_path`.

    The result goes to a file of our own because TorchDistributor's generated script has
    every rank pickle its return value to one shared file: the last process to finish wins,
    and a rank that returned None can overwrite rank 0's result."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    tcfg = TrainConfig(**train_cfg)
    use_cuda = torch.cuda.is_available() and tcfg.device != "cpu"
    dist.init_process_group("nccl" if use_cuda else "gloo")
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        device = torch.device(f"cuda:{torch.cuda.current_device()}") if use_cuda else torch.device("cpu")
        torch.manual_seed(tcfg.seed)
        model = build_model(spec).to(device)
        ddp = DistributedDataParallel(model, device_ids=[device.index] if use_cuda else None)
        feeder = make_feeder(rank=rank, world=world)
        result = fit(ddp, feeder, tcfg, device, reduce=summed)
        test = summed(evaluate(model, feeder.batches("test", shuffle=False, epoch=0), device))
        seen = torch.tensor([feeder.rows(s) for s in ("train", "validation", "test")])
        gathered = [torch.zeros_like(seen) for _ in range(world)]
        dist.all_gather(gathered, seen)
        if rank == 0:
            out = {"state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                   "history": result.history, "best_epoch": result.best_epoch,
                   "stopped_early": result.stopped_early, "test": dataclasses.asdict(test),
                   "rows_per_process": [g.tolist() for g in gathered]}
            torch.save(out, result_path + ".part")
            os.replace(result_path + ".part", result_path)
    finally:
        dist.destroy_process_group()


def run_distributed(make_feeder: Callable[[int, int], Feeder], spec: dict, tcfg: TrainConfig,
                    *, use_gpu: bool) -> dict[str, Any]:
    """Launch `tcfg.processes` processes on this machine with TorchDistributor."""
    from pyspark.ml.torch.distributor import TorchDistributor

    from crosslake.distributed_entry import worker as entry  # sidesteps TorchDistributor's train.py

    log.info("data-parallel training: %d processes (%s)", tcfg.processes, "nccl" if use_gpu else "gloo")
    with tempfile.TemporaryDirectory(prefix="crosslake-ddp-") as tmp:
        result_path = os.path.join(tmp, "result.pt")
        TorchDistributor(num_processes=tcfg.processes, local_mode=True, use_gpu=use_gpu).run(
            entry, make_feeder, spec, dataclasses.asdict(tcfg), result_path)
        if not os.path.exists(result_path):
            raise RuntimeError("data-parallel training finished without rank 0's result; see the worker logs above")
        return torch.load(result_path, weights_only=True)

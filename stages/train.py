"""Train, for any workload: a pinned gold version -> the workload's model and its baselines.

What the model is (the text CNN, the tabular MLP), how gold's rows become its input and
which baselines it must beat are the workload's (workloads/reviews_training.py,
workloads/tabular_training.py); feeding, checkpoints, early stopping, storing each model
with its encoder and lineage, the `candidate` alias and the ledger entries are the one
training service, train/service.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crosslake.lake import Lake
    from workloads.base import Workload


def run(lk: Lake, workload: Workload, *, gold_version: int | None = None, fresh: bool = False,
        baselines: bool = True) -> Any:
    return workload.train(lk, gold_version=gold_version, fresh=fresh, baselines=baselines)

"""The feeder interface between data and the training loop.

The loop asks for one epoch of (token_ids, labels) batches per split; where they come
from (petastorm over a Delta version today, something else tomorrow) is the feeder's
business. Every feeder must deliver exactly `rows(split)` rows per epoch, or raise.
"""

from __future__ import annotations

from typing import Iterator, Protocol

import torch

from crosslake.errors import CrosslakeError


class FeederError(CrosslakeError):
    """The feeder delivered a different number of rows than the table holds."""


class Feeder(Protocol):
    def rows(self, split: str) -> int:
        """Rows in `split`: what one epoch must deliver."""

    def batches(self, split: str, *, shuffle: bool, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One pass over `split` as (features [B, L], labels float32 [B]) batches: token ids
        as integers (int32 or int64; the loop widens them on the device), or float32 vectors."""


def checked(batches: Iterator[tuple[torch.Tensor, torch.Tensor]], *, expected: int, what: str):
    """Pass batches through, then fail loudly if the row count is not `expected`
    (petastorm releases have been seen returning short reads silently)."""
    seen = 0
    for ids, labels in batches:
        seen += len(labels)
        yield ids, labels
    if seen != expected:
        raise FeederError(f"{what}: the feeder delivered {seen:,} rows, the table has {expected:,}; "
                          f"training stopped rather than learn from a partial epoch")


class TensorFeeder:
    """A Feeder over tensors already in memory (small data, notebooks, tests), optionally one
    process's shard of them: rows rank, rank + world, rank + 2*world, ... in order."""

    def __init__(self, splits: dict[str, tuple[torch.Tensor, torch.Tensor]], *, batch_size: int,
                 rank: int = 0, world: int = 1):
        self.splits, self.batch_size, self.rank, self.world = splits, batch_size, rank, world

    def rows(self, split: str) -> int:
        return len(range(self.rank, len(self.splits[split][1]), self.world))

    def batches(self, split: str, *, shuffle: bool, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        x, y = self.splits[split]
        # Shuffle all rows the same way in every process, then deal them out: the union of
        # the processes' k-th batches is exactly the k-th batch of a single process with
        # world times the batch size.
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(epoch)) if shuffle \
            else torch.arange(len(y))
        mine = order[self.rank::self.world]
        x, y = x[mine], y[mine]
        return checked(iter([(x[i:i + self.batch_size], y[i:i + self.batch_size])
                             for i in range(0, len(y), self.batch_size)]), expected=len(y), what=f"split '{split}'")

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
        """One pass over `split` as (token_ids int64 [B, L], labels float32 [B]) batches."""


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

"""Per-epoch checkpoints, so a killed training run resumes where it stopped.

A run's checkpoints live in one folder named by a fingerprint of everything that
determines the result (model spec, training config, data version): a later run with the
same fingerprint resumes from the newest complete checkpoint; any change starts afresh.
Each checkpoint holds the model, optimizer and schedule state, the torch RNG state,
the history and the best weights so far. It is written to a temporary name and renamed,
so a kill mid-write leaves the previous checkpoint intact. Loading uses
``torch.load(weights_only=True)``: tensors and plain containers only, no code runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)


def fingerprint(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Checkpoints:
    def __init__(self, root: str | Path, key: str, *, keep: int = 2):
        self.folder = Path(str(root).removeprefix("file:")) / key
        self.keep = keep

    def exist(self) -> bool:
        return any(self.folder.glob("epoch-*.pt"))

    def latest(self) -> dict[str, Any] | None:
        """The newest readable checkpoint, or None. A corrupt one is skipped (and named)."""
        for path in sorted(self.folder.glob("epoch-*.pt"), key=_epoch, reverse=True):
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except Exception as exc:  # truncated or foreign file: fall back to the one before
                log.warning("checkpoint %s is unreadable (%s); trying an older one", path, exc)
        return None

    def save(self, epoch: int, state: dict[str, Any]) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"epoch-{epoch:04d}.pt"
        tmp = final.with_suffix(".tmp")
        torch.save({**state, "epoch": epoch}, tmp)
        os.replace(tmp, final)  # atomic: a reader sees the old file set or the new one
        for old in sorted(self.folder.glob("epoch-*.pt"), key=_epoch)[:-self.keep]:
            old.unlink(missing_ok=True)
        return final

    def clear(self) -> None:
        """Called once the model is safely in the store."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _epoch(path: Path) -> int:
    return int(path.stem.split("-")[1])

"""Petastorm behind the Feeder interface: a pinned Delta version -> PyTorch batches.

`make_spark_converter` materialises each split once as Parquet in a cache folder;
`make_torch_dataloader` streams it. The converters' caches are deleted on exit (also
after an error), and caches left behind by killed runs are removed on the next start.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from pyspark.sql import DataFrame, SparkSession

from train.feeder import checked

# petastorm 0.12 uses pyarrow APIs that pyarrow 14 marks as legacy, from its reader
# threads too: filter those warnings by module (errors are not filtered).
for _category in (FutureWarning, DeprecationWarning):
    warnings.filterwarnings("ignore", category=_category, module=r"petastorm(\.|$)")
from petastorm.spark import SparkDatasetConverter, make_spark_converter  # noqa: E402

log = logging.getLogger(__name__)
OWNER_FILE = "owner.pid"
STALE_AFTER_S = 24 * 3600  # a cache without a live owner record is removed after this


class PetastormFeeder:
    """Use as a context manager: ``with PetastormFeeder(...) as feeder: fit(model, feeder, ...)``."""

    def __init__(self, spark: SparkSession, splits: dict[str, DataFrame], *, cache_root: str, run_id: str,
                 batch_size: int, workers: int, seed: int, feature_col: str = "token_ids"):
        self.spark, self.splits, self.feature_col = spark, splits, feature_col
        self.cache_root, self.cache_dir = Path(cache_root), Path(cache_root) / run_id
        self.batch_size, self.workers, self.seed = batch_size, workers, seed
        self._converters: dict[str, SparkDatasetConverter] = {}
        self._rows: dict[str, int] = {}

    def __enter__(self) -> "PetastormFeeder":
        clean_stale_caches(self.cache_root)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        (self.cache_dir / OWNER_FILE).write_text(str(os.getpid()))
        self.spark.conf.set(SparkDatasetConverter.PARENT_CACHE_DIR_URL_CONF, self.cache_dir.as_uri())
        try:
            for split, df in self.splits.items():
                features = df.select(self.feature_col, "label")
                self._rows[split] = features.count()
                self._converters[split] = make_spark_converter(features)
                log.info("petastorm: %s split cached (%d rows)", split, self._rows[split])
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for conv in self._converters.values():
            try:
                conv.delete()
            except Exception as err:  # the folder is removed below anyway
                log.warning("petastorm cache delete failed: %s", err)
        self._converters.clear()
        shutil.rmtree(self.cache_dir, ignore_errors=True)

    def rows(self, split: str) -> int:
        return self._rows[split]

    def batches(self, split: str, *, shuffle: bool, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.for_process().batches(split, shuffle=shuffle, epoch=epoch)

    def for_process(self) -> "ConverterFeeder":
        """The same data without the Spark side: what another process can be handed."""
        return ConverterFeeder(dict(self._converters), dict(self._rows), batch_size=self.batch_size,
                               workers=self.workers, seed=self.seed, feature_col=self.feature_col)


class RankFeeders:
    """Picklable: given to each process of a data-parallel run, it returns that process's
    feeder over its own shard (`make_feeder(rank=..., world=...)`)."""

    def __init__(self, feeders: list["ConverterFeeder"]):
        self.feeders = feeders

    def __call__(self, *, rank: int, world: int) -> "ConverterFeeder":
        if world != len(self.feeders):
            raise ValueError(f"{len(self.feeders)} shards were prepared for {world} processes")
        return self.feeders[rank]


class ConverterFeeder:
    """The Feeder over petastorm converters that are already materialised. Needs no Spark:
    each process of a data-parallel run reads its own shard's converters through it."""

    def __init__(self, converters: dict[str, SparkDatasetConverter], rows: dict[str, int], *, batch_size: int,
                 workers: int, seed: int, feature_col: str = "token_ids"):
        self.converters, self._rows = converters, rows
        self.batch_size, self.workers, self.seed, self.feature_col = batch_size, workers, seed, feature_col

    def rows(self, split: str) -> int:
        return self._rows[split]

    def batches(self, split: str, *, shuffle: bool, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return checked(self._stream(split, shuffle, epoch), expected=self._rows[split],
                       what=f"split '{split}', epoch {epoch}")

    def _stream(self, split: str, shuffle: bool, epoch: int):
        # petastorm's row shuffling buffer draws from numpy's global RNG. Seeding it from
        # (seed, epoch) makes every epoch's order a function of those two alone, so a run
        # resumed from a checkpoint sees exactly the batches an undisturbed run would.
        np.random.seed((self.seed * 1_000_003 + epoch) % 2**32)
        loader_cm = self.converters[split].make_torch_dataloader(
            batch_size=self.batch_size, num_epochs=1, workers_count=self.workers,
            shuffling_queue_capacity=64 * self.batch_size if shuffle else 0,
            shuffle_row_groups=shuffle, seed=self.seed + epoch,
        )
        with loader_cm as loader:
            for batch in loader:
                x = batch[self.feature_col]
                # token ids feed an embedding (int64); feature vectors feed linear layers (float32)
                yield (x.float() if x.is_floating_point() else x.long()), batch["label"].float()


def clean_stale_caches(cache_root: Path) -> None:
    """Remove cache folders whose owning process is gone (killed runs), or that are old."""
    if not cache_root.is_dir():
        return
    for folder in cache_root.iterdir():
        owner = folder / OWNER_FILE
        try:
            pid = int(owner.read_text())
            alive = _pid_alive(pid)
        except (OSError, ValueError):
            alive = time.time() - folder.stat().st_mtime < STALE_AFTER_S
        if not alive:
            log.info("removing stale petastorm cache %s", folder)
            shutil.rmtree(folder, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

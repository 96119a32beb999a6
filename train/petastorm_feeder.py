"""Petastorm behind the Feeder interface: a pinned Delta version -> PyTorch batches.

`make_spark_converter` materialises each split once as Parquet in a cache folder; each
epoch reads those files with pyarrow, a row group at a time, the list column of ids
reshaped as one array (petastorm's own `make_torch_dataloader` builds a Python tuple per
row: about a tenth of the speed, bench/feeder_throughput.py). The converters' caches are
deleted on exit (also after an error), and caches left behind by killed runs are removed
on the next start.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
import time
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import torch
from pyspark.sql import DataFrame, SparkSession

from train.feeder import FeederError, checked

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
                self._converters[split] = make_spark_converter(features,
                                                               parquet_row_group_size_bytes=ROW_GROUP_BYTES)
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
        """One epoch read straight from the Parquet files petastorm materialised: row groups
        in a seeded random order, read ahead by a thread, their rows shuffled across a buffer
        of SHUFFLE_GROUPS row groups, cut into batches. The order is a function of (seed,
        epoch) alone, so a run resumed from a checkpoint sees exactly the batches an
        undisturbed run would."""
        rng = np.random.default_rng([self.seed, epoch])
        units = row_groups(self.converters[split].file_urls)
        if shuffle:
            units = [units[i] for i in rng.permutation(len(units))]
        columns = [self.feature_col, "label"]
        held_x: list[np.ndarray] = []
        held_y: list[np.ndarray] = []
        held = 0
        for n, (x, y) in enumerate(read_ahead(units, columns, depth=max(1, self.workers)), start=1):
            held_x.append(x)
            held_y.append(y)
            held += len(y)
            last = n == len(units)
            if not last and (held < self.batch_size or (shuffle and len(held_x) < SHUFFLE_GROUPS)):
                continue
            x, y = np.concatenate(held_x), np.concatenate(held_y)
            if shuffle:
                order = rng.permutation(len(y))
                x, y = x[order], y[order]
            cut = len(y) if last else len(y) - len(y) % self.batch_size
            for i in range(0, cut, self.batch_size):
                yield _tensors(x[i:i + self.batch_size], y[i:i + self.batch_size])
            held_x, held_y = ([x[cut:]], [y[cut:]]) if cut < len(y) else ([], [])
            held = len(y) - cut


SHUFFLE_GROUPS = 8              # row groups whose rows are shuffled together
ROW_GROUP_BYTES = 4 * 1024 ** 2  # petastorm writes 32 MiB row groups by default: a small split is then one group


def row_groups(file_urls: list[str]) -> list[tuple[str, int]]:
    """Every non-empty (file, row group) of the materialised split, in file order."""
    units = []
    for url in sorted(file_urls):
        with _open(url) as f:
            units += [(url, i) for i in range(f.metadata.num_row_groups) if f.metadata.row_group(i).num_rows]
    return units


def _open(url: str) -> pq.ParquetFile:
    fs, path = pafs.FileSystem.from_uri(url)
    return pq.ParquetFile(fs.open_input_file(path))


def read_ahead(units: list[tuple[str, int]], columns: list[str], *, depth: int):
    """(features, labels) numpy arrays per row group, read by a thread up to `depth` groups
    ahead of the consumer (pyarrow decodes without the GIL). An error in the thread is
    raised in the consumer; a consumer that stops early stops the thread."""
    out: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        files: dict[str, pq.ParquetFile] = {}
        try:
            for url, i in units:
                if url not in files:
                    files[url] = _open(url)
                f = files[url]
                table = f.read_row_group(i, columns=columns)
                if not put((matrix(table.column(columns[0]), columns[0]), table.column(columns[1]).to_numpy())):
                    return
        except BaseException as err:  # handed to the consumer, which raises it
            put(err)
        finally:
            for f in files.values():
                f.close()

    thread = threading.Thread(target=read, name="feeder-read-ahead", daemon=True)
    thread.start()
    try:
        for _ in units:
            item = out.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def matrix(column: pa.ChunkedArray, name: str) -> np.ndarray:
    """A list column of equal-length rows (what gold holds) as one (rows, length) array,
    without a Python object per row: the flattened values reshaped. Rows of unequal length,
    a null row or a null value are refused: a model input cannot have them."""
    arr = column.combine_chunks()
    widths = np.diff(np.asarray(arr.offsets))
    if arr.null_count or arr.flatten().null_count or (len(widths) and (widths != widths[0]).any()):
        raise FeederError(f"the training rows' {name} arrays are not all of one length without nulls: gold "
                          f"must hold fixed-length model inputs (run `crosslake features` again)")
    return arr.flatten().to_numpy(zero_copy_only=False).reshape(len(arr), int(widths[0]) if len(widths) else 0)


def _tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids stay in their stored width (int32; the loop widens them on the device);
    feature vectors become float32; labels float32."""
    features = torch.from_numpy(x)
    if features.is_floating_point():
        features = features.float()
    return features, torch.from_numpy(y).float()


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

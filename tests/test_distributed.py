"""Data-parallel training on CPU: two real processes (gloo), launched by Spark's
TorchDistributor, against one process with twice the batch."""

from __future__ import annotations

from functools import partial

import torch

from tests.test_train import SPEC, cfg, order_task
from train.distributed import run_distributed, shard
from train.feeder import TensorFeeder
from train.loop import evaluate, fit
from train.model import TextCNN


def test_two_gloo_processes_train_like_one_process_with_twice_the_batch(spark):
    data = {"train": order_task(256, 1), "validation": order_task(64, 2), "test": order_task(96, 3)}
    config = cfg(epochs=3, batch_size=16, processes=2)
    out = run_distributed(partial(TensorFeeder, data, batch_size=16), SPEC.to_dict(), config, use_gpu=False)
    assert out["rows_per_process"] == [[128, 32, 48], [128, 32, 48]]  # disjoint halves of every split

    torch.manual_seed(config.seed)
    single = TextCNN(SPEC)
    alone = fit(single, TensorFeeder(data, batch_size=32), cfg(epochs=3, batch_size=32), torch.device("cpu"))
    for name, weights in single.state_dict().items():
        assert torch.allclose(weights, out["state"][name], atol=1e-4), name
    assert [round(h["val_accuracy"], 6) for h in out["history"]] == [round(h["val_accuracy"], 6) for h in alone.history]
    test = evaluate(single, TensorFeeder(data, batch_size=32).batches("test", shuffle=False, epoch=0),
                    torch.device("cpu"))
    assert abs(out["test"]["accuracy"] - test.accuracy) < 1e-9 and out["test"]["rows"] == 96


def test_shards_are_disjoint_cover_every_row_and_are_padded_evenly(spark):
    df = spark.range(10).withColumnRenamed("id", "key")
    plain = [sorted(r.key for r in part.collect()) for part in shard(df, order_by=["key"], world=3, pad=False)]
    assert plain == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    padded = [sorted(r.key for r in part.collect()) for part in shard(df, order_by=["key"], world=3, pad=True)]
    assert padded == [[0, 3, 6, 9], [0, 1, 4, 7], [1, 2, 5, 8]]  # rows 0 and 1 dealt again: 4 steps each
    assert sorted(sum(plain, [])) == list(range(10)) and len({len(p) for p in padded}) == 1

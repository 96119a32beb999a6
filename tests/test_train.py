import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import torch

from crosslake.errors import CrosslakeError
from train.config import TrainConfig
from train.feeder import FeederError, checked
from train.loop import evaluate, fit, train_one_epoch
from train.model import PAIR_PRIME, ModelSpec, NgramSpec, TextCNN, TextNgram, ngram_ids
from train.store import load_model, save_model, versions

SPEC = ModelSpec(vocab_size=20, max_len=12, embed_dim=16, num_filters=16, kernel_sizes=(2, 3), dropout=0.0)


def order_task(n: int, seed: int):
    """Label 1 when token 5 comes right before token 6, 0 when right after: both classes
    hold the same words, so only word order separates them."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(7, 20, (n, SPEC.max_len), generator=g)
    labels = torch.randint(0, 2, (n,), generator=g).float()
    pos = torch.randint(0, SPEC.max_len - 1, (n,), generator=g)
    for i in range(n):
        a, b = (5, 6) if labels[i] == 1 else (6, 5)
        ids[i, pos[i]], ids[i, pos[i] + 1] = a, b
    return ids, labels


def batches(ids, labels, size=32):
    return [(ids[i:i + size], labels[i:i + size]) for i in range(0, len(labels), size)]


class ListFeeder:
    def __init__(self, splits):
        self.splits = splits

    def rows(self, split):
        return len(self.splits[split][1])

    def batches(self, split, *, shuffle, epoch):
        return iter(batches(*self.splits[split]))


def cfg(**kw):
    base = dict(epochs=8, batch_size=32, lr=0.01, weight_decay=0.0, embed_dim=16, num_filters=16,
                kernel_sizes=[2, 3], dropout=0.0, seed=0, device="cpu", num_threads=1, loader_workers=1,
                patience=0, processes=1)
    return TrainConfig(**{**base, **kw})


def test_cnn_learns_what_only_word_order_tells():
    torch.manual_seed(0)
    model = TextCNN(SPEC)
    feeder = ListFeeder({"train": order_task(640, 1), "validation": order_task(128, 2)})
    result = fit(model, feeder, cfg(), torch.device("cpu"))
    test = evaluate(model, batches(*order_task(256, 3)), torch.device("cpu"))
    assert test.accuracy > 0.95 and test.rows == 256
    assert len(result.history) == 8 and 1 <= result.best_epoch <= 8
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


NGRAM = NgramSpec(vocab_size=20, max_len=12, buckets=64, nb_alpha=1.0)


def test_ngram_ids_are_each_word_and_word_pair_once_without_padding():
    ids = torch.tensor([[5, 6, 5, 6, 1, 0, 0]])
    got = sorted(g for g in ngram_ids(ids, 20, 64)[0].tolist() if g)
    pair = lambda a, b: 20 + (a * PAIR_PRIME + b) % 64  # noqa: E731
    # words 5, 6, 1 (unknown counts); pairs (5,6) (6,5) (6,1), each once; none with padding
    assert got == sorted([1, 5, 6, pair(5, 6), pair(6, 5), pair(6, 1)])


def test_ngram_ratios_are_the_naive_bayes_log_count_ratios_of_the_train_split():
    ids, labels = order_task(200, 7)
    model = TextNgram(NGRAM)
    model.observe(batches(ids, labels))
    # the same ratios by hand: how many rows of each class contain each slot
    slots = NGRAM.vocab_size + NGRAM.buckets
    p, q = [NGRAM.nb_alpha] * slots, [NGRAM.nb_alpha] * slots
    for row, label in zip(ids.tolist(), labels.tolist()):
        grams = set(row) | {20 + (a * PAIR_PRIME + b) % 64 for a, b in zip(row, row[1:]) if a and b}
        for g in grams - {0}:
            (p if label == 1 else q)[g] += 1
    expected = [math.log(p[g] / sum(p)) - math.log(q[g] / sum(q)) for g in range(slots)]
    assert torch.allclose(model.log_ratio, torch.tensor(expected, dtype=torch.float32), atol=1e-5)
    pair = lambda a, b: 20 + (a * PAIR_PRIME + b) % 64  # noqa: E731
    assert model.log_ratio[pair(5, 6)] > 2 and model.log_ratio[pair(6, 5)] < -2  # the pairs that tell


def test_ngram_model_learns_what_only_word_pairs_tell_and_survives_the_store(tmp_path):
    torch.manual_seed(0)
    model = TextNgram(NGRAM)
    feeder = ListFeeder({"train": order_task(640, 1), "validation": order_task(128, 2)})
    fit(model, feeder, cfg(epochs=4), torch.device("cpu"))  # fit observes the train split first
    test_ids, test_labels = order_task(256, 3)
    assert evaluate(model, batches(test_ids, test_labels), torch.device("cpu")).accuracy > 0.95
    # the ratios are weights: stored and loaded with the rest, the same answers
    save_model(tmp_path, "n", model.eval(), {"a": 2}, {})
    stored = load_model(tmp_path, "n", 1)
    assert type(stored.model) is TextNgram and torch.equal(stored.model(test_ids), model(test_ids))


class ShuffledFeeder(ListFeeder):
    """Shuffles per epoch from a seed (like petastorm's seed + epoch); can fail at one epoch."""

    def __init__(self, splits, fail_at_epoch=None):
        super().__init__(splits)
        self.fail_at_epoch = fail_at_epoch

    def batches(self, split, *, shuffle, epoch):
        if epoch == self.fail_at_epoch and split == "train":
            raise KeyboardInterrupt("killed")
        ids, labels = self.splits[split]
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(100 + epoch)) if shuffle \
            else torch.arange(len(labels))
        return iter(batches(ids[order], labels[order]))


def test_a_killed_run_resumes_from_its_checkpoint_and_ends_identical(tmp_path):
    from train.checkpoint import Checkpoints

    data = {"train": order_task(256, 1), "validation": order_task(64, 2)}
    config = cfg(epochs=5, dropout=0.3)  # dropout draws from the RNG: its state must be restored too
    torch.manual_seed(0)
    straight = TextCNN(SPEC)
    undisturbed = fit(straight, ShuffledFeeder(data), config, torch.device("cpu"),
                      checkpoints=Checkpoints(tmp_path, "straight"))

    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        fit(TextCNN(SPEC), ShuffledFeeder(data, fail_at_epoch=4), config, torch.device("cpu"),
            checkpoints=Checkpoints(tmp_path, "killed"))
    assert sorted(p.name for p in (tmp_path / "killed").iterdir()) == ["epoch-0002.pt", "epoch-0003.pt"]
    torch.manual_seed(123)  # a different start: everything must come from the checkpoint
    resumed_model = TextCNN(SPEC)
    resumed = fit(resumed_model, ShuffledFeeder(data), config, torch.device("cpu"),
                  checkpoints=Checkpoints(tmp_path, "killed"))
    assert resumed.resumed_from == 3 and undisturbed.resumed_from is None
    assert resumed.history == undisturbed.history and resumed.best_epoch == undisturbed.best_epoch
    for a, b in zip(straight.state_dict().values(), resumed_model.state_dict().values()):
        assert torch.equal(a, b)


def test_a_truncated_checkpoint_falls_back_to_the_one_before(tmp_path):
    from train.checkpoint import Checkpoints

    ckpt = Checkpoints(tmp_path, "run")
    ckpt.save(1, {"x": torch.ones(2)})
    ckpt.save(2, {"x": torch.zeros(2)})
    (tmp_path / "run" / "epoch-0002.pt").write_bytes(b"\x80\x02truncated")
    assert ckpt.latest()["epoch"] == 1
    ckpt.clear()
    assert ckpt.latest() is None


def test_early_stopping_ends_the_run_when_validation_stops_improving():
    model = TextCNN(SPEC)
    feeder = ListFeeder({"train": order_task(64, 1), "validation": order_task(64, 2)})
    result = fit(model, feeder, cfg(epochs=10, lr=0.0, patience=2), torch.device("cpu"))  # lr 0: nothing improves
    assert result.best_epoch == 1 and result.stopped_early == 3 and len(result.history) == 3


def test_balanced_class_weight_lifts_the_rare_class_recall_and_needs_both_classes():
    from train.loop import balanced_pos_weight
    from train.model import MLPSpec, TabularMLP

    g = torch.Generator().manual_seed(3)
    x = torch.randn(2000, 1, generator=g)
    y = (torch.rand(2000, generator=g) < torch.sigmoid(2.0 * x[:, 0] - 3.0)).float()  # ~10% positive
    feeder = ListFeeder({"train": (x, y), "validation": (x, y)})
    assert balanced_pos_weight(feeder) == pytest.approx(float((y == 0).sum() / y.sum()))
    recall = {}
    for weight in ("none", "balanced"):
        torch.manual_seed(0)
        model = TabularMLP(MLPSpec(in_dim=1, hidden=(), dropout=0.0))  # a logistic regression
        fit(model, feeder, cfg(epochs=6, lr=0.05, class_weight=weight), torch.device("cpu"))
        with torch.no_grad():
            said = model(x) > 0
        recall[weight] = float(said[y == 1].float().mean())
    assert recall["none"] < 0.5 < recall["balanced"]  # the rare class is mostly missed unless it weighs more
    one_class = ListFeeder({"train": (x, torch.zeros(2000)), "validation": (x, y)})
    with pytest.raises(CrosslakeError, match="needs both classes in the train split"):
        fit(TabularMLP(MLPSpec(in_dim=1, hidden=(), dropout=0.0)), one_class, cfg(class_weight="balanced"),
            torch.device("cpu"))


def test_the_feeder_reads_fixed_length_arrays_whole_and_refuses_ragged_or_null_ones():
    import pyarrow as pa

    from train.petastorm_feeder import matrix

    ids = pa.chunked_array([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9]]], type=pa.list_(pa.int32()))
    got = matrix(ids, "token_ids")
    assert got.dtype == np.int32 and got.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert matrix(pa.chunked_array([[]], type=pa.list_(pa.float64())), "features").shape == (0, 0)
    for bad in ([[1, 2, 3], [4, 5]], [[1, 2, 3], None], [[1, None, 3]]):
        with pytest.raises(FeederError, match="token_ids arrays are not all of one length without nulls"):
            matrix(pa.chunked_array([bad], type=pa.list_(pa.int32())), "token_ids")


def test_curves_png_is_a_picture_of_the_history():
    from train.curves import curves_png

    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_accuracy": 0.5 + e / 20,
                "val_accuracy": 0.5 + e / 25} for e in range(1, 5)]
    png = curves_png(history, title="t", best_epoch=3)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_train_one_epoch_counts_rows_and_moves_weights():
    import copy

    torch.manual_seed(0)
    model = TextCNN(SPEC)
    replay = copy.deepcopy(model)
    before = [p.detach().clone() for p in model.parameters()]
    data = batches(*order_task(70, 4))
    m = train_one_epoch(model, data, torch.optim.SGD(model.parameters(), lr=0.1), torch.device("cpu"))
    # the same epoch by hand: each batch judged by the weights before its step
    opt, correct, loss_sum = torch.optim.SGD(replay.parameters(), lr=0.1), 0, 0.0
    for ids, labels in data:
        opt.zero_grad()
        logits = replay(ids)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="sum")
        (loss / len(labels)).backward()
        opt.step()
        correct += int(((logits > 0).float() == labels).sum())
        loss_sum += loss.item()
    assert m.rows == 70 and m.accuracy == correct / 70 and abs(m.loss - loss_sum / 70) < 1e-6
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    for a, b in zip(model.parameters(), replay.parameters()):
        assert torch.allclose(a, b)


def test_checked_fails_loudly_on_a_short_read():
    full = batches(*order_task(64, 5))
    assert sum(len(y) for _, y in checked(iter(full), expected=64, what="x")) == 64
    with pytest.raises(FeederError, match="delivered 32 rows, the table has 64"):
        list(checked(iter(full[:1]), expected=64, what="x"))


def test_store_round_trip_versions_and_lineage(tmp_path):
    model = TextCNN(SPEC).eval()
    v1, path = save_model(tmp_path, "m", model, {"a": 2}, {"data": {"gold_version": 3}})
    v2, _ = save_model(tmp_path, "m", model, {"a": 2}, {})
    assert (v1, v2) == (1, 2) and versions(tmp_path, "m") == [1, 2]
    stored = load_model(tmp_path, "m", 1)
    ids = order_task(8, 6)[0]
    assert torch.equal(stored.model(ids), model(ids))
    assert stored.vocabulary == {"a": 2} and stored.metadata["data"]["gold_version"] == 3
    assert load_model(tmp_path, "m").version == 2  # latest by default
    # an interrupted save (no metadata yet) is not a version
    (Path(path).parent / "v3").mkdir()
    assert load_model(tmp_path, "m").version == 2


def test_store_refuses_tampered_truncated_or_missing_models(tmp_path):
    _, path = save_model(tmp_path, "m", TextCNN(SPEC), {}, {})
    weights = Path(path) / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CrosslakeError, match="does not match the checksum"):
        load_model(tmp_path, "m")
    weights.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(CrosslakeError, match="checksum"):
        load_model(tmp_path, "m")
    with pytest.raises(CrosslakeError, match="no model 'other'.*crosslake train"):
        load_model(tmp_path, "other")
    with pytest.raises(CrosslakeError, match="no version 7"):
        load_model(tmp_path, "m", 7)


def test_petastorm_feeder_delivers_every_row_each_epoch_and_cleans_up(spark, tmp_path, monkeypatch):
    from train import petastorm_feeder
    from train.petastorm_feeder import OWNER_FILE, PetastormFeeder, row_groups

    # a cache left by a killed run (its process is gone) must be removed on start
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / "cache" / "killed-run"
    stale.mkdir(parents=True)
    (stale / OWNER_FILE).write_text(dead.stdout.strip())
    monkeypatch.setattr(petastorm_feeder, "ROW_GROUP_BYTES", 1024)  # several row groups for 203 rows
    rows = [([i, i % 7 + 2, 0, 0, 0, 0], i % 2) for i in range(203)]
    df = spark.createDataFrame(rows, "token_ids array<int>, label int").repartition(2)
    splits = {"train": df, "validation": df.limit(17)}
    with PetastormFeeder(spark, splits, cache_root=str(tmp_path / "cache"), run_id="r1", batch_size=16,
                         workers=1, seed=0) as feeder:
        assert not stale.exists()
        assert (tmp_path / "cache" / "r1" / OWNER_FILE).read_text() == str(os.getpid())
        assert len(row_groups(feeder.for_process().converters["train"].file_urls)) > 2
        orders = {}
        for epoch in (1, 2, 1):
            got = list(feeder.batches("train", shuffle=True, epoch=epoch))
            assert [len(y) for _, y in got] == [16] * 12 + [11]
            ids = torch.cat([x for x, _ in got])
            assert ids.dtype == torch.int32 and ids.shape == (203, 6)  # widened to int64 on the device
            # contents, not only counts: every row of the table comes back once, with its label
            assert sorted((tuple(map(int, x)), int(y)) for xb, yb in got for x, y in zip(xb, yb)) == \
                   sorted((tuple(r[0]), r[1]) for r in rows)
            order = [int(i) for i in ids[:, 0]]
            assert orders.setdefault(epoch, order) == order  # (seed, epoch) decide the order: a resumed run
        assert orders[1] != orders[2] and orders[1] != sorted(orders[1])  # rows shuffled, across row groups
        assert len({i // 100 for i in orders[1][:16]}) > 1
        stored = [int(x[0]) for xb, _ in feeder.batches("validation", shuffle=False, epoch=1) for x in xb]
        assert len(stored) == feeder.rows("validation") == 17
    assert not (tmp_path / "cache" / "r1").exists()

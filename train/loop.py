"""The training loop. It sees batches of (token_ids, labels) tensors and nothing else:
no Spark, no petastorm (those live behind train.feeder.Feeder)."""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from torch import nn

from crosslake.errors import CrosslakeError
from train.checkpoint import Checkpoints
from train.config import TrainConfig
from train.feeder import Feeder

Batch = tuple[torch.Tensor, torch.Tensor]
log = logging.getLogger(__name__)


@dataclass
class Metrics:
    loss: float
    accuracy: float
    rows: int
    # evaluate(keep=True): each row's label and P(label 1), in batch order (train/evaluation.py)
    truth: list[float] | None = field(default=None, repr=False)
    probability: list[float] | None = field(default=None, repr=False)


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)  # one entry per epoch
    best_epoch: int = 0
    resumed_from: int | None = None   # the checkpoint's epoch when the run resumed
    stopped_early: int | None = None  # the epoch early stopping ended the run at


def _autocast(device: torch.device):
    # bf16 on GPUs: roughly twice the throughput, and no loss scaling needed (unlike fp16).
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def to_device(ids: torch.Tensor, labels: torch.Tensor, device: torch.device) -> Batch:
    """Move a batch to the device. On a GPU, from page-locked (pinned) host memory, so the
    copy runs asynchronously (non_blocking) while the previous step computes. Token ids
    travel in the width they were stored in (int32: half the bytes) and are widened to the
    int64 the embeddings index with on the device."""
    if device.type == "cuda":
        ids, labels = ids.pin_memory().to(device, non_blocking=True), labels.pin_memory().to(device, non_blocking=True)
    return (ids.long() if not ids.is_floating_point() and ids.dtype != torch.int64 else ids), labels


def train_one_epoch(
    model: nn.Module, batches: Iterable[Batch], optimizer: torch.optim.Optimizer, device: torch.device,
    *, on_batch: Callable[[int], None] | None = None, pos_weight: float | None = None,
) -> Metrics:
    """One pass over `batches`; with pos_weight, a positive row's loss counts that many
    times (class_weight: balanced). The loss reported is the unweighted one."""
    model.train()
    loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
    weighted = nn.BCEWithLogitsLoss(reduction="sum", pos_weight=torch.tensor(pos_weight, device=device)) \
        if pos_weight is not None else loss_fn
    total_loss, correct, rows = 0.0, 0, 0
    for ids, labels in batches:
        ids, labels = to_device(ids, labels, device)
        optimizer.zero_grad(set_to_none=True)
        with _autocast(device):
            logits = model(ids)
        loss = loss_fn(logits.float(), labels)
        ((weighted(logits.float(), labels) if pos_weight is not None else loss) / len(labels)).backward()
        optimizer.step()
        total_loss += loss.item()
        correct += ((logits > 0).float() == labels).sum().item()
        rows += len(labels)
        if on_batch:
            on_batch(len(labels))
    return Metrics(total_loss / max(rows, 1), correct / max(rows, 1), rows)


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable[Batch], device: torch.device, *, keep: bool = False) -> Metrics:
    """Loss and accuracy over `batches`; keep: also every row's label and probability."""
    model.eval()
    loss_fn = nn.BCEWithLogitsLoss(reduction="sum")
    total_loss, correct, rows = 0.0, 0, 0
    truth: list[float] = []
    probability: list[float] = []
    for ids, labels in batches:
        ids, labels = to_device(ids, labels, device)
        with _autocast(device):
            logits = model(ids).float()
        total_loss += loss_fn(logits, labels).item()
        correct += ((logits > 0).float() == labels).sum().item()
        rows += len(labels)
        if keep:
            truth += labels.tolist()
            probability += torch.sigmoid(logits).tolist()
    return Metrics(total_loss / max(rows, 1), correct / max(rows, 1), rows,
                   truth if keep else None, probability if keep else None)


def fit(model: nn.Module, feeder: Feeder, cfg: TrainConfig, device: torch.device,
        *, progress: Callable[[str, int], Callable[[int], None]] | None = None,
        checkpoints: Checkpoints | None = None, reduce: Callable[[Metrics], Metrics] | None = None) -> FitResult:
    """Train for cfg.epochs; keep the weights of the epoch with the best validation accuracy.

    With `checkpoints`, the state is saved after every epoch and a run with the same
    fingerprint resumes after the last saved epoch. With cfg.patience > 0, training stops
    once validation accuracy has not improved for that many epochs. In a data-parallel run,
    `reduce` combines each epoch's metrics over the processes, so that every process takes
    the same best-epoch and early-stopping decisions."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    # One-cycle: a short warm-up, then cosine decay over the whole run.
    steps = cfg.epochs * max(1, -(-feeder.rows("train") // cfg.batch_size))
    # The warm-up must span at least two steps: torch divides by its length (short runs on tiny data).
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=max(steps, 4),
                                                   pct_start=min(0.5, max(0.1, 2 / max(steps, 4))))
    result, best_acc, best_state, start = FitResult(), -1.0, None, 1
    saved = checkpoints.latest() if checkpoints else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        torch.set_rng_state(saved["rng"])
        result.history, result.best_epoch = list(saved["history"]), saved["best_epoch"]
        best_acc, best_state, start = saved["best_accuracy"], saved["best_model"], saved["epoch"] + 1
        result.resumed_from = saved["epoch"]
        log.info("resuming from the checkpoint after epoch %d of %d", saved["epoch"], cfg.epochs)
    observer = getattr(getattr(model, "module", model), "observe", None)  # DDP wraps the model in .module
    if observer is not None and saved is None:
        # a model that learns counts from the data before its weights (text_ngram's ratios):
        # one pass over the train split (a resumed run has them in its checkpoint)
        observer(feeder.batches("train", shuffle=False, epoch=0))
    pos_weight = balanced_pos_weight(feeder, reduce) if cfg.class_weight == "balanced" else None
    for epoch in range(start, cfg.epochs + 1):
        tick = progress(f"epoch {epoch}/{cfg.epochs}", feeder.rows("train")) if progress else None

        def on_batch(n: int) -> None:
            schedule.step()
            if tick:
                tick(n)

        train_m = train_one_epoch(model, feeder.batches("train", shuffle=True, epoch=epoch), optimizer, device,
                                  on_batch=on_batch, pos_weight=pos_weight)
        val_m = evaluate(model, feeder.batches("validation", shuffle=False, epoch=epoch), device)
        if reduce:
            train_m, val_m = reduce(train_m), reduce(val_m)
        result.history.append({"epoch": epoch, "train_loss": train_m.loss, "train_accuracy": train_m.accuracy,
                               "val_loss": val_m.loss, "val_accuracy": val_m.accuracy})
        log.info("epoch %d: train loss %.4f acc %.4f | validation loss %.4f acc %.4f",
                 epoch, train_m.loss, train_m.accuracy, val_m.loss, val_m.accuracy)
        if val_m.accuracy > best_acc:
            best_acc, best_state, result.best_epoch = val_m.accuracy, copy.deepcopy(model.state_dict()), epoch
        if checkpoints:
            checkpoints.save(epoch, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                "rng": torch.get_rng_state(), "history": result.history, "best_epoch": result.best_epoch,
                "best_accuracy": best_acc, "best_model": best_state})
        if cfg.patience and epoch - result.best_epoch >= cfg.patience and epoch < cfg.epochs:
            log.info("early stop after epoch %d: validation accuracy has not improved for %d epochs (best: epoch %d)",
                     epoch, cfg.patience, result.best_epoch)
            result.stopped_early = epoch
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return result


def balanced_pos_weight(feeder: Feeder, reduce: Callable[[Metrics], Metrics] | None = None) -> float:
    """n_negative / n_positive over the train split (one pass over its labels): the weight that
    makes both classes count alike in the loss. In a data-parallel run, over every process's
    shard (`reduce` averages a Metrics by rows: its accuracy field carries the positive share)."""
    positives, rows = 0.0, 0
    for _ids, labels in feeder.batches("train", shuffle=False, epoch=0):
        positives += float(labels.sum())
        rows += len(labels)
    share = Metrics(0.0, positives / max(rows, 1), rows)
    if reduce:
        share = reduce(share)
    if not 0.0 < share.accuracy < 1.0:
        raise CrosslakeError(f"train.class_weight balanced needs both classes in the train split (positive share "
                         f"{share.accuracy:.3f}); set train.class_weight: none")
    pos_weight = (1.0 - share.accuracy) / share.accuracy
    log.info("class_weight balanced: %.1f%% of train rows are positive, a positive row weighs %.3f",
             100 * share.accuracy, pos_weight)
    return pos_weight

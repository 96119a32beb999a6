"""PNGs saved beside a model: its loss and accuracy per epoch (curves.png), and how it did on
the test split (evaluation.png: calibration and the confusion matrix)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display on a cluster node
import matplotlib.pyplot as plt  # noqa: E402


def curves_png(history: list[dict], *, title: str, best_epoch: int | None = None) -> bytes:
    """Two panels (loss, accuracy), train and validation per epoch; the kept epoch marked."""
    epochs = [h["epoch"] for h in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for ax, metric in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.plot(epochs, [h[f"train_{metric}"] for h in history], marker="o", label="train")
        ax.plot(epochs, [h[f"val_{metric}"] for h in history], marker="o", label="validation")
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label=f"kept (epoch {best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    return _png(fig, title)


def evaluation_png(ev, *, title: str) -> bytes:
    """Two panels: the calibration curve (share actually positive against the mean predicted
    probability, per bin, point size by rows; the diagonal is perfect), and the confusion
    matrix with counts. `ev`: a train.evaluation.Evaluation."""
    fig, (cal_ax, cm_ax) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=100)
    cal_ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated")
    if ev.calibration:
        mean, share, count = zip(*ev.calibration)
        biggest = max(count)
        cal_ax.plot(mean, share, color="tab:blue", linewidth=1)
        cal_ax.scatter(mean, share, s=[20 + 180 * c / biggest for c in count], color="tab:blue", zorder=3,
                       label=f"model (ECE {ev.ece:.3f})")
    cal_ax.set_xlim(0, 1)
    cal_ax.set_ylim(0, 1)
    cal_ax.set_xlabel("mean predicted P(1) in the bin")
    cal_ax.set_ylabel("share of the bin labelled 1")
    cal_ax.grid(alpha=0.3)
    cal_ax.legend(loc="upper left")
    auc = "n/a" if ev.roc_auc is None else f"{ev.roc_auc:.3f}"
    cal_ax.set_title(f"accuracy {ev.accuracy:.3f} (majority {ev.majority_rate:.3f}), ROC AUC {auc}, "
                     f"log loss {ev.log_loss:.3f}", fontsize=9)
    cm_ax.imshow(ev.confusion, cmap="Blues")
    for i, row in enumerate(ev.confusion):
        for j, n in enumerate(row):
            cm_ax.text(j, i, f"{n:,}", ha="center", va="center", fontsize=12,
                       color="white" if n > max(max(r) for r in ev.confusion) / 2 else "black")
    cm_ax.set_xticks([0, 1], ["predicted 0", "predicted 1"])
    cm_ax.set_yticks([0, 1], ["labelled 0", "labelled 1"])
    recall = ", ".join("n/a" if r is None else f"{r:.3f}" for r in ev.recall)
    cm_ax.set_title(f"{ev.rows:,} rows; recall per class {recall}", fontsize=9)
    return _png(fig, title)


def _png(fig, title: str) -> bytes:
    fig.suptitle(title)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()

"""How good a binary classifier is on a labelled set, and whether one beats another beyond noise.

    ev = evaluate(truth, probability)          # accuracy, ROC AUC, log loss, per-class
                                               # precision/recall, confusion matrix,
                                               # calibration (10 bins) and its ECE,
                                               # the majority-class rate beside them
    iv = paired_difference(correct_a, correct_b, draws=2000, seed=0)
    iv.low > 0                                 # a beats b beyond the noise of this test set

The interval is a paired bootstrap over the test rows: each draw resamples the same rows
for both models, so what the two share (easy rows, hard rows) cancels and the interval is
the noise of the difference, not of each accuracy. Pure numpy: no Spark, no torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

EPS = 1e-7  # log loss clips probabilities to [EPS, 1 - EPS]: one confident mistake is costly, not infinite


@dataclass(frozen=True)
class Evaluation:
    rows: int
    accuracy: float
    roc_auc: float | None          # None when the set holds one class only
    log_loss: float
    majority_rate: float           # accuracy of always answering the commoner class
    positive_rate: float           # share of rows labelled 1
    precision: tuple[float | None, float | None]   # per class (0, 1); None: never predicted
    recall: tuple[float | None, float | None]      # per class (0, 1); None: class absent
    confusion: tuple[tuple[int, int], tuple[int, int]]  # [[tn, fp], [fn, tp]]: rows truth, columns prediction
    calibration: tuple[tuple[float, float, int], ...]   # per non-empty bin: (mean probability, share positive, rows)
    ece: float                     # expected calibration error: |share positive - mean probability|, row-weighted

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Evaluation":
        return cls(**{**d, "precision": tuple(d["precision"]), "recall": tuple(d["recall"]),
                      "confusion": tuple(tuple(r) for r in d["confusion"]),
                      "calibration": tuple(tuple(b) for b in d["calibration"])})

    def summary(self) -> str:
        auc = "n/a" if self.roc_auc is None else f"{self.roc_auc:.4f}"
        return (f"accuracy {self.accuracy:.4f}, ROC AUC {auc}, log loss {self.log_loss:.4f}, ECE {self.ece:.4f} "
                f"(majority class {self.majority_rate:.4f}, {self.rows:,} rows)")


def evaluate(truth, probability, *, bins: int = 10) -> Evaluation:
    """Every figure of one model on one labelled set. truth: 0/1; probability: P(label 1)."""
    y = np.asarray(truth, dtype=np.int64).ravel()
    p = np.asarray(probability, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"{len(y)} labels but {len(p)} probabilities")
    if not len(y):
        raise ValueError("no rows to evaluate")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("probabilities must lie in [0, 1]")
    pred = (p >= 0.5).astype(np.int64)
    tp, tn = int(((pred == 1) & (y == 1)).sum()), int(((pred == 0) & (y == 0)).sum())
    fp, fn = int(((pred == 1) & (y == 0)).sum()), int(((pred == 0) & (y == 1)).sum())
    n, pos = len(y), int(y.sum())
    clipped = np.clip(p, EPS, 1 - EPS)
    log_loss = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
    return Evaluation(
        rows=n, accuracy=(tp + tn) / n, roc_auc=roc_auc(y, p), log_loss=log_loss,
        majority_rate=max(pos, n - pos) / n, positive_rate=pos / n,
        precision=(_share(tn, tn + fn), _share(tp, tp + fp)), recall=(_share(tn, tn + fp), _share(tp, tp + fn)),
        confusion=((tn, fp), (fn, tp)), calibration=(cal := calibration(y, p, bins=bins)),
        ece=sum(abs(share - mean) * count for mean, share, count in cal) / n)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def roc_auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """The chance that a random positive row scores above a random negative one (ties count
    half): the Mann-Whitney statistic over average ranks."""
    pos = int(y.sum())
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return None
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p), dtype=np.float64)
    sorted_p = p[order]
    # average rank for ties: each run of equal probabilities shares the mean of its ranks
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_p)) + 1]
    ends = np.r_[starts[1:], len(p)]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def calibration(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> tuple[tuple[float, float, int], ...]:
    """Equal-width probability bins: (mean predicted probability, share actually positive, rows)
    for each bin that holds rows."""
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    out = []
    for b in range(bins):
        inside = which == b
        count = int(inside.sum())
        if count:
            out.append((float(p[inside].mean()), float(y[inside].mean()), count))
    return tuple(out)


@dataclass(frozen=True)
class Interval:
    difference: float   # accuracy of a minus accuracy of b on the same rows
    low: float
    high: float
    level: float
    draws: int

    def beyond_noise(self) -> bool:
        """a is better than b by more than this test set's noise."""
        return self.low > 0

    def describe(self) -> str:
        return f"{self.difference:+.4f} [{self.low:+.4f}, {self.high:+.4f}]"

    def to_dict(self) -> dict:
        return asdict(self)


def resampled_accuracies(correct: list, *, draws: int = 2000, seed: int = 0) -> np.ndarray:
    """Accuracy of each model (0/1 per row, the same rows in the same order for all) on
    `draws` bootstrap resamples of the rows, the same resamples for every model: shape
    (models, draws). Seeded: the same inputs give the same figures."""
    judged = np.asarray([np.asarray(c, dtype=np.float64).ravel() for c in correct])
    if judged.ndim != 2:
        raise ValueError("the models were judged on different numbers of rows")
    if not judged.shape[1]:
        raise ValueError("no rows to compare on")
    rng = np.random.default_rng(seed)
    out = np.empty((len(judged), draws), dtype=np.float64)
    for start in range(0, draws, 256):  # blocks of resamples: memory stays rows x 256
        k = min(256, draws - start)
        picks = rng.integers(0, judged.shape[1], size=(k, judged.shape[1]))
        for m, row in enumerate(judged):
            out[m, start:start + k] = row[picks].mean(axis=1)
    return out


def difference(point: float, resampled: np.ndarray, *, level: float = 0.95) -> Interval:
    """The percentile interval of a difference from its resampled values."""
    if not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1, got {level}")
    tail = (1 - level) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail])
    return Interval(float(point), float(low), float(high), level, len(resampled))


def paired_difference(correct_a, correct_b, *, draws: int = 2000, seed: int = 0, level: float = 0.95) -> Interval:
    """Accuracy of a minus that of b over the same rows (0/1 per row: right or wrong), with a
    percentile interval from `draws` paired bootstrap resamples."""
    a = np.asarray(correct_a, dtype=np.float64).ravel()
    b = np.asarray(correct_b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"the two models were judged on different rows ({len(a)} vs {len(b)})")
    acc = resampled_accuracies([a, b], draws=draws, seed=seed)
    return difference(float(a.mean() - b.mean()), acc[0] - acc[1], level=level)

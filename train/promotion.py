"""Which model serves: the promotion rule, over every contender's answers on one frozen test set.

The contenders are the candidate, its baselines (versions stored with baseline_of = the
candidate) and the current production model, each judged right or wrong on the same rows.
"Better" means better beyond the noise of that test set: the lower end of a paired
bootstrap interval of the accuracy difference (train/evaluation.py) is above zero.

The contenders are taken in order of preference: production first (a change must earn its
place), then the simpler models (linear, then trees, then neural; a baseline before a
candidate of the same kind), and the first one that no other contender beats beyond noise
wins. So a candidate only within noise of its baseline is not promoted: the simpler model
is, and the decision says by how much and how sure. The most accurate contender is never
beaten beyond noise, so there is always a winner.

Pure: no Spark, no I/O (jobs/models.py scores the contenders and records the decision).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from train.evaluation import Interval, difference, resampled_accuracies

ROLES = ("production", "baseline", "candidate")
SIMPLICITY = {"logreg": 0, "tfidf_logreg": 0, "gbt": 1}  # other kinds (the neural ones): 2


@dataclass(frozen=True)
class Contender:
    version: int
    kind: str
    role: str                      # production | candidate | baseline
    correct: tuple[int, ...] = field(repr=False)   # 1 where right, per test row (one row order for all)
    evaluation: dict | None = field(default=None, compare=False, repr=False)  # train/evaluation.Evaluation

    @property
    def accuracy(self) -> float:
        return sum(self.correct) / len(self.correct)

    def describe(self) -> str:
        return f"v{self.version} ({self.role}, {self.kind}) {self.accuracy:.4f}"


def preference(c: Contender) -> tuple:
    """Who keeps or takes the place when nobody beats it beyond noise: smaller first."""
    return (c.role != "production", SIMPLICITY.get(c.kind, 2), ROLES.index(c.role), c.version)


@dataclass(frozen=True)
class Decision:
    winner: Contender
    contenders: tuple[Contender, ...]
    versus: dict[int, Interval]          # each other contender's accuracy minus the winner's
    passed_over: dict[int, tuple[int, Interval]]  # preferred to the winner, but beaten: by whom, by how much
    confidence: float
    draws: int

    @property
    def promoted(self) -> bool:
        """Production changes (to the candidate or to one of its baselines)."""
        return self.winner.role != "production"

    @property
    def runner_up(self) -> Contender | None:
        """The most accurate contender other than the winner."""
        others = sorted((c for c in self.contenders if c is not self.winner), key=lambda c: (-c.accuracy, c.version))
        return others[0] if others else None

    @property
    def margin(self) -> float | None:
        """Winner's accuracy minus the runner-up's: below zero when a simpler model won
        within the noise."""
        return None if self.runner_up is None else self.winner.accuracy - self.runner_up.accuracy

    def reason(self, rows: int, test_set: str) -> str:
        w = self.winner
        lead = "" if any(c.role == "production" for c in self.contenders) else "no production model yet; "
        if self.runner_up is None:
            return f"{lead}the only contender, v{w.version} ({w.kind}) scored {w.accuracy:.4f} on {rows:,} test " \
                   f"rows ({test_set})"
        how_sure = f"{self.confidence:.0%} paired bootstrap intervals over {self.draws:,} resamples of the " \
                   f"same {rows:,} test rows ({test_set})"
        others = sorted((c for c in self.contenders if c is not w), key=lambda c: (-c.accuracy, c.version))
        vs = ", ".join(f"v{c.version} ({c.role}, {c.kind}) {c.accuracy:.4f}: {self.versus[c.version].describe()}"
                       for c in others)
        cand = next((c for c in self.contenders if c.role == "candidate"), None)
        if w.role == "production":
            what = f"production stays: v{w.version} ({w.kind}) {w.accuracy:.4f}; no contender beats it beyond noise"
        elif w.role == "candidate":
            what = f"the candidate wins: v{w.version} ({w.kind}) {w.accuracy:.4f} beats every model preferred to " \
                   f"it beyond noise"
        elif cand is not None and cand.accuracy > w.accuracy:
            what = f"the candidate is not better beyond noise, so the simpler model is promoted: v{w.version} " \
                   f"({w.kind} baseline) {w.accuracy:.4f}"
        else:
            what = f"a baseline is at least as accurate as the candidate and is promoted instead: v{w.version} " \
                   f"({w.kind}) {w.accuracy:.4f}"
        return f"{lead}{what} (each other contender minus the winner: {vs}; {how_sure})"

    def to_dict(self) -> dict:
        def one(c: Contender) -> dict:
            out = {"version": c.version, "kind": c.kind, "role": c.role, "accuracy": c.accuracy}
            if c.evaluation is not None:
                out["evaluation"] = c.evaluation
            if c.version in self.versus:
                out["minus_winner"] = self.versus[c.version].to_dict()
            if c.version in self.passed_over:
                by, iv = self.passed_over[c.version]
                out["beaten_by"] = {"version": by, **iv.to_dict()}
            return out

        runner_up = self.runner_up
        return {"contenders": [one(c) for c in self.contenders], "winner": one(self.winner),
                "runner_up": one(runner_up) if runner_up else None, "margin": self.margin,
                "confidence": self.confidence, "bootstrap_draws": self.draws}


def decide(contenders: list[Contender], *, confidence: float = 0.95, draws: int = 2000, seed: int = 0) -> Decision:
    """The first contender in order of preference that no other beats beyond noise."""
    if not contenders:
        raise ValueError("no contenders to decide between")
    if len({len(c.correct) for c in contenders}) != 1:
        raise ValueError("the contenders were judged on different rows")
    acc = resampled_accuracies([c.correct for c in contenders], draws=draws, seed=seed)
    index = {c.version: i for i, c in enumerate(contenders)}

    def minus(a: Contender, b: Contender) -> Interval:  # a's accuracy minus b's
        i, j = index[a.version], index[b.version]
        return difference(a.accuracy - b.accuracy, acc[i] - acc[j], level=confidence)

    passed_over: dict[int, tuple[int, Interval]] = {}
    winner = None
    for c in sorted(contenders, key=preference):
        beaten = [(o, minus(o, c)) for o in contenders if o is not c]
        beaten = [(o, iv) for o, iv in beaten if iv.beyond_noise()]
        if not beaten:
            winner = c
            break
        o, iv = max(beaten, key=lambda x: x[1].difference)
        passed_over[c.version] = (o.version, iv)
    if winner is None:  # only a degenerate interval could beat the most accurate one
        winner = max(contenders, key=lambda c: c.accuracy)
    versus = {c.version: minus(c, winner) for c in contenders if c is not winner}
    return Decision(winner, tuple(contenders), versus, passed_over, confidence, draws)


def judged(truth, probability) -> tuple[int, ...]:
    """1 where the prediction (probability >= 0.5) matches the 0/1 truth."""
    t = np.asarray(truth, dtype=np.int64).ravel()
    p = np.asarray(probability, dtype=np.float64).ravel()
    return tuple(int(x) for x in ((p >= 0.5).astype(np.int64) == t))

"""Which model serves: the promotion rule, over accuracies measured on one frozen test set.

The contenders are the candidate, its baselines (versions stored with baseline_of = the
candidate) and the current production model. The most accurate wins. A tie with production
keeps production (a change must earn its place); among the others a tie goes to the
candidate over a baseline, then to the older version. So a candidate that loses to one of
its baselines is not promoted: the baseline that beat it is, and the decision says so.

Pure: no Spark, no I/O (jobs/models.py measures and records).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

ROLES = ("production", "candidate", "baseline")  # tie order: the first keeps (or takes) the place


@dataclass(frozen=True)
class Contender:
    version: int
    kind: str
    role: str          # production | candidate | baseline
    accuracy: float

    def describe(self) -> str:
        return f"v{self.version} ({self.role}, {self.kind}) {self.accuracy:.4f}"


@dataclass(frozen=True)
class Decision:
    winner: Contender
    contenders: tuple[Contender, ...]
    margin: float | None     # winner's accuracy minus the best other contender's (None: no other)
    runner_up: Contender | None

    @property
    def promoted(self) -> bool:
        """Production changes (to the candidate or to one of its baselines)."""
        return self.winner.role != "production"

    def reason(self, rows: int, test_set: str) -> str:
        ranked = ", ".join(c.describe() for c in sorted(self.contenders, key=_rank))
        had_production = any(c.role == "production" for c in self.contenders)
        lead = "" if had_production else "no production model yet; "
        if self.runner_up is None:
            return f"{lead}the only contender, v{self.winner.version} ({self.winner.kind}) scored {self.winner.accuracy:.4f} " \
                   f"on {rows:,} test rows ({test_set})"
        how = "ties" if self.margin == 0 else f"beats v{self.runner_up.version} ({self.runner_up.role}) by {self.margin:.4f}"
        what = {"production": "production stays", "candidate": "the candidate wins",
                "baseline": "a baseline beats the candidate and is promoted instead"}[self.winner.role]
        return (f"{lead}{what}: v{self.winner.version} ({self.winner.kind}) {self.winner.accuracy:.4f} {how} "
                f"on the same {rows:,} test rows ({test_set}); contenders: {ranked}")

    def to_dict(self) -> dict:
        return {"contenders": [asdict(c) for c in self.contenders], "winner": asdict(self.winner),
                "runner_up": asdict(self.runner_up) if self.runner_up else None, "margin": self.margin}


def _rank(c: Contender) -> tuple:
    return (-c.accuracy, ROLES.index(c.role), c.version)


def decide(contenders: list[Contender]) -> Decision:
    """The best contender by accuracy (ties: production, then the candidate, then the older version)."""
    if not contenders:
        raise ValueError("no contenders to decide between")
    ranked = sorted(contenders, key=_rank)
    winner = ranked[0]
    runner_up = ranked[1] if len(ranked) > 1 else None
    margin = None if runner_up is None else winner.accuracy - runner_up.accuracy
    return Decision(winner, tuple(contenders), margin, runner_up)

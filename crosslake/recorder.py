"""The recorder of one run: what it read, wrote and counted, under one run id.

Made by whoever starts the work (the runner for a job, the pipeline for each stage) and
handed to the `Lake` the work goes through (crosslake/lake.py); crosslake/ledger.py
writes it to the `runs` table when the work ends. No module-global "current run": a
run is an object passed to what it records.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


@dataclass
class Run:
    """What one run read, wrote and counted. `child(job)` is a run inside this one (a
    pipeline's stage): its reads and writes become the parent's too when it ends."""
    job: str
    run_id: str = field(default_factory=new_run_id)
    parent: Run | None = None
    started: float = field(default_factory=time.time)
    inputs: dict[str, int | None] = field(default_factory=dict)
    outputs: list[tuple[str, int]] = field(default_factory=list)  # (table, version) written
    counts: dict[str, int] = field(default_factory=dict)
    fingerprint: str | None = None  # of the settings and code a build ran with (stages/freshness.py)

    @property
    def parent_run_id(self) -> str | None:
        return self.parent.run_id if self.parent is not None else None

    def child(self, job: str) -> Run:
        return Run(job, parent=self)

    def record_input(self, table: str, version: int | None) -> None:
        """The first version read of a table is the one the run depends on (reading back what
        the run itself wrote is not a dependency)."""
        if all(t != table for t, _ in self.outputs):
            self.inputs.setdefault(table, version)

    def record_output(self, table: str, version: int) -> None:
        """The version a run wrote (a table's last one; every version of a model: a training
        run stores the candidate and its baselines as versions of one registered model)."""
        if table.startswith("model:"):
            if (table, version) not in self.outputs:
                self.outputs.append((table, version))
            return
        self.outputs = [(t, v) for t, v in self.outputs if t != table] + [(table, version)]

    def record_count(self, name: str, value: int) -> None:
        self.counts[name] = int(value)

    def _hand_up(self) -> None:
        if self.parent is None:
            return
        for table, version in self.inputs.items():
            self.parent.record_input(table, version)
        for table, version in self.outputs:
            self.parent.record_output(table, version)

"""The run ledger: one Delta row per job run.

Each row says what the run read (table and version), what it wrote (table and version,
models included), its row counts, profile, code version, duration and how it ended
(success, blocked by data quality, failed). Reads and writes through crosslake.lake
are recorded automatically, so a job cannot forget to. `crosslake runs trace` walks the
rows backwards from a model to the source files it came from.
"""

from __future__ import annotations

import logging
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

from pyspark.sql import SparkSession

from crosslake.config import Config
from crosslake.errors import DataQualityError

log = logging.getLogger(__name__)
TABLE = "runs"
SCHEMA = (
    "run_id string, parent_run_id string, job string, profile string, status string, error string, "
    "started_at timestamp, finished_at timestamp, duration_s double, "
    "inputs array<struct<table:string,version:bigint>>, outputs array<struct<table:string,version:bigint>>, "
    "counts map<string,bigint>, code_version string"
)


@dataclass
class Run:
    run_id: str
    job: str
    parent_run_id: str | None
    started: float = field(default_factory=time.time)
    inputs: dict[str, int | None] = field(default_factory=dict)
    outputs: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


_active: list[Run] = []


def current() -> Run | None:
    return _active[-1] if _active else None


def record_input(table: str, version: int | None) -> None:
    """The first version read of a table is the one the run depends on (reading back what
    the run itself wrote is not a dependency)."""
    if (run := current()) is not None and table not in run.outputs:
        run.inputs.setdefault(table, version)


def record_output(table: str, version: int) -> None:
    if (run := current()) is not None:
        run.outputs[table] = version


def record_count(name: str, value: int) -> None:
    if (run := current()) is not None:
        run.counts[name] = int(value)


@contextmanager
def run(spark: SparkSession, cfg: Config, job: str) -> Iterator[Run]:
    """Record the enclosed work as one run (nested runs name their parent)."""
    from crosslake.runner import new_run_id

    parent = current()
    entry = Run(new_run_id(), job, parent.run_id if parent else None)
    _active.append(entry)
    status, error = "success", None
    try:
        yield entry
    except DataQualityError as exc:
        status, error = "blocked", str(exc)
        raise
    except BaseException as exc:
        status, error = "failed", "".join(traceback.format_exception_only(exc)).strip()
        raise
    finally:
        _active.pop()
        _write(spark, cfg, entry, status, error)
        if parent is not None:  # a stage's reads and writes are the pipeline's too
            for table, version in entry.inputs.items():
                if table not in parent.outputs:
                    parent.inputs.setdefault(table, version)
            parent.outputs.update(entry.outputs)


def _write(spark: SparkSession, cfg: Config, entry: Run, status: str, error: str | None) -> None:
    from crosslake import lake
    from crosslake.runner import code_version

    finished = time.time()
    row = (
        entry.run_id, entry.parent_run_id, entry.job, cfg.profile, status, (error or None) and error[:2000],
        datetime.fromtimestamp(entry.started, timezone.utc), datetime.fromtimestamp(finished, timezone.utc),
        round(finished - entry.started, 3),
        [(t, v) for t, v in entry.inputs.items()], [(t, v) for t, v in entry.outputs.items()],
        entry.counts, code_version(),
    )
    try:
        lake.write_table(spark.createDataFrame([row], SCHEMA), cfg, TABLE, mode="append", record=False)
    except Exception as exc:  # never hide the job's own outcome behind a ledger failure
        log.warning("could not record run %s in the ledger: %s", entry.run_id, exc)

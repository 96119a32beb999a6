"""The run ledger: one Delta row per job run, written from its recorder.

A `Run` (crosslake/recorder.py) is made by whoever starts the work (the runner for a job, the pipeline for each
stage it runs, a notebook for itself) and handed to the `Lake` the work reads and writes
through (crosslake/lake.py): every read and write is recorded there, so a job cannot
forget to, and there is no module-global "current run". One run id per run: the ledger
row, bronze's landing run, quarantine and data-quality rows and the model's metadata all
carry `run.run_id`.

Each row says what the run read (table and version), what it wrote (table and version,
models included), its row counts, profile, code version, duration and how it ended
(success, blocked by data quality, failed). `crosslake runs trace` walks the rows
backwards from a model to the source files it came from.
"""

from __future__ import annotations

import logging
import subprocess
import time
import traceback
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from crosslake.errors import DataQualityError
from crosslake.recorder import Run, new_run_id  # noqa: F401  (new_run_id: for the runner)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from crosslake.config import Config

log = logging.getLogger(__name__)
TABLE = "runs"
SCHEMA = (
    "run_id string, parent_run_id string, job string, profile string, status string, error string, "
    "started_at timestamp, finished_at timestamp, duration_s double, "
    "inputs array<struct<table:string,version:bigint>>, outputs array<struct<table:string,version:bigint>>, "
    "counts map<string,bigint>, code_version string, fingerprint string"
)


@contextmanager
def recording(spark: SparkSession, cfg: Config, entry: Run) -> Iterator[Run]:
    """Write `entry` to the ledger when the enclosed work ends, with how it ended."""
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
        _write(spark, cfg, entry, status, error)
        entry._hand_up()


def _write(spark: SparkSession, cfg: Config, entry: Run, status: str, error: str | None) -> None:
    from crosslake import lake

    finished = time.time()
    row = (
        entry.run_id, entry.parent_run_id, entry.job, cfg.profile, status, (error or None) and error[:2000],
        datetime.fromtimestamp(entry.started, timezone.utc), datetime.fromtimestamp(finished, timezone.utc),
        round(finished - entry.started, 3),
        [(t, v) for t, v in entry.inputs.items()], list(entry.outputs),
        entry.counts, code_version(), entry.fingerprint,
    )
    try:
        lake.write_table(spark.createDataFrame([row], SCHEMA), cfg, TABLE, mode="append")
    except Exception as exc:  # never hide the job's own outcome behind a ledger failure
        log.warning("could not record run %s in the ledger: %s", entry.run_id, exc)


def code_version() -> str:
    """The git commit of the code that ran (with -dirty if uncommitted changes), else the package version."""
    root = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        from crosslake import __version__

        return f"crosslake-{__version__}"

"""Ingest, for any workload: land the source's records in the workload's bronze table.

How records land is the workload's own (the review corpus is mirrored file by file; a
declared dataset's files are upserted by file and line, a database table is landed by its
extract); the stage is the one entry point, and what it returns reports itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crosslake.lake import Lake
    from workloads.base import Workload


def run(lk: Lake, workload: Workload, *, source: str | None = None,
        full: bool = False) -> Any:
    """source: where to read instead of the workload's configured source; full: re-read a
    database table whole (an incremental extract otherwise)."""
    return workload.land(lk, source=source, full=full)

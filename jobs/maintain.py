"""Maintain: compact small files (OPTIMIZE) and delete unreferenced old files (VACUUM).

    crosslake maintain [--table silver] [--retention-hours 168] [--dry-run]
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/maintain.py

VACUUM deletes the files old versions need, so it is refused below the profile's
time-travel promise (lake.time_travel_hours): tables stay readable that far back.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crosslake.arguments import count
from crosslake.cli import STAGES
from crosslake.config import EACH, Config
from crosslake.errors import ConfigError
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NAME = "maintain"
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
LAKE = "write"  # an existing, writable lake: maintain never creates one (nor a ledger in a mistyped root)
DELTA_SAFETY_HOURS = 168  # Delta's own VACUUM floor, unless its check is switched off


def add_arguments(parser) -> None:
    parser.add_argument("--table", action="append", help="only this table (repeatable; default: all)")
    parser.add_argument("--retention-hours", type=count(0),
                        help="keep files newer than this (default: maintenance.vacuum_retention_hours)")
    parser.add_argument("--dry-run", action="store_true", help="report what VACUUM would delete, delete nothing")


@dataclass
class TableMaintenance:
    name: str
    files_before: int
    files_after_optimize: int
    vacuumed_paths: int
    version: int


@dataclass
class MaintainResult:
    retention_hours: int
    dry_run: bool
    tables: list[TableMaintenance] = field(default_factory=list)

    def report(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        lines = [f"maintenance (VACUUM retention {self.retention_hours} h{', dry run' if self.dry_run else ''}):"]
        for t in self.tables:
            lines.append(f"  {t.name}: files {t.files_before} -> {t.files_after_optimize} after OPTIMIZE; "
                         f"VACUUM {verb} {t.vacuumed_paths} old files and empty folders; version {t.version}")
        return "\n".join(lines)


def run(spark: SparkSession, cfg: Config, *, table: list[str] | None = None, retention_hours: int | None = None,
        dry_run: bool = False) -> MaintainResult:
    from crosslake import lake
    from delta.tables import DeltaTable

    hours = cfg.maintenance.vacuum_retention_hours if retention_hours is None else retention_hours
    promise = cfg.lake.time_travel_hours
    if hours < promise:
        raise ConfigError(f"refusing to VACUUM with {hours} h retention: profile '{cfg.profile}' promises {promise} h "
                          f"of time travel (lake.time_travel_hours); lower that promise in the profile to go below it")
    # Our floor replaces Delta's fixed 7-day one, which would refuse a shorter promise.
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", str(hours >= DELTA_SAFETY_HOURS).lower())
    result = MaintainResult(hours, dry_run)
    if table:
        for name in table:
            cfg.require_writer(name)  # OPTIMIZE and VACUUM write: only the owning cluster may
    owned = table or [n for n in cfg.tables if cfg.tables[n].owner in (EACH, *cfg.cluster.roles)]
    for name in owned:
        path = cfg.table_path(name)
        if not lake.exists(spark, path):
            continue
        delta = DeltaTable.forPath(spark, path)
        before = delta.detail().first().numFiles
        if cfg.maintenance.optimize and not dry_run:
            delta.optimize().executeCompaction()
        after = delta.detail().first().numFiles
        doomed = spark.sql(f"VACUUM delta.`{path}` RETAIN {hours} HOURS DRY RUN").count()
        if not dry_run and doomed:
            delta.vacuum(hours)
        result.tables.append(TableMaintenance(name, before, after, doomed, lake.current_version(spark, path)))
    return result


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

"""Ingest: review files in the drop zone -> bronze (bytes exactly as landed); with
--dataset NAME, a declared dataset's files (or its database table) -> <name>_bronze.

    crosslake ingest [--source PATH] [--dataset NAME [--full]]
    spark-submit --jars .jars/delta-spark_2.13-4.0.1.jar,.jars/delta-storage-4.0.1.jar jobs/ingest.py

The landing itself is the workload's: workloads/reviews_landing.py mirrors the review
folders (or the archive) into bronze file by file (added, changed, deleted, unchanged; links
and special files are never read, crosslake/files.py), and workloads/tabular_landing.py
upserts a dataset's records by file and line. The counts are printed and recorded in the
run ledger.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])
from typing import TYPE_CHECKING

from crosslake.cli import STAGES
from crosslake.recorder import Run
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from crosslake.config import Config

NAME = "ingest"
ROLE = "training"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)


def add_arguments(parser) -> None:
    parser.add_argument("--source", help="corpus folder or .tar.gz (default: source.path); with --dataset, "
                                         "the dataset's file or folder (default: its source.path)")
    parser.add_argument("--dataset", help="ingest a tabular dataset declared under datasets: in conf/ into "
                                          "<name>_bronze (a jdbc source runs its extract)")
    parser.add_argument("--full", action="store_true", help="--dataset with a jdbc source: re-read the whole table")


def run(spark: SparkSession, cfg: Config, *, source: str | None = None, dataset: str | None = None,
        full: bool = False, recorder: Run | None = None):
    from crosslake.lake import Lake
    from stages import ingest
    from workloads import pick

    return ingest.run(Lake(spark, cfg, recorder), pick(cfg, dataset), source=source, full=full)


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

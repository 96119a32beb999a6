"""Clean: bronze -> silver, gated by the silver_reviews suite; bad rows -> quarantine.
With --dataset NAME: <name>_bronze -> <name>_silver, gated by the dataset's suite.

    crosslake clean [--bronze-version N] [--dataset NAME]
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/clean.py

The order is stages/clean.py's, the same for every workload; the rules are the workload's
(workloads/reviews.py, workloads/tabular.py). For the reviews:

Rows failing a row-level check go to the quarantine table with the failed checks
named and their original bytes kept: the suite's checks, a file that ingest did not read
(its issue: link_outside_source, nested_file, file_too_large:<bytes>, ...), control
characters in the text, and conflicts between otherwise good rows (two files with one
review_id: duplicate_review_id; one text under both labels: conflicting_labels; every row
involved). Identical texts under one label are de-duplicated (the test copy wins). A
failed batch-level check (the quarantine fraction, the label skew of the quarantine, the
output checks) publishes nothing and exits with code 3. The job checks and logs:
rows in = rows published + rows quarantined + duplicates dropped.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

from typing import TYPE_CHECKING

from crosslake import arguments
from crosslake.cli import STAGES
from crosslake.recorder import Run
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from crosslake.config import Config
    from stages.clean import CleanResult
    from stages.freshness import UpToDate

NAME = "clean"
ROLE = "training"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)


def add_arguments(parser) -> None:
    arguments.add_rebuild(parser)
    parser.add_argument("--bronze-version", type=arguments.version, help="bronze version to read (default: latest)")
    parser.add_argument("--dataset", help="clean a tabular dataset declared under datasets: in conf/ "
                                          "(<name>_bronze -> <name>_silver) instead of the reviews")


def run(spark: SparkSession, cfg: Config, *, bronze_version: int | None = None,
        dataset: str | None = None, rebuild: bool = False, recorder: Run | None = None) -> CleanResult | UpToDate:
    from crosslake.lake import Lake
    from stages import clean
    from workloads import pick

    return clean.run(Lake(spark, cfg, recorder), pick(cfg, dataset), bronze_version=bronze_version,
                         rebuild=rebuild)


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

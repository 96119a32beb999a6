"""Features: silver -> vocabulary + gold (fixed-length token-id arrays for the model); with
--dataset NAME, <name>_silver -> <name>_encoding + <name>_gold (fixed-length float vectors).

    crosslake features [--silver-version N] [--dataset NAME]
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/features.py

The encoder (the vocabulary; a dataset's encoding) is learnt from the train split only
(nothing learnt from validation or test) and written as its own Delta table, stamped
with the silver version it came from; gold rows carry both the silver and the encoder
version. Unlabelled rows (unsup) are not model-ready training data and stay in silver
only. The order is stages/features.py's; the encoder and gold are the workload's.
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
    from stages.features import FeaturesResult
    from stages.freshness import UpToDate

NAME = "features"
ROLE = "training"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)


def add_arguments(parser) -> None:
    arguments.add_rebuild(parser)
    parser.add_argument("--silver-version", type=arguments.version, help="silver version to read (default: latest)")
    parser.add_argument("--dataset", help="a tabular dataset declared under datasets: in conf/ "
                                          "(<name>_silver -> <name>_encoding + <name>_gold)")


def run(spark: SparkSession, cfg: Config, *, silver_version: int | None = None,
        dataset: str | None = None, rebuild: bool = False, recorder: Run | None = None) -> FeaturesResult | UpToDate:
    from crosslake.lake import Lake
    from stages import features
    from workloads import pick

    return features.run(Lake(spark, cfg, recorder), pick(cfg, dataset), silver_version=silver_version,
                            rebuild=rebuild)


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

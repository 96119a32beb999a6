"""Train: a pinned gold version -> petastorm -> PyTorch CNN -> the model store.

    crosslake train [--gold-version N]
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/train.py

Stores the CNN (alias candidate) with its encoder, the exact data versions, config and code
version, and, as versions of the same registered model with `baseline_of` pointing at it,
the TF-IDF + logistic regression baseline fitted on the same split (train/service.py).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

from typing import TYPE_CHECKING

from crosslake import arguments
from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.recorder import Run
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from train.service import TrainResult

NAME = "train"
ROLE = "training"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)


def add_arguments(parser) -> None:
    parser.add_argument("--gold-version", type=arguments.version, help="gold version to train on (default: latest)")
    parser.add_argument("--dataset", help="train the tabular MLP on a dataset declared under datasets: in conf/ "
                                          "(<name>_gold -> model <name>_mlp)")
    parser.add_argument("--fresh", action="store_true",
                        help="train again from epoch 1 even if a model with the same settings and data exists or an "
                             "interrupted run left checkpoints")


def run(spark: SparkSession, cfg: Config, *, gold_version: int | None = None, fresh: bool = False,
        dataset: str | None = None, baselines: bool = True, recorder: Run | None = None) -> TrainResult:
    """baselines: also fit and store the workload's baselines (sweep trials do not)."""
    from crosslake.lake import Lake
    from stages import train
    from workloads import pick

    return train.run(Lake(spark, cfg, recorder), pick(cfg, dataset), gold_version=gold_version, fresh=fresh,
                     baselines=baselines)


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

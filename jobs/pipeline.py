"""The whole chain in one Spark session: [generate] -> ingest -> clean -> features -> train -> promote -> score.
On a cluster without the scoring role (the onprem-gpu profile) it stops after promote.

    crosslake pipeline
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/pipeline.py

If source.path holds no corpus yet, a synthetic one of the profile's size is generated
first (the embedded default needs nothing else).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NAME = "pipeline"
ROLE = "training"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--regenerate", action="store_true", help="write a fresh synthetic corpus first")
    parser.add_argument("--dataset", help="run a tabular dataset declared under datasets: in conf/ instead: "
                                          "ingest (or extract) -> clean -> features -> train -> promote")


@dataclass
class PipelineResult:
    stages: list[tuple[str, Any, float]] = field(default_factory=list)  # (stage, result, seconds)

    def report(self) -> str:
        lines = ["", "crosslake pipeline: done", ""]
        for _stage, result, _ in self.stages:
            lines.append(result.report())
        lines.append("")
        lines.append("time per stage: " + ", ".join(f"{s} {sec:.0f}s" for s, _, sec in self.stages)
                     + f" (total {sum(sec for *_, sec in self.stages):.0f}s)")
        return "\n".join(lines)


def run(spark: SparkSession, cfg: Config, *, regenerate: bool = False, dataset: str | None = None) -> PipelineResult:
    from crosslake import ledger
    from jobs import clean, features, generate, ingest, score, train

    result = PipelineResult()
    if dataset:
        steps = _dataset_steps(cfg, dataset, regenerate)
    else:
        source = Path(cfg.source.path)
        steps = [("ingest", ingest.run), ("clean", clean.run), ("features", features.run), ("train", train.run),
                 ("promote", promote), ("score", score.run)]
        if regenerate or (not source.exists() and not source.name.endswith((".tar.gz", ".tgz"))):
            log.info("no corpus at %s: generating a synthetic one", source)
            steps.insert(0, ("generate", generate.run))
        if "scoring" not in cfg.cluster.roles:
            log.info("cluster %s does not score: scoring runs on the scoring side (`crosslake score` there)",
                     cfg.cluster.name)
            steps = [s for s in steps if s[0] != "score"]
    options = {"dataset": dataset} if dataset else {}
    for i, (stage, fn) in enumerate(steps, 1):
        log.info("stage %d/%d: %s", i, len(steps), stage)
        started = time.monotonic()
        if stage == "generate":  # writes files, not tables: nothing for the ledger
            outcome = fn(spark, cfg, **options)
        else:
            with ledger.run(spark, cfg, stage):
                outcome = fn(spark, cfg, **options)
        result.stages.append((stage, outcome, time.monotonic() - started))
    return result


def promote(spark: SparkSession, cfg: Config, dataset: str | None = None):
    """The new candidate becomes production only if it beats the current one (jobs/models.py)."""
    from jobs import models

    return models.run(spark, cfg, action="promote", dataset=dataset)


def _dataset_steps(cfg: Config, dataset: str, regenerate: bool) -> list[tuple[str, Any]]:
    from jobs import clean, features, generate, ingest, train

    ds = cfg.dataset(dataset)
    steps = [("ingest", ingest.run), ("clean", clean.run), ("features", features.run), ("train", train.run),
             ("promote", promote)]
    missing = ds.source.format == "csv" and not Path(ds.source.path).exists()
    if regenerate or missing:
        log.info("no files at %s: generating the example data", ds.source.path)
        steps.insert(0, ("generate", generate.run))
    return steps


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

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
from typing import TYPE_CHECKING, Any, Callable

from crosslake import arguments
from crosslake.cli import STAGES
from crosslake.recorder import Run
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from crosslake.config import Config
    from workloads.base import Workload

NAME = "pipeline"
ROLE = "training"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--regenerate", action="store_true", help="write a fresh synthetic corpus first")
    arguments.add_rebuild(parser)
    parser.add_argument("--dataset", help="run a tabular dataset declared under datasets: in conf/ instead: "
                                          "ingest (or extract) -> clean -> features -> train -> promote")


@dataclass
class PipelineResult:
    stages: list[tuple[str, Any, float]] = field(default_factory=list)  # (stage, result, seconds)

    def report(self) -> str:
        lines = ["", "crosslake pipeline: done", ""]
        for _stage, result, _ in self.stages:
            lines.append(result.report())
            if hasattr(result, "comparison") and (table := result.comparison()):  # promote: each contender, winner
                lines.append(table)
        lines.append("")
        lines.append("time per stage: " + ", ".join(f"{s} {sec:.0f}s" for s, _, sec in self.stages)
                     + f" (total {sum(sec for *_, sec in self.stages):.0f}s)")
        return "\n".join(lines)


def run(spark: SparkSession, cfg: Config, *, regenerate: bool = False, dataset: str | None = None,
        rebuild: bool = False, recorder: Run | None = None) -> PipelineResult:
    from crosslake import ledger
    from workloads import pick

    result = PipelineResult()
    steps = _steps(cfg, pick(cfg, dataset), regenerate, rebuild)
    for i, (stage, fn) in enumerate(steps, 1):
        log.info("stage %d/%d: %s", i, len(steps), stage)
        started = time.monotonic()
        if stage == "generate":  # writes files, not tables: nothing for the ledger
            outcome = fn(spark, cfg, None)
        else:
            # each stage is a run of its own inside the pipeline's (its ledger row names the parent)
            stage_run = recorder.child(stage) if recorder is not None else Run(stage)
            with ledger.recording(spark, cfg, stage_run):
                outcome = fn(spark, cfg, stage_run)
        result.stages.append((stage, outcome, time.monotonic() - started))
    return result


def promote(spark: SparkSession, cfg: Config, dataset: str | None = None):
    """The new candidate becomes production only if it beats the current one (jobs/models.py)."""
    from jobs import models

    return models.run(spark, cfg, action="promote", dataset=dataset)


def _steps(cfg: Config, workload: Workload, regenerate: bool, rebuild: bool = False) -> list[tuple[str, Callable]]:
    """[generate] -> ingest -> clean -> features -> train -> promote [-> score], each a
    function of (spark, cfg, the stage's run) over the one workload: generate when asked or
    when the workload has no source yet; score where the workload is scored and this cluster
    has that role."""
    from crosslake.lake import Lake
    from jobs import score, train
    from stages import clean, features, ingest

    def stage(module, **kwargs):
        return lambda spark, cfg, run: module.run(Lake(spark, cfg, run), workload, **kwargs)

    def job(module, **kwargs):
        return lambda spark, cfg, run: module.run(spark, cfg, recorder=run, **kwargs)

    options = workload.options()  # the model jobs pick the same workload from these
    steps = [("ingest", stage(ingest)), ("clean", stage(clean, rebuild=rebuild)),
             ("features", stage(features, rebuild=rebuild)),
             ("train", job(train, **options)),
             ("promote", lambda spark, cfg, _run: promote(spark, cfg, **options))]
    if workload.scores:
        if "scoring" in cfg.cluster.roles:
            steps.append(("score", job(score, **options)))
        else:
            log.info("cluster %s does not score: scoring runs on the scoring side (`crosslake score` there)",
                     cfg.cluster.name)
    missing = workload.missing_source()
    if regenerate or missing:
        log.info("%s", missing or workload.generate_reason())
        steps.insert(0, ("generate", lambda _spark, cfg, _run: workload.generate(cfg)))
    return steps


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

"""Sweep: a small hyper-parameter grid as independent training runs, and a results table.

    crosslake sweep --grid lr=0.001,0.003 --grid num_filters=64,96 [--promote-best]
    crosslake sweep --dataset loans --grid lr=0.001,0.01 --grid weight_decay=0,0.001

Every combination of the grid's values (keys are fields of `train:`) is trained as its
own run on the same pinned gold version and stored as its own model version. Each
trial's settings, model version, best validation accuracy, test accuracy and duration go
into the `sweeps` table. The best trial is chosen by validation accuracy (the test split
stays untouched by the choice); with --promote-best it becomes the candidate and goes
through the usual promotion (`crosslake models promote`).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import dataclasses
import itertools
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import yaml

from crosslake import arguments
from crosslake.cli import STAGES
from crosslake.config import Config, train_setting_problem
from crosslake.errors import ConfigError
from crosslake.recorder import Run
from crosslake.runner import job_main
from train.config import TrainConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NAME = "sweep"
ROLE = "training"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
RESULTS_SCHEMA = ("sweep_id string, trial int, params string, model_name string, model_version int, "
                  "best_val_accuracy double, test_accuracy double, seconds double, best boolean")
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                        help="a train: setting and the values to try (repeatable), e.g. --grid lr=0.001,0.003")
    parser.add_argument("--dataset", help="sweep the tabular MLP of a dataset declared in conf/")
    parser.add_argument("--gold-version", type=arguments.version, help="gold version every trial trains on (default: latest)")
    parser.add_argument("--promote-best", action="store_true",
                        help="make the best trial the candidate and run the promotion check")


@dataclass
class SweepResult:
    sweep_id: str
    rows: list[tuple] = field(default_factory=list)
    promotion: str | None = None
    table_version: int | None = None

    def report(self) -> str:
        lines = [f"sweep {self.sweep_id}: {len(self.rows)} trials (sweeps table version {self.table_version})",
                 "trial  model          val acc  test acc  seconds  settings"]
        for r in sorted(self.rows, key=lambda r: -r[5]):
            lines.append(f"{r[1]:>5}  {r[3]} v{r[4]:<5} {r[5]:7.4f}  {r[6]:8.4f}  {r[7]:7.1f}  {r[2]}"
                         + ("   <- best" if r[8] else ""))
        if self.promotion:
            lines.append(self.promotion)
        return "\n".join(lines)


def parse_grid(items: list[str]) -> dict[str, list]:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    grid: dict[str, list] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip().removeprefix("train.")
        if not sep or not values:
            raise ConfigError(f"--grid expects KEY=V1,V2,..., got '{item}'")
        if key not in names:
            raise ConfigError(f"--grid: '{key}' is not a train: setting (choose from {', '.join(sorted(names))})")
        try:
            grid[key] = [yaml.safe_load(v) for v in values.split(",")]
        except yaml.YAMLError:
            raise ConfigError(f"--grid {item}: the values must be single numbers or words separated by commas "
                              f"(a list setting such as kernel_sizes cannot be swept)") from None
        for value in grid[key]:
            if (problem := train_setting_problem(key, value, f"train.{key}")) is not None:
                raise ConfigError(f"--grid {item}: {problem}")
    if not grid:
        raise ConfigError("give at least one --grid KEY=V1,V2")
    return grid


def check_options(*, grid: list[str], **_) -> None:
    """A grid mistake, found before the config loads and Spark starts."""
    parse_grid(grid)


def run(spark: SparkSession, cfg: Config, *, grid: list[str], dataset: str | None = None,
        gold_version: int | None = None, promote_best: bool = False, recorder: Run | None = None) -> SweepResult:
    from crosslake import ledger
    from crosslake.lake import Lake
    from jobs import models, train
    from train import registry
    from train.store import load_metadata

    axes = parse_grid(grid)
    combos = [dict(zip(axes, values)) for values in itertools.product(*axes.values())]
    from workloads import pick

    workload = pick(cfg, dataset)
    gold, model_name = workload.table("gold"), workload.model_name
    lk = Lake(spark, cfg, recorder)
    gold_version = lk.pin(gold, gold_version)  # every trial on the same data
    result = SweepResult(lk.run_id)
    for i, params in enumerate(combos, 1):
        log.info("sweep trial %d/%d: %s", i, len(combos), params)
        trial_cfg = workload.with_train_settings(params)
        started = time.monotonic()
        trial = lk.run.child("train")
        with ledger.recording(spark, trial_cfg, trial):
            # trials store no baselines (they do not depend on the trial's settings): `crosslake train` does
            trained = train.run(spark, trial_cfg, gold_version=gold_version, dataset=dataset, baselines=False,
                                recorder=trial)
        meta = load_metadata(cfg.model_store, model_name, trained.model_version)
        best_val = max(h["val_accuracy"] for h in meta["metrics"]["history"])
        result.rows.append((result.sweep_id, i, json.dumps(params, sort_keys=True), model_name,
                            trained.model_version, best_val, meta["metrics"]["test_accuracy"],
                            time.monotonic() - started, False))
    best = max(result.rows, key=lambda r: (r[5], -r[1]))  # ties: the earlier trial
    result.rows = [r[:8] + (r is best,) for r in result.rows]
    result.table_version = lk.write(spark.createDataFrame(result.rows, RESULTS_SCHEMA), "sweeps",
                                    mode="append").version
    if promote_best:
        cfg.require_writer("models")
        registry.set_alias(cfg.model_store, model_name, "candidate", best[4])
        result.promotion = models.promote(spark, cfg, best[4], name=model_name).report()
    return result



def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

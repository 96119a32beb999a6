"""The `crosslake` command: one subcommand per pipeline stage, plus the whole chain.

STAGES below is the one home of each stage's job module and one-line help (a job module's
HELP reads it): `crosslake --help` lists the stages from it without importing any job, and a
stage's job is imported only when that stage is parsed (a job imports Spark, torch or Great
Expectations only when it runs). This module imports nothing heavy, so jobs may import it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NamedTuple

from crosslake.arguments import Parser, parse


class Stage(NamedTuple):
    module: str  # the job module, imported only when this stage is parsed or run
    help: str


STAGES: dict[str, Stage] = {
    "generate": Stage("jobs.generate", (
        "Write a synthetic movie-review corpus in the exact aclImdb layout "
        "(train|test/pos|neg/<id>_<rating>.txt, train/unsup/) into source.path, "
        "including HTML, duplicates and a few malformed files. Sizes default to the profile's."
    )),
    "extract": Stage("jobs.extract", (
        "Copy a source database table (JDBC) into its bronze Delta table: only the rows past the remembered "
        "watermark, or --full. Credentials come from the environment."
    )),
    "ingest": Stage(
        "jobs.ingest",
        "Read the corpus in source.path (an aclImdb folder or aclImdb_v1.tar.gz) into the bronze Delta table."),
    "clean": Stage("jobs.clean", (
        "Parse, clean, validate and de-duplicate bronze into the silver table; quarantine rows "
        "that fail a row-level check; block the publish when a batch-level check fails."
    )),
    "features": Stage(
        "jobs.features",
        "Tokenise labelled silver reviews, build the vocabulary from the train split, write gold token-id arrays."),
    "train": Stage("jobs.train", (
        "Train the sentiment CNN on a pinned gold version (fed by petastorm) and the TF-IDF + "
        "logistic regression baseline on the same split; save the model with its lineage."
    )),
    "score": Stage("jobs.score", (
        "Score score.input_table (rows of score.splits) with the production model (else the latest); "
        "write the predictions table."
    )),
    "stream": Stage("jobs.stream", (
        "Score new reviews from the incoming table (or a drop zone of JSON-lines files) into live_predictions "
        "with Structured Streaming: exactly once across restarts; cron-style (available-now) or always on."
    )),
    "feedback": Stage("jobs.feedback", (
        "Record labels for live predictions (wrong ones included) and send low-confidence ones for review: "
        "the feedback table the next training run learns from."
    )),
    "serve": Stage(
        "jobs.serve",
        "Serve the review page: paste a review, see positive/negative, its confidence and the model version."),
    "pipeline": Stage("jobs.pipeline", (
        "Run every stage end to end: generate a corpus if there is none, ingest -> bronze, clean -> silver "
        "(+ quarantine), features -> gold, train the CNN and the baseline, promote it if it beats production, "
        "score -> predictions."
    )),
    "models": Stage(
        "jobs.models",
        "List, show, promote (candidate -> production, only if it wins) and roll back models in the registry."),
    "sweep": Stage("jobs.sweep", (
        "Train every combination of a small hyper-parameter grid as independent runs on the same gold version, "
        "record the results in the sweeps table, and optionally promote the best by validation accuracy."
    )),
    "tables": Stage("jobs.tables", (
        "List tables with version and row count, show a table's history, read a table as of an earlier "
        "version or time, or list the rows that changed since a version."
    )),
    "runs": Stage(
        "jobs.runs",
        "List job runs from the ledger, show one run's inputs and outputs, or trace a model back to its sources."),
    "dq": Stage(
        "jobs.dq",
        "Write the data-quality report of a run (every check, its result and observed value) as an HTML page."),
    "maintain": Stage("jobs.maintain", (
        "Compact small files (OPTIMIZE) and delete files older than the retention (VACUUM) in every table, "
        "never below the profile's time-travel promise."
    )),
}

EPILOG = """\
stages, in order:   generate -> ingest -> clean -> features -> train -> score
  (`crosslake pipeline` runs them all; it generates a corpus if source.path has none)

examples:
  crosslake pipeline                           everything, on the default 'local' profile
  crosslake generate --train 2000 --test 2000  a smaller synthetic corpus
  crosslake ingest --source ~/aclImdb_v1.tar.gz
  crosslake train --set train.epochs=2         override any config value
  crosslake tables history silver              versions of a table
  crosslake tables show gold --version 0       time travel
  crosslake tables changes silver --since 1    rows changed since a version
  crosslake maintain --dry-run                 what OPTIMIZE/VACUUM would do
  crosslake runs --status blocked              runs stopped by data quality
  crosslake dq report                          the latest data-quality report, as HTML
  crosslake models                             model versions, test accuracy, aliases
  crosslake models promote                     candidate -> production, only if it beats it
  crosslake sweep --grid lr=0.001,0.003        a grid of training runs, results in the sweeps table
  crosslake runs trace model:sentiment_cnn:1   a model back to the files it came from

tabular datasets (declared under datasets: in conf/, no Python needed):
  crosslake generate --dataset loans           the example dataset as CSV files
  crosslake pipeline --dataset loans           ingest (or extract) -> clean -> features
  crosslake clean --dataset loans              one stage: loans_bronze -> loans_silver

two clusters sharing one bucket (conf/onprem-gpu.yaml trains, conf/cloud-cpu.yaml scores):
  crosslake pipeline --profile onprem-gpu      ingest -> ... -> train -> promote, on the training side
  crosslake score --profile cloud-cpu          batch scoring with the production model
  crosslake stream --profile cloud-cpu         new rows of the incoming table, exactly once
  crosslake stream --trigger 10 --source files --path DROPZONE   always on, from dropped files
  crosslake feedback label --file labels.csv   labels (and wrong predictions) for the next training run
  crosslake serve --profile cloud-cpu          the review page, on http://127.0.0.1:8080/
  a job that writes the other side's tables is refused, naming the table and the owner

cron (runs never overlap: a second run while one holds the lock exits 4 at once):
  */5 * * * * cd /srv/crosslake && .venv/bin/crosslake stream --profile cloud-cpu --lock stream
  0 2 * * *   cd /srv/crosslake && .venv/bin/crosslake pipeline --profile onprem-gpu --lock pipeline

exit codes: 0 ok, 1 failed, 2 bad usage or config, 3 blocked by data quality, 4 skipped (--lock held).
configuration: conf/base.yaml + conf/<profile>.yaml; --profile or CROSSLAKE_PROFILE picks it.
"""


class _LazyStages(argparse._SubParsersAction):
    """Subcommands whose job module is imported (and its arguments added) only when that
    stage is the one on the command line: `crosslake --help` imports no job, and
    `crosslake STAGE ...` imports only STAGE's job (which imports Spark, torch or Great
    Expectations only when it runs)."""

    def __call__(self, parser, namespace, values, option_string=None):
        name = values[0]
        if name in STAGES and (sub := self._name_parser_map.get(name)) is not None:
            add_stage_arguments(sub, name)
        super().__call__(parser, namespace, values, option_string)


def add_stage_arguments(parser: argparse.ArgumentParser, stage: str) -> None:
    """Import `stage`'s job module and add its arguments to its sub-parser (once)."""
    from crosslake.runner import add_common_arguments  # config and YAML: not needed for `crosslake --help`

    if parser.get_default("_module") is not None:
        return
    module = importlib.import_module(STAGES[stage].module)
    module.add_arguments(parser)
    add_common_arguments(parser)
    parser.set_defaults(_module=module)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="crosslake", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="crosslake: Spark + Delta Lake pipelines from raw reviews (or a tabular dataset declared in "
                    "conf/) to a trained, registered, scored model.")
    parser.register("action", "parsers", _LazyStages)
    sub = parser.add_subparsers(dest="command", metavar="STAGE", required=True)
    for stage, (_, help_text) in STAGES.items():
        sub.add_parser(stage, help=help_text, description=help_text,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parse(build_parser(), argv)
    if args is None:
        return 2  # a usage mistake, already printed as one line; no config read, no JVM started
    from crosslake.runner import execute

    module = args._module
    del args._module
    return execute(module, args)


if __name__ == "__main__":
    sys.exit(main())

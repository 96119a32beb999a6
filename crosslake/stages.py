"""The stages of the `crosslake` command: name -> job module and one-line help.

The one home of each stage's help: `crosslake --help` lists the stages from here without
importing any job module (a job imports Spark, torch or Great Expectations only when it runs),
and each job module reads its HELP from here. Imports nothing.
"""

from __future__ import annotations

from typing import NamedTuple


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

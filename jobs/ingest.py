"""Ingest: review files in the drop zone -> bronze (bytes exactly as landed).

    crosslake ingest [--source PATH]
    spark-submit --jars .jars/delta-spark_2.13-4.0.1.jar,.jars/delta-storage-4.0.1.jar jobs/ingest.py

Each file becomes one bronze row: source path, content bytes, size, modification time,
ingest time and run id. Re-running on the same files adds nothing (files are keyed by
path); new files are added.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])
from dataclasses import dataclass

from pyspark.sql import SparkSession

from crosslake import lake, ledger
from crosslake.config import Config
from crosslake.files import read_files
from crosslake.runner import job_main, new_run_id
from sources.imdb_reader import open_corpus
from transforms.landing import with_landing_fields

NAME = "ingest"
ROLE = "training"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = "Read the corpus in source.path (an aclImdb folder or aclImdb_v1.tar.gz) into the bronze Delta table."


def add_arguments(parser) -> None:
    parser.add_argument("--source", help="corpus folder or .tar.gz (default: source.path); with --dataset, "
                                         "the dataset's file or folder (default: its source.path)")
    parser.add_argument("--dataset", help="ingest a tabular dataset declared under datasets: in conf/ into "
                                          "<name>_bronze (a jdbc source runs its extract)")
    parser.add_argument("--full", action="store_true", help="--dataset with a jdbc source: re-read the whole table")


@dataclass
class IngestResult:
    source: str
    files_read: int
    rows_added: int
    table: lake.TableInfo

    def report(self) -> str:
        t = self.table
        return (f"bronze: {t.path} (version {t.version}, {t.rows:,} rows)\n"
                f"  read {self.files_read:,} files from {self.source}; {self.rows_added:,} new")


def run(spark: SparkSession, cfg: Config, *, source: str | None = None, dataset: str | None = None,
        full: bool = False) -> IngestResult:
    if dataset:
        from jobs.tabular import ingest as tabular_ingest

        return tabular_ingest.run(spark, cfg, dataset, source=source, full=full)
    corpus = open_corpus(source or cfg.source.path, landing_dir=f"{cfg.scratch}/_landing")
    ledger.record_input(f"source:{corpus.origin}", None)
    files = read_files(spark, [str(d) for d in corpus.review_dirs])
    bronze = files.transform(
        with_landing_fields, run_id=new_run_id(), origin=corpus.origin,
        local_prefix=str(corpus.extracted_to) if corpus.archive else None,
        origin_prefix=f"{corpus.archive}!" if corpus.archive else None,
    ).cache()
    files_read = bronze.count()
    path = cfg.table_path("bronze")
    before = spark.read.format("delta").load(path).count() if lake.exists(spark, path) else 0
    version = lake.write_table(bronze, cfg, "bronze", mode="insert_new")
    after = spark.read.format("delta").load(path).count()
    ledger.record_count("files_read", files_read)
    ledger.record_count("rows_added", after - before)
    bronze.unpersist()
    return IngestResult(corpus.origin, files_read, after - before, lake.TableInfo("bronze", path, version, after))


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())

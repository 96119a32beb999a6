"""Generate, for any workload: the folder rules every generator follows, and their results.

A generator writes example source data (the review corpus, the example loans dataset)
into a folder that it may replace: only a folder that is missing, empty or marked as
written by generate before is replaced, never a folder of the user's own files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from crosslake.errors import ConfigError, CrosslakeError

if TYPE_CHECKING:
    from crosslake.config import Config
    from sources.loans_generator import Manifest

# Written into every folder generate fills: only such a folder (or an empty one) is replaced,
# never a folder of the user's own files.
MARKER = ".crosslake-generated"
LEGACY_README = "Synthetic stand-in for the Large Movie Review Dataset"


@dataclass
class GenerateResult:
    path: str
    files: int
    duplicates: int
    malformed: int

    def report(self) -> str:
        return (f"corpus: {self.path}\n  {self.files:,} files "
                f"({self.duplicates} repeated reviews, {self.malformed} malformed on purpose)")


@dataclass
class DatasetGenerateResult:
    dataset: str
    target: str
    manifest: Manifest

    def report(self) -> str:
        bad = ", ".join(f"{k} {v}" for k, v in sorted(self.manifest.quarantined.items()))
        return (f"{self.dataset}: {self.manifest.rows:,} rows written to {self.target}\n"
                f"  bad on purpose: {bad}; exact repeats {self.manifest.exact_repeats}")


def check_replaceable(folder: str, where: str) -> None:
    """Refuse to write into `folder` unless it is missing, empty or written by generate before:
    what generate writes replaces what is there, and a user's own files must not go with it."""
    path = Path(folder)
    if not path.exists():
        return
    if not path.is_dir():
        raise ConfigError(f"{where} {folder} is a file, not a folder: generate writes a folder of files there; "
                          f"name a folder (it is created if missing)")
    if (path / MARKER).is_file() or _legacy_corpus(path) or not any(path.iterdir()):
        return
    raise ConfigError(f"{where} {folder} holds files that `crosslake generate` did not write (no {MARKER} in it), "
                      f"and generating would replace them: pick an empty or new folder, or remove that one first")


def _legacy_corpus(path: Path) -> bool:
    """A folder generate wrote before it left the marker: a corpus whose README says it is
    synthetic, or nothing but the example dataset's loans-NNN.csv files."""
    try:
        if (path / "README").read_text(errors="replace").startswith(LEGACY_README):
            return True
    except OSError:
        pass
    return all(p.is_file() and re.fullmatch(r"loans-\d{3}\.csv", p.name) for p in path.iterdir())


def mark(folder: str) -> None:
    (Path(folder) / MARKER).write_text("written by `crosslake generate`: generate may replace this folder\n")


def write_database_table(cfg: Config, database: str, table: str, data: list[dict]) -> None:
    """Replace `table` in a configured database with `data` (a Spark session just for this)."""
    from pyspark.sql import SparkSession

    from crosslake.session import build_session
    from sources import loans_generator
    from jobs.extract import credentials

    db = cfg.databases[database]
    owns = SparkSession.getActiveSession() is None
    spark = build_session("generate", cfg)
    try:
        df = spark.createDataFrame(data, loans_generator.SPARK_SCHEMA)
        (df.write.format("jdbc").option("url", db.url).option("driver", db.driver).option("dbtable", table)
         .options(**credentials(db)).mode("overwrite").save())
    except Exception as exc:
        raise CrosslakeError(f"writing {table} to {db.url} failed: {str(exc).strip().splitlines()[0][:200]}") from exc
    finally:
        if owns:
            spark.stop()

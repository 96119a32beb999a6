"""Write a synthetic IMDB-style corpus (aclImdb layout) into the drop zone, or the
example tabular dataset (loans) as CSV files or into its source database.

    crosslake generate [--train N] [--test N] [--unsup N] [--out PATH]
    crosslake generate --dataset loans [--rows N] [--to csv|database]
    python -m jobs.generate ...
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])
from dataclasses import dataclass

from crosslake.arguments import count, folder_path
from crosslake.cli import STAGES
from crosslake.config import GENERATE_MAX, Config
from crosslake.errors import ConfigError, CrosslakeError
from crosslake.runner import job_main
from sources import loans_generator
from sources.imdb_generator import generate_corpus
from sources.loans_generator import Manifest

NAME = "generate"
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
NEEDS_SPARK = False
LAKE = "none"  # writes the source folder, not the lake
# Written into every folder generate fills: only such a folder (or an empty one) is replaced,
# never a folder of the user's own files.
MARKER = ".crosslake-generated"
LEGACY_README = "Synthetic stand-in for the Large Movie Review Dataset"


def add_arguments(parser) -> None:
    for split, cap in GENERATE_MAX.items():
        what = "unlabelled" if split == "unsup" else f"labelled {'training' if split == 'train' else 'test'}"
        parser.add_argument(f"--{split}", type=count(0, cap), help=f"{what} reviews (0 to {cap:,})")
    parser.add_argument("--seed", type=int, help="random seed (same seed, same corpus)")
    parser.add_argument("--out", type=folder_path,
                        help="target folder (default: source.path); replaced only if empty or written by generate")
    parser.add_argument("--dataset", help="write the example tabular dataset instead (loans)")
    parser.add_argument("--rows", type=count(1), default=2000, help="--dataset: rows to write (default 2000)")
    parser.add_argument("--to", choices=["csv", "database"], default="csv",
                        help="--dataset: CSV files in its source.path (default), or the table its extract "
                             "reads (credentials from the environment; the table is replaced)")


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


def run(_spark, cfg: Config, *, train=None, test=None, unsup=None, seed=None, out=None, dataset=None, rows=2000,
        to="csv"):
    from tqdm import tqdm

    if dataset:
        return generate_dataset(cfg, dataset, rows=rows, to=to, seed=cfg.generate.seed if seed is None else seed,
                                out=out)
    g = cfg.generate
    sizes = dict(train=g.train if train is None else train, test=g.test if test is None else test,
                 unsup=g.unsup if unsup is None else unsup)
    target = out or cfg.source.path
    where = "--out" if out else "source.path"
    check_replaceable(target, where)
    with tqdm(total=sum(sizes.values()), desc="generate", unit="review", disable=None) as bar:
        summary = generate_corpus(target, seed=g.seed if seed is None else seed, progress=bar.update, **sizes)
    mark(target)
    return GenerateResult(summary.root, summary.total_files, summary.duplicates, len(summary.malformed))


def generate_dataset(cfg: Config, dataset: str, *, rows: int, to: str, seed: int,
                     out: str | None = None) -> DatasetGenerateResult:
    ds = cfg.dataset(dataset)
    if list(ds.columns) != loans_generator.COLUMNS:
        raise ConfigError(f"there is a generator for the example dataset's columns only "
                          f"({', '.join(loans_generator.COLUMNS)}); dataset '{dataset}' declares others: "
                          f"point its source at your own data instead")
    if to == "csv":
        target = out or ds.source.path
        if not target:
            raise ConfigError(f"datasets.{dataset}.source.path is not set: pass --out FOLDER")
        check_replaceable(target, "--out" if out else f"datasets.{dataset}.source.path")
        manifest = loans_generator.write_csv(target, rows, seed=seed)
        mark(target)
        return DatasetGenerateResult(dataset, target, manifest)
    spec = cfg.extracts.get(ds.source.extract or "")
    if spec is None:
        raise ConfigError(f"datasets.{dataset}.source.extract names no extract: nothing says which table to write")
    data, manifest = loans_generator.rows_for_database(rows, seed=seed)
    write_database_table(cfg, spec.database, spec.table, data)
    return DatasetGenerateResult(dataset, f"{cfg.databases[spec.database].url} table {spec.table}", manifest)


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


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
